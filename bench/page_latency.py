"""The complaint page in process: median and p95 over a generated database's sample complaints,
each the best of ``--rounds`` renders, through Django's test client with the benchmark user's
session, and the statements a page runs. For comparing two versions of the page's code on the
same database (run it from each checkout in turn).

    KESU_DATABASE_URL=… python -m bench.page_latency var/bench/data/postgres-1000000/samples.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.page_latency")
    parser.add_argument("samples", help="samples.json of a generated database (bench/kesu_setup.py)")
    parser.add_argument("--complaints", type=int, default=80, help="how many of the sample complaints")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--user", default="bench-manager")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kesu.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from kesu.org.models import User

    with open(args.samples, encoding="utf-8") as fh:
        numbers = json.load(fh)["numbers"][: args.complaints]
    client = Client()
    client.force_login(User.objects.get(username=args.user))
    for number in numbers[:20]:  # warm: imports, connection, compiled statements
        client.get(f"/c/{number}/")
    best: dict[str, float] = {}
    statements: dict[str, int] = {}
    for _ in range(args.rounds):
        for number in numbers:
            ran: list[int] = []

            def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
                ran.append(1)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(count):
                started = time.perf_counter()
                response = client.get(f"/c/{number}/")
                took = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                print(f"{number}: HTTP {response.status_code}", file=sys.stderr)
                return 1
            best[number] = min(best.get(number, took), took)
            statements[number] = len(ran)
    times = sorted(best.values())
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(f"{len(times)} complaint pages, best of {args.rounds}: median {statistics.median(times):.2f} ms, "
          f"p95 {p95:.2f} ms, statements median {statistics.median(statements.values()):g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
