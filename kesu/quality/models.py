"""Investigation, responsibility and CAPA (SPEC section 6, R-IV-1…R-IV-5). Nothing here writes:
``actions.py`` does (ARCHITECTURE principle 1).

A complaint has at most one investigation record, corrected in place by the action that
records it; each correction is a timeline event with the values before and after (R-WF-2).
A CAPA (纠正预防措施) is its own record with a number, because one may cover several
complaints (R-IV-4): its cause analysis, its actions with an owner and a due date each, and an
append-only history of what was done to it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kesu.complaints.models import Complaint, ImmutableEvent
from kesu.org.models import Unit


class Responsibility(models.TextChoices):
    """R-IV-1: who is responsible for what the customer complained of."""

    COMPANY = "company", _("The company")
    CUSTOMER_MISUSE = "customer_misuse", _("Customer misuse")
    CARRIER = "carrier", _("Third party: carrier")
    SUPPLIER = "supplier", _("Third party: supplier")
    OTHER_COMPANY = "other_company", _("Third party: another company")
    UNJUSTIFIED = "unjustified", _("Unjustified (no one at fault)")


# R-IV-5: handled with the GM and the units concerned.
THIRD_PARTIES = frozenset({Responsibility.CARRIER, Responsibility.SUPPLIER, Responsibility.OTHER_COMPANY})


class Investigation(models.Model):
    """R-IV-1, R-IV-2: what the investigation of one complaint established."""

    complaint = models.OneToOneField(Complaint, on_delete=models.PROTECT, related_name="investigation")
    facts = models.TextField(_("verified facts"))
    evidence = models.TextField(_("evidence"), blank=True)
    inspection_result = models.TextField(_("product inspection result (QA)"), blank=True)
    inspected_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("inspected by"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+")
    inspected_at = models.DateTimeField(_("inspected at"), null=True, blank=True)
    responsibility = models.CharField(_("responsibility"), max_length=20, choices=Responsibility.choices)
    responsible_unit = models.ForeignKey(Unit, verbose_name=_("unit held responsible"),
                                         null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    responsible_person = models.CharField(_("responsible person"), max_length=100, blank=True)
    # R-IV-2: the whole plant or branch only when no person or team can be named.
    whole_unit = models.BooleanField(_("no person or team can be named"), default=False)
    third_party = models.CharField(_("third party"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("investigation")
        verbose_name_plural = _("investigations")

    def __str__(self) -> str:
        return f"{self.complaint.number}: {self.get_responsibility_display()}"


class CauseGroup(models.TextChoices):
    """R-IV-3: the six groups of causes (人、机、料、法、环、测)."""

    PEOPLE = "people", pgettext_lazy("cause group", "People")
    MACHINE = "machine", pgettext_lazy("cause group", "Machine")
    MATERIAL = "material", pgettext_lazy("cause group", "Material")
    METHOD = "method", pgettext_lazy("cause group", "Method")
    ENVIRONMENT = "environment", pgettext_lazy("cause group", "Environment")
    MEASUREMENT = "measurement", pgettext_lazy("cause group", "Measurement")


class Capa(models.Model):
    """A corrective and preventive action plan: the causes found and the actions taken against
    them, for one complaint or several with the same cause (R-IV-3, R-IV-4). It is closed when
    QA has confirmed the effect of every action."""

    number = models.CharField(pgettext_lazy("capa", "number"), max_length=20, unique=True)
    title = models.CharField(_("title"), max_length=200)
    complaints = models.ManyToManyField(Complaint, through="CapaLink", related_name="capas")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(pgettext_lazy("capa", "closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("CAPA")
        verbose_name_plural = _("CAPAs")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class CapaLink(models.Model):
    """A complaint a CAPA covers."""

    capa = models.ForeignKey(Capa, on_delete=models.PROTECT, related_name="links")
    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="capa_links")
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["capa", "complaint"], name="capa_link_once")]


class Cause(models.Model):
    """One cause of the cause analysis, in one of the six groups."""

    capa = models.ForeignKey(Capa, on_delete=models.PROTECT, related_name="causes")
    group = models.CharField(_("group"), max_length=20, choices=CauseGroup.choices)
    text = models.TextField(_("cause"))

    class Meta:
        ordering = ["id"]


class ActionKind(models.TextChoices):
    CORRECTIVE = "corrective", _("Corrective action")
    PREVENTIVE = "preventive", _("Preventive action")


class ActionState(models.TextChoices):
    """R-IV-4: open → done by its owner → QA confirms the effect (closed) or sends it back (open)."""

    OPEN = "open", _("In progress")
    DONE = "done", _("Done, effect to be confirmed")
    CLOSED = "closed", _("Effect confirmed")


class CapaAction(models.Model):
    """A corrective or preventive action with its owner and due date (R-IV-3)."""

    capa = models.ForeignKey(Capa, on_delete=models.PROTECT, related_name="actions")
    kind = models.CharField(_("kind"), max_length=20, choices=ActionKind.choices)
    description = models.TextField(_("action"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="capa_actions")
    due_date = models.DateField(_("due date"))
    state = models.CharField(_("state"), max_length=10, choices=ActionState.choices, default=ActionState.OPEN)
    result = models.TextField(_("what was done"), blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("effect confirmed by"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(null=True, blank=True)
    verification = models.TextField(_("effect confirmation"), blank=True)
    sent_back = models.PositiveSmallIntegerField(_("times sent back"), default=0)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["owner", "state"], name="capa_action_owner")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.description[:40]}"

    def overdue(self, today: object) -> bool:
        return self.state == ActionState.OPEN and self.due_date < today  # type: ignore[operator]


class CapaEventKind(models.TextChoices):
    OPENED = "opened", _("CAPA opened")
    LINKED = "linked", _("Complaint added")
    ACTION_ADDED = "action_added", _("Action added")
    ACTION_DONE = "action_done", _("Action done")
    EFFECT_CONFIRMED = "effect_confirmed", _("Effect confirmed")
    SENT_BACK = "sent_back", _("Sent back: not effective")
    CLOSED = "closed", _("CAPA closed")


class CapaEvent(models.Model):
    """The CAPA's own history, append-only like a complaint's timeline (R-WF-2)."""

    capa = models.ForeignKey(Capa, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=CapaEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ImmutableEvent("CAPA events are never edited")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[override]
        raise ImmutableEvent("CAPA events are never deleted")
