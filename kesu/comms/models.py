"""Communications: the notification outbox (ARCHITECTURE principle 4, R-CM-5) and the webhook
robots it can post to.

Nothing here sends anything: ``outbox.py`` writes rows inside an action's transaction and
``delivery.py`` (run by the worker) claims, sends and records them.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kesu.lib.revisions import Revisioned


class Kind(models.TextChoices):
    """What a notification is about; also the name of its template (``comms/<lang>/<kind>.txt``)."""

    # To the customer (R-IN-6, R-SLA-7, R-CM-5).
    ACKNOWLEDGEMENT = "acknowledgement", _("Acknowledgement")
    PROGRESS = "progress", _("Progress update")
    REPLY = "reply", _("Reply")
    SURVEY_INVITATION = "survey_invitation", _("Survey invitation")
    # To staff (R-RT-2, R-RT-3, R-SLA-9).
    ASSIGNMENT = "assignment", _("Assignment")
    WARNING = "warning", _("Time limit warning")
    BREACH = "breach", _("Time limit breached")
    ESCALATION = "escalation", _("Escalation")
    GM_COPY = "gm_copy", _("Copy to the GM")
    CAPA_ACTION = "capa_action", _("CAPA action to carry out")  # R-IV-3, R-IV-4


CUSTOMER_KINDS = frozenset(
    {Kind.ACKNOWLEDGEMENT, Kind.PROGRESS, Kind.REPLY, Kind.SURVEY_INVITATION}
)
STAFF_KINDS = frozenset(set(Kind) - CUSTOMER_KINDS)


class Medium(models.TextChoices):
    """How a notification travels (called ``channel`` on the row; not the complaint's intake
    channel, ``complaints.Channel``)."""

    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WEBHOOK = "webhook", _("Webhook robot")


class State(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    DEAD = "dead", _("Given up")


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


def message_id_for(dedupe_key: str) -> str:
    """The RFC 5322 Message-ID of a notification: a pure function of its dedupe key, fixed when
    the row is written, so that a resend after a crash carries the same ID and the receiver
    can drop the copy (R-CM-5)."""
    digest = hashlib.sha1(dedupe_key.encode("utf-8")).hexdigest()
    return f"<{digest}@{settings.KESU_MESSAGE_ID_DOMAIN}>"


class WebhookKind(models.TextChoices):
    WECOM = "wecom", _("WeCom (enterprise WeChat) group robot")
    DINGTALK = "dingtalk", _("DingTalk group robot")


class WebhookEndpoint(Revisioned):
    """A group-chat robot that staff notifications of the chosen ``kinds`` are posted to.

    ``secret`` is DingTalk's "加签" secret; when set, each post carries its HMAC-SHA256 signature.
    Revisioned: the active robots are kept per process (``outbox._active_robots``).
    """

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("robot type"), max_length=20, choices=WebhookKind.choices)
    url = models.URLField(_("webhook URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        blank=True,
        help_text=_("DingTalk only: the secret shown when “加签” is enabled."),
    )
    kinds = models.JSONField(
        _("notification kinds"),
        default=list,
        blank=True,
        help_text=_("Staff notification kinds this robot receives."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("webhook robot")
        verbose_name_plural = _("webhook robots")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def receives(self, kind: str) -> bool:
        return self.active and kind in (self.kinds or [])


class Notification(models.Model):
    """One message to one recipient over one channel: an outbox row (R-CM-5).

    Written by ``outbox`` in the transaction of the change it reports, so it exists if and only
    if the change committed. ``dedupe_key`` is unique: writing the same notification twice is a
    no-op. The worker claims a row by a conditional UPDATE (pending → sending, ``claimed_at``),
    sends it, then marks it sent and appends ``NOTIFICATION_SENT`` to the complaint's timeline
    in one transaction. A crash between send and mark leaves the row ``sending``; once the
    claim is stale another worker sends it again with the same ``message_id``.
    """

    complaint = models.ForeignKey(
        "complaints.Complaint",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Medium.choices)
    recipient = models.CharField(_("recipient"), max_length=500)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The staff member notified, if any."),
    )
    webhook = models.ForeignKey(
        WebhookEndpoint,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    language = models.CharField(
        _("language"), max_length=10, choices=Language.choices, default=Language.ZH_HANS
    )
    context = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=255, unique=True)
    message_id = models.CharField(max_length=100)
    status = models.CharField(
        _("status"), max_length=10, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    provider_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-id"]
        indexes = [
            # deliver_due: pending rows in due order. Sent and dead rows (nearly all of them,
            # after a while) are outside the partial index.
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due",
                condition=models.Q(status="pending"),
            ),
            # deliver_due: claims a crashed worker left behind.
            models.Index(
                fields=["claimed_at"],
                name="notification_claimed",
                condition=models.Q(status="sending"),
            ),
            models.Index(fields=["complaint", "id"], name="notification_complaint"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.channel} ({self.status})"


class ForbiddenPhrase(models.Model):
    """R-CM-2: a phrase handlers must not say to a customer. ``…`` in a phrase stands for any
    short text ("这是…的事，你找他吧"); near variants with a word or two slipped in still match."""

    phrase = models.CharField(_("phrase"), max_length=100, unique=True)
    advice = models.CharField(_("say instead"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("forbidden phrase")
        verbose_name_plural = _("forbidden phrases")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.phrase


class Situation(models.TextChoices):
    """R-CM-1: when a script is said. The five answers are the seeds' 业务受理 ①–⑤; the
    outbound ones their 致电 calls (催款, 宣导调查, 节点回复, 已完成业务回复)."""

    GREETING = "greeting", _("Greeting")
    CLARIFYING = "clarifying", _("Clarifying the problem")
    SOLVE_NOW = "solve_now", _("Answer: solve it now")
    REFER = "refer", _("Answer: refer, with a callback")
    RECORD_CALLBACK = "record_callback", _("Answer: record it and call back")
    CHECK_UNIT = "check_unit", _("Answer: check with another unit")
    REPORT_UP = "report_up", _("Answer: report upward")
    CLOSING = "closing", _("Closing")
    PAYMENT_REMINDER = "payment_reminder", _("Outbound call: payment reminder")
    SURVEY = "survey", _("Outbound call: survey")
    PROGRESS = "progress", _("Outbound call: progress")
    COMPLETION = "completion", _("Outbound call: completion")


class Script(models.Model):
    """R-CM-1: a standard script (话术). ``text`` may hold placeholders in braces —
    ``{customer_name}``, ``{number}``, ``{handler}``, ``{unit}``, ``{responsible_unit}``,
    ``{expected_date}``, ``{status}``, ``{summary}``, ``{company}`` — filled from the complaint
    by ``scripts.render``; unknown ones are left as written."""

    situation = models.CharField(_("situation"), max_length=30, choices=Situation.choices)
    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(
        _("text"),
        help_text=_("Placeholders: {customer_name} {number} {handler} {unit} {responsible_unit} "
                    "{expected_date} {status} {summary} {company}"),
    )
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("script")
        verbose_name_plural = _("scripts")
        ordering = ["situation", "order", "id"]

    def __str__(self) -> str:
        return self.title
