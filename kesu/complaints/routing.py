"""R-RT-1/R-RT-2: who handles and who reviews a complaint of a given level."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models import F

from kesu.lib.statements import Shaped, id_slots, id_values
from kesu.org.models import Role, Unit, User

# Within a tier, prefer the role whose job it is.
_PREFERRED = {2: [Role.MANAGER], 3: [Role.DIRECTOR, Role.GM]}

# (unit id, tier) → user, while a ``memoized()`` block runs (one sweep pass); None outside one.
_memo: ContextVar[dict[tuple[int, int], User | None] | None] = ContextVar("nearest_user_memo", default=None)


@contextmanager
def memoized() -> Iterator[None]:
    """Remember ``nearest_user`` answers inside the block. For a sweep pass, which asks the same
    question for every complaint of a unit and takes seconds: users and units do not change
    during it, and an answer a moment stale routes like a pass started a moment earlier."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def nearest_user(unit: Unit, tier: int) -> User | None:
    """The first active user of exactly ``tier`` found walking up from ``unit`` to the root."""
    return nearest_users(unit, (tier,))[tier]


def nearest_users(unit: Unit, tiers: tuple[int, ...]) -> dict[int, User | None]:
    """``nearest_user`` for several tiers at once, in one query: routing at registration asks
    for a handler and a reviewer of the same unit."""
    memo = _memo.get()
    if memo is None:
        return _nearest_users(unit, tiers)
    missing = tuple(t for t in tiers if (unit.pk, t) not in memo)
    if missing:
        for tier, user in _nearest_users(unit, missing).items():
            memo[(unit.pk, tier)] = user
    return {t: memo[(unit.pk, t)] for t in tiers}


def _nearest_users(unit: Unit, tiers: tuple[int, ...]) -> dict[int, User | None]:
    # The unit's ids up to the root come from its materialised path: one query for the users of
    # the whole chain, nearest unit first.
    chain = [unit.pk, *(int(x) for x in reversed(unit.path.strip("/").split("/")) if x and int(x) != unit.pk)]
    found: dict[tuple[int, int], list[User]] = {}
    users = _USERS_OF.rows((len(chain), tiers), **id_values("unit", chain))
    for user in users:
        found.setdefault((user.tier, user.at_unit), []).append(user)
    return {tier: _first(tier, chain, found) for tier in tiers}


# Every registration asks this: compiled once per shape (the chain's length, the tiers), as
# kesu/lib/statements.py explains; building and compiling it cost more than running it. The
# tiers are fixed in the SQL: there are three, and a tier field takes no stand-in.
_USERS_OF = Shaped(lambda depth, tiers: User.objects.staff()
                   .filter(units__in=id_slots("unit", depth), tier__in=tiers)
                   .annotate(at_unit=F("units")).order_by("id"))


def _first(tier: int, chain: list[int], found: dict[tuple[int, int], list[User]]) -> User | None:
    for node in chain:
        candidates = found.get((tier, node))
        if not candidates:
            continue
        preferred = [u for u in candidates if u.role in _PREFERRED.get(tier, [])]
        return (preferred or candidates)[0]
    return None


def handler_tier(level: int) -> int:
    """Level 1 is handled by tier 1; levels 2 and 3 go at once to tier 2."""
    return 1 if level == 1 else 2


def review_tier(level: int) -> int:
    return 2 if level == 1 else 3
