"""Export to CSV and Excel — from the API and ``kesu export`` — scoped to what the user may see
(R-AX-1), personal data masked for roles without need and every export logged (R-AX-2), in
columns that ``kesu import --mapping kesu`` reads back (round trip)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import load_workbook

from kesu.complaints.models import Complaint, Status
from kesu.imports import export, synthetic
from kesu.imports.columns import COLUMNS
from kesu.imports.models import ExportLog, ImportedRecord


def csv_rows(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel needs the BOM to show Chinese
    return list(csv.reader(io.StringIO(text[1:])))


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def complaints(register, org):
    mine = register(summary="电饭煲不加热", contact_phone="13812345678", address="北京市朝阳区建国路88号")
    other = register(by=org["outsider"], summary="上海门店的空调漏水", contact_phone="13900001111",
                     unit="sh")
    return mine, other


def test_r_ax_1_api_export_is_scoped_to_what_the_user_may_see(api, complaints):
    mine, other = complaints
    response = api("handler").get("/complaints/export", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(body(response))
    assert rows[0][0] == "投诉编号" and len(rows[0]) == len(COLUMNS) + 2
    assert [r[0] for r in rows[1:]] == [mine.number]

    everything = csv_rows(body(api("gm").get("/complaints/export", {"format": "csv"})))
    assert {r[0] for r in everything[1:]} == {mine.number, other.number}


def test_r_ax_2_personal_data_masked_for_roles_without_need_and_every_export_logged(api, complaints):
    mine, _other = complaints
    phone, address = COLUMNS.index(next(c for c in COLUMNS if c.field == "contact_phone")), \
        COLUMNS.index(next(c for c in COLUMNS if c.field == "address"))

    audited = csv_rows(body(api("auditor").get("/complaints/export", {"format": "csv"})))
    row = next(r for r in audited if r[0] == mine.number)
    assert row[phone] == "138****5678" and "88号" not in row[address]
    log = ExportLog.objects.get(user__username="auditor")
    assert (log.personal_data, log.rows, log.via, log.format) == (False, 2, "api", "csv")

    handled = csv_rows(body(api("handler").get("/complaints/export", {"format": "csv"})))
    assert handled[1][phone] == "13812345678" and handled[1][address] == "北京市朝阳区建国路88号"
    log = ExportLog.objects.get(user__username="handler")
    assert log.personal_data is True and log.rows == 1

    masked = csv_rows(body(api("handler").get("/complaints/export", {"format": "csv", "masked": "true"})))
    assert masked[1][phone] == "138****5678"
    assert ExportLog.objects.filter(user__username="handler", personal_data=False).count() == 1


def test_api_export_xlsx(api, complaints):
    response = api("gm").get("/complaints/export", {"format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    content = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "投诉编号" and len(rows) == 3
    assert {"电饭煲不加热", "上海门店的空调漏水"} <= {r[12] for r in rows[1:]}


def test_api_export_filters_and_bad_filters(api, complaints, org):
    _mine, other = complaints
    rows = csv_rows(body(api("gm").get("/complaints/export", {"format": "csv", "unit": "sh"})))
    assert [r[0] for r in rows[1:]] == [other.number]
    rows = csv_rows(body(api("gm").get("/complaints/export", {"state": "closed"})))
    assert rows[1:] == []
    future = (timezone.now() + timedelta(days=1)).isoformat()
    rows = csv_rows(body(api("gm").get("/complaints/export", {"received_from": future})))
    assert rows[1:] == []
    bad = api("gm").get("/complaints/export", {"unit": "nowhere"})
    assert bad.status_code == 422 and bad.json()["field"] == "unit"
    bad = api("gm").get("/complaints/export", {"format": "pdf"})
    assert bad.status_code == 422
    assert ExportLog.objects.filter(user=org["gm"]).count() == 3  # refused exports log nothing


def test_export_needs_login(client, complaints):
    assert client.get("/api/v1/complaints/export").status_code == 401


def test_export_reads_by_keyset_one_query_per_chunk(org, tmp_path, django_assert_num_queries):
    """Constant memory at any size: chunks by ``id > last``, never OFFSET."""
    call_command("import", str(synthetic.write(tmp_path / "s.csv", 7)), mapping="kesu", user="clerk",
                 quiet=True, stdout=io.StringIO())
    qs = Complaint.objects.all()
    with django_assert_num_queries(4):  # 3 chunks of 3, 3, 1 and the empty one that ends it
        numbers = [c.number for c in export.iterate(qs, chunk=3)]
    assert numbers == list(qs.order_by("id").values_list("number", flat=True))


def test_command_export_and_round_trip(org, register, tmp_path):
    """An export re-imports with the ``kesu`` mapping into the same complaints (state, times,
    contacts, category, texts), in Chinese or English headers."""
    register(summary="电饭煲不加热", contact_phone="13812345678", address="北京市朝阳区建国路88号",
             product="电饭煲 RC-3000", purchase_amount="399.00")
    # A customer's text that a spreadsheet would run as a formula, and an international number.
    register(summary='=HYPERLINK("http://evil.example","点我")', customer_name="Anna", contact_phone="+4915112345678")
    call_command("import", str(synthetic.write(tmp_path / "legacy.csv", 30)), mapping="kesu", user="clerk",
                 quiet=True, stdout=io.StringIO())
    originals = list(Complaint.objects.order_by("id"))
    assert {c.status for c in originals} >= {Status.CLOSED, Status.REGISTERED}

    generation = originals
    for lang, fmt in (("zh-hans", "csv"), ("en", "xlsx")):
        out = tmp_path / f"export-{lang}.{fmt}"
        stdout = io.StringIO()
        call_command("export", str(out), user="manager", lang=lang, stdout=stdout)
        assert str(Complaint.objects.count()) in stdout.getvalue()
        if fmt == "csv":
            assert "'=HYPERLINK" in out.read_text(encoding="utf-8-sig") and "'+4915112345678" in out.read_text(encoding="utf-8-sig")
        else:
            cells = [c for row in load_workbook(out).worksheets[0].iter_rows() for c in row
                     if str(c.value).startswith("=HYPERLINK")]
            assert cells and all(c.data_type == "s" for c in cells)  # text, never a formula
        before = Complaint.objects.count()
        call_command("import", str(out), mapping="kesu", user="clerk", quiet=True, stdout=io.StringIO(),
                     report=tmp_path / "r.csv")
        # Each export holds the complaints of every earlier round; only the newest are new.
        assert Complaint.objects.count() == before + 32
        copies = {r.source_id: r.complaint for r in ImportedRecord.objects.filter(
            source="kesu", source_id__in=[c.number for c in generation]).select_related("complaint")}
        for original in generation:
            copy = copies[original.number]
            for name in ("status", "channel", "category_id", "received_at", "closed_at", "customer_name",
                         "contact_phone", "address", "summary", "description", "product", "order_number",
                         "purchase_amount", "demand", "unit_id", "level"):
                want = getattr(original, name)
                if name.endswith("_at") and want is not None:
                    want = want.replace(microsecond=0)  # exports show times to the second
                assert getattr(copy, name) == want, (original.number, name)
            assert copy.customer_id == original.customer_id  # deduplicated by phone
        generation = [copies[c.number] for c in generation]
    assert ExportLog.objects.filter(via="command", personal_data=True).count() == 2


def test_command_export_refuses_bad_options(org, tmp_path):
    with pytest.raises(CommandError):
        call_command("export", str(tmp_path / "x.pdf"), user="manager", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("export", str(tmp_path / "x.csv"), user="nobody", stdout=io.StringIO())
    with pytest.raises(CommandError, match="unit"):
        call_command("export", str(tmp_path / "x.csv"), user="manager", unit="nowhere", stdout=io.StringIO())
    assert not Path(tmp_path / "x.csv").exists()


def test_admin_shows_export_log_and_import_jobs_read_only(client, org, api, complaints):
    from kesu.org.models import User

    api("handler").get("/complaints/export")
    User.objects.create_superuser("root", password="x-pass-1")
    client.login(username="root", password="x-pass-1")
    page = client.get("/admin/imports/exportlog/")
    assert page.status_code == 200 and "handler" in page.content.decode()
    assert client.get("/admin/imports/importjob/").status_code == 200
    assert client.get("/admin/imports/exportlog/add/").status_code == 403
