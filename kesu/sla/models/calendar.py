"""The business calendar in the database (SPEC §4): the administrators' overrides on top of the
PRC statutory holidays that the ``chinese-calendar`` package knows, which years are covered, and
the working hours. ``kesu.sla.calendar.BusinessCalendar`` turns these rows into working-time
arithmetic; nothing here computes anything.

Every row is ``Revisioned`` (kesu/lib/revisions.py): ``BusinessCalendar.load()`` notices a change
made in any process through ``signature_now()``.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

# new_revision is named by this app's migrations as kesu.sla.models.calendar.new_revision.
from kesu.lib.revisions import Revisioned, new_revision  # noqa: F401

DEFAULT_DAY_START = dt.time(9, 0)
DEFAULT_DAY_END = dt.time(18, 0)


class CalendarSource(models.TextChoices):
    MANUAL = "manual", _("Entered by an administrator")
    IMPORTED = "imported", _("Imported from a date list")


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
