"""``kesu import_holidays FILE [--year Y] [--for-real]``: load a year's statutory holidays and
调休 working days from a simple date list, for a year the ``chinese-calendar`` package does not
know yet (SPEC §4).

One line per day, ``#`` starts a comment::

    # 2027, from the State Council notice
    2027-01-01,holiday,元旦
    2027-02-07,workday,春节调休

Every line is checked first; if any is bad the command lists them all and writes nothing. Dry
run unless ``--for-real`` (STYLE §9). Writing marks the year(s) covered, which ends the
administrators' "falls back to Monday–Friday" warning. The file is UTF-8, or GB18030 as saved by
a Chinese Excel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kesu.sla import calendar


def read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


class Command(BaseCommand):
    help = ("Import a year's holidays and 调休 working days from a date list "
            "(dry run unless --for-real).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="lines like 2027-01-01,holiday,元旦")
        parser.add_argument("--year", type=int,
                            help="every date must be in this year; it is marked covered")
        parser.add_argument("--for-real", action="store_true", help="write to the database")

    def handle(self, *args: Any, file: Path, year: int | None, for_real: bool,
               **options: Any) -> None:
        try:
            text = read_text(file)
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror or exc}") from exc
        entries, errors = calendar.parse_date_list(text, year=year)
        if errors:
            lines = "\n".join(f"  line {e.line}: {e.reason}" if e.line else f"  {e.reason}"
                              for e in errors)
            raise CommandError(f"{file}: {len(errors)} bad line(s), nothing imported:\n{lines}")
        years = [year] if year is not None else None
        if not for_real:
            found = sorted({e.date.year for e in entries} | set(years or []))
            holidays = sum(not e.is_working for e in entries)
            self.stdout.write(
                f"Would import {len(entries)} days for {', '.join(map(str, found))}: "
                f"{holidays} holidays, {len(entries) - holidays} working days. "
                "Run again with --for-real to write them.")
            return
        result = calendar.import_days(entries, years=years)
        removed = (f"; removed {result.removed} earlier imported days no longer listed"
                   if result.removed else "")
        self.stdout.write(self.style.SUCCESS(
            f"Imported {result.holidays} holidays and {result.workdays} working days for "
            f"{', '.join(map(str, result.years))}{removed}."))
