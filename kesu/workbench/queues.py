"""The handlers' queues (工作台队列): named querysets over ``queries.visible_to``, so a queue can
never show a complaint the user may not open. Each is a plain filter; paging and counting are
done by the caller with ``queries.keyset_page`` and ``queries.capped_count``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from kesu.complaints import queries
from kesu.complaints.models import OPEN, Complaint, Level, Status
from kesu.org.models import Role, User
from kesu.sla.models import Deadline

DUE_SOON = timedelta(hours=24)
# Awaiting a reviewer's sign-off (R-RT-2) until someone of the right tier has reviewed it.
REVIEW_STATES = (Status.REPLIED, Status.FOLLOW_UP, Status.INVALID)


def mine(user: User, now: datetime) -> QuerySet[Complaint]:
    return queries.visible_to(user).filter(owner=user, status__in=OPEN)


def units(user: User, now: datetime) -> QuerySet[Complaint]:
    return queries.visible_to(user).filter(status__in=OPEN)


def _review_parts(user: User) -> list[Q]:
    """What awaits this user's review, one condition per state (they never overlap)."""
    if user.is_read_only or user.tier < 2:
        return []
    # Complaint.reviewer_tier in SQL: level 1 needs tier 2, levels 2 and 3 need tier 3.
    levels = [Level.ONE] if user.tier == 2 else list(Level.values)
    parts = [Q(status=state, level__in=levels, reviewed_at=None) for state in REVIEW_STATES]
    return [*parts, Q(status=Status.AWAITING_APPROVAL)]


def review(user: User, now: datetime) -> QuerySet[Complaint]:
    parts = _review_parts(user)
    if not parts:
        return Complaint.objects.none()
    wanted = Q()
    for part in parts:
        wanted |= part
    return queries.visible_to(user).filter(wanted)


def review_count(user: User, now: datetime, cap: int) -> int:
    """The review badge, state by state: each state is a walk down the (status, -id) index that
    stops at ``cap + 1``. The four states OR'ed in one query made PostgreSQL read every
    complaint in them (25,000 of a million, 50–100 ms) to sort out the newest hundred."""
    visible, total = queries.visible_to(user), 0
    for part in _review_parts(user):
        total += queries.capped_count(visible.filter(part), cap)
        if total > cap:
            break
    return total


def due_soon(user: User, now: datetime) -> QuerySet[Complaint]:
    # Served by the partial index deadline_open_due (due_at where met/cancelled are null).
    rows = Deadline.objects.filter(complaint=OuterRef("pk"), met_at=None, cancelled_at=None, paused_at=None,
                                   due_at__gte=now, due_at__lt=now + DUE_SOON)
    return queries.visible_to(user).filter(Exists(rows))


def overdue(user: User, now: datetime) -> QuerySet[Complaint]:
    return queries.overdue(queries.visible_to(user), now)


def gm_copy(user: User, now: datetime) -> QuerySet[Complaint]:
    return queries.visible_to(user).filter(gm_copy=True, status__in=OPEN)


@dataclass(frozen=True)
class Queue:
    name: str
    label: str
    query: Callable[[User, datetime], QuerySet[Complaint]]
    roles: frozenset[str] | None = None  # None: every user
    # The badge's count where counting ``query`` itself is slow; same number, at most cap + 1.
    counter: Callable[[User, datetime, int], int] | None = None

    def shown_to(self, user: User) -> bool:
        return self.roles is None or user.role in self.roles or user.is_superuser

    def count(self, user: User, now: datetime, cap: int) -> int:
        """At most ``cap + 1`` (``queries.capped_count``): for the navigation badge."""
        if self.counter is not None:
            return self.counter(user, now, cap)
        return queries.capped_count(self.query(user, now), cap)


QUEUES = [
    Queue("mine", _("My complaints"), mine),
    Queue("units", _("My units'"), units),
    Queue("review", _("Awaiting my review"), review, counter=review_count),
    Queue("due_soon", _("Due within 24 h"), due_soon),
    Queue("overdue", _("Overdue"), overdue),
    Queue("gm_copy", _("Copied to me"), gm_copy, frozenset({Role.GM, Role.GM_OFFICE})),
]
BY_NAME = {q.name: q for q in QUEUES}


def for_user(user: User) -> list[Queue]:
    return [q for q in QUEUES if q.shown_to(user)]
