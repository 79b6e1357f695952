"""INSERTs of model rows whose SQL is compiled once per shape instead of on every write.

``QuerySet.bulk_create`` and ``Model.save`` build an ``InsertQuery`` and compile it to SQL on
every call. A registration writes its complaint, three events, six deadline rows and two
notices that way: four INSERTs of the same shape every time, whose compiling cost more CPU than
the values they carry (docs/performance.md, intake). Here the statement is compiled by Django's
own compiler the first time a shape is seen (model, database, row count, conflict handling,
returned columns) and kept; later calls only prepare the values, field by field, as that
compiler does (``field.pre_save`` then ``field.get_db_prep_save``), and send them.

A row whose value is an expression (``F()``, ``Now()``), a field with its own placeholder,
a returned column that needs a converter, or a batch large enough for PostgreSQL's ``UNNEST``
form is written through a freshly compiled statement, as Django would: the kept SQL is only
used where it is the SQL Django would have produced.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import NotSupportedError, connections, models, router
from django.db.models.constants import OnConflict
from django.db.models.sql.subqueries import InsertQuery

# PostgreSQL writes this many rows and more as UNNEST of arrays (kesu/lib/postgresql/compiler.py):
# its parameters are laid out by column, not by row, so those batches are compiled each time.
KEPT_BELOW = 100


@dataclass(frozen=True)
class _Compiled:
    sql: str
    fields: tuple[models.Field, ...]
    # Per field, the one type of value it passes to the database unchanged, or None.
    plain: tuple[type | None, ...]


# Fields (of exactly these classes) whose pre_save reads the attribute and whose
# get_db_prep_save returns a value of this type (or None) as it is, on both databases.
_PLAIN: dict[type, type] = {
    models.CharField: str, models.TextField: str, models.SlugField: str,
    models.IntegerField: int, models.SmallIntegerField: int, models.BigIntegerField: int,
    models.PositiveIntegerField: int, models.PositiveSmallIntegerField: int,
    models.BooleanField: bool,
}
_INTEGER_KEYS = (models.AutoField, models.BigAutoField, models.SmallAutoField)


def _plain(field: models.Field) -> type | None:
    if type(field) is models.ForeignKey:
        return int if type(field.target_field) in _INTEGER_KEYS else None
    return _PLAIN.get(type(field))


_kept: dict[tuple[Any, ...], _Compiled | None] = {}  # None: this shape is compiled every time
_keeping = threading.Lock()


def insert(rows: Sequence[models.Model], *, returning: Sequence[str] = (), ignore_conflicts: bool = False,
           using: str | None = None) -> list[tuple[Any, ...]]:
    """INSERT ``rows`` (new instances of one model) in one statement and return the
    ``returning`` columns of each row written, in order. With ``ignore_conflicts`` a row that
    breaks a unique constraint is skipped (ON CONFLICT DO NOTHING / INSERT OR IGNORE) and
    returns nothing. ``returning`` needs a database that returns rows from a multi-row insert
    (PostgreSQL, SQLite 3.35+). The caller runs it inside its transaction."""
    if not rows:
        return []
    model = type(rows[0])
    meta = model._meta
    using = using or router.db_for_write(model)
    connection = connections[using]
    if returning and not connection.features.can_return_rows_from_bulk_insert:
        raise NotSupportedError(f"{connection.display_name} cannot return rows from an INSERT")
    returned = tuple(meta.get_field(name) for name in returning)
    for row in rows:
        if type(row) is not model or row.pk is not None:
            raise ValueError("insert() writes new rows of one model")
        row._prepare_related_fields_for_save(operation_name="insert")
    key = (using, model, len(rows), ignore_conflicts, tuple(returning))
    compiled = _kept[key] if key in _kept else _keep(key, rows, returned, ignore_conflicts, connection)
    params = None if compiled is None else _params(compiled.fields, rows, connection, compiled.plain)
    if params is None:
        statements = _compiler(rows, returned, ignore_conflicts, using).as_sql()
    else:
        statements = [(compiled.sql, params)]
    results: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for sql, values in statements:
            cursor.execute(sql, values)
            if returned:
                results.extend(tuple(r) for r in cursor.fetchall())
    return results


def create(rows: Sequence[models.Model], *, using: str | None = None) -> list[models.Model]:
    """As ``bulk_create(rows)`` (one INSERT, no signals), with each row given its primary key
    and the other columns the database fills in, and marked as saved."""
    if not rows:
        return list(rows)
    model = type(rows[0])
    using = using or router.db_for_write(model)
    names = [f.attname for f in model._meta.db_returning_fields]
    results = insert(rows, returning=names, using=using)
    for row, values in zip(rows, results, strict=True):
        for name, value in zip(names, values, strict=True):
            setattr(row, name, value)
        row._state.adding = False
        row._state.db = using
    return list(rows)


def _fields(meta: Any) -> tuple[models.Field, ...]:
    # What bulk_create writes for rows without a key: neither generated columns nor the key.
    return tuple(f for f in meta.concrete_fields if not f.generated and f is not meta.auto_field)


def _compiler(rows: Sequence[models.Model], returned: tuple[models.Field, ...], ignore_conflicts: bool,
              using: str) -> Any:
    model = type(rows[0])
    query = InsertQuery(model, on_conflict=OnConflict.IGNORE if ignore_conflicts else None)
    query.insert_values(list(_fields(model._meta)), list(rows))
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = list(returned) or None
    return compiler


def _keep(key: tuple[Any, ...], rows: Sequence[models.Model], returned: tuple[models.Field, ...],
          ignore_conflicts: bool, connection: Any) -> _Compiled | None:
    """The statement for this shape, compiled now and kept; None (and compiled on every call)
    where its SQL could depend on the values."""
    meta = type(rows[0])._meta
    fields = _fields(meta)
    if _params(fields, rows, connection) is None:
        return None  # these rows change the statement; the next ones may not
    compiled = None
    if (not (connection.vendor == "postgresql" and len(rows) >= KEPT_BELOW)
            and not any(hasattr(f, "get_placeholder") for f in fields)
            and not any(field.get_db_converters(connection)
                        or connection.ops.get_db_converters(field.get_col(meta.db_table)) for field in returned)):
        statements = _compiler(rows, returned, ignore_conflicts, connection.alias).as_sql()
        if len(statements) == 1:
            compiled = _Compiled(statements[0][0], fields, tuple(_plain(f) for f in fields))
    with _keeping:
        _kept[key] = compiled
    return compiled


def _params(fields: tuple[models.Field, ...], rows: Sequence[models.Model], connection: Any,
            plain: tuple[type | None, ...] | None = None) -> list[Any] | None:
    """The rows' values, row by row, as ``SQLInsertCompiler`` prepares them; None when one of
    them is an expression, which changes the statement. Values that a plain field passes on
    unchanged skip the field's preparation, which is most of them."""
    params: list[Any] = []
    append = params.append
    kinds = plain or (None,) * len(fields)
    for row in rows:
        for field, kind in zip(fields, kinds):
            if kind is not None:
                value = getattr(row, field.attname)
                if value is None or type(value) is kind:
                    append(value)
                    continue
            value = field.pre_save(row, True)
            if hasattr(value, "resolve_expression"):
                return None
            value = field.get_db_prep_save(value, connection=connection)
            if hasattr(value, "as_sql"):
                return None
            append(value)
    return params
