"""R-IN-4: numbers ``TS`` + ``YYYYMM`` + a 5-digit serial that restarts every month."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import connection

from .models import NumberSequence

SHANGHAI = ZoneInfo("Asia/Shanghai")


def next_number(now: datetime) -> str:
    """Issue the next number of ``now``'s month (Shanghai time). Must run inside the
    registering transaction: the UPSERT holds the sequence row's lock until commit, so
    concurrent registrations queue and get consecutive serials, and a rolled-back
    registration gives its serial back instead of leaving a hole."""
    month = now.astimezone(SHANGHAI).strftime("%Y%m")
    table = NumberSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (month, last) VALUES (%s, 1) "
            f"ON CONFLICT (month) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [month],
        )
        serial = cursor.fetchone()[0]
    if serial > 99999:
        # Five digits is the format the company prints on forms; overflowing it is an
        # operational emergency, not something to paper over with a sixth digit.
        raise OverflowError(f"more than 99999 complaints registered in {month}")
    return f"TS{month}{serial:05d}"
