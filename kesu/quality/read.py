"""Reading investigations and CAPAs for the API and the pages: who may see which CAPA, and each
record as both show it."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kesu.complaints import queries
from kesu.complaints.models import Complaint
from kesu.lib.errors import NotFound
from kesu.lib.statements import Statement, id_slot
from kesu.org.models import Role, User

from .models import (
    ActionKind,
    ActionState,
    Capa,
    CapaAction,
    CapaEventKind,
    CapaLink,
    CauseGroup,
    Investigation,
    Responsibility,
)

# The complaint page reads these on every view: compiled once (kesu/lib/statements.py).
_INVESTIGATION = Statement(lambda: Investigation.objects.select_related(
    "responsible_unit", "inspected_by", "recorded_by").filter(complaint_id=id_slot("complaint"))[:1])
_CAPA_IDS = Statement(lambda: CapaLink.objects.filter(complaint_id=id_slot("complaint"))
                      .order_by("capa_id").values_list("capa_id"))
_OPEN = Statement(lambda: Capa.objects.filter(closed_at=None).order_by("-id").values_list("id", "number", "title")[:200])


def investigation(complaint: Complaint) -> Investigation | None:
    """The complaint's investigation, read once per complaint object: the complaint page's panel
    and its investigation form both show it. Actions write through the model, never through
    this, and a page is read again after an action (redirect), so the copy is never stale."""
    if not hasattr(complaint, "_investigation_read"):
        complaint._investigation_read = _INVESTIGATION.first(complaint=complaint.pk)  # type: ignore[attr-defined]
    return complaint._investigation_read  # type: ignore[attr-defined]


def investigation_dict(row: Investigation, complaint: Complaint) -> dict[str, Any]:
    unit = row.responsible_unit
    return {
        "facts": row.facts, "evidence": row.evidence, "inspection_result": row.inspection_result,
        "inspected_by": row.inspected_by.name if row.inspected_by else None, "inspected_at": row.inspected_at,
        "responsibility": row.responsibility, "responsibility_label": str(Responsibility(row.responsibility).label),
        "responsible_unit": {"code": unit.code, "name": unit.name, "kind": unit.kind} if unit else None,
        "responsible_person": row.responsible_person, "whole_unit": row.whole_unit, "third_party": row.third_party,
        "recorded_by": row.recorded_by.name, "updated_at": row.updated_at, "version": complaint.version,
    }


def _with_parts(qs: QuerySet[Capa]) -> QuerySet[Capa]:
    return qs.select_related("created_by").prefetch_related(
        "causes", Prefetch("actions", queryset=CapaAction.objects.select_related("owner", "verified_by")),
        Prefetch("complaints", queryset=Complaint.objects.only("id", "number").order_by("id")))


def capa_ids(complaint: Complaint) -> list[int]:
    """The ids of the CAPAs covering the complaint, read once per complaint object (above)."""
    if not hasattr(complaint, "_capa_ids_read"):
        complaint._capa_ids_read = [row[0] for row in _CAPA_IDS.rows(complaint=complaint.pk)]  # type: ignore[attr-defined]
    return complaint._capa_ids_read  # type: ignore[attr-defined]


def capas_of(complaint: Complaint) -> list[Capa]:
    ids = capa_ids(complaint)
    return list(_with_parts(Capa.objects.filter(pk__in=ids)).order_by("id")) if ids else []


def capa(number: str) -> Capa:
    found = _with_parts(Capa.objects.filter(number=number)).first()
    if found is None:
        raise NotFound(_("CAPA %(number)s was not found.") % {"number": number}, field="number")
    return found


def _sees_all(user: User) -> bool:
    """Quality assurance confirms the effect of every unit's actions (R-IV-4); org-wide roles
    see everything anyway."""
    return user.sees_everything or user.role == Role.QA


def visible(user: User) -> QuerySet[Capa]:
    """The CAPAs covering a complaint the user may see (R-AX-1), or with an action of theirs."""
    qs = Capa.objects.all()
    if _sees_all(user):
        return qs
    seen = queries.visible_to(user).values("pk")
    return qs.filter(Q(links__complaint__in=seen) | Q(actions__owner=user)).distinct()


def visible_capa(user: User, number: str) -> Capa:
    if not visible(user).filter(number=number).exists():
        raise NotFound(_("CAPA %(number)s was not found.") % {"number": number}, field="number")
    return capa(number)


def open_choices(complaint: Complaint) -> list[tuple[str, str]]:
    """The open CAPAs of the whole organisation, newest first, that do not cover the complaint
    yet: a defect reaches complaints in every store, so a complaint may join any open CAPA (and
    the CAPA is then visible with it). One compiled statement, as the complaint page asks on
    every view; numbers and titles only, no customer's data."""
    linked = set(capa_ids(complaint))
    return [(number, title) for pk, number, title in _OPEN.rows() if pk not in linked]


def capa_list(user: User, *, state: str = "open", mine: bool = False, to_verify: bool = False,
              limit: int = 200) -> list[Capa]:
    qs = visible(user)
    if state == "open":
        qs = qs.filter(closed_at=None)
    elif state == "closed":
        qs = qs.exclude(closed_at=None)
    if mine:
        qs = qs.filter(actions__owner=user, actions__state=ActionState.OPEN)
    if to_verify:
        qs = qs.filter(actions__state=ActionState.DONE)
    ids = list(qs.order_by("-id").values_list("id", flat=True).distinct()[:limit])
    return list(_with_parts(Capa.objects.filter(pk__in=ids)).order_by("-id"))


def action_dict(a: CapaAction) -> dict[str, Any]:
    return {
        "id": a.pk, "kind": a.kind, "kind_label": str(ActionKind(a.kind).label), "description": a.description,
        "owner": a.owner.name, "due_date": a.due_date, "overdue": a.overdue(timezone.localdate()),
        "state": a.state, "state_label": str(ActionState(a.state).label), "result": a.result, "done_at": a.done_at,
        "verified_by": a.verified_by.name if a.verified_by else None, "verified_at": a.verified_at,
        "verification": a.verification, "sent_back": a.sent_back,
    }


def capa_dict(c: Capa, *, events: bool = False) -> dict[str, Any]:
    out = {
        "number": c.number, "title": c.title, "state": "closed" if c.closed_at else "open",
        "created_by": c.created_by.name, "created_at": c.created_at, "closed_at": c.closed_at,
        "complaints": [x.number for x in c.complaints.all()],
        "causes": [{"group": x.group, "group_label": str(CauseGroup(x.group).label), "text": x.text}
                   for x in c.causes.all()],
        "actions": [action_dict(a) for a in c.actions.all()],
    }
    if events:
        out["events"] = [{"kind": e.kind, "kind_label": str(CapaEventKind(e.kind).label), "actor": e.actor.name,
                          "at": e.at, "body": e.body} for e in c.events.select_related("actor").order_by("id")]
    return out
