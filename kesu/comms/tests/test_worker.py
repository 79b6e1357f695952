"""The worker: Huey on SQLite by default and on Redis with KESU_REDIS_URL (R-CM-5), `kesu worker`
loading every app's tasks, and `kesu run` supervising the web server and the worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone
from huey import RedisHuey

from kesu.comms import delivery, outbox
from kesu.comms.models import Kind, State
from kesu.comms.tests.conftest import free_port
from kesu.worker import SqliteHuey as KesuSqliteHuey

REPO = Path(__file__).resolve().parents[3]
REDIS_URL = os.environ.get("KESU_REDIS_URL", "")


def test_r_cm_5_huey_storage_follows_kesu_redis_url():
    from huey.contrib.djhuey import HUEY

    if REDIS_URL:
        assert django_settings.HUEY["huey_class"] == "huey.RedisHuey"
        assert isinstance(HUEY, RedisHuey)
    else:
        assert django_settings.HUEY["huey_class"] == "kesu.worker.SqliteHuey"
        assert isinstance(HUEY, KesuSqliteHuey)
    if not REDIS_URL:
        assert django_settings.HUEY["connection"]["filename"].startswith(
            str(django_settings.DATA_DIR)
        )


def test_r_cm_5_worker_loads_the_tasks_of_every_app():
    from django.utils.module_loading import autodiscover_modules
    from huey.contrib.djhuey import HUEY

    autodiscover_modules("tasks")  # what run_huey does before it starts consuming
    names = set(HUEY._registry._registry)
    assert "kesu.comms.tasks.deliver_notification" in names
    assert "kesu.comms.tasks.deliver_outbox" in names
    periodic = {t.name for t in HUEY._registry.periodic_tasks}
    assert "deliver_outbox" in periodic


def queue_roundtrip(huey, register, smtp_server) -> None:
    """Enqueue a delivery on ``huey``'s real storage, take it off the queue as a consumer
    does, run it: the notification arrives."""
    task_fn = huey.task(name="deliver_notification_test")(delivery.deliver)
    complaint = register(contact_phone="", other_contact="queue@example.com")
    with transaction.atomic():  # the test transaction never commits: nothing is sent yet
        [row] = outbox.to_customer(
            complaint, Kind.PROGRESS, {}, now=timezone.now(), dedupe_key="w:queue"
        )
    assert row.status == State.PENDING and smtp_server.messages == []

    task_fn(row.pk)
    assert huey.pending_count() == 1
    task = huey.dequeue()
    assert task is not None and task.args == (row.pk,)
    huey.execute(task)
    row.refresh_from_db()
    assert row.status == State.SENT
    assert [m["Message-ID"] for m in smtp_server.messages] == [row.message_id]


@pytest.mark.skipif(
    not REDIS_URL,
    reason="KESU_REDIS_URL is not set: run `make test-redis` "
    "(scripts/with-redis.sh starts a throwaway redis-server)",
)
def test_r_cm_5_redis_huey_enqueues_and_dequeues(register, smtp_server):
    huey = RedisHuey(f"kesu-test-{uuid.uuid4().hex[:8]}", url=REDIS_URL, results=False)
    try:
        queue_roundtrip(huey, register, smtp_server)
    finally:
        huey.storage.flush_all()


def test_r_cm_5_sqlite_huey_enqueues_and_dequeues(register, smtp_server, tmp_path):
    huey = KesuSqliteHuey("kesu-test", filename=str(tmp_path / "huey.sqlite3"), results=False)
    # The queue commits without an fsync (it is a hint; the outbox row is the record).
    assert huey.storage.conn.execute("pragma synchronous").fetchone()[0] == 1
    queue_roundtrip(huey, register, smtp_server)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_kesu_run_starts_web_server_and_worker_and_stops_both(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KESU_DATABASE_URL"}
    env.update(
        KESU_DATA_DIR=str(tmp_path),
        KESU_HUEY_NAME=f"kesu-run-{uuid.uuid4().hex[:8]}",
        KESU_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="kesu.settings",
    )
    port = free_port()
    log = (tmp_path / "run.log").open("wb")
    parent = subprocess.Popen(
        [sys.executable, "-m", "kesu.cli", "run", f"127.0.0.1:{port}"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        healthy = False
        while time.monotonic() < deadline and not healthy:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz", timeout=1
                ) as response:
                    healthy = response.status == 200
            except OSError:
                time.sleep(0.2)
        assert healthy, (tmp_path / "run.log").read_text()
        children = _children(parent.pid)
        assert len(children) == 2
        time.sleep(1)
        assert all(_alive(c) for c in children)
        assert (tmp_path / "huey.sqlite3").exists() or REDIS_URL  # the worker opened its queue

        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=45) == 0
        deadline = time.monotonic() + 5
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(c) for c in children)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        log.close()


def test_r_cm_5_a_starting_worker_looks_again_once_a_dead_workers_claim_is_stale(
    monkeypatch, settings, huey_immediate
):
    """After a crash the restarted worker must not wait for the minute tick to resend the row
    the dead worker held: its startup hook schedules a sweep just after the claim timeout."""
    from kesu.comms import tasks

    settings.KESU_NOTIFY_CLAIM_TIMEOUT = 7
    scheduled: list[dict] = []
    monkeypatch.setattr(tasks.deliver_outbox, "schedule", lambda **kw: scheduled.append(kw))
    monkeypatch.setattr(tasks, "_recovery_scheduled", False)
    monkeypatch.setattr(huey_immediate, "_immediate", False)  # as in the consumer
    assert tasks.schedule_recovery in huey_immediate._startup.values()
    tasks.schedule_recovery()
    tasks.schedule_recovery()  # once per process, not once per worker thread
    assert scheduled == [{"delay": 8}]
