from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import ApiToken, Unit, User


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "parent", "is_quality", "active"]
    list_filter = ["kind", "is_quality", "active"]
    search_fields = ["name", "code"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "display_name", "role", "tier", "is_active"]
    list_filter = ["role", "tier", "is_active", "units"]
    search_fields = ["username", "display_name", "phone"]
    filter_horizontal = ["units", "groups", "user_permissions"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Complaint handling"), {"fields": ["display_name", "role", "tier", "units", "phone"]}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Complaint handling"), {"fields": ["display_name", "role", "tier", "units"]}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "created_at", "revoked_at"]
    readonly_fields = ["key_hash", "created_at"]
