"""Communication endpoints: the script library for a complaint (R-CM-1)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema

from kesu.complaints import queries

from . import scripts
from .models import Script, Situation

router = Router(tags=["communication"])


class ScriptFilters(Schema):
    complaint: str | None = None
    action: str | None = None


class ScriptOut(Schema):
    id: int
    situation: str
    situation_label: str
    title: str
    text: str


class ScriptsOut(Schema):
    complaint: str | None
    situations: list[str]
    scripts: list[ScriptOut]


@router.get("/scripts", response=ScriptsOut, summary="Scripts for a complaint's situation (R-CM-1)")
def list_scripts(request: HttpRequest, filters: Query[ScriptFilters]):
    """With ``complaint=<number>`` (which the user must be allowed to see, else 404): the active
    scripts for its situation — its state, or the text box's ``action`` (``reply``, ``message``,
    ``accept`` …) — with the placeholders filled in. Without it: the whole active library, with
    placeholders as written."""
    if filters.complaint:
        complaint = queries.access_complaint(request.auth, filters.complaint)  # type: ignore[attr-defined]
        rendered = scripts.for_complaint(complaint, action=filters.action, speaker=request.auth)  # type: ignore[attr-defined]
        return {"complaint": complaint.number, "situations": scripts.situations_for(complaint, filters.action),
                "scripts": [r.__dict__ for r in rendered]}
    labels = dict(Situation.choices)
    rows = Script.objects.filter(active=True)
    return {"complaint": None, "situations": [s.value for s in Situation],
            "scripts": [{"id": r.pk, "situation": r.situation, "situation_label": str(labels[r.situation]),
                         "title": r.title, "text": r.text} for r in rows]}
