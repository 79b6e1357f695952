"""Django admin for time limits. Policies and accountability rules are configuration; deadline
rows, breaches and accountability records are read-only, because the complaint actions and the
sweep keep them in line with each complaint (``sla.deadlines.schedule``, ``sla.sweep``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kesu.lib.admin import ReadOnlyAdmin

from .models import AccountabilityRecord, AccountabilityRule, Breach, Deadline, Policy


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
class DeadlineAdmin(ReadOnlyAdmin):
    list_display = ["complaint", "kind", "due_at", "met_at", "paused_at", "cancelled_at"]
    list_filter = [DeadlineStateFilter, "kind", "due_at"]
    search_fields = ["=complaint__number"]
    list_select_related = ["complaint"]
    ordering = ["due_at"]
    show_full_result_count = False



@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    """R-SLA-1 … R-SLA-8, R-SLA-11: every limit's length, unit and scope. A change applies to
    deadlines scheduled from then on and to open ones when their complaint next changes."""

    list_display = ["name", "kind", "length", "unit", "min_level", "max_level", "category", "channel",
                    "market", "escalates", "active"]
    list_filter = ["kind", "unit", "market", "active"]
    list_editable = ["length", "active"]


@admin.register(AccountabilityRule)
class AccountabilityRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "amount_min", "amount_max", "default_amount", "active"]


@admin.register(AccountabilityRecord)
class AccountabilityRecordAdmin(ReadOnlyAdmin):
    """Proposed by the sweep (R-AC-1); the GM office's monthly review comes with R-AC-2."""

    list_display = ["complaint", "person", "rule", "amount", "status", "created_at"]
    list_filter = ["status", "rule"]
    list_select_related = ["complaint", "person", "rule"]


@admin.register(Breach)
class BreachAdmin(ReadOnlyAdmin):
    list_display = ["complaint", "kind", "due_at", "breached_at", "owner", "unit", "level"]
    list_filter = ["kind", "level"]
    date_hierarchy = "breached_at"
    list_select_related = ["complaint", "owner", "unit"]


from . import admin_calendar  # noqa: F401
