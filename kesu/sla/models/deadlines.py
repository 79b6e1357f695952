"""Deadlines as rows (ARCHITECTURE principle 3): one row per open limit of a complaint, indexed
so that finding what is due costs O(due), not O(open complaints)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DeadlineKind(models.TextChoices):
    FIRST_CONTACT = "first_contact", _("First contact")  # R-SLA-1
    CONTACT_AGAIN = "contact_again", _("Contact again")  # R-SLA-3
    RESOLUTION = "resolution", _("Resolution")  # R-SLA-2, R-SLA-3
    ANSWER = "answer", _("Cause and countermeasure")  # R-SLA-4
    REPLY = "reply", _("Written reply")  # R-SLA-5
    CLOSE = "close", _("Overall limit")  # R-SLA-6
    PROGRESS = "progress", _("Progress update")  # R-SLA-7
    PROMISED_REPLY = "promised_reply", _("Promised reply")  # R-SLA-8
    PLATFORM_RESULT = "platform_result", _("12315 handling result")  # R-SLA-11


OPEN_ROW = Q(met_at=None, cancelled_at=None, paused_at=None)


class Deadline(models.Model):
    """One limit of one complaint. ``ref`` tells apart several rows of a kind (the transfer a
    cause-and-countermeasure deadline belongs to). ``working`` says the limit runs in working
    time, which matters when it is paused and resumed (R-SLA-10).

    The sweep claims each step with a conditional UPDATE on its timestamp (``warned_at``,
    ``breached_at``, ``escalated_at``), so running it twice or on two workers never repeats a
    warning, a breach or an escalation.
    """

    complaint = models.ForeignKey("complaints.Complaint", on_delete=models.CASCADE, related_name="deadlines")
    kind = models.CharField(_("kind"), max_length=20, choices=DeadlineKind.choices)
    ref = models.CharField(max_length=40, blank=True, default="")
    policy = models.ForeignKey("sla.Policy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    working = models.BooleanField(default=False)
    started_at = models.DateTimeField(_("counted from"), default=timezone.now)
    due_at = models.DateTimeField(_("due at"))
    warn_at = models.DateTimeField(_("warn at"), null=True, blank=True)
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    escalate_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        constraints = [
            models.UniqueConstraint(fields=["complaint", "kind", "ref"], name="deadline_one_per_kind_ref")
        ]
        indexes = [
            # The overdue queue: open rows in due order.
            models.Index(fields=["due_at"], name="deadline_open_due",
                         condition=Q(met_at=None, cancelled_at=None)),
            # The sweep's breach step: open rows not yet recorded as breached. Rows leave this
            # index once claimed, so a pass costs what is newly due, not what stays overdue;
            # and while paused (on hold, R-SLA-10), so overdue held rows are not read and
            # filtered out again on every pass.
            models.Index(fields=["due_at"], name="deadline_breach_due",
                         condition=Q(met_at=None, cancelled_at=None, paused_at=None, breached_at=None)),
            # The sweep's 75 % warning step.
            models.Index(fields=["warn_at"], name="deadline_warn_due",
                         condition=Q(met_at=None, cancelled_at=None, paused_at=None, warned_at=None)),
            # The sweep's escalation step, 4 working hours after a breach.
            models.Index(fields=["escalate_at"], name="deadline_escalate_due",
                         condition=Q(met_at=None, cancelled_at=None, paused_at=None, escalated_at=None)),
        ]

    @property
    def is_open(self) -> bool:
        return self.met_at is None and self.cancelled_at is None
