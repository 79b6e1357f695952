"""The Chinese full-text index over ``Complaint.search_tokens`` (see complaints/search.py).

SQLite: an external-content FTS5 table kept in sync by triggers. A later migration that makes
SQLite rebuild complaints_complaint drops these triggers; the search tests catch that, and
such a migration must recreate them. PostgreSQL: a GIN index over the tokens as lexemes.
"""

from django.db import migrations

SQLITE_UP = [
    "CREATE VIRTUAL TABLE complaint_fts USING fts5(search_tokens, content='complaints_complaint', "
    "content_rowid='id', tokenize='unicode61')",
    "CREATE TRIGGER complaint_fts_ai AFTER INSERT ON complaints_complaint BEGIN "
    "INSERT INTO complaint_fts(rowid, search_tokens) VALUES (new.id, new.search_tokens); END",
    "CREATE TRIGGER complaint_fts_ad AFTER DELETE ON complaints_complaint BEGIN "
    "INSERT INTO complaint_fts(complaint_fts, rowid, search_tokens) VALUES ('delete', old.id, old.search_tokens); END",
    "CREATE TRIGGER complaint_fts_au AFTER UPDATE OF search_tokens ON complaints_complaint BEGIN "
    "INSERT INTO complaint_fts(complaint_fts, rowid, search_tokens) VALUES ('delete', old.id, old.search_tokens); "
    "INSERT INTO complaint_fts(rowid, search_tokens) VALUES (new.id, new.search_tokens); END",
    "INSERT INTO complaint_fts(complaint_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS complaint_fts_au",
    "DROP TRIGGER IF EXISTS complaint_fts_ad",
    "DROP TRIGGER IF EXISTS complaint_fts_ai",
    "DROP TABLE IF EXISTS complaint_fts",
]
PG_UP = [
    "CREATE INDEX complaint_search ON complaints_complaint "
    "USING gin (array_to_tsvector(string_to_array(search_tokens, ' ')))",
]
PG_DOWN = ["DROP INDEX IF EXISTS complaint_search"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("complaints", "0003_default_categories")]
    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": PG_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": PG_DOWN}),
        )
    ]
