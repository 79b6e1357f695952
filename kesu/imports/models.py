"""Import jobs, the legacy records they brought in, and the log of exports (R-AX-2).

Nothing here writes a complaint: ``actions.py`` does.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    """One legacy file being imported with one mapping. Keyed by the file's SHA-256 and the
    mapping's source name: running ``kesu import`` on the same file again finds this row and
    continues after ``last_row``, the last data row whose batch committed."""

    file_hash = models.CharField(max_length=64)
    source = models.CharField(_("source"), max_length=50)
    file_name = models.CharField(_("file"), max_length=255)
    mapping = models.CharField(_("mapping"), max_length=255)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    last_row = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)  # source id imported before: never twice
    rejected = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        constraints = [models.UniqueConstraint(fields=["file_hash", "source"], name="import_job_file")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.source})"


class ImportedRecord(models.Model):
    """A legacy record that became a Kesu complaint. The unique (source, source_id) makes an
    import idempotent across files and runs; ``source_id`` keeps the legacy number."""

    source = models.CharField(max_length=50)
    source_id = models.CharField(_("legacy number"), max_length=100)
    complaint = models.OneToOneField(
        "complaints.Complaint", on_delete=models.PROTECT, related_name="imported_from"
    )
    job = models.ForeignKey(ImportJob, on_delete=models.PROTECT, related_name="records")
    row = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("imported record")
        verbose_name_plural = _("imported records")
        constraints = [models.UniqueConstraint(fields=["source", "source_id"], name="imported_source_id")]


class ExportLog(models.Model):
    """R-AX-2: every export is recorded — who, when, which filters, how many rows and whether
    personal data (full phone numbers and addresses) left the system."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    format = models.CharField(max_length=10)
    via = models.CharField(max_length=10)  # "api" or "command"
    filters = models.JSONField(default=dict, blank=True)
    personal_data = models.BooleanField(_("personal data included"), default=False)
    rows = models.PositiveIntegerField(null=True, blank=True)  # set when the stream finished

    class Meta:
        verbose_name = _("export log")
        verbose_name_plural = _("export logs")
        ordering = ["-at"]
