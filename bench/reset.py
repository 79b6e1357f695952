"""A generated database back to what the generator wrote: the complaints registered since (by
earlier runs' intake scenarios and physical limits) removed with everything that points at
them, and the customers they brought.

``kesu bench run`` reuses a generated database from run to run. Each run registered some
thousand complaints (the intake scenario's copies of its sample complaints, the limit's
copies of one registration), and they stayed at the top of the table: after a few runs the
newest 5,000 complaints of the million, which the search's cost estimate samples
(complaints/search.py), were all such copies, and every search word of the run came from
them. Removing them makes each run measure the same generated table.

The generator writes each table's rows with contiguous ids onto a fresh database
(bench/writer.py), so the generated complaints and customers are the first ``complaints``
and ``customers`` (its summary, generated.json) from the smallest id. This is the bench's
own housekeeping: complaints are never deleted in Kesu, and nothing here is reachable from it.

    KESU_DATABASE_URL=… python -m bench.reset var/bench/data/postgres-1000000/generated.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


def generated_tops(summary: dict[str, Any]) -> tuple[int, int]:
    """The largest generated complaint and customer ids."""
    from django.db.models import Min

    from kesu.complaints.models import Complaint, Customer

    first_complaint = Complaint.objects.aggregate(x=Min("id"))["x"] or 1
    first_customer = Customer.objects.aggregate(x=Min("id"))["x"] or 1
    return first_complaint + summary["complaints"] - 1, first_customer + summary["customers"] - 1


def reset(summary: dict[str, Any], *, vacuum: bool = True) -> dict[str, int]:
    """Delete what was registered after the generation; returns the rows deleted per table.
    ``vacuum``: PostgreSQL's VACUUM ANALYZE of the tables afterwards (it cannot run inside a
    transaction, as tests do)."""
    from django.apps import apps
    from django.db import connection, transaction

    from kesu.complaints.models import Complaint, Customer

    complaint_top, customer_top = generated_tops(summary)
    q = connection.ops.quote_name
    # Every table that points at a complaint (timeline, deadlines, notifications, …), whatever
    # its on_delete: they go first, then the complaints, then their customers.
    pointing = [(m, f.column) for m in apps.get_models() for f in m._meta.concrete_fields
                if f.many_to_one and f.related_model is Complaint and m is not Complaint]
    deleted: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as cur:
        for model, column in pointing:
            cur.execute(f"DELETE FROM {q(model._meta.db_table)} WHERE {q(column)} > %s", [complaint_top])
            if cur.rowcount:
                deleted[model._meta.db_table] = cur.rowcount
        # Generated complaints never point at a later one; registrations may have pointed at
        # one another (a repeat of a repeat), which goes with them.
        cur.execute(f"DELETE FROM {q(Complaint._meta.db_table)} WHERE id > %s", [complaint_top])
        deleted[Complaint._meta.db_table] = cur.rowcount
        cur.execute(f"DELETE FROM {q(Customer._meta.db_table)} WHERE id > %s", [customer_top])
        deleted[Customer._meta.db_table] = cur.rowcount
        # The ids go on from the generated ones, as if the deleted rows had never been: else
        # the next run registers above a gap of the ids (the search samples the newest rows,
        # but its slice and the walks count in ids).
        _restart_ids(cur, [Complaint, Customer, *(m for m, _ in pointing)])
    if vacuum and connection.vendor == "postgresql" and deleted[Complaint._meta.db_table]:
        # The walks of the list start at the newest ids: without this they would step over
        # the deleted rows' dead index entries until autovacuum came by.
        with connection.cursor() as cur:
            for table in deleted:
                cur.execute(f"VACUUM ANALYZE {q(table)}")
    return deleted


def _restart_ids(cur: Any, models: list[Any]) -> None:
    """Each table's id sequence back to its largest id."""
    from django.core.management.color import no_style
    from django.db import connection

    if connection.vendor == "sqlite":  # AUTOINCREMENT keeps the largest id ever in sqlite_sequence
        for model in models:
            table = model._meta.db_table
            cur.execute(f"UPDATE sqlite_sequence SET seq = (SELECT coalesce(max(id), 0) FROM "
                        f"{connection.ops.quote_name(table)}) WHERE name = %s", [table])
        return
    for statement in connection.ops.sequence_reset_sql(no_style(), models):
        cur.execute(statement)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reset")
    parser.add_argument("summary", type=Path, help="the generator's summary (generated.json)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kesu.settings")
    import django

    django.setup()
    deleted = reset(json.loads(args.summary.read_text()))
    print("removed since the generation: " + (", ".join(f"{table} {n:,}" for table, n in deleted.items() if n)
                                              or "nothing"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
