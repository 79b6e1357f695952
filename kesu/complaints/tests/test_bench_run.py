"""``kesu bench run`` (issue 6) end to end at a tiny size, so the benchmark cannot rot: a SQLite
database of 200 generated complaints, Kesu under gunicorn, every scenario over HTTP, the
physical limit, and the report. The peer (django-helpdesk, installed from PyPI into its own
virtualenv) runs only when asked: ``KESU_BENCH_PEER=1``."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from django.conf import settings

from bench import peer as bench_peer
from bench import run as bench_run

ROOT = Path(settings.BASE_DIR)


def _run(tmp_path: Path, *extra: str) -> tuple[list[dict], str]:
    out = tmp_path / "out.json"
    argv = [sys.executable, "-m", "kesu.cli", "bench", "run", "--sizes", "200", "--databases", "sqlite",
            "--requests", "10", "--intake", "10", "--workers", "2", "--no-docs", "--quiet",
            "--data", str(tmp_path / "data"), "--json", str(out), *extra]
    env = {k: v for k, v in os.environ.items() if k not in {"KESU_DATABASE_URL", "KESU_DATA_DIR"}}
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


def test_bench_run_measures_every_scenario_over_http(tmp_path: Path) -> None:
    results, report = _run(tmp_path)
    (res,) = results
    assert res["kind"] == "sqlite" and res["complaints"] >= 200
    for name, _label, _target in bench_run.SCENARIOS:
        k = res["kesu"][name]
        assert k["errors"] == 0, (name, k["statuses"], k["sample_errors"])
        assert k["requests"] == 10 and k["p95_ms"] > 0
    # Every intake registered a complaint (HTTP 201), and the limit wrote the same rows.
    assert res["kesu"]["intake"]["statuses"] == {"201": 10}
    assert res["limit"]["rows"]["complaints_complaint"] == 1
    assert res["limit"]["rows"]["sla_deadline"] >= 1
    assert res["limit"]["wsgi"]["requests"] == 10 and res["limit"]["direct"]["requests"] == 10
    assert max(res["kesu_rss_mb"]) > 0
    assert set(res["pages"]) == {"queue", "page"}
    # Every read scenario once more with one client, against its latency target.
    assert set(res["latency"]) == {name for name, _l, _t in bench_run.SCENARIOS[1:]}
    assert all(v["requests"] == 10 and v["errors"] == 0 for v in res["latency"].values())
    assert "One request at a time" in report
    # The printed table names each scenario, the limit fractions and the command.
    assert "lookup by number" in report and "of (b)" in report
    assert "kesu bench run --sizes 200" in report
    # The next run measures the database as generated: what this one registered (its intake
    # and warm-up, the limit's copies) is taken away first (bench/reset.py).
    assert res["complaints"] == 200
    (again,), _ = _run(tmp_path, "--only", "number", "--no-latency")
    assert again["complaints"] == 200 and again["kesu"]["number"]["errors"] == 0


def test_a_spent_budget_still_leaves_the_least_number_of_requests() -> None:
    # The peer's slowest requests take longer than a scenario's budget: its figures must still
    # rest on a few requests, not one.
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    from bench import load

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        reqs = [load.Request("GET", "/")] * 20
        assert load.run(port, reqs, clients=1, budget=1e-9).ok == 0
        assert load.run(port, reqs, clients=1, budget=1e-9, least=5).ok == 5
        assert load.run(port, reqs, clients=1, budget=None, least=5).ok == 20
    finally:
        server.shutdown()


def test_the_benchmark_cluster_runs_the_production_profile_scaled_to_the_machine(tmp_path: Path) -> None:
    from bench import pgcluster

    # The profile as shipped, for a machine of 24 GiB and 2 cores: the marked lines scaled as
    # the file's header says, every other setting as written.
    text = pgcluster.production_settings(24 * 2**30, 2)
    settings_of = dict(line.split(" = ", 1) for line in text.splitlines() if not line.startswith("#"))
    assert settings_of["shared_buffers"] == "6GB" and settings_of["effective_cache_size"] == "18GB"
    assert settings_of["maintenance_work_mem"] == "768MB"
    assert settings_of["max_worker_processes"] == settings_of["max_parallel_workers"] == "2"
    assert settings_of["work_mem"] == "16MB" and settings_of["jit"] == "off"
    assert settings_of["log_line_prefix"] == "'%m [%p] %q%u@%d '"
    assert pgcluster.production_settings(64 * 2**30, 16).count("maintenance_work_mem = 2GB") == 1
    # A setting marked for scaling that the benchmark does not know how to scale is refused.
    profile = tmp_path / "postgresql.conf"
    profile.write_text("shared_buffers = 8GB   # (*) 25 % of RAM\nwal_buffers = 64MB  # (*) new\n")
    with pytest.raises(ValueError, match="wal_buffers"):
        pgcluster.production_settings(24 * 2**30, 2, profile)


def test_docs_section_replaces_only_its_own_markers(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    sweep = "## SLA sweep\n\n<!-- bench:sla-sweep:sqlite -->\nsweep table\n<!-- /bench:sla-sweep:sqlite -->\n"
    doc.write_text("# Performance\n\n" + sweep)
    bench_run.write_docs(doc, "first run\n")
    bench_run.write_docs(doc, "second run\n")
    text = doc.read_text()
    assert sweep in text
    assert "second run" in text and "first run" not in text
    assert text.count(bench_run.START) == 1


@pytest.mark.skipif(not os.environ.get("KESU_BENCH_PEER"), reason="installs django-helpdesk from PyPI: KESU_BENCH_PEER=1")
def test_bench_run_with_the_peer(tmp_path: Path) -> None:
    results, report = _run(tmp_path, "--peer", "--no-limit", "--no-latency")
    (res,) = results
    assert res["peer"]["intake"]["statuses"] == {"201": 10}
    assert res["peer_tickets"] >= 200
    assert all(p["errors"] == 0 for p in res["peer"].values())
    assert "django-helpdesk" in report
    # The peer's tickets are its complaints, assigned as they are owned: the bench user's to
    # bench-agent (whose "my tickets" is the queue scenario's /dashboard/), the others' to
    # namesakes; the run's own intake tickets follow.
    data = tmp_path / "data"
    kesu_db, peer_db = data / "sqlite-200" / "kesu.sqlite3", data / "peer-sqlite-200" / "helpdesk.sqlite3"
    owner = json.loads((data / "sqlite-200" / "samples.json").read_text())["user_id"]
    with sqlite3.connect(peer_db) as conn:
        (loaded,) = conn.execute("SELECT loaded FROM bench_peer_source").fetchone()
    assert loaded >= 200
    _assert_peer_mirrors_kesu(kesu_db, peer_db, owner, loaded)

    # A database loaded before the mapping (no bookkeeping, unassigned tickets stamped with the
    # load's time) is brought up to date in place, once.
    with sqlite3.connect(peer_db) as conn:
        conn.execute("DROP TABLE bench_peer_source")
        conn.execute("UPDATE helpdesk_ticket SET assigned_to_id = NULL, created = '2000-01-01 00:00:00', title = 'x'")
    info = bench_peer.prepare(f"sqlite:///{peer_db}", f"sqlite:///{kesu_db}", owner)
    assert (info["loaded"], info["synced"]) == (0, loaded)
    _assert_peer_mirrors_kesu(kesu_db, peer_db, owner, loaded)
    assert bench_peer.prepare(f"sqlite:///{peer_db}", f"sqlite:///{kesu_db}", owner)["synced"] == 0

    # The next run starts from the generated tickets too: the intake's are taken away, as
    # Kesu's complaints are.
    assert res["peer_tickets"] == 200
    (again,), _ = _run(tmp_path, "--peer", "--no-limit", "--no-latency", "--only", "number")
    assert (again["complaints"], again["peer_tickets"]) == (200, 200)
    _assert_peer_mirrors_kesu(kesu_db, peer_db, owner, 200)


@pytest.mark.skipif(not os.environ.get("KESU_BENCH_PEER"), reason="installs django-helpdesk from PyPI: KESU_BENCH_PEER=1")
def test_the_peer_one_request_at_a_time_only_at_its_slow_sizes(tmp_path: Path) -> None:
    results, report = _run(tmp_path, "--peer", "--no-limit", "--peer-one-client-sizes", "200",
                           "--only", "number,fts2")
    (res,) = results
    assert res["peer"] == {} and set(res["kesu"]) == {"number", "fts2"}
    assert set(res["peer_latency"]) == {"number", "fts2"}
    assert all(p["requests"] == 10 and p["errors"] == 0 for p in res["peer_latency"].values())
    assert "the peer is measured one request at a time only" in report
    assert f"peer: {res['peer_tickets']:,} tickets" in report


def _assert_peer_mirrors_kesu(kesu_db: Path, peer_db: Path, owner: int, n: int) -> None:
    with sqlite3.connect(kesu_db) as k, sqlite3.connect(peer_db) as p:
        users = dict(k.execute("SELECT id, username FROM org_user"))
        complaints = k.execute("SELECT owner_id, status, summary, received_at FROM complaints_complaint "
                               "ORDER BY id LIMIT ?", [n]).fetchall()
        tickets = p.execute("SELECT u.username, t.status, t.title, t.created FROM helpdesk_ticket t "
                            "LEFT JOIN auth_user u ON u.id = t.assigned_to_id ORDER BY t.id LIMIT ?", [n]).fetchall()
    assert len(complaints) == len(tickets) == n
    for (owner_id, status, summary, received), (assignee, st, title, created) in zip(complaints, tickets, strict=True):
        assert assignee == ("bench-agent" if owner_id == owner else users.get(owner_id))
        assert st == (4 if status in {"closed", "merged", "invalid"} else 1)
        assert title == summary[:200]
        assert datetime.fromisoformat(created) == datetime.fromisoformat(received)
    assert any(t[0] == "bench-agent" and t[1] == 1 for t in tickets)
