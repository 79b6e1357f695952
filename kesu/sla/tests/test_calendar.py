"""The business calendar (SPEC §4): working days from the PRC holiday schedule with overrides,
editable working hours, and working-time arithmetic ("N working days" = N × the day's working
hours, counted only inside working hours)."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import chinese_calendar
import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from kesu.org.models import User
from kesu.sla.admin_calendar import calendar_warnings
from kesu.sla.calendar import PACKAGE_YEARS, SHANGHAI, BusinessCalendar, parse_date_list
from kesu.sla.models import CalendarDay, CalendarSource, CalendarYear, WorkingHours

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)
UTC = dt.UTC


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def cal() -> BusinessCalendar:
    """The default calendar: package holidays, 09:00–18:00, no overrides (no database)."""
    return BusinessCalendar()


# --- SPEC §4 examples (R-SLA-1: first contact within 1 working day) --------------------------


def test_r_sla_1_tuesday_10_00_is_due_wednesday_10_00(cal):
    assert at(2026, 11, 24).weekday() == 1
    assert cal.add_days(at(2026, 11, 24, 10), 1) == at(2026, 11, 25, 10)
    assert cal.day_length == 9 * H


def test_r_sla_1_friday_evening_before_a_holiday_counts_from_the_next_working_day(cal):
    # Friday 2026-04-03, then 清明 Saturday to Monday (04-04 to 04-06).
    assert chinese_calendar.is_workday(dt.date(2026, 4, 3))
    assert [chinese_calendar.is_holiday(dt.date(2026, 4, d)) for d in (4, 5, 6)] == [True] * 3
    received = at(2026, 4, 3, 20)
    assert cal.next_working_start(received) == at(2026, 4, 7, 9)
    assert cal.add(received, M) == at(2026, 4, 7, 9, 1)
    # A whole day counted from 09:00 ends at 18:00 that day, not 09:00 the next.
    assert cal.add_days(received, 1) == at(2026, 4, 7, 18)


def test_r_sla_1_deadline_exactly_at_the_end_of_a_day_stays_at_18_00(cal):
    assert cal.add_days(at(2026, 11, 24, 9), 1) == at(2026, 11, 24, 18)
    assert cal.add_days(at(2026, 11, 24, 7, 30), 2) == at(2026, 11, 25, 18)
    assert cal.add(at(2026, 11, 24, 17), H) == at(2026, 11, 24, 18)
    assert cal.add(at(2026, 11, 24, 17), H + M) == at(2026, 11, 25, 9, 1)


def test_start_outside_working_hours_or_on_a_weekend_starts_at_the_next_working_start(cal):
    assert cal.add(at(2026, 11, 24, 7), H) == at(2026, 11, 24, 10)      # before hours
    assert cal.add(at(2026, 11, 24, 18), H) == at(2026, 11, 25, 10)     # at the end of the day
    assert cal.add(at(2026, 11, 24, 23, 59), H) == at(2026, 11, 25, 10)
    assert cal.add(at(2026, 11, 28, 11), H) == at(2026, 11, 30, 10)     # Saturday -> Monday
    assert cal.add(at(2026, 11, 24, 10), dt.timedelta(0)) == at(2026, 11, 24, 10)


def test_r_sla_1_received_17_30_before_national_day_is_due_17_30_after_it(cal):
    """2026-09-30 is the last working day before 国庆节 (10-01 to 10-07): 30 minutes that day,
    8.5 hours on 10-08."""
    assert chinese_calendar.is_workday(dt.date(2026, 9, 30))
    assert not any(cal.is_working_day(dt.date(2026, 10, d)) for d in range(1, 8))
    assert cal.is_working_day(dt.date(2026, 10, 8))
    assert cal.day_name(dt.date(2026, 10, 1)) == "国庆节"
    assert cal.add_days(at(2026, 9, 30, 17, 30), 1) == at(2026, 10, 8, 17, 30)


def test_r_sla_1_received_on_a_tiaoxiu_working_saturday_counts_that_day(cal):
    sat = dt.date(2026, 10, 10)  # 国庆节调休上班
    assert sat.weekday() == 5 and chinese_calendar.is_workday(sat)
    assert cal.is_working_day(sat) and cal.day_name(sat) == "国庆节调休上班"
    assert cal.add_days(at(2026, 10, 10, 10), 1) == at(2026, 10, 12, 10)  # Sunday is off
    sun = dt.date(2026, 9, 20)
    assert sun.weekday() == 6 and cal.is_working_day(sun)
    assert cal.add(at(2026, 9, 20, 8), 2 * H) == at(2026, 9, 20, 11)


def test_r_sla_4_three_working_days_over_a_weekend(cal):
    assert cal.add_days(at(2026, 11, 26, 15), 3) == at(2026, 12, 1, 15)  # Thu -> Tue


def test_r_sla_11_ten_working_days_over_golden_week(cal):
    # From Monday 09-28 11:00: 09-29, 09-30, 10-08, 10-09, 10-10 (调休 Saturday), 10-12 .. 10-16
    assert cal.add_days(at(2026, 9, 28, 11), 10) == at(2026, 10, 16, 11)


def test_fractional_days_and_result_time_zone(cal):
    assert cal.add_days(at(2026, 11, 24, 10), 0.5) == at(2026, 11, 24, 14, 30)
    start = dt.datetime(2026, 11, 24, 2, tzinfo=UTC)  # 10:00 in Shanghai
    due = cal.add_days(start, 1)
    assert due.tzinfo is UTC and due == at(2026, 11, 25, 10)
    assert cal.add_days(at(2026, 11, 24, 10), 1).tzinfo is SHANGHAI


def test_naive_datetimes_and_negative_times_are_refused(cal):
    with pytest.raises(ValueError):
        cal.add(dt.datetime(2026, 11, 24, 10), H)
    with pytest.raises(ValueError):
        cal.between(at(2026, 11, 24, 10), dt.datetime(2026, 11, 25, 10))
    with pytest.raises(ValueError):
        cal.add(at(2026, 11, 24, 10), -H)


# --- between() ---------------------------------------------------------------------------------


def test_r_sla_10_hold_over_a_weekend_excludes_the_weekend(cal):
    # On hold from Friday 17:00 to Monday 10:00: one working hour each side.
    assert cal.between(at(2026, 11, 27, 17), at(2026, 11, 30, 10)) == 2 * H
    assert cal.between(at(2026, 11, 28, 9), at(2026, 11, 29, 18)) == dt.timedelta(0)


def test_between_skips_holidays_and_counts_tiaoxiu_days(cal):
    # 09-30 17:00-18:00, 10-08 09:00-10:00
    assert cal.between(at(2026, 9, 30, 17), at(2026, 10, 8, 10)) == 2 * H
    # 10-09 (Fri) and 10-10 (调休 Saturday) are both full days
    assert cal.between(at(2026, 10, 9), at(2026, 10, 11)) == 18 * H


def test_between_is_zero_when_end_is_not_after_start(cal):
    assert cal.between(at(2026, 11, 25), at(2026, 11, 24)) == dt.timedelta(0)
    assert cal.between(at(2026, 11, 24, 10), at(2026, 11, 24, 10)) == dt.timedelta(0)


def test_between_over_a_year_counts_the_2026_working_days(cal):
    working_days = sum(chinese_calendar.is_workday(dt.date(2026, 1, 1) + dt.timedelta(n))
                       for n in range(365))
    assert cal.between(at(2026, 1, 1), at(2027, 1, 1)) == working_days * 9 * H


def test_add_and_between_agree_and_between_is_additive(cal):
    """Property-style: random instants over 2025–2027 (with holidays, 调休 and the fallback)."""
    rng = random.Random(20261122)
    base = at(2025, 12, 1)

    def instant() -> dt.datetime:
        return base + dt.timedelta(minutes=rng.randrange(0, 500 * 24 * 60))

    for _ in range(400):
        a, b, c = sorted([instant(), instant(), instant()])
        assert cal.between(a, b) + cal.between(b, c) == cal.between(a, c)
        working = dt.timedelta(minutes=rng.randrange(1, 30 * 9 * 60))
        assert cal.between(a, cal.add(a, working)) == working
        if cal.is_working_day(c.date()) and dt.time(9) < c.time() <= dt.time(18):
            spent = cal.between(a, c)
            if spent:
                assert cal.add(a, spent) == c


def test_result_is_always_inside_working_hours_of_a_working_day(cal):
    rng = random.Random(7)
    for _ in range(300):
        start = at(2026, 1, 1) + dt.timedelta(minutes=rng.randrange(0, 400 * 24 * 60))
        due = cal.add(start, dt.timedelta(minutes=rng.randrange(1, 20 * 9 * 60)))
        assert cal.is_working_day(due.date())
        assert dt.time(9) < due.time() <= dt.time(18)


# --- overrides, covered years, working hours (pure) --------------------------------------------


def test_2027_falls_back_to_monday_to_friday(cal):
    assert 2027 not in PACKAGE_YEARS and PACKAGE_YEARS[-1] == 2026
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(dt.date(2027, 1, 1))
    assert cal.is_working_day(dt.date(2027, 1, 1))   # a Friday: 元旦 not yet known
    assert not cal.is_working_day(dt.date(2027, 1, 2))
    assert cal.add_days(at(2026, 12, 31, 17), 1) == at(2027, 1, 1, 17)
    assert cal.missing_years(dt.date(2026, 11, 22)) == [2027]
    assert cal.missing_years(dt.date(2026, 5, 1)) == []  # too early to nag about next year
    assert cal.missing_years(dt.date(2027, 3, 1)) == [2027]
    covered = BusinessCalendar({dt.date(2027, 1, 1): False}, covered_years=[2027])
    assert covered.missing_years(dt.date(2026, 11, 22)) == []
    assert covered.add_days(at(2026, 12, 31, 17), 1) == at(2027, 1, 4, 17)


def test_custom_working_hours_change_day_length_and_results():
    cal = BusinessCalendar(day_start=dt.time(8, 30), day_end=dt.time(17, 30))
    assert cal.day_length == 9 * H
    assert cal.add_days(at(2026, 11, 27, 17, 45), 1) == at(2026, 11, 30, 17, 30)
    assert cal.add(at(2026, 11, 24, 8, 45), H) == at(2026, 11, 24, 9, 45)
    short = BusinessCalendar(day_start=dt.time(8, 30), day_end=dt.time(17))
    assert short.day_length == 8 * H + 30 * M
    assert short.add_days(at(2026, 11, 24, 10), 1) == at(2026, 11, 25, 10)
    assert short.add_days(at(2026, 11, 24, 10), 2) == at(2026, 11, 26, 10)
    with pytest.raises(ValueError):
        BusinessCalendar(day_start=dt.time(18), day_end=dt.time(9))


# --- the database: load(), its cache, overrides ------------------------------------------------


@pytest.mark.django_db
def test_r_sla_1_admin_holiday_override_moves_the_deadline():
    assert BusinessCalendar.load().add_days(at(2026, 11, 24, 10), 1) == at(2026, 11, 25, 10)
    CalendarDay.objects.create(date=dt.date(2026, 11, 25), is_working=False, name="公司年会")
    cal = BusinessCalendar.load()
    assert not cal.is_working_day(dt.date(2026, 11, 25))
    assert cal.day_name(dt.date(2026, 11, 25)) == "公司年会"
    assert cal.add_days(at(2026, 11, 24, 10), 1) == at(2026, 11, 26, 10)


@pytest.mark.django_db
def test_r_sla_1_marking_a_saturday_working():
    CalendarDay.objects.create(date=dt.date(2026, 11, 28), is_working=True, name="盘点加班")
    assert BusinessCalendar.load().add_days(at(2026, 11, 27, 10), 1) == at(2026, 11, 28, 10)


@pytest.mark.django_db
def test_an_override_beats_the_package():
    CalendarDay.objects.create(date=dt.date(2026, 10, 8), is_working=False, name="公司延长假期")
    CalendarDay.objects.create(date=dt.date(2026, 10, 3), is_working=True, name="值班")
    cal = BusinessCalendar.load()
    assert cal.is_working_day(dt.date(2026, 10, 3)) and not cal.is_working_day(dt.date(2026, 10, 8))


@pytest.mark.django_db
def test_load_costs_one_query_while_nothing_changes_and_sees_every_change(
        django_assert_num_queries):
    first = BusinessCalendar.load()
    with django_assert_num_queries(1):
        assert BusinessCalendar.load() is first
    day = CalendarDay.objects.create(date=dt.date(2026, 12, 1), is_working=False)
    second = BusinessCalendar.load()
    assert second is not first and not second.is_working_day(dt.date(2026, 12, 1))
    day.is_working = True
    day.save(update_fields=["is_working"])
    assert BusinessCalendar.load().is_working_day(dt.date(2026, 12, 1))
    # A bulk change (the admin's list actions, scripts) is seen as well.
    CalendarDay.objects.filter(pk=day.pk).update(is_working=False)
    assert not BusinessCalendar.load().is_working_day(dt.date(2026, 12, 1))
    day.delete()
    assert BusinessCalendar.load().overrides == {}


@pytest.mark.django_db
def test_working_hours_from_the_database():
    WorkingHours.objects.create(start=dt.time(8, 30), end=dt.time(17, 30))
    cal = BusinessCalendar.load()
    assert (cal.day_start, cal.day_end, cal.day_length) == (dt.time(8, 30), dt.time(17, 30), 9 * H)
    assert cal.add(at(2026, 11, 24, 17), H) == at(2026, 11, 25, 9)  # 17:00-17:30, 08:30-09:00


@pytest.mark.django_db
def test_working_hours_must_start_before_they_end():
    with pytest.raises(ValidationError):
        WorkingHours(start=dt.time(18), end=dt.time(9)).full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkingHours.objects.create(start=dt.time(18), end=dt.time(9))


# --- import_holidays ---------------------------------------------------------------------------

GOOD_2027 = """\
# 2027 (test data, not the real State Council schedule)
2027-01-01,holiday,元旦
2027-02-06,workday,春节调休
2027-02-08,holiday,春节
2027-02-09,holiday,春节   # trailing comment
"""


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / "holidays.csv"
    path.write_text(text, encoding=encoding)
    return str(path)


@pytest.mark.django_db
def test_import_is_a_dry_run_unless_for_real(tmp_path, capsys):
    call_command("import_holidays", write(tmp_path, GOOD_2027), "--year", "2027")
    assert "Would import 4 days for 2027" in capsys.readouterr().out
    assert not CalendarDay.objects.exists() and not CalendarYear.objects.exists()


@pytest.mark.django_db
def test_import_writes_the_days_and_covers_the_year(tmp_path, capsys):
    call_command("import_holidays", write(tmp_path, GOOD_2027), "--year", "2027", "--for-real")
    assert "Imported 3 holidays and 1 working days for 2027" in capsys.readouterr().out
    rows = {d.date: (d.is_working, d.name, d.source) for d in CalendarDay.objects.all()}
    assert rows[dt.date(2027, 2, 6)] == (True, "春节调休", CalendarSource.IMPORTED)
    assert rows[dt.date(2027, 2, 9)] == (False, "春节", CalendarSource.IMPORTED)
    assert CalendarYear.objects.get().year == 2027
    cal = BusinessCalendar.load()
    assert cal.missing_years(dt.date(2026, 11, 22)) == []
    assert cal.is_working_day(dt.date(2027, 2, 6)) and not cal.is_working_day(dt.date(2027, 1, 1))


@pytest.mark.django_db
def test_reimport_replaces_the_years_imported_days_but_keeps_manual_ones(tmp_path):
    call_command("import_holidays", write(tmp_path, GOOD_2027), "--for-real")
    CalendarDay.objects.create(date=dt.date(2027, 3, 1), is_working=False, name="公司假")
    call_command("import_holidays", write(tmp_path, "2027-01-01,holiday,元旦\n"), "--for-real")
    assert sorted(CalendarDay.objects.values_list("date", flat=True)) == [
        dt.date(2027, 1, 1), dt.date(2027, 3, 1)]


@pytest.mark.django_db
def test_import_of_a_bad_file_writes_nothing_and_names_every_bad_line(tmp_path):
    bad = GOOD_2027 + ("2027-02-30,holiday,春节\n2027-03-01,maybe\n2027-01-01,workday\n"
                       "2028-01-01,holiday\n")
    with pytest.raises(CommandError) as exc:
        call_command("import_holidays", write(tmp_path, bad), "--year", "2027", "--for-real")
    message = str(exc.value)
    assert "4 bad line(s), nothing imported" in message
    for line in ("line 6: not a date", "line 7: expected", "line 8: 2027-01-01 already on line 2",
                 "line 9: 2028-01-01 is not in 2027"):
        assert line in message
    assert not CalendarDay.objects.exists() and not CalendarYear.objects.exists()


@pytest.mark.django_db
def test_import_reads_a_gb18030_csv_from_excel(tmp_path):
    path = write(tmp_path, "2027-01-01,休,元旦\r\n", "gb18030")
    call_command("import_holidays", path, "--for-real")
    assert CalendarDay.objects.get().name == "元旦"


def test_parse_date_list_reports_an_empty_file():
    entries, errors = parse_date_list("# nothing here\n\n")
    assert entries == [] and errors[0].reason == "no dates in the file"


# --- the admin ---------------------------------------------------------------------------------


@pytest.fixture
def admin_client(db, settings) -> Client:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = User.objects.create_superuser("root", password="x-root-pass", role="admin")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


WARNING_2027 = "The statutory holidays for 2027 have not been entered yet"


@time_machine.travel(dt.datetime(2026, 11, 22, 10, tzinfo=SHANGHAI), tick=False)
def test_admin_warns_about_2027_until_it_is_imported(admin_client, tmp_path):
    for name in ("calendarday", "calendaryear"):
        r = admin_client.get(reverse(f"admin:sla_{name}_changelist"))
        assert r.status_code == 200 and WARNING_2027 in r.content.decode()
    call_command("import_holidays", write(tmp_path, GOOD_2027), "--for-real")
    r = admin_client.get(reverse("admin:sla_calendarday_changelist"))
    assert WARNING_2027 not in r.content.decode()
    assert calendar_warnings(dt.date(2026, 11, 22)) == []


@time_machine.travel(dt.datetime(2026, 11, 22, 10, tzinfo=SHANGHAI), tick=False)
def test_admin_calendar_year_entry_ends_the_warning(admin_client):
    r = admin_client.post(reverse("admin:sla_calendaryear_add"), {"year": 2027, "complete": "on"})
    assert r.status_code == 302
    assert CalendarYear.objects.get().source == CalendarSource.MANUAL
    r = admin_client.get(reverse("admin:sla_calendarday_changelist"))
    assert WARNING_2027 not in r.content.decode()


def test_admin_adds_a_holiday_and_filters_days_by_year(admin_client):
    r = admin_client.post(reverse("admin:sla_calendarday_add"),
                          {"date": "2026-11-25", "name": "公司年会"})  # is_working unticked
    assert r.status_code == 302
    day = CalendarDay.objects.get()
    assert (day.is_working, day.source) == (False, CalendarSource.MANUAL)
    assert BusinessCalendar.load().add_days(at(2026, 11, 24, 10), 1) == at(2026, 11, 26, 10)
    CalendarDay.objects.create(date=dt.date(2027, 1, 4), is_working=False)
    r = admin_client.get(reverse("admin:sla_calendarday_changelist") + "?year=2026")
    assert r.status_code == 200 and "公司年会" in r.content.decode()
    assert list(r.context["cl"].result_list) == [day]


def test_admin_edits_the_single_working_hours_row(admin_client):
    changelist = reverse("admin:sla_workinghours_changelist")
    r = admin_client.get(changelist)
    assert r.status_code == 302 and r["Location"] == reverse("admin:sla_workinghours_add")
    r = admin_client.post(reverse("admin:sla_workinghours_add"), {"start": "08:30", "end": "17:30"})
    assert r.status_code == 302
    row = WorkingHours.objects.get()
    change = reverse("admin:sla_workinghours_change", args=[row.pk])
    assert admin_client.get(changelist)["Location"] == change
    assert admin_client.get(reverse("admin:sla_workinghours_add")).status_code == 403
    r = admin_client.post(reverse("admin:sla_workinghours_change", args=[row.pk]),
                          {"start": "18:00", "end": "09:00"})
    assert r.status_code == 200 and "must end after it starts" in r.content.decode()
    r = admin_client.post(reverse("admin:sla_workinghours_change", args=[row.pk]),
                          {"start": "08:00", "end": "17:00"})
    assert r.status_code == 302
    assert BusinessCalendar.load().day_length == 9 * H
    assert BusinessCalendar.load().day_start == dt.time(8)


@pytest.mark.django_db
def test_admin_index_warns_until_next_years_holidays_are_entered(client, django_user_model):
    admin_user = django_user_model.objects.create_superuser("root", "root@example.cn", "pw-root-123")
    client.force_login(admin_user)
    with time_machine.travel(dt.datetime(2026, 11, 22, 10, tzinfo=SHANGHAI), tick=False):
        page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "2027" in page and "法定节假日" in page
        CalendarYear.objects.create(year=2027, complete=True)
        BusinessCalendar.invalidate()
        assert "法定节假日" not in client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
