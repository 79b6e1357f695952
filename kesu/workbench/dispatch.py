"""Workflow actions on the complaint page: for each action name that ``present.actions_for``
returns, the form to show, its button label and the call into ``complaints.actions``. This is
the page-side twin of the ``_action(...)`` table in ``complaints/api.py``: same actions, same
arguments, different input parsing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms as djforms
from django.utils.translation import gettext_lazy as _

from kesu.complaints import actions, queries
from kesu.complaints.models import ACTION_LABELS, Complaint
from kesu.followups import actions as followups
from kesu.followups import forms as followup_forms
from kesu.lib.errors import Invalid, NotFound
from kesu.org.directory import signature_of
from kesu.org.models import User
from kesu.quality import actions as quality
from kesu.quality import forms as quality_forms
from kesu.quality import read as quality_read

from . import forms
from .render import QUICK

Call = Callable[[Complaint, User, dict[str, Any]], Any]


@dataclass(frozen=True)
class Step:
    label: Any  # lazy translation
    form: type[djforms.Form]
    call: Call
    # Narrows ``present.actions_for`` where the workflow table cannot see enough: "answer" is
    # allowed in every handling state, but only shown with an open transfer the user may answer.
    shown: Callable[[Complaint, User], bool] | None = None
    multipart: bool = False


def build(name: str, step: Step, complaint: Complaint, user: User, data: Any = None, files: Any = None) -> djforms.Form:
    """The step's form, bound to ``data`` when given; context forms get the complaint and user."""
    kwargs: dict[str, Any] = {"prefix": name, "renderer": QUICK}  # inputs drawn in Python (render.py)
    if issubclass(step.form, forms.ContextForm):
        kwargs.update(complaint=complaint, user=user)
    if issubclass(step.form, forms.ReferenceForm):  # read with the session's user
        kwargs.update(signature=signature_of(user))
    if data is None:
        return step.form(**kwargs)
    return step.form(data, files, **kwargs)


def _merge(c: Complaint, u: User, d: dict[str, Any]) -> Any:
    try:
        into = queries.access_complaint(u, d["into"])
    except NotFound:
        raise Invalid(_("Complaint %(number)s was not found.") % {"number": d["into"]}, field="into") from None
    return actions.merge(c, by=u, into=into, reason=d["reason"])


def _attach(c: Complaint, u: User, d: dict[str, Any]) -> Any:
    from kesu.complaints.attachments import attach

    return attach(c, by=u, upload=d["file"])


STEPS: dict[str, Step] = {
    "accept": Step(ACTION_LABELS["accept"], forms.NoteForm, lambda c, u, d: actions.accept(c, by=u, note=d["note"])),
    "investigate": Step(ACTION_LABELS["investigate"], forms.NoteForm,
                        lambda c, u, d: actions.investigate(c, by=u, note=d["note"])),
    "judge": Step(ACTION_LABELS["judge"], forms.JudgeForm,
                  lambda c, u, d: actions.judge(c, by=u, valid=d["valid"],
                                                company_responsible=d["company_responsible"], reason=d["reason"])),
    "propose": Step(ACTION_LABELS["propose"], forms.ProposeForm,
                    lambda c, u, d: actions.propose(c, by=u, resolution=d["resolution"], amount=d["amount"])),
    "request_approval": Step(ACTION_LABELS["request_approval"], forms.NoteForm,
                             lambda c, u, d: actions.request_approval(c, by=u, note=d["note"])),
    "approve": Step(ACTION_LABELS["approve"], forms.NoteForm, lambda c, u, d: actions.approve(c, by=u, note=d["note"])),
    "reject": Step(ACTION_LABELS["reject"], forms.ReasonForm, lambda c, u, d: actions.reject(c, by=u, reason=d["reason"])),
    "resolve": Step(ACTION_LABELS["resolve"], forms.NoteForm,
                    lambda c, u, d: actions.resolve(c, by=u, note=d["note"])),
    "reply": Step(ACTION_LABELS["reply"], forms.ReplyForm, lambda c, u, d: actions.reply(c, by=u, message=d["message"],
                                                override_reason=d["override_reason"])),
    "start_follow_up": Step(ACTION_LABELS["start_follow_up"], forms.NoteForm,
                            lambda c, u, d: actions.start_follow_up(c, by=u, note=d["note"])),
    "review": Step(ACTION_LABELS["review"], forms.NoteForm, lambda c, u, d: actions.review(c, by=u, note=d["note"])),
    "close": Step(ACTION_LABELS["close"], followup_forms.CloseForm,  # R-IV-6 checklist above the reason
                  lambda c, u, d: actions.close(c, by=u, reason=d["reason"])),
    "reopen": Step(ACTION_LABELS["reopen"], forms.ReasonForm, lambda c, u, d: actions.reopen(c, by=u, reason=d["reason"])),
    "hold": Step(ACTION_LABELS["hold"], forms.ReasonForm, lambda c, u, d: actions.hold(c, by=u, reason=d["reason"])),
    "resume": Step(ACTION_LABELS["resume"], forms.NoteForm, lambda c, u, d: actions.resume(c, by=u, note=d["note"])),
    "mark_invalid": Step(ACTION_LABELS["mark_invalid"], forms.InvalidForm,
                         lambda c, u, d: actions.mark_invalid(c, by=u, reason=d["reason"], reply=d["reply"],
                                                              override_reason=d["override_reason"])),
    "escalate": Step(ACTION_LABELS["escalate"], forms.ReasonForm, lambda c, u, d: actions.escalate(c, by=u, reason=d["reason"])),
    "lower_level": Step(ACTION_LABELS["lower_level"], forms.LowerLevelForm,
                        lambda c, u, d: actions.lower_level(c, by=u, level=d["level"], reason=d["reason"])),
    "classify": Step(ACTION_LABELS["classify"], forms.ClassifyForm,
                     lambda c, u, d: actions.classify(c, by=u, category=d["category"] or None, level=d["level"],
                                                      reason=d["reason"])),
    "transfer": Step(ACTION_LABELS["transfer"], forms.TransferForm,
                     lambda c, u, d: actions.transfer(c, by=u, to_unit=queries.transfer_unit(d["to_unit"]),
                                                      to_user=queries.transfer_user(d["to_user"]),
                                                      new_handler=d["new_handler"], reason=d["reason"])),
    "answer": Step(_("Answer: cause and countermeasure"), forms.AnswerForm,
                   lambda c, u, d: actions.answer(c, by=u, transfer_id=d["transfer"], cause=d["cause"],
                                                  countermeasure=d["countermeasure"]),
                   shown=lambda c, u: bool(forms.answerable_transfers(c, u))),
    "edit": Step(_("Correct the details"), forms.EditForm,
                 lambda c, u, d: actions.edit(c, by=u, changes=d["changes"])),
    "attach": Step(_("Attach a file"), forms.AttachForm, _attach, multipart=True),
    "note": Step(ACTION_LABELS["note"], forms.TextForm, lambda c, u, d: actions.note(c, by=u, text=d["text"])),
    "message": Step(ACTION_LABELS["message"], forms.MessageForm,
                    lambda c, u, d: actions.message(c, by=u, text=d["text"], override_reason=d["override_reason"])),
    "promise": Step(_("Promise a reply time"), forms.PromiseForm,
                    lambda c, u, d: actions.promise_reply(c, by=u, due_at=d["due_at"], note=d["note"])),
    "report_platform_result": Step(ACTION_LABELS["report_platform_result"], forms.PlatformResultForm,
                                   lambda c, u, d: actions.report_platform_result(c, by=u, result=d["result"])),
    "merge": Step(ACTION_LABELS["merge"], forms.MergeForm, _merge),
    # SPEC section 9 (kesu.followups): the follow-up visit, the survey link, no visit needed.
    "record_follow_up": Step(ACTION_LABELS["record_follow_up"], followup_forms.FollowUpVisitForm,
                             lambda c, u, d: followups.record_visit(c, by=u, method=d["method"],
                                                                    satisfaction=d["satisfaction"], notes=d["notes"])),
    "send_survey": Step(ACTION_LABELS["send_survey"], followup_forms.SurveyForm,
                        lambda c, u, d: followups.send_survey(c, by=u)),
    "waive_follow_up": Step(ACTION_LABELS["waive_follow_up"], followup_forms.WaiveForm,
                            lambda c, u, d: followups.waive_follow_up(c, by=u, reason=d["reason"], note=d["note"])),
    # SPEC section 6 (kesu.quality): the investigation's findings and the CAPA.
    "record_investigation": Step(ACTION_LABELS["record_investigation"], quality_forms.InvestigationForm,
                                 lambda c, u, d: quality.record_investigation(
                                     c, by=u, facts=d["facts"], evidence=d["evidence"],
                                     inspection_result=d["inspection_result"], responsibility=d["responsibility"],
                                     responsible_unit=d["responsible_unit"], responsible_person=d["responsible_person"],
                                     whole_unit=d["whole_unit"], third_party=d["third_party"])),
    "open_capa": Step(ACTION_LABELS["open_capa"], quality_forms.CapaForm,
                      lambda c, u, d: quality.open_capa(c, by=u, title=d["title"], causes=d["causes"],
                                                        actions=d["actions"])),
    "link_capa": Step(ACTION_LABELS["link_capa"], quality_forms.LinkCapaForm,
                      lambda c, u, d: quality.link_capa(c, by=u, capa=quality_read.capa(d["capa"]))),
}
