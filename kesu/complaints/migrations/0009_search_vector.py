"""PostgreSQL: the search tokens' tsvector as a stored generated column, ``search_vector``, and
the GIN index ``complaint_search`` on it instead of on the expression (complaints/search.py).

Why: checking one complaint against a query rebuilt its vector from the text each time (about
28 µs a row, against 1 µs for a stored vector), which made the newest-first walk of a common
word and the recheck of a bitmap scan slow at a million complaints; and ANALYZE now keeps the
column's lexeme frequencies. The column is not on the Django model: PostgreSQL computes it on
every INSERT, UPDATE and COPY, so nothing writes it, and SQLite (FTS5, migration 0004) has no
such column. A later migration that alters ``search_tokens`` must drop and recreate it.

Adding the column rewrites the table: minutes at a million complaints.
"""

from django.db import migrations

VECTOR = "array_to_tsvector(string_to_array(search_tokens, ' '))"

PG_UP = [
    # The index build sorts the lexemes of every complaint: more memory makes it several
    # times faster than the 64 MB default (SET LOCAL: this migration's transaction only).
    "SET LOCAL maintenance_work_mem = '256MB'",
    "DROP INDEX IF EXISTS complaint_search",
    # STORAGE MAIN: kept in the row (compressed if need be) rather than in the TOAST table,
    # which the other long texts go to first. A walk checks it row by row: about 1.3 µs a row
    # against 2.1 µs for a vector fetched from TOAST.
    (f"ALTER TABLE complaints_complaint ADD COLUMN search_vector tsvector "
     f"GENERATED ALWAYS AS ({VECTOR}) STORED, ALTER COLUMN search_vector SET STORAGE MAIN"),
    "CREATE INDEX complaint_search ON complaints_complaint USING gin (search_vector)",
    "ANALYZE complaints_complaint",
]
PG_DOWN = [
    "DROP INDEX IF EXISTS complaint_search",
    "ALTER TABLE complaints_complaint DROP COLUMN IF EXISTS search_vector",
    f"CREATE INDEX complaint_search ON complaints_complaint USING gin ({VECTOR})",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("complaints", "0008_follow_up_event_kinds")]
    operations = [migrations.RunPython(_run(PG_UP), _run(PG_DOWN))]
