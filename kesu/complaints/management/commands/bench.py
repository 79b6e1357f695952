"""``kesu bench``: the data generator and the SLA sweep benchmark (``bench/`` at the repository's
top level; see bench/README.md).

    kesu bench generate --complaints N [--open-fraction F] [--due-fraction D] [--seed S]
                        [--batch B] [--now ISO] [--data-dir DIR] [--json FILE] [--db URL]
    kesu bench sweep                      both cases of the benchmark, each in a fresh database
    kesu bench sweep --open N --due M     one case in a fresh database
    kesu bench sweep --open N --due M --here [--migrate]   … in this database
    kesu bench sweep --here --reuse --at ISO                time a pass over data already here
    kesu bench run [--sizes 10000,1000000] [--databases sqlite,postgres] [--peer] …
                                          Kesu under gunicorn over HTTP, the peer, the limit

``--db URL`` runs the command against another database (it sets KESU_DATABASE_URL for a child
process: settings are read once per process). Without it the database is KESU_DATABASE_URL's,
or the embedded SQLite file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


def _bench() -> Any:
    """The ``bench`` package lives beside ``kesu`` in the checkout; an editable install made
    before it existed does not map it, so fall back to the repository root."""
    try:
        import bench
    except ImportError:
        sys.path.insert(0, str(Path(settings.BASE_DIR)))
    import bench.generate
    import bench.run
    import bench.sweep_bench

    return bench


def _datetime(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise CommandError(f"give a time zone (e.g. +08:00 or Z): {value!r}")
    return parsed


class Command(BaseCommand):
    help = "Generate benchmark data and run the benchmarks (see bench/README.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        gen = sub.add_parser("generate", help="bulk-load realistic complaints")
        gen.add_argument("--complaints", type=int, required=True, help="how many complaints")
        gen.add_argument("--open-fraction", type=float, default=0.1,
                         help="share of complaints still open (default 0.1)")
        gen.add_argument("--due-fraction", type=float, default=0.01,
                         help="share of open deadline rows due at the printed sweep time (default 0.01)")
        gen.add_argument("--seed", type=int, default=1)
        gen.add_argument("--batch", type=int, default=5000, help="complaints per transaction")
        gen.add_argument("--now", type=_datetime, help="end of the generated history (default: now)")
        gen.add_argument("--data-dir", type=Path, help="real records (default: ../shared/data)")
        gen.add_argument("--json", type=Path, help="also write the summary as JSON to this file")
        gen.add_argument("--db", help="database URL (default: KESU_DATABASE_URL)")
        gen.add_argument("--quiet", action="store_true", help="no progress bar")

        sweep = sub.add_parser("sweep", help="time one SLA sweep pass (issue 3)")
        sweep.add_argument("--open", type=int, help="open complaints (one case; default: both cases)")
        sweep.add_argument("--due", type=int, help="complaints with due deadlines (one case)")
        sweep.add_argument("--cases", help="both-case sizes as OPEN:DUE,OPEN:DUE "
                                           "(default 1000000:10000,10000:10000)")
        sweep.add_argument("--here", action="store_true",
                           help="use this database instead of a fresh one")
        sweep.add_argument("--migrate", action="store_true", help="with --here: migrate first")
        sweep.add_argument("--reuse", action="store_true",
                           help="with --here: time data generated earlier (needs --at)")
        sweep.add_argument("--at", type=_datetime, help="the sweep time printed by generate")
        sweep.add_argument("--seed", type=int, default=1)
        sweep.add_argument("--profile", type=Path, help="write cProfile stats of the pass here")
        sweep.add_argument("--json", type=Path, help="write the results as JSON to this file")
        sweep.add_argument("--docs", type=Path, help="performance document to update "
                                                     "(both cases; default docs/performance.md)")
        sweep.add_argument("--no-docs", action="store_true", help="do not update the document")
        sweep.add_argument("--db", help="database URL (default: KESU_DATABASE_URL)")
        sweep.add_argument("--quiet", action="store_true", help="no progress bar")

        # Listed for `kesu bench --help`; its options are bench/run.py's own (run_from_argv).
        run = sub.add_parser("run", help="the HTTP benchmark (issue 6; kesu bench run --help)")
        run.add_argument("run_args", nargs="*")

    def run_from_argv(self, argv: list[str]) -> None:
        """``kesu bench run …`` goes to bench/run.py's parser untouched: Django's parser would
        take its options (``--sizes``, ``--help``) for the command's own."""
        if len(argv) > 2 and argv[2] == "run":
            bench = _bench()
            bench.run.main(bench.run.parse(argv[3:]))
            return
        super().run_from_argv(argv)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "run":
            bench = _bench()
            bench.run.main(bench.run.parse(options["run_args"]))
            return
        if options.get("db"):
            self._in_child(options)
            return
        bench = _bench()
        if options["action"] == "generate":
            self._generate(bench, options)
        else:
            self._sweep(bench, options)

    def _generate(self, bench: Any, options: dict[str, Any]) -> None:
        gen = bench.generate
        opts = gen.Options(
            complaints=options["complaints"], open_fraction=options["open_fraction"],
            due_fraction=options["due_fraction"], seed=options["seed"], batch=options["batch"],
            now=options["now"], data_dir=options["data_dir"], quiet=options["quiet"],
        )
        try:
            opts.check()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        summary = gen.generate(opts)
        self.stdout.write(summary.report())
        if options["json"]:
            options["json"].write_text(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))

    def _sweep(self, bench: Any, options: dict[str, Any]) -> None:
        sb = bench.sweep_bench
        if (options["open"] is None) != (options["due"] is None) and not options["reuse"]:
            raise CommandError("give both --open and --due, or neither (both cases)")
        if options["reuse"] and not (options["here"] and options["at"]):
            raise CommandError("--reuse needs --here and --at (the sweep time printed by generate)")
        if options["here"]:
            result = sb.run_case_here(open_=options["open"] or 0, due=options["due"] or 0,
                                      seed=options["seed"], migrate=options["migrate"],
                                      reuse_at=options["at"] if options["reuse"] else None,
                                      profile=options["profile"], quiet=options["quiet"],
                                      out=self.stdout)
            if options["json"]:
                options["json"].write_text(json.dumps(result, indent=2, ensure_ascii=False))
            return
        argv: list[str] = ["--seed", str(options["seed"])]
        if options["open"] is not None:
            argv += ["--cases", f"{options['open']}:{options['due']}", "--no-docs"]
        elif options["cases"]:
            argv += ["--cases", options["cases"]]
        for name in ("profile", "json", "docs"):
            if options[name]:
                argv += [f"--{name}", str(options[name])]
        if options["no_docs"]:
            argv.append("--no-docs")
        if options["quiet"]:
            argv.append("--quiet")
        code = sb.main(argv)
        if code:
            raise CommandError(f"the sweep benchmark failed (exit {code})")

    def _in_child(self, options: dict[str, Any]) -> None:
        """Run this same command with KESU_DATABASE_URL set to ``--db``."""
        argv = [options["action"]]
        skip = {"db", "action", "verbosity", "settings", "pythonpath", "traceback", "no_color",
                "force_color", "skip_checks"}
        for name, value in options.items():
            if name in skip or value is None or value is False:
                continue
            flag = "--" + name.replace("_", "-")
            argv += [flag] if value is True else [flag, value.isoformat() if isinstance(value, datetime) else str(value)]
        env = {**os.environ, "KESU_DATABASE_URL": options["db"]}
        done = subprocess.run([sys.executable, "-m", "kesu.cli", "bench", *argv], env=env,
                              cwd=settings.BASE_DIR, check=False)
        if done.returncode:
            raise CommandError(f"kesu bench {options['action']} --db … failed (exit {done.returncode})")
