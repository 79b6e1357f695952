# ruff: noqa: N999 — the module is named after the command, `kesu import`
"""``kesu import FILE --mapping MAPPING``: legacy complaints from CSV or Excel (see the app's
README). Thin: parse the options, run ``importer.run_import``, write the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from kesu.imports import importer
from kesu.imports.mapping import load
from kesu.lib.errors import DomainError
from kesu.org.models import User


class Command(BaseCommand):
    help = ("Import legacy complaints from a CSV or .xlsx file with a column mapping "
            "(resumable; --dry-run only checks).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV (UTF-8, UTF-8 with BOM, GB18030) or .xlsx")
        parser.add_argument("--mapping", required=True,
                            help="a TOML mapping file, or a shipped one: cfpb, tipdm, kesu (Kesu's export)")
        parser.add_argument("--user", help="username the complaints are recorded by (default: the mapping's)")
        parser.add_argument("--encoding", help="CSV encoding (default: detected — UTF-8 or GB18030)")
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument("--report", type=Path,
                            help="where to list rejected rows (.csv or .json; default FILE-stem.rejected.csv here)")
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction")
        parser.add_argument("--limit", type=int, help="stop after this many rows (the next run continues)")
        parser.add_argument("--lang", default=None, help="language of messages and report (zh-hans, en)")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args: Any, file: Path, mapping: str, user: str | None, encoding: str | None,
               dry_run: bool, report: Path | None, batch_size: int, limit: int | None,
               lang: str | None, quiet: bool, **options: Any) -> None:
        translation.activate(lang or settings.LANGUAGE_CODE)
        try:
            loaded = load(mapping)
            username = user or loaded.user
            if not username:
                raise CommandError(_("Give --user: the mapping names no user to record the complaints."))
            by = User.objects.filter(username=username, is_active=True).first()
            if by is None:
                raise CommandError(_("No active user “%(user)s”.") % {"user": username})
            outcome = importer.run_import(file, loaded, by=by, dry_run=dry_run, encoding=encoding,
                                          batch_size=max(batch_size, 1), limit=limit, quiet=quiet)
        except DomainError as exc:
            where = f" [{exc.field}]" if exc.field else ""
            raise CommandError(f"{file}{where}: {exc.message}") from None
        report_path = report or Path(f"{file.stem}.rejected.csv")
        if outcome.rejections:
            importer.write_report(outcome, report_path)
        self.stdout.write(importer.summary(outcome, report_path if outcome.rejections else None))
