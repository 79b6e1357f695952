"""``kesu bench run``: Kesu served by gunicorn, measured over HTTP by 8 concurrent clients, at
several sizes and on SQLite and PostgreSQL; side by side with django-helpdesk (``--peer``) and
with the physical limit of intake (``bench/limit.py``); the table printed and written to
docs/performance.md between ``<!-- bench:run -->`` markers. See bench/README.md.

Each size's database is made once by ``kesu bench generate`` (under ``var/bench/data/``; on
PostgreSQL in the benchmark's own cluster, ``bench/pgcluster.py``) and reused by later runs
(``--fresh`` regenerates). Kesu and the peer are served at the same time and measured
scenario by scenario in turn, so that a noisy neighbour on a shared machine hits both alike:
read the ratios rather than the absolute figures.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import pickle
import platform
import secrets
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from . import limit, load, peer, pgcluster

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "var" / "bench" / "data"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
OPEN_STATES = ["registered", "accepted", "investigating", "replied"]

# name, what it is (table label), Kesu target p95 (ms) at the largest size on PostgreSQL
SCENARIOS = [
    ("intake", "intake `POST /api/v1/complaints`", None),
    ("list", "API list `?state=…&level=…`", 50),
    ("queue", "queue page `/` (my complaints)", 50),
    ("queue_filtered", "queue page `/queue/units/?state=…&level=…`", 50),
    ("number", "lookup by number `GET /api/v1/complaints/{n}`", 5),
    ("phone", "lookup by phone `?phone=`", 5),
    ("fts2", "full-text `?q=` 2 characters", 100),
    ("fts4", "full-text `?q=` 4 characters", 100),
    ("page", "complaint page `/c/{n}/`", 50),
    ("timeline", "timeline `GET /api/v1/complaints/{n}/timeline`", 50),
]
PEER_EQUIVALENT = {
    "intake": "`POST /api/tickets/` (DRF API → TicketForm, its staff create path)",
    "list": "ticket list data `/datatables_ticket_list/…` (status + priority)",
    "queue": "dashboard `/dashboard/` (my open and closed tickets, unassigned ones, stats)",
    "queue_filtered": "ticket list data `/datatables_ticket_list/…` (status + priority)",
    "number": "ticket page `/tickets/{id}/`",
    "phone": "ticket list search for the phone (in submitter_email)",
    "fts2": "ticket list search, 2 characters",
    "fts4": "ticket list search, 4 characters",
    "page": "ticket page `/tickets/{id}/`",
    "timeline": None,
}


@dataclass
class Options:
    sizes: list[int]
    databases: list[str]
    requests: int = 200
    intake: int = 400
    clients: int = 8
    workers: int = field(default_factory=load.workers_default)
    peer: bool = False
    peer_sizes: list[int] | None = None
    # Sizes at which the peer is measured one request at a time only (its latency pass): at a
    # million tickets its searches and dashboard take tens of seconds each, and eight at once
    # on two cores would take the best part of an hour per scenario.
    peer_one_client_sizes: list[int] = field(default_factory=list)
    limit: bool = True
    # Every read scenario again with one client: the latency targets of issue 6 and the page
    # benchmark of issue 4. With 8 clients on 2 cores a request mostly waits for a core.
    latency: bool = True
    only: list[str] | None = None  # scenario names to run (default: all)
    fresh: bool = False
    budget: float = 120.0  # seconds per scenario at most
    seed: int = 1
    docs: Path | None = ROOT / "docs" / "performance.md"
    json: Path | None = None
    data: Path = DATA  # generated databases, logs and samples
    section: str = "main"  # its markers in the document: several runs can each keep their own
    quiet: bool = False
    command: str = ""

    def peer_at(self, size: int) -> bool:
        return self.peer and (self.peer_sizes is None or size in self.peer_sizes)


def log(*parts: Any) -> None:
    print(f"[{datetime.now(UTC).strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


# --- databases -----------------------------------------------------------------------------------


def kesu_database(kind: str, size: int, *, server: str | None, fresh: bool, quiet: bool, seed: int) -> tuple[str, Path, dict]:
    """The database of ``size`` generated complaints (made unless there already), its data
    directory and the generator's summary."""
    folder = DATA / f"{kind}-{size}"
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / "generated.json"
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'kesu.sqlite3'}"
    else:
        assert server
        url = pgcluster.database_url(server, f"kesu_bench_{size}")
    busy = folder / "generating.pid"
    while busy.exists() and not marker.exists() and Path(f"/proc/{busy.read_text().strip()}").exists():
        # Another process (an earlier run, or a generation started by hand) is loading it.
        log(f"waiting for the generation of {folder.name} by process {busy.read_text().strip()}")
        time.sleep(30)
    env = {**os.environ, "KESU_DATABASE_URL": url, "KESU_DATA_DIR": str(folder)}
    kesu = [sys.executable, "-m", "kesu.cli"]
    if marker.exists() and not fresh:
        # Made by an earlier run: bring it up to the code's migrations first, then take away
        # what earlier runs registered in it (bench/reset.py).
        subprocess.run([*kesu, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
        subprocess.run([sys.executable, "-m", "bench.reset", str(marker)], env=env, cwd=ROOT, check=True)
        return url, folder, json.loads(marker.read_text())
    busy.write_text(str(os.getpid()))
    log(f"generating {size:,} complaints on {kind} (kesu bench generate)")
    marker.unlink(missing_ok=True)
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{folder / 'kesu.sqlite3'}{suffix}").unlink(missing_ok=True)
    else:
        pgcluster.ensure_database(server, f"kesu_bench_{size}", fresh=True)
    # nice: a million rows take a quarter of an hour; other work on the machine goes first.
    subprocess.run(["nice", "-n", "5", *kesu, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    argv = ["nice", "-n", "5", *kesu, "bench", "generate", "--complaints", str(size), "--seed", str(seed),
            "--json", str(folder / "summary.tmp")]
    if quiet:
        argv.append("--quiet")
    subprocess.run(argv, env=env, cwd=ROOT, check=True)
    (folder / "summary.tmp").rename(marker)
    busy.unlink(missing_ok=True)
    return url, folder, json.loads(marker.read_text())


def kesu_env(url: str, folder: Path) -> dict[str, str]:
    return {**os.environ, "KESU_DATABASE_URL": url, "KESU_DATA_DIR": str(folder),
            "DJANGO_SETTINGS_MODULE": "kesu.settings"}


def kesu_samples(url: str, folder: Path, n: int, seed: int) -> dict:
    out = folder / "samples.json"
    subprocess.run([sys.executable, "-m", "bench.kesu_setup", str(out), "--samples", str(n), "--seed", str(seed)],
                   env=kesu_env(url, folder), cwd=ROOT, check=True)
    return json.loads(out.read_text())


def peer_database(kind: str, size: int, server: str | None, source: str, fresh: bool,
                  owner: int | None = None) -> tuple[str, dict]:
    if kind == "sqlite":
        folder = DATA / f"peer-sqlite-{size}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "helpdesk.sqlite3"
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        assert server
        url = pgcluster.ensure_database(server, f"helpdesk_bench_{size}", fresh=fresh)
    log(f"peer database at {size:,} on {kind} (loading the same texts if empty)")
    info = peer.prepare(url, source, owner)
    if info["loaded"]:
        log(f"  loaded {info['loaded']:,} tickets in {info['load_seconds']:.0f} s")
    elif info.get("synced"):
        log(f"  brought {info['synced']:,} loaded tickets up to date in {info['load_seconds']:.0f} s")
    return url, info


# --- requests ------------------------------------------------------------------------------------


def _cycle(items: list[Any], n: int) -> list[Any]:
    return [items[i % len(items)] for i in range(n)] if items else []


def kesu_requests(s: dict, n: int, intake: int) -> dict[str, list[load.Request]]:
    api = {"Authorization": f"Bearer {s['token']}"}
    page = {"Cookie": f"sessionid={s['session']}"}
    combos = [(st, lv) for st in OPEN_STATES + ["closed"] for lv in (1, 2, 3)]
    R = load.Request
    return {
        "intake": [R("POST", "/api/v1/complaints", json.dumps(p, ensure_ascii=False).encode(),
                     {**api, "Content-Type": "application/json"}) for p in _cycle(s["payloads"], intake)],
        "list": [R("GET", f"/api/v1/complaints?state={st}&level={lv}", None, api) for st, lv in _cycle(combos, n)],
        "queue": [R("GET", "/", None, page) for _ in range(n)],
        "queue_filtered": [R("GET", f"/queue/units/?state={st}&level={lv}", None, page)
                           for st, lv in _cycle([c for c in combos if c[0] != "closed"], n)],
        "number": [R("GET", f"/api/v1/complaints/{num}", None, api) for num in _cycle(s["numbers"], n)],
        "phone": [R("GET", f"/api/v1/complaints?phone={quote(p)}", None, api) for p in _cycle(s["phones"], n)],
        "fts2": [R("GET", f"/api/v1/complaints?q={quote(w)}", None, api) for w in _cycle(s["words2"], n)],
        "fts4": [R("GET", f"/api/v1/complaints?q={quote(w)}", None, api) for w in _cycle(s["words4"], n)],
        "page": [R("GET", f"/c/{num}/", None, page) for num in _cycle(s["numbers"], n)],
        "timeline": [R("GET", f"/api/v1/complaints/{num}/timeline", None, api) for num in _cycle(s["numbers"], n)],
    }


def peer_requests(s: dict, info: dict, n: int, intake: int) -> dict[str, list[load.Request]]:
    csrf = secrets.token_hex(16)  # 32 characters: Django accepts an unmasked token of this length
    cookie = {"Cookie": f"sessionid={info['session']}; csrftoken={csrf}"}
    R = load.Request
    tickets = max(1, info["tickets"])
    ids = [min(max(1, i), tickets) for i in s["ids"]]

    def table(filtering: dict, search: str = "") -> str:
        query = {"filtering": filtering, "sorting": "created", "sortreverse": True, "search_string": search}
        b64 = base64.b64encode(json.dumps(query).encode()).decode()
        # What the list page's DataTables script asks for: the first 25, newest first.
        params = urlencode({"draw": 1, "start": 0, "length": 25, "order[0][column]": 5, "order[0][dir]": "desc"})
        return f"/datatables_ticket_list/{b64}?{params}"

    def post(p: dict) -> load.Request:
        body = {"queue": info["queue"], "title": p["summary"], "description": p["description"] or p["summary"],
                "submitter_email": f"{p['contact_phone']}@phone.invalid", "priority": 3}
        return R("POST", "/api/tickets/", json.dumps(body, ensure_ascii=False).encode(),
                 {**cookie, "X-CSRFToken": csrf, "Content-Type": "application/json"})

    status = [(st, pr) for st in (1, 4) for pr in (1, 2, 3)]
    filtered = [R("GET", table({"status__in": [st], "priority__in": [pr]}), None, cookie) for st, pr in _cycle(status, n)]
    return {
        "intake": [post(p) for p in _cycle(s["payloads"], intake)],
        "list": filtered,
        # helpdesk's own "my tickets": the bench user's open tickets (assigned as Kesu's complaints
        # are owned, bench/peer.py), its closed ones, the unassigned ones, the queue's stats.
        "queue": [R("GET", "/dashboard/", None, cookie) for _ in range(n)],
        "queue_filtered": filtered,
        "number": [R("GET", f"/tickets/{i}/", None, cookie) for i in _cycle(ids, n)],
        "phone": [R("GET", table({}, p), None, cookie) for p in _cycle(s["phones"], n)],
        "fts2": [R("GET", table({}, w), None, cookie) for w in _cycle(s["words2"], n)],
        "fts4": [R("GET", table({}, w), None, cookie) for w in _cycle(s["words4"], n)],
        "page": [R("GET", f"/tickets/{i}/", None, cookie) for i in _cycle(ids, n)],
    }


# --- one database kind and size -----------------------------------------------------------------


# However long its requests take, a scenario's figures rest on at least this many.
LEAST = 5
# Warm-up requests per worker before a scenario is measured (see measure()).
WARM_UP = 20


def measure(port: int, reqs: list[load.Request], opts: Options, clients: int | None = None,
            slow: bool = False) -> dict:
    # Warm-up, not counted: imports, connections, caches, and enough requests per worker for
    # its connection to have prepared the statements it repeats (prepared on their sixth run:
    # Kesu's KESU_DB_PREPARE_THRESHOLD, and psycopg's default, which the bare WSGI function
    # uses) and its process to have loaded what it keeps, as in a server whose workers live for
    # thousands of requests. Workers take requests as they come, not in turn: 6 per worker on
    # average left some short of that (lookup by number at 100k, one client: p95 5.6 ms after
    # 30 requests, 4.1-4.4 ms after 200). ``slow`` (the peer at its one-client sizes): one
    # request per worker, all at once, since a request there takes seconds to minutes and its
    # own cost dwarfs what a warm-up saves.
    if slow:
        load.run(port, reqs[: opts.workers], clients=opts.workers, budget=opts.budget)
    else:
        load.run(port, reqs[: opts.workers * WARM_UP], clients=opts.clients, budget=opts.budget)
    result = load.run(port, reqs, clients=clients or opts.clients, budget=opts.budget, least=LEAST)
    return result.summary()


def run_size(kind: str, size: int, server: str | None, opts: Options) -> dict:
    url, folder, generated = kesu_database(kind, size, server=server, fresh=opts.fresh, quiet=opts.quiet,
                                           seed=opts.seed)
    samples = kesu_samples(url, folder, max(opts.requests, 50), opts.seed)
    out: dict[str, Any] = {"kind": kind, "size": size, "complaints": samples["count"], "generated": generated,
                           "kesu": {}, "peer": {}, "latency": {}, "peer_latency": {}, "pages": {}, "limit": {}}
    peer_url = peer_info = None
    if opts.peer_at(size):
        peer_url, peer_info = peer_database(kind, size, server, url, opts.fresh, samples["user_id"])
        out["peer_tickets"] = peer_info["tickets"]
    kreqs = kesu_requests(samples, opts.requests, opts.intake)
    preqs = peer_requests(samples, peer_info, opts.requests, opts.intake) if peer_url else {}
    # At its one-client sizes the peer runs after Kesu and the physical limit, not beside them:
    # there a worker of its grows past a gigabyte (the dashboard loads every ticket) and its
    # searches read the whole ticket table, which takes the memory and the cache Kesu's
    # database would have, for whatever is measured after it.
    slow = size in opts.peer_one_client_sizes
    logs = folder / "gunicorn.log"
    with load.gunicorn(GUNICORN, "kesu.wsgi:application", env=kesu_env(url, folder), cwd=ROOT,
                       workers=opts.workers, log=logs) as ks:
        out["gunicorn"] = " ".join(shlex.quote(a) for a in ks.argv[1:])
        with _peer_server(peer_url if not slow else None, folder, opts) as ps:
            for name in _chosen(opts, SCENARIOS):
                log(f"{kind} {size:,}: kesu {name}")
                out["kesu"][name] = measure(ks.port, kreqs[name], opts)
                if ps and name in preqs:
                    log(f"{kind} {size:,}: peer {name}")
                    out["peer"][name] = measure(ps.port, preqs[name], opts)
            if opts.latency:
                for name in _chosen(opts, SCENARIOS[1:]):
                    log(f"{kind} {size:,}: one client, kesu {name}")
                    out["latency"][name] = measure(ks.port, kreqs[name], opts, clients=1)
                    if ps and name in preqs:
                        log(f"{kind} {size:,}: one client, peer {name}")
                        out["peer_latency"][name] = measure(ps.port, preqs[name], opts, clients=1)
                out["pages"] = {name: out["latency"][name] for name in ("queue", "page") if name in out["latency"]}
            out["kesu_rss_mb"] = ks.worker_rss_mb()
            if ps:
                out["peer_rss_mb"] = ps.worker_rss_mb()
    if opts.limit and "intake" in out["kesu"]:
        out["limit"] = run_limit(url, folder, kreqs["intake"], opts)
    if peer_url and slow and opts.latency:
        with _peer_server(peer_url, folder, opts) as ps:
            for name in _chosen(opts, SCENARIOS[1:]):
                if name not in preqs:
                    continue
                log(f"{kind} {size:,}: one client, peer {name}")
                out["peer_latency"][name] = measure(ps.port, preqs[name], opts, clients=1, slow=True)
            out["peer_rss_mb"] = ps.worker_rss_mb()
    return out


def _chosen(opts: Options, scenarios: list[tuple[str, str, float | None]]) -> list[str]:
    """The names of ``scenarios`` this run measures (``--only``)."""
    return [name for name, _label, _target in scenarios if not opts.only or name in opts.only]


@contextlib.contextmanager
def _peer_server(peer_url: str | None, folder: Path, opts: Options) -> Iterator[load.Server | None]:
    if not peer_url:
        yield None
        return
    with load.gunicorn(str(peer.VENV / "bin" / "gunicorn"), "hdproj.wsgi:application",
                       env=peer.env(peer_url), cwd=peer.HOME, workers=opts.workers,
                       log=folder / "peer-gunicorn.log", check_path="/login/") as ps:
        yield ps


def _last_intake_number(url: str, user_id: int) -> str:
    conn = limit.connect(url)
    ph = "?" if url.startswith("sqlite") else "%s"
    row = conn.execute(f"SELECT number FROM complaints_complaint WHERE recorded_by_id = {ph} "
                       "ORDER BY id DESC LIMIT 1", [user_id]).fetchone()
    conn.close()
    return row[0]


def run_limit(url: str, folder: Path, intake: list[load.Request], opts: Options) -> dict:
    samples = json.loads((folder / "samples.json").read_text())
    conn = limit.connect(url)
    rows = limit.template(conn, _last_intake_number(url, samples["user_id"]))
    conn.close()
    template = folder / "limit-template.pickle"
    template.write_bytes(pickle.dumps(rows))
    env = {**os.environ, "BENCH_LIMIT_TEMPLATE": str(template), "BENCH_LIMIT_DATABASE_URL": url,
           "PYTHONPATH": str(ROOT)}
    result: dict[str, Any] = {"rows": limit.counts(rows)}
    log("physical limit (b): bare WSGI behind gunicorn")
    with load.gunicorn(GUNICORN, "bench.limit:application", env=env, cwd=ROOT, workers=opts.workers,
                       log=folder / "limit-gunicorn.log", check_path="/") as srv:
        result["wsgi"] = measure(srv.port, intake, opts)
    log("physical limit (a): one process, DB-API")
    direct = limit.direct(url, rows, len(intake))
    r = load.Result(direct["latencies"], direct["wall"], {}, [])  # type: ignore[arg-type]
    result["direct"] = r.summary()
    return result


# --- report ----------------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"Python": platform.python_version(), "Django": md.version("Django"),
           "django-ninja": md.version("django-ninja"), "gunicorn": md.version("gunicorn"),
           "SQLite": sqlite3.sqlite_version}
    try:
        out["PostgreSQL"] = pgcluster.version()
    except RuntimeError:
        pass
    if peer.python().exists():
        pv = peer.versions()
        out["django-helpdesk"] = pv["django-helpdesk"]
        out["peer's Django"] = pv["Django"]
    return out


def machine() -> dict[str, str]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = ""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {"cores": str(os.cpu_count()), "ram": memory, "cpu": cpu or platform.processor(),
            "system": f"{platform.system()} {platform.release()}"}


def _ms(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "–"
    return f"{x:.1f}" if x < 100 else f"{x:,.0f}"


def _ratio(kesu: float | None, other: float | None, *, higher_is_better: bool = False) -> str:
    """How many times better Kesu is: peer/kesu for times, kesu/peer for rates."""
    if not kesu or not other or math.isnan(kesu) or math.isnan(other):
        return "–"
    r = kesu / other if higher_is_better else other / kesu
    return f"{r:,.1f}×" if r < 100 else f"{r:,.0f}×"


def size_table(res: dict) -> list[str]:
    has_peer = bool(res["peer"])
    head = "| scenario | n | rate/s | median ms | p95 ms | p99 ms |"
    sep = "|---|---|---|---|---|---|"
    if has_peer:
        head += " peer: what | peer n | peer rate/s | peer median ms | peer p95 ms | Kesu × faster (p95; rate for intake) |"
        sep += "---|---|---|---|---|---|"
    lines = [head, sep]
    for name, label, _t in SCENARIOS:
        k = res["kesu"].get(name)
        if not k:
            continue
        row = (f"| {label} | {k['requests']}{' (' + str(k['errors']) + ' errors)' if k['errors'] else ''} "
               f"| {k['rate']:,.1f} | {_ms(k['median_ms'])} | {_ms(k['p95_ms'])} | {_ms(k['p99_ms'])} |")
        if has_peer:
            p = res["peer"].get(name)
            if p:
                ratio = (_ratio(k["rate"], p["rate"], higher_is_better=True) if name == "intake"
                         else _ratio(k["p95_ms"], p["p95_ms"]))
                errs = f" ({p['errors']} errors)" if p["errors"] else ""
                row += (f" {PEER_EQUIVALENT[name]} | {p['requests']}{errs} | {p['rate']:,.1f} "
                        f"| {_ms(p['median_ms'])} | {_ms(p['p95_ms'])} | {ratio} |")
            else:
                row += " – | | | | | |"
        lines.append(row)
    return lines


def report(results: list[dict], opts: Options, info: dict, vers: dict, minutes: float) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"### Run of {when}",
        "",
        (f"Machine: {info['cores']} cores ({info['cpu']}), {info['ram']} RAM, {info['system']}; shared with "
         "other engineers' work while it ran (the figures are noisy: read the ratios, measured "
         "interleaved in the same run)."),
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()) + ".",
        "",
        f"Reproduce: `{opts.command}` ({minutes:.0f} minutes here, data generation excluded when reused).",
        "",
        (f"Server: gunicorn, {opts.workers} sync workers (2 × cores + 1), the same for Kesu, the peer and "
         f"the bare WSGI function. Load: {opts.clients} concurrent clients (threads, http.client) on the "
         f"same machine, {opts.requests} requests per read scenario and {opts.intake} per intake "
         f"scenario after an uncounted warm-up of {opts.workers * WARM_UP} requests; at most {opts.budget:.0f} s per scenario (fewer "
         f"requests are shown in n, never fewer than {LEAST}). Times are the client's, request to response."
         + (f" At {', '.join(f'{n:,}' for n in opts.peer_one_client_sizes)} complaints the peer is measured one "
            f"request at a time only (the latency table), after a warm-up of one request per worker, and after "
            "Kesu's scenarios and the physical limit rather than beside them: its slowest requests take tens "
            "of seconds there, and a worker of its grows past a gigabyte." if opts.peer and opts.peer_one_client_sizes else "")),
        "",
    ]
    for res in results:
        g = res["generated"]
        tickets = f", peer: {res['peer_tickets']:,} tickets" if res.get("peer_tickets") else ""
        heading = (f"#### {res['kind']}, {res['size']:,} generated complaints ({res['complaints']:,} in the "
                   f"database at the start of the run{tickets})")
        lines += [heading, ""]
        lines += size_table(res)
        lines.append("")
        if g:
            lines.append(f"Generated by `kesu bench generate` in {g.get('plan_seconds', 0) + g.get('write_seconds', 0):,.0f} s "
                         f"({g.get('rows', 0):,} rows).")
        rss = res.get("kesu_rss_mb") or []
        if rss:
            lines.append(f"Kesu web worker RSS after the run: {', '.join(f'{x:.0f}' for x in rss)} MB "
                         f"(max {max(rss):.0f} MB; target < 150 MB)."
                         + (f" Peer: max {max(res['peer_rss_mb']):.0f} MB." if res.get("peer_rss_mb") else ""))
        lim = res.get("limit") or {}
        if lim:
            k = res["kesu"]["intake"]["rate"]
            b = lim["wsgi"]["rate"]
            a = lim["direct"]["rate"]
            rows = ", ".join(f"{t.split('_', 1)[1]} {n}" for t, n in lim["rows"].items())
            lines += ["", f"Physical limit of intake (rows per complaint: {rows}, plus the number sequence):", "",
                      "| writer | complaints/s | p50 ms | p99 ms |", "|---|---|---|---|",
                      f"| Kesu over HTTP ({opts.clients} clients) | {k:,.1f} | {_ms(res['kesu']['intake']['median_ms'])} | {_ms(res['kesu']['intake']['p99_ms'])} |",
                      f"| (b) bare WSGI, same gunicorn, {opts.clients} clients | {b:,.1f} | {_ms(lim['wsgi']['median_ms'])} | {_ms(lim['wsgi']['p99_ms'])} |",
                      f"| (a) one process, DB-API, a transaction each | {a:,.1f} | {_ms(lim['direct']['median_ms'])} | {_ms(lim['direct']['p99_ms'])} |",
                      "",
                      f"**Kesu intake = {k / b:.0%} of (b); (b) = {b / a:.0%} of (a).**"
                      + (f" Kesu intake = {_ratio(k, res['peer']['intake']['rate'], higher_is_better=True)} the peer's." if res["peer"].get("intake") else "")]
        lines.append("")
    lines += latency_table(results)
    lines += page_table(results)
    lines += sweep_citation(opts.docs or ROOT / "docs" / "performance.md")
    return "\n".join(lines).rstrip() + "\n"


def sweep_citation(path: Path) -> list[str]:
    """The SLA sweep is its own benchmark (`kesu bench sweep`, an hour per database): cite the
    latest figures it wrote to the same document instead of re-running it."""
    text = path.read_text() if path.exists() else ""
    found = []
    for kind in ("sqlite", "postgresql"):
        start, end = f"<!-- bench:sla-sweep:{kind} -->", f"<!-- /bench:sla-sweep:{kind} -->"
        if start in text and end in text:
            block = text.split(start, 1)[1].split(end, 1)[0]
            title = next((ln[4:] for ln in block.splitlines() if ln.startswith("### ")), kind)
            rows = [ln for ln in block.splitlines() if ln.startswith(("| 1,000,000 ", "| 10,000 "))]
            passes = "; ".join(f"{r.split('|')[1].strip()} open → pass {r.split('|')[5].strip()} s" for r in rows)
            ratio = next((ln for ln in block.splitlines() if ln.startswith("**Ratio")), "")
            found.append(f"- {title}: {passes}. {ratio.split('**')[1] if ratio else ''}")
    if not found:
        return []
    return ["#### SLA sweep (cited from the section above, `kesu bench sweep`)", "", *found, ""]


def latency_table(results: list[dict]) -> list[str]:
    """Issue 6's latency targets: each read scenario one request at a time, against its target,
    the peer at the same size, and the same scenario at the smallest size."""
    rows = [r for r in results if r.get("latency")]
    if not rows:
        return []
    lines = ["#### One request at a time (the latency targets of issue 6)", "",
             "Each read scenario again with a single client, so that a time is the server's work and "
             "not the wait for one of the two cores behind seven other requests.", "",
             "| database | complaints | scenario | median ms | p95 ms | target p95 ms | met | "
             "peer median ms | peer p95 ms | Kesu × faster (p95) | p95 ratio to the smallest size |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        base = min((x for x in rows if x["kind"] == r["kind"]), key=lambda x: x["size"])
        for name, label, target in SCENARIOS[1:]:
            k = r["latency"].get(name)
            if not k:
                continue
            p = r.get("peer_latency", {}).get(name)
            b = base["latency"].get(name)
            met = "–" if target is None else ("yes" if k["p95_ms"] <= target else "no")
            growth = f"{k['p95_ms'] / b['p95_ms']:.2f}" if b and b["p95_ms"] else "–"
            lines.append(
                f"| {r['kind']} | {r['size']:,} | {label} | {_ms(k['median_ms'])} | {_ms(k['p95_ms'])} "
                f"| {target or '–'} | {met} | {_ms(p['median_ms']) if p else '–'} | {_ms(p['p95_ms']) if p else '–'} "
                f"| {_ratio(k['p95_ms'], p['p95_ms']) if p else '–'} | {growth} |")
    return [*lines, ""]


def page_table(results: list[dict]) -> list[str]:
    """Issue 4: the two pages at each size, one client, and the ratio to the smallest size."""
    rows = [r for r in results if {"queue", "page"} <= set(r.get("pages") or {})]
    if not rows:
        return []
    lines = ["#### Workbench pages, one request at a time (issue 4)", "",
             "| database | complaints | page | median ms | p95 ms | p95 ratio to the smallest size |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        base = min((x for x in rows if x["kind"] == r["kind"]), key=lambda x: x["size"])
        for name, label in (("queue", "queue `/`"), ("page", "complaint `/c/{n}/`")):
            p, b = r["pages"][name], base["pages"][name]
            lines.append(f"| {r['kind']} | {r['size']:,} | {label} | {_ms(p['median_ms'])} | {_ms(p['p95_ms'])} "
                         f"| {p['p95_ms'] / b['p95_ms']:.2f} |")
    return [*lines, ""]


START, END = "<!-- bench:run -->", "<!-- /bench:run -->"


def markers(name: str) -> tuple[str, str]:
    return (START, END) if name == "main" else (f"<!-- bench:run:{name} -->", f"<!-- /bench:run:{name} -->")


def write_docs(path: Path, section: str, name: str = "main") -> None:
    """Replace the text between this run's markers (appending them if absent); nothing else."""
    start, end = markers(name)
    text = path.read_text() if path.exists() else "# Performance\n"
    block = f"{start}\n{section}{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    elif "## Served over HTTP" in text:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    else:
        text = text.rstrip("\n") + "\n\n## Served over HTTP (`kesu bench run`)\n\n" + block + "\n"
    path.write_text(text)


def main(opts: Options) -> list[dict]:
    global DATA
    DATA = opts.data
    # Stopped with SIGTERM, unwind like Ctrl-C so the gunicorn servers are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    if opts.peer:
        peer.ensure_venv()
    results = []
    for kind in opts.databases:
        server = pgcluster.start() if kind == "postgres" else None
        if server:
            pgcluster.wait_ready(server)
        for size in opts.sizes:
            results.append(run_size(kind, size, server, opts))
            if opts.json:  # after each size, so a long run leaves something behind
                opts.json.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str))
    text = report(results, opts, machine(), versions(), (time.perf_counter() - started) / 60)
    print(text)
    if opts.docs:
        write_docs(opts.docs, text, opts.section)
        log(f"wrote {opts.docs}")
    return results


def parse(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(prog="kesu bench run")
    p.add_argument("--sizes", default="10000,1000000", help="complaints per database (comma-separated)")
    p.add_argument("--databases", default="sqlite,postgres", help="sqlite, postgres or both")
    p.add_argument("--requests", type=int, default=200, help="requests per read scenario")
    p.add_argument("--intake", type=int, default=400, help="requests of the intake scenario")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--workers", type=int, default=load.workers_default())
    p.add_argument("--peer", action="store_true", help="also django-helpdesk (its own virtualenv)")
    p.add_argument("--peer-sizes", help="sizes at which to run the peer (default: all)")
    p.add_argument("--peer-one-client-sizes", default="",
                   help="sizes at which the peer is measured one request at a time only (its slow sizes)")
    p.add_argument("--no-limit", action="store_true", help="skip the physical limit")
    p.add_argument("--no-latency", action="store_true",
                   help="skip the one-client pass over the read scenarios (latency targets, pages)")
    p.add_argument("--only", help="run only these scenarios (comma-separated names: intake, list, queue, …)")
    p.add_argument("--fresh", action="store_true", help="regenerate the databases")
    p.add_argument("--budget", type=float, default=120.0, help="seconds per scenario at most")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--docs", type=Path, default=ROOT / "docs" / "performance.md")
    p.add_argument("--no-docs", action="store_true")
    p.add_argument("--section", default="main",
                   help="name of this run's block in the document (<!-- bench:run:NAME -->)")
    p.add_argument("--json", type=Path)
    p.add_argument("--data", type=Path, default=DATA, help="where the generated databases live")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    return Options(
        sizes=[int(x) for x in a.sizes.split(",")], databases=a.databases.split(","),
        requests=a.requests, intake=a.intake, clients=a.clients, workers=a.workers, peer=a.peer,
        peer_sizes=[int(x) for x in a.peer_sizes.split(",")] if a.peer_sizes else None,
        peer_one_client_sizes=[int(x) for x in a.peer_one_client_sizes.split(",") if x],
        limit=not a.no_limit, latency=not a.no_latency, only=a.only.split(",") if a.only else None, fresh=a.fresh, budget=a.budget, seed=a.seed,
        docs=None if a.no_docs else a.docs, json=a.json, data=a.data, section=a.section, quiet=a.quiet,
        command="kesu bench run " + " ".join(shlex.quote(x) for x in argv),
    )


if __name__ == "__main__":
    main(parse(sys.argv[1:]))
