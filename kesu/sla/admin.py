"""Django admin for deadlines: read-only, because the complaint actions keep the rows in line
with each complaint's level and state (``sla.deadlines.schedule``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Deadline


class DeadlineStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("open", _("Open")), ("paused", _("Paused")), ("met", _("Met")),
                ("cancelled", _("Cancelled"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Deadline]) -> QuerySet[Deadline]:
        value = self.value()
        if value == "open":
            return queryset.filter(met_at=None, cancelled_at=None, paused_at=None)
        if value == "paused":
            return queryset.filter(met_at=None, cancelled_at=None).exclude(paused_at=None)
        if value == "met":
            return queryset.exclude(met_at=None)
        if value == "cancelled":
            return queryset.exclude(cancelled_at=None)
        return queryset


@admin.register(Deadline)
class DeadlineAdmin(admin.ModelAdmin):
    list_display = ["complaint", "kind", "due_at", "met_at", "paused_at", "cancelled_at"]
    list_filter = [DeadlineStateFilter, "kind", "due_at"]
    search_fields = ["=complaint__number"]
    list_select_related = ["complaint"]
    ordering = ["due_at"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

from . import admin_calendar  # noqa: F401
