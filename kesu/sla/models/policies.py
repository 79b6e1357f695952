"""Time-limit policies (R-SLA-1 … R-SLA-8, R-SLA-11): every limit as admin-editable data."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .calendar import Revisioned
from .deadlines import DeadlineKind


class Unit(models.TextChoices):
    WORKING_HOURS = "working_hours", _("working hours")
    WORKING_DAYS = "working_days", _("working days")
    HOURS = "hours", _("hours (calendar)")
    DAYS = "days", _("days (calendar)")


class Market(models.TextChoices):
    ANY = "any", _("Domestic and foreign")
    DOMESTIC = "domestic", _("Domestic")
    FOREIGN = "foreign", _("Foreign")


class Policy(Revisioned):
    """A limit: how long, in working or calendar time, for which complaints. When several
    active policies of one kind apply to a complaint, the most specific wins (category, then
    channel, then market), then the shortest.

    Each process keeps the active policies between changes (``kesu.sla.deadlines``). Every
    row carries a random ``revision``, new on each ``save()`` and ``update()``; the row count
    and the sum of revisions are read with the calendar's in one query before each use, so an
    administrator's edit applies from the next registration on, in every process (as
    ``kesu.sla.models.calendar`` explains for the calendar's rows).
    """

    kind = models.CharField(_("limit"), max_length=20, choices=DeadlineKind.choices)
    name = models.CharField(_("name"), max_length=100)
    length = models.DecimalField(_("length"), max_digits=7, decimal_places=2)
    unit = models.CharField(_("unit"), max_length=20, choices=Unit.choices)
    min_level = models.PositiveSmallIntegerField(_("from level"), default=1)
    max_level = models.PositiveSmallIntegerField(_("to level"), default=3)
    category = models.ForeignKey(
        "complaints.Category", verbose_name=_("category"), null=True, blank=True, on_delete=models.CASCADE,
        help_text=_("Empty: every category. A category includes its sub-categories."),
    )
    channel = models.CharField(_("channel"), max_length=20, blank=True,
                               help_text=_("Empty: every channel."))
    market = models.CharField(_("market"), max_length=10, choices=Market.choices, default=Market.ANY)
    escalates = models.BooleanField(
        _("escalate after breach"), default=True,
        help_text=_("Escalate one tier 4 working hours after a breach (R-SLA-9)."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("time-limit policy")
        verbose_name_plural = _("time-limit policies")
        ordering = ["kind", "min_level", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.length is not None and self.length <= 0:
            raise ValidationError({"length": _("The length must be positive.")})
        if self.min_level > self.max_level or not (1 <= self.min_level <= 3 and 1 <= self.max_level <= 3):
            raise ValidationError({"max_level": _("Levels run from 1 to 3, and “from” must not exceed “to”.")})

    @property
    def working(self) -> bool:
        return self.unit in (Unit.WORKING_HOURS, Unit.WORKING_DAYS)

    @property
    def hours(self) -> Decimal:
        """The length in hours of its own kind of time (working or calendar)."""
        return self.length * (24 if self.unit == Unit.DAYS else 1)
