"""Helpers of the sweep tests."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import connection

from conftest import intake
from kesu.complaints import actions
from kesu.complaints.models import Complaint
from kesu.sla import sweep

SH = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def register(org, n: int, when: datetime) -> Complaint:
    return actions.register(intake(contact_phone=f"1390000{n:04d}", order_number=f"DD-{n}",
                                   summary=f"第{n}台冰箱不制冷", description=f"冰箱{n}"),
                            by=org["clerk"], now=when).complaint


def sweep_in_two_threads(now: datetime) -> list[sweep.SweepResult]:
    """Two workers sweeping at the same moment, each on its own database connection."""
    barrier = threading.Barrier(2)
    results: list[sweep.SweepResult] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(sweep.run(now))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
