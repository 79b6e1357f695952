"""Investigation and CAPA endpoints (SPEC section 6). Thin: load what the user may see, parse,
call one action, answer with the record as the pages show it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja import Status as Respond

from kesu.complaints import queries
from kesu.complaints.api import _load, _user
from kesu.lib.errors import Invalid, NotFound
from kesu.org.models import Unit, User

from . import actions, read
from .models import CapaAction

router = Router(tags=["investigation and CAPA"])

ResponsibilityCode = Literal["company", "customer_misuse", "carrier", "supplier", "other_company", "unjustified"]
GroupCode = Literal["people", "machine", "material", "method", "environment", "measurement"]


class InvestigationIn(Schema):
    version: int
    facts: str = Field(..., max_length=5000, description="the verified facts (R-IV-1)")
    evidence: str = Field("", max_length=5000)
    inspection_result: str = Field("", max_length=5000, description="QA's product inspection result; QA only")
    responsibility: ResponsibilityCode
    responsible_unit: str | None = Field(None, description="unit code; required when the company is responsible")
    responsible_person: str = Field("", max_length=100)
    whole_unit: bool = Field(False, description="no person or team can be named: the whole unit (R-IV-2)")
    third_party: str = Field("", max_length=200, description="the carrier, supplier or company responsible")


class InvestigationOut(Schema):
    facts: str
    evidence: str
    inspection_result: str
    inspected_by: str | None
    inspected_at: datetime | None
    responsibility: str
    responsibility_label: str
    responsible_unit: dict | None
    responsible_person: str
    whole_unit: bool
    third_party: str
    recorded_by: str
    updated_at: datetime
    version: int = Field(description="the complaint's version after the change")


class CauseIn(Schema):
    group: GroupCode
    text: str = Field(..., min_length=1, max_length=5000)


class ActionIn(Schema):
    kind: Literal["corrective", "preventive"]
    description: str = Field(..., min_length=1, max_length=5000)
    owner: str = Field(..., description="the owner's username")
    due_date: date


class CapaIn(Schema):
    complaint: str = Field(..., description="the number of the complaint the CAPA is opened for")
    version: int = Field(..., description="the complaint's version")
    title: str = Field(..., min_length=1, max_length=200)
    causes: list[CauseIn] = Field(..., min_length=1)
    actions: list[ActionIn] = Field(..., min_length=1)


class LinkIn(Schema):
    complaint: str
    version: int


class ActionDoneIn(Schema):
    result: str = Field(..., min_length=1, max_length=5000)


class VerifyIn(Schema):
    effective: bool
    note: str = Field("", max_length=5000, description="required when not effective")


class CauseOut(Schema):
    group: str
    group_label: str
    text: str


class ActionOut(Schema):
    id: int
    kind: str
    kind_label: str
    description: str
    owner: str
    due_date: date
    overdue: bool
    state: str
    state_label: str
    result: str
    done_at: datetime | None
    verified_by: str | None
    verified_at: datetime | None
    verification: str
    sent_back: int


class CapaOut(Schema):
    number: str
    title: str
    state: Literal["open", "closed"]
    created_by: str
    created_at: datetime
    closed_at: datetime | None
    complaints: list[str]
    causes: list[CauseOut]
    actions: list[ActionOut]


class CapaEventOut(Schema):
    kind: str
    kind_label: str
    actor: str
    at: datetime
    body: str


class CapaDetailOut(CapaOut):
    events: list[CapaEventOut]


def _owner(username: str, index: int) -> User:
    user = User.objects.staff().filter(username=username).first()
    if user is None:
        raise Invalid(_("Action %(n)d: unknown user “%(username)s”.") % {"n": index + 1, "username": username},
                      field="actions")
    return user


def _unit(code: str | None) -> Unit | None:
    return queries.transfer_unit(code, field="responsible_unit") if code else None


@router.get("/complaints/{number}/investigation", response=InvestigationOut, url_name="investigation_get")
def get_investigation(request: HttpRequest, number: str) -> dict:
    complaint = queries.access_complaint(_user(request), number)
    found = read.investigation(complaint)
    if found is None:
        raise NotFound(_("No investigation has been recorded for complaint %(number)s yet.") % {"number": number})
    return read.investigation_dict(found, complaint)


@router.put("/complaints/{number}/investigation", response=InvestigationOut, url_name="investigation_put")
def put_investigation(request: HttpRequest, number: str, payload: InvestigationIn) -> dict:
    """R-IV-1, R-IV-2, R-IV-5: record or correct the investigation's findings."""
    complaint = _load(request, number, payload.version)
    row = actions.record_investigation(
        complaint, by=_user(request), facts=payload.facts, evidence=payload.evidence,
        inspection_result=payload.inspection_result, responsibility=payload.responsibility,
        responsible_unit=_unit(payload.responsible_unit), responsible_person=payload.responsible_person,
        whole_unit=payload.whole_unit, third_party=payload.third_party)
    return read.investigation_dict(read.investigation(complaint) or row, complaint)


@router.get("/complaints/{number}/capas", response=list[CapaOut], url_name="complaint_capas")
def complaint_capas(request: HttpRequest, number: str) -> list[dict]:
    complaint = queries.access_complaint(_user(request), number)
    return [read.capa_dict(c) for c in read.capas_of(complaint)]


@router.post("/capas", response={201: CapaOut}, url_name="capa_open")
def open_capa(request: HttpRequest, payload: CapaIn) -> Respond:
    """R-IV-3: open a CAPA for a complaint: its causes in the six groups and its actions, each
    with an owner and a due date."""
    complaint = _load(request, payload.complaint, payload.version)
    planned = [actions.PlannedAction(kind=a.kind, description=a.description, owner=_owner(a.owner, i),
                                     due_date=a.due_date) for i, a in enumerate(payload.actions)]
    capa = actions.open_capa(complaint, by=_user(request), title=payload.title,
                             causes=[(c.group, c.text) for c in payload.causes], actions=planned)
    return Respond(201, read.capa_dict(read.capa(capa.number)))


@router.get("/capas", response=list[CapaOut], url_name="capa_list")
def list_capas(request: HttpRequest, state: Literal["open", "closed", "all"] = "open",
               mine: bool = False, to_verify: bool = False) -> list[dict]:
    """CAPAs covering complaints the user may see: ``mine`` those with an open action of theirs,
    ``to_verify`` those with an action done and waiting for QA's confirmation (R-IV-4)."""
    rows = read.capa_list(_user(request), state=state, mine=mine, to_verify=to_verify)
    return [read.capa_dict(c) for c in rows]


@router.get("/capas/{number}", response=CapaDetailOut, url_name="capa_get")
def get_capa(request: HttpRequest, number: str) -> dict:
    capa = read.visible_capa(_user(request), number)
    return read.capa_dict(capa, events=True)


@router.post("/capas/{number}/complaints", response=CapaOut, url_name="capa_link")
def link_capa(request: HttpRequest, number: str, payload: LinkIn) -> dict:
    """R-IV-4: a CAPA may cover several complaints, of any unit: a complaint the user handles
    may join any open CAPA (and the CAPA is then visible with it)."""
    capa = read.capa(number)
    complaint = _load(request, payload.complaint, payload.version)
    actions.link_capa(complaint, by=_user(request), capa=capa)
    return read.capa_dict(read.capa(number))


@router.post("/capas/{number}/actions", response={201: ActionOut}, url_name="capa_add_action")
def add_action(request: HttpRequest, number: str, payload: ActionIn) -> Respond:
    capa = read.visible_capa(_user(request), number)
    row = actions.add_action(capa, by=_user(request), action=actions.PlannedAction(
        kind=payload.kind, description=payload.description, owner=_owner(payload.owner, 0),
        due_date=payload.due_date))
    return Respond(201, read.action_dict(row))


def _action(request: HttpRequest, number: str, action_id: int) -> CapaAction:
    capa = read.visible_capa(_user(request), number)
    row = capa.actions.select_related("owner", "verified_by").filter(pk=action_id).first()
    if row is None:
        raise NotFound(_("CAPA %(number)s has no action %(id)d.") % {"number": number, "id": action_id},
                       field="action_id")
    row.capa = capa
    return row


@router.post("/capas/{number}/actions/{action_id}/done", response=ActionOut, url_name="capa_action_done")
def action_done(request: HttpRequest, number: str, action_id: int, payload: ActionDoneIn) -> dict:
    """The owner reports the action done."""
    row = actions.complete_action(_action(request, number, action_id), by=_user(request), result=payload.result)
    return read.action_dict(row)


@router.post("/capas/{number}/actions/{action_id}/verify", response=ActionOut, url_name="capa_action_verify")
def action_verify(request: HttpRequest, number: str, action_id: int, payload: VerifyIn) -> dict:
    """R-IV-4: QA confirms the effect (closes the action) or sends it back."""
    row = actions.verify_action(_action(request, number, action_id), by=_user(request),
                                effective=payload.effective, note=payload.note)
    return read.action_dict(row)
