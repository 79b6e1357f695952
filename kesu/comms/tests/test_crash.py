"""R-CM-5 crash test: SIGKILL the worker while it delivers 1,000 queued notifications, start it
again, and check at the SMTP server that every notification arrived, none twice — except at most
the one in flight at the kill, which then carries the same Message-ID.

Everything is real: `kesu migrate`, the outbox writing 1,000 rows in one transaction and
enqueueing them on commit, `kesu worker` (Huey: SQLite queue, or Redis under `make
test-redis`) in a subprocess, one SMTP connection per message to aiosmtpd on loopback.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from kesu.comms.tests.conftest import free_port

REPO = Path(__file__).resolve().parents[3]
TOTAL = 1000
KILL_AFTER = 300  # messages received before the SIGKILL
CLAIM_TIMEOUT = 3  # seconds: how soon the restarted worker takes over the killed one's claim

SETUP = f"""
from django.db import transaction
from django.utils import timezone
from kesu.comms import outbox
from kesu.complaints.models import Category, Complaint
from kesu.org.models import Unit, User

now = timezone.now()
unit = Unit.objects.create(name="北京门店", code="bj")
user = User.objects.create(username="clerk", tier=1)  # no password: hashing one costs a second
complaint = Complaint.objects.create(
    number="TS20261100001", category=Category.objects.order_by("id").first(), channel="phone",
    customer_name="张伟", other_contact="zhang.wei@example.com", summary="电饭煲不加热",
    received_at=now, registered_at=now, recorded_by=user, first_responder=user, owner=user,
    unit=unit, updated_at=now,
)
with transaction.atomic():
    for i in range({TOTAL}):
        outbox.to_customer(complaint, "progress", {{"progress": f"第 {{i}} 次进展"}}, now=now,
                           dedupe_key=f"crash:{{i}}")
"""


class Recorder:
    def __init__(self) -> None:
        self.message_ids: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        match = re.search(
            rb"^Message-ID:\s*(<[^>]+>)", envelope.content, re.MULTILINE | re.IGNORECASE
        )
        with self.lock:
            self.message_ids.append(match.group(1).decode() if match else "")
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.message_ids)


def _kesu(env: dict[str, str], *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kesu.cli", *args],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def _rows(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return dict(
            conn.execute(
                "SELECT status, COUNT(*) FROM comms_notification GROUP BY status"
            ).fetchall()
        )


def _wait(condition: Any, timeout: float, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
            pytest.fail(f"timed out waiting for {what}\n{tails}")
        time.sleep(0.01)


@pytest.mark.crash
def test_r_cm_5_worker_killed_mid_delivery_loses_nothing_and_duplicates_at_most_one(tmp_path):
    recorder = Recorder()
    port = free_port()
    smtp = Controller(recorder, hostname="127.0.0.1", port=port)
    smtp.start()
    env = {
        k: v for k, v in os.environ.items() if k not in {"KESU_DATABASE_URL", "KESU_HUEY_IMMEDIATE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="kesu.settings",
        KESU_DATA_DIR=str(tmp_path),
        KESU_EMAIL_URL=f"smtp://127.0.0.1:{port}",
        KESU_EMAIL_FROM="kesu@example.com",
        KESU_NOTIFY_CLAIM_TIMEOUT=str(CLAIM_TIMEOUT),
        KESU_WORKERS="1",
        KESU_HUEY_NAME=f"kesu-crash-{uuid.uuid4().hex[:8]}",  # a private queue, also on Redis
        KESU_LOG_LEVEL="ERROR",
    )
    db = tmp_path / "kesu.sqlite3"
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    worker: subprocess.Popen | None = None
    try:
        started = time.monotonic()
        _kesu(env, "migrate", "--no-input")
        _kesu(env, "shell", "-c", SETUP)
        assert _rows(db) == {"pending": TOTAL}
        setup_seconds = time.monotonic() - started

        # 1. The worker delivers; kill it without warning in the middle.
        with logs[0].open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "kesu.cli", "worker"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait(lambda: recorder.count() >= KILL_AFTER, 60, f"{KILL_AFTER} messages", logs)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        at_kill = recorder.count()
        assert at_kill < TOTAL, "the worker finished before it could be killed"
        before_restart = _rows(db)

        # 2. Start it again: it works through the queue, then takes over the stale claim.
        with logs[1].open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "kesu.cli", "worker"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait(lambda: _rows(db) == {"sent": TOTAL}, 90, "every row sent", logs)
        time.sleep(0.5)  # anything still on the wire would show up as a duplicate
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=40)
        worker = None

        # 3. Count at the receiver, by Message-ID (a pure function of the dedupe key).
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            expected = {
                key: mid
                for key, mid in conn.execute(
                    "SELECT dedupe_key, message_id FROM comms_notification"
                )
            }
            sent_events = conn.execute(
                "SELECT COUNT(*) FROM complaints_timelineevent WHERE kind = 'notification_sent'"
            ).fetchone()[0]
        assert len(expected) == TOTAL
        for key, mid in expected.items():
            assert mid == f"<{hashlib.sha1(key.encode()).hexdigest()}@example.com>"
        received = Counter(recorder.message_ids)
        missing = set(expected.values()) - set(received)
        unexpected = set(received) - set(expected.values())
        duplicates = {mid: n for mid, n in received.items() if n > 1}
        print(
            f"\ncrash test: setup {setup_seconds:.1f}s, {at_kill} received before SIGKILL "
            f"(rows then: {before_restart}), {len(recorder.message_ids)} received in all, "
            f"{len(received)} distinct, {len(duplicates)} duplicated, "
            f"{time.monotonic() - started:.1f}s in all"
        )
        assert not missing and not unexpected
        assert len(duplicates) <= 1 and all(n == 2 for n in duplicates.values()), duplicates
        assert (
            sent_events == TOTAL
        )  # one NOTIFICATION_SENT per row on the timeline, even for the copy
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait()
        smtp.stop()
