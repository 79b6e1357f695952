"""ORM reads that every request runs, compiled to SQL once per process instead of each time.

Django turns a QuerySet into SQL on every evaluation. For the one-row reads of an API request
(the bearer token, the complaint by number, its deadlines) compiling cost more than asking the
database: the token's read took 1.1 ms, of which 0.25 ms was the round trip (docs/design.md,
"Statements compiled once"; docs/performance.md, "Lookups: the floor").

A ``Statement`` is still written as an ordinary QuerySet, ``select_related`` and annotations
included, so the SQL stays the ORM's. The values that change from run to run are given as
``Slot("name")``, ``id_slot("name")`` for a key, or ``time_slot("name")`` for a moment. The
first run on each database compiles it and keeps Django's compiler. Later runs send the same
SQL with the new values through a copy of that compiler, and build the instances the way
``QuerySet`` does (``ModelIterable``), with the same converters and related objects; a
``values_list()`` Statement gives tuples.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any, Generic, TypeVar

from django.db import connections, models, router
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.models.sql.compiler import SQLCompiler
from django.db.models.sql.constants import MULTI

R = TypeVar("R")  # what a row comes back as: a model instance, or a tuple for values_list()


class Slot(str):
    """A value a ``Statement`` fills in on each run, named by its text. A subclass of ``str``
    so that the ORM's lookups pass it through to the compiled parameters untouched."""

    __slots__ = ()


_ALLOCATING = threading.Lock()
_ID_SLOTS: dict[int, str] = {}  # the stand-in value of each key slot, to its name
_ID_VALUES: dict[str, int] = {}


def id_slot(name: str) -> int:
    """A key (an integer) a ``Statement`` fills in on each run. Integer fields turn any int
    subclass back into a plain int, so the slot is known by a stand-in value no key has: a
    negative number, inside the range of a 32-bit key so that no lookup drops it as
    impossible."""
    value = _ID_VALUES.get(name)
    if value is None:
        with _ALLOCATING:  # two threads compiling at once must not give two names one value
            value = _ID_VALUES.get(name)
            if value is None:
                value = _ID_VALUES[name] = -(2**31) + 1 + len(_ID_VALUES)
                _ID_SLOTS[value] = name
    return value


_TIME_VALUES: dict[str, datetime] = {}


def time_slot(name: str) -> datetime:
    """A moment a ``Statement`` fills in on each run: a stand-in in 1901 that the statement
    finds again among the parameters as the backend prepares it (a string on SQLite)."""
    value = _TIME_VALUES.get(name)
    if value is None:
        with _ALLOCATING:
            value = _TIME_VALUES.get(name)
            if value is None:
                value = _TIME_VALUES[name] = datetime(1901, 1, 1, tzinfo=UTC) + timedelta(seconds=len(_TIME_VALUES) + 1)
    return value


@dataclass(frozen=True)
class _Compiled:
    compiler: SQLCompiler  # set up by its one as_sql(): select, klass_info, annotation_col_map
    sql: str
    slots: list[str | None]  # each parameter's slot name, None for a value fixed in the query
    params: list[Any]
    names: frozenset[str]
    times: frozenset[str]  # the slots that take a moment, prepared for the backend on each run
    converters: dict[int, Any]  # the backend's value converters by column, as results_iter finds them
    # Model instances: the model's columns, and django's RelatedPopulator per select_related.
    # None for a values_list(), whose rows come back as tuples.
    init_list: list[str] | None
    model_range: tuple[int, int]
    related: list[Any]


class Statement(Generic[R]):
    def __init__(self, build: Callable[[], models.QuerySet[Any, R]]) -> None:
        self._build = build
        self._model: type[models.Model] | None = None
        # Filled once per database alias; a race only compiles the same thing twice.
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, alias: str) -> _Compiled:
        qs = self._build()
        tuples = qs._iterable_class is ValuesListIterable
        if not tuples and qs._iterable_class is not ModelIterable:
            raise ValueError("A Statement reads model instances or values_list() tuples.")
        if tuples and (qs.query.annotation_select or qs.query.extra_select):
            raise ValueError("A values_list() Statement reads fields only.")
        connection = connections[alias]
        compiler = qs.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        times = {connection.ops.adapt_datetimefield_value(v): n for n, v in _TIME_VALUES.items()}
        slots = [str(p) if isinstance(p, Slot) else _ID_SLOTS.get(p) if type(p) is int
                 else times.get(p) if isinstance(p, str | datetime) else None for p in params]
        select, klass_info = compiler.select, compiler.klass_info
        names = frozenset(s for s in slots if s is not None)
        converters = compiler.get_converters([s[0] for s in select[: compiler.col_count]])
        if tuples:
            compiled = _Compiled(compiler, sql, slots, list(params), names, names & set(_TIME_VALUES),
                                 converters, None, (0, 0), [])
        else:
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            compiled = _Compiled(
                compiler, sql, slots, list(params), names, names & set(_TIME_VALUES), converters,
                [f[0].target.attname for f in select[start:end]], (start, end),
                get_related_populators(klass_info, select, alias),
            )
        self._compiled[alias] = compiled
        return compiled

    def rows(self, **values: Any) -> list[R]:
        """The rows for ``values`` (one per slot), read where the router sends reads."""
        if self._model is None:
            self._model = self._build().model
        model = self._model
        alias = router.db_for_read(model)
        c = self._compiled.get(alias) or self._compile(alias)
        if c.names != set(values):
            raise TypeError(f"Statement needs {sorted(c.names)}, got {sorted(values)}")
        connection = connections[alias]
        for name in c.times:
            values[name] = connection.ops.adapt_datetimefield_value(values[name])
        args = [values[s] if s is not None else p for s, p in zip(c.slots, c.params, strict=True)]
        compiler = copy.copy(c.compiler)
        # This thread's connection: the compiler kept the one of the thread that compiled it,
        # which Django refuses to use from another (threaded web workers, the task worker).
        compiler.connection = connection
        compiler.as_sql = lambda *_a, **_k: (c.sql, args)  # type: ignore[method-assign]
        rows = chain.from_iterable(compiler.execute_sql(MULTI))
        if c.converters:
            rows = compiler.apply_converters(rows, c.converters)
        if c.init_list is None:
            return [tuple(row) for row in rows]  # type: ignore[misc]
        start, end = c.model_range
        out = []
        for row in rows:
            obj = model.from_db(alias, c.init_list, row[start:end])
            for populator in c.related:
                populator.populate(row, obj)
            for name, position in compiler.annotation_col_map.items():
                setattr(obj, name, row[position])
            out.append(obj)
        return out  # type: ignore[return-value]

    def first(self, **values: Any) -> R | None:
        found = self.rows(**values)
        return found[0] if found else None


class Shaped(Generic[R]):
    """One ``Statement`` per shape, for a read whose SQL depends on its input: how many keys an
    ``IN`` lists, whether a scope applies, a page's size. ``build`` takes the shape's parts and
    returns the QuerySet; each shape is compiled on its first use."""

    def __init__(self, build: Callable[..., models.QuerySet[Any, R]]) -> None:
        self._build = build
        # A race only makes the same statement twice.
        self._by_shape: dict[tuple[Any, ...], Statement[R]] = {}

    def rows(self, shape: tuple[Any, ...], **values: Any) -> list[R]:
        statement = self._by_shape.get(shape)
        if statement is None:
            statement = self._by_shape[shape] = Statement(lambda: self._build(*shape))
        return statement.rows(**values)


def id_slots(name: str, count: int) -> list[int]:
    """``count`` key slots named ``name0``, ``name1``, …: an ``IN`` list of that length."""
    return [id_slot(f"{name}{i}") for i in range(count)]


def id_values(name: str, keys: Sequence[int]) -> dict[str, int]:
    """The values of ``id_slots(name, len(keys))``."""
    return {f"{name}{i}": key for i, key in enumerate(keys)}
