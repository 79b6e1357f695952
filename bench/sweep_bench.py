"""The SLA sweep benchmark (issue 3): the cost of a sweep pass follows what is due, not what is
open.

    kesu bench sweep                        # or: python -m bench.sweep_bench
    scripts/with-postgres.sh kesu bench sweep

Two cases, each in its own fresh database (a SQLite file in a temporary directory; a new
database on the server when KESU_DATABASE_URL names a PostgreSQL one):

    1,000,000 open complaints, 1 % of their deadline rows due  (about 10,000 complaints due)
       10,000 open complaints, all of their deadline rows due  (10,000 complaints due)

Each case runs in a child process (``kesu bench sweep --here --migrate --open N --due M``):
migrate, ``kesu bench generate`` with every complaint open and the due fraction M/N, then one
timed ``kesu.sla.sweep.run(now=T)`` at the sweep time T the generator reports. An untimed
second pass at T records the SQL of the sweep's three due queries, whose EXPLAIN (QUERY PLAN)
shows which index each uses; it has only the rows the first pass's escalations created to
process (a raised level owes limits the old one did not, counted from arrival, so overdue). The parent prints a table with the
ratio of the two passes and writes it to docs/performance.md under "SLA sweep".
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
CASES = [(1_000_000, 10_000), (10_000, 10_000)]
STEPS = ("warn", "breach", "escalate")


# --- one case, in this process's database ----------------------------------------------------


def run_case_here(*, open_: int, due: int, seed: int = 1, migrate: bool = False,
                  reuse_at: datetime | None = None, profile: Path | None = None,
                  quiet: bool = False, out: TextIO | None = None) -> dict[str, Any]:
    """Generate (unless reusing), then time one sweep pass at the sweep time. Needs Django set up."""
    from django.core.management import call_command
    from django.db import connection

    from kesu.sla import sweep
    from kesu.sla.models import Deadline

    from .generate import Options, generate

    out = out or sys.stdout
    result: dict[str, Any] = {"open": open_, "due": due, "vendor": connection.vendor}
    if migrate:
        call_command("migrate", verbosity=0)
    if reuse_at is None:
        summary = generate(Options(complaints=open_, open_fraction=1.0,
                                   due_fraction=min(1.0, due / open_) if open_ else 0.0,
                                   seed=seed, quiet=quiet))
        out.write(summary.report() + "\n")
        result["generate"] = summary.as_dict()
        at = summary.sweep_at
    else:
        at = reuse_at
    assert at is not None
    result["sweep_at"] = at.isoformat()
    result["db_version"] = _db_version()
    open_rows = Deadline.objects.filter(met_at=None, cancelled_at=None, paused_at=None)
    result["open_rows"] = open_rows.count()
    result["due_rows"] = open_rows.filter(due_at__lte=at).count()
    result["due_complaints"] = open_rows.filter(due_at__lte=at).values("complaint_id").distinct().count()
    result["warn_due"] = open_rows.filter(warned_at=None, warn_at__lte=at).count()

    # The timed pass.
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    started = time.perf_counter()
    outcome = sweep.run(now=at)
    seconds = time.perf_counter() - started
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(profile))
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        result["profile"] = text.getvalue()
    claims = {step: Deadline.objects.filter(**{f"{field}_at": at}).count()
              for step, field in zip(STEPS, ("warned", "breached", "escalated"))}
    result.update(pass_seconds=seconds, warned=outcome.warned, breached=outcome.breached,
                  escalated=outcome.escalated, errors=len(outcome.errors), claims=claims)

    # An untimed second pass, to record the three due queries' SQL. Only what the first pass's
    # escalations created is left to do (the raised level's own limits, already overdue).
    captured: dict[str, tuple[str, Any]] = {}

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if (not many and sql.lstrip().upper().startswith("SELECT") and "sla_deadline" in sql
                and "ORDER BY" in sql):
            step = next((s for s, col in zip(STEPS, ("warn_at", "due_at", "escalate_at"))
                         if f'ORDER BY "sla_deadline"."{col}"' in sql), None)
            if step and step not in captured:
                captured[step] = (sql, params)
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(capture):
        again = sweep.run(now=at)
    result["second_pass_seconds"] = time.perf_counter() - started
    result["second_pass_total"] = again.total
    result["plans"] = {step: _explain(*captured[step]) for step in STEPS if step in captured}
    result["sql"] = {step: captured[step][0] for step in STEPS if step in captured}

    out.write(f"sweep at {at.isoformat()}: {result['due_rows']:,} of {result['open_rows']:,} open rows "
              f"due on {result['due_complaints']:,} complaints; pass {seconds:.2f}s "
              f"(warned {outcome.warned:,}, breached {outcome.breached:,}, escalated "
              f"{outcome.escalated:,}, errors {len(outcome.errors)}; claimed {claims}); "
              f"second pass {result['second_pass_seconds']:.3f}s\n")
    for step, lines in result["plans"].items():
        out.write(f"  {step}: " + "\n        ".join(lines) + "\n")
    if result.get("profile"):
        out.write(result["profile"])
    return result


def _db_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]}"
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


def _explain(sql: str, params: Any) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return [row[3] for row in cursor.fetchall()]
        cursor.execute(f"EXPLAIN {sql}", params)
        return [row[0] for row in cursor.fetchall()]


# --- both cases, each in a fresh database ------------------------------------------------------


@contextlib.contextmanager
def fresh_database(base_url: str, name: str) -> Iterator[str]:
    """A database nobody else uses, removed afterwards: a new database on the PostgreSQL
    server of ``base_url``, else a SQLite file in a temporary directory."""
    if base_url.startswith(("postgres://", "postgresql://")):
        import psycopg

        parts = urlsplit(base_url)
        with psycopg.connect(base_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit(parts._replace(path=f"/{name}"))
        finally:
            with psycopg.connect(base_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    with tempfile.TemporaryDirectory(prefix="kesu-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"


def run_case(open_: int, due: int, *, seed: int, base_url: str, profile: Path | None,
             quiet: bool, index: int) -> dict[str, Any]:
    name = f"kesu_bench_{os.getpid()}_{index}"
    with fresh_database(base_url, name) as url, tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "case.json"
        argv = [sys.executable, "-m", "kesu.cli", "bench", "sweep", "--here", "--migrate",
                "--open", str(open_), "--due", str(due), "--seed", str(seed), "--json", str(report)]
        if profile:
            argv += ["--profile", str(profile.with_name(f"{profile.stem}-{open_}-{due}{profile.suffix}"))]
        if quiet:
            argv.append("--quiet")
        started = time.perf_counter()
        # The case's own data directory: the notifications the sweep queues go to a Huey queue
        # there, not to the checkout's var/huey.sqlite3.
        env = {**os.environ, "KESU_DATABASE_URL": url, "KESU_DATA_DIR": folder}
        subprocess.run(argv, env=env, cwd=ROOT, check=True)
        result = json.loads(report.read_text())
        result["case_seconds"] = time.perf_counter() - started
        return result


def machine() -> dict[str, str]:
    import sqlite3

    memory = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {"cpus": str(os.cpu_count()), "memory": memory, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "system": f"{platform.system()} {platform.release()}"}


def table(results: list[dict[str, Any]]) -> list[str]:
    head = ("| open complaints | open deadline rows | due complaints | due rows | pass (s) "
            "| warned / breached / escalated | due rows/s | ratio to the smallest |")
    lines = [head, "|" + "---|" * 8]
    base = min(results, key=lambda r: r["open"])["pass_seconds"]
    for r in results:
        lines.append(
            f"| {r['open']:,} | {r['open_rows']:,} | {r['due_complaints']:,} | {r['due_rows']:,} "
            f"| {r['pass_seconds']:.2f} | {r['warned']:,} / {r['breached']:,} / {r['escalated']:,} "
            f"| {r['due_rows'] / r['pass_seconds']:,.0f} | {r['pass_seconds'] / base:.2f} |")
    return lines


def report(results: list[dict[str, Any]], info: dict[str, str], command: str) -> str:
    vendor = results[0]["db_version"]
    big = max(results, key=lambda r: r["open"])
    small = min(results, key=lambda r: r["open"])
    ratio = big["pass_seconds"] / small["pass_seconds"]
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    minutes = sum(r.get("case_seconds", 0) for r in results) / 60
    lines = [
        f"### {vendor} ({when})",
        "",
        (f"Machine: {info['cpus']} CPUs (nproc), {info['memory']} RAM, Python {info['python']}, "
         f"{vendor}, {info['system']}; shared with other engineers' work while it ran."),
        (f"Reproduce: `{command}` (each case in a fresh database, generation included; "
         f"{minutes:.0f} minutes in all here)."),
        "",
        *table(results),
        "",
        (f"**Ratio of the {big['open']:,}-open pass to the {small['open']:,}-open pass: {ratio:.2f}** "
         "(about the same number of complaints due in both). Each due row is past its limit, so "
         "the pass claims its warning without sending one (already past due), records the breach "
         "and notifies the manager, and 4 working hours having passed, escalates each due "
         "complaint once."),
        "",
        "Generation (`kesu bench generate`, every complaint open):",
        "",
    ]
    for r in results:
        g = r.get("generate") or {}
        if g:
            lines.append(
                f"- {g['complaints']:,} complaints, {g['rows']:,} rows (customers, complaints, "
                f"events, deadlines) in {g['plan_seconds'] + g['write_seconds']:.0f} s: planning "
                f"{g['plan_seconds']:.0f} s, writing {g['write_seconds']:.0f} s = "
                f"{g['rows_per_second']:,} rows/s; {g['complaints_per_second']:,} complaints/s overall")
    heading = (f"Query plans of the sweep's three due queries ({big['open']:,}-open database, "
               "recorded in a second, untimed pass):")
    lines += ["", heading, ""]
    for step in STEPS:
        if step in big.get("plans", {}):
            plan_lines = [f"  {line}" for line in big["plans"][step]]
            lines += [f"- {step} step: `{big['sql'][step]}`", "", "  ```text", *plan_lines, "  ```", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_docs(path: Path, section: str, vendor_key: str) -> None:
    """Put ``section`` under "## SLA sweep" in ``path``, replacing the earlier one for the same
    database kind; other text is kept."""
    start, end = f"<!-- bench:sla-sweep:{vendor_key} -->", f"<!-- /bench:sla-sweep:{vendor_key} -->"
    block = f"{start}\n{section}{end}\n"
    text = path.read_text() if path.exists() else "# Performance\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1].lstrip("\n")
    elif "## SLA sweep" in text:
        head, tail = text.split("## SLA sweep", 1)
        cut = tail.find("\n## ")  # the end of the section
        cut = len(tail) if cut < 0 else cut
        rest = tail[cut:].lstrip("\n")
        text = head + "## SLA sweep" + tail[:cut].rstrip("\n") + "\n\n" + block + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + "\n\n## SLA sweep\n\n" + INTRO + "\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


INTRO = """\
One pass of `kesu.sla.sweep.run(now=T)` over a database of open complaints, with the same number
of complaints due at T in both cases: 1,000,000 open of which 1 % of the deadline rows are due,
and 10,000 open of which all are due. If the sweep's cost follows what is due and not what is
open (ARCHITECTURE principle 3), the ratio of the two passes is near 1. Data from
`kesu bench generate` (bench/README.md); the benchmark is `bench/sweep_bench.py`.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kesu bench sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", help="OPEN:DUE,OPEN:DUE (default 1000000:10000,10000:10000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="cProfile each pass to FILE-<open>-<due>.prof")
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    cases = CASES
    if args.cases:
        cases = [tuple(int(x) for x in case.split(":")) for case in args.cases.split(",")]  # type: ignore[misc]
    base_url = os.environ.get("KESU_DATABASE_URL", "")
    results = []
    for i, (open_, due) in enumerate(cases):
        print(f"== case {i + 1}/{len(cases)}: {open_:,} open complaints, {due:,} due", flush=True)
        results.append(run_case(open_, due, seed=args.seed, base_url=base_url, profile=args.profile,
                                quiet=args.quiet, index=i))
    info = machine()
    postgres = base_url.startswith(("postgres://", "postgresql://"))
    command = "scripts/with-postgres.sh kesu bench sweep" if postgres else "kesu bench sweep"
    if args.cases:
        command += f" --cases {args.cases}"
    text = report(results, info, command)
    print()
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "cases": results}, indent=2, ensure_ascii=False))
    if not args.no_docs and len(results) > 1:
        write_docs(args.docs, text, "postgresql" if postgres else "sqlite")
        print(f"wrote {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
