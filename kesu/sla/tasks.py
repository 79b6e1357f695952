"""Huey tasks for time limits. Thin: they call ``sweep.run`` (STYLE §4)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from . import sweep

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*"))
@lock_task("kesu-sla-sweep")
def sweep_deadlines() -> int:
    """Every minute (R-SLA-9). The lock keeps a slow pass from overlapping the next one on
    this broker; the sweep's conditional claims keep two brokers or a manual run safe too."""
    result = sweep.run()
    if result.errors:
        log.warning("sla sweep: %d rows failed: %s", len(result.errors), result.errors[:5])
    return result.total
