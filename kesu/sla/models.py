"""Deadlines as rows (ARCHITECTURE principle 3): one row per open limit of a complaint, indexed
on ``due_at`` so that finding what is due costs O(due), not O(open complaints)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DeadlineKind(models.TextChoices):
    RESOLUTION = "resolution", _("Resolution")  # R-SLA-2, R-SLA-3
    REPLY = "reply", _("Written reply")  # R-SLA-5
    CLOSE = "close", _("Overall limit")  # R-SLA-6


class Deadline(models.Model):
    complaint = models.ForeignKey("complaints.Complaint", on_delete=models.CASCADE, related_name="deadlines")
    kind = models.CharField(max_length=20, choices=DeadlineKind.choices)
    due_at = models.DateTimeField(_("due at"))
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["complaint", "kind"], name="deadline_one_per_kind")]
        indexes = [
            # The sweep and the overdue queue read only open rows, in due order.
            models.Index(fields=["due_at"], name="deadline_open_due",
                         condition=models.Q(met_at=None, cancelled_at=None)),
        ]

    @property
    def is_open(self) -> bool:
        return self.met_at is None and self.cancelled_at is None
