"""Accountability (考核, R-AC-1): rules and the proposed records they create."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AccountabilityRule(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    amount_min = models.DecimalField(_("minimum amount (CNY)"), max_digits=8, decimal_places=2)
    amount_max = models.DecimalField(_("maximum amount (CNY)"), max_digits=8, decimal_places=2)
    default_amount = models.DecimalField(_("proposed amount (CNY)"), max_digits=8, decimal_places=2)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("accountability rule")
        verbose_name_plural = _("accountability rules")

    def __str__(self) -> str:
        return self.name


class AccountabilityStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class AccountabilityRecord(models.Model):
    """A proposed reward/penalty record, reviewed monthly by the GM office (R-AC-2)."""

    rule = models.ForeignKey(AccountabilityRule, on_delete=models.PROTECT)
    complaint = models.ForeignKey("complaints.Complaint", on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(_("amount (CNY)"), max_digits=8, decimal_places=2)
    status = models.CharField(max_length=10, choices=AccountabilityStatus.choices, default=AccountabilityStatus.PROPOSED)
    reason = models.TextField(_("reason"))
    deadline = models.OneToOneField("sla.Deadline", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("accountability record")
        verbose_name_plural = _("accountability records")


class Breach(models.Model):
    """A missed limit, kept for statistics and accountability (R-SLA-9) even after the
    complaint moves on."""

    deadline = models.OneToOneField("sla.Deadline", on_delete=models.CASCADE, related_name="breach")
    complaint = models.ForeignKey("complaints.Complaint", on_delete=models.CASCADE, related_name="breaches")
    kind = models.CharField(max_length=20)
    due_at = models.DateTimeField()
    breached_at = models.DateTimeField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("org.Unit", on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField()

    class Meta:
        verbose_name = _("breach")
        verbose_name_plural = _("breaches")
        indexes = [models.Index(fields=["breached_at"], name="breach_time")]
