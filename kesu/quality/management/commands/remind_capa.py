"""kesu remind_capa: remind the owners of CAPA actions due by tomorrow or overdue now (the worker
does it daily)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from kesu.quality import actions


class Command(BaseCommand):
    help = "Remind the owners of CAPA actions due by tomorrow or overdue (once a day per action)."

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.localdate()
        due = actions.remind_due_actions()
        for action in due:
            state = "overdue" if action.due_date < today else "due"
            self.stdout.write(f"{action.capa.number} #{action.pk} {state} {action.due_date} → {action.owner.username}")
        self.stdout.write(f"{len(due)} reminded")
