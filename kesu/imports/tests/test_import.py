"""``kesu import``: legacy rows become complaints through the import action, bad rows are
reported (row, field, reason) and never half-written, and a re-run continues without duplicates."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from kesu.complaints.models import Complaint, Customer, Event, NumberSequence, Status
from kesu.complaints.search import filter_text
from kesu.imports import importer, synthetic
from kesu.imports.mapping import MappingError, load, parse
from kesu.imports.models import ImportedRecord, ImportJob
from kesu.lib.errors import Invalid
from kesu.sla.models import Deadline

SH = ZoneInfo("Asia/Shanghai")

MAPPING = """
source = "legacy-crm"
user = "clerk"

[fields]
source_id = "工单号"
received_at = { column = "受理时间", formats = ["%Y/%m/%d %H:%M", "%Y-%m-%d"] }
customer_name = "客户"
contact_phone = "电话"
summary = "标题"
description = "内容"
channel = { column = "来源", map = { "热线" = "phone", "网站" = "web", "来信" = "letter" } }
category = { column = "类别", map = { "质量" = "quality_general", "物流" = "logistics_delay", "服务" = "service_attitude" } }
status = { column = "状态", map = { "已办结" = "closed", "处理中" = "investigating", "待处理" = "registered" } }
closed_at = { column = "办结时间", formats = ["%Y/%m/%d %H:%M"] }
reply = "答复"
replied_at = { column = "办结时间", formats = ["%Y/%m/%d %H:%M"] }
"""
HEADER = ["工单号", "受理时间", "客户", "电话", "标题", "内容", "来源", "类别", "状态", "办结时间", "答复"]
GOOD = [
    ["GD-001", "2025/03/02 10:15", "张伟", "138 1234 5678", "电饭煲不加热", "用了三天就不加热了", "热线", "质量",
     "已办结", "2025/03/04 16:00", "已为您更换新机，感谢您的耐心。"],
    ["GD-002", "2025/03/20 09:00", "张伟", "13812345678", "冰箱送货延迟", "约好周六送货，到周一还没到", "网站", "物流",
     "处理中", "", ""],
    ["GD-003", "2025/04/01 14:30", "李娜", "021-62345678", "安装师傅态度差", "安装师傅骂人", "来信", "服务",
     "待处理", "", ""],
]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "crm.toml"
    path.write_text(MAPPING, encoding="utf-8")
    return path


def run(path: Path, mapping: Path | str, **options) -> tuple[str, Path]:
    out = io.StringIO()
    report = path.with_suffix(".report.csv")
    call_command("import", str(path), mapping=str(mapping), report=report, quiet=True, stdout=out, **options)
    return out.getvalue(), report


def report_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))[1:]


def test_rows_become_complaints_with_source_times_numbers_and_timeline(org, tmp_path, mapping):
    """R-IN-4 numbers by received month, R-WF-2 timeline, customers deduplicated by phone."""
    out, _report = run(write_csv(tmp_path / "crm.csv", GOOD), mapping)
    assert "3" in out and Complaint.objects.count() == 3

    closed = ImportedRecord.objects.get(source="legacy-crm", source_id="GD-001").complaint
    assert closed.number == "TS20250300001"
    assert closed.received_at == datetime(2025, 3, 2, 10, 15, tzinfo=SH)
    assert closed.status == Status.CLOSED
    assert closed.closed_at == datetime(2025, 3, 4, 16, 0, tzinfo=SH)
    assert closed.category.code == "quality_general" and closed.channel == "phone"
    assert closed.first_responder == org["clerk"] and closed.unit == org["beijing"]
    kinds = list(closed.events.values_list("kind", flat=True))
    assert kinds == [Event.REGISTERED, Event.REPLIED, Event.CLOSED]
    registered = closed.events.get(kind=Event.REGISTERED)
    assert "crm.csv" in registered.body and "GD-001" in registered.body and "2" in registered.body
    assert registered.data["source_id"] == "GD-001" and registered.data["row"] == 2
    reply = closed.events.get(kind=Event.REPLIED)
    assert reply.visibility == "customer" and reply.body.startswith("已为您更换")
    assert not Deadline.objects.filter(complaint=closed).exists()  # legacy timeliness is not Kesu's

    # The same phone written two ways is one customer.
    assert Customer.objects.filter(phone="13812345678").count() == 1
    assert Complaint.objects.filter(customer__phone="13812345678").count() == 2

    open_one = ImportedRecord.objects.get(source_id="GD-002").complaint
    assert open_one.number == "TS20250300002" and open_one.status == Status.INVESTIGATING
    # Open records get the policies' deadline rows, the clocks starting at the import.
    rows = Deadline.objects.filter(complaint=open_one)
    assert rows.exists()
    assert all(r.started_at > timezone.now() - timezone.timedelta(minutes=5) for r in rows)

    # R-CL-4: a letter about attitude is level 2 (the category's default level), routed to tier 2.
    letter = ImportedRecord.objects.get(source_id="GD-003").complaint
    assert letter.level == 2 and letter.owner == org["manager"]


def test_chinese_text_is_searchable_after_import(org, tmp_path, mapping):
    run(write_csv(tmp_path / "crm.csv", GOOD), mapping)
    found = filter_text(Complaint.objects.all(), "不加热")
    assert [c.summary for c in found] == ["电饭煲不加热"]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_legacy_encodings_are_detected(org, tmp_path, mapping, encoding):
    """Chinese legacy systems write GB18030 (GBK) or UTF-8 with a BOM; both read right."""
    run(write_csv(tmp_path / "crm.csv", GOOD, encoding=encoding), mapping)
    assert set(Complaint.objects.values_list("customer_name", flat=True)) == {"张伟", "李娜"}


def test_excel_unicode_text_export_is_read(org, tmp_path, mapping):
    """Excel's "Unicode text" (Unicode 文本): UTF-16 with a BOM, tab-separated."""
    path = tmp_path / "crm.txt"
    with path.open("w", encoding="utf-16", newline="") as handle:
        csv.writer(handle, delimiter="\t").writerows([HEADER, *GOOD])
    run(path, mapping)
    assert Complaint.objects.count() == 3


def test_wrong_encoding_given_is_a_clear_error(org, tmp_path, mapping):
    path = write_csv(tmp_path / "crm.csv", GOOD, encoding="gb18030")
    with pytest.raises(CommandError, match="utf-8"):
        run(path, mapping, encoding="utf-8")
    assert Complaint.objects.count() == 0


def test_xlsx_is_read_in_streaming_mode(org, tmp_path, mapping):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in GOOD:
        sheet.append(row)
    sheet["B2"] = datetime(2025, 3, 2, 10, 15)  # a real Excel date cell, not text
    book.save(tmp_path / "crm.xlsx")
    run(tmp_path / "crm.xlsx", mapping)
    assert Complaint.objects.count() == 3
    assert ImportedRecord.objects.get(source_id="GD-001").complaint.received_at == datetime(2025, 3, 2, 10, 15, tzinfo=SH)


def test_bad_rows_are_reported_with_row_field_and_reason_and_not_written(org, tmp_path, mapping):
    bad = [
        GOOD[0],
        ["GD-010", "2025/13/45 10:00", "王芳", "13900001111", "热水器漏水", "漏水", "热线", "质量", "待处理", "", ""],
        ["GD-011", "2025/03/05 10:00", "王芳", "13900001111", "", "没有标题", "热线", "质量", "待处理", "", ""],
        ["GD-012", "2025/03/05 10:00", "王芳", "13900001111", "价格不对", "多收费", "热线", "价格", "待处理", "", ""],
        ["GD-013", "2025/03/05 10:00", "王芳", "12345", "号码不对", "号码不对", "热线", "质量", "待处理", "", ""],
        ["GD-014", "2025/03/05 10:00", "王芳", "13900001111", "已办结没有日期", "无", "热线", "质量", "已办结", "", ""],
    ]
    before = NumberSequence.objects.count()
    out, report = run(write_csv(tmp_path / "crm.csv", bad), mapping)
    assert Complaint.objects.count() == 1
    assert not Customer.objects.filter(phone="13900001111").exists()  # nothing half-written
    assert NumberSequence.objects.count() == before + 1
    rows = {(r[0], r[2]): r for r in report_rows(report)}
    assert set(rows) == {("3", "received_at"), ("4", "summary"), ("5", "category"),
                         ("6", "contact_phone"), ("7", "closed_at")}
    assert "2025/13/45" in rows[("3", "received_at")][4]
    assert rows[("5", "category")][3] == "类别" and "价格" in rows[("5", "category")][4]
    assert "不是有效的电话号码" in rows[("6", "contact_phone")][4]  # Chinese by default
    assert "1 已导入" in out.replace("条", "") or "1" in out
    assert "第 3 行" in out or "row 3" in out
    job = ImportJob.objects.get()
    assert (job.imported, job.rejected) == (1, 5)


def test_report_can_be_json(org, tmp_path, mapping):
    bad = [[*GOOD[0][:1], "昨天", *GOOD[0][2:]]]
    path = write_csv(tmp_path / "crm.csv", bad)
    call_command("import", str(path), mapping=str(mapping), report=tmp_path / "r.json", quiet=True,
                 stdout=io.StringIO())
    body = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert body["rejected_rows"] == 1
    assert body["rejections"][0] | {"reason": ""} == {"row": 2, "source_id": "GD-001", "field": "received_at",
                                                      "column": "受理时间", "reason": ""}


def test_dry_run_checks_every_row_and_writes_nothing(org, tmp_path, mapping):
    bad = [*GOOD, ["GD-020", "2025/03/05 10:00", "王芳", "13900001111", "x", "x", "传真机", "质量", "待处理", "", ""]]
    out, report = run(write_csv(tmp_path / "crm.csv", bad), mapping, dry_run=True)
    assert Complaint.objects.count() == 0 and ImportJob.objects.count() == 0
    assert NumberSequence.objects.count() == 0
    assert [(r[0], r[2]) for r in report_rows(report)] == [("5", "channel")]
    assert "3" in out


def test_unknown_column_in_mapping_names_field_and_column(org, tmp_path):
    mapping = tmp_path / "m.toml"
    mapping.write_text(MAPPING.replace('summary = "标题"', 'summary = "主题"'), encoding="utf-8")
    with pytest.raises(CommandError) as err:
        run(write_csv(tmp_path / "crm.csv", GOOD), mapping)
    assert "summary" in str(err.value) and "主题" in str(err.value)
    assert Complaint.objects.count() == 0


def test_bad_mappings_are_refused_before_reading_rows():
    with pytest.raises(MappingError) as err:
        parse({"source": "x", "fields": {"summery": "标题"}}, name="m")
    assert err.value.field == "summery"
    with pytest.raises(MappingError) as err:
        parse({"source": "x", "fields": {"summary": "标题", "source_id": "id", "channel": {"value": "phone"}}},
              name="m")
    assert err.value.field == "received_at"
    with pytest.raises(MappingError):
        load("/nonexistent/mapping.toml")


@pytest.mark.parametrize("name,content,message", [
    ("empty.csv", b"", "空"),
    ("blank.csv", b"\n\n  \n", "空"),
    ("zip.csv", None, "ZIP"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
    ("fake.xlsx", "工单号,标题\n1,x\n".encode(), "Excel"),
    ("binary.csv", b"\x7fELF\x02\x01\x01\x00\x00\x00", "CSV"),
])
def test_wrong_or_empty_files_are_refused(org, tmp_path, mapping, name, content, message):
    path = tmp_path / name
    if content is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("a.txt", "x")
    else:
        path.write_bytes(content)
    with pytest.raises(CommandError) as err:
        run(path, mapping)
    assert message in str(err.value) and name in str(err.value)
    assert Complaint.objects.count() == 0 and ImportJob.objects.count() == 0


def test_header_only_file_imports_nothing(org, tmp_path, mapping):
    out, _ = run(write_csv(tmp_path / "crm.csv", []), mapping)
    assert Complaint.objects.count() == 0 and "0" in out


def test_interrupted_run_resumes_without_duplicates(org, tmp_path):
    """Resumable: a run stopped after 40 rows (--limit) continues at row 42; a third run of the
    same file, and the same records in another file, import nothing twice."""
    path = synthetic.write(tmp_path / "legacy.csv", 100)
    out, _ = run(path, "kesu", user="clerk", limit=40, batch_size=15)
    assert Complaint.objects.count() == 40
    job = ImportJob.objects.get()
    assert job.last_row == 41 and job.finished_at is None
    assert "41" in out

    out, _ = run(path, "kesu", user="clerk", batch_size=15)
    assert Complaint.objects.count() == 100
    assert ImportedRecord.objects.values("source_id").distinct().count() == 100
    job.refresh_from_db()
    assert (job.last_row, job.imported, job.skipped) == (101, 100, 0) and job.finished_at is not None

    run(path, "kesu", user="clerk")
    copy = synthetic.write(tmp_path / "again.csv", 100, encoding="gb18030")
    out, _ = run(copy, "kesu", user="clerk")
    assert Complaint.objects.count() == 100
    assert ImportJob.objects.get(file_name="again.csv").skipped == 100


def test_unknown_user_and_read_only_user_are_refused(org, tmp_path, mapping):
    path = write_csv(tmp_path / "crm.csv", GOOD)
    with pytest.raises(CommandError):
        run(path, mapping, user="nobody")
    _out, report = run(path, mapping, user="auditor")  # auditors read only: every row refused
    assert Complaint.objects.count() == 0 and len(report_rows(report)) == 3


def test_run_import_measures_rate(org, tmp_path):
    outcome = importer.run_import(synthetic.write(tmp_path / "s.csv", 30), load("kesu"), by=org["clerk"],
                                  quiet=True)
    assert outcome.imported == 30 and outcome.rate > 0
    with pytest.raises(Invalid):
        importer.run_import(tmp_path / "missing.csv", load("kesu"), by=org["clerk"], quiet=True)


def test_a_row_clashing_in_the_database_is_undone_alone(org, tmp_path, mapping):
    """Nothing half-imported even when the database refuses a row after the checks passed
    (another run imported the same legacy number meanwhile): the batch falls back to one
    savepoint per row, the clashing row leaves no complaint, serial or event, the others land."""
    from kesu.imports.actions import LegacyRecord, Lookups, import_legacy_batch
    from kesu.imports.mapping import convert

    run(write_csv(tmp_path / "crm.csv", GOOD[:1]), mapping)
    job = ImportJob.objects.get()
    loaded = load(str(mapping))
    loaded.bind(HEADER)
    items = []
    for row, raw in ((2, GOOD[0]), (3, [*GOOD[1][:0], "GD-099", *GOOD[1][1:]])):
        values, errors = convert(loaded, dict(zip(HEADER, raw)))
        assert not errors
        items.append((row, LegacyRecord.from_values(values, unit=None)))
    events_before = Complaint.objects.get().events.count()
    done, failed = import_legacy_batch(items, by=org["clerk"], job=job, now=timezone.now(), lookups=Lookups())
    assert [row for row, _c in done] == [3] and [(row, e.field) for row, e in failed] == [(2, "source_id")]
    assert Complaint.objects.count() == 2
    assert ImportedRecord.objects.filter(source_id="GD-001").count() == 1
    assert Complaint.objects.order_by("id").first().events.count() == events_before
    assert NumberSequence.objects.get(month="202503").last == 2  # the refused row's serial given back
