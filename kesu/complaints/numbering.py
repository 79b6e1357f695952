"""R-IN-4: numbers ``TS`` + ``YYYYMM`` + a 5-digit serial that restarts every month.

"Unique and never reused" is the rule; consecutive is not. On PostgreSQL a number is drawn on a
connection of its own and committed at once, so the month's sequence row is locked for one
statement rather than for the whole registration: registrations no longer queue behind each
other (docs/performance.md, intake). A registration that fails after drawing leaves its serial
unused — a gap, never a second complaint with the same number. SQLite has one writer at a time
anyway; there the number is drawn inside the registering transaction and a failure gives its
serial back.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection

from .models import NumberSequence

SHANGHAI = ZoneInfo("Asia/Shanghai")
_NEXT = "ON CONFLICT (month) DO UPDATE SET last = {table}.last + 1 RETURNING last"
_DRAW = "INSERT INTO {table} (month, last) VALUES (%s, 1) " + _NEXT
# The numbering connection is in autocommit: this one statement is its own transaction, and
# set_config(…, true) is local to it. Behind PgBouncer's transaction pooling a session setting
# would stay on a server connection other clients then use. The draw need not wait for the
# disk: the registration's own commit flushes the log past it, and a draw lost in a crash was
# used by no committed complaint. One statement rather than BEGIN, two SET LOCAL, the INSERT
# and COMMIT: one round trip instead of five, and a statement the server keeps prepared.
_DRAW_APART = (
    "WITH settings AS (SELECT set_config('synchronous_commit', 'off', true), set_config('lock_timeout', '2s', true)) "
    "INSERT INTO {table} (month, last) SELECT %s, 1 FROM settings " + _NEXT
)
_own = threading.local()
_open: set[Any] = set()  # every thread's numbering connection, for close_all()
_open_lock = threading.Lock()


def next_number(now: datetime) -> str:
    """Issue the next number of ``now``'s month (Shanghai time)."""
    month = now.astimezone(SHANGHAI).strftime("%Y%m")
    serial = _draw_apart(month) if connection.vendor == "postgresql" else None
    if serial is None:
        serial = _draw(connection.cursor(), month)
    if serial > 99999:
        # Five digits is the format the company prints on forms; overflowing it is an
        # operational emergency, not something to paper over with a sixth digit.
        raise OverflowError(f"more than 99999 complaints registered in {month}")
    return f"TS{month}{serial:05d}"


def serial(key: str) -> int:
    """The next serial of the sequence ``key`` (another record's numbers, such as a CAPA's),
    drawn in the caller's transaction: given back if it rolls back."""
    return _draw(connection.cursor(), key)


def _draw(cursor: Any, month: str) -> int:
    with cursor:
        cursor.execute(_DRAW.format(table=NumberSequence._meta.db_table), [month])
        return int(cursor.fetchone()[0])


def _draw_apart(month: str) -> int | None:
    """The serial drawn and committed on this thread's numbering connection; None when that
    cannot be had in time — the caller's own transaction already holds the month's row (a
    legacy import numbering in the same transaction), so drawing there is the way through."""
    import psycopg

    for attempt in (1, 2):
        conn = _numbering_connection()
        try:
            with conn.cursor() as cur:
                try:
                    cur.execute(_DRAW_APART.format(table=NumberSequence._meta.db_table), [month])
                except psycopg.errors.LockNotAvailable:
                    return None
                return int(cur.fetchone()[0])
        except psycopg.OperationalError:
            # The server restarted or the connection was cut while idle: reconnect once.
            close()
            if attempt == 2:
                raise
    return None


def _numbering_connection() -> Any:
    params = connection.get_connection_params()
    key = (params.get("host"), params.get("port"), params.get("dbname"))
    conn = getattr(_own, "conn", None)
    if conn is None or conn.closed or _own.key != key:
        close()
        conn = connection.get_new_connection(params)
        conn.autocommit = True
        _own.conn, _own.key = conn, key
        with _open_lock:
            _open.add(conn)
    return conn


def close() -> None:
    """Close this thread's numbering connection, if it has one."""
    conn = getattr(_own, "conn", None)
    _own.conn = None
    if conn is not None:
        _close(conn)


def close_all() -> None:
    """Close every thread's numbering connection (before a test database is dropped)."""
    with _open_lock:
        conns = list(_open)
    for conn in conns:
        _close(conn)


def _close(conn: Any) -> None:
    with _open_lock:
        _open.discard(conn)
    if not conn.closed:
        conn.close()


def forget_serials() -> None:
    """Tests on PostgreSQL: serials are committed outside the test's transaction, so each
    test starts from empty months as it would on SQLite."""
    if connection.vendor != "postgresql":
        return
    conn = _numbering_connection()
    with conn.cursor() as cur:
        cur.execute(f"DELETE FROM {NumberSequence._meta.db_table}")
