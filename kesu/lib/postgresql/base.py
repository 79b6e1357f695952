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
"""

from __future__ import annotations

import select

from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from django.db.backends.postgresql.operations import DatabaseOperations as PostgreSQLOperations
from psycopg.pq import TransactionStatus


class DatabaseOperations(PostgreSQLOperations):
    compiler_module = "kesu.lib.postgresql.compiler"  # small bulk INSERTs as VALUES


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
    ops_class = DatabaseOperations

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
