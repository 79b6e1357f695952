"""The business calendar in the database (SPEC §4): the administrators' overrides on top of the
PRC statutory holidays that the ``chinese-calendar`` package knows, which years are covered, and
the working hours. ``kesu.sla.calendar.BusinessCalendar`` turns these rows into working-time
arithmetic; nothing here computes anything.

Every row carries a random ``revision`` that changes on each ``save()``.
``BusinessCalendar.load()`` sums the revisions in one query to notice any change, in any process,
without timestamps (frozen by ``time_machine`` in tests) or ids (reused after a rollback on
SQLite). ``QuerySet.update()`` sets a new ``revision`` too; only raw SQL that leaves it alone
goes unnoticed by running processes.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

DEFAULT_DAY_START = dt.time(9, 0)
DEFAULT_DAY_END = dt.time(18, 0)


def new_revision() -> int:
    # 31 bits, so that SUM() over any realistic number of rows fits a 64-bit integer.
    return secrets.randbits(31)


class CalendarSource(models.TextChoices):
    MANUAL = "manual", _("Entered by an administrator")
    IMPORTED = "imported", _("Imported from a date list")


class RevisionedQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        # A new revision with every change, as save() sets one: processes notice it.
        kwargs.setdefault("revision", new_revision())
        return super().update(**kwargs)


class Revisioned(models.Model):
    """A row with a random ``revision``, new on each ``save()`` and ``QuerySet.update()``, for
    the per-process caches that compare summed revisions (the calendar, the policies)."""

    revision = models.IntegerField(default=new_revision, editable=False)

    objects = RevisionedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.revision = new_revision()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "revision"}
        super().save(*args, **kwargs)


class RevisionedModel(Revisioned):
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class CalendarDay(RevisionedModel):
    """One day whose working status an administrator has set, overriding the package's
    holidays and 调休 days (or Monday–Friday for a year the package does not know).

    ``is_working`` is the whole rule for that date; ``name`` says why (国庆节, 调休上班, 公司年会);
    ``source`` tells entries made in the admin from those written by ``import_holidays``.
    """

    date = models.DateField(_("date"), unique=True)
    is_working = models.BooleanField(
        _("working day"), help_text=_("Ticked: a working day (e.g. a 调休 Saturday). "
                                      "Unticked: a day off (e.g. a holiday)."))
    name = models.CharField(_("name"), max_length=50, blank=True,
                            help_text=_("e.g. 国庆节, 春节调休上班"))
    source = models.CharField(_("source"), max_length=10, choices=CalendarSource.choices,
                              default=CalendarSource.MANUAL)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self) -> str:
        kind = _("working day") if self.is_working else _("day off")
        return f"{self.date.isoformat()} {kind} {self.name}".strip()


class CalendarYear(RevisionedModel):
    """A year whose holidays and 调休 days are in ``CalendarDay`` rows (imported or entered), so
    administrators are no longer warned that it falls back to Monday–Friday. Years that the
    ``chinese-calendar`` package knows are covered without a row."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    complete = models.BooleanField(
        _("complete"), default=True,
        help_text=_("Untick while the year's holidays are still being entered."))
    source = models.CharField(_("source"), max_length=10, choices=CalendarSource.choices,
                              default=CalendarSource.MANUAL)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["year"]
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")

    def __str__(self) -> str:
        return str(self.year)


class WorkingHours(RevisionedModel):
    """The organisation's working hours, the same on every working day (SPEC §4: 09:00–18:00,
    Asia/Shanghai). A single row; without it the defaults apply."""

    start = models.TimeField(_("start"), default=DEFAULT_DAY_START)
    end = models.TimeField(_("end"), default=DEFAULT_DAY_END)

    class Meta:
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        constraints = [
            models.CheckConstraint(condition=models.Q(start__lt=models.F("end")),
                                   name="workinghours_start_before_end"),
        ]

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self) -> None:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValidationError({"end": _("The working day must end after it starts.")})
