"""Full-text search latency, one request at a time, in-process: the API list
``GET /api/v1/complaints?q=<word>`` (first page, newest first, the user's visibility filter) for
the 2- and 4-character sample words the benchmark cycles through, with median and p95.

    KESU_DATABASE_URL=… python -m bench.search_latency var/bench/data/postgres-1000000/samples.json
    KESU_DATABASE_URL=… python -m bench.search_latency --words 100 --best-of 3 SAMPLES --slowest 5

``--best-of N`` times each word N times in a row and keeps the fastest: on a shared machine
that takes out most of the other processes' noise, for comparing two versions of the code.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from urllib.parse import quote


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_latency")
    parser.add_argument("samples", help="samples.json of a generated database (bench/kesu_setup.py)")
    parser.add_argument("--words", type=int, default=50, help="how many of words2 and of words4")
    parser.add_argument("--rounds", type=int, default=1, help="passes over the words (all counted)")
    parser.add_argument("--best-of", type=int, default=1, help="time each word N times, keep the fastest")
    parser.add_argument("--user", default="bench-manager")
    parser.add_argument("--slowest", type=int, default=3, help="print the N slowest words")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kesu.settings")
    import django

    django.setup()
    from django.test import Client

    from kesu.org.models import User

    with open(args.samples, encoding="utf-8") as f:
        samples = json.load(f)
    client = Client()
    client.force_login(User.objects.get(username=args.user))
    client.get("/api/v1/complaints?q=" + quote("质量"))  # warm: imports, connection, caches
    for key in ("words2", "words4"):
        words = samples[key][: args.words]
        took: list[tuple[float, str, int]] = []
        for _round in range(args.rounds):
            for word in words:
                best = float("inf")
                for _try in range(args.best_of):
                    started = time.perf_counter()
                    response = client.get("/api/v1/complaints?q=" + quote(word))
                    best = min(best, (time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        print(f"{key} {word}: HTTP {response.status_code}", file=sys.stderr)
                        return 1
                took.append((best, word, len(response.json()["items"])))
        times = [t[0] for t in took]
        print(f"{key}: n={len(times)} median {statistics.median(times):.1f} ms, "
              f"p95 {_p95(times):.1f} ms, max {max(times):.1f} ms")
        for ms, word, rows in sorted(took, reverse=True)[: args.slowest]:
            print(f"    {ms:8.1f} ms  {word}  ({rows} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
