"""The physical limit of intake: the rows one registration writes, without Kesu.

A complaint registered over Kesu's API during the run is the template: its customer, the
complaint, its timeline events, its deadline rows and its outbox notifications, plus the bump
of the month's number sequence. ``Cloner.insert`` writes a copy of that row set with fresh
keys (number, phone, dedupe keys) in one transaction, with plain DB-API — the number bump
committed on its own before it on PostgreSQL, as Kesu draws numbers there:

(a) ``direct()``: one process, one transaction per complaint, in a loop;
(b) ``application``: a bare WSGI function (no framework, no auth, no validation beyond parsing
    the JSON body) doing the same per POST, served by the same gunicorn as Kesu and driven by
    the same 8 clients.

Durability is the database's as Kesu uses it: SQLite in WAL mode with ``synchronous=NORMAL``
(kesu/settings.py), PostgreSQL with the server's defaults (``synchronous_commit=on``).
SQLite's FTS5 triggers and PostgreSQL's GIN index are maintained by the databases as for Kesu.
"""

from __future__ import annotations

import json
import os
import pickle
import time
import uuid
from pathlib import Path
from typing import Any

TABLES = ("complaints_customer", "complaints_complaint", "complaints_timelineevent",
          "sla_deadline", "comms_notification")


def connect(url: str) -> Any:
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1], timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn
    import psycopg

    return psycopg.connect(url)


def _sqlite(conn: Any) -> bool:
    return type(conn).__module__.startswith("sqlite3")


def _rows(conn: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    ph = "?" if _sqlite(conn) else "%s"
    cur = conn.execute(sql.replace("%s", ph), params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def template(conn: Any, number: str) -> dict[str, Any]:
    """The rows complaint ``number`` wrote at registration."""
    complaint = _rows(conn, "SELECT * FROM complaints_complaint WHERE number = %s", [number])[0]
    cid = complaint["id"]
    found = {
        "complaints_complaint": [complaint],
        "complaints_customer": _rows(conn, "SELECT * FROM complaints_customer WHERE id = %s",
                                     [complaint["customer_id"]]) if complaint["customer_id"] else [],
        "complaints_timelineevent": _rows(conn, "SELECT * FROM complaints_timelineevent WHERE complaint_id = %s "
                                          "ORDER BY id", [cid]),
        "sla_deadline": _rows(conn, "SELECT * FROM sla_deadline WHERE complaint_id = %s ORDER BY id", [cid]),
        "comms_notification": _rows(conn, "SELECT * FROM comms_notification WHERE complaint_id = %s ORDER BY id",
                                    [cid]),
        "sequence": _rows(conn, "SELECT * FROM complaints_numbersequence ORDER BY month DESC LIMIT 1", []),
    }
    if not _sqlite(conn):
        conn.rollback()
    return found


def counts(rows: dict[str, Any]) -> dict[str, int]:
    return {t: len(rows[t]) for t in TABLES}


class Cloner:
    def __init__(self, rows: dict[str, Any]) -> None:
        self.rows = rows
        self._generated: dict[str, set[str]] = {}

    def _computed(self, conn: Any, table: str) -> set[str]:
        """PostgreSQL's generated columns (the search vector): the server writes them."""
        if table not in self._generated:
            self._generated[table] = set() if _sqlite(conn) else {r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "AND is_generated = 'ALWAYS'", [table]).fetchall()}
        return self._generated[table]

    def _insert(self, conn: Any, table: str, row: dict[str, Any]) -> int:
        skip = {"id", *self._computed(conn, table)}
        row = {k: v for k, v in row.items() if k not in skip}
        cols = ", ".join(f'"{k}"' for k in row)
        if _sqlite(conn):
            cur = conn.execute(f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join("?" * len(row))})',
                               list(row.values()))
            return int(cur.lastrowid)
        from psycopg.types.json import Jsonb

        values = [Jsonb(v) if isinstance(v, dict | list) else v for v in row.values()]
        cur = conn.execute(f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join(["%s"] * len(row))}) '
                           "RETURNING id", values)
        return int(cur.fetchone()[0])

    def insert(self, conn: Any) -> str:
        """One registration's rows in one transaction; returns the new number."""
        tag = uuid.uuid4().hex
        number = "B" + tag[:19]
        sqlite = _sqlite(conn)
        if sqlite:
            conn.execute("BEGIN IMMEDIATE")
        seq = self.rows["sequence"]
        if seq and not sqlite:
            # As Kesu numbers on PostgreSQL (kesu/complaints/numbering.py): the draw committed on
            # its own, without waiting for the disk, before the registration's transaction.
            conn.execute("SET LOCAL synchronous_commit = off")
            conn.execute("UPDATE complaints_numbersequence SET last = last + 1 WHERE month = %s",
                         [seq[0]["month"]])
            conn.commit()
        try:
            if seq and sqlite:
                conn.execute("UPDATE complaints_numbersequence SET last = last + 1 WHERE month = ?",
                             [seq[0]["month"]])
            customer_id = None
            for row in self.rows["complaints_customer"]:
                customer_id = self._insert(conn, "complaints_customer",
                                           {**row, "phone": "b" + tag[:20] if row.get("phone") else row.get("phone")})
            complaint = self.rows["complaints_complaint"][0]
            cid = self._insert(conn, "complaints_complaint",
                               {**complaint, "number": number, "customer_id": customer_id})
            for row in self.rows["complaints_timelineevent"]:
                self._insert(conn, "complaints_timelineevent", {**row, "complaint_id": cid})
            for row in self.rows["sla_deadline"]:
                self._insert(conn, "sla_deadline", {**row, "complaint_id": cid})
            for i, row in enumerate(self.rows["comms_notification"]):
                self._insert(conn, "comms_notification",
                             {**row, "complaint_id": cid, "dedupe_key": f"bench-{tag}-{i}"})
            conn.commit() if not sqlite else conn.execute("COMMIT")
        except BaseException:
            conn.rollback() if not sqlite else conn.execute("ROLLBACK")
            raise
        return number


def direct(url: str, rows: dict[str, Any], n: int) -> dict[str, float]:
    """(a): ``n`` registrations' rows from this one process, one transaction each."""
    conn = connect(url)
    cloner = Cloner(rows)
    latencies = []
    started = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        cloner.insert(conn)
        latencies.append(time.perf_counter() - t)
    wall = time.perf_counter() - started
    conn.close()
    return {"wall": wall, "latencies": latencies}


# --- (b) the bare WSGI function --------------------------------------------------------------

_state: dict[str, Any] = {}


def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if "cloner" not in _state:
        rows = pickle.loads(Path(os.environ["BENCH_LIMIT_TEMPLATE"]).read_bytes())
        _state["cloner"] = Cloner(rows)
        _state["conn"] = connect(os.environ["BENCH_LIMIT_DATABASE_URL"])
    if environ["REQUEST_METHOD"] != "POST":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    json.loads(environ["wsgi.input"].read(length) or b"{}")
    number = _state["cloner"].insert(_state["conn"])
    body = json.dumps({"number": number}).encode()
    start_response("201 Created", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
