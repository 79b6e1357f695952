"""Closing a complaint: the "four no-lets-go" (四不放过) checklist of R-IV-6 and what a reopen
undoes. ``complaints.actions.close`` calls ``ensure_closable``; ``reopen`` calls ``on_reopen``.

The four conditions, for a complaint judged valid (R-CL-5):
1. the problem is solved — a reply with the resolution was given in this handling round;
2. the customer is satisfied — the latest follow-up visit of this round scored 1–3 (R-FU-2), or
   no visit is needed (R-FU-4);
3. responsibility is recorded — the investigation says who is responsible (R-IV-1) and, when
   it is the company, the unit (R-IV-2);
4. a CAPA exists — the complaint is covered by a CAPA with its cause analysis and a corrective
   action, and for a quality complaint a preventive action too (R-IV-3, ``kesu.quality``).

An invalid complaint only needs its reasoned reply and the review (R-CL-5, R-RT-2). A complaint
never judged is not bound yet: the checklist says so, and closing it needs only the review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kesu.comms.outbox import email_in
from kesu.complaints.models import Complaint, Event, Status
from kesu.lib.errors import Conflict

from .models import CLOSABLE, Exemption, FollowUpExemption, FollowUpVisit, Satisfaction, SurveyLink

MET, MISSING, NOT_APPLICABLE = "met", "missing", "not_applicable"

LABELS = {
    "solved": gettext_lazy("Problem solved"),
    "satisfied": gettext_lazy("Customer satisfied (or no follow-up needed, R-FU-4)"),
    "responsibility": gettext_lazy("Responsibility recorded"),
    "capa": gettext_lazy("Corrective and preventive action (CAPA) exists"),
}
SOLVED_STATES = {Status.REPLIED, Status.FOLLOW_UP, Status.CLOSED}


@dataclass
class Condition:
    code: str
    state: str
    detail: str = ""

    @property
    def label(self) -> str:
        return str(LABELS[self.code])


@dataclass
class Checklist:
    applies: bool  # R-IV-6 binds valid complaints only
    conditions: list[Condition] = field(default_factory=list)
    note: str = ""

    @property
    def missing(self) -> list[Condition]:
        return [c for c in self.conditions if c.state == MISSING] if self.applies else []


def round_started(complaint: Complaint) -> datetime | None:
    """When the current handling round began: the last reopen, if any."""
    return (complaint.events.filter(kind=Event.REOPENED).order_by("-id")
            .values_list("at", flat=True).first())


def latest_visit(complaint: Complaint) -> FollowUpVisit | None:
    qs = FollowUpVisit.objects.filter(complaint=complaint)
    since = round_started(complaint)
    if since is not None:
        qs = qs.filter(at__gte=since)
    return qs.order_by("-at", "-id").first()


def has_usable_contact(complaint: Complaint) -> bool:
    """R-FU-4: a complaint we cannot reach needs no visit: anonymous, or no phone and no other
    contact (an email address or anything else a handler could use)."""
    if complaint.anonymous:
        return False
    return bool(complaint.contact_phone or email_in(complaint.other_contact) or complaint.other_contact.strip())


def active_exemption(complaint: Complaint) -> FollowUpExemption | None:
    """The latest R-FU-4 reason that holds now. Sensitive and no-contact hold for good; on the
    spot and declined belong to the handling round they were recorded in."""
    qs = FollowUpExemption.objects.filter(complaint=complaint, cancelled_at=None)
    since = round_started(complaint)
    if since is not None:
        qs = qs.filter(Q(at__gte=since) | Q(reason__in=[Exemption.SENSITIVE, Exemption.NO_CONTACT]))
    return qs.order_by("-at", "-id").first()


def _satisfied(complaint: Complaint, now: datetime) -> Condition:
    visit = latest_visit(complaint)
    if visit is not None:
        word = Satisfaction(visit.satisfaction).label
        state = MET if visit.satisfaction in CLOSABLE else MISSING
        return Condition("satisfied", state, _("Follow-up visit: %(word)s (%(n)d)") % {"word": word, "n": visit.satisfaction})
    if not has_usable_contact(complaint):
        return Condition("satisfied", MET, str(Exemption.NO_CONTACT.label))
    exemption = active_exemption(complaint)
    if exemption is None:
        return Condition("satisfied", MISSING,
                         _("No follow-up visit with satisfaction 1–3 and no reason to skip it (R-FU-4)."))
    if exemption.reason == Exemption.DECLINED and exemption.close_due_at and exemption.close_due_at > now:
        return Condition("satisfied", MISSING,
                         _("The customer declined a follow-up: the complaint waits until %(at)s for a "
                           "repeat complaint (R-FU-4).")
                         % {"at": timezone.localtime(exemption.close_due_at).strftime("%Y-%m-%d %H:%M")})
    return Condition("satisfied", MET, str(Exemption(exemption.reason).label))


def _responsibility(complaint: Complaint) -> Condition:
    from kesu.quality.models import Investigation, Responsibility

    found = Investigation.objects.filter(complaint=complaint).select_related("responsible_unit").first()
    if found is None:
        return Condition("responsibility", MISSING,
                         _("Record the investigation: the verified facts and who is responsible (R-IV-1)."))
    detail = str(Responsibility(found.responsibility).label)
    if found.responsible_unit is not None:
        detail += " · " + found.responsible_unit.name + (f" · {found.responsible_person}" if found.responsible_person else "")
    if found.third_party:
        detail += " · " + found.third_party
    return Condition("responsibility", MET, detail)


def _capa(complaint: Complaint) -> Condition:
    from kesu.quality.models import ActionKind, Capa

    capas = list(Capa.objects.filter(links__complaint=complaint).prefetch_related("actions", "causes"))
    if not capas:
        return Condition("capa", MISSING, _("No CAPA covers the complaint: open one, or add the complaint to "
                                            "one with the same cause (R-IV-3)."))
    kinds = {a.kind for c in capas for a in c.actions.all()}
    numbers = "、".join(c.number for c in capas)
    if not any(c.causes.all() for c in capas) or ActionKind.CORRECTIVE not in kinds:
        return Condition("capa", MISSING, _("CAPA %(numbers)s has no cause analysis or no corrective action.")
                         % {"numbers": numbers})
    if complaint.category.is_quality and ActionKind.PREVENTIVE not in kinds:
        return Condition("capa", MISSING, _("A quality complaint needs a preventive action too: add one to "
                                            "CAPA %(numbers)s (R-IV-3).") % {"numbers": numbers})
    return Condition("capa", MET, _("CAPA %(numbers)s") % {"numbers": numbers})


def checklist(complaint: Complaint, *, now: datetime | None = None) -> Checklist:
    now = now or timezone.now()
    solved = complaint.replied_at is not None and complaint.status in SOLVED_STATES
    conditions = [
        Condition("solved", MET if solved else MISSING,
                  "" if solved else _("No reply with the resolution in this handling round.")),
        _satisfied(complaint, now),
        _responsibility(complaint),
        _capa(complaint),
    ]
    if complaint.valid is True:
        return Checklist(True, conditions)
    if complaint.valid is False:
        for c in conditions:
            if c.code != "solved":
                c.state, c.detail = NOT_APPLICABLE, _("Invalid complaint: closed with its reasoned reply (R-CL-5).")
        return Checklist(False, conditions, _("Invalid complaint: the four conditions do not apply."))
    return Checklist(False, conditions,
                     _("Validity not judged yet: the four conditions bind a complaint judged valid (R-CL-5)."))


def ensure_closable(complaint: Complaint, *, now: datetime | None = None) -> None:
    """R-IV-6: refuse to close a valid complaint while a condition is missing, naming them all."""
    missing = checklist(complaint, now=now).missing
    if missing:
        raise Conflict(
            _("The complaint cannot be closed yet (four no-lets-go, R-IV-6). Missing: %(missing)s")
            % {"missing": "；".join(f"{c.label}: {c.detail}" if c.detail else c.label for c in missing)},
            field="checklist", code="closure_checklist",
            missing=[{"code": c.code, "label": c.label, "detail": c.detail} for c in missing],
        )


def on_reopen(complaint: Complaint, *, now: datetime) -> None:
    """A new handling round: unanswered survey links of the old round stop working, and a
    pending automatic close after a declined follow-up no longer applies."""
    SurveyLink.objects.filter(complaint=complaint, used_at=None, revoked_at=None).update(revoked_at=now)
    FollowUpExemption.objects.filter(complaint=complaint, reason=Exemption.DECLINED, cancelled_at=None,
                                     auto_closed_at=None).update(cancelled_at=now)
