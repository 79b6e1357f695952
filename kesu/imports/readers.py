"""Reading a legacy file as rows: CSV in the encodings Chinese legacy systems write (UTF-8 with
or without BOM, GB18030 — a superset of GBK and GB2312 — and Excel's UTF-16 tab-separated
"Unicode text") and Excel .xlsx (openpyxl's read-only
streaming mode, so a large sheet is never held in memory).

Row numbers are what a user sees when they open the file in Excel: the header is row 1, the
first record row 2 (a CSV record with line breaks inside a quoted cell is still one row).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Self

from django.utils.translation import gettext as _

from kesu.lib.errors import Invalid

CHUNK = 1 << 20
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old binary .xls / .doc

csv.field_size_limit(10 * CHUNK)  # legacy narratives run to tens of thousands of characters


@dataclass
class SourceFile:
    path: Path
    kind: str  # "csv" or "xlsx"
    sha256: str
    encoding: str | None  # csv only
    size: int


def inspect(path: Path, encoding: str | None = None) -> SourceFile:
    """Hash the file, decide its kind by content (not only by name) and, for CSV, its encoding.
    Raises Invalid (field ``file``) for an empty, missing or unsupported file."""
    try:
        size = path.stat().st_size
        handle = path.open("rb")
    except OSError as exc:
        raise Invalid(_("Cannot read %(file)s: %(error)s") % {"file": path, "error": exc.strerror or exc},
                      field="file") from None
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8, head = True, b""
    with handle:
        while chunk := handle.read(CHUNK):
            if not head:
                head = chunk[:8]
            digest.update(chunk)
            if is_utf8:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
    if size == 0 or not head.strip():
        raise Invalid(_("The file %(file)s is empty.") % {"file": path.name}, field="file")
    if head.startswith(ZIP_MAGIC):
        if path.suffix.lower() not in (".xlsx", ".xlsm"):
            raise Invalid(_("%(file)s is a ZIP archive, not a CSV or .xlsx file.") % {"file": path.name},
                          field="file")
        return SourceFile(path, "xlsx", digest.hexdigest(), None, size)
    if head.startswith(OLE_MAGIC):
        raise Invalid(_("%(file)s is an old binary Excel (.xls) file: save it as .xlsx or CSV first.")
                      % {"file": path.name}, field="file")
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        raise Invalid(_("%(file)s is named like an Excel file but is not one.") % {"file": path.name},
                      field="file")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and encoding is None:
        # Excel's "Unicode text" (Unicode 文本) export: UTF-16 with a BOM, tab-separated.
        return SourceFile(path, "csv", digest.hexdigest(), "utf-16", size)
    if b"\x00" in head:
        raise Invalid(_("%(file)s is not a text (CSV) file.") % {"file": path.name}, field="file")
    if encoding is None:
        if head.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        else:
            encoding = "utf-8" if is_utf8 else "gb18030"
    else:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise Invalid(_("Unknown encoding “%(encoding)s”.") % {"encoding": encoding},
                          field="encoding") from None
        if encoding.lower().replace("_", "-") in ("utf-8", "utf8") and head.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
    return SourceFile(path, "csv", digest.hexdigest(), encoding, size)


def _cell(value: Any) -> Any:
    """Excel cells keep their type (dates, numbers); everything else becomes text."""
    if value is None:
        return ""
    if isinstance(value, (datetime, date)):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 13812345678 stored as a number, or an id column
    return str(value)


class Rows:
    """Header and rows of a source file. Use as a context manager; iterate for (row, dict)."""

    def __init__(self, source: SourceFile, *, sheet: str | None = None) -> None:
        self.source = source
        self.sheet = sheet
        self._close: Any = None
        self.header: list[str] = []
        self._iter: Iterator[tuple[int, dict[str, Any]]] = iter(())

    def __enter__(self) -> Self:
        if self.source.kind == "csv":
            self._open_csv()
        else:
            self._open_xlsx()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._close is not None:
            self._close()

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        return self._iter

    def _open_csv(self) -> None:
        handle = self.source.path.open(encoding=self.source.encoding, newline="", errors="strict")
        self._close = handle.close
        try:
            first = handle.readline()
        except UnicodeDecodeError:
            raise Invalid(_("The file is not in the %(encoding)s encoding; give the right one with --encoding.")
                          % {"encoding": self.source.encoding}, field="encoding") from None
        handle.seek(0)
        # Tab-separated when the header has tabs and no commas (Excel's "Unicode text").
        reader = csv.reader(handle, delimiter="\t" if "\t" in first and "," not in first else ",")
        try:
            header = next(reader, None)
        except UnicodeDecodeError:
            raise Invalid(_("The file is not in the %(encoding)s encoding; give the right one with --encoding.")
                          % {"encoding": self.source.encoding}, field="encoding") from None
        if not header or not any(h.strip() for h in header):
            raise Invalid(_("The file %(file)s has no header row.") % {"file": self.source.path.name},
                          field="file")
        self.header = [h.strip() for h in header]

        def rows() -> Iterator[tuple[int, dict[str, Any]]]:
            number = 1
            try:
                for record in reader:
                    number += 1
                    if not any(v.strip() for v in record):
                        continue  # blank line: nothing to import, nothing to reject
                    yield number, dict(zip(self.header, record))
            except UnicodeDecodeError:
                raise Invalid(_("Row %(row)d is not in the %(encoding)s encoding; give the right one with --encoding.")
                              % {"row": number + 1, "encoding": self.source.encoding}, field="encoding") from None

        self._iter = rows()

    def _open_xlsx(self) -> None:
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            book = load_workbook(self.source.path, read_only=True, data_only=True)
        except (InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise Invalid(_("%(file)s cannot be read as an Excel workbook: %(error)s")
                          % {"file": self.source.path.name, "error": exc}, field="file") from None
        self._close = book.close
        if self.sheet:
            if self.sheet not in book.sheetnames:
                raise Invalid(_("The workbook has no sheet “%(sheet)s”.") % {"sheet": self.sheet}, field="sheet")
            ws = book[self.sheet]
        else:
            ws = book.worksheets[0]
        values = ws.iter_rows(values_only=True)
        header = next(values, None)
        if not header or not any(h not in (None, "") for h in header):
            raise Invalid(_("The file %(file)s has no header row.") % {"file": self.source.path.name},
                          field="file")
        self.header = [str(h).strip() if h is not None else "" for h in header]

        def rows() -> Iterator[tuple[int, dict[str, Any]]]:
            for number, record in enumerate(values, start=2):
                cells = [_cell(v) for v in record]
                if not any(c != "" for c in cells):
                    continue
                yield number, dict(zip(self.header, cells))

        self._iter = rows()


def count_rows(source: SourceFile, *, sheet: str | None = None) -> int | None:
    """Rows to import, for the progress bar: a fast pass over a CSV; the sheet's recorded size
    for a workbook (None when it does not record one)."""
    if source.kind == "csv":
        with source.path.open(encoding=source.encoding, newline="", errors="replace") as handle:
            first = handle.readline()
            handle.seek(0)
            delimiter = "\t" if "\t" in first and "," not in first else ","
            return max(sum(1 for _ in csv.reader(handle, delimiter=delimiter)) - 1, 0)
    from openpyxl import load_workbook

    book = load_workbook(source.path, read_only=True)
    try:
        ws = book[sheet] if sheet and sheet in book.sheetnames else book.worksheets[0]
        return max(ws.max_row - 1, 0) if ws.max_row else None
    finally:
        book.close()
