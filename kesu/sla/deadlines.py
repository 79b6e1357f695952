"""Creating, satisfying, pausing and recomputing a complaint's deadline rows (SPEC section 4).

Called by the complaint actions inside their transaction, after every change; never by pages
or the API directly. ``schedule`` is idempotent: it derives the rows a complaint should have
from its level, state, transfers and contacts, and brings the stored rows in line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Min

from kesu.complaints.models import Complaint, Event, Status, Transfer
from kesu.lib import inserts
from kesu.lib.revisions import Kept, Signature

from .calendar import BusinessCalendar
from .models import Deadline, DeadlineKind, Market, Policy
from .models.policies import Unit as LengthUnit

K = DeadlineKind
WARN_FRACTION = 0.75  # R-SLA-9: the owner is warned at 75 % of a limit
CONTACT_EVENTS = (Event.ACCEPTED, Event.MESSAGE_SENT, Event.REPLIED)
# States in which the handler still owes the customer progress updates (R-SLA-7).
PROGRESS_STATES = {Status.REGISTERED, Status.ACCEPTED, Status.INVESTIGATING, Status.PROPOSED,
                   Status.AWAITING_APPROVAL, Status.RESOLVING, Status.REOPENED, Status.ON_HOLD}
REPLIED_STATES = {Status.REPLIED, Status.FOLLOW_UP, Status.CLOSED}
# Rows that a new handling round (reopen) owes again.
RENEWED_BY_REOPEN = {K.RESOLUTION, K.REPLY, K.CLOSE}


def length_of(policy: Policy, calendar: BusinessCalendar) -> timedelta:
    if policy.unit == LengthUnit.WORKING_DAYS:
        return calendar.day_length * float(policy.length)
    if policy.unit == LengthUnit.DAYS:
        return timedelta(days=float(policy.length))
    return timedelta(hours=float(policy.length))


def due_after(policy: Policy, start: datetime, calendar: BusinessCalendar, fraction: float = 1.0) -> datetime:
    length = length_of(policy, calendar) * fraction
    return calendar.add(start, length) if policy.working else start + length


# The active policies while a ``policies_memoized()`` block runs (a sweep pass); None outside.
_policies: ContextVar[list[Policy] | None] = ContextVar("active_policies", default=None)
# Outside one: the active policies as of the reference data's signature (kesu/lib/revisions.py).
# In the model's order, as the unmemoized query: it breaks ties between equal policies.
_kept: Kept[list[Policy]] = Kept(lambda: list(Policy.objects.filter(active=True)))


@contextmanager
def policies_memoized() -> Iterator[None]:
    """Read the active policies once for the block (a sweep pass escalates and reschedules
    many complaints). A policy edited during the pass applies from the next change on."""
    # In the model's order, as the unmemoized query: it breaks ties between equal policies.
    token = _policies.set(list(Policy.objects.filter(active=True)))
    try:
        yield
    finally:
        _policies.reset(token)


def active_policies(signature: Signature | None = None) -> list[Policy]:
    """Every active policy, in the model's order (it breaks ties between equal policies).

    Kept per process under the reference data's signature (by default read now, one query): a
    policy saved, updated, added or deleted in any process changes it, so an administrator's
    edit applies from the next change on. ``schedule`` passes the signature it read."""
    memo = _policies.get()
    if memo is not None:
        return memo
    return _kept.get(signature)


def applicable(complaint: Complaint, signature: Signature | None = None) -> dict[str, Policy]:
    """The policy of each kind that applies to the complaint: the most specific match
    (category, then channel, then market), then the shortest."""
    market = Market.FOREIGN if complaint.foreign else Market.DOMESTIC
    category_ids = {complaint.category_id, complaint.category.parent_id} - {None}
    level = complaint.level
    best: dict[str, tuple[tuple[int, float], Policy]] = {}
    for p in active_policies(signature):
        if not p.min_level <= level <= p.max_level:
            continue
        if p.category_id and p.category_id not in category_ids:
            continue
        if p.channel and p.channel != complaint.channel:
            continue
        if p.market != Market.ANY and p.market != market:
            continue
        specificity = 4 * bool(p.category_id) + 2 * bool(p.channel) + (p.market != Market.ANY)
        rank = (-specificity, float(p.hours))
        if p.kind not in best or rank < best[p.kind][0]:
            best[p.kind] = (rank, p)
    return {kind: p for kind, (_rank, p) in best.items()}


@dataclass
class Want:
    kind: str
    ref: str
    policy: Policy
    start: datetime
    met_at: datetime | None = None


def _wanted(complaint: Complaint, policies: dict[str, Policy], now: datetime, *,
            starts: dict[tuple[str, str], datetime], raised_at: datetime | None, new: bool = False) -> list[Want]:
    """The rows the complaint should have now, each with when (if) it was met. ``starts`` are
    the stored rows' starts; ``raised_at`` is when the level was raised, if it was just now."""
    wants: list[Want] = []
    received = complaint.received_at
    contacts = [] if new else list(
        complaint.events.filter(kind__in=CONTACT_EVENTS).order_by("at").values_list("kind", "at")
    )
    last_contact = max((at for _k, at in contacts), default=None)
    replied = complaint.replied_at if complaint.status in REPLIED_STATES else None

    def want(kind: str, start: datetime, met_at: datetime | None = None, ref: str = "") -> None:
        if kind in policies:
            wants.append(Want(kind, ref, policies[kind], start, met_at))

    want(K.FIRST_CONTACT, received, complaint.accepted_at)
    later_contacts = [at for k, at in contacts if k != Event.ACCEPTED]
    # R-SLA-3's "contact again" is owed from the moment the complaint is at level 2 or 3: from
    # receipt for one registered there, from the raise for one escalated there (see schedule);
    # a contact before that moment does not meet it.
    again = starts.get((K.CONTACT_AGAIN, ""), max(received, raised_at) if raised_at else received)
    want(K.CONTACT_AGAIN, again, next((at for at in later_contacts if at >= again), None))
    want(K.RESOLUTION, received, replied)
    want(K.REPLY, received, replied)
    want(K.CLOSE, received, complaint.closed_at if complaint.status == Status.CLOSED else None)
    if complaint.status in PROGRESS_STATES:
        want(K.PROGRESS, last_contact or received)
    if complaint.channel == "12315":
        want(K.PLATFORM_RESULT, received, complaint.platform_result_at)
    # A hand-over to a new handler is not a request for cause and countermeasure.
    for t in [] if new else Transfer.objects.filter(complaint=complaint, new_handler=False).only("id", "at", "answered_at"):
        want(K.ANSWER, t.at, t.answered_at, ref=str(t.pk))
    return wants


def schedule(complaint: Complaint, *, now: datetime, raised: bool = False, new: bool = False,
             signature: Signature | None = None) -> list[Deadline]:
    """Bring the complaint's rows in line with its level, state, transfers and contacts.

    ``raised``: the level has just been raised (escalation, R-WF-5). A limit the new level owes
    and the old one did not (level 2's "contact again") then counts from now, not from receipt:
    otherwise a complaint escalated for a missed limit would owe the new handler something
    already overdue, breached by the next sweep before anyone could act. Limits both levels owe
    keep their start and take the new length, unless already missed (see ``_update``).

    ``new``: the complaint was registered in this transaction, so it has no rows, contacts or
    transfers yet, and nothing need be read to know it. ``signature``: the reference data's,
    if the caller has read it in this transaction. Returns the rows created.
    """
    signature, calendar = BusinessCalendar.load_signed(signature)
    rows = {} if new else {(d.kind, d.ref): d for d in Deadline.objects.filter(complaint=complaint)}
    finished = complaint.status in (Status.MERGED, Status.INVALID)
    closed = complaint.status == Status.CLOSED
    seen: set[tuple[str, str]] = set()
    starts = {key: row.started_at for key, row in rows.items()}
    raised_at = now if raised else None
    new_rows: list[Deadline] = []

    for w in [] if finished else _wanted(complaint, applicable(complaint, signature), now, starts=starts,
                                         raised_at=raised_at, new=new):
        key = (w.kind, w.ref)
        seen.add(key)
        row = rows.get(key)
        if row is None:
            if raised_at is not None and w.start < raised_at:
                w.start = raised_at
            new_rows.append(Deadline(
                complaint=complaint, kind=w.kind, ref=w.ref, policy=w.policy, working=w.policy.working,
                started_at=w.start, due_at=due_after(w.policy, w.start, calendar),
                warn_at=due_after(w.policy, w.start, calendar, WARN_FRACTION), met_at=w.met_at,
                paused_at=now if complaint.status == Status.ON_HOLD and w.met_at is None else None,
                created_at=now,
            ))
            continue
        _update(row, w, complaint, calendar, now)
    # One INSERT for all of them: a registration owes six limits at once.
    inserts.create(new_rows)

    # Rows nothing asks for any more: cancelled (merged, invalid, a rolled-over progress row),
    # or met when the complaint closed.
    for key, row in rows.items():
        if key in seen or not row.is_open or row.kind == K.PROMISED_REPLY:
            continue
        if closed:
            Deadline.objects.filter(pk=row.pk).update(met_at=now, paused_at=None)
        else:
            Deadline.objects.filter(pk=row.pk).update(cancelled_at=now)
    _promised(complaint, rows, now, cancel=finished)
    return new_rows


def _update(row: Deadline, w: Want, complaint: Complaint, calendar: BusinessCalendar, now: datetime) -> None:
    changes: dict[str, object] = {}
    if row.cancelled_at is not None:
        changes["cancelled_at"] = None
    if w.met_at is not None and row.met_at is None:
        changes.update(met_at=w.met_at, paused_at=None)
    elif w.met_at is None and row.met_at is not None and complaint.status == Status.REOPENED \
            and w.kind in RENEWED_BY_REOPEN:
        # A new handling round owes the customer a new resolution, reply and close.
        changes.update(met_at=None, started_at=now, due_at=due_after(w.policy, now, calendar),
                       warn_at=due_after(w.policy, now, calendar, WARN_FRACTION), warned_at=None,
                       breached_at=None, escalate_at=None, escalated_at=None)
    elif row.met_at is None:
        if complaint.status == Status.ON_HOLD:
            if row.paused_at is None:
                changes["paused_at"] = now  # R-SLA-10: the clock stops
        elif row.paused_at is not None:
            changes.update(_resumed(row, calendar, now))
        elif w.kind == K.PROGRESS and w.start != row.started_at:
            # R-SLA-7 rolls: each contact with the customer starts the next period.
            changes.update(started_at=w.start, due_at=due_after(w.policy, w.start, calendar),
                           warn_at=due_after(w.policy, w.start, calendar, WARN_FRACTION),
                           warned_at=None, breached_at=None, escalate_at=None, escalated_at=None)
        elif row.policy_id != w.policy.pk and row.due_at > now and row.breached_at is None:
            # The level (or category, or market) changed: recompute — but a limit already
            # missed stays missed (R-WF-5).
            changes.update(policy=w.policy, working=w.policy.working,
                           due_at=due_after(w.policy, row.started_at, calendar),
                           warn_at=due_after(w.policy, row.started_at, calendar, WARN_FRACTION))
    if changes:
        Deadline.objects.filter(pk=row.pk).update(**changes)


def _resumed(row: Deadline, calendar: BusinessCalendar, now: datetime) -> dict[str, object]:
    """R-SLA-10: the time on hold is given back — in the limit's own kind of time."""
    paused = row.paused_at
    assert paused is not None

    def shift(at: datetime | None) -> datetime | None:
        if at is None or at <= paused:
            return at  # already passed when the clock stopped: stays passed
        if row.working:
            return calendar.add(now, calendar.between(paused, at))
        return at + (now - paused)

    return {"paused_at": None, "due_at": shift(row.due_at), "warn_at": shift(row.warn_at)}


def _promised(complaint: Complaint, rows: dict[tuple[str, str], Deadline], now: datetime, *, cancel: bool) -> None:
    row = rows.get((K.PROMISED_REPLY, ""))
    if row is None or not row.is_open:
        return
    if cancel:
        Deadline.objects.filter(pk=row.pk).update(cancelled_at=now)
        return
    answered = complaint.events.filter(
        kind__in=(Event.MESSAGE_SENT, Event.REPLIED), at__gte=row.started_at
    ).aggregate(first=Min("at"))["first"]
    if answered is not None or complaint.status == Status.CLOSED:
        Deadline.objects.filter(pk=row.pk).update(met_at=answered or now, paused_at=None)


def promise(complaint: Complaint, *, due_at: datetime, now: datetime) -> Deadline:
    """R-SLA-8: a promised reply time becomes a deadline (calendar time, as promised)."""
    length = due_at - now
    row, _created = Deadline.objects.update_or_create(
        complaint=complaint, kind=K.PROMISED_REPLY, ref="",
        defaults={"policy": None, "working": False, "started_at": now, "due_at": due_at,
                  "warn_at": now + length * WARN_FRACTION, "met_at": None, "cancelled_at": None,
                  "paused_at": None, "warned_at": None, "breached_at": None, "escalate_at": None,
                  "escalated_at": None},
    )
    return row
