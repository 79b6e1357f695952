"""The load client: N threads, each with its own HTTP connection, working through one list of
requests; and the gunicorn runner it talks to.

Latency is measured by the client around one request/response on 127.0.0.1 (so it includes
the loopback round trip, well under a millisecond, and any wait for a free worker when more
clients than workers are busy).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    latencies: list[float]
    wall: float
    statuses: Counter
    errors: list[str]

    @property
    def ok(self) -> int:
        return len(self.latencies)

    def pct(self, p: float) -> float:
        xs = sorted(self.latencies)
        if not xs:
            return float("nan")
        k = min(len(xs) - 1, max(0, round(p / 100 * len(xs) + 0.5) - 1))
        return xs[k]

    def summary(self) -> dict[str, Any]:
        xs = self.latencies
        return {
            "requests": len(xs), "errors": sum(n for s, n in self.statuses.items() if not 200 <= s < 400)
            + len(self.errors),
            "rate": len(xs) / self.wall if self.wall else 0.0,
            "median_ms": statistics.median(xs) * 1000 if xs else float("nan"),
            "p95_ms": self.pct(95) * 1000, "p99_ms": self.pct(99) * 1000,
            "statuses": dict(self.statuses), "sample_errors": self.errors[:3],
        }


def run(port: int, requests: list[Request], *, clients: int = 8, timeout: float = 300,
        budget: float | None = None, least: int = 0, expect: tuple[int, ...] = (200, 201)) -> Result:
    """Send ``requests`` with ``clients`` threads; stop early when ``budget`` seconds have
    passed and at least ``least`` requests were sent (requests in flight finish). Responses
    with a status outside ``expect`` are counted as errors, not as latencies. ``timeout`` is
    the benchmark's gunicorn's: a request the server would still finish is waited for."""
    lock = threading.Lock()
    index = [0]
    latencies: list[float] = []
    statuses: Counter = Counter()
    errors: list[str] = []
    started = time.perf_counter()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        while True:
            with lock:
                i = index[0]
                if i >= len(requests) or (budget and i >= least and time.perf_counter() - started > budget):
                    break
                index[0] += 1
            req = requests[i]
            t = time.perf_counter()
            try:
                conn.request(req.method, req.path, body=req.body, headers=req.headers)
                resp = conn.getresponse()
                data = resp.read()
                took = time.perf_counter() - t
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                with lock:
                    errors.append(f"{req.method} {req.path}: {exc!r}")
                continue
            with lock:
                statuses[resp.status] += 1
                if resp.status in expect:
                    latencies.append(took)
                elif len(errors) < 20:
                    errors.append(f"{req.method} {req.path[:80]} -> {resp.status}: {data[:200]!r}")
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return Result(latencies, time.perf_counter() - started, statuses, errors)


# --- gunicorn ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def workers_default() -> int:
    """gunicorn's documented rule of thumb: 2 × cores + 1."""
    return 2 * (os.cpu_count() or 1) + 1


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    argv: list[str]

    def worker_pids(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        with contextlib.suppress(OSError):
            return [int(x) for x in path.read_text().split()]
        return []

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) / 1024)
        return sizes


@contextlib.contextmanager
def gunicorn(gunicorn_bin: str, app: str, *, env: dict[str, str], cwd: Path, workers: int,
             log: Path, check_path: str = "/healthz") -> Iterator[Server]:
    """gunicorn with ``workers`` sync workers on a free port, stopped (SIGTERM, graceful)
    afterwards. Waits until ``check_path`` answers."""
    port = free_port()
    argv = [gunicorn_bin, "--workers", str(workers), "--worker-class", "sync", "--bind",
            f"127.0.0.1:{port}", "--timeout", "300", "--graceful-timeout", "10",
            "--log-level", "warning", app]
    with open(log, "ab") as out:
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = Server(process, port, argv)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({process.returncode}); see {log}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", check_path)
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
