"""One query tells a process whether any reference data changed (kesu/lib/revisions.py)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from kesu.complaints.models import Category, KeywordRule
from kesu.lib.revisions import revisioned_models, signature_now
from kesu.comms.models import WebhookEndpoint
from kesu.org.models import Change
from kesu.sla.models import CalendarDay, CalendarYear, Policy, WorkingHours


def test_the_signature_covers_the_reference_data_in_one_query(db):
    assert set(revisioned_models()) == {CalendarDay, CalendarYear, WorkingHours, Policy, Category, KeywordRule, Change,
                                      WebhookEndpoint}
    with CaptureQueriesContext(connection) as queries:
        signature_now()
    assert len(queries) == 1


def test_every_kind_of_change_gives_a_new_signature(db):
    kept = Category.objects.create(code="rev_kept", name="保留")
    seen = [signature_now()]

    def changed() -> None:
        now = signature_now()
        assert now not in seen
        seen.append(now)

    category = Category.objects.create(code="rev_test", name="测试")
    changed()
    category.name = "测试二"
    category.save()
    changed()
    Category.objects.filter(pk=category.pk).update(sort=9)
    changed()
    category.save(update_fields=["name"])
    changed()
    kept.delete()
    changed()
    assert signature_now() == seen[-1]  # and none without a change
    category.delete()
    Category.objects.create(code="rev_kept", name="保留")
    changed()  # as many rows as at first, but not the same rows
