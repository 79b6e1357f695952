"""R-RT-1/R-RT-2: who handles and who reviews a complaint of a given level."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from kesu.lib.revisions import Signature
from kesu.org.directory import Directory, directory
from kesu.org.models import Role, Unit, User

# Within a tier, prefer the role whose job it is.
_PREFERRED = {2: [Role.MANAGER], 3: [Role.DIRECTOR, Role.GM]}

# The organisation read once for a ``memoized()`` block (one sweep pass); None outside one.
_pass: ContextVar[list[Directory] | None] = ContextVar("routing_pass", default=None)


@contextmanager
def memoized() -> Iterator[None]:
    """Route the whole block by the organisation as its first question found it. For a sweep
    pass or an import, which ask for every complaint and take seconds: an answer a moment stale
    routes like a pass started a moment earlier, and saves reading the signature each time."""
    token = _pass.set([])
    try:
        yield
    finally:
        _pass.reset(token)


def nearest_user(unit: Unit, tier: int) -> User | None:
    """The first active user of exactly ``tier`` found walking up from ``unit`` to the root."""
    return nearest_users(unit, (tier,))[tier]


def nearest_users(unit: Unit, tiers: tuple[int, ...], *, signature: Signature | None = None) -> dict[int, User | None]:
    """``nearest_user`` for several tiers at once (routing at registration asks for a handler
    and a reviewer of the same unit), from the organisation kept per process as of
    ``signature`` (read now unless the caller read it in this transaction)."""
    known = _organisation(signature)
    chain = [unit.pk, *(int(x) for x in reversed(unit.path.strip("/").split("/")) if x and int(x) != unit.pk)]
    return {tier: _first(tier, chain, known) for tier in tiers}


def _organisation(signature: Signature | None) -> Directory:
    held = _pass.get()
    if held is None:
        return directory(signature)
    if not held:
        held.append(directory(signature))
    return held[0]


def _first(tier: int, chain: list[int], known: Directory) -> User | None:
    for node in chain:
        candidates = known.staff_at.get((node, tier))
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
