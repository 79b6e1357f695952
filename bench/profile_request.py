"""Where one request's time goes: its SQL statements, slowest first, with the query plan of the
slowest, and (``--cprofile``) the Python functions. Runs the request in-process through Django's
test client, as the benchmark's user, against ``KESU_DATABASE_URL``.

    KESU_DATABASE_URL=… python -m bench.profile_request /queue/units/ '/api/v1/complaints?q=质量'
    KESU_DATABASE_URL=… python -m bench.profile_request --cprofile /c/TS202611000001/
    KESU_DATABASE_URL=… python -m bench.profile_request --cprofile --post '{"channel": "phone", …}' /api/v1/complaints
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_request")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--user", default="bench-manager")
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--plans", type=int, default=1, help="query plans of the N slowest statements")
    parser.add_argument("--post", help="POST this JSON body to each path instead of GET (e.g. intake)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kesu.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from kesu.org.models import User

    client = Client()
    client.force_login(User.objects.get(username=args.user))
    stats: list[tuple[float, str, Any]] = []

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            stats.append((time.perf_counter() - started, sql, params))

    def send(path: str) -> Any:
        if args.post:
            return client.post(path, data=args.post, content_type="application/json")
        return client.get(path)

    for path in args.paths:
        send(path)  # warm: imports, connection, caches
        stats.clear()
        profiler = cProfile.Profile() if args.cprofile else None
        started = time.perf_counter()
        with connection.execute_wrapper(timed):
            if profiler:
                profiler.enable()
            response = send(path)
            if profiler:
                profiler.disable()
        total = time.perf_counter() - started
        sql_time = sum(s[0] for s in stats)
        print(f"== {path}: HTTP {response.status_code}, {total * 1000:.1f} ms, {len(stats)} statements, "
              f"SQL {sql_time * 1000:.1f} ms")
        slowest = sorted(stats, key=lambda s: -s[0])
        for took, sql, _params in slowest[:5]:
            print(f"  {took * 1000:8.1f} ms  {sql[:160]}")
        for took, sql, params in slowest[: args.plans]:
            explain = ("EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql"
                       else "EXPLAIN QUERY PLAN ")
            with connection.cursor() as cur:
                cur.execute(explain + sql, params)
                rows = cur.fetchall()
            print(f"  plan of the {took * 1000:.1f} ms statement:")
            for row in rows:
                print("    " + str(row[0] if connection.vendor == "postgresql" else row[-1]))
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
            print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
