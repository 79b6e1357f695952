"""The shipped mappings on the real records in ``../shared/data`` (read where they are, never
copied into the project; skipped when the folder is absent): what a user would notice after
importing them — counts, states, replies on the timeline, Chinese search, the rejected rows of a
damaged file, and an import killed mid-run that a second run finishes without duplicates."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from kesu.complaints.models import Complaint, Event, Status, Visibility
from kesu.complaints.search import filter_text
from kesu.imports.models import ImportedRecord, ImportJob

DATA = Path(settings.BASE_DIR).parent / "shared" / "data"
TIPDM = DATA / "cn_tipdm2020" / "cn_complaints_tipdm2020_replies.csv"
CFPB = DATA / "cfpb" / "cfpb_sample.csv"
SH = ZoneInfo("Asia/Shanghai")

needs_tipdm = pytest.mark.skipif(not TIPDM.exists(), reason=f"{TIPDM} is not there")
needs_cfpb = pytest.mark.skipif(not CFPB.exists(), reason=f"{CFPB} is not there")


def read(path: Path, n: int) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, [row for _i, row in zip(range(n), reader)]


def run(path: Path, mapping: str, **options) -> str:
    out = io.StringIO()
    call_command("import", str(path), mapping=mapping, quiet=True, stdout=out, **options)
    return out.getvalue()


@needs_tipdm
def test_chinese_messages_with_official_replies_import_closed_and_searchable(org, tmp_path):
    run(TIPDM, "tipdm", limit=150, report=tmp_path / "r.csv")
    _header, rows = read(TIPDM, 150)
    assert Complaint.objects.count() == 150
    first = ImportedRecord.objects.get(source="tipdm2020", source_id=rows[0][0]).complaint
    assert first.status == Status.CLOSED and first.summary == rows[0][2].strip()
    assert first.received_at == datetime.strptime(rows[0][3], "%Y/%m/%d %H:%M:%S").replace(tzinfo=SH)
    assert first.number.startswith("TS" + first.received_at.astimezone(SH).strftime("%Y%m"))
    assert first.closed_at == datetime.strptime(rows[0][6], "%Y/%m/%d %H:%M:%S").replace(tzinfo=SH)
    reply = first.events.get(kind=Event.REPLIED)
    assert reply.visibility == Visibility.CUSTOMER and reply.body[:20] in " ".join(rows[0][5].split())
    assert first.other_contact == f"问政平台用户 {rows[0][1]}"
    # Chinese full text: the property-management complaint is found by a two-character word.
    assert first in filter_text(Complaint.objects.all(), "物业")
    assert Complaint.objects.filter(status=Status.CLOSED).count() == 150


@needs_tipdm
@needs_cfpb
def test_shipped_mappings_fit_every_real_row(org, tmp_path):
    """--dry-run over both whole files: every real row passes (a row of 2018 with a reply date
    without a time of day was how the date formats were found)."""
    for path, mapping, total in ((TIPDM, "tipdm", 2816), (CFPB, "cfpb", 6623)):
        out = run(path, mapping, dry_run=True, report=tmp_path / f"{mapping}.csv")
        assert f"{total} 条可导入" in out and "0 行被拒绝" in out, out
    assert Complaint.objects.count() == 0


@needs_cfpb
def test_us_consumer_complaints_import_foreign_anonymous_with_mapped_codes(org, tmp_path):
    run(CFPB, "cfpb", limit=300, report=tmp_path / "r.csv")
    assert Complaint.objects.count() == 300
    assert set(Complaint.objects.values_list("foreign", "anonymous").distinct()) == {(True, True)}
    assert set(Complaint.objects.values_list("channel", flat=True)) <= {"web", "phone", "letter", "fax", "email",
                                                                        "regulator"}
    # Referrals come from another agency: regulator channel, level 3 (R-CL-4).
    assert not Complaint.objects.filter(channel="regulator").exclude(level=3).exists()
    assert set(Complaint.objects.values_list("status", flat=True)) <= {Status.CLOSED, Status.INVESTIGATING}
    credit = filter_text(Complaint.objects.all(), "credit report")
    assert credit.exists()


@needs_tipdm
def test_damaged_real_file_reports_each_bad_row_and_imports_the_rest(org, tmp_path):
    header, rows = read(TIPDM, 20)
    rows[2][3] = "2019/02/30 10:00:00"  # no such day
    rows[5][2] = "   "  # no title
    rows[9][6] = "2001/1/1 08:00:00"  # replied before it was posted
    damaged = tmp_path / "damaged.csv"
    with damaged.open("w", encoding="gb18030", newline="") as handle:  # as a Chinese Excel saves it
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    out = run(damaged, "tipdm", report=tmp_path / "rejected.csv")
    assert Complaint.objects.count() == 17
    assert "17 条已导入" in out and "3 行被拒绝" in out
    with (tmp_path / "rejected.csv").open(encoding="utf-8-sig") as handle:
        report = list(csv.reader(handle))
    assert report[0][:4] == ["行号", "原系统编号", "字段", "源文件列"] and len(report[0]) == 5
    found = {(r[0], r[2]) for r in report[1:]}
    assert ("4", "received_at") in found and ("7", "summary") in found
    assert ("11", "replied_at") in found or ("11", "closed_at") in found


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@needs_tipdm
@pytest.mark.django_db(transaction=True)
def test_import_killed_mid_run_finishes_on_rerun_without_duplicates(org, tmp_path):
    """Resumable, for real: a ``kesu import`` process is killed (SIGKILL) after a few batches
    committed; running the same command again continues after the last committed row and ends
    with every record exactly once."""
    env = {**os.environ, "KESU_DATABASE_URL": _database_url(), "DJANGO_SETTINGS_MODULE": "kesu.settings"}
    process = subprocess.Popen(
        [sys.executable, "-m", "kesu.cli", "import", str(TIPDM), "--mapping", "tipdm", "--batch-size", "50",
         "--report", str(tmp_path / "r.csv")],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job = ImportJob.objects.first()
            if job is not None and job.last_row >= 151:
                break
            if process.poll() is not None:
                pytest.fail("the import finished before it could be interrupted")
            time.sleep(0.2)
        else:
            pytest.fail("the import committed nothing within two minutes")
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    interrupted = ImportJob.objects.get()
    assert interrupted.finished_at is None and interrupted.last_row < 2817
    assert Complaint.objects.count() == interrupted.imported  # nothing of the batch in flight

    out = run(TIPDM, "tipdm", report=tmp_path / "r.csv")
    assert f"从第 {interrupted.last_row} 行之后继续" in out
    assert Complaint.objects.count() == 2816
    assert ImportedRecord.objects.values("source_id").distinct().count() == 2816
    job = ImportJob.objects.get()
    assert job.finished_at is not None and (job.imported, job.rejected) == (2816, 0)
