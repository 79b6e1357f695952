"""R-IN-4: complaint numbers — ``TS`` + ``YYYYMM`` (Asia/Shanghai) + a 5-digit serial that
restarts every month; unique and never reused, also under concurrent intake.

Runs on SQLite (WAL, IMMEDIATE transactions) and on PostgreSQL (``scripts/with-postgres.sh``).
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from kesu.complaints import actions
from kesu.complaints.models import Complaint, NumberSequence
from kesu.lib.errors import Invalid
from kesu.org.models import User

SHANGHAI = ZoneInfo("Asia/Shanghai")
NUMBER = re.compile(r"^TS(?P<month>\d{6})(?P<serial>\d{5})$")


def _serial(number: str) -> int:
    match = NUMBER.match(number)
    assert match, number
    return int(match["serial"])


def _intake(make_intake, n: int, **overrides):
    """An unrelated complaint (own customer, order and product), so no repeat detection."""
    data = {"contact_phone": f"139{n:08d}", "order_number": f"NUM{n:06d}", "product": f"型号N{n}"}
    data.update(overrides)
    return make_intake(**data)


def test_r_in_4_number_is_ts_shanghai_month_and_serial_restarting_monthly(org, make_intake):
    clerk = org["clerk"]
    last_of_november = datetime(2026, 11, 30, 23, 59, tzinfo=SHANGHAI)
    # 2026-11-30 16:01 UTC is already December in Shanghai: the month is Shanghai's, not UTC's.
    first_of_december = datetime(2026, 11, 30, 16, 1, tzinfo=UTC)
    assert first_of_december.astimezone(SHANGHAI) == datetime(2026, 12, 1, 0, 1, tzinfo=SHANGHAI)

    nov_1 = actions.register(_intake(make_intake, 1), by=clerk, now=last_of_november).complaint
    nov_2 = actions.register(_intake(make_intake, 2), by=clerk, now=last_of_november).complaint
    dec_1 = actions.register(_intake(make_intake, 3), by=clerk, now=first_of_december).complaint
    dec_2 = actions.register(
        _intake(make_intake, 4), by=clerk, now=datetime(2026, 12, 1, 0, 1, tzinfo=SHANGHAI)
    ).complaint

    assert [nov_1.number, nov_2.number] == ["TS20261100001", "TS20261100002"]
    assert [dec_1.number, dec_2.number] == ["TS20261200001", "TS20261200002"]
    for complaint in (nov_1, nov_2, dec_1, dec_2):
        assert NUMBER.match(complaint.number)
        month = complaint.registered_at.astimezone(SHANGHAI).strftime("%Y%m")
        assert complaint.number[2:8] == month
    # Stored, not just returned.
    assert set(Complaint.objects.values_list("number", flat=True)) == {
        "TS20261100001", "TS20261100002", "TS20261200001", "TS20261200002"}


def test_r_in_4_serial_restart_keeps_each_month_counting_on_its_own(org, make_intake):
    """A late November registration after December started continues November's serials."""
    clerk = org["clerk"]
    dec = actions.register(_intake(make_intake, 1), by=clerk,
                           now=datetime(2026, 12, 1, 0, 1, tzinfo=SHANGHAI)).complaint
    nov = actions.register(_intake(make_intake, 2), by=clerk,
                           now=datetime(2026, 11, 30, 23, 59, tzinfo=SHANGHAI)).complaint
    dec_again = actions.register(_intake(make_intake, 3), by=clerk,
                                 now=datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI)).complaint
    assert (dec.number, nov.number, dec_again.number) == (
        "TS20261200001", "TS20261100001", "TS20261200002")
    assert dict(NumberSequence.objects.values_list("month", "last")) == {"202611": 1, "202612": 2}


def test_r_in_4_failed_validation_leaves_no_gap_and_no_duplicate(org, make_intake):
    clerk = org["clerk"]
    now = datetime(2026, 11, 10, 10, 0, tzinfo=SHANGHAI)
    first = actions.register(_intake(make_intake, 1), by=clerk, now=now).complaint
    with pytest.raises(Invalid):
        actions.register(_intake(make_intake, 2, contact_phone="12345"), by=clerk, now=now)
    with pytest.raises(Invalid):
        actions.register(_intake(make_intake, 3, summary="   "), by=clerk, now=now)
    second = actions.register(_intake(make_intake, 4), by=clerk, now=now).complaint

    assert _serial(second.number) == _serial(first.number) + 1
    numbers = list(Complaint.objects.values_list("number", flat=True))
    assert sorted(numbers) == [first.number, second.number]


def test_r_in_4_failure_after_numbering_never_reuses_the_number(org, make_intake, monkeypatch):
    """A registration that fails after drawing its number leaves no complaint behind, and its
    number is never issued twice. On PostgreSQL the number was committed on its own (so that
    registrations do not queue on the month's row): the serial stays unused, a gap. On SQLite,
    drawn inside the registration's transaction, it is given back to the next registration."""
    clerk = org["clerk"]
    now = datetime(2026, 11, 10, 10, 0, tzinfo=SHANGHAI)
    first = actions.register(_intake(make_intake, 1), by=clerk, now=now).complaint

    def broken(*args, **kwargs):
        raise RuntimeError("deadline service down")

    monkeypatch.setattr(actions.deadlines, "schedule", broken)
    with pytest.raises(RuntimeError):
        actions.register(_intake(make_intake, 2), by=clerk, now=now)
    monkeypatch.undo()
    assert Complaint.objects.count() == 1
    drawn = 2 if connection.vendor == "postgresql" else 1
    assert NumberSequence.objects.get(month="202611").last == drawn

    second = actions.register(_intake(make_intake, 3), by=clerk, now=now).complaint
    numbers = list(Complaint.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == 2
    assert _serial(second.number) == _serial(first.number) + drawn


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite has one writer at a time")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_r_in_4_a_registration_in_progress_does_not_hold_up_the_next_number(org, make_intake):
    """PostgreSQL: while one registration's transaction is still open after drawing its
    number, another clerk's registration draws the next number and commits at once."""
    clerk_id = org["clerk"].pk
    now = datetime(2026, 11, 15, 10, 0, tzinfo=SHANGHAI)
    drawn, release = threading.Event(), threading.Event()
    done: list[str] = []
    errors: list[BaseException] = []
    real_schedule = actions.deadlines.schedule

    def slow_schedule(complaint, **kwargs):
        if complaint.contact_phone == "13900000001":
            drawn.set()
            release.wait(timeout=30)
        return real_schedule(complaint, **kwargs)

    def first() -> None:
        try:
            done.append(actions.register(_intake(make_intake, 1), by=User.objects.get(pk=clerk_id),
                                         now=now).complaint.number)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    actions.deadlines.schedule = slow_schedule
    try:
        slow = threading.Thread(target=first)
        slow.start()
        assert drawn.wait(timeout=30)
        # The first registration holds its transaction open; this one must not wait for it.
        second = actions.register(_intake(make_intake, 2), by=User.objects.get(pk=clerk_id), now=now).complaint
        assert not done, "the second registration waited for the first to commit"
        release.set()
        slow.join(timeout=30)
    finally:
        release.set()
        actions.deadlines.schedule = real_schedule
    assert errors == []
    assert _serial(done[0]) == 1 and _serial(second.number) == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_r_in_4_concurrent_registrations_get_distinct_consecutive_numbers(org, make_intake):
    """20 clerks press "register" at the same moment: 20 complaints, 20 distinct numbers with
    consecutive serials. Each thread has its own database connection and commits for real
    (transaction=True), so this exercises the database's locking, not a test transaction.
    ``serialized_rollback`` reloads the default categories that an earlier transactional
    test's flush may have removed."""
    threads_count = 20
    clerk_id = org["clerk"].pk
    now = datetime(2026, 11, 15, 10, 0, tzinfo=SHANGHAI)
    barrier = threading.Barrier(threads_count)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        try:
            clerk = User.objects.get(pk=clerk_id)
            barrier.wait(timeout=60)
            number = actions.register(_intake(make_intake, n), by=clerk, now=now).complaint.number
            with lock:
                numbers.append(number)
        except BaseException as exc:  # reported below; a thread's exception is otherwise lost
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a registration hung"
    assert errors == []

    assert len(numbers) == len(set(numbers)) == threads_count
    assert all(n.startswith("TS202611") for n in numbers)
    serials = sorted(_serial(n) for n in numbers)
    assert serials == list(range(serials[0], serials[0] + threads_count))
    assert Complaint.objects.count() == threads_count
    assert set(Complaint.objects.values_list("number", flat=True)) == set(numbers)
    assert NumberSequence.objects.get(month="202611").last == serials[-1]


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="numbers are drawn apart on PostgreSQL only")
def test_r_in_4_drawing_apart_leaves_no_session_setting_behind(org, make_intake):
    """The draw relaxes durability and sets a lock timeout for its own transaction only: behind
    PgBouncer's transaction pooling a session setting would outlive it on a server connection
    that other clients' transactions (a registration's commit among them) then run on."""
    from kesu.complaints import numbering

    actions.register(_intake(make_intake, 1), by=org["clerk"], now=datetime(2026, 11, 10, 10, 0, tzinfo=SHANGHAI))
    conn = numbering._numbering_connection()
    query = "SELECT name, source FROM pg_settings WHERE name IN ('synchronous_commit', 'lock_timeout')"
    with conn.cursor() as cur:
        cur.execute(query)
        left = dict(cur.fetchall())
    assert set(left) == {"synchronous_commit", "lock_timeout"}
    assert "session" not in left.values(), left  # the server's (or default) values, not the draw's


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="numbers are drawn apart on PostgreSQL only")
def test_r_in_4_a_month_row_held_by_the_callers_own_transaction_is_drawn_there(org):
    """A caller whose own transaction already holds the month's row (a legacy import numbering
    in its transaction) cannot be served by the numbering connection, which would wait for it
    forever: the draw gives up after its lock timeout, leaves its connection clean, and the
    number comes from the caller's transaction, the next serial, never a repeated one."""
    from django.db import transaction

    from kesu.complaints import numbering

    now = datetime(2026, 11, 10, 10, 0, tzinfo=SHANGHAI)
    first = numbering.next_number(now)  # drawn apart
    with transaction.atomic():
        with connection.cursor() as cursor:
            held = numbering._draw(cursor, "202611")  # this transaction now holds the row
        second = numbering.next_number(now)
    assert (_serial(first), held, _serial(second)) == (1, 2, 3)
    conn = numbering._numbering_connection()
    assert conn.info.transaction_status == conn.info.transaction_status.IDLE
    with conn.cursor() as cur:
        cur.execute("SELECT name, source FROM pg_settings WHERE name IN ('synchronous_commit', 'lock_timeout')")
        assert "session" not in dict(cur.fetchall()).values()
