"""The three ways PostgreSQL answers a list search, timed word by word, and what the choice
between them (``kesu.complaints.search``) costs for each value of its INDEXED constant.

For each sample word: its matches in the whole table, what the newest-rows sample says (the
estimates ``search.costs`` gives the choice), and the best of three timings of each way to find the
first page of the user's matches: walking the newest complaints checking each one's stored
vector; reading the matches' ids from the GIN index (``_few_matches``; above FEW it gives
up, and the walk follows); and reading the slice (``newest_first``: the index's bitmap ANDed
with the primary key's over the newest rows the estimate gives). Then, for several values of
INDEXED, the time lost over the sample words against always taking the fastest way: in total,
and for the worst word.

    KESU_DATABASE_URL=… python -m bench.search_paths var/bench/data/postgres-1000000/samples.json

The sample words are the benchmark's (``words2`` and ``words4`` of samples.json), each once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any


def _best(fn: Callable[[], Any], tries: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(tries):
        started = time.perf_counter()
        result = fn()
        best = min(best, (time.perf_counter() - started) * 1000)
    return best, result


def _lost(rows: list[dict[str, Any]], search: Any, factor: float, slicing: bool) -> tuple[float, str, float]:
    """Time lost over ``rows`` by the choice at INDEXED = ``factor`` against the fastest way:
    (total ms, worst word, its ms). Without ``slicing``, the choice between walk and index."""
    saved = search.INDEXED
    search.INDEXED = factor
    try:
        lost, worst = 0.0, (0.0, "")
        for r in rows:
            e = r["estimate"]
            chosen = search.way(e, sliceable=slicing and r["sliceable"])
            index_cost = r["index_ms"] + (r["walk_ms"] if r["index_gave_up"] else 0.0)
            cost = {"walk": r["walk_ms"], "index": index_cost, "slice": r["slice_ms"]}[chosen]
            ways = [r["walk_ms"], float("inf") if r["index_gave_up"] else r["index_ms"]]
            if r["slice_ms"] is not None and r["sliceable"]:
                ways.append(r["slice_ms"])
            lost += cost - min(ways)
            worst = max(worst, (cost - min(ways), r["word"]))
        return lost, worst[1], worst[0]
    finally:
        search.INDEXED = saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_paths")
    parser.add_argument("samples", help="samples.json of a generated database (bench/kesu_setup.py)")
    parser.add_argument("--words", type=int, default=80, help="how many distinct sample words")
    parser.add_argument("--user", default="bench-manager")
    parser.add_argument("--indexed", default="1.5,2,2.5,3,4", help="values of INDEXED to compare")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kesu.settings")
    import django

    django.setup()
    from django.db import connection
    from django.db.models import F, Value

    from kesu.complaints import queries, search
    from kesu.complaints.models import Complaint
    from kesu.lib.text import tokens
    from kesu.org.models import User

    if connection.vendor != "postgresql":
        print("the two ways are PostgreSQL's: set KESU_DATABASE_URL to a PostgreSQL database", file=sys.stderr)
        return 1
    with open(args.samples, encoding="utf-8") as f:
        samples = json.load(f)
    visible = queries.visible_to(User.objects.get(username=args.user))
    rows = []
    for word in list(dict.fromkeys(samples["words2"] + samples["words4"]))[: args.words]:
        wanted = list(dict.fromkeys(tokens(word)))
        query = search.tsquery(wanted)
        with connection.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {Complaint._meta.db_table} WHERE search_vector @@ %s::tsquery", [query])
            (matches,) = cur.fetchone()
        estimate = search.costs(visible, query)
        walk = visible.filter(search.VectorMatch(F("pk"), Value(query), indexed=False)).order_by("-id")
        walk_ms, _ = _best(lambda walk=walk: list(walk.values_list("pk", flat=True)[: search.PAGE]))
        index_ms, few = _best(lambda query=query: search._few_matches(visible, query))
        slice_ms = None
        if estimate is not None:
            sliced = search.with_slice(walk, search.Slice(query, estimate))
            ids = sliced.values_list("pk", flat=True)  # as the other two ways: the page's ids
            slice_ms, _ = _best(lambda ids=ids: search.newest_first(ids, None, search.PAGE))
        rows.append({"word": word, "matches": matches, "estimate": estimate, "walk_ms": walk_ms,
                     "index_ms": index_ms, "index_gave_up": few is None, "slice_ms": slice_ms,
                     "sliceable": len(wanted) == 1})

    print(f"{len(rows)} words, newest sample {search.NEWEST:,} rows at most, user {args.user}")
    print(f"{'word':<8} {'matches':>8} {'walk rows est.':>14} {'index est.':>10} {'slice rows':>10} "
          f"{'walk ms':>8} {'index ms':>8} {'slice ms':>8}  chosen")
    for r in sorted(rows, key=lambda r: r["matches"]):
        e = r["estimate"]
        walked = f"{e.walk:,.0f}" if e else "–"
        indexed = f"{e.matches:,.0f}" if e else "0"
        sliced = f"{e.slice_rows:,}" if e else "–"
        slice_ms = f"{r['slice_ms']:>8.1f}" if r["slice_ms"] is not None else f"{'–':>8}"
        gave_up = " (gave up)" if r["index_gave_up"] else ""
        print(f"{r['word']:<8} {r['matches']:>8,} {walked:>14} {indexed:>10} {sliced:>10} "
              f"{r['walk_ms']:>8.1f} {r['index_ms']:>8.1f} {slice_ms}  {search.way(e, sliceable=r['sliceable'])}{gave_up}")
    print("\nINDEXED  ms lost over all words  worst word (ms lost)   [without the slice]")
    for factor in (float(x) for x in args.indexed.split(",")):
        with_slice, without = _lost(rows, search, factor, True), _lost(rows, search, factor, False)
        mark = "  (current)" if factor == search.INDEXED else ""
        print(f"{factor:>7}  {with_slice[0]:>21.0f}  {with_slice[1]} ({with_slice[2]:.1f})"
              f"   [{without[0]:.0f}, {without[1]} ({without[2]:.1f})]{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
