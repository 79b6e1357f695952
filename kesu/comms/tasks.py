"""Huey tasks for the outbox. Thin: they take ids and call ``delivery`` (STYLE §4).

``kesu worker`` (djhuey's ``run_huey``) imports every installed app's ``tasks`` module, so the
SLA sweep in ``kesu/sla/tasks.py`` runs in the same worker.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task, on_startup

from . import delivery

log = logging.getLogger(__name__)

# One run of the periodic task stops after this long so that it never overlaps the next one by
# much; what is left is picked up a minute later.
SWEEP_BUDGET_SECONDS = 50


@db_task()
def deliver_notification(notification_id: int) -> None:
    """Enqueued by the outbox after the writing transaction commits."""
    delivery.deliver(notification_id)


@db_periodic_task(crontab(minute="*"))
def deliver_outbox() -> int:
    """Every minute: rows whose immediate task was lost (broker down, worker killed), rows
    whose backoff has run out, and rows a dead worker had claimed."""
    started = time.monotonic()
    total = 0
    while time.monotonic() - started < SWEEP_BUDGET_SECONDS:
        attempted = delivery.deliver_due(limit=200)
        total += attempted
        if attempted == 0:
            break
    return total


_recovery_scheduled = False


@on_startup()
def schedule_recovery() -> None:
    """A worker that starts may be replacing one that was killed mid-send. Its claim becomes
    stale after KESU_NOTIFY_CLAIM_TIMEOUT: look again just after that instead of waiting for
    the next minute tick. (Runs once per worker thread; once per process is enough.)"""
    global _recovery_scheduled
    if _recovery_scheduled or HUEY.immediate:
        return
    _recovery_scheduled = True
    deliver_outbox.schedule(delay=settings.KESU_NOTIFY_CLAIM_TIMEOUT + 1)
