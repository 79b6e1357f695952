"""``kesu deliver_outbox``: deliver every notification that is due now, then exit.

What the worker's periodic task does, for a host without a worker or to flush the outbox by
hand after fixing the mail settings. Safe beside a running worker (rows are claimed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kesu.comms import delivery


class Command(BaseCommand):
    help = "Deliver the notifications that are due now (R-CM-5)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=200, help="rows per batch (default 200)")

    def handle(self, *args: Any, limit: int, **options: Any) -> None:
        total = 0
        while attempted := delivery.deliver_due(limit=limit):
            total += attempted
        self.stdout.write(f"{total} notification(s) attempted")
