"""Investigation, responsibility and CAPA (SPEC section 6). The only writers of ``kesu.quality``
rows. Each is one transaction: what it changes on the complaint goes through the complaint
actions' conditional save on ``version`` (R-WF-4), and what it does appears on the timeline of
every complaint it concerns (R-WF-2) and, for a CAPA, in the CAPA's own history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kesu.comms import outbox
from kesu.complaints import notify, numbering, permissions, timeline
from kesu.complaints.actions import _check, _need_text, _require, _save
from kesu.complaints.models import Complaint, Event
from kesu.lib.errors import Conflict, Forbidden, Invalid
from kesu.lib.text import clean_text
from kesu.org.models import Role, Unit, UnitKind, User

from .models import (
    THIRD_PARTIES,
    ActionKind,
    ActionState,
    Capa,
    CapaAction,
    CapaEvent,
    CapaEventKind,
    CapaLink,
    Cause,
    CauseGroup,
    Investigation,
    Responsibility,
)

# The fields of an investigation its timeline event compares, before and after.
FINDINGS = ("facts", "evidence", "inspection_result", "responsibility", "responsible_unit_id",
            "responsible_person", "whole_unit", "third_party")


# --- investigation (R-IV-1, R-IV-2, R-IV-5) ------------------------------------------------


def record_investigation(
    complaint: Complaint, *, by: User, facts: str, responsibility: str, evidence: str = "",
    inspection_result: str = "", responsible_unit: Unit | None = None, responsible_person: str = "",
    whole_unit: bool = False, third_party: str = "", now: datetime | None = None,
) -> Investigation:
    """Record (or correct) what the investigation established: the verified facts, the
    evidence, QA's product inspection result and who is responsible (R-IV-1), down to the unit
    and, where known, the person or team (R-IV-2). The complaint's "company responsible"
    follows. A third party responsible adds the GM to the complaint (R-IV-5)."""
    now = now or timezone.now()
    _check(complaint, "record_investigation")
    _require(permissions.can_investigate(by, complaint))
    findings = _findings(facts=facts, responsibility=responsibility, evidence=evidence,
                         inspection_result=inspection_result, responsible_unit=responsible_unit,
                         responsible_person=responsible_person, whole_unit=whole_unit, third_party=third_party)
    row = Investigation.objects.filter(complaint=complaint).first()
    before = {k: getattr(row, k) for k in FINDINGS} if row else {}
    if findings["inspection_result"] != before.get("inspection_result", "") and by.role != Role.QA:
        raise Forbidden(_("Only quality assurance records the product inspection result."),
                        field="inspection_result")
    third = findings["responsibility"] in THIRD_PARTIES
    with transaction.atomic():
        changes: dict[str, Any] = {"company_responsible": findings["responsibility"] == Responsibility.COMPANY}
        if third and not complaint.gm_copy:
            changes["gm_copy"] = True
        _save(complaint, now, **changes)  # the version: two people recording at once (R-WF-4)
        if row is None:
            row = Investigation(complaint=complaint, recorded_by=by, recorded_at=now)
        for key, value in findings.items():
            setattr(row, key, value)
        if findings["inspection_result"] != before.get("inspection_result", ""):
            row.inspected_by, row.inspected_at = (by, now) if findings["inspection_result"] else (None, None)
        row.updated_at = now
        row.save()
        after = {k: getattr(row, k) for k in FINDINGS}
        changed = {k for k in FINDINGS if before.get(k) != after[k]}
        timeline.record(complaint, Event.INVESTIGATION_RECORDED, by=by, at=now, body=row.facts,
                        before={k: before[k] for k in changed if k in before},
                        after={k: after[k] for k in changed})
        if third:
            notify.copy_gm(complaint, by=by, now=now, responsibility=row.responsibility,
                           third_party=row.third_party)
    return row


def _findings(*, facts: str, responsibility: str, evidence: str, inspection_result: str,
              responsible_unit: Unit | None, responsible_person: str, whole_unit: bool,
              third_party: str) -> dict[str, Any]:
    if responsibility not in Responsibility.values:
        raise Invalid(_("Choose who is responsible."), field="responsibility")
    out: dict[str, Any] = {
        "facts": _need_text(facts, "facts", _("Verified facts")),
        "evidence": _need_text(evidence, "evidence", _("Evidence"), required=False),
        "inspection_result": _need_text(inspection_result, "inspection_result", _("Product inspection result"), required=False),
        "responsibility": responsibility,
        "responsible_unit_id": responsible_unit.pk if responsible_unit else None,
        "responsible_person": _need_text(responsible_person, "responsible_person", _("Responsible person"), 100, required=False),
        "whole_unit": bool(whole_unit),
        "third_party": _need_text(third_party, "third_party", _("Third party"), 200, required=False),
    }
    if responsibility == Responsibility.COMPANY:
        if responsible_unit is None:
            raise Invalid(_("Name the unit responsible (R-IV-2)."), field="responsible_unit")
        named = out["responsible_person"] or responsible_unit.kind == UnitKind.TEAM
        if not named and not out["whole_unit"]:
            raise Invalid(_("Name the responsible person or choose the team (班组). Only if neither can "
                            "be named is the whole plant or branch responsible: then say so (R-IV-2)."),
                          field="responsible_person")
        if named:
            out["whole_unit"] = False
    else:
        out["whole_unit"] = False
    if responsibility in THIRD_PARTIES and not out["third_party"]:
        raise Invalid(_("Name the carrier, supplier or company responsible."), field="third_party")
    return out


# --- CAPA (R-IV-3, R-IV-4) -------------------------------------------------------------------


@dataclass
class PlannedAction:
    """An action as a page or the API hands it in."""

    kind: str
    description: str
    owner: User
    due_date: date


def _capa_number(now: datetime) -> str:
    """``CA`` + YYMM + a 4-digit serial that restarts every month, drawn in the opening
    transaction from the numbering table complaints use (its keys there are 6 digits)."""
    month = timezone.localtime(now).strftime("%y%m")
    return f"CA{month}{numbering.serial(f'CA{month}'):04d}"


def _planned(actions: list[PlannedAction], *, today: date) -> list[PlannedAction]:
    for i, a in enumerate(actions):
        where = _("Action %(n)d") % {"n": i + 1}
        if a.kind not in ActionKind.values:
            raise Invalid(_("%(where)s: choose corrective or preventive.") % {"where": where}, field="actions")
        a.description = _need_text(a.description, "actions", where)
        if a.owner is None or not a.owner.is_active or a.owner.is_read_only:
            raise Invalid(_("%(where)s: the owner must be an active member of staff.") % {"where": where},
                          field="actions")
        if a.due_date < today:
            raise Invalid(_("%(where)s: the due date cannot be in the past.") % {"where": where}, field="actions")
    return actions


def open_capa(
    complaint: Complaint, *, by: User, title: str, causes: list[tuple[str, str]],
    actions: list[PlannedAction], now: datetime | None = None,
) -> Capa:
    """Open a CAPA for the complaint: the cause analysis in the six groups, at least one
    corrective action and, for a quality complaint, a preventive one, each with an owner and a
    due date (R-IV-3). The owners hear of their actions."""
    now = now or timezone.now()
    _check(complaint, "open_capa")
    _require(permissions.can_investigate(by, complaint))
    title = _need_text(title, "title", _("Title"), 200)
    found = [(group, clean_text(text)) for group, text in causes if clean_text(text or "")]
    if not found:
        raise Invalid(_("Write down at least one cause (people, machine, material, method, environment, "
                        "measurement)."), field="causes")
    for group, text in found:
        if group not in CauseGroup.values:
            raise Invalid(_("Unknown cause group “%(group)s”.") % {"group": group}, field="causes")
        if len(text) > 5000:
            raise Invalid(_("A cause may be at most 5000 characters."), field="causes")
    actions = _planned(actions, today=timezone.localdate(now))
    kinds = {a.kind for a in actions}
    if ActionKind.CORRECTIVE not in kinds:
        raise Invalid(_("A CAPA needs at least one corrective action (R-IV-3)."), field="actions")
    if complaint.category.is_quality and ActionKind.PREVENTIVE not in kinds:
        raise Invalid(_("A quality complaint needs a preventive action as well (R-IV-3)."), field="actions")
    with transaction.atomic():
        capa = Capa.objects.create(number=_capa_number(now), title=title, created_by=by, created_at=now)
        Cause.objects.bulk_create([Cause(capa=capa, group=g, text=t) for g, t in found])
        rows = [CapaAction.objects.create(capa=capa, kind=a.kind, description=a.description, owner=a.owner,
                                          due_date=a.due_date) for a in actions]
        CapaEvent.objects.create(capa=capa, kind=CapaEventKind.OPENED, actor=by, at=now, body=title,
                                 data={"complaint": complaint.number})
        _link(capa, complaint, by=by, now=now)
        for row in rows:
            _tell_owner(row, complaint, now=now)
    return capa


def link_capa(complaint: Complaint, *, by: User, capa: Capa, now: datetime | None = None) -> Capa:
    """Add the complaint to an open CAPA with the same cause (R-IV-4: a CAPA may cover several)."""
    now = now or timezone.now()
    _check(complaint, "link_capa")
    _require(permissions.can_investigate(by, complaint))
    if capa.closed_at is not None:
        raise Conflict(_("CAPA %(number)s is closed: open a new one.") % {"number": capa.number}, field="capa")
    if CapaLink.objects.filter(capa=capa, complaint=complaint).exists():
        raise Conflict(_("The complaint is already covered by CAPA %(number)s.") % {"number": capa.number},
                       field="capa")
    with transaction.atomic():
        CapaEvent.objects.create(capa=capa, kind=CapaEventKind.LINKED, actor=by, at=now,
                                 data={"complaint": complaint.number})
        _link(capa, complaint, by=by, now=now)
    return capa


def _link(capa: Capa, complaint: Complaint, *, by: User, now: datetime) -> None:
    CapaLink.objects.create(capa=capa, complaint=complaint, linked_by=by, linked_at=now)
    timeline.record(complaint, Event.CAPA_LINKED, by=by, at=now, body=capa.title, capa=capa.number)


def _tell_owner(action: CapaAction, complaint: Complaint | None, *, now: datetime, key: str = "",
                reminder: str = "") -> None:
    outbox.to_staff(action.owner, "capa_action", complaint,
                    {"capa": action.capa.number, "title": action.capa.title, "action": action.description,
                     "kind": str(ActionKind(action.kind).label), "due_date": action.due_date.isoformat(),
                     "reminder": reminder},
                    now=now, dedupe_key=key or f"capa:{action.pk}:{action.sent_back}", webhooks=False)


def remind_due_actions(*, now: datetime | None = None) -> list[CapaAction]:
    """Each owner of an open action due by tomorrow, or overdue, hears of it once a day (the
    worker, daily; ``kesu remind_capa``). Idempotent within a day: the reminder's key names the
    day."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    due = list(CapaAction.objects.filter(state=ActionState.OPEN, due_date__lte=today + timedelta(days=1),
                                         capa__closed_at=None).select_related("capa", "owner").order_by("due_date", "id"))
    first = _first_complaints({a.capa_id for a in due})
    for action in due:
        reminder = "overdue" if action.due_date < today else "due"
        _tell_owner(action, first.get(action.capa_id), now=now, reminder=reminder,
                    key=f"capa:{action.pk}:remind:{today.isoformat()}")
    return due


def _first_complaints(capa_ids: set[int]) -> dict[int, Complaint]:
    """The complaint each CAPA was opened for (its first link), named in its owners' messages:
    one read for all the CAPAs."""
    first: dict[int, Complaint] = {}
    for link in CapaLink.objects.filter(capa_id__in=capa_ids).select_related("complaint").order_by("id"):
        first.setdefault(link.capa_id, link.complaint)
    return first


def _may_manage(user: User, capa: Capa) -> bool:
    return not user.is_read_only and (user.role == Role.QA or user.tier >= 2 or capa.created_by_id == user.pk)


def add_action(
    capa: Capa, *, by: User, action: PlannedAction, now: datetime | None = None,
) -> CapaAction:
    """Another corrective or preventive action on an open CAPA (its creator, QA or a manager)."""
    now = now or timezone.now()
    if not _may_manage(by, capa):
        raise Forbidden(_("Only quality assurance, a manager or the CAPA's author add actions to it."))
    if capa.closed_at is not None:
        raise Conflict(_("CAPA %(number)s is closed: open a new one.") % {"number": capa.number}, field="capa")
    (planned,) = _planned([action], today=timezone.localdate(now))
    with transaction.atomic():
        row = CapaAction.objects.create(capa=capa, kind=planned.kind, description=planned.description,
                                        owner=planned.owner, due_date=planned.due_date)
        CapaEvent.objects.create(capa=capa, kind=CapaEventKind.ACTION_ADDED, actor=by, at=now,
                                 body=row.description, data={"action": row.pk, "kind": row.kind})
        _tell_owner(row, _first_complaints({capa.pk}).get(capa.pk), now=now)
    return row


def _move(action: CapaAction, expected: str, **changes: Any) -> None:
    """Apply ``changes`` if the action is still in ``expected``: two people acting on one
    action at once, one wins and the other is told (R-WF-4)."""
    if CapaAction.objects.filter(pk=action.pk, state=expected).update(**changes) != 1:
        raise Conflict(_("The action was changed by someone else. Reload the CAPA."), field="state")
    for key, value in changes.items():
        setattr(action, key, value)


def complete_action(action: CapaAction, *, by: User, result: str, now: datetime | None = None) -> CapaAction:
    """The owner reports the action done, with what was done; QA then confirms its effect."""
    now = now or timezone.now()
    if by.is_read_only or (action.owner_id != by.pk and by.tier < 2):
        raise Forbidden(_("Only the action's owner (or a manager for them) reports it done."))
    if action.state != ActionState.OPEN:
        raise Conflict(_("Only an action in progress can be reported done."), field="state")
    text = _need_text(result, "result", _("What was done"))
    with transaction.atomic():
        _move(action, ActionState.OPEN, state=ActionState.DONE, result=text, done_at=now)
        CapaEvent.objects.create(capa=action.capa, kind=CapaEventKind.ACTION_DONE, actor=by, at=now, body=text,
                                 data={"action": action.pk})
    return action


def verify_action(
    action: CapaAction, *, by: User, effective: bool, note: str, now: datetime | None = None,
) -> CapaAction:
    """R-IV-4: QA confirms the effect of a done action (效果确认) and closes it, or finds it not
    effective and sends it back to its owner. When every action of the CAPA is closed, so is
    the CAPA, on the timeline of each complaint it covers."""
    now = now or timezone.now()
    if by.is_read_only or by.role != Role.QA:
        raise Forbidden(_("Only quality assurance confirms the effect of an action."))
    if action.owner_id == by.pk:
        raise Forbidden(_("The effect of an action is confirmed by someone other than its owner."))
    if action.state != ActionState.DONE:
        raise Conflict(_("Only an action reported done can have its effect confirmed."), field="state")
    text = (_need_text(note, "note", _("Why it is not effective")) if not effective
            else _need_text(note, "note", _("Effect confirmation"), required=False))
    capa = action.capa
    with transaction.atomic():
        if effective:
            _move(action, ActionState.DONE, state=ActionState.CLOSED, verified_by=by, verified_at=now,
                  verification=text)
            CapaEvent.objects.create(capa=capa, kind=CapaEventKind.EFFECT_CONFIRMED, actor=by, at=now, body=text,
                                     data={"action": action.pk})
            if not capa.actions.exclude(state=ActionState.CLOSED).exists():
                _close(capa, by=by, now=now)
        else:
            _move(action, ActionState.DONE, state=ActionState.OPEN, verification=text,
                  sent_back=action.sent_back + 1)  # the state guard makes the read count safe
            CapaEvent.objects.create(capa=capa, kind=CapaEventKind.SENT_BACK, actor=by, at=now, body=text,
                                     data={"action": action.pk})
            _tell_owner(action, _first_complaints({capa.pk}).get(capa.pk), now=now)
    return action


def _close(capa: Capa, *, by: User, now: datetime) -> None:
    Capa.objects.filter(pk=capa.pk).update(closed_at=now)
    capa.closed_at = now
    CapaEvent.objects.create(capa=capa, kind=CapaEventKind.CLOSED, actor=by, at=now)
    for complaint in capa.complaints.all():
        timeline.record(complaint, Event.CAPA_CLOSED, by=by, at=now, body=capa.title, capa=capa.number)
