"""The portal's system user (the recorder of complaints customers submit themselves) and the
database table of the shared rate-limit cache (KESU_REDIS_URL unset)."""

from django.conf import settings
from django.db import migrations

PORTAL_USERNAME = "portal"  # kesu.portal.actions.PORTAL_USERNAME


def create_portal_user(apps, schema_editor):
    User = apps.get_model("org", "User")
    if not User.objects.filter(username=PORTAL_USERNAME).exists():
        # "!" prefix: an unusable password (Django's UNUSABLE_PASSWORD_PREFIX); nobody logs in
        # as the portal. Tier 1 with no unit: level routing never picks it as a handler.
        User.objects.create(username=PORTAL_USERNAME, password="!portal-system-user", role="clerk", tier=1,
                            is_system=True, display_name="客户门户", is_active=True)


def remove_portal_user(apps, schema_editor):
    User = apps.get_model("org", "User")
    User.objects.filter(username=PORTAL_USERNAME, last_login=None).delete()


def create_cache_table(apps, schema_editor):
    # createcachetable creates only the tables of configured database caches, and only if
    # missing; with Redis configured it does nothing.
    from django.core.management import call_command

    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0002_user_is_system"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(create_portal_user, remove_portal_user),
        migrations.RunPython(create_cache_table, migrations.RunPython.noop),
    ]
