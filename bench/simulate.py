"""What the complaint actions write, computed without the database.

``simulate(plan)`` returns the complaint's fields, its timeline events and its deadline rows
as ``actions.register`` and then ``accept``, ``investigate``, ``reply``,
``report_platform_result``, ``review`` and ``close`` write them, each step at its planned time
(``deadlines.schedule`` after each, R-SLA-*). It mirrors those functions for the paths the
generator takes and nothing else; ``kesu/complaints/tests/test_bench.py`` runs the real actions
on generated plans and compares every row, so a change to the actions that this file does not
follow fails there.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kesu.complaints.actions import hash_lookup_code
from kesu.complaints.models import Channel, Event, Status, Visibility
from kesu.complaints.routing import handler_tier, review_tier
from kesu.org.models import User
from kesu.sla import deadlines as sla
from kesu.sla.calendar import BusinessCalendar
from kesu.sla.models import DeadlineKind, Policy

if TYPE_CHECKING:
    from .org import Org
    from .plan import Plan

K = DeadlineKind
# The order in which ``deadlines._wanted`` creates a new complaint's rows.
ROW_ORDER = tuple(k.value for k in (K.FIRST_CONTACT, K.CONTACT_AGAIN, K.RESOLUTION, K.REPLY,
                                    K.CLOSE, K.PROGRESS, K.PLATFORM_RESULT))
TWELVE_315 = Channel.TRANSFER_12315.value


class Limit:
    """``deadlines.due_after`` for one policy, its lengths computed once."""

    __slots__ = ("calendar", "full", "policy", "warn", "working")

    def __init__(self, policy: Policy, calendar: BusinessCalendar) -> None:
        self.policy, self.calendar, self.working = policy, calendar, policy.working
        length = sla.length_of(policy, calendar)
        self.full, self.warn = length * 1.0, length * sla.WARN_FRACTION

    def due(self, start: datetime) -> datetime:
        return self.calendar.add(start, self.full) if self.working else start + self.full

    def warn_at(self, start: datetime) -> datetime:
        return self.calendar.add(start, self.warn) if self.working else start + self.warn


def row_kinds(policies: dict[str, Limit], channel: str) -> list[str]:
    """The kinds of row a new complaint gets, in creation order."""
    return [k for k in ROW_ORDER if k in policies and (k != K.PLATFORM_RESULT or channel == TWELVE_315)]


def plain(value: Any) -> Any:
    """``timeline._plain``: ids and codes, ISO times."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


# Complaint attribute -> the name the actions use for it in timeline diffs.
_DIFF_NAMES = {"owner_id": "owner", "reviewer_id": "reviewer", "reviewed_by_id": "reviewed_by"}
# Enum values looked up once (each ``Event.X.value`` is a descriptor call).
REGISTERED, ACCEPTED, INVESTIGATING, REPLIED, CLOSED = (
    s.value for s in (Status.REGISTERED, Status.ACCEPTED, Status.INVESTIGATING, Status.REPLIED, Status.CLOSED))
E_REGISTERED, E_REPEAT, E_ROUTED, E_GM, E_ACCEPTED, E_INVESTIGATED, E_REPLIED, E_PLATFORM, E_REVIEWED, \
    E_CLOSED = (e.value for e in (
        Event.REGISTERED, Event.REPEAT_LINKED, Event.ROUTED, Event.GM_COPIED, Event.ACCEPTED,
        Event.INVESTIGATION_STARTED, Event.REPLIED, Event.PLATFORM_RESULT_REPORTED, Event.REVIEWED,
        Event.CLOSED))
INTERNAL, CUSTOMER = Visibility.INTERNAL.value, Visibility.CUSTOMER.value
FIRST_CONTACT, CONTACT_AGAIN, RESOLUTION, REPLY, CLOSE, PROGRESS, PLATFORM_RESULT = ROW_ORDER
EMPTY: dict = {}  # shared by events without a diff or data; never mutated

Event_ = tuple[str, int, datetime, str, str, dict, dict, dict]


def simulate(p: Plan, *, org: Org, route_reason: str,
             lookup_code: str | None) -> tuple[dict[str, Any], list[Event_], list[dict[str, Any]]]:
    """(complaint fields, events, deadline rows) for ``p``. The ids of its customer and of the
    complaint it repeats must be known; its own ids are set by the caller."""
    by: User = p.recorder
    by_id = by.id
    t0, received = p.registered, p.received
    level, category = p.level, p.category
    c: dict[str, Any] = {
        "number": p.number, "version": 1, "status": REGISTERED, "held_from": "",
        "level": level, "category_id": category.id,
        "suggested_category_id": p.suggested_category.id if p.suggested_category else None,
        "suggested_level": p.suggested_level, "channel": p.channel, "customer_id": p.customer_id,
        "customer_name": p.customer_name, "anonymous": p.anonymous, "contact_phone": p.phone,
        "other_contact": p.other_contact, "address": p.address,
        "complainant_type": p.complainant_type, "summary": p.summary, "description": p.description,
        "product": p.product, "lot_number": p.lot_number(), "order_number": p.order_number,
        "quantity": p.quantity, "defective_quantity": None, "delivery_date": p.delivery_date(),
        "store": p.store, "region": p.region, "purchase_amount": p.purchase_amount,
        "demand": p.demand, "demand_detail": p.demand_detail, "foreign": p.foreign,
        "received_at": received, "registered_at": t0, "recorded_by_id": by_id,
        "first_responder_id": by_id, "owner_id": by_id, "reviewer_id": None, "unit_id": p.unit.id,
        "repeat_of_id": p.repeat_of.id if p.repeat_of is not None else None,
        "merged_into_id": None, "gm_copy": False, "bounce_flag": False, "transfer_count": 0,
        "valid": None, "company_responsible": None, "validity_reason": "", "resolution": "",
        "resolution_amount": None, "reviewed_by_id": None, "reviewed_at": None,
        "accepted_at": None, "replied_at": None, "closed_at": None, "closing_reason": "",
        "platform_result_at": None, "lookup_code_hash": None, "updated_at": t0,
    }
    # (kind, actor id, at, visibility, body, before, after, data), as ``timeline.record`` writes them.
    events: list[Event_] = []

    def save(at: datetime, fields: dict[str, Any], *, bump: bool = True) -> dict[str, Any]:
        """``actions._save``: the old values of the fields that change; bumps the version.
        ``bump=False``: set with the registration's own INSERT (``actions._register``)."""
        before = {k: c[k] for k in fields if c[k] != fields[k]}
        c.update(fields)
        c["version"] += 1 if bump else 0
        c["updated_at"] = at
        return before

    # 1. register (R-IN-2…R-IN-8): the event, the repeat link, level routing, the GM copy.
    events.append((E_REGISTERED, by_id, t0, INTERNAL, "", EMPTY, {
        "status": REGISTERED, "level": level, "category": category.code, "channel": p.channel,
        "owner": by_id,
    }, {"suggested_category": p.suggested_category.code if p.suggested_category else None,
        "suggested_level": p.suggested_level, "matched_keywords": p.matched,
        "level_raised_by": p.reasons}))
    if p.repeat_of is not None:
        events.append((E_REPEAT, by_id, t0, INTERNAL, "", EMPTY, EMPTY, {"repeat_of": p.repeat_of.number}))
    changes: dict[str, int] = {}
    need = handler_tier(level)
    if by.tier < need:  # R-RT-2: levels 2 and 3 go to tier 2 at once
        target = org.nearest(p.unit, need)
        if target is not None and target.id != by_id:
            changes["owner_id"] = target.id
    found = org.nearest(p.unit, review_tier(level))
    if found is not None:
        changes["reviewer_id"] = found.id
    owner_id = changes.get("owner_id", by_id)
    reviewer_id = changes.get("reviewer_id")
    if changes:
        before = save(t0, changes, bump=False)
        events.append((E_ROUTED, by_id, t0, INTERNAL, route_reason,
                       {_DIFF_NAMES[k]: v for k, v in before.items()},
                       {_DIFF_NAMES[k]: v for k, v in changes.items() if k in before}, {"level": level}))
    gm_copy = level == 3 or category.is_claim or category.is_batch  # R-RT-3
    if gm_copy:
        save(t0, {"gm_copy": True}, bump=False)
        events.append((E_GM, by_id, t0, INTERNAL, "", EMPTY, EMPTY,
                       {"level": level, "category": category.code}))

    rows: list[dict[str, Any]] = []
    by_kind: dict[str, dict[str, Any]] = {}
    policies = p.policies
    for kind in row_kinds(policies, p.channel):
        limit = policies[kind]
        row = {"kind": kind, "ref": "", "policy_id": limit.policy.id, "working": limit.working,
               "started_at": received, "due_at": limit.due(received), "warn_at": limit.warn_at(received),
               "met_at": None, "cancelled_at": None, "paused_at": None, "warned_at": None,
               "breached_at": None, "escalate_at": None, "escalated_at": None, "created_at": t0}
        rows.append(row)
        by_kind[kind] = row

    def meet(kind: str, at: datetime) -> None:
        row = by_kind.get(kind)
        if row is not None and row["met_at"] is None and row["cancelled_at"] is None:
            row["met_at"] = at

    def step(kind: str, actor_id: int, at: datetime, body: str, target: str | None,
             visibility: str, fields: dict[str, Any]) -> None:
        """``actions._step``: the change, its event and, on a status change, the GM copy."""
        if target is not None:
            fields["status"] = target
        before = save(at, fields)
        events.append((kind, actor_id, at, visibility, body,
                       {_DIFF_NAMES.get(k, k): plain(v) for k, v in before.items()},
                       {_DIFF_NAMES.get(k, k): plain(fields[k]) for k in before}, EMPTY))
        if gm_copy and target is not None:
            events.append((E_GM, actor_id, at, INTERNAL, "", EMPTY, EMPTY, {"status": target}))

    # 2. the handling steps, each followed by ``deadlines.schedule``.
    accept_note, investigate_note, platform_text, review_note, close_reason = p.notes
    for name, at in p.step_times():
        if name == "accept":
            step(E_ACCEPTED, owner_id, at, accept_note, ACCEPTED, INTERNAL, {"accepted_at": at})
            meet(FIRST_CONTACT, at)  # R-SLA-1
            progress = by_kind.get(PROGRESS)
            if progress is not None and progress["met_at"] is None and progress["cancelled_at"] is None:
                limit = policies[PROGRESS]  # R-SLA-7: the contact starts the next period
                progress.update(started_at=at, due_at=limit.due(at), warn_at=limit.warn_at(at))
        elif name == "investigate":
            step(E_INVESTIGATED, owner_id, at, investigate_note, INVESTIGATING, INTERNAL, {})
        elif name == "reply":
            step(E_REPLIED, owner_id, at, p.reply, REPLIED, CUSTOMER, {"replied_at": at})
            meet(CONTACT_AGAIN, at)
            meet(RESOLUTION, at)
            meet(REPLY, at)
            progress = by_kind.get(PROGRESS)
            if progress is not None and progress["met_at"] is None and progress["cancelled_at"] is None:
                progress["cancelled_at"] = at  # no progress updates are owed once replied
        elif name == "platform":  # R-SLA-11: not a transition, so no GM copy
            before = save(at, {"platform_result_at": at})
            events.append((E_PLATFORM, owner_id, at, INTERNAL, platform_text,
                           {k: plain(v) for k, v in before.items()},
                           {"platform_result_at": at.isoformat()}, EMPTY))
            meet(PLATFORM_RESULT, at)
        elif name == "review":
            assert reviewer_id is not None
            step(E_REVIEWED, reviewer_id, at, review_note, None, INTERNAL,
                 {"reviewed_by_id": reviewer_id, "reviewed_at": at})
        elif name == "close":
            step(E_CLOSED, owner_id, at, close_reason, CLOSED, INTERNAL,
                 {"closing_reason": close_reason, "closed_at": at})
            for row in rows:  # the overall limit, and anything else still open, is met
                meet(row["kind"], at)
    if lookup_code is not None:
        c["lookup_code_hash"] = hash_lookup_code(p.number, lookup_code)
    return c, events, rows


def latest_due(p: Plan, *, org: Org) -> datetime | None:
    """When the last of ``p``'s open rows falls due (None: it has none)."""
    _c, _events, rows = simulate(p, org=org, route_reason="", lookup_code=None)
    open_rows = [r["due_at"] for r in rows if r["met_at"] is None and r["cancelled_at"] is None]
    return max(open_rows, default=None)


