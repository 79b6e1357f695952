"""The complaints API: register, list, read, and one POST endpoint per workflow action.

Entry points stay thin: parse, look the complaint up with the user's permissions, check the
version the client read, call one action, present the result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Header, Query, Router, Schema
from ninja import Status as Respond
from ninja.files import UploadedFile

from kesu import replica
from kesu.lib.errors import Invalid
from kesu.org.directory import seen_by
from kesu.org.models import User

from . import actions, present, queries, schemas
from .attachments import attach
from .classification import suggest
from .models import Attachment, Category, Complaint

router = Router(tags=["complaints"])


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,return-value]


def _load(request: HttpRequest, number: str, version: int | None = None) -> Complaint:
    complaint = queries.access_complaint(_user(request), number)
    if version is not None and version != complaint.version:
        raise actions.ConcurrentChange(
            _("Complaint %(number)s was changed by someone else (now version %(version)s). "
              "Reload it; your input has been kept.")
            % {"number": number, "version": complaint.version},
            field="version",
            current_version=complaint.version,
        )
    return complaint


def _detail(request: HttpRequest, number: str) -> dict[str, Any]:
    return present.detail(queries.access_complaint(_user(request), number), _user(request))


def _rendered(request: HttpRequest, body: Any, status: int = 200) -> HttpResponse:
    """The hot reads and the registration's answer, rendered as ``present`` built them. Their
    schemas stay the documented contract, checked by the tests (``tests/test_api_schemas.py``);
    validating every row against them again on each request was a fifth of a list's time
    (docs/performance.md)."""
    from kesu.api import api

    return api.create_response(request, body, status=status)


# --- register, list, read -------------------------------------------------------------------


@router.post("/complaints", response={201: schemas.RegisteredOut, 200: schemas.RegisteredOut},
             summary="Register a complaint")
def register(
    request: HttpRequest,
    payload: schemas.ComplaintIn,
    idempotency_key: str = Header(default="", alias="Idempotency-Key", max_length=100),
):
    """R-IN-2…R-IN-8. Send an ``Idempotency-Key`` header to make retries safe: the same key
    returns the first complaint (HTTP 200) instead of registering a second one."""
    data = payload.dict()
    data["demand"] = data["demand"] or ""
    intake = actions.Intake(**data)
    user = _user(request)
    result = actions.register(intake, by=user, idempotency_key=idempotency_key)
    # Presented from the complaint in hand: re-reading it through access_complaint's joins
    # was half of an intake's time (docs/performance.md). The registering clerk is its first
    # responder, so they may see it (R-IN-5, R-AX-1).
    body = {"created": result.created, "lookup_code": getattr(result.complaint, "lookup_code", None),
            "complaint": present.detail(result.complaint, user)}
    return _rendered(request, body, 201 if result.created else 200)


class ListFilters(schemas.ComplaintFilters):
    # Newest registered first by default; the keys of queries.SORTS.
    sort: Literal["-id", "id", "-received_at", "received_at", "-level"] = "-id"
    cursor: str | None = None
    limit: int = 50


@router.get("/complaints", response=schemas.ComplaintPage, summary="List complaints")
def list_complaints(request: HttpRequest, filters: Query[ListFilters]):
    """The complaints the user may see (R-AX-1), newest first unless ``sort`` says otherwise.
    Pages are keyset-paginated: pass ``next_cursor`` back as ``cursor`` with the same ``sort``;
    no page ever counts the whole table."""
    user = _user(request)
    f = filters
    if not 1 <= f.limit <= 200:
        raise Invalid(_("limit must be between 1 and 200."), field="limit")
    # A list may be a moment old: read from the replica when there is one (kesu/replica.py).
    filtering = {k: v for k, v in f.dict(exclude={"cursor", "limit", "sort"}).items() if v not in (None, [], "")}
    with replica.reads():
        if set(filtering) == {"phone"} and f.sort == "-id" and not f.cursor:  # a caller's lookup
            page = queries.phone_page(user, f.phone, f.limit)
        else:
            qs = queries.filter_complaints(queries.visible_to(user), now=timezone.now(), **filtering)
            page = queries.keyset_page(qs, f.cursor, f.limit, f.sort, known=seen_by(user))
        return _rendered(request, {"items": [present.list_item(c, user) for c in page.rows],
                                   "next_cursor": page.next_cursor})


# Registered before /complaints/{number}: URL patterns are tried in order, and that one would
# take "suggest" as a number and answer 405.
@router.post("/complaints/suggest", response=schemas.SuggestionOut, summary="Suggest category and level")
def suggest_classification(request: HttpRequest, payload: schemas.SuggestIn):
    """R-CL-2: what the keyword rules suggest for a text, before registering."""
    s = suggest(payload.text)
    category = {"code": s.category.code, "name": s.category.label} if s.category else None
    return {"category": category, "level": s.level, "matched": s.matched}


@router.get("/complaints/{number}", response=schemas.ComplaintOut, summary="Get a complaint by number")
def get_complaint(request: HttpRequest, number: str):
    return _rendered(request, _detail(request, number))


@router.get("/complaints/{number}/timeline", response=list[schemas.EventOut], summary="The timeline")
def get_timeline(request: HttpRequest, number: str):
    complaint = _load(request, number)
    return _rendered(request, [present.event_row(e) for e in complaint.events.select_related("actor")])


@router.post("/complaints/{number}/contact", response=schemas.ContactOut,
             summary="Reveal the full contact details (logged)")
def reveal_contact(request: HttpRequest, number: str):
    """R-AX-2: phone and address are masked everywhere; this returns them in full to roles
    whose work needs them and records the view on the timeline."""
    return actions.reveal_contact(_load(request, number), by=_user(request))


@router.post("/complaints/{number}/attachments", response={201: schemas.AttachmentOut},
             summary="Attach a photo, document or recording")
def upload_attachment(request: HttpRequest, number: str, file: File[UploadedFile]):
    complaint = _load(request, number)
    row = attach(complaint, by=_user(request), upload=file)
    return Respond(201, present.attachment_row(complaint, row))


@router.get("/complaints/{number}/attachments/{attachment_id}", url_name="attachment_download",
            summary="Download an attachment")
def download_attachment(request: HttpRequest, number: str, attachment_id: int):
    complaint = _load(request, number)
    row = Attachment.objects.filter(complaint=complaint, pk=attachment_id).first()
    if row is None:
        from kesu.lib.errors import NotFound

        raise NotFound(_("No such attachment."), field="attachment_id")
    return FileResponse(row.file.open("rb"), content_type=row.content_type, filename=row.original_name,
                        as_attachment=row.kind != "photo")


# --- workflow actions -------------------------------------------------------------------------


def _action(
    name: str, schema: type[Schema], summary: str, call: Callable[[Complaint, User, Any], Any]
) -> None:
    """Register ``POST /complaints/{number}/<name>``: load with permission, check the version,
    call the action, answer with the complaint as it is now."""

    def endpoint(request: HttpRequest, number: str, payload: schema):  # type: ignore[valid-type]
        version = getattr(payload, "version", None)
        complaint = _load(request, number, version)
        call(complaint, _user(request), payload)
        return _detail(request, number)

    # Annotations are strings under ``from __future__ import annotations``; ninja needs the class.
    endpoint.__annotations__ = {"request": HttpRequest, "number": str, "payload": schema}
    endpoint.__name__ = f"complaint_{name.replace('-', '_')}"
    router.post(f"/complaints/{{number}}/{name}", response=schemas.ComplaintOut, summary=summary,
                operation_id=endpoint.__name__)(endpoint)


def _survivor(request: HttpRequest, number: str) -> Complaint:
    from kesu.lib.errors import NotFound

    try:
        return queries.access_complaint(_user(request), number)
    except NotFound:
        raise Invalid(_("Complaint %(number)s was not found.") % {"number": number}, field="into") from None


_action("accept", schemas.OptionalNoteIn, "Accept: first contact made",
        lambda c, u, p: actions.accept(c, by=u, note=p.note))
_action("investigate", schemas.OptionalNoteIn, "Start the investigation",
        lambda c, u, p: actions.investigate(c, by=u, note=p.note))
_action("judge", schemas.JudgeIn, "Judge validity and responsibility (R-CL-5)",
        lambda c, u, p: actions.judge(c, by=u, valid=p.valid, company_responsible=p.company_responsible,
                                      reason=p.reason))
_action("propose", schemas.ProposeIn, "Propose a resolution",
        lambda c, u, p: actions.propose(c, by=u, resolution=p.resolution, amount=p.amount))
_action("request-approval", schemas.OptionalNoteIn, "Send the resolution for approval",
        lambda c, u, p: actions.request_approval(c, by=u, note=p.note))
_action("approve", schemas.OptionalNoteIn, "Approve the resolution",
        lambda c, u, p: actions.approve(c, by=u, note=p.note))
_action("reject", schemas.ReasonIn, "Send the resolution back",
        lambda c, u, p: actions.reject(c, by=u, reason=p.reason))
_action("resolve", schemas.OptionalNoteIn, "Carry out the resolution",
        lambda c, u, p: actions.resolve(c, by=u, note=p.note))
_action("reply", schemas.ReplyIn, "Reply to the customer",
        lambda c, u, p: actions.reply(c, by=u, message=p.message, override_reason=p.override_reason))
_action("follow-up", schemas.OptionalNoteIn, "Start the follow-up",
        lambda c, u, p: actions.start_follow_up(c, by=u, note=p.note))
_action("review", schemas.OptionalNoteIn, "Reviewer sign-off (R-RT-2)",
        lambda c, u, p: actions.review(c, by=u, note=p.note))
_action("close", schemas.ReasonIn, "Close",
        lambda c, u, p: actions.close(c, by=u, reason=p.reason))
_action("reopen", schemas.ReasonIn, "Reopen",
        lambda c, u, p: actions.reopen(c, by=u, reason=p.reason))
_action("hold", schemas.ReasonIn, "Put on hold (waiting for the customer)",
        lambda c, u, p: actions.hold(c, by=u, reason=p.reason))
_action("resume", schemas.OptionalNoteIn, "Resume after hold",
        lambda c, u, p: actions.resume(c, by=u, note=p.note))
_action("mark-invalid", schemas.InvalidIn, "Mark invalid, with a reasoned reply",
        lambda c, u, p: actions.mark_invalid(c, by=u, reason=p.reason, reply=p.reply,
                                             override_reason=p.override_reason))
_action("escalate", schemas.ReasonIn, "Escalate one level (R-WF-5)",
        lambda c, u, p: actions.escalate(c, by=u, reason=p.reason))
_action("lower-level", schemas.LowerLevelIn, "Lower the level (tier 2, R-CL-4)",
        lambda c, u, p: actions.lower_level(c, by=u, level=p.level, reason=p.reason))
_action("classify", schemas.ClassifyIn, "Confirm or change category and level (R-CL-2)",
        lambda c, u, p: actions.classify(c, by=u, category=p.category, level=p.level, reason=p.reason))
_action("transfer", schemas.TransferIn, "Transfer to a responsible unit (R-RT-4)",
        lambda c, u, p: actions.transfer(c, by=u, to_unit=queries.transfer_unit(p.to_unit),
                                         to_user=queries.transfer_user(p.to_user),
                                         new_handler=p.new_handler, reason=p.reason))
_action("answer", schemas.AnswerIn, "The responsible unit's cause and countermeasure",
        lambda c, u, p: actions.answer(c, by=u, transfer_id=p.transfer_id, cause=p.cause,
                                       countermeasure=p.countermeasure))
_action("note", schemas.NoteIn, "Add an internal note (R-WF-3)",
        lambda c, u, p: actions.note(c, by=u, text=p.text))
_action("message", schemas.MessageIn, "Send a customer-visible message (R-WF-3, R-CM-2)",
        lambda c, u, p: actions.message(c, by=u, text=p.text, override_reason=p.override_reason))
_action("edit", schemas.EditIn, "Correct the details",
        lambda c, u, p: actions.edit(c, by=u, changes=p.changes.dict(exclude_unset=True)))


_action("promise", schemas.PromiseIn, "Promise a reply time (R-SLA-8)",
        lambda c, u, p: actions.promise_reply(c, by=u, due_at=p.due_at, note=p.note))
_action("platform-result", schemas.PlatformResultIn, "Record the result for the 12315 platform (R-SLA-11)",
        lambda c, u, p: actions.report_platform_result(c, by=u, result=p.result))


@router.post("/complaints/{number}/merge", response=schemas.ComplaintOut, summary="Merge into another complaint (R-WF-6)")
def complaint_merge(request: HttpRequest, number: str, payload: schemas.MergeIn):
    complaint = _load(request, number, payload.version)
    actions.merge(complaint, by=_user(request), into=_survivor(request, payload.into), reason=payload.reason)
    return _detail(request, number)


@router.get("/categories", response=list[schemas.CategoryOut], tags=["classification"], summary="Categories")
def categories(request: HttpRequest):
    rows = Category.objects.filter(active=True).select_related("parent")
    return [
        {"code": c.code, "name": c.label, "name_en": c.name_en, "parent": c.parent.code if c.parent_id else None,
         "default_level": c.default_level, "is_quality": c.is_quality, "is_claim": c.is_claim,
         "is_batch": c.is_batch}
        for c in rows
    ]


@router.post("/phrases/check", response=list[schemas.PhraseHitOut], tags=["communication"],
             summary="Check a text for forbidden phrases (R-CM-2)")
def check_phrases(request: HttpRequest, payload: schemas.PhraseCheckIn):
    """For checking as the handler types; sending is checked again by the action."""
    from kesu.comms.phrases import check

    return [{"phrase": h.phrase, "matched": h.matched, "advice": h.advice} for h in check(payload.text)]
