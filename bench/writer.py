"""Writing rows fast: executemany on SQLite, COPY on PostgreSQL, with the values converted the
way Django's backend converts them (naive UTC text for SQLite datetimes, JSON text, …).

The generator gives ids itself (so events and deadlines can point at complaints before they
are written); ``first_ids`` starts past every id the tables have ever issued, and
``reset_sequences`` moves PostgreSQL's identity sequences past the new rows.
"""

from __future__ import annotations

import importlib
import itertools
import json
from collections.abc import Callable, Iterable
from datetime import UTC
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models

from kesu.complaints.models import Complaint, NumberSequence

from .fasttext import tokens


class Table:
    """Rows of one model, as tuples in column order, waiting to be written.

    ``add(values)`` takes a dict keyed by attribute name (``complaint_id``); its tuple is built
    by a function generated once per table, which applies each column's conversion inline.
    """

    def __init__(self, model: type[models.Model]) -> None:
        fields = model._meta.concrete_fields
        self.model = model
        self.name = model._meta.db_table
        self.columns = [f.column for f in fields]
        vendor = connection.vendor
        names: dict[str, Any] = {}
        parts = []
        for i, f in enumerate(fields):
            convert = _converter(f, vendor)
            if convert is None:
                parts.append(f"v[{f.attname!r}]")
            else:
                names[f"c{i}"] = convert
                parts.append(f"c{i}(v[{f.attname!r}])")
        source = f"def build(v):\n    return ({', '.join(parts)},)\n"
        exec(compile(source, f"<bench row builder for {self.name}>", "exec"), names)  # noqa: S102
        self._build = names["build"]
        self.rows: list[tuple] = []
        self.written = 0

    def add(self, values: dict[str, Any]) -> None:
        try:
            self.rows.append(self._build(values))
        except KeyError as exc:
            raise KeyError(f"the bench generator sets no value for {self.name}.{exc.args[0]}: a new "
                           "field? Teach bench/simulate.py what the actions write to it.") from None

    def flush(self, cursor: Any) -> None:
        if not self.rows:
            return
        q = connection.ops.quote_name
        columns = ", ".join(q(c) for c in self.columns)
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {q(self.name)} ({columns}) FROM STDIN") as copy:
                for row in self.rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(self.columns))
            with _fts_direct(cursor, self):
                cursor.executemany(f"INSERT INTO {q(self.name)} ({columns}) VALUES ({marks})", self.rows)
        self.written += len(self.rows)
        self.rows.clear()


def _dump_json(value: Any, encoder: Any = None) -> str | None:
    if value is None:
        return None
    if not value and isinstance(value, dict):
        return "{}"
    return json.dumps(value, cls=encoder)


def _sqlite_datetime(value: Any) -> str | None:
    """``adapt_datetimefield_value``: the naive UTC datetime as ``str()`` writes it."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ")[:-6]  # drop "+00:00"


def _converter(field: models.Field, vendor: str) -> Callable[[Any], Any] | None:
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        return (lambda v: _dump_json(v, encoder)) if encoder else _dump_json
    if vendor != "sqlite":
        return None  # psycopg adapts datetimes, dates, decimals and booleans itself
    if isinstance(field, models.DateTimeField):
        return _sqlite_datetime
    if isinstance(field, models.DateField):
        return lambda v: None if v is None else v.isoformat()
    if isinstance(field, models.DecimalField):
        return lambda v: None if v is None else str(v)
    return None


class _fts_direct:
    """SQLite: fill the complaints' full-text index directly instead of through its insert
    trigger (migration 0004), which costs about twice as much per row in a bulk load. Inside
    the batch's transaction: drop the trigger, insert the rows and their index entries,
    recreate the trigger as it was; no other writer can come between (SQLite has one)."""

    def __init__(self, cursor: Any, table: Table) -> None:
        self.cursor, self.table, self.trigger = cursor, table, None

    def __enter__(self) -> None:
        if self.table.model is not Complaint:
            return
        self.cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s",
                            [FTS_TRIGGER])
        row = self.cursor.fetchone()
        if row and " ".join(row[0].split()) == " ".join(_fts_trigger_sql().split()):
            self.trigger = row[0]
            self.cursor.execute(f"DROP TRIGGER {FTS_TRIGGER}")

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if self.trigger is None:
            return
        if exc_type is None:
            at = self.table.columns.index("id"), self.table.columns.index("search_tokens")
            self.cursor.executemany("INSERT INTO complaint_fts(rowid, search_tokens) VALUES (%s, %s)",
                                    [(row[at[0]], row[at[1]]) for row in self.table.rows])
        self.cursor.execute(self.trigger)


FTS_TRIGGER = "complaint_fts_ai"


def _fts_trigger_sql() -> str:
    """The trigger as migration 0004 creates it; any other trigger is left to do its work."""
    migration = importlib.import_module("kesu.complaints.migrations.0004_search_index")
    return next(sql for sql in migration.SQLITE_UP if f"TRIGGER {FTS_TRIGGER} " in sql)


def flush(tables: Iterable[Table]) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            table.flush(cursor)


def first_ids(models_: dict[str, type[models.Model]]) -> dict[str, int]:
    """For each table, the first id past every row and every id the table ever issued."""
    out = {}
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        for key, model in models_.items():
            table = model._meta.db_table
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {q(table)}")
            top = cursor.fetchone()[0]
            if connection.vendor == "sqlite":
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                row = cursor.fetchone()
                top = max(top, row[0] if row else 0)
            elif connection.vendor == "postgresql":
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                sequence = cursor.fetchone()[0]
                if sequence:
                    cursor.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}")
                    top = max(top, cursor.fetchone()[0])
            out[key] = top + 1
    return out


def reset_sequences(models_: Iterable[type[models.Model]]) -> None:
    """PostgreSQL: identity sequences past the rows written with explicit ids (SQLite's
    AUTOINCREMENT follows explicit ids by itself)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(models_)):
            cursor.execute(sql)


def advance_numbers(last: dict[str, int]) -> None:
    """R-IN-4: later registrations continue after the generated serials."""
    if not last:
        return
    table = NumberSequence._meta.db_table
    bigger = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (month, last) VALUES (%s, %s) "
            f"ON CONFLICT (month) DO UPDATE SET last = {bigger}({table}.last, excluded.last)",
            sorted(last.items()),
        )


def analyze(models_: Iterable[type[models.Model]]) -> None:
    """PostgreSQL: fresh planner statistics, as autovacuum would gather a minute after a load
    this size. (SQLite is left as Django leaves it: without ANALYZE statistics.)"""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


class Tokens:
    """``search.complaint_tokens`` with each text's tokens computed once: real records and
    template sentences repeat across complaints."""

    def __init__(self, limit: int = 200_000) -> None:
        self.cache: dict[str, list[str]] = {}
        self.limit = limit

    def __call__(self, *parts: str) -> str:
        cache = self.cache
        lists = []
        for part in parts:
            found = cache.get(part)
            if found is None:
                found = tokens(part)
                if len(cache) >= self.limit:
                    cache.clear()
                cache[part] = found
            lists.append(found)
        return " ".join(dict.fromkeys(itertools.chain.from_iterable(lists)))
