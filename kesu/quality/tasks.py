"""Huey tasks for CAPA. Thin: they call ``actions.remind_due_actions`` (STYLE §4)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from . import actions

log = logging.getLogger(__name__)


@db_periodic_task(crontab(hour="1", minute="13"))  # 09:13 in Shanghai: the start of a working day
@lock_task("kesu-remind-capa")
def remind_capa_actions() -> int:
    """Daily: the owners of CAPA actions due by tomorrow or overdue are reminded (R-IV-3's due
    dates). Idempotent within a day."""
    due = actions.remind_due_actions()
    if due:
        log.info("remind_capa: %d actions due or overdue", len(due))
    return len(due)
