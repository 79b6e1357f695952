"""The sweep's three partial indexes leave out paused rows (on hold, R-SLA-10) as the sweep's
queries do: overdue rows of complaints on hold are no longer read and filtered out on every pass
(docs/performance.md, "Where a pass spends its time")."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sla', '0004_default_policies'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='deadline',
            name='deadline_breach_due',
        ),
        migrations.RemoveIndex(
            model_name='deadline',
            name='deadline_warn_due',
        ),
        migrations.RemoveIndex(
            model_name='deadline',
            name='deadline_escalate_due',
        ),
        migrations.AddIndex(
            model_name='deadline',
            index=models.Index(condition=models.Q(('breached_at', None), ('cancelled_at', None), ('met_at', None), ('paused_at', None)), fields=['due_at'], name='deadline_breach_due'),
        ),
        migrations.AddIndex(
            model_name='deadline',
            index=models.Index(condition=models.Q(('cancelled_at', None), ('met_at', None), ('paused_at', None), ('warned_at', None)), fields=['warn_at'], name='deadline_warn_due'),
        ),
        migrations.AddIndex(
            model_name='deadline',
            index=models.Index(condition=models.Q(('cancelled_at', None), ('escalated_at', None), ('met_at', None), ('paused_at', None)), fields=['escalate_at'], name='deadline_escalate_due'),
        ),
    ]
