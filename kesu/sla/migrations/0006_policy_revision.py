"""A revision on each time-limit policy, summed with the calendar's in one query, so that each
process can keep the active policies between changes (kesu/sla/deadlines.py)."""

from django.db import migrations, models

import kesu.sla.models.calendar


class Migration(migrations.Migration):

    dependencies = [
        ('sla', '0005_sweep_indexes_skip_paused'),
    ]

    operations = [
        migrations.AddField(
            model_name='policy',
            name='revision',
            field=models.IntegerField(default=kesu.sla.models.calendar.new_revision, editable=False),
        ),
    ]
