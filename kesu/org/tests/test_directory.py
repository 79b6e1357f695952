"""The organisation kept per process (kesu/org/directory.py) follows every change, on both
databases: the triggers of migration org 0003 put each one into the signature."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import intake
from kesu.complaints import actions
from kesu.lib.errors import Invalid
from kesu.lib.revisions import signature_now
from kesu.org.directory import USER_FIELDS, directory
from kesu.org.models import Role, Unit, UnitKind, User


def _another(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if hasattr(value, "tzinfo"):
        return value - timedelta(days=1)
    return f"{value}x"


def test_every_column_of_the_organisation_is_watched_but_logins_and_passwords(org):
    user = org["clerk"]
    seen = {signature_now()}
    for name in USER_FIELDS:
        if name == "id":
            continue
        User.objects.filter(pk=user.pk).update(**{name: _another(getattr(user, name))})
        now = signature_now()
        assert now not in seen, f"a change of org_user.{name} went unnoticed"
        seen.add(now)
    before = signature_now()
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    user.set_password("another-pass-1")
    user.save(update_fields=["password"])
    assert signature_now() == before


def test_units_memberships_and_users_made_or_removed_are_noticed(org):
    seen = {signature_now()}

    def changed() -> None:
        now = signature_now()
        assert now not in seen
        seen.add(now)

    unit = Unit.objects.create(name="广州门店", code="gz", kind=UnitKind.BRANCH, parent=org["centre"])
    changed()
    Unit.objects.filter(pk=unit.pk).update(name="广州天河门店")
    changed()
    org["clerk"].units.add(unit)
    changed()
    org["clerk"].units.remove(unit)
    changed()
    unit.delete()
    changed()
    temp = User.objects.create_user(username="temp", password="x-pass-12345")
    changed()
    temp.delete()
    changed()
    with connection.cursor() as cursor:  # raw SQL too: the triggers are in the database
        cursor.execute("UPDATE org_user SET display_name = %s WHERE id = %s", ["改名", org["handler"].pk])
    changed()


def test_reading_what_is_kept_costs_only_the_signature(org):
    signature = signature_now()
    directory(signature)
    with CaptureQueriesContext(connection) as queries:
        known = directory(signature)
    assert len(queries) == 0
    assert [u.code for u in known.units_of[org["clerk"].pk]] == ["bj"]
    assert known.users[org["manager"].pk].username == "manager"


def test_registration_follows_a_deactivated_manager_at_once(org, register):
    assert register(level=2).owner == org["manager"]
    User.objects.filter(pk=org["manager"].pk).update(is_active=False)
    stand_in = User.objects.create_user(username="mgr2", password="x-pass-12345", role=Role.MANAGER, tier=2)
    stand_in.units.add(org["centre"])
    complaint = register(level=2, contact_phone="13900001111")
    assert complaint.owner == stand_in


def test_registration_follows_a_clerk_moved_to_another_unit(org, register):
    assert register().unit == org["beijing"]
    org["clerk"].units.set([org["shanghai"]])
    assert register(contact_phone="13900002222").unit == org["shanghai"]


def test_a_unit_closed_after_use_is_refused_at_once(org, register):
    assert register(unit="sh").unit == org["shanghai"]
    Unit.objects.filter(pk=org["shanghai"].pk).update(active=False)
    with pytest.raises(Invalid) as refused:
        register(unit="sh", contact_phone="13900003333")
    assert refused.value.field == "unit"


def test_a_change_rolled_back_is_forgotten(org, register):
    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        org["clerk"].units.set([org["shanghai"]])
        assert register().unit == org["shanghai"]  # kept from the uncommitted change…
        raise Undo
    # …under a signature the database no longer has.
    assert register(contact_phone="13900004444").unit == org["beijing"]


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_by_another_connection_applies_to_the_next_registration(org):
    from threading import Thread

    assert actions.register(intake(), by=org["clerk"]).complaint.owner == org["clerk"]
    handler_tier_2 = User.objects.create_user(username="lead", password="x-pass-12345", role=Role.MANAGER, tier=2)

    def promote() -> None:  # another thread, so another connection, as another process's would be
        try:
            with transaction.atomic():
                User.objects.filter(pk=org["manager"].pk).update(is_active=False)
                handler_tier_2.units.add(org["beijing"])
        finally:
            connection.close()

    thread = Thread(target=promote)
    thread.start()
    thread.join()
    complaint = actions.register(intake(level=2, contact_phone="13900005555"), by=org["clerk"]).complaint
    assert complaint.owner == handler_tier_2


def _reads_of(queries, table: str) -> int:
    """The statements that read rows of ``table`` (not the signature's count of it)."""
    return sum(q["sql"].startswith(f'SELECT "{table}".') for q in queries.captured_queries)


def test_an_api_request_reads_scope_and_people_from_what_the_process_keeps(api, org, register):
    complaint = register()
    handler = api("handler")  # sees the complaint by its unit: the scope is needed
    handler.get(f"/complaints/{complaint.number}")
    with CaptureQueriesContext(connection) as lookup:
        r = handler.get(f"/complaints/{complaint.number}")
    assert r.status_code == 200 and r.json()["owner"]["username"] == "clerk"
    with CaptureQueriesContext(connection) as by_phone:
        r = handler.get("/complaints", {"phone": "13812345678"})
    assert [c["number"] for c in r.json()["items"]] == [complaint.number]
    assert r.json()["items"][0]["owner"]["username"] == "clerk"
    for queries in (lookup, by_phone):
        # The token's statement, with the signature; neither the scope nor the people after it.
        assert _reads_of(queries, "org_user") == 1 and _reads_of(queries, "org_unit") == 0


def test_a_renamed_owner_and_a_moved_handler_show_at_the_next_api_request(api, org, register):
    complaint = register()
    handler = api("handler")
    assert handler.get(f"/complaints/{complaint.number}").json()["owner"]["name"] == "clerk"
    User.objects.filter(pk=org["clerk"].pk).update(display_name="张三")
    assert handler.get(f"/complaints/{complaint.number}").json()["owner"]["name"] == "张三"
    org["handler"].units.set([org["shanghai"]])
    assert handler.get(f"/complaints/{complaint.number}").status_code == 404
    assert handler.get("/complaints", {"phone": "13812345678"}).json()["items"] == []


def test_pages_read_the_session_user_with_the_signature_and_older_sessions_stay_valid(org, register):
    from django.test import Client

    complaint = register()
    client = Client()
    client.force_login(org["handler"])  # the first backend: kesu.org.backends
    assert "clerk" in client.get(f"/c/{complaint.number}/").content.decode()
    User.objects.filter(pk=org["clerk"].pk).update(display_name="张三丰")
    page = client.get(f"/c/{complaint.number}/")
    assert page.status_code == 200 and "张三丰" in page.content.decode()
    with CaptureQueriesContext(connection) as queue:
        assert "张三丰" in client.get("/queue/units/").content.decode()
    assert _reads_of(queue, "org_unit") == 0
    older = Client()
    older.force_login(org["handler"], backend="django.contrib.auth.backends.ModelBackend")
    assert older.get("/").status_code == 200  # not sent to the login page


def test_gm_copies_at_registration_follow_the_gms_and_robots_as_they_change(org, register):
    """Registration takes the GMs and the webhook robots from what the process keeps: each
    change applies to the next registration."""
    from kesu.comms.models import Medium, Notification, WebhookEndpoint, WebhookKind

    def copies(complaint) -> list[tuple[str, str]]:
        return sorted(Notification.objects.filter(complaint=complaint, kind="gm_copy")
                      .values_list("channel", "recipient"))

    claim = {"category": "claim", "summary": "要求索赔", "description": "要求赔偿损失"}
    assert copies(register(contact_phone="13900006661", **claim)) == []  # no address, no robot
    User.objects.filter(pk=org["gm"].pk).update(email="gm@example.cn")
    robot = WebhookEndpoint.objects.create(name="总经理群", kind=WebhookKind.WECOM, url="https://qyapi.example.cn/hook",
                                           kinds=["gm_copy"])
    assert copies(register(contact_phone="13900006662", **claim)) == [
        (Medium.EMAIL, "gm@example.cn"), (Medium.WEBHOOK, "https://qyapi.example.cn/hook")]
    robot.active = False
    robot.save()
    User.objects.filter(pk=org["gm"].pk).update(is_active=False)
    assert copies(register(contact_phone="13900006663", **claim)) == []
    with CaptureQueriesContext(connection) as queries:  # nothing changed since: nothing read again
        register(contact_phone="13900006664", **claim)
    assert _reads_of(queries, "comms_webhookendpoint") == _reads_of(queries, "org_user") == 0
