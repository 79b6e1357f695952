"""Django's PostgreSQL SQL compilers, with small multi-row INSERTs written as VALUES.

Django 5.2 inserts several rows through ``UNNEST`` of one array per column, which saves the
server planning time on thousands of rows. For the six deadline rows, three events and two
notices of a registration, building the arrays costs psycopg more than the plan saves: with
client-side binding every array was quoted into the statement value by value; with the
server-side binding Kesu uses (kesu/settings.py) a registration still took 7.5–7.8 ms of CPU
through UNNEST against 6.1–6.9 ms through VALUES. Below ``UNNEST_FROM`` rows the INSERT is a
plain ``VALUES`` list again.
"""

from __future__ import annotations

from typing import Any

# Django loads the compilers from this module by name: the others are PostgreSQL's own.
from django.db.backends.postgresql.compiler import *
from django.db.backends.postgresql.compiler import SQLInsertCompiler as PostgreSQLInsertCompiler
from django.db.models.sql.compiler import SQLInsertCompiler as BaseSQLInsertCompiler

UNNEST_FROM = 100  # rows


class SQLInsertCompiler(PostgreSQLInsertCompiler):
    def assemble_as_sql(self, fields: Any, value_rows: Any) -> Any:
        if len(value_rows) < UNNEST_FROM:
            return BaseSQLInsertCompiler.assemble_as_sql(self, fields, value_rows)
        return super().assemble_as_sql(fields, value_rows)
