"""Running an import: read the file, convert and check each row, write in batches, keep the
job's place, report what was rejected.

1. The file is hashed; the ImportJob of (hash, source) is found or created. A run continues
   after ``job.last_row``, the last row of the last committed batch.
2. Rows are converted by the mapping; a row with a bad cell is rejected with every bad cell.
3. Rows are written ``batch_size`` at a time, one transaction per batch, each row in its own
   savepoint: a row that fails a rule is rolled back alone (never half-imported) and reported;
   the job's ``last_row`` moves in the same transaction as the batch, so a crash loses at most
   the batch in flight, and that batch is simply done again by the next run.
4. A source id already imported (any file, any run) is skipped, never imported twice.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kesu.complaints import routing
from kesu.lib.errors import DomainError, Invalid
from kesu.lib.progress import Progress
from kesu.org.models import User

from . import readers
from .actions import LegacyRecord, Lookups, check_legacy, import_legacy_batch
from .mapping import Mapping
from .models import ImportedRecord, ImportJob


@dataclass
class Rejection:
    row: int
    source_id: str
    field: str
    column: str
    reason: str


@dataclass
class Outcome:
    file: str
    source: str
    dry_run: bool
    total_rows: int | None
    started_row: int  # rows up to this one were done by an earlier run
    last_row: int
    imported: int = 0
    skipped: int = 0
    rejected_rows: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    seconds: float = 0.0
    complete: bool = False

    @property
    def processed(self) -> int:
        return self.imported + self.skipped + self.rejected_rows

    @property
    def rate(self) -> float:
        return self.processed / self.seconds if self.seconds else 0.0


def _batches(rows: Iterator[tuple[int, dict[str, Any]]], size: int) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    while batch := list(islice(rows, size)):
        yield batch


def run_import(
    path: Path, mapping: Mapping, *, by: User, dry_run: bool = False, encoding: str | None = None,
    batch_size: int = 500, limit: int | None = None, progress_stream: TextIO | None = None,
    quiet: bool = False, now: datetime | None = None,
) -> Outcome:
    """Import ``path`` (see the module docstring). ``limit`` stops after that many rows of this
    run, as an interruption would; the next run continues after them."""
    source = readers.inspect(path, encoding or mapping.encoding)
    lookups = Lookups()
    with readers.Rows(source, sheet=mapping.sheet) as rows:
        mapping.bind(rows.header)
        job = None if dry_run else _job(source, mapping, by)
        start_after = job.last_row if job else 0
        total = readers.count_rows(source, sheet=mapping.sheet)
        outcome = Outcome(file=path.name, source=mapping.source, dry_run=dry_run, total_rows=total,
                          started_row=start_after, last_row=start_after)
        if job is not None and job.total_rows != total:
            ImportJob.objects.filter(pk=job.pk).update(total_rows=total)
        done_before = job.imported + job.skipped + job.rejected if job else 0
        label = _("checking") if dry_run else _("importing")
        progress = Progress(label, total, unit=_("rows"), stream=progress_stream, quiet=quiet,
                            done=min(done_before, total or done_before))
        started = time.perf_counter()
        pending = (r for r in rows if r[0] > start_after)
        if limit is not None:
            pending = islice(pending, limit)
        seen: set[str] = set()
        with routing.memoized():
            for batch in _batches(pending, batch_size):
                _batch(batch, mapping, by=by, job=job, lookups=lookups, outcome=outcome,
                       seen=seen, now=now or timezone.now())
                progress.advance(len(batch))
        outcome.seconds = time.perf_counter() - started
        progress.finish()
        outcome.complete = limit is None or outcome.processed < limit
        if job is not None and outcome.complete:
            ImportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now())
    return outcome


def _job(source: readers.SourceFile, mapping: Mapping, by: User) -> ImportJob:
    job, _created = ImportJob.objects.get_or_create(
        file_hash=source.sha256, source=mapping.source,
        defaults={"file_name": source.path.name[:255], "mapping": mapping.name[:255], "started_by": by},
    )
    return job


def _batch(
    batch: list[tuple[int, dict[str, Any]]], mapping: Mapping, *, by: User, job: ImportJob | None,
    lookups: Lookups, outcome: Outcome, seen: set[str], now: datetime,
) -> None:
    from .mapping import convert

    converted = []
    for number, row in batch:
        values, errors = convert(mapping, row)
        converted.append((number, values, errors))
    ids = [str(v.get("source_id") or "") for _n, v, _e in converted]
    with transaction.atomic():
        # One query per batch tells which legacy numbers Kesu already has.
        known = set(ImportedRecord.objects.filter(source=mapping.source, source_id__in=ids)
                    .values_list("source_id", flat=True))
        imported = skipped = rejected = 0
        todo: list[tuple[int, LegacyRecord]] = []
        for number, values, errors in converted:
            source_id = str(values.get("source_id") or "")
            if errors:
                rejected += 1
                outcome.rejections.extend(Rejection(number, source_id, e.field, e.column, e.reason) for e in errors)
                continue
            if source_id in known or source_id in seen:
                skipped += 1
                continue
            seen.add(source_id)
            todo.append((number, LegacyRecord.from_values(values, unit=mapping.unit)))
        ids_by_row = {number: record.source_id for number, record in todo}
        if job is None:
            failed = []
            for number, record in todo:
                try:
                    check_legacy(record, by=by, now=now, lookups=lookups)
                except DomainError as exc:
                    failed.append((number, exc))
        else:
            _done, failed = import_legacy_batch(todo, by=by, job=job, now=now, lookups=lookups)
        for number, exc in sorted(failed, key=lambda f: f[0]):
            spec = mapping.fields.get(exc.field or "")
            outcome.rejections.append(Rejection(number, ids_by_row[number], exc.field or "",
                                                spec.describe() if spec else "", str(exc.message)))
            seen.discard(ids_by_row[number])
        rejected += len(failed)
        imported += len(todo) - len(failed)
        last = batch[-1][0]
        if job is not None:
            ImportJob.objects.filter(pk=job.pk).update(
                last_row=last, imported=job.imported + imported, skipped=job.skipped + skipped,
                rejected=job.rejected + rejected, updated_at=timezone.now())
            job.imported += imported
            job.skipped += skipped
            job.rejected += rejected
            job.last_row = last
    outcome.imported += imported
    outcome.skipped += skipped
    outcome.rejected_rows += rejected
    outcome.last_row = last


# --- the validation report ------------------------------------------------------------------


def write_report(outcome: Outcome, path: Path) -> None:
    """Every rejected cell: row, legacy number, field, source column, reason. JSON when the
    name ends in .json, else CSV (UTF-8 with BOM, so that Excel shows the Chinese)."""
    if path.suffix.lower() == ".json":
        body = {
            "file": outcome.file, "source": outcome.source, "dry_run": outcome.dry_run,
            "imported": outcome.imported, "skipped": outcome.skipped, "rejected_rows": outcome.rejected_rows,
            "rejections": [asdict(r) for r in outcome.rejections],
        }
        path.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
        return
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([_("row"), _("legacy number"), _("field"), _("source column"), _("reason")])
        for r in outcome.rejections:
            writer.writerow([r.row, r.source_id, r.field, r.column, r.reason])


def summary(outcome: Outcome, report: Path | None) -> str:
    lines = []
    if outcome.dry_run:
        lines.append(_("Dry run: nothing was written."))
    if outcome.started_row:
        lines.append(_("Continued after row %(row)d (done by an earlier run).") % {"row": outcome.started_row})
    verb = _("would be imported") if outcome.dry_run else _("imported")
    lines.append(_("%(file)s: %(imported)d %(verb)s, %(skipped)d skipped (already imported), "
                   "%(rejected)d rejected.")
                 % {"file": outcome.file, "imported": outcome.imported, "verb": verb,
                    "skipped": outcome.skipped, "rejected": outcome.rejected_rows})
    for r in outcome.rejections[:10]:
        lines.append(_("  row %(row)d, field %(field)s (%(column)s): %(reason)s")
                     % {"row": r.row, "field": r.field, "column": r.column or "-", "reason": r.reason})
    if len(outcome.rejections) > 10:
        lines.append(_("  … and %(n)d more.") % {"n": len(outcome.rejections) - 10})
    if report is not None and outcome.rejections:
        lines.append(_("Rejected rows are listed in %(report)s.") % {"report": report})
    if not outcome.complete:
        lines.append(_("Stopped after row %(row)d; run the same command again to continue.")
                     % {"row": outcome.last_row})
    lines.append(_("%(n)d rows in %(seconds).1f s (%(rate).0f rows/s).")
                 % {"n": outcome.processed, "seconds": outcome.seconds, "rate": outcome.rate})
    return "\n".join(lines)


def error_text(exc: Invalid) -> str:
    return str(exc.message)
