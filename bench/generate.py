"""``kesu bench generate``: realistic complaints, bulk-loaded fast.

The rows are what ``kesu.complaints.actions`` would have written for the same intakes at the
same times (``register``, then ``accept``, ``investigate``, ``reply``, ``report_platform_result``,
``review`` and ``close``): the same complaint fields, timeline events, deadline rows (from the
policies and business calendar in the database), search tokens, numbers and customers. Only the
writing differs: rows are computed in Python (``simulate.py``) and inserted in batches,
executemany on SQLite and COPY on PostgreSQL, instead of one ORM call at a time.
``kesu/complaints/tests/test_bench.py`` replays generated plans through the actions and
compares every row.

Left out on purpose: the outbox notifications the actions queue (acknowledgement SMS,
assignment and GM-copy emails, reply SMS). They would be deliveries to made-up numbers and
addresses that a running worker tries to send; neither the reports nor the sweep read them.
Ids are given per complaint (its events and rows together), so across complaints they follow
registration order rather than the interleaving of a real history.

Steps:
  1. Plan customers and complaints, and place them in time (``plan.py``).
  2. Number them in registration order, continuing each month's ``NumberSequence``.
  3. Simulate and write batch by batch, each batch in one transaction that also advances
     ``NumberSequence``, so later real registrations get fresh numbers even after a crash.
     A forked worker builds the rows of the next batch while this process writes one.

The generator assumes that nothing else writes to the database while it runs: it gives ids
itself.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue as queue_module
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext

from kesu.complaints.models import Complaint, Customer, NumberSequence, TimelineEvent
from kesu.lib.progress import Progress
from kesu.sla.models import Deadline

from . import org as bench_org
from . import sources
from .plan import CLOSED, Plan, Planner, number_plans
from .simulate import simulate
from .writer import Table, Tokens, advance_numbers, analyze, first_ids, flush, reset_sequences


def check_tokens(fields: dict[str, Any]) -> None:
    """A spot check of the shortcut against the search module itself."""
    from kesu.complaints.search import complaint_tokens

    expected = complaint_tokens(Complaint(**{k: fields[k] for k in (
        "summary", "description", "product", "customer_name", "demand_detail", "lot_number",
        "order_number")}))
    if fields["search_tokens"] != expected:
        raise RuntimeError(f"bench search tokens differ from complaint_tokens for {fields['number']}")


@dataclass
class Options:
    complaints: int
    open_fraction: float = 0.1
    due_fraction: float = 0.01
    seed: int = 1
    batch: int = 5_000
    now: datetime | None = None  # the end of the generated history (default: now)
    data_dir: Path | None = None
    repeat_share: float = 0.15  # customers with a phone who complain more than once
    workers: int = 1  # processes building rows while this one writes (0: none)
    quiet: bool = False

    def check(self) -> None:
        if self.complaints < 1:
            raise ValueError("--complaints must be at least 1")
        for name in ("open_fraction", "due_fraction", "repeat_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"--{name.replace('_', '-')} must be between 0 and 1, not {value}")
        if self.batch < 1:
            raise ValueError("--batch must be at least 1")


@dataclass
class Summary:
    """What was written. Exactly ``due_rows`` of the ``open_rows`` open deadline rows are due
    (due_at and warn_at at or before) at ``sweep_at``; the others fall due after it."""

    complaints: int = 0
    open_complaints: int = 0
    customers: int = 0
    repeat_customers: int = 0
    repeat_links: int = 0
    events: int = 0
    deadlines: int = 0
    open_rows: int = 0
    due_rows: int = 0
    due_complaints: int = 0
    sweep_at: datetime | None = None
    months: int = 0
    first_received: datetime | None = None
    last_registered: datetime | None = None
    plan_seconds: float = 0.0
    write_seconds: float = 0.0
    insert_seconds: float = 0.0  # of write_seconds: in the database
    wait_seconds: float = 0.0  # of write_seconds: waiting for the worker's rows
    statuses: Counter = field(default_factory=Counter)
    levels: Counter = field(default_factory=Counter)
    channels: Counter = field(default_factory=Counter)
    org_created: bool = False
    sources: str = ""

    @property
    def rows(self) -> int:
        return self.complaints + self.customers + self.events + self.deadlines

    @property
    def seconds(self) -> float:
        return self.plan_seconds + self.write_seconds

    @property
    def due_fraction(self) -> float:
        return self.due_rows / self.open_rows if self.open_rows else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "complaints": self.complaints, "open_complaints": self.open_complaints,
            "customers": self.customers, "repeat_customers": self.repeat_customers,
            "repeat_links": self.repeat_links, "events": self.events, "deadlines": self.deadlines,
            "rows": self.rows, "open_rows": self.open_rows, "due_rows": self.due_rows,
            "due_complaints": self.due_complaints, "due_fraction": self.due_fraction,
            "sweep_at": self.sweep_at.isoformat() if self.sweep_at else None,
            "months": self.months,
            "first_received": self.first_received.isoformat() if self.first_received else None,
            "last_registered": self.last_registered.isoformat() if self.last_registered else None,
            "plan_seconds": round(self.plan_seconds, 2), "write_seconds": round(self.write_seconds, 2),
            "insert_seconds": round(self.insert_seconds, 2), "wait_seconds": round(self.wait_seconds, 2),
            "rows_per_second": round(self.rows / self.write_seconds) if self.write_seconds else None,
            "complaints_per_second": round(self.complaints / self.seconds) if self.seconds else None,
            "statuses": dict(self.statuses), "levels": dict(self.levels), "channels": dict(self.channels),
            "org_created": self.org_created, "sources": self.sources,
        }

    def report(self) -> str:
        lines = [
            (f"complaints  {self.complaints:,} ({self.open_complaints:,} open) in {self.months} months, "
             f"{self.customers:,} customers ({self.repeat_customers:,} complained more than once; "
             f"{self.repeat_links:,} complaints linked as repeats)"),
            f"rows        {self.events:,} timeline events, {self.deadlines:,} deadline rows",
            f"states      {', '.join(f'{k} {v:,}' for k, v in self.statuses.most_common())}",
            f"levels      {', '.join(f'{k}: {v:,}' for k, v in sorted(self.levels.items()))}",
            f"channels    {', '.join(f'{k} {v:,}' for k, v in self.channels.most_common())}",
            (f"sweep time  {self.sweep_at.isoformat() if self.sweep_at else '-'}: {self.due_rows:,} of "
             f"{self.open_rows:,} open deadline rows due ({self.due_fraction:.3%}) on "
             f"{self.due_complaints:,} complaints; the rest fall due after it"),
            f"texts       {self.sources}",
            (f"time        planned in {self.plan_seconds:.1f}s; wrote {self.rows:,} rows in "
             f"{self.write_seconds:.1f}s = {self.rows / max(self.write_seconds, 1e-9):,.0f} rows/s; "
             f"{self.complaints / max(self.seconds, 1e-9):,.0f} complaints/s overall "
             f"({self.insert_seconds:.0f}s inserting, {self.wait_seconds:.0f}s waiting for rows)"),
        ]
        return "\n".join(lines)


TABLES = {"customer": Customer, "complaint": Complaint, "event": TimelineEvent, "deadline": Deadline}


@dataclass
class Batch:
    """One transaction's rows, built from a slice of the plans (picklable: a worker process
    builds batches while the parent writes the previous one)."""

    rows: dict[str, list[tuple]]
    serials: dict[str, int]  # month -> the last serial used
    statuses: Counter
    levels: Counter
    channels: Counter
    repeat_links: int
    size: int


class Builder:
    """Turns plans into rows: the actions' effects (``simulate``) in each table's column order."""

    def __init__(self, org: Any, ids: dict[str, int], seed: int) -> None:
        self.org = org
        self.tables = {key: Table(model) for key, model in TABLES.items()}
        self.tokens = Tokens()
        self.lookup = random.Random(seed * 7919 + 1)  # the portal lookup codes' own stream
        self.route_reason = gettext("Level routing at registration")
        self.event_id, self.deadline_id = ids["event"], ids["deadline"]
        self.seen: set[int] = set()

    def build(self, plans: list[Plan]) -> Batch:
        customers, complaints, events, deadlines = self.tables.values()
        batch = Batch({}, {}, Counter(), Counter(), Counter(), 0, len(plans))
        for p in plans:
            if p.customer_id is not None and p.customer_id not in self.seen:
                self.seen.add(p.customer_id)  # created by the first registration with the phone
                customers.add({"id": p.customer_id, "name": p.customer_name, "phone": p.phone,
                               "other_contact": "", "address": p.address, "created_at": p.registered})
            c, evs, rows = simulate(p, org=self.org, route_reason=self.route_reason,
                                    lookup_code=f"{self.lookup.randrange(10**6):06d}")
            c["id"] = p.id
            # search.complaint_tokens(complaint), the description's parts tokenized one by one.
            c["search_tokens"] = self.tokens(p.summary, *p.parts, p.product, p.customer_name,
                                             p.demand_detail, c["lot_number"], p.order_number)
            if p.id % 1009 == 0:
                check_tokens(c)
            complaints.add(c)
            event_id = self.event_id
            for kind, actor, at, visibility, body, before, after, data in evs:
                events.add({"id": event_id, "complaint_id": p.id, "kind": kind, "actor_id": actor,
                            "at": at, "visibility": visibility, "body": body, "before": before,
                            "after": after, "data": data})
                event_id += 1
            self.event_id = event_id
            for row in rows:
                row["id"], row["complaint_id"] = self.deadline_id, p.id
                self.deadline_id += 1
                deadlines.add(row)
            month, serial = p.number[2:8], int(p.number[8:])
            batch.serials[month] = max(batch.serials.get(month, 0), serial)
            batch.statuses[c["status"]] += 1
            batch.levels[p.level] += 1
            batch.channels[p.channel] += 1
            batch.repeat_links += p.repeat_of is not None
        for key, table in self.tables.items():
            batch.rows[key], table.rows = table.rows, []
        return batch


def _batches(builder: Builder, plans: list[Plan], size: int, workers: int) -> Iterator[Batch]:
    """The batches in order; with ``workers`` > 0 built by a forked process while the caller
    writes the one before (the child never touches the parent's database connection)."""
    slices = [plans[i: i + size] for i in range(0, len(plans), size)]
    if workers < 1 or len(slices) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for part in slices:
            yield builder.build(part)
        return
    context = multiprocessing.get_context("fork")
    queue = context.Queue(maxsize=4)

    def work() -> None:
        try:
            for part in slices:
                queue.put(builder.build(part))
        except BaseException as exc:  # report it in the parent, then end
            queue.put(RuntimeError(f"bench worker failed: {exc!r}"))
            raise
        queue.put(None)

    child = context.Process(target=work, name="bench-builder", daemon=True)
    child.start()
    try:
        while True:
            try:
                item = queue.get(timeout=5)
            except queue_module.Empty:
                if not child.is_alive():  # killed (out of memory?) without a word
                    raise RuntimeError(f"bench worker died (exit code {child.exitcode})") from None
                continue
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        if child.is_alive():
            child.terminate()
        child.join()


@contextlib.contextmanager
def _fast_sqlite() -> Iterator[None]:
    """SQLite, this connection only, for the load: a larger page cache keeps the growing
    indexes in memory, and no fsync at checkpoints (an OS crash mid-load can then corrupt the
    file: generate into a database you can throw away). The safety level cannot change inside
    a transaction (a test's), so it is then left alone."""
    if connection.vendor != "sqlite":
        yield
        return
    relax = not connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size = -1000000")
        if relax:
            cursor.execute("PRAGMA synchronous = OFF")
    try:
        yield
    finally:
        if relax:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous = NORMAL")  # as settings.py sets it


def generate(options: Options) -> Summary:
    """Plan, place and write ``options.complaints`` complaints; return what was written."""
    options.check()
    s = Summary()
    started = time.perf_counter()

    # 1. Plan and place.
    org = bench_org.load_or_create()
    texts = sources.load(options.data_dir)
    planner = Planner(org=org, texts=texts, seed=options.seed, open_fraction=options.open_fraction,
                      due_fraction=options.due_fraction, repeat_share=options.repeat_share,
                      quiet=options.quiet)
    clusters = planner.plan(options.complaints)
    s.sweep_at = planner.place(clusters, options.now)
    s.org_created, s.sources = org.created, texts.describe()
    s.open_rows, s.due_rows, s.months = planner.open_rows, planner.due_rows, planner.months
    s.due_complaints = sum(1 for c in clusters if c.group == "due" for p in c.plans if p.open_rows)
    s.repeat_customers = sum(1 for c in clusters if c.phone and len(c.plans) > 1)

    # 2. Numbers and ids.
    ids = first_ids(TABLES)
    plans = number_plans(clusters, first_ids=ids)
    del clusters
    s.plan_seconds = time.perf_counter() - started

    # 3. Simulate and write, each batch in one transaction.
    written = time.perf_counter()
    org.frozen = True
    builder = Builder(org, ids, options.seed)
    tables = builder.tables
    progress = Progress("writing", len(plans), unit="complaints", quiet=options.quiet)
    waited = flushing = 0.0
    with _fast_sqlite():
        mark = time.perf_counter()
        for batch in _batches(builder, plans, options.batch, options.workers):
            got = time.perf_counter()
            waited += got - mark
            for key, rows in batch.rows.items():
                tables[key].rows = rows
            with transaction.atomic():
                flush(tables.values())
                advance_numbers(batch.serials)
            mark = time.perf_counter()
            flushing += mark - got
            s.statuses.update(batch.statuses)
            s.levels.update(batch.levels)
            s.channels.update(batch.channels)
            s.repeat_links += batch.repeat_links
            progress.advance(batch.size)
    progress.finish()
    s.insert_seconds, s.wait_seconds = flushing, waited
    reset_sequences(TABLES.values())
    analyze([*TABLES.values(), NumberSequence])
    s.write_seconds = time.perf_counter() - written

    s.complaints = tables["complaint"].written
    s.customers = tables["customer"].written
    s.events = tables["event"].written
    s.deadlines = tables["deadline"].written
    s.open_complaints = sum(1 for p in plans if p.status != CLOSED)
    s.first_received = min((p.received for p in plans), default=None)
    s.last_registered = max((p.registered for p in plans), default=None)
    return s


def plan_only(options: Options) -> list:
    """The numbered plans without writing anything (the tests replay them through the actions)."""
    options.check()
    org = bench_org.load_or_create()
    planner = Planner(org=org, texts=sources.load(options.data_dir), seed=options.seed,
                      open_fraction=options.open_fraction, due_fraction=options.due_fraction,
                      repeat_share=options.repeat_share, quiet=True)
    clusters = planner.plan(options.complaints)
    planner.place(clusters, options.now)
    return number_plans(clusters, first_ids=first_ids(TABLES))
