"""Follow-up visits, survey links, no-visit exemptions and the automatic close (SPEC section 9).
The only writers of ``kesu.followups`` rows; they change the complaint through the complaint
actions' own helpers (conditional save on ``version``, timeline, routing, deadlines, outbox),
so a follow-up is one transaction like every other action (ARCHITECTURE principle 1).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kesu.comms import outbox
from kesu.complaints import notify, permissions, timeline
from kesu.complaints.actions import (
    ConcurrentChange,
    _check,
    _flag_gm_copy,
    _require,
    _route,
    _save,
)
from kesu.complaints.models import Complaint, Event, Level, Status
from kesu.lib.errors import Conflict, Forbidden, Invalid, NotFound
from kesu.lib.text import clean_text
from kesu.org.models import User
from kesu.sla import deadlines

from . import closure
from .models import (
    CLOSABLE,
    Exemption,
    FollowUpExemption,
    FollowUpPolicy,
    FollowUpVisit,
    GmAgendaItem,
    Method,
    Satisfaction,
    SurveyLink,
)

NOTES_LIMIT = 2000


@dataclass
class Outcome:
    """What a recorded visit led to: R-FU-2 (closable) or R-FU-3 (escalated, reopened, agenda)."""

    visit: FollowUpVisit
    closable: bool
    escalated: bool = False
    reopened: bool = False
    agenda_item: GmAgendaItem | None = None


def _satisfaction(value: object) -> int:
    try:
        number = int(value)  # type: ignore[call-overload]  # any form or JSON value
    except (TypeError, ValueError):
        number = 0
    if number not in Satisfaction.values:
        raise Invalid(_("Satisfaction must be one of 1 (very satisfied) to 5 (very dissatisfied)."),
                      field="satisfaction")
    return number


def _notes(value: str) -> str:
    text = clean_text(value or "")
    if len(text) > NOTES_LIMIT:
        raise Invalid(_("%(label)s may be at most %(limit)d characters.")
                      % {"label": _("Notes"), "limit": NOTES_LIMIT}, field="notes")
    return text


def record_visit(
    complaint: Complaint, *, by: User, method: str, satisfaction: int, notes: str = "",
    now: datetime | None = None,
) -> Outcome:
    """R-FU-1: the handler records a follow-up visit and the customer's satisfaction."""
    now = now or timezone.now()
    if method not in Method.values:
        raise Invalid(_("Choose how the follow-up was made: phone, visit, online or survey."), field="method")
    score = _satisfaction(satisfaction)
    text = _notes(notes)
    _check(complaint, "record_follow_up")
    _require(permissions.can_handle(by, complaint))
    with transaction.atomic():
        return _record(complaint, by=by, method=method, satisfaction=score, notes=text, now=now)


def _record(
    complaint: Complaint, *, by: User | None, method: str, satisfaction: int, notes: str, now: datetime,
) -> Outcome:
    """Inside the caller's transaction: the visit, its event, and R-FU-3 when it is 4 or 5."""
    before = _save(complaint, now, status=Status.FOLLOW_UP)
    visit = FollowUpVisit.objects.create(complaint=complaint, method=method, satisfaction=satisfaction,
                                         notes=notes, by=by, at=now, level=complaint.level)
    timeline.record(complaint, Event.FOLLOW_UP_RECORDED, by=by, at=now, body=notes, before=before,
                    after={k: getattr(complaint, k) for k in before}, visit=visit.pk, method=method,
                    satisfaction=satisfaction)
    outcome = Outcome(visit, closable=satisfaction in CLOSABLE)
    if satisfaction not in CLOSABLE:
        _dissatisfied(complaint, visit, by=by, now=now, outcome=outcome)
    elif complaint.gm_copy:
        notify.copy_gm(complaint, by=by, now=now, status=complaint.status, satisfaction=satisfaction)
    deadlines.schedule(complaint, now=now, raised=outcome.escalated)
    return outcome


def _dissatisfied(complaint: Complaint, visit: FollowUpVisit, *, by: User | None, now: datetime,
                  outcome: Outcome) -> None:
    """R-FU-3: one level up (re-routed like any escalation, R-WF-5) and a new handling round; a
    level-3 complaint cannot go higher and goes on the GM meeting's agenda instead."""
    reason = (_("Follow-up visit: the customer is “%(word)s” (%(n)d); escalated and reopened (R-FU-3).")
              % {"word": Satisfaction(visit.satisfaction).label, "n": visit.satisfaction})
    if complaint.level < Level.THREE:
        _check(complaint, "escalate")
        before = _save(complaint, now, level=complaint.level + 1, reviewed_at=None, reviewed_by=None)
        timeline.record(complaint, Event.ESCALATED, by=by, at=now, body=reason,
                        before={"level": before["level"]}, after={"level": complaint.level},
                        cause="follow_up", visit=visit.pk)
        _route(complaint, by=by, now=now, reason=_("Level routing after an unsatisfied follow-up visit"))
        _flag_gm_copy(complaint, by=by, now=now)
        outcome.escalated = True
    else:
        item = GmAgendaItem.objects.create(complaint=complaint, visit=visit, reason=reason, added_at=now)
        timeline.record(complaint, Event.GM_AGENDA_ADDED, by=by, at=now, body=reason, agenda_item=item.pk,
                        visit=visit.pk)
        outcome.agenda_item = item
    _check(complaint, "reopen")
    before = _save(complaint, now, status=Status.REOPENED, closed_at=None, reviewed_at=None,
                   reviewed_by=None, closing_reason="")
    timeline.record(complaint, Event.REOPENED, by=by, at=now, body=reason, before=before,
                    after={k: getattr(complaint, k) for k in before}, cause="follow_up", visit=visit.pk)
    closure.on_reopen(complaint, now=now)
    if complaint.gm_copy:
        notify.copy_gm(complaint, by=by, now=now, status=Status.REOPENED, satisfaction=visit.satisfaction,
                       gm_agenda=outcome.agenda_item is not None)
    outcome.reopened = True


# --- survey links (R-FU-5) -----------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def survey_url(token: str) -> str:
    return f"{settings.KESU_PUBLIC_URL}/portal/survey/{token}/"


@dataclass
class SentSurvey:
    link: SurveyLink
    channels: list[str] = field(default_factory=list)


def send_survey(complaint: Complaint, *, by: User, now: datetime | None = None) -> SentSurvey:
    """R-FU-1/R-FU-5/R-CM-5: a single-use survey link to the customer by SMS and/or email. The
    token is only in the invitation (the handler never sees it, so cannot answer for the
    customer); an earlier unanswered link stops working."""
    now = now or timezone.now()
    _check(complaint, "send_survey")
    _require(permissions.can_handle(by, complaint))
    if complaint.anonymous or not (outbox.mobile_of(complaint.contact_phone) or outbox.email_in(complaint.other_contact)):
        raise Conflict(
            _("The customer has no mobile number or email address to send a survey link to. Record the "
              "follow-up by phone or visit, or record why none is needed (R-FU-4)."),
            field="contact_phone", code="no_survey_contact",
        )
    policy = FollowUpPolicy.current()
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        before = _save(complaint, now, status=Status.FOLLOW_UP)
        SurveyLink.objects.filter(complaint=complaint, used_at=None, revoked_at=None).update(revoked_at=now)
        link = SurveyLink.objects.create(complaint=complaint, token_hash=hash_token(token), created_by=by,
                                         created_at=now, expires_at=now + policy.survey_valid)
        timeline.record(complaint, Event.SURVEY_SENT, by=by, at=now, before=before,
                        after={k: getattr(complaint, k) for k in before}, survey_link=link.pk,
                        expires_at=link.expires_at)
        rows = outbox.to_customer(complaint, "survey_invitation",
                                  {"survey_url": survey_url(token), "expires_at": link.expires_at},
                                  now=now, dedupe_key=f"survey:{link.pk}")
        deadlines.schedule(complaint, now=now)
    return SentSurvey(link, sorted({r.channel for r in rows}))


@dataclass
class SurveyQuestion:
    """All a survey link reveals (R-FU-5): the number and the question."""

    number: str
    expires_at: datetime


def _open_link(token: str, now: datetime) -> SurveyLink:
    link = SurveyLink.objects.select_related("complaint").filter(token_hash=hash_token(token or "")).first()
    if link is None:
        raise NotFound(_("This survey link is not valid. Please check that it was copied in full."),
                       field="token", code="survey_not_found")
    if link.used_at is not None:
        raise Conflict(_("This survey has already been answered. Thank you for your feedback."),
                       field="token", code="survey_used")
    if link.revoked_at is not None:
        raise Conflict(_("This survey link has been replaced or is no longer needed."),
                       field="token", code="survey_revoked")
    if link.expires_at <= now:
        raise Conflict(_("This survey link expired on %(at)s.")
                       % {"at": timezone.localtime(link.expires_at).strftime("%Y-%m-%d")},
                       field="token", code="survey_expired")
    return link


def survey_question(token: str, *, now: datetime | None = None) -> SurveyQuestion:
    link = _open_link(token, now or timezone.now())
    return SurveyQuestion(link.complaint.number, link.expires_at)


def answer_survey(token: str, *, satisfaction: int, comment: str = "", now: datetime | None = None) -> Outcome:
    """The customer answers a survey link: a follow-up visit by survey, once (R-FU-5). The link
    is claimed with a conditional UPDATE in the visit's transaction, so a replay (or two tabs
    at once) records one answer and the other gets a clear refusal."""
    now = now or timezone.now()
    score = _satisfaction(satisfaction)
    text = _notes(comment)
    link = _open_link(token, now)
    complaint = link.complaint
    if complaint.status not in (Status.REPLIED, Status.FOLLOW_UP):
        raise Conflict(_("This survey is closed: the complaint is being handled again or is finished."),
                       field="token", code="survey_closed")
    with transaction.atomic():
        claimed = SurveyLink.objects.filter(pk=link.pk, used_at=None, revoked_at=None).update(used_at=now)
        if claimed != 1:
            raise Conflict(_("This survey has already been answered. Thank you for your feedback."),
                           field="token", code="survey_used")
        try:
            outcome = _record(complaint, by=None, method=Method.SURVEY, satisfaction=score, notes=text, now=now)
        except ConcurrentChange:
            raise Conflict(_("The complaint was being updated just now; please submit your answer again."),
                           field="token", code="survey_retry") from None
        SurveyLink.objects.filter(pk=link.pk).update(visit=outcome.visit)
    return outcome


# --- no visit needed (R-FU-4) --------------------------------------------------------------


def waive_follow_up(
    complaint: Complaint, *, by: User, reason: str, note: str, now: datetime | None = None,
) -> FollowUpExemption:
    """R-FU-4: record why no follow-up visit is made. ``declined``: the complaint closes by
    itself 7 days after the reply unless a repeat complaint arrives (``close_declined``)."""
    now = now or timezone.now()
    if reason not in Exemption.values:
        raise Invalid(_("Choose why no follow-up is needed."), field="reason")
    text = clean_text(note or "")
    if not text:
        raise Invalid(_("%(label)s is required.") % {"label": _("Note")}, field="note")
    _check(complaint, "waive_follow_up")
    _require(permissions.can_handle(by, complaint))
    if reason == Exemption.SENSITIVE and not permissions.can_lower_level(by):
        raise Invalid(_("Only a tier-2 user or above may mark a complaint sensitive."), field="reason")
    close_due_at = None
    if reason == Exemption.DECLINED:
        close_due_at = (complaint.replied_at or now) + FollowUpPolicy.current().declined_close_after
    with transaction.atomic():
        _save(complaint, now)
        row = FollowUpExemption.objects.create(complaint=complaint, reason=reason, note=text, by=by, at=now,
                                               close_due_at=close_due_at)
        timeline.record(complaint, Event.FOLLOW_UP_WAIVED, by=by, at=now, body=text, reason=reason,
                        exemption=row.pk, close_due_at=close_due_at)
    return row


@dataclass
class ClosePass:
    closed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    waiting: list[tuple[str, str]] = field(default_factory=list)  # (number, why not closed yet)


def close_declined(*, now: datetime | None = None, limit: int = 500) -> ClosePass:
    """R-FU-4: close the complaints whose customer declined a follow-up, once the waiting time
    after the reply has passed with no repeat complaint. Idempotent: a row leaves the pending
    index when it is closed or cancelled; the complaint's conditional save makes two passes at
    once close it once. A complaint still missing the review (R-RT-2) or another R-IV-6
    condition waits for the next pass."""
    now = now or timezone.now()
    result = ClosePass()
    due = (FollowUpExemption.objects.filter(close_due_at__lte=now, cancelled_at=None, auto_closed_at=None)
           .select_related("complaint").order_by("close_due_at", "id")[:limit])
    for row in due:
        complaint = Complaint.objects.select_related("category", "reviewed_by", "owner", "unit").get(pk=row.complaint_id)
        try:
            with transaction.atomic():
                _close_one(row, complaint, now, result)
        except (Conflict, Invalid) as exc:
            result.waiting.append((complaint.number, str(exc.message)))
    return result


def _close_one(row: FollowUpExemption, complaint: Complaint, now: datetime, result: ClosePass) -> None:
    repeat = Complaint.objects.filter(repeat_of=complaint, received_at__gte=row.at).order_by("id").first()
    if repeat is not None or complaint.status not in (Status.REPLIED, Status.FOLLOW_UP):
        FollowUpExemption.objects.filter(pk=row.pk).update(cancelled_at=now)
        body = (_("Automatic close cancelled: repeat complaint %(number)s arrived.") % {"number": repeat.number}
                if repeat is not None else _("Automatic close cancelled: the complaint is no longer awaiting it."))
        timeline.record(complaint, Event.FOLLOW_UP_WAIVED, by=None, at=now, body=body, exemption=row.pk,
                        cancelled=True, repeat=repeat.number if repeat else None)
        result.cancelled.append(complaint.number)
        return
    _check(complaint, "close")
    if complaint.reviewed_at is None or complaint.reviewed_by is None or complaint.reviewed_by.tier < complaint.reviewer_tier:
        raise Conflict(_("A tier-%(tier)d reviewer must sign off before this complaint can be closed.")
                       % {"tier": complaint.reviewer_tier}, field="reviewed_by", code="review_required")
    closure.ensure_closable(complaint, now=now)
    reason = _("The customer declined a follow-up and no repeat complaint arrived (R-FU-4).")
    before = _save(complaint, now, status=Status.CLOSED, closing_reason=reason, closed_at=now)
    timeline.record(complaint, Event.CLOSED, by=None, at=now, body=reason, before=before,
                    after={k: getattr(complaint, k) for k in before}, cause="declined_follow_up", exemption=row.pk)
    FollowUpExemption.objects.filter(pk=row.pk).update(auto_closed_at=now)
    if complaint.gm_copy:
        notify.copy_gm(complaint, by=None, now=now, status=Status.CLOSED)
    deadlines.schedule(complaint, now=now)
    result.closed.append(complaint.number)


# --- the GM meeting agenda (R-FU-3) --------------------------------------------------------


def discuss_agenda_item(item: GmAgendaItem, *, by: User, outcome: str, now: datetime | None = None) -> GmAgendaItem:
    """The GM meeting discussed a complaint on its agenda; the outcome goes on its timeline."""
    now = now or timezone.now()
    text = clean_text(outcome or "")
    if not text:
        raise Invalid(_("%(label)s is required.") % {"label": _("Meeting outcome")}, field="outcome")
    if by.role not in {"gm", "gm_office"} and not by.is_superuser:
        raise Forbidden(_("Only the GM or the GM office records the meeting’s outcome."))
    with transaction.atomic():
        claimed = GmAgendaItem.objects.filter(pk=item.pk, discussed_at=None).update(
            discussed_at=now, discussed_by=by, outcome=text)
        if claimed != 1:
            raise Conflict(_("This agenda item has already been discussed."), field="id", code="already_discussed")
        timeline.record(item.complaint, Event.NOTE_ADDED, by=by, at=now, body=text, agenda_item=item.pk)
    item.refresh_from_db()
    return item
