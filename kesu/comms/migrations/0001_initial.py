# Notification outbox and webhook robots (R-CM-5).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("complaints", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="WebhookEndpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100, verbose_name="name")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("wecom", "WeCom (enterprise WeChat) group robot"),
                            ("dingtalk", "DingTalk group robot"),
                        ],
                        max_length=20,
                        verbose_name="robot type",
                    ),
                ),
                ("url", models.URLField(max_length=500, verbose_name="webhook URL")),
                (
                    "secret",
                    models.CharField(
                        blank=True,
                        help_text="DingTalk only: the secret shown when “加签” is enabled.",
                        max_length=200,
                        verbose_name="signing secret",
                    ),
                ),
                (
                    "kinds",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="Staff notification kinds this robot receives.",
                        verbose_name="notification kinds",
                    ),
                ),
                ("active", models.BooleanField(default=True, verbose_name="active")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name": "webhook robot",
                "verbose_name_plural": "webhook robots",
                "ordering": ["name", "id"],
            },
        ),
        migrations.CreateModel(
            name="Notification",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("acknowledgement", "Acknowledgement"),
                            ("progress", "Progress update"),
                            ("reply", "Reply"),
                            ("survey_invitation", "Survey invitation"),
                            ("assignment", "Assignment"),
                            ("warning", "Time limit warning"),
                            ("breach", "Time limit breached"),
                            ("escalation", "Escalation"),
                            ("gm_copy", "Copy to the GM"),
                        ],
                        max_length=30,
                        verbose_name="kind",
                    ),
                ),
                (
                    "channel",
                    models.CharField(
                        choices=[("email", "Email"), ("sms", "SMS"), ("webhook", "Webhook robot")],
                        max_length=10,
                        verbose_name="channel",
                    ),
                ),
                ("recipient", models.CharField(max_length=500, verbose_name="recipient")),
                (
                    "language",
                    models.CharField(
                        choices=[("zh-hans", "简体中文"), ("en", "English")],
                        default="zh-hans",
                        max_length=10,
                        verbose_name="language",
                    ),
                ),
                ("context", models.JSONField(blank=True, default=dict)),
                ("dedupe_key", models.CharField(max_length=255, unique=True)),
                ("message_id", models.CharField(max_length=100)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting to be sent"),
                            ("sending", "Being sent"),
                            ("sent", "Sent"),
                            ("dead", "Given up"),
                        ],
                        default="pending",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="attempts")),
                (
                    "next_attempt_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="next attempt at"
                    ),
                ),
                ("claimed_at", models.DateTimeField(blank=True, null=True)),
                ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
                (
                    "provider_id",
                    models.CharField(
                        blank=True, max_length=100, verbose_name="provider message id"
                    ),
                ),
                ("last_error", models.TextField(blank=True, verbose_name="last error")),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="created at"
                    ),
                ),
                (
                    "complaint",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="notifications",
                        to="complaints.complaint",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        help_text="The staff member notified, if any.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "webhook",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="notifications",
                        to="comms.webhookendpoint",
                    ),
                ),
            ],
            options={
                "verbose_name": "notification",
                "verbose_name_plural": "notifications",
                "ordering": ["-id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("status", "pending")),
                        fields=["next_attempt_at"],
                        name="notification_due",
                    ),
                    models.Index(
                        condition=models.Q(("status", "sending")),
                        fields=["claimed_at"],
                        name="notification_claimed",
                    ),
                    models.Index(fields=["complaint", "id"], name="notification_complaint"),
                ],
            },
        ),
    ]
