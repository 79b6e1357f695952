"""Admin: read-only views of investigations and CAPAs (the actions write them; the pages at
/capa/ and the complaint page are where people work on them)."""

from __future__ import annotations

from django.contrib import admin

from kesu.lib.admin import ReadOnlyAdmin

from .models import Capa, CapaAction, Investigation


@admin.register(Investigation)
class InvestigationAdmin(ReadOnlyAdmin):
    list_display = ("complaint", "responsibility", "responsible_unit", "responsible_person", "third_party",
                    "updated_at")
    list_filter = ("responsibility",)
    search_fields = ("complaint__number", "responsible_person", "third_party")


class ActionInline(admin.TabularInline):
    model = CapaAction
    fields = ("kind", "description", "owner", "due_date", "state", "verified_by", "verified_at", "sent_back")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Capa)
class CapaAdmin(ReadOnlyAdmin):
    list_display = ("number", "title", "created_by", "created_at", "closed_at")
    list_filter = ("closed_at",)
    search_fields = ("number", "title", "complaints__number")
    inlines = [ActionInline]
