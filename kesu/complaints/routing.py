"""R-RT-1/R-RT-2: who handles and who reviews a complaint of a given level."""

from __future__ import annotations

from kesu.org.models import Role, Unit, User

# Within a tier, prefer the role whose job it is.
_PREFERRED = {2: [Role.MANAGER], 3: [Role.DIRECTOR, Role.GM]}


def nearest_user(unit: Unit, tier: int) -> User | None:
    """The first active user of exactly ``tier`` found walking up from ``unit`` to the root."""
    chain = [unit, *reversed(unit.ancestors())]
    for node in chain:
        candidates = list(
            User.objects.filter(units=node, tier=tier, is_active=True).order_by("id")
        )
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
