"""Admin: webhook robots are configuration (edited here); notifications are shown read-only with
their delivery state, and a given-up one can be sent again."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kesu.lib.admin import ReadOnlyAdmin

from . import outbox
from .delivery import masked_recipient
from .models import STAFF_KINDS, ForbiddenPhrase, Kind, Notification, Script, WebhookEndpoint

STAFF_KIND_CHOICES = [(k.value, k.label) for k in Kind if k in STAFF_KINDS]


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("webhook URL"), max_length=500, assume_scheme="https")
    kinds = forms.MultipleChoiceField(
        label=_("notification kinds"),
        choices=STAFF_KIND_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "kind", "url", "secret", "kinds", "active"]
        widgets = {"secret": forms.PasswordInput(render_value=True)}


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Group robots (WeCom / DingTalk) that receive staff notifications of the chosen kinds."""

    form = WebhookEndpointForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "kind", "short_url", "kind_list", "active"]
    list_filter = ["kind", "active"]
    list_editable = ["active"]

    @admin.display(description=_("webhook URL"))
    def short_url(self, obj: WebhookEndpoint) -> str:
        # The query carries the robot's access token: show only the host and path.
        return obj.url.split("?")[0]

    @admin.display(description=_("notification kinds"))
    def kind_list(self, obj: WebhookEndpoint) -> str:
        labels = dict(STAFF_KIND_CHOICES)
        return "、".join(str(labels.get(k, k)) for k in obj.kinds or [])


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "complaint",
        "kind",
        "channel",
        "recipient_masked",
        "language",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["status", "channel", "kind", "language"]
    search_fields = ["complaint__number", "message_id", "dedupe_key"]
    list_select_related = ["complaint", "webhook"]
    date_hierarchy = "created_at"
    actions = ["send_again"]
    fields = [
        "complaint",
        "kind",
        "channel",
        "recipient_masked",
        "language",
        "context",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "sent_at",
        "provider_id",
        "last_error",
        "message_id",
        "dedupe_key",
        "created_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("recipient"))
    def recipient_masked(self, obj: Notification) -> str:
        return masked_recipient(obj)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        # Rows are never edited in the admin, but sending one again is a change.
        return request.user.has_perm("comms.change_notification")

    @admin.action(description=_("Send again now"), permissions=["retry"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        now = timezone.now()
        with transaction.atomic():
            count = sum(outbox.retry(n, now=now) for n in queryset)
        self.message_user(
            request,
            _("%(count)d notification(s) queued again.") % {"count": count},
            messages.SUCCESS,
        )



@admin.register(ForbiddenPhrase)
class ForbiddenPhraseAdmin(admin.ModelAdmin):
    """R-CM-2: the list is configuration; "…" in a phrase stands for any short text."""

    list_display = ["phrase", "advice", "active"]
    list_filter = ["active"]
    search_fields = ["phrase", "advice"]


@admin.register(Script)
class ScriptAdmin(admin.ModelAdmin):
    """R-CM-1: the script library is configuration. Placeholders in braces ({customer_name},
    {number}, {handler}, {expected_date} …) are filled from the complaint on the workbench."""

    list_display = ["title", "situation", "order", "active"]
    list_filter = ["situation", "active"]
    list_editable = ["order", "active"]
    search_fields = ["title", "text"]
