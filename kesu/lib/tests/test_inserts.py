"""INSERTs compiled once per shape: the same rows as bulk_create and save() would store."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models.functions import Now

from kesu.complaints.models import Complaint, Event, TimelineEvent
from kesu.lib import inserts
from kesu.org.models import Unit
from kesu.sla.models import CalendarDay

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _stored(model, pks, *names):
    return list(model.objects.filter(pk__in=pks).order_by("pk").values_list(*names))


def test_created_rows_are_stored_as_given_and_marked_saved(org, register):
    complaint = register()
    at = datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=SHANGHAI)
    for round_ in range(3):  # the first compiles the shape, the others reuse it
        events = [TimelineEvent(complaint=complaint, kind=Event.NOTE_ADDED, actor=org["handler"], at=at + timedelta(minutes=i),
                                body=f"第{round_}轮备注{i}：顾客说‘再等等’", data={"n": i, "词": ["电饭煲", None, 1.5]})
                  for i in range(3)]
        created = inserts.create(events)
        assert created == events
        assert all(e.pk is not None and not e._state.adding and e._state.db == "default" for e in events)
        assert [e.pk for e in events] == sorted(e.pk for e in events)  # ids ascend in the order given
        assert _stored(TimelineEvent, [e.pk for e in events], "complaint_id", "kind", "actor_id", "at", "body", "data") == [
            (complaint.pk, Event.NOTE_ADDED, org["handler"].pk, at + timedelta(minutes=i), f"第{round_}轮备注{i}：顾客说‘再等等’",
             {"n": i, "词": ["电饭煲", None, 1.5]}) for i in range(3)]


def test_a_kept_shape_sends_the_same_statement_with_new_values(org):
    sent = []

    def spy(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    inserts.create([Unit(name="门店A", code="ins-a", path="/a/")])
    with connection.execute_wrapper(spy):
        inserts.create([Unit(name="门店B", code="ins-b", path="/b/")])
        inserts.create([Unit(name="门店C", code="ins-c", path="/c/", is_quality=True)])
    assert len(sent) == 2 and sent[0] is sent[1]  # the very string kept, not compiled again
    assert _stored(Unit, Unit.objects.filter(code__startswith="ins-").values("pk"), "name", "code", "path", "is_quality") == [
        ("门店A", "ins-a", "/a/", False), ("门店B", "ins-b", "/b/", False), ("门店C", "ins-c", "/c/", True)]


def test_what_the_model_fills_in_on_save_is_filled_in(db):
    before = datetime.now(tz=SHANGHAI)
    day = CalendarDay(date=date(2031, 5, 1), is_working=False, name="劳动节")
    inserts.create([day])
    stored = CalendarDay.objects.get(pk=day.pk)
    assert stored.updated_at >= before - timedelta(seconds=1)  # auto_now
    assert stored.revision == day.revision  # the default, written


def test_a_value_given_as_an_expression_is_computed_by_the_database(org, register):
    complaint = register()

    def note(at):
        return TimelineEvent(complaint=complaint, kind=Event.NOTE_ADDED, actor=org["handler"], at=at, body="备注")

    given = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)
    inserts.create([note(given)])
    computed = note(Now())
    inserts.create([computed])
    inserts.create([note(given)])  # the kept statement is still the plain one
    ats = _stored(TimelineEvent, TimelineEvent.objects.filter(complaint=complaint, kind=Event.NOTE_ADDED).values("pk"), "at")
    assert ats[0] == ats[2] == (given,)
    assert ats[1][0] > given - timedelta(days=365) and ats[1][0] != given


def test_conflicting_rows_are_skipped_and_only_new_ones_returned(org):
    inserts.create([Unit(name="已有", code="ins-dup", path="/d/")])
    rows = [Unit(name="新的1", code="ins-new1", path="/n1/"), Unit(name="重复", code="ins-dup", path="/x/"),
            Unit(name="新的2", code="ins-new2", path="/n2/")]
    returned = inserts.insert(rows, returning=("id", "code"), ignore_conflicts=True)
    assert [code for _pk, code in returned] == ["ins-new1", "ins-new2"]
    assert Unit.objects.get(code="ins-dup").name == "已有"
    assert {pk for pk, _code in returned} == set(Unit.objects.filter(code__in=["ins-new1", "ins-new2"]).values_list("pk", flat=True))


def test_decimals_dates_and_foreign_keys_round_trip(org, register):
    first = register()
    complaint = Complaint.objects.get(pk=first.pk)
    complaint.pk = None
    complaint.number = "TS20991200001"
    complaint.purchase_amount = Decimal("1299.50")
    complaint.delivery_date = date(2026, 10, 30)
    complaint.repeat_of = first
    inserts.create([complaint])
    stored = Complaint.objects.get(number="TS20991200001")
    assert (stored.purchase_amount, stored.delivery_date, stored.repeat_of_id, stored.unit_id) == (
        Decimal("1299.50"), date(2026, 10, 30), first.pk, first.unit_id)
    assert stored.pk == complaint.pk


def test_rows_it_cannot_write_are_refused(org, register):
    complaint = register()
    with pytest.raises(ValueError, match="new rows"):
        inserts.create([Unit.objects.get(code="bj")])
    unsaved = Complaint(number="TS20991200002")
    with pytest.raises(ValueError, match="unsaved related object"):
        inserts.create([TimelineEvent(complaint=unsaved, kind=Event.NOTE_ADDED, at=complaint.registered_at)])


def test_values_of_another_type_than_the_column_are_prepared_by_the_field(org):
    from django.utils.translation import gettext_lazy

    inserts.create([Unit(name="门店P", code="ins-p", path="/p/")])  # keeps the shape
    inserts.create([Unit(name=gettext_lazy("门店Q"), code="ins-q", path="/q/", is_quality=1)])
    assert _stored(Unit, Unit.objects.filter(code__in=["ins-p", "ins-q"]).values("pk"), "name", "is_quality") == [
        ("门店P", False), ("门店Q", True)]
