"""Staff endpoints for follow-up and closure (SPEC section 9, R-IV-6). Thin: load the complaint
with the user's permissions, check the version the client read, call one action."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from kesu.complaints import queries
from kesu.complaints.api import _load, _user
from kesu.complaints.models import Level, Status
from kesu.lib.errors import Forbidden, NotFound
from kesu.org.models import Role

from . import actions, closure
from .models import Exemption, FollowUpVisit, GmAgendaItem, Method, Satisfaction

router = Router(tags=["follow-up"])

AGENDA_ROLES = {Role.GM, Role.GM_OFFICE, Role.DIRECTOR, Role.ADMIN, Role.AUDITOR}


class VisitIn(Schema):
    version: int
    method: Literal["phone", "visit", "online", "survey"]
    satisfaction: int = Field(..., ge=1, le=5, description="1 very satisfied … 5 very dissatisfied (R-FU-1)")
    notes: str = Field("", max_length=2000)


class VisitOut(Schema):
    id: int
    method: str
    method_label: str
    satisfaction: int
    satisfaction_label: str
    notes: str
    by: str | None
    at: datetime
    level: int


class OutcomeOut(Schema):
    visit: VisitOut
    closable: bool
    escalated: bool
    reopened: bool
    gm_agenda: bool
    status: str
    status_label: str
    level: int
    level_label: str
    version: int


class VersionIn(Schema):
    version: int


class SurveyOut(Schema):
    sent_to: list[str] = Field(description="sms and/or email")
    expires_at: datetime
    version: int


class ExemptionIn(Schema):
    version: int
    reason: Literal["on_the_spot", "no_contact", "sensitive", "declined"]
    note: str = Field(..., min_length=1, max_length=2000)


class ExemptionOut(Schema):
    reason: str
    reason_label: str
    note: str
    close_due_at: datetime | None
    version: int


class ConditionOut(Schema):
    code: str
    label: str
    state: Literal["met", "missing", "not_applicable"]
    detail: str


class ChecklistOut(Schema):
    applies: bool
    note: str
    can_close: bool = Field(description="the four conditions and the review allow closing now")
    reviewed: bool
    reviewer_tier: int
    conditions: list[ConditionOut]


class AgendaOut(Schema):
    id: int
    number: str
    summary: str
    level: int
    reason: str
    added_at: datetime
    discussed_at: datetime | None
    outcome: str


class DiscussIn(Schema):
    outcome: str = Field(..., min_length=1, max_length=2000)


def visit_out(v: FollowUpVisit) -> VisitOut:
    return VisitOut(id=v.pk, method=v.method, method_label=str(Method(v.method).label), satisfaction=v.satisfaction,
                    satisfaction_label=str(Satisfaction(v.satisfaction).label), notes=v.notes,
                    by=v.by.username if v.by_id else None, at=v.at, level=v.level)


@router.post("/complaints/{number}/follow-ups", response=OutcomeOut, url_name="follow_up_record")
def record_follow_up(request: HttpRequest, number: str, payload: VisitIn) -> OutcomeOut:
    """R-FU-1…R-FU-3: record a follow-up visit. 1–3 allow closing after the review; 4–5
    escalate one level and reopen (level 3: GM meeting agenda)."""
    complaint = _load(request, number, payload.version)
    o = actions.record_visit(complaint, by=_user(request), method=payload.method,
                             satisfaction=payload.satisfaction, notes=payload.notes)
    return OutcomeOut(visit=visit_out(o.visit), closable=o.closable, escalated=o.escalated, reopened=o.reopened,
                      gm_agenda=o.agenda_item is not None, status=complaint.status,
                      status_label=str(Status(complaint.status).label), level=complaint.level,
                      level_label=str(Level(complaint.level).label), version=complaint.version)


@router.get("/complaints/{number}/follow-ups", response=list[VisitOut], url_name="follow_up_list")
def list_follow_ups(request: HttpRequest, number: str) -> list[VisitOut]:
    complaint = queries.access_complaint(_user(request), number)
    return [visit_out(v) for v in complaint.follow_up_visits.select_related("by").order_by("at", "id")]


@router.post("/complaints/{number}/survey", response=SurveyOut, url_name="follow_up_survey")
def send_survey(request: HttpRequest, number: str, payload: VersionIn) -> SurveyOut:
    """R-FU-5: send the customer a single-use survey link by SMS/email (the link itself is
    never shown to staff)."""
    complaint = _load(request, number, payload.version)
    sent = actions.send_survey(complaint, by=_user(request))
    return SurveyOut(sent_to=sent.channels, expires_at=sent.link.expires_at, version=complaint.version)


@router.post("/complaints/{number}/follow-up-exemption", response=ExemptionOut, url_name="follow_up_waive")
def waive_follow_up(request: HttpRequest, number: str, payload: ExemptionIn) -> ExemptionOut:
    """R-FU-4: no follow-up needed (solved on the spot and signed, no usable contact,
    sensitive — tier 2 —, or the customer declined: then it closes 7 days after the reply)."""
    complaint = _load(request, number, payload.version)
    row = actions.waive_follow_up(complaint, by=_user(request), reason=payload.reason, note=payload.note)
    return ExemptionOut(reason=row.reason, reason_label=str(Exemption(row.reason).label), note=row.note,
                        close_due_at=row.close_due_at, version=complaint.version)


@router.get("/complaints/{number}/closure-checklist", response=ChecklistOut, url_name="closure_checklist")
def closure_checklist(request: HttpRequest, number: str) -> ChecklistOut:
    """R-IV-6 four no-lets-go and the R-RT-2 review: what closing the complaint still needs."""
    c = queries.access_complaint(_user(request), number)
    result = closure.checklist(c)
    reviewed = c.reviewed_at is not None and c.reviewed_by is not None and c.reviewed_by.tier >= c.reviewer_tier
    return ChecklistOut(
        applies=result.applies, note=result.note, can_close=reviewed and not result.missing, reviewed=reviewed,
        reviewer_tier=c.reviewer_tier,
        conditions=[ConditionOut(code=x.code, label=x.label, state=x.state, detail=x.detail) for x in result.conditions],
    )


def _agenda_user(request: HttpRequest) -> None:
    user = _user(request)
    if user.role not in AGENDA_ROLES and not user.is_superuser:
        raise Forbidden(_("Only the GM, the GM office and directors see the GM meeting agenda."))


@router.get("/gm-agenda", response=list[AgendaOut], url_name="gm_agenda")
def gm_agenda(request: HttpRequest, pending: bool = True) -> list[AgendaOut]:
    """R-FU-3: level-3 complaints whose customer is still dissatisfied, for the GM meeting."""
    _agenda_user(request)
    qs = GmAgendaItem.objects.select_related("complaint").order_by("added_at", "id")
    if pending:
        qs = qs.filter(discussed_at=None)
    return [AgendaOut(id=i.pk, number=i.complaint.number, summary=i.complaint.summary, level=i.complaint.level,
                      reason=i.reason, added_at=i.added_at, discussed_at=i.discussed_at, outcome=i.outcome)
            for i in qs[:500]]


@router.post("/gm-agenda/{item_id}/discussed", response=AgendaOut, url_name="gm_agenda_discussed")
def gm_agenda_discussed(request: HttpRequest, item_id: int, payload: DiscussIn) -> AgendaOut:
    _agenda_user(request)
    item = GmAgendaItem.objects.select_related("complaint").filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("No such agenda item."), field="item_id")
    item = actions.discuss_agenda_item(item, by=_user(request), outcome=payload.outcome)
    return AgendaOut(id=item.pk, number=item.complaint.number, summary=item.complaint.summary,
                     level=item.complaint.level, reason=item.reason, added_at=item.added_at,
                     discussed_at=item.discussed_at, outcome=item.outcome)
