"""Huey tasks for follow-up. Thin: they call ``actions.close_declined`` (STYLE §4)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from . import actions

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="7"))
@lock_task("kesu-close-declined")
def close_declined_follow_ups() -> int:
    """Hourly (R-FU-4): complaints whose customer declined a follow-up, closed 7 days after the
    reply when no repeat complaint arrived. Idempotent; a manual ``kesu close_declined`` beside
    it is safe too."""
    result = actions.close_declined()
    if result.waiting:
        log.info("close_declined: %d waiting: %s", len(result.waiting), result.waiting[:5])
    return len(result.closed)
