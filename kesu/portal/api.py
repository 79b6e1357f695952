"""Public endpoints under /api/v1/public/ for a WeChat mini-program or an app: the portal's
pages as JSON. No login; the same limits, captcha and actions as the pages (R-AX-3, R-IN-6,
R-FU-5). No cookies are involved, so there is no CSRF to check; clients send JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema
from ninja import Status as Respond
from ninja.files import UploadedFile

from kesu.followups import actions as followups
from kesu.followups.models import Satisfaction
from kesu.lib.errors import Invalid

from . import actions, captcha, throttle
from .progress import progress

router = Router(tags=["public"], auth=None)


class CaptchaOut(Schema):
    key: str
    image_url: str = Field(description="PNG, relative to the site root")


class CaptchaIn(Schema):
    captcha_key: str = Field("", max_length=40, description="from GET /public/captcha, when captcha_required")
    captcha_answer: str = Field("", max_length=10)


class ComplaintIn(CaptchaIn):
    description: str = Field(..., min_length=1, max_length=5000)
    customer_name: str = Field("", max_length=100)
    anonymous: bool = False
    contact_phone: str = Field("", max_length=30)
    email: str = Field("", max_length=200)
    product: str = Field("", max_length=200)
    order_number: str = Field("", max_length=100)
    lot_number: str = Field("", max_length=100)
    demand: Literal["", "refund", "replacement", "repair", "compensation", "apology", "explanation", "other"] = ""
    demand_detail: str = Field("", max_length=500)


class SubmittedOut(Schema):
    number: str
    lookup_code: str = Field(description="shown once; also sent by SMS/email where the contact allows (R-IN-6)")
    photos_url: str = Field(description="POST photos here one at a time, with lookup_code")


class LookupIn(CaptchaIn):
    number: str = Field(..., min_length=1, max_length=20)
    code: str = Field(..., min_length=1, max_length=12)


class MessageOut(Schema):
    at: datetime
    kind: Literal["reply", "message"]
    label: str
    body: str


class ProgressOut(Schema):
    number: str
    state: str
    state_text: str = Field(description="the state in plain words for the customer")
    received_at: datetime
    expected_reply_by: datetime | None
    closed_at: datetime | None
    messages: list[MessageOut]


class PhotoOut(Schema):
    number: str
    photos: int


class ChoiceOut(Schema):
    value: int
    label: str


class SurveyOut(Schema):
    number: str
    question: str
    choices: list[ChoiceOut]
    expires_at: datetime


class AnswerIn(Schema):
    satisfaction: int = Field(..., ge=1, le=5, description="1 very satisfied … 5 very dissatisfied")
    comment: str = Field("", max_length=2000)


class AnsweredOut(Schema):
    number: str
    satisfaction: int
    satisfaction_label: str
    message: str


def _require_captcha(ip: str, payload: CaptchaIn) -> None:
    if throttle.captcha_needed(ip) and not captcha.solved(payload.captcha_key, payload.captcha_answer):
        raise throttle.CaptchaRequired(
            _("Too many attempts from your network: solve the captcha (GET /api/v1/public/captcha) and "
              "send captcha_key and captcha_answer."), field="captcha_answer")


@router.get("/public/captcha", response=CaptchaOut, url_name="public_captcha")
def new_captcha(request: HttpRequest) -> CaptchaOut:
    return CaptchaOut(**captcha.new_challenge())


@router.post("/public/complaints", response={201: SubmittedOut}, url_name="public_submit")
def submit(request: HttpRequest, payload: ComplaintIn) -> Respond[SubmittedOut]:
    """Submit a complaint (R-IN-2, R-IN-3); the answer carries the number and lookup code."""
    ip = throttle.client_ip(request)
    throttle.check_submit(ip, payload.contact_phone)
    _require_captcha(ip, payload)
    data = payload.dict(exclude={"captcha_key", "captcha_answer"})
    try:
        done = actions.submit(actions.Submission(**data))
    except Invalid:
        throttle.note_failure(ip)
        raise
    throttle.submitted(ip, done.complaint.contact_phone)
    return Respond(201, SubmittedOut(number=done.complaint.number, lookup_code=done.lookup_code,
                                     photos_url=f"/api/v1/public/complaints/{done.complaint.number}/photos"))


def _find(ip: str, number: str, code: str, payload: CaptchaIn | None = None):  # type: ignore[no-untyped-def]
    throttle.check_lookup(ip, number)
    if payload is not None:
        _require_captcha(ip, payload)
    elif throttle.captcha_needed(ip):
        raise throttle.CaptchaRequired(_("Too many attempts from your network: look the complaint up with a "
                                         "solved captcha first."), field="captcha_answer")
    complaint = actions.find(number, code)
    if complaint is None:
        throttle.lookup_failed(ip, number)
        raise Invalid(_("The number and lookup code do not match. Please check both."), field="code",
                      code="wrong_code")
    return complaint


@router.post("/public/complaints/{number}/photos", response={201: PhotoOut}, url_name="public_photo")
def add_photo(request: HttpRequest, number: str, lookup_code: Form[str], file: File[UploadedFile]) -> Respond[PhotoOut]:
    """One photo (JPG, PNG, GIF, WebP; KESU_PORTAL_MAX_PHOTO_MB) for the customer's complaint."""
    complaint = _find(throttle.client_ip(request), number, lookup_code)
    actions.add_photo(complaint, upload=file)
    return Respond(201, PhotoOut(number=complaint.number, photos=complaint.attachments.count()))


@router.post("/public/lookup", response=ProgressOut, url_name="public_lookup")
def lookup(request: HttpRequest, payload: LookupIn) -> ProgressOut:
    """R-AX-3: the complaint's progress by number and lookup code: the state in plain words,
    customer-visible messages and the expected reply time; nothing internal."""
    complaint = _find(throttle.client_ip(request), payload.number, payload.code, payload)
    p = progress(complaint)
    return ProgressOut(number=p.number, state=p.state, state_text=p.state_text, received_at=p.received_at,
                       expected_reply_by=p.expected_reply_by, closed_at=p.closed_at,
                       messages=[MessageOut(at=m.at, kind=m.kind, label=m.label, body=m.body) for m in p.messages])


@router.get("/public/surveys/{token}", response=SurveyOut, url_name="public_survey")
def survey(request: HttpRequest, token: str) -> SurveyOut:
    """R-FU-5: only the complaint number and the question."""
    q = followups.survey_question(token)
    return SurveyOut(number=q.number, question=_("How satisfied are you with how we handled your complaint?"),
                     choices=[ChoiceOut(value=v, label=str(label)) for v, label in Satisfaction.choices],
                     expires_at=q.expires_at)


@router.post("/public/surveys/{token}", response=AnsweredOut, url_name="public_survey_answer")
def answer(request: HttpRequest, token: str, payload: AnswerIn) -> AnsweredOut:
    """Answer once; a replay is a 409 ``survey_used`` and changes nothing."""
    outcome = followups.answer_survey(token, satisfaction=payload.satisfaction, comment=payload.comment)
    return AnsweredOut(number=outcome.visit.complaint.number, satisfaction=outcome.visit.satisfaction,
                       satisfaction_label=str(Satisfaction(outcome.visit.satisfaction).label),
                       message=_("Thank you for your feedback."))
