"""kesu close_declined: one pass of the R-FU-4 automatic close now (the worker runs it hourly)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kesu.followups import actions


class Command(BaseCommand):
    help = "Close complaints whose customer declined a follow-up, 7 days after the reply if no repeat complaint arrived."

    def handle(self, *args: Any, **options: Any) -> None:
        result = actions.close_declined()
        for number in result.closed:
            self.stdout.write(f"closed {number}")
        for number in result.cancelled:
            self.stdout.write(f"cancelled {number} (repeat complaint or reopened)")
        for number, why in result.waiting:
            self.stdout.write(f"waiting {number}: {why}")
        self.stdout.write(f"{len(result.closed)} closed, {len(result.cancelled)} cancelled, "
                          f"{len(result.waiting)} waiting")
