"""Django admin for complaints.

Categories and keyword rules are configuration (R-CL-1, R-CL-2) and are edited here. Complaints
and everything hanging off them are shown read-only: ``actions.py`` is the only writer of
complaint state, and the timeline is append-only (R-WF-2), so the admin can look but never add,
change or delete. Contact details are masked as for any role without a need for them (R-AX-2).
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kesu.lib.admin import ReadOnly, ReadOnlyAdmin
from kesu.lib.phones import mask_address, mask_phone

from .models import Attachment, Category, Complaint, Customer, KeywordRule, TimelineEvent, Transfer


class ReadOnlyInline(ReadOnly, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True


# --- configuration ---------------------------------------------------------------------------


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    """R-CL-1: the category tree. Deactivate a category rather than delete it: complaints keep
    pointing at it (deleting one in use is refused)."""

    list_display = ["tree_name", "code", "name_en", "default_level", "is_quality", "is_claim",
                    "is_batch", "active", "sort"]
    list_editable = ["default_level", "active", "sort"]
    list_filter = ["active", "default_level", "is_quality", "is_claim", "is_batch", "parent"]
    search_fields = ["code", "name", "name_en"]
    list_select_related = ["parent"]
    fields = ["code", "name", "name_en", "parent", "default_level", "is_quality", "is_claim",
              "is_batch", "active", "sort"]

    @admin.display(description=_("name"), ordering="sort")
    def tree_name(self, obj: Category) -> str:
        depth, node = 0, obj.parent
        while node is not None and depth < 10:
            depth, node = depth + 1, node.parent
        return "　" * depth + ("└ " if depth else "") + obj.name


@admin.register(KeywordRule)
class KeywordRuleAdmin(admin.ModelAdmin):
    """R-CL-2: keyword rules that suggest a category and level at intake."""

    list_display = ["short_keywords", "category", "level", "weight", "active"]
    list_editable = ["level", "weight", "active"]
    list_filter = ["active", "level", "category"]
    search_fields = ["keywords"]
    list_select_related = ["category"]
    fields = ["keywords", "category", "level", "weight", "active"]

    @admin.display(description=_("keywords"), ordering="keywords")
    def short_keywords(self, obj: KeywordRule) -> str:
        return obj.keywords if len(obj.keywords) <= 60 else obj.keywords[:60] + "…"


# --- complaint records (read-only) -----------------------------------------------------------


class TimelineEventInline(ReadOnlyInline):
    model = TimelineEvent
    fields = ["at", "kind", "actor", "visibility", "body"]
    readonly_fields = fields
    show_change_link = False


class TransferInline(ReadOnlyInline):
    model = Transfer
    fk_name = "complaint"
    fields = ["at", "to_unit", "to_user", "by", "reason", "answered_by", "answered_at", "cause",
              "countermeasure"]
    readonly_fields = fields


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyAdmin):
    list_display = ["number", "status", "level", "category", "channel", "customer_name",
                    "masked_phone", "unit", "owner", "gm_copy", "received_at"]
    list_filter = ["status", "level", "channel", "category", "unit", "gm_copy", "valid",
                   "anonymous", "foreign", "received_at"]
    search_fields = ["=number", "contact_phone", "summary", "customer_name", "order_number",
                     "lot_number"]
    list_select_related = ["category", "unit", "owner"]
    date_hierarchy = "received_at"
    ordering = ["-id"]
    show_full_result_count = False
    inlines = [TransferInline, TimelineEventInline]
    # Contact details are replaced by their masked forms (R-AX-2); the search tokens are internal.
    exclude = ["contact_phone", "address", "other_contact", "search_tokens"]
    readonly_fields = ["masked_phone", "masked_address"]

    @admin.display(description=_("contact phone"))
    def masked_phone(self, obj: Complaint) -> str:
        return mask_phone(obj.contact_phone)

    @admin.display(description=_("address"))
    def masked_address(self, obj: Complaint) -> str:
        return mask_address(obj.address)


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdmin):
    """R-WF-2: append-only; corrections are new events written by the actions."""

    list_display = ["complaint", "kind", "actor", "at", "visibility", "short_body"]
    list_filter = ["kind", "visibility", "at"]
    search_fields = ["=complaint__number", "body"]
    list_select_related = ["complaint", "actor"]
    ordering = ["-id"]
    show_full_result_count = False

    @admin.display(description=_("text"))
    def short_body(self, obj: TimelineEvent) -> str:
        return obj.body if len(obj.body) <= 50 else obj.body[:50] + "…"


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["complaint", "to_unit", "to_user", "by", "at", "answered_by", "answered_at"]
    list_filter = ["to_unit", "new_handler", "at", "answered_at"]
    search_fields = ["=complaint__number", "reason", "cause", "countermeasure"]
    list_select_related = ["complaint", "to_unit", "to_user", "by", "answered_by"]
    ordering = ["-id"]


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ["complaint", "original_name", "kind", "content_type", "size", "uploaded_by",
                    "uploaded_at"]
    list_filter = ["kind", "uploaded_at"]
    search_fields = ["=complaint__number", "original_name"]
    list_select_related = ["complaint", "uploaded_by"]
    ordering = ["-id"]


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["name", "masked_phone", "complaint_count", "created_at"]
    search_fields = ["name", "phone"]
    list_filter = ["created_at"]
    ordering = ["-id"]
    exclude = ["phone", "address", "other_contact"]
    readonly_fields = ["masked_phone", "masked_address"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        return super().get_queryset(request).annotate(complaint_total=Count("complaints"))

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Customer) -> str:
        return mask_phone(obj.phone or "")

    @admin.display(description=_("address"))
    def masked_address(self, obj: Customer) -> str:
        return mask_address(obj.address)

    @admin.display(description=_("complaints"), ordering="complaint_total")
    def complaint_count(self, obj: Customer) -> int:
        return obj.complaint_total  # type: ignore[attr-defined]  # annotated in get_queryset
