"""Import jobs and the export log, read-only: they are records of what happened (R-AX-2)."""

from __future__ import annotations

from django.contrib import admin

from kesu.complaints.admin import ReadOnlyAdmin

from .models import ExportLog, ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ("file_name", "source", "started_by", "started_at", "last_row", "imported", "skipped",
                    "rejected", "finished_at")
    list_filter = ("source",)
    search_fields = ("file_name", "file_hash")


@admin.register(ExportLog)
class ExportLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "format", "via", "personal_data", "rows", "filters")
    list_filter = ("personal_data", "via", "format")
    search_fields = ("user__username",)
    date_hierarchy = "at"
