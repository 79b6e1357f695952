"""``kesu sweep``: one pass of the time-limit sweep now (the worker runs it every minute)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from kesu.sla import sweep


class Command(BaseCommand):
    help = "Run one pass of the time-limit sweep: warnings, breaches, escalations (R-SLA-9)."

    def handle(self, *args, **options) -> None:
        result = sweep.run()
        self.stdout.write(
            f"warned {result.warned}, breached {result.breached}, escalated {result.escalated}"
            + (f", {len(result.errors)} failed" if result.errors else "")
        )
