"""The background worker and ``kesu run``.

    kesu worker [run_huey options]   the Huey consumer: outbox delivery, the SLA sweep, every
                                      app's tasks.py (SQLite queue by default, Redis with
                                      KESU_REDIS_URL)
    kesu run [ADDR:PORT]             the web server and the worker as two child processes;
                                      Ctrl-C or SIGTERM stops both

The Huey instance itself is djhuey's, built from ``settings.HUEY`` (``SqliteHuey`` below, or
``huey.RedisHuey``).
"""

from __future__ import annotations

import signal
import sqlite3
import sys
import time
from subprocess import Popen

import huey
from huey.storage import SqliteStorage

STOP_TIMEOUT = 40  # seconds; the worker's own graceful shutdown_timeout is 30


class SqliteQueueStorage(SqliteStorage):
    """Huey's SQLite queue with ``synchronous=NORMAL`` (WAL): a commit no longer waits for an
    fsync. Safe here because the queue is only a hint: the outbox row is the durable record, and
    a task lost in a power cut is picked up by the periodic deliver_outbox within a minute.
    (Huey's own ``fsync`` option offers only FULL — an fsync per enqueue and per dequeue, which
    on ordinary disks caps the worker at a few dozen tasks a second — or OFF.)"""

    def _create_connection(self) -> sqlite3.Connection:
        conn = super()._create_connection()
        conn.execute("pragma synchronous=1")
        return conn


class SqliteHuey(huey.SqliteHuey):
    """``settings.HUEY["huey_class"]`` when KESU_REDIS_URL is not set."""

    storage_class = SqliteQueueStorage


def worker_argv(args: list[str]) -> list[str]:
    """``kesu worker …`` as a Django command line."""
    return ["kesu", "run_huey", *args]


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the supervisor itself is killed (Linux), so that a
    SIGKILLed ``kesu run`` leaves no orphans behind."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _spawn(args: list[str]) -> Popen:
    # process_group=0: a Ctrl-C in the terminal reaches only the supervisor, which then stops
    # the children in order (the worker gracefully) instead of all of them at once.
    return Popen(
        [sys.executable, "-m", "kesu.cli", *args], process_group=0, preexec_fn=_die_with_parent
    )


def run(args: list[str]) -> int:
    address = args[0] if args and not args[0].startswith("-") else "127.0.0.1:8000"
    stopping: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    children = {"web": _spawn(["serve", address]), "worker": _spawn(["worker"])}
    print(
        f"kesu run: web server on http://{address}/ (pid {children['web'].pid}), "
        f"worker pid {children['worker'].pid}; Ctrl-C stops both",
        flush=True,
    )

    failed = ""
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                failed = name
                break
        if failed:
            print(
                f"kesu run: the {failed} process exited ({children[failed].returncode}); "
                "stopping the other one",
                file=sys.stderr,
                flush=True,
            )
            break
        time.sleep(0.2)

    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)  # the worker finishes the deliveries under way
    deadline = time.monotonic() + STOP_TIMEOUT
    for child in children.values():
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except Exception:  # noqa: BLE001 - TimeoutExpired: give up waiting
            child.kill()
            child.wait()
    if failed:
        return children[failed].returncode or 1
    return 0
