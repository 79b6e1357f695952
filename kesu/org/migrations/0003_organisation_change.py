"""The organisation's changes counted by triggers (``org.Change``; kesu/org/directory.py).

The SQL is written out here rather than derived from the models: a later column needs a later
migration, which ``test_directory`` asks for by changing every user column in turn."""

import kesu.lib.revisions
from django.db import migrations, models

# Every column of org_user but last_login (each login) and password.
USER_COLUMNS = (
    "id", "is_superuser", "username", "first_name", "last_name", "email", "is_staff", "is_active",
    "date_joined", "display_name", "role", "tier", "phone", "is_system",
)
TABLES = {"org_user": USER_COLUMNS, "org_unit": None, "org_user_units": None}
# A random 31-bit revision, as kesu.lib.revisions.new_revision draws in Python.
POSTGRES = [
    """CREATE FUNCTION org_note_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO org_change (name, revision) VALUES ('org', floor(random() * 2147483648)::integer)
    ON CONFLICT (name) DO UPDATE SET revision = EXCLUDED.revision;
    RETURN NULL;
END $$""",
    *(f"""CREATE TRIGGER {table}_changed
    AFTER INSERT OR UPDATE{" OF " + ", ".join(f'"{c}"' for c in columns) if columns else ""} OR DELETE OR TRUNCATE
    ON {table} FOR EACH STATEMENT EXECUTE FUNCTION org_note_change()""" for table, columns in TABLES.items()),
]
POSTGRES_DROP = [*(f"DROP TRIGGER {table}_changed ON {table}" for table in TABLES), "DROP FUNCTION org_note_change()"]
# SQLite has row triggers only, one event each. No INSERT OR REPLACE: in a trigger, the
# statement that fired it imposes its own conflict clause (a membership's INSERT OR IGNORE).
SQLITE = [
    f"""CREATE TRIGGER {table}_{event.split()[0].lower()}_changed AFTER {event} ON {table} BEGIN
    UPDATE org_change SET revision = random() & 2147483647 WHERE name = 'org';
    INSERT INTO org_change (name, revision) SELECT 'org', random() & 2147483647
        WHERE NOT EXISTS (SELECT 1 FROM org_change WHERE name = 'org');
END"""
    for table, columns in TABLES.items()
    for event in ("INSERT", "DELETE", "UPDATE" + (" OF " + ", ".join(f'"{c}"' for c in columns) if columns else ""))
]
SQLITE_DROP = [f"DROP TRIGGER {table}_{event}_changed" for table in TABLES for event in ("insert", "delete", "update")]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor) -> None:
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('org', '0002_user_is_system'),
    ]

    operations = [
        migrations.CreateModel(
            name='Change',
            fields=[
                ('revision', models.IntegerField(default=kesu.lib.revisions.new_revision, editable=False)),
                ('name', models.CharField(max_length=30, primary_key=True, serialize=False)),
            ],
            options={
                'verbose_name': 'organisation change',
                'verbose_name_plural': 'organisation changes',
            },
        ),
        migrations.RunPython(_run({"postgresql": POSTGRES, "sqlite": SQLITE}),
                             _run({"postgresql": POSTGRES_DROP, "sqlite": SQLITE_DROP})),
    ]
