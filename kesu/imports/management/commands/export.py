"""``kesu export --user USER --format csv|xlsx [filters] OUT``: complaints in the columns of the
import mapping ``kesu``, scoped to what USER may see, personal data masked unless USER's role
needs it; every export is logged (R-AX-2)."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kesu.complaints import queries
from kesu.imports.export import FORMATS, start_export
from kesu.lib.errors import DomainError
from kesu.org.models import User


def _day(value: str) -> datetime:
    """A date (start of that day, Asia/Shanghai) or an ISO datetime."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value}) from None
    if len(value) <= 10:
        parsed = datetime.combine(parsed.date(), time())
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


class Command(BaseCommand):
    help = "Export complaints to CSV or Excel (the columns `kesu import --mapping kesu` reads)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", type=Path, help="file to write")
        parser.add_argument("--user", required=True, help="export what this user may see, as this user")
        parser.add_argument("--format", choices=FORMATS, help="default: from OUT's extension")
        parser.add_argument("--state", action="append", help="state code (repeatable)")
        parser.add_argument("--channel", action="append", help="channel code (repeatable)")
        parser.add_argument("--level", action="append", type=int, help="1, 2 or 3 (repeatable)")
        parser.add_argument("--category", help="category code (with its sub-categories)")
        parser.add_argument("--unit", help="unit code (with its sub-units)")
        parser.add_argument("--received-from", type=_day, help="received on or after (YYYY-MM-DD)")
        parser.add_argument("--received-to", type=_day, help="received before (YYYY-MM-DD)")
        parser.add_argument("--q", help="Chinese full text")
        parser.add_argument("--masked", action="store_true", help="mask personal data even if USER may see it")
        parser.add_argument("--lang", default=None, help="language of headers and labels (zh-hans, en)")

    def handle(self, *args: Any, out: Path, user: str, format: str | None, masked: bool,
               lang: str | None, **options: Any) -> None:
        translation.activate(lang or settings.LANGUAGE_CODE)
        fmt = format or out.suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            raise CommandError(_("Give --format csv or xlsx, or name the file .csv or .xlsx."))
        by = User.objects.filter(username=user, is_active=True).first()
        if by is None:
            raise CommandError(_("No active user “%(user)s”.") % {"user": user})
        filters = {k: options.get(k) for k in ("state", "channel", "level", "category", "unit",
                                               "received_from", "received_to", "q")}
        try:
            qs = queries.filter_complaints(queries.visible_to(by), now=timezone.now(), **filters)
        except DomainError as exc:
            raise CommandError(f"--{(exc.field or '').replace('_', '-')}: {exc.message}") from None
        export = start_export(qs, by=by, fmt=fmt, via="command", filters=filters, masked=masked)
        with out.open("wb") as handle:
            if fmt == "csv":
                export.write_csv(handle)
            else:
                export.write_xlsx(handle)
        export.log.refresh_from_db()
        note = (_("personal data included; the export is logged") if export.personal
                else _("personal data masked"))
        self.stdout.write(_("%(file)s: %(n)d complaints (%(note)s).")
                          % {"file": out, "n": export.log.rows or 0, "note": note})
