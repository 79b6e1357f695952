"""Exporting complaints to CSV or Excel in the columns of the import mapping (``columns.py``).

Streaming at constant memory: complaints are read in keyset chunks (``id > last`` in id order,
never OFFSET), each chunk is written and dropped. CSV goes out row by row; an .xlsx is a ZIP
archive that cannot be sent before it is complete, so openpyxl's write-only workbook writes it
to a temporary file first (it too holds one row at a time).

R-AX-2: phone numbers, other contacts and addresses are masked unless the user's role needs
them (the roles that may reveal a contact); an export is recorded in ExportLog before its
first row leaves, with whether it carried personal data, and its row count when it finished.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kesu import replica
from kesu.complaints.models import Complaint
from kesu.lib.phones import mask_address, mask_phone
from kesu.org.models import CONTACT_ROLES, User

from . import actions
from .columns import COLUMNS, DATE_FORMAT, DATETIME_FORMAT, headers
from .mapping import FORMULA_START

CHUNK = 2000
FORMATS = ("csv", "xlsx")


def may_export_personal_data(user: User) -> bool:
    """R-AX-2: the roles whose work needs full contacts (those that may reveal one on a page)."""
    return user.role in CONTACT_ROLES or user.is_superuser


def iterate(qs: QuerySet[Complaint], chunk: int = CHUNK) -> Iterator[Complaint]:
    """Every complaint of ``qs`` in id order, ``chunk`` at a time by keyset: memory stays at one
    chunk and each query costs the same at row 10 and row 1,000,000."""
    qs = qs.select_related("category", "unit", "owner", "imported_from").order_by("id")
    last = 0
    while True:
        rows = list(qs.filter(id__gt=last)[:chunk])
        if not rows:
            return
        yield from rows
        last = rows[-1].pk


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime(DATETIME_FORMAT)
    if isinstance(value, date):
        return value.strftime(DATE_FORMAT)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if value is None:
        return ""
    return value


def row_of(c: Complaint, *, personal: bool) -> list[Any]:
    values: list[Any] = []
    for column in COLUMNS:
        if column.field == "source_id":
            value: Any = c.number
        elif column.field == "category":
            value = c.category.label
        elif column.field == "unit":
            value = c.unit.code
        else:
            value = getattr(c, column.field)
        if column.choices is not None and value not in ("", None):
            value = str(column.choices(value).label)
        if not personal and value:
            if column.personal == "phone":
                value = mask_phone(value)
            elif column.personal == "address":
                value = mask_address(value)
        values.append(_plain(value))
    legacy = getattr(c, "imported_from", None)
    values.append(c.owner.username)
    values.append(legacy.source_id if legacy is not None else "")
    return values


# Cells a spreadsheet would run as a formula ("=HYPERLINK(…)" typed by a customer): CSV cells
# get a leading apostrophe (OWASP's advice), which the ``kesu`` mapping takes off again.
def defuse(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _text_cell(sheet: Any, value: Any) -> Any:
    """In .xlsx a string starting with "=" would be stored as a formula; store it as text."""
    if isinstance(value, str) and value.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


@dataclass
class Export:
    """One export: the rows to write and the log row that records it."""

    qs: QuerySet[Complaint]
    personal: bool
    log: actions.ExportLog

    def rows(self) -> Iterator[list[Any]]:
        count = 0
        # An export may be a moment old, like a list: from the read replica when there is one.
        with replica.reads():
            for complaint in iterate(self.qs):
                count += 1
                yield row_of(complaint, personal=self.personal)
        actions.finish_export(self.log, count)

    def csv_chunks(self) -> Iterator[bytes]:
        """UTF-8 with a BOM, so that Excel opens the Chinese correctly; ~64 KB per chunk."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow(headers())
        for row in self.rows():
            writer.writerow([defuse(v) for v in row])
            if buffer.tell() > 65536:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")

    def write_csv(self, out: IO[bytes]) -> None:
        for chunk in self.csv_chunks():
            out.write(chunk)

    def write_xlsx(self, out: IO[bytes] | Path) -> None:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(str(_("Complaints")))
        sheet.append(headers())
        for row in self.rows():
            sheet.append([_text_cell(sheet, v) for v in row])
        book.save(out)

    def xlsx_file(self) -> IO[bytes]:
        """The workbook in a temporary file (deleted when closed), positioned at its start."""
        handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (the response closes it)
        self.write_xlsx(handle)  # type: ignore[arg-type]
        handle.seek(0)
        return handle


def start_export(qs: QuerySet[Complaint], *, by: User, fmt: str, via: str, filters: dict[str, Any],
                 masked: bool = False) -> Export:
    """``qs`` must already be scoped to what ``by`` may see (queries.visible_to)."""
    personal = may_export_personal_data(by) and not masked
    log = actions.log_export(by=by, fmt=fmt, via=via, filters=filters, personal_data=personal)
    return Export(qs, personal, log)
