"""Admin: the follow-up policy (editable numbers), the GM meeting agenda, and read-only views of
visits, survey links and exemptions (they are written by actions only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kesu.lib.admin import ReadOnlyAdmin

from .models import FollowUpExemption, FollowUpPolicy, FollowUpVisit, GmAgendaItem, SurveyLink


@admin.register(FollowUpPolicy)
class FollowUpPolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "survey_valid_days", "declined_close_days")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not FollowUpPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(GmAgendaItem)
class GmAgendaAdmin(ReadOnlyAdmin):
    list_display = ("complaint", "added_at", "reason", "discussed_at", "outcome")
    list_filter = ("discussed_at",)
    search_fields = ("complaint__number",)


@admin.register(FollowUpVisit)
class FollowUpVisitAdmin(ReadOnlyAdmin):
    list_display = ("complaint", "method", "satisfaction", "by", "at", "level")
    list_filter = ("method", "satisfaction")
    search_fields = ("complaint__number",)


@admin.register(SurveyLink)
class SurveyLinkAdmin(ReadOnlyAdmin):
    list_display = ("complaint", "created_at", "expires_at", "used_at", "revoked_at")
    exclude = ("token_hash",)
    search_fields = ("complaint__number",)


@admin.register(FollowUpExemption)
class FollowUpExemptionAdmin(ReadOnlyAdmin):
    list_display = ("complaint", "reason", "by", "at", "close_due_at", "auto_closed_at", "cancelled_at")
    list_filter = ("reason",)
    search_fields = ("complaint__number",)
