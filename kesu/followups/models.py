"""Follow-up visits, satisfaction surveys, no-visit exemptions and the GM meeting agenda
(SPEC section 9). Nothing here writes: ``actions.py`` does (ARCHITECTURE principle 1)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kesu.complaints.models import Complaint


class Method(models.TextChoices):
    """R-FU-1: how the follow-up visit was made."""

    PHONE = "phone", _("Phone")
    VISIT = "visit", _("Visit in person")
    ONLINE = "online", _("Online")
    SURVEY = "survey", _("Survey link")


class Satisfaction(models.IntegerChoices):
    """R-FU-1: five points, 1 is best (as in the seeds, unlike most CSAT scales). Pages, the API
    and reports always show the words next to the number."""

    VERY_SATISFIED = 1, _("Very satisfied")
    SATISFIED = 2, _("Satisfied")
    ACCEPTABLE = 3, _("Understandable / acceptable")
    DISSATISFIED = 4, _("Dissatisfied")
    VERY_DISSATISFIED = 5, _("Very dissatisfied")


# R-FU-2 / R-FU-3: 1–3 allow closing; 4–5 escalate and reopen.
CLOSABLE = frozenset({1, 2, 3})


class FollowUpPolicy(models.Model):
    """The organisation's follow-up numbers (SPEC: defaults an administrator can change). One
    row; ``current()`` creates it with the SPEC defaults on first use."""

    survey_valid_days = models.PositiveSmallIntegerField(
        _("survey link valid for (days)"), default=14,
        help_text=_("R-FU-5: a survey link expires after this many days."))
    declined_close_days = models.PositiveSmallIntegerField(
        _("close after a declined follow-up (days)"), default=7,
        help_text=_("R-FU-4: a complaint whose customer declined a follow-up closes this many "
                    "days after the reply if no repeat complaint arrived."))

    class Meta:
        verbose_name = _("follow-up policy")
        verbose_name_plural = _("follow-up policy")

    def __str__(self) -> str:
        return str(_("Follow-up policy"))

    @classmethod
    def current(cls) -> FollowUpPolicy:
        row, _created = cls.objects.get_or_create(pk=1)
        return row

    @property
    def survey_valid(self) -> timedelta:
        return timedelta(days=self.survey_valid_days)

    @property
    def declined_close_after(self) -> timedelta:
        return timedelta(days=self.declined_close_days)


class FollowUpVisit(models.Model):
    """One follow-up visit (回访) and the satisfaction the customer gave (R-FU-1). ``by`` is
    the staff member who made it; empty when the customer answered a survey link."""

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="follow_up_visits")
    method = models.CharField(_("method"), max_length=10, choices=Method.choices)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction"), choices=Satisfaction.choices)
    notes = models.TextField(_("notes"), blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                           on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now)
    level = models.PositiveSmallIntegerField(_("level at the visit"))

    class Meta:
        verbose_name = _("follow-up visit")
        verbose_name_plural = _("follow-up visits")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["complaint", "at"], name="followup_complaint_at")]

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.satisfaction}"


class SurveyLink(models.Model):
    """R-FU-5: a single-use link that lets the customer give their satisfaction. Only the
    SHA-256 of the token is stored; the token itself exists in the invitation sent to them."""

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="survey_links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    visit = models.OneToOneField(FollowUpVisit, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="survey_link")

    class Meta:
        verbose_name = _("survey link")
        verbose_name_plural = _("survey links")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.complaint_id} @ {self.created_at:%Y-%m-%d}"


class Exemption(models.TextChoices):
    """R-FU-4: why a complaint needs no follow-up visit."""

    ON_THE_SPOT = "on_the_spot", _("Solved on the spot, customer signed their satisfaction")
    NO_CONTACT = "no_contact", _("Anonymous or no usable contact")
    SENSITIVE = "sensitive", _("Marked sensitive")
    DECLINED = "declined", _("Customer declined a follow-up")


class FollowUpExemption(models.Model):
    """R-FU-4 recorded by a handler. ``declined`` rows also drive the automatic close 7 days
    after the reply (``close_due_at``); a repeat complaint cancels that (``cancelled_at``)."""

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="follow_up_exemptions")
    reason = models.CharField(_("reason"), max_length=20, choices=Exemption.choices)
    note = models.TextField(_("note"), blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    close_due_at = models.DateTimeField(_("closes automatically at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    auto_closed_at = models.DateTimeField(_("closed automatically at"), null=True, blank=True)

    class Meta:
        verbose_name = _("follow-up exemption")
        verbose_name_plural = _("follow-up exemptions")
        ordering = ["at", "id"]
        indexes = [
            # The automatic-close pass reads only declined rows that are still pending.
            models.Index(fields=["close_due_at"], name="exemption_close_due",
                         condition=models.Q(close_due_at__isnull=False, cancelled_at__isnull=True,
                                           auto_closed_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.reason}"


class GmAgendaItem(models.Model):
    """R-FU-3: a level-3 complaint whose customer is still dissatisfied, for the GM meeting."""

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="gm_agenda_items")
    visit = models.ForeignKey(FollowUpVisit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"))
    added_at = models.DateTimeField(_("added at"), default=timezone.now)
    discussed_at = models.DateTimeField(_("discussed at"), null=True, blank=True)
    discussed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    outcome = models.TextField(_("meeting outcome"), blank=True)

    class Meta:
        verbose_name = _("GM meeting agenda item")
        verbose_name_plural = _("GM meeting agenda")
        ordering = ["discussed_at", "added_at", "id"]

    def __str__(self) -> str:
        return f"{self.complaint_id} @ {self.added_at:%Y-%m-%d}"
