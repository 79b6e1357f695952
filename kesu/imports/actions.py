"""Turning a legacy record into a Kesu complaint, and recording exports (R-AX-2).

A legacy record is not a new registration: it arrived months or years ago, was perhaps closed
long since, and its customer was told whatever they were told then. So ``import_legacy``
reuses registration's checks (contact R-IN-2, summary, category, channel, level rules R-CL-4)
and its numbering (R-IN-4), but:

- the received time is the source's, with no 90-day back-dating limit (it must not lie in the
  future);
- the number's month is the month the complaint was *received* (Asia/Shanghai), so a record of
  April 2019 gets ``TS201904nnnnn``; the legacy number is kept in ``ImportedRecord.source_id``,
  on the timeline and in exports;
- the legacy state is kept: a closed record imports closed, with its close date, its reply
  (a customer-visible ``replied`` event at the reply time) and its closing reason; an open one
  imports in its state, routed to the handler and reviewer its level calls for (R-RT-2);
- no notification is sent (no acknowledgement SMS for a complaint of 2019, no assignment
  message per row) and no repeat detection runs (the legacy system's links are not known);
- deadline rows: none for closed and invalid records (the legacy system's timeliness is not
  Kesu's to judge, and would distort the on-time rates); open records get the policies' rows
  with the clocks starting at the import, when Kesu takes the complaint over — measured from
  the original receipt they would all be breached at once, escalating every open record and
  proposing penalties for the importing clerk.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kesu.complaints import routing, timeline
from kesu.complaints.actions import Intake, _need_text, _require, _validated_contact, intake_details
from kesu.complaints.classification import Catalogue, Suggestion, catalogue, suggest
from kesu.complaints.models import (
    LEVEL_3_CHANNELS,
    Category,
    Channel,
    ComplainantType,
    Complaint,
    Customer,
    Demand,
    Event,
    Level,
    NumberSequence,
    Status,
    TimelineEvent,
    Visibility,
)
from kesu.complaints.numbering import SHANGHAI
from kesu.complaints.permissions import can_register
from kesu.complaints.search import complaint_tokens
from kesu.lib.errors import DomainError, Invalid
from kesu.lib.text import clean_text
from kesu.org.models import Unit, User
from kesu.sla import deadlines

from .models import ExportLog, ImportedRecord, ImportJob

# States a legacy record may arrive in. The others need records Kesu cannot invent (an
# approval request, the state a hold came from, the complaint a duplicate was merged into).
IMPORTABLE = (Status.REGISTERED, Status.ACCEPTED, Status.INVESTIGATING, Status.RESOLVING,
              Status.REPLIED, Status.FOLLOW_UP, Status.CLOSED, Status.INVALID)
NO_DEADLINES = (Status.CLOSED, Status.INVALID)


@dataclass
class LegacyRecord:
    """One row of a legacy file, converted by the mapping."""

    intake: Intake
    source_id: str
    status: str = Status.REGISTERED
    replied_at: datetime | None = None
    reply: str = ""
    closed_at: datetime | None = None
    closing_reason: str = ""

    @classmethod
    def from_values(cls, values: dict[str, Any], *, unit: str | None) -> LegacyRecord:
        intake_fields = set(Intake.__dataclass_fields__) - {"extra"}
        data = {k: v for k, v in values.items() if k in intake_fields and v not in (None, "")}
        data.setdefault("channel", "")
        data.setdefault("summary", "")
        for flag in ("anonymous", "foreign"):
            data[flag] = bool(values.get(flag))
        if not values.get("unit") and unit:
            data["unit"] = unit
        return cls(
            intake=Intake(**data),
            source_id=str(values.get("source_id") or ""),
            status=values.get("status") or Status.REGISTERED,
            replied_at=values.get("replied_at"),
            reply=values.get("reply") or "",
            closed_at=values.get("closed_at"),
            closing_reason=values.get("closing_reason") or "",
        )


@dataclass
class Lookups:
    """What every row of one import asks the database for: asked once per run."""

    units: dict[str, Unit | None] = field(default_factory=dict)
    default_unit: dict[int, Unit | None] = field(default_factory=dict)
    known: Catalogue | None = None

    def _catalogue(self) -> Catalogue:
        # The rules and categories as this process keeps them, checked once per run instead of
        # once per row (reading the rules per row was a third of the import's time).
        if self.known is None:
            self.known = catalogue()
        return self.known

    def suggest(self, text: str) -> Suggestion:
        """R-CL-2 as registration decides it."""
        return suggest(text, known=self._catalogue())

    def category(self, code: str) -> Category | None:
        return self._catalogue().active(code)

    def unit(self, code: str) -> Unit | None:
        if code not in self.units:
            self.units[code] = Unit.objects.filter(code=code, active=True).first()
        return self.units[code]

    def user_unit(self, user: User) -> Unit | None:
        if user.pk not in self.default_unit:
            self.default_unit[user.pk] = user.units.order_by("id").first()
        return self.default_unit[user.pk]


@dataclass
class Checked:
    """A record that passed every check, with what the write needs."""

    record: LegacyRecord
    name: str
    phone: str
    summary: str
    received: datetime
    unit: Unit
    category: Category
    suggested: Any
    level: int
    raised_by: list[str]


def _choice(value: str, choices: Any, field_name: str, label: str) -> None:
    if value and value not in choices.values:
        raise Invalid(_("Unknown %(label)s “%(value)s”; use one of: %(codes)s.")
                      % {"label": label, "value": value, "codes": ", ".join(choices.values)},
                      field=field_name)


def check_legacy(record: LegacyRecord, *, by: User, now: datetime, lookups: Lookups) -> Checked:
    """Every rule a legacy record must pass, without writing anything (``--dry-run`` runs only
    this). Raises Invalid naming the field."""
    _require(can_register(by))
    intake = record.intake
    if not record.source_id:
        raise Invalid(_("The legacy number is required."), field="source_id")
    if intake.channel not in Channel.values:
        raise Invalid(_("Unknown channel “%(channel)s”.") % {"channel": intake.channel}, field="channel")
    name, phone = _validated_contact(intake)
    summary = _need_text(intake.summary, "summary", _("Summary"), limit=200)
    received = intake.received_at
    if received is None:
        raise Invalid(_("The received time is required."), field="received_at")
    if received > now + timedelta(minutes=1):
        raise Invalid(_("The received time cannot be in the future."), field="received_at")
    _choice(intake.complainant_type, ComplainantType, "complainant_type", _("complainant type"))
    _choice(intake.demand, Demand, "demand", _("demand"))
    if record.status not in IMPORTABLE:
        raise Invalid(_("A complaint cannot be imported in the state “%(status)s”; map it to one of: %(states)s.")
                      % {"status": record.status, "states": ", ".join(IMPORTABLE)}, field="status")
    if record.status == Status.CLOSED and record.closed_at is None:
        raise Invalid(_("A closed record needs its close date."), field="closed_at")
    for field_name, moment in (("replied_at", record.replied_at), ("closed_at", record.closed_at)):
        if moment is not None and moment < received:
            raise Invalid(_("%(field)s is earlier than the received time.") % {"field": field_name},
                          field=field_name)
    if intake.unit:
        unit = lookups.unit(intake.unit)
        if unit is None:
            raise Invalid(_("Unknown unit “%(code)s”.") % {"code": intake.unit}, field="unit")
    else:
        unit = lookups.user_unit(by)
        if unit is None:
            raise Invalid(_("You belong to no unit; ask an administrator to add you to one."), field="unit")
    if intake.level is not None and intake.level not in Level.values:
        raise Invalid(_("Level must be 1, 2 or 3."), field="level")

    # R-CL-2: the keyword rules suggest what the source does not say.
    suggestion = None
    if not intake.category or intake.level is None:
        suggestion = lookups.suggest(f"{summary} {intake.description} {intake.product} {intake.demand_detail}")
    if intake.category:
        category = lookups.category(intake.category)
        if category is None:
            raise Invalid(_("Unknown category “%(code)s”.") % {"code": intake.category}, field="category")
    else:
        category = (suggestion.category if suggestion else None) or lookups.category("other")
        assert category is not None, "the default category 'other' was deleted"

    # R-CL-3/R-CL-4: the source's level (or the suggestion), raised by category and channel.
    level = intake.level or (suggestion.level if suggestion else None) or Level.ONE
    raised: list[str] = []
    if category.default_level > level:
        level, raised = category.default_level, [*raised, "category"]
    if intake.channel in LEVEL_3_CHANNELS and level < Level.THREE:
        level, raised = Level.THREE, [*raised, "channel"]
    return Checked(record, name, phone, summary, received, unit, category, suggestion, level, raised)


def import_legacy(
    record: LegacyRecord, *, by: User, job: ImportJob, row: int, now: datetime, lookups: Lookups,
) -> Complaint:
    """Create the complaint of one legacy record, all or nothing (see the module docstring)."""
    done, failed = import_legacy_batch([(row, record)], by=by, job=job, now=now, lookups=lookups)
    if failed:
        raise failed[0][1]
    return done[0][1]


def import_legacy_batch(
    items: list[tuple[int, LegacyRecord]], *, by: User, job: ImportJob, now: datetime, lookups: Lookups,
) -> tuple[list[tuple[int, Complaint]], list[tuple[int, DomainError]]]:
    """Import many records, each all or nothing; return (row, complaint) for those imported and
    (row, error) for those refused.

    1. Every record is checked first, writing nothing; a refused record is left out.
    2. The rest are written together — customers, numbers (one sequence update per month),
       complaints, imported records and timeline events each in one INSERT — in a savepoint.
    3. Should that fail (another process imported the same legacy number or created the same
       customer meanwhile), the savepoint is rolled back and the records are written one by
       one, each in its own savepoint, so only the row that clashes is refused.
    """
    checked: list[tuple[int, Checked]] = []
    failed: list[tuple[int, DomainError]] = []
    for row, record in items:
        try:
            checked.append((row, check_legacy(record, by=by, now=now, lookups=lookups)))
        except DomainError as exc:
            failed.append((row, exc))
    if not checked:
        return [], failed
    try:
        with transaction.atomic():
            return list(zip([r for r, _c in checked], _write(checked, by=by, job=job, now=now))), failed
    except IntegrityError:
        if len(checked) == 1:
            row, one = checked[0]
            failed.append((row, Invalid(
                _("Legacy number %(id)s was imported by another run at the same time; run the import again.")
                % {"id": one.record.source_id}, field="source_id")))
            return [], failed
    done: list[tuple[int, Complaint]] = []
    for item in checked:
        try:
            with transaction.atomic():
                done.append((item[0], _write([item], by=by, job=job, now=now)[0]))
        except IntegrityError:
            failed.append((item[0], Invalid(
                _("Legacy number %(id)s was imported by another run at the same time; run the import again.")
                % {"id": item[1].record.source_id}, field="source_id")))
    return done, failed


def _reserve_numbers(received: list[datetime]) -> list[str]:
    """R-IN-4 numbers for complaints received at ``received``: one UPSERT per month takes a
    block of serials (the same sequence row live intake uses, so the two never collide)."""
    months = [r.astimezone(SHANGHAI).strftime("%Y%m") for r in received]
    wanted = Counter(months)
    table = NumberSequence._meta.db_table
    first: dict[str, int] = {}
    with connection.cursor() as cursor:
        for month, count in sorted(wanted.items()):
            cursor.execute(
                f"INSERT INTO {table} (month, last) VALUES (%s, %s) "
                f"ON CONFLICT (month) DO UPDATE SET last = {table}.last + %s RETURNING last",
                [month, count, count],
            )
            last = cursor.fetchone()[0]
            if last > 99999:
                raise OverflowError(f"more than 99999 complaints in {month}")  # see numbering.py
            first[month] = last - count + 1
    numbers = []
    for month in months:
        numbers.append(f"TS{month}{first[month]:05d}")
        first[month] += 1
    return numbers


def _write(checked: list[tuple[int, Checked]], *, by: User, job: ImportJob, now: datetime) -> list[Complaint]:
    # Customers, deduplicated by phone within the batch and against those already stored.
    phones = {c.phone: c for _row, c in checked if c.phone}
    customers = {cu.phone: cu for cu in Customer.objects.filter(phone__in=list(phones))}
    new = [Customer(phone=p, name=c.name, address=clean_text(c.record.intake.address), created_at=now)
           for p, c in phones.items() if p not in customers]
    for customer in Customer.objects.bulk_create(new):
        customers[customer.phone] = customer
    numbers = _reserve_numbers([c.received for _row, c in checked])

    complaints: list[Complaint] = []
    for (_row, c), number in zip(checked, numbers):
        record, intake, status = c.record, c.record.intake, c.record.status
        owner, reviewer = by, None
        if status not in NO_DEADLINES:
            # R-RT-2: an open record goes to the handler its level calls for, as at registration.
            need = routing.handler_tier(c.level)
            if by.tier < need:
                owner = routing.nearest_user(c.unit, need) or by
            reviewer = routing.nearest_user(c.unit, routing.review_tier(c.level))
        replied_at = record.replied_at
        if replied_at is None and status in (Status.REPLIED, Status.FOLLOW_UP):
            replied_at = record.closed_at or c.received
        complaint = Complaint(
            number=number,
            status=status,
            level=c.level,
            category=c.category,
            suggested_category=c.suggested.category if c.suggested else None,
            suggested_level=c.suggested.level if c.suggested else None,
            channel=intake.channel,
            customer=customers.get(c.phone) if c.phone else None,
            customer_name=c.name,
            anonymous=intake.anonymous,
            contact_phone=c.phone,
            complainant_type=intake.complainant_type or ComplainantType.CONSUMER,
            summary=c.summary,
            description=clean_text(intake.description),
            **intake_details(intake),
            received_at=c.received,
            registered_at=now,
            recorded_by=by,
            first_responder=by,
            owner=owner,
            reviewer=reviewer,
            unit=c.unit,
            accepted_at=c.received if status != Status.REGISTERED else None,
            replied_at=replied_at,
            closed_at=record.closed_at if status == Status.CLOSED else None,
            closing_reason=clean_text(record.closing_reason) if status == Status.CLOSED else "",
            updated_at=now,
        )
        complaint.search_tokens = complaint_tokens(complaint)
        complaints.append(complaint)
    # One INSERT; both databases return the new ids (RETURNING), and the search index's
    # triggers (SQLite FTS5) fire per row as for a single save.
    Complaint.objects.bulk_create(complaints)

    records, events = [], []
    for (row, c), complaint in zip(checked, complaints):
        record, status = c.record, c.record.status
        records.append(ImportedRecord(source=job.source, source_id=record.source_id, complaint=complaint,
                                      job=job, row=row))
        events.append(_event(
            complaint, Event.REGISTERED, by=by, at=now,
            body=_("Imported from %(file)s row %(row)d (legacy number %(id)s).")
            % {"file": job.file_name, "row": row, "id": record.source_id},
            after={"status": status, "level": c.level, "category": c.category.code,
                   "channel": complaint.channel, "owner": complaint.owner_id},
            imported=True, source=job.source, source_id=record.source_id, file=job.file_name, row=row,
            import_job=job.pk, received_at=c.received, level_raised_by=c.raised_by,
        ))
        reply = clean_text(record.reply)
        if reply and complaint.replied_at is not None:
            events.append(_event(complaint, Event.REPLIED, by=by, at=complaint.replied_at, body=reply,
                                 visibility=Visibility.CUSTOMER, imported=True))
        if status == Status.CLOSED:
            events.append(_event(complaint, Event.CLOSED, by=by, at=complaint.closed_at,
                                 body=complaint.closing_reason or _("Closed in the legacy system."),
                                 imported=True))
    ImportedRecord.objects.bulk_create(records)
    TimelineEvent.objects.bulk_create(events)
    for complaint in complaints:
        if complaint.status not in NO_DEADLINES:
            # Clocks start at the import (see the module docstring): schedule() measures from
            # received_at, so it is given a copy that says the complaint arrived now.
            clock = copy.copy(complaint)
            clock.received_at = now
            deadlines.schedule(clock, now=now)
    return complaints


def _event(complaint: Complaint, kind: str, *, by: User, at: datetime, body: str = "",
           visibility: str = Visibility.INTERNAL, after: dict[str, Any] | None = None,
           **data: Any) -> TimelineEvent:
    """An unsaved timeline row in timeline.record's shape (codes and ids, never labels)."""
    plain = timeline._plain
    return TimelineEvent(complaint=complaint, kind=kind, actor=by, at=at, body=body, visibility=visibility,
                         after={k: plain(v) for k, v in (after or {}).items()},
                         data={k: plain(v) for k, v in data.items()})


def log_export(*, by: User, fmt: str, via: str, filters: dict[str, Any], personal_data: bool) -> ExportLog:
    """R-AX-2: an export is recorded before its first row leaves; ``finish_export`` adds the count."""
    return ExportLog.objects.create(user=by, format=fmt, via=via, personal_data=personal_data,
                                    filters={k: str(v) for k, v in filters.items() if v not in (None, "", [])},
                                    at=timezone.now())


def finish_export(log: ExportLog, rows: int) -> None:
    ExportLog.objects.filter(pk=log.pk).update(rows=rows)
