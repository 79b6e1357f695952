"""Django's PostgreSQL backend, with the per-request connection health check answered from
the socket when it can be.

With ``CONN_HEALTH_CHECKS`` Django sends ``SELECT 1`` before the first query of every request
that reuses a connection, so that a server restart or fail-over costs a reconnect instead of an
error. That is a round trip on every request: 0.2–0.5 ms of a 4–5 ms lookup here
(docs/performance.md, "Lookups: the floor"). A server that restarts, fails over, or ends the
session (``pg_terminate_backend``, ``idle_session_timeout``) writes its FATAL message and closes
the socket, which makes the socket readable. So a connection that is idle, not broken, and
whose socket has nothing to read has not been told anything since its last answer, and the
ping is skipped. Anything else, a notice included, falls back to Django's ``SELECT 1``. A
server that vanishes without closing the connection is caught by neither before the request's
first query, which then fails as it would have failed after the ping.

With server-side binding (kesu/settings.py) psycopg turns each statement's ``%s`` placeholders
into ``$n`` and keeps the result for the next run, but not for statements of more than 50
parameters, which it assumes to be one-off multi-row INSERTs. A registration's complaint INSERT
(57 columns) and its deadline rows (96 values) are the same few statements every time, and
re-splitting them cost 0.35–0.8 ms of a 6–7 ms registration; ``PostgresQuery`` keeps them too,
in a cache of their own so they cannot push the short statements out of psycopg's.
"""

from __future__ import annotations

import select
from functools import lru_cache
from typing import Any

from django.db.backends.postgresql import base as postgresql_base
from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from django.db.backends.postgresql.operations import DatabaseOperations as PostgreSQLOperations
from psycopg import _queries
from psycopg.pq import TransactionStatus

LONG_STATEMENTS_KEPT = 128


@lru_cache(maxsize=LONG_STATEMENTS_KEPT)
def _long_statement(query: bytes, encoding: str) -> Any:
    return _queries._query2pg_nocache(query, encoding)


class PostgresQuery(_queries.PostgresQuery):
    def convert(self, query: Any, vars: Any) -> None:
        if (vars is None or not isinstance(query, (str, bytes))
                or len(vars) <= _queries.MAX_CACHED_STATEMENT_PARAMS
                or len(query) > 4 * _queries.MAX_CACHED_STATEMENT_LENGTH):
            return super().convert(query, vars)
        query = self._ensure_bytes(query)
        self.query, self._want_formats, self._order, self._parts = _long_statement(query, self._tx.encoding)
        self.dump(vars)


class ServerBindingCursor(postgresql_base.ServerBindingCursor):
    _query_cls = PostgresQuery


class DatabaseOperations(PostgreSQLOperations):
    compiler_module = "kesu.lib.postgresql.compiler"  # small bulk INSERTs as VALUES


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
    ops_class = DatabaseOperations

    def get_connection_params(self) -> dict:
        params = super().get_connection_params()
        if params.get("cursor_factory") is postgresql_base.ServerBindingCursor:
            params["cursor_factory"] = ServerBindingCursor
        return params

    def close_if_health_check_failed(self) -> None:
        if (self.connection is not None and self.health_check_enabled and not self.health_check_done
                and self._told_nothing()):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _told_nothing(self) -> bool:
        connection = self.connection
        if connection.closed or connection.broken or connection.info.transaction_status != TransactionStatus.IDLE:
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable
