"""Permission-checked lookups and named list queries for complaints."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import (
    CharField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
)
from django.db.models.expressions import RawSQL
from django.db.models.lookups import StartsWith
from django.utils.translation import gettext as _

from kesu.lib.errors import Invalid, NotFound
from kesu.lib.phones import InvalidPhone, normalize_phone
from kesu.lib.statements import Shaped, Slot, Statement, id_slot, id_slots, id_values
from kesu.org.directory import Directory, seen_by
from kesu.org.models import Unit, User
from kesu.sla.models import Deadline

from .models import Attachment, Category, Complaint, Level, TimelineEvent, Transfer, Visibility
from .search import filter_text, newest_first

# Each unit with whether the user belongs to it, for the units at or below one of theirs.
_SCOPE = Statement(lambda: Unit.objects.annotate(
    own=Exists(User.units.through.objects.filter(user_id=id_slot("user"), unit_id=OuterRef("pk"))),
).filter(Exists(Unit.objects.filter(members=id_slot("user")).filter(
    StartsWith(ExpressionWrapper(OuterRef("path"), output_field=CharField()), F("path"))))).only("id").order_by())


def unit_scope(user: User) -> tuple[list[int], list[int]]:
    """(the ids of the user's units and all their sub-units, the ids of the user's own units):
    from the organisation the process keeps when the user was read with the signature
    (kesu/org/directory.py), else read once per user object, in one statement compiled once
    (kesu/lib/statements.py). Ids
    rather than a join on the unit's path: the planner prices every join of a list or lookup
    again on each request, and at a million complaints the joins cost more to plan than the
    query took to run (docs/performance.md)."""
    known = seen_by(user)
    if known is not None:  # no statement at all: the organisation as the process keeps it
        return known.scope(user.pk)
    cached = getattr(user, "_kesu_unit_scope", None)
    if cached is None:
        units = _SCOPE.rows(user=user.pk)
        cached = ([u.pk for u in units], [u.pk for u in units if u.own])
        user._kesu_unit_scope = cached  # type: ignore[attr-defined]
    return cached


def _scope(user_id: int, below: list[int], own: list[int]) -> Q:
    scope = Q(owner_id=user_id) | Q(first_responder_id=user_id) | Q(reviewer_id=user_id)
    if below:
        scope |= Q(unit_id__in=below)
    if own:
        scope |= Q(Exists(Transfer.objects.filter(complaint=OuterRef("pk"), to_unit_id__in=own)))
    return scope


def visible_to(user: User) -> QuerySet[Complaint]:
    """R-AX-1: the complaints of the user's units and their sub-units, those they handle or
    first responded to, and those transferred to their units. Org-wide roles see all."""
    qs = Complaint.objects.all()
    if user.sees_everything:
        return qs
    below, own = unit_scope(user)
    return qs.filter(_scope(user.pk, below, own))


def can_see(user: User, complaint: Complaint) -> bool:
    """``visible_to`` for one complaint in hand, without asking the database again unless
    only a transfer could make it visible."""
    if user.sees_everything or user.pk in (complaint.owner_id, complaint.first_responder_id, complaint.reviewer_id):
        return True
    below, own = unit_scope(user)
    if complaint.unit_id in below:
        return True
    return bool(own) and Transfer.objects.filter(complaint=complaint, to_unit_id__in=own).exists()


# The staff a complaint names; read in one query per page instead of one join each.
PEOPLE = ("owner", "first_responder", "recorded_by", "reviewer", "reviewed_by")


# One complaint's people, by how many different people it names.
_PEOPLE = Shaped(lambda count: User.objects.filter(pk__in=id_slots("user", count)))


def attach_people(complaints: list[Complaint], fields: tuple[str, ...] = PEOPLE, *,
                  known: Directory | None = None) -> None:
    """Fill the complaints' user fields from the organisation ``known`` to the request
    (``directory.seen_by``), else from one query over the users they name."""
    ids = {getattr(c, f"{f}_id") for c in complaints for f in fields} - {None}
    if known is not None and ids <= known.users.keys():
        users = known.users
    elif not ids:
        users = {}
    elif len(ids) <= len(PEOPLE):  # one complaint's people: compiled once
        users = {u.pk: u for u in _PEOPLE.rows((len(ids),), **id_values("user", list(ids)))}
    else:
        users = User.objects.in_bulk(ids)
    for c in complaints:
        for f in fields:
            user_id = getattr(c, f"{f}_id")
            if user_id is not None:
                setattr(c, f, users[user_id])


def _deadline_values() -> RawSQL:
    """The complaint's live deadline rows as the four values a row shows, and its id, in a
    JSON array of arrays (text), read with the complaint instead of by a statement of their
    own (``present.deadline_rows``). Each database has its own JSON functions."""
    q = connection.ops.quote_name
    table, outer = q(Deadline._meta.db_table), f"{q(Complaint._meta.db_table)}.{q('id')}"
    values = ", ".join(q(c) for c in ("id", "kind", "due_at", "met_at", "paused_at"))
    where = f"{q('complaint_id')} = {outer} AND {q('cancelled_at')} IS NULL"
    if connection.vendor == "postgresql":
        sql = f"(SELECT json_agg(json_build_array({values}))::text FROM {table} WHERE {where})"
    else:
        sql = f"(SELECT json_group_array(json_array({values})) FROM {table} WHERE {where})"
    return RawSQL(sql, (), output_field=TextField())


# ``has_attachments`` spares most complaints a round trip for the attachments they do not have.
_BY_NUMBER = Statement(lambda: Complaint.objects.select_related("category", "customer", "unit")
                       .annotate(has_attachments=Exists(Attachment.objects.filter(complaint=OuterRef("pk"))),
                                 deadline_values=_deadline_values())
                       .filter(number=Slot("number")).order_by()[:1])


def access_complaint(user: User, number: str, *, for_update: bool = False) -> Complaint:
    """The complaint ``number`` if ``user`` may see it. A complaint they may not see is
    reported as not found, so numbers cannot be probed."""
    # Two small tables joined, the people read by id, visibility checked on the row in hand:
    # joined to the four user columns and filtered by the scope, PostgreSQL spent 4–9 ms
    # planning a lookup it ran in 0.2 ms (docs/performance.md).
    if for_update:
        complaint = (Complaint.objects.select_related("category", "customer", "unit")
                     .select_for_update(of=("self",)).filter(number=number).first())
    else:  # every read of one complaint: compiled once (kesu/lib/statements.py)
        complaint = _BY_NUMBER.first(number=number)
    if complaint is None or not can_see(user, complaint):
        raise NotFound(_("Complaint %(number)s was not found.") % {"number": number}, field="number")
    attach_people([complaint], known=seen_by(user))
    return complaint


def transfer_unit(code: str, *, field: str = "to_unit") -> Unit:
    """The active unit ``code`` names, for a transfer or a finding of responsibility; the API
    and the pages share it. An unknown code is an error on ``field``."""
    unit = Unit.objects.filter(code=code, active=True).first()
    if unit is None:
        raise Invalid(_("Unknown unit “%(code)s”.") % {"code": code}, field=field)
    return unit


def transfer_user(username: str | None, *, field: str = "to_user") -> User | None:
    """The member of staff a transfer hands over to (or a CAPA action is given to), if one is
    named (never a system account). An unknown name is an error on ``field``."""
    if not username:
        return None
    user = User.objects.staff().filter(username=username).first()
    if user is None:
        raise Invalid(_("Unknown user “%(username)s”.") % {"username": username}, field=field)
    return user


def overdue(qs: QuerySet[Complaint], now: datetime) -> QuerySet[Complaint]:
    from kesu.sla.models import Deadline

    return qs.filter(Exists(Deadline.objects.filter(
        complaint=OuterRef("pk"), met_at=None, cancelled_at=None, paused_at=None, due_at__lt=now
    )))


def customer_visible_events(complaint: Complaint) -> QuerySet[TimelineEvent]:
    """R-WF-3: what the customer may read about their complaint — customer-visible messages
    and replies only, never internal notes or forms."""
    return complaint.events.filter(visibility=Visibility.CUSTOMER).order_by("id")


_overdue = overdue  # filter_complaints' ``overdue`` parameter shadows the function


def _phone_number(phone: str) -> str:
    try:
        return normalize_phone(phone)
    except InvalidPhone:
        raise Invalid(_("“%(phone)s” is not a valid phone number.") % {"phone": phone}, field="phone") from None


def filter_complaints(
    qs: QuerySet[Complaint], *, now: datetime, state: list[str] | None = None,
    level: list[int] | None = None, category: str | None = None, channel: list[str] | None = None,
    unit: str | None = None, owner: str | None = None, overdue: bool | None = None,
    received_from: datetime | None = None, received_to: datetime | None = None,
    q: str | None = None, phone: str | None = None,
) -> QuerySet[Complaint]:
    """The list filters shared by the API and the workbench queues, so both narrow the same
    way. Unknown codes raise Invalid with the parameter's name as ``field``."""
    if state:
        qs = qs.filter(status__in=state)
    if level:
        if any(lv not in Level.values for lv in level):
            raise Invalid(_("Level must be 1, 2 or 3."), field="level")
        qs = qs.filter(level__in=level)
    if category:
        found = Category.objects.filter(code=category).first()
        if found is None:
            raise Invalid(_("Unknown category “%(code)s”.") % {"code": category}, field="category")
        # The whole subtree: admins may nest categories deeper than the default two levels.
        ids, frontier = {found.pk}, [found.pk]
        while frontier:
            frontier = list(Category.objects.filter(parent_id__in=frontier).exclude(pk__in=ids)
                            .values_list("pk", flat=True))
            ids.update(frontier)
        qs = qs.filter(category_id__in=ids)
    if channel:
        qs = qs.filter(channel__in=channel)
    if unit:
        found_unit = Unit.objects.filter(code=unit).first()
        if found_unit is None:
            raise Invalid(_("Unknown unit “%(code)s”.") % {"code": unit}, field="unit")
        qs = qs.filter(unit__path__startswith=found_unit.path)
    if owner:
        qs = qs.filter(owner__username=owner)
    if overdue:
        qs = _overdue(qs, now)
    if received_from:
        qs = qs.filter(received_at__gte=received_from)
    if received_to:
        qs = qs.filter(received_at__lt=received_to)
    if phone:
        qs = qs.filter(contact_phone=_phone_number(phone))
    if q:
        qs = filter_text(qs, q)
    return qs


@dataclass
class Page:
    rows: list[Complaint]
    next_cursor: str | None


# Orders a list can take: each ends on id, so a cursor names one position exactly.
SORTS: dict[str, tuple[str, ...]] = {
    "-id": ("-id",),  # newest registered first (the default)
    "id": ("id",),
    "-received_at": ("-received_at", "-id"),
    "received_at": ("received_at", "id"),
    "-level": ("-level", "-id"),  # most serious first
}


def _cursor_values(order: tuple[str, ...], row: Complaint) -> list[Any]:
    values = [getattr(row, key.lstrip("-")) for key in order]
    return [v.isoformat() if isinstance(v, datetime) else v for v in values]


def decode_cursor(value: str | None, order: tuple[str, ...] = SORTS["-id"]) -> list[Any] | None:
    if not value:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(value.encode()).decode())
        if not isinstance(values, list) or len(values) != len(order):
            raise ValueError(value)
        out: list[Any] = []
        for key, v in zip(order, values, strict=True):
            if key.lstrip("-") == "received_at":
                out.append(datetime.fromisoformat(v))
            elif isinstance(v, int) and not isinstance(v, bool):
                out.append(v)
            else:
                raise ValueError(v)
        return out
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error):
        raise Invalid(_("The cursor is not valid; start again from the first page."), field="cursor") from None


def _after(order: tuple[str, ...], values: list[Any]) -> Q:
    """Rows after the cursor in ``order``: (k1, k2) after (v1, v2) means k1 beyond v1, or k1
    equal and k2 beyond v2 — a range each index can seek to."""
    condition = Q()
    for i, key in enumerate(order):
        name = key.lstrip("-")
        step = Q(**{f"{name}__{'lt' if key.startswith('-') else 'gt'}": values[i]})
        for prior, value in zip(order[:i], values[:i], strict=True):
            step &= Q(**{prior.lstrip("-"): value})
        condition |= step
    return condition


# The columns ``present.list_item`` reads (and the keyset sort keys), all that ``keyset_page``
# loads: a complaint row has some 60 columns, and reading and building all of them for a page
# of 50 was a fifth of a list's time (docs/performance.md).
LIST_COLUMNS = ("number", "version", "status", "level", "category__code", "category__name", "category__name_en",
                "channel", "customer_name", "contact_phone", "summary", "received_at", "owner", "unit__code",
                "unit__name", "gm_copy", "bounce_flag", "repeat_of")


def with_repeat_numbers(qs: QuerySet[Complaint]) -> QuerySet[Complaint]:
    """Each row with ``repeat_of_number``, the number of the complaint it repeats: a subquery
    by primary key for the rows that have one, not a join of a second 60-column complaint row
    per row (present.repeat_number reads it)."""
    earlier = Complaint.objects.filter(pk=OuterRef("repeat_of_id")).values("number")[:1]
    return qs.annotate(repeat_of_number=Subquery(earlier))


def keyset_page(qs: QuerySet[Complaint], cursor: str | None, limit: int, sort: str = "-id", *,
                known: Directory | None = None) -> Page:
    """``limit`` rows in ``sort`` order after ``cursor`` (the sort values of the previous page's
    last row). Keyset, not OFFSET/COUNT: a page costs the same on page 1 and page 10,000 of a
    million rows. The owners come from ``known`` when the request has it (``attach_people``)."""
    order = SORTS.get(sort)
    if order is None:
        raise Invalid(_("Unknown sort order “%(sort)s”.") % {"sort": sort}, field="sort")
    after = decode_cursor(cursor, order)
    if after is not None:
        qs = qs.filter(_after(order, after))
    rows = _list_rows(qs).order_by(*order)
    found = None
    if order == SORTS["-id"]:
        # A text search between common and rare reads the newest through a slice of its index.
        found = newest_first(rows, after[0] if after else None, limit + 1)
    if found is None:
        found = list(rows[: limit + 1])
    return _page(found, order, limit, known)


def _list_rows(qs: QuerySet[Complaint]) -> QuerySet[Complaint]:
    return with_repeat_numbers(qs.only(*LIST_COLUMNS).select_related("category", "unit"))


def _page(rows: list[Complaint], order: tuple[str, ...], limit: int, known: Directory | None) -> Page:
    more = len(rows) > limit
    rows = rows[:limit]
    attach_people(rows, ("owner",), known=known)
    next_cursor = None
    if more:
        raw = json.dumps(_cursor_values(order, rows[-1]), separators=(",", ":")).encode()
        next_cursor = base64.urlsafe_b64encode(raw).decode()
    return Page(rows, next_cursor)


def _by_phone(everything: bool, below: int, own: int, limit: int) -> QuerySet[Complaint]:
    qs = Complaint.objects.filter(contact_phone=Slot("phone"))
    if not everything:
        qs = qs.filter(_scope(id_slot("user"), id_slots("below", below), id_slots("own", own)))
    return _list_rows(qs).order_by(*SORTS["-id"])[: limit + 1]


# The lookup by phone, one statement per shape of the user's scope and page size.
_BY_PHONE = Shaped(_by_phone)


def phone_page(user: User, phone: str, limit: int) -> Page:
    """The first page of ``filter_complaints(visible_to(user), phone=phone)``, newest first:
    the lookup a clerk makes when a customer calls. It is the same query, compiled once per
    shape of the user's scope (kesu/lib/statements.py); compiling it was half its time."""
    number = _phone_number(phone)
    if user.sees_everything:
        rows = _BY_PHONE.rows((True, 0, 0, limit), phone=number)
    else:
        below, own = unit_scope(user)
        rows = _BY_PHONE.rows((False, len(below), len(own), limit), phone=number, user=user.pk,
                              **id_values("below", below), **id_values("own", own))
    return _page(rows, SORTS["-id"], limit, seen_by(user))


def capped_count(qs: QuerySet[Any], cap: int = 99) -> int:
    """At most ``cap + 1``: counts a LIMITed subquery, so a navigation badge never scans a
    whole queue. Callers show "99+" for anything above ``cap``.

    Newest first, like the pages: open, due and overdue complaints are the recent ones, so the
    scan stops after a few hundred rows. Unordered, SQLite and PostgreSQL walked the table from
    its oldest (mostly closed) rows and ran the queue's deadline subquery for each: the overdue
    and due-soon badges took 0.1–0.3 s at 10,000 complaints and grew with the table
    (docs/performance.md, "Served over HTTP")."""
    return qs.order_by("-id")[: cap + 1].count()
