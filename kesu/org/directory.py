"""The organisation kept per process: units, users and who works where.

Every registration reads the clerk's units and the users of its unit's chain to route it, and
every complaint shown names its people. Those rows change a few times a month, so each process
keeps them under ``signature_now()``, which covers them through ``org.Change`` (written by
triggers on the three tables, migration ``org 0003``): a change made anywhere applies from the
next request that reads the signature on.

The instances are shared by every request of the process: read them, never change them. The
users are loaded without ``password`` and ``last_login``, which the triggers do not watch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kesu.lib.revisions import Kept, Signature
from kesu.org.models import Role, Unit, User

# What a kept user carries: everything the triggers watch.
USER_FIELDS = tuple(f.attname for f in User._meta.concrete_fields if f.attname not in ("password", "last_login"))


@dataclass(frozen=True)
class Directory:
    users: dict[int, User]  # every user, former staff and system accounts included
    units: dict[int, Unit]
    units_of: dict[int, list[Unit]]  # a user's units, as ``user.units.all()`` orders them
    # (unit id, tier) → the active staff of that unit and tier, by id: routing's candidates
    staff_at: dict[tuple[int, int], list[User]]
    active_units: dict[str, Unit]  # by code: the units a complaint may be registered to
    gms: list[User]  # the active general managers, by id: copies go to each (R-RT-3)
    _scopes: dict[int, tuple[list[int], list[int]]] = field(default_factory=dict, repr=False, compare=False)

    def scope(self, user_id: int) -> tuple[list[int], list[int]]:
        """``queries.unit_scope``: (the user's units and every unit below them, their own units)."""
        scope = self._scopes.get(user_id)
        if scope is None:
            own = self.units_of.get(user_id, [])
            below = [u.pk for u in self.units.values() if any(u.path.startswith(o.path) for o in own)]
            scope = self._scopes[user_id] = (below, [o.pk for o in own])
        return scope


def _build() -> Directory:
    users = {u.pk: u for u in User.objects.only(*USER_FIELDS).order_by("id")}
    units = {u.pk: u for u in Unit.objects.order_by("path")}
    units_of: dict[int, list[Unit]] = {}
    for user_id, unit_id in User.units.through.objects.values_list("user_id", "unit_id"):
        units_of.setdefault(user_id, []).append(units[unit_id])
    for held in units_of.values():
        held.sort(key=lambda unit: unit.path)
    staff_at: dict[tuple[int, int], list[User]] = {}
    for user in users.values():  # by id
        if user.is_active and not user.is_system:
            for unit in units_of.get(user.pk, ()):
                staff_at.setdefault((unit.pk, user.tier), []).append(user)
    return Directory(users, units, units_of, staff_at, {u.code: u for u in units.values() if u.active},
                     [u for u in users.values() if u.role == Role.GM and u.is_active])


_kept: Kept[Directory] = Kept(_build)


def directory(signature: Signature | None = None) -> Directory:
    """The organisation as of ``signature`` (read now unless the caller read it already)."""
    return _kept.get(signature)


def signature_of(user: User) -> Signature | None:
    """The reference data's signature read with ``user``, if it was: an API token's user
    (``ApiToken.objects.user_for``) and a session's (``backends.SignedModelBackend``) bring it
    along. None for a user read without it."""
    return getattr(user, "signature", None)


def seen_by(user: User) -> Directory | None:
    """The organisation as of the signature read with ``user``, if it was, so the request's
    reads of scope and people need no statement of their own."""
    signature = signature_of(user)
    return None if signature is None else _kept.get(signature)
