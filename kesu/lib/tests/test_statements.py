"""Statements compiled once: the same rows as the QuerySet they are written as."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from kesu.lib.statements import Shaped, Slot, Statement, id_slot, id_slots, id_values, time_slot
from kesu.org.models import Unit, User

BY_USERNAME = Statement(lambda: User.objects.filter(username=Slot("username"), is_active=True))


def test_a_statement_reads_what_its_queryset_reads_with_each_runs_values(org):
    for username in ("clerk", "manager", "gm"):
        found = BY_USERNAME.first(username=username)
        assert found == User.objects.get(username=username)
        assert found.role == org[username].role and found.date_joined == org[username].date_joined
    assert BY_USERNAME.first(username="nobody") is None
    org["clerk"].is_active = False
    org["clerk"].save(update_fields=["is_active"])
    assert BY_USERNAME.first(username="clerk") is None  # the fixed value is still applied


def test_a_statement_is_compiled_once_and_sends_the_same_sql(org):
    BY_USERNAME.first(username="clerk")
    with CaptureQueriesContext(connection) as queries:
        BY_USERNAME.first(username="manager")
        BY_USERNAME.first(username="gm")
    assert len(queries) == 2
    assert queries[0]["sql"].replace("manager", "gm") == queries[1]["sql"]


def test_a_statement_asks_for_its_slots_by_name(org):
    with pytest.raises(TypeError, match="username"):
        BY_USERNAME.rows(name="clerk")


WITH_PARENT = Statement(lambda: Unit.objects.select_related("parent").annotate(
    members_named=Count("members")).filter(parent_id=id_slot("parent"), active=True).order_by("code"))


def test_related_rows_annotations_and_keys_come_back_as_the_orm_builds_them(org):
    parent = org["centre"]
    expected = list(Unit.objects.select_related("parent").annotate(members_named=Count("members"))
                    .filter(parent_id=parent.pk, active=True).order_by("code"))
    with CaptureQueriesContext(connection) as queries:
        found = WITH_PARENT.rows(parent=parent.pk)
        assert [u.parent.name for u in found] == [parent.name] * len(expected)
    assert len(queries) == 1  # the parents came with the rows
    assert found == expected and len(found) == 2  # 北京 and 上海
    assert [u.members_named for u in found] == [u.members_named for u in expected]
    assert WITH_PARENT.rows(parent=-1) == []


@pytest.mark.django_db(transaction=True)
def test_a_statement_compiled_in_one_thread_runs_in_another(org):
    """Threaded web workers and the task worker: each thread has its own connection."""
    import threading

    from django.db import connections

    BY_USERNAME.first(username="clerk")  # compiled here
    found: list = []

    def other() -> None:
        try:
            found.append(BY_USERNAME.first(username="manager"))
        finally:
            connections.close_all()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert [u.username for u in found] == ["manager"]


JOINED_BETWEEN = Statement(lambda: User.objects.filter(
    date_joined__gte=time_slot("since"), date_joined__lt=time_slot("until"), units__code=Slot("unit"),
).order_by("username").values_list("username", "date_joined", "is_active", "units__name"))


def test_moments_and_values_list_rows_come_back_as_the_orm_reads_them(org):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    User.objects.filter(username="handler").update(date_joined=now - timedelta(days=3))
    expected = list(User.objects.filter(date_joined__gte=now - timedelta(days=1), date_joined__lt=now + timedelta(days=1),
                                        units__code="bj").order_by("username")
                    .values_list("username", "date_joined", "is_active", "units__name"))
    found = JOINED_BETWEEN.rows(since=now - timedelta(days=1), until=now + timedelta(days=1), unit="bj")
    assert found == expected and [r[0] for r in found] == ["clerk"]  # the handler joined too early
    assert found[0][1] == org["clerk"].date_joined and found[0][2] is True and found[0][3] == "北京门店"
    assert [r[0] for r in JOINED_BETWEEN.rows(since=now - timedelta(days=5), until=now, unit="bj")] == ["clerk", "handler"]


UNITS_IN = Shaped(lambda count: Unit.objects.filter(pk__in=id_slots("unit", count)).order_by("code"))


def test_a_shaped_statement_compiles_one_statement_per_shape(org):
    one = [org["beijing"].pk]
    three = [org["beijing"].pk, org["shanghai"].pk, org["qa_unit"].pk]
    assert [u.code for u in UNITS_IN.rows((1,), **id_values("unit", one))] == ["bj"]
    assert [u.code for u in UNITS_IN.rows((3,), **id_values("unit", three))] == ["bj", "qa", "sh"]
    assert [u.code for u in UNITS_IN.rows((1,), **id_values("unit", [org["qa_unit"].pk]))] == ["qa"]
