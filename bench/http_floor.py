"""What an API request costs before it does anything: ``/healthz`` (no framework work),
``/api/v1/me`` (middleware, the bearer-token query, ninja) and the lookups by number and by phone, each one
request at a time over HTTP through the benchmark's gunicorn, against a database that
``kesu bench run`` generated (its samples give the token and the numbers).

    python -m bench.http_floor var/bench/data/postgres-1000000 \\
        --db postgres://kesu:…@127.0.0.1:…/kesu_bench_1000000
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from urllib.parse import quote

from . import load
from .run import GUNICORN, ROOT, kesu_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_floor")
    parser.add_argument("folder", type=Path, help="the generated database's folder (samples.json)")
    parser.add_argument("--db", required=True, help="its database URL")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    samples = json.loads((args.folder / "samples.json").read_text())
    api = {"Authorization": f"Bearer {samples['token']}"}
    numbers = samples["numbers"] * (args.requests // max(1, len(samples["numbers"])) + 1)
    phones = samples["phones"] * (args.requests // max(1, len(samples["phones"])) + 1)
    scenarios = {
        "/healthz": [load.Request("GET", "/healthz", None, {}) for _ in range(args.requests)],
        "/api/v1/me": [load.Request("GET", "/api/v1/me", None, api) for _ in range(args.requests)],
        "/api/v1/complaints/{n}": [load.Request("GET", f"/api/v1/complaints/{n}", None, api)
                                   for n in numbers[: args.requests]],
        "/api/v1/complaints?phone=": [load.Request("GET", f"/api/v1/complaints?phone={quote(p)}", None, api)
                                      for p in phones[: args.requests]],
    }
    with load.gunicorn(GUNICORN, "kesu.wsgi:application", env=kesu_env(args.db, args.folder), cwd=ROOT,
                       workers=load.workers_default(), log=args.folder / "floor-gunicorn.log") as server:
        for path, requests in scenarios.items():
            load.run(server.port, requests[:20], clients=1, budget=60)  # warm-up, not counted
            r = load.run(server.port, requests, clients=1, budget=60).summary()
            print(f"{path:30} n {r['requests']:4}  median {r['median_ms']:6.2f} ms  p95 {r['p95_ms']:6.2f} ms"
                  f"  errors {r['errors']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
