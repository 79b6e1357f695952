"""The business calendar and working-time arithmetic (SPEC §4, STYLE §4).

Which days are working days, in order of precedence:

1. a ``CalendarDay`` row (an administrator's override, or a line of ``import_holidays``);
2. the PRC statutory holidays and 调休 working weekends of the ``chinese-calendar`` package, for
   the years it knows (``PACKAGE_YEARS``; 2004–2026 in 1.11.0);
3. Monday to Friday. Administrators are warned about a year that falls back to this
   (``BusinessCalendar.missing_years``) until it is imported or marked covered (``CalendarYear``).

Working time runs from ``day_start`` to ``day_end`` (default 09:00–18:00, ``WorkingHours``) on
working days, in Asia/Shanghai. "N working days" is N × ``day_length`` of working time, so
received Tuesday 10:00 + 1 working day is Wednesday 10:00.

``BusinessCalendar`` itself is pure: it takes its rules in the constructor and never reads the
database or the clock. ``BusinessCalendar.load()`` builds it from the database and caches it
per process; ``import_days`` is the only writer of imported rows.

Speed: working days are kept as a sorted list of date ordinals over a window of whole years,
built on first use, so ``add`` and ``between`` are a few binary searches whatever the length
(no loop per minute, hour or day).
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from chinese_calendar import constants as _package
from django.db import transaction

from kesu.lib.revisions import Kept, Signature

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZERO = dt.timedelta(0)

# --- the chinese-calendar package's data ----------------------------------------------------

_PACKAGE_NAME_FIXES = {"清明": "清明节", "端午": "端午节", "中秋": "中秋节"}


def _chinese_name(english: str) -> str:
    try:
        chinese = _package.Holiday(english).chinese
    except ValueError:  # a newer package version with a holiday this table does not know
        return english
    return _PACKAGE_NAME_FIXES.get(chinese, chinese)


# date -> name, e.g. 2026-10-01 -> 国庆节 and 2026-10-10 -> 国庆节调休上班.
PACKAGE_HOLIDAYS: dict[dt.date, str] = {d: _chinese_name(n) for d, n in _package.holidays.items()}
PACKAGE_WORKDAYS: dict[dt.date, str] = {d: _chinese_name(n) + "调休上班"
                                        for d, n in _package.workdays.items()}
# The package raises NotImplementedError outside this range; it is derived the same way.
PACKAGE_YEARS = range(min(PACKAGE_HOLIDAYS).year, max(PACKAGE_HOLIDAYS).year + 1)

WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

# The next year's holidays are normally published by the State Council in November or
# December; warning about them earlier in the year would only teach administrators to ignore it.
NEXT_YEAR_WARNING_FROM = (10, 1)  # (month, day)


def default_is_working_day(d: dt.date) -> bool:
    """The rule without administrators' overrides: the package's schedule, else Mon–Fri."""
    if d.year in PACKAGE_YEARS:
        if d in PACKAGE_WORKDAYS:
            return True
        if d in PACKAGE_HOLIDAYS:
            return False
    return d.weekday() < 5


def _as_timedelta(t: dt.time) -> dt.timedelta:
    return dt.timedelta(hours=t.hour, minutes=t.minute, seconds=t.second,
                        microseconds=t.microsecond)


def _require_aware(value: dt.datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, not {value!r}")


# --- the calendar -----------------------------------------------------------------------------


class _Short(Exception):
    """The window of working days ends before the answer; widen it and try again."""


@dataclass(frozen=True)
class _Window:
    lo: int  # first ordinal covered
    hi: int  # one past the last ordinal covered
    ords: list[int]  # every working day in [lo, hi), ascending; never mutated once built

    def index_on_or_after(self, ordinal: int) -> int:
        i = bisect.bisect_left(self.ords, ordinal)
        if i == len(self.ords):
            raise _Short
        return i

    def at(self, i: int) -> int:
        if i >= len(self.ords):
            raise _Short
        return self.ords[i]

    def is_working(self, ordinal: int) -> bool:
        i = bisect.bisect_left(self.ords, ordinal)
        return i < len(self.ords) and self.ords[i] == ordinal


class BusinessCalendar:
    """Working days and working hours, and arithmetic in working time.

    Datetimes must be aware. Day logic happens in Asia/Shanghai; ``add`` returns its result in
    the time zone of ``start`` (so a UTC datetime from the database comes back in UTC).
    """

    def __init__(
        self,
        overrides: Mapping[dt.date, bool] | None = None,
        *,
        names: Mapping[dt.date, str] | None = None,
        covered_years: Iterable[int] = (),
        day_start: dt.time = dt.time(9, 0),
        day_end: dt.time = dt.time(18, 0),
    ) -> None:
        if day_start >= day_end:
            raise ValueError(f"working hours must start before they end: {day_start}–{day_end}")
        self.overrides: dict[dt.date, bool] = dict(overrides or {})
        self.names: dict[dt.date, str] = dict(names or {})
        self.covered_years = frozenset(covered_years)
        self.day_start = day_start
        self.day_end = day_end
        self._start = _as_timedelta(day_start)
        self._end = _as_timedelta(day_end)
        self._length = self._end - self._start
        self._window_lock = threading.Lock()
        self._win = _Window(0, 0, [])

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def load(cls) -> BusinessCalendar:
        """The organisation's calendar from the database, cached per process.

        Costs one query while nothing changed (``kesu.lib.revisions.signature_now``, which
        covers the calendar's tables among the other reference data) and four after any
        change, in whichever process made it."""
        return cls.load_signed()[1]

    @classmethod
    def load_signed(cls, signature: Signature | None = None) -> tuple[Signature, BusinessCalendar]:
        """``load``, with the signature it was checked against (read now unless given): the
        policies, categories and keyword rules are kept under the same signature, so that a
        registration notices a change to any of them with one query."""
        return _kept.get_signed(signature)

    @classmethod
    def from_db(cls) -> BusinessCalendar:
        from .models import CalendarDay, CalendarYear, WorkingHours

        overrides: dict[dt.date, bool] = {}
        names: dict[dt.date, str] = {}
        for day, is_working, name in CalendarDay.objects.values_list("date", "is_working", "name"):
            overrides[day] = is_working
            if name:
                names[day] = name
        years = CalendarYear.objects.filter(complete=True).values_list("year", flat=True)
        hours = WorkingHours.objects.order_by("pk").first() or WorkingHours()
        return cls(overrides, names=names, covered_years=years,
                   day_start=hours.start, day_end=hours.end)

    @staticmethod
    def invalidate() -> None:
        """Forget this process's cached calendar (``load`` notices changes by itself; this is
        for code that wrote the tables with raw SQL)."""
        _kept.forget()

    # -- days ------------------------------------------------------------------------------

    def is_working_day(self, d: dt.date) -> bool:
        """Whether ``d`` is a working day; an aware datetime counts as its Shanghai date."""
        if isinstance(d, dt.datetime):
            _require_aware(d, "d")
            d = d.astimezone(SHANGHAI).date()
        override = self.overrides.get(d)
        if override is not None:
            return override
        return default_is_working_day(d)

    def day_name(self, d: dt.date) -> str:
        """Why the day is what it is: the override's name, the package's holiday, or ""."""
        if d in self.overrides:
            return self.names.get(d, "")
        if d.year in PACKAGE_YEARS:
            return PACKAGE_WORKDAYS.get(d) or PACKAGE_HOLIDAYS.get(d, "")
        return ""

    def is_year_covered(self, year: int) -> bool:
        return year in PACKAGE_YEARS or year in self.covered_years

    def missing_years(self, today: dt.date) -> list[int]:
        """Years to warn administrators about: this year, and from October the next one, when
        neither the package nor an import covers them (they fall back to Monday–Friday)."""
        years = [today.year]
        if (today.month, today.day) >= NEXT_YEAR_WARNING_FROM:
            years.append(today.year + 1)
        return [y for y in years if not self.is_year_covered(y)]

    @property
    def day_length(self) -> dt.timedelta:
        return self._length

    # -- working time ----------------------------------------------------------------------

    def is_working_time(self, at: dt.datetime) -> bool:
        _require_aware(at, "at")
        local = at.astimezone(SHANGHAI)
        return (self.is_working_day(local.date())
                and self._start <= _as_timedelta(local.time()) < self._end)

    def add(self, start: dt.datetime, working: dt.timedelta) -> dt.datetime:
        """The earliest instant by which ``working`` of working time has passed since ``start``.

        Counting starts at ``start`` if it is inside working hours, else at the next working
        day's start. A result exactly at the end of a day stays there (18:00, not 09:00 the
        next working day). ``add(start, 0)`` is ``start``. In ``start``'s time zone."""
        _require_aware(start, "start")
        if working < ZERO:
            raise ValueError(f"working time must not be negative: {working}")
        if working == ZERO:
            return start
        local = start.astimezone(SHANGHAI)
        ordinal, tod = local.toordinal(), _as_timedelta(local.time())
        # Enough calendar days for the usual case (5 working days a week, a Golden Week);
        # a calendar with longer breaks widens the window and retries.
        reach = int(working / self._length * 7 / 5) + 20
        while True:
            window = self._window(ordinal, ordinal + reach)
            try:
                return self._add(window, ordinal, tod, working).astimezone(start.tzinfo)
            except _Short:
                reach = window.hi - ordinal + 2 * 366

    def _add(self, w: _Window, ordinal: int, tod: dt.timedelta,
             working: dt.timedelta) -> dt.datetime:
        S, E, L = self._start, self._end, self._length
        # 1. Where counting starts: working day index i at time of day t.
        i = w.index_on_or_after(ordinal)
        if w.ords[i] == ordinal and tod < E:
            t = max(tod, S)
        else:
            if w.ords[i] == ordinal:  # after hours: the next working day
                i += 1
            t = S
        # 2. The rest of that day.
        if working <= E - t:
            return self._at(w.at(i), t + working)
        rest = working - (E - t)
        # 3. Whole days, then the remainder on the day after them; none left means the
        #    deadline is the end of the last whole day.
        days, remainder = divmod(rest, L)
        if remainder:
            return self._at(w.at(i + days + 1), S + remainder)
        return self._at(w.at(i + days), E)

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Working time from ``start`` to ``end``; zero if ``end`` is not after ``start``.
        Additive: between(a, b) + between(b, c) == between(a, c) for a <= b <= c."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end <= start:
            return ZERO
        a, b = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
        w = self._window(a.toordinal(), b.toordinal())
        return self._position(w, b) - self._position(w, a)

    def _position(self, w: _Window, local: dt.datetime) -> dt.timedelta:
        """Working time from the window's start to ``local`` (both in the same window)."""
        ordinal = local.toordinal()
        position = bisect.bisect_left(w.ords, ordinal) * self._length
        if w.is_working(ordinal):
            tod = _as_timedelta(local.time())
            position += min(max(tod, self._start), self._end) - self._start
        return position

    def add_days(self, start: dt.datetime, days: int | float) -> dt.datetime:
        """``days`` working days after ``start``: ``add(start, days * day_length)``."""
        return self.add(start, self._length * days)

    def next_working_start(self, at: dt.datetime) -> dt.datetime:
        """When working time next runs from ``at``: ``at`` itself inside working hours, else
        the start of the next working day. In ``at``'s time zone."""
        if self.is_working_time(at):
            return at
        return self.add(at, dt.timedelta(microseconds=1)) - dt.timedelta(microseconds=1)

    def _at(self, ordinal: int, tod: dt.timedelta) -> dt.datetime:
        midnight = dt.datetime.combine(dt.date.fromordinal(ordinal), dt.time(), tzinfo=SHANGHAI)
        return midnight + tod

    def _window(self, first: int, last: int) -> _Window:
        """A window holding every working day from ``first`` to ``last`` inclusive, widened to
        whole years with a year's margin. Windows are replaced, never changed, so a thread
        holding one is unaffected by another widening it."""
        w = self._win
        if w.lo <= first and last < w.hi:
            return w
        with self._window_lock:
            w = self._win
            if w.lo <= first and last < w.hi:
                return w
            lo_year = max(dt.date.min.year, dt.date.fromordinal(first).year - 1)
            hi_year = dt.date.fromordinal(min(last, dt.date.max.toordinal())).year + 2
            if hi_year > dt.date.max.year:
                if last > dt.date.max.toordinal():
                    raise OverflowError("no working day left in the calendar")
                hi = dt.date.max.toordinal() + 1
            else:
                hi = dt.date(hi_year, 1, 1).toordinal()
            lo = dt.date(lo_year, 1, 1).toordinal()
            if w.hi > w.lo:  # keep what is already covered
                lo, hi = min(lo, w.lo), max(hi, w.hi)
            ords = [o for o in range(lo, hi) if self.is_working_day(dt.date.fromordinal(o))]
            self._win = w = _Window(lo, hi, ords)
            return w


# --- the process-wide cache -------------------------------------------------------------------

_kept: Kept[BusinessCalendar] = Kept(BusinessCalendar.from_db)

# --- importing a year's date list -------------------------------------------------------------

Kind = Literal["holiday", "workday"]
KIND_ALIASES: dict[str, Kind] = {
    "holiday": "holiday", "off": "holiday", "休": "holiday", "假": "holiday",
    "workday": "workday", "work": "workday", "班": "workday",
}


@dataclass(frozen=True)
class DateListEntry:
    line: int
    date: dt.date
    kind: Kind
    name: str

    @property
    def is_working(self) -> bool:
        return self.kind == "workday"


@dataclass(frozen=True)
class DateListError:
    line: int
    reason: str


def parse_date_list(text: str, *, year: int | None = None,
                    max_name_length: int = 50) -> tuple[list[DateListEntry], list[DateListError]]:
    """Parse lines like ``2027-01-01,holiday,元旦`` or ``2027-02-07,workday,春节调休`` (``#``
    starts a comment; blank lines are skipped). Returns every entry and every error; callers
    write nothing unless there are no errors."""
    entries: list[DateListEntry] = []
    errors: list[DateListError] = []
    seen: dict[dt.date, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.lstrip("\ufeff").split("#", 1)[0].strip()
        if not line:
            continue
        fields = [f.strip() for f in line.replace("，", ",").split(",")]
        if len(fields) < 2 or len(fields) > 3:
            errors.append(DateListError(number, "expected DATE,holiday|workday[,NAME]"))
            continue
        try:
            day = dt.date.fromisoformat(fields[0])
        except ValueError:
            errors.append(DateListError(number, f"not a date (YYYY-MM-DD): {fields[0]!r}"))
            continue
        kind = KIND_ALIASES.get(fields[1].lower())
        if kind is None:
            errors.append(DateListError(number, f"expected holiday or workday, not {fields[1]!r}"))
            continue
        name = fields[2] if len(fields) == 3 else ""
        if len(name) > max_name_length:
            errors.append(DateListError(number, f"name longer than {max_name_length} characters"))
            continue
        if year is not None and day.year != year:
            errors.append(DateListError(number, f"{day.isoformat()} is not in {year}"))
            continue
        if day in seen:
            errors.append(DateListError(number, f"{day.isoformat()} already on line {seen[day]}"))
            continue
        seen[day] = number
        entries.append(DateListEntry(number, day, kind, name))
    if not entries and not errors:
        errors.append(DateListError(0, "no dates in the file"))
    return entries, errors


@dataclass(frozen=True)
class ImportResult:
    years: list[int]
    holidays: int
    workdays: int
    removed: int  # earlier imported rows of those years that the list no longer has


@transaction.atomic
def import_days(entries: list[DateListEntry], *,
                years: Iterable[int] | None = None) -> ImportResult:
    """Write a parsed date list and mark its years covered. The list is the whole truth for
    the imported rows of those years: imported rows it no longer contains are removed. Rows an
    administrator entered on other dates are kept; on the same date the list wins."""
    from .models import CalendarDay, CalendarSource, CalendarYear

    covered = sorted(set(years) if years is not None else {e.date.year for e in entries})
    dates = {e.date for e in entries}
    stale = CalendarDay.objects.filter(date__year__in=covered, source=CalendarSource.IMPORTED)
    removed = 0
    for row in stale:
        if row.date not in dates:
            row.delete()
            removed += 1
    for e in entries:
        CalendarDay.objects.update_or_create(
            date=e.date,
            defaults={"is_working": e.is_working, "name": e.name,
                      "source": CalendarSource.IMPORTED})
    for y in covered:
        CalendarYear.objects.update_or_create(
            year=y, defaults={"complete": True, "source": CalendarSource.IMPORTED})
    return ImportResult(years=covered, holidays=sum(not e.is_working for e in entries),
                        workdays=sum(e.is_working for e in entries), removed=removed)
