"""Where an intake's machine time goes: registrations over HTTP through the benchmark's gunicorn
(8 clients), with the CPU time of the whole machine, of the PostgreSQL server (its backends,
those that ended included) and of the load client, per registration. Against a PostgreSQL
database that ``kesu bench run`` generated in its own cluster (``bench.pgcluster``).

    python -m bench.intake_split var/bench/data/postgres-10000 \\
        --db postgres://kesu:…@127.0.0.1:…/kesu_bench_10000 --requests 1500
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from . import load, pgcluster
from .run import GUNICORN, ROOT, kesu_env, kesu_requests

TICKS = os.sysconf("SC_CLK_TCK")


def _postgres_ticks(postmaster: int) -> int:
    # The postmaster's own time and that of its children that ended (cutime, cstime), plus
    # the children still running.
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True,
                              check=False).stdout.split()  # pgrep exits 1 when there are none
    for pid in children:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(f[11]) + int(f[12])
    return ticks


def _busy_ticks() -> int:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return user + nice + system + irq + softirq + steal


def _own_ticks() -> float:
    t = os.times()
    return (t.user + t.system) * TICKS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.intake_split")
    parser.add_argument("folder", type=Path, help="the generated database's folder (samples.json)")
    parser.add_argument("--db", required=True, help="its database URL (in the bench.pgcluster cluster)")
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args(argv)
    postmaster = int((pgcluster.HOME / "data" / "postmaster.pid").read_text().split("\n", 1)[0])
    samples = json.loads((args.folder / "samples.json").read_text())
    requests = kesu_requests(samples, 10, args.requests)["intake"]
    with load.gunicorn(GUNICORN, "kesu.wsgi:application", env=kesu_env(args.db, args.folder), cwd=ROOT,
                       workers=load.workers_default(), log=args.folder / "intake-split.log") as server:
        load.run(server.port, requests[:100], clients=args.clients, budget=60)  # warm-up
        pg0, busy0, own0 = _postgres_ticks(postmaster), _busy_ticks(), _own_ticks()
        result = load.run(server.port, requests, clients=args.clients, budget=300).summary()
        pg1, busy1, own1 = _postgres_ticks(postmaster), _busy_ticks(), _own_ticks()
    n = result["requests"]

    def ms(ticks: float) -> str:
        return f"{ticks * 1000 / TICKS / n:.2f} ms"

    busy, pg, own = busy1 - busy0, pg1 - pg0, own1 - own0
    print(f"{n} registrations, {result['rate']:.1f}/s, median {result['median_ms']:.1f} ms; "
          f"CPU per registration: machine {ms(busy)}, PostgreSQL {ms(pg)}, load client {ms(own)}, "
          f"the rest (gunicorn's workers, the kernel) {ms(busy - pg - own)}; errors {result['errors']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
