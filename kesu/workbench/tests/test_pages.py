"""Workbench pages through the Django test client (no browser). Personas from conftest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from conftest import PASSWORD
from kesu.complaints import actions
from kesu.complaints.models import Complaint, Event, Status, TimelineEvent
from kesu.sla.models import Deadline

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- login, header, navigation ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/queue/overdue/", "/register/", "/c/TS20260100001/", "/password/"])
def test_r_ax_1_pages_need_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_login_page_logs_in_and_goes_to_the_queue(client, org):
    assert "登录" in client.get("/login/").content.decode()  # Chinese by default
    response = client.post("/login/", {"username": "handler", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get("/").content.decode()
    assert "北京门店" in page  # the header shows the user's units


def test_logout_is_a_post(org):
    client = login(org["handler"])
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_password_change(org):
    client = login(org["handler"])
    response = client.post("/password/", {"old_password": PASSWORD, "new_password1": "a-New-pass-2026",
                                          "new_password2": "a-New-pass-2026"})
    assert response.status_code == 302
    org["handler"].refresh_from_db()
    assert org["handler"].check_password("a-New-pass-2026")


def test_language_switch_to_english(org):
    client = login(org["handler"])
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "My complaints" in client.get("/").content.decode()


def test_nav_counts_are_capped(org, register, settings):
    from kesu.workbench import views

    settings.DEBUG = False
    for _ in range(3):
        register()
    views.BADGE_CAP = 2
    try:
        page = login(org["gm"]).get("/queue/units/").content.decode()
    finally:
        views.BADGE_CAP = 99
    assert "2+" in page


# --- queues --------------------------------------------------------------------------------


def test_r_ax_1_queue_shows_only_visible_complaints(org, register):
    mine = register(summary="电饭煲不加热")
    page = login(org["handler"]).get("/queue/units/").content.decode()
    assert mine.number in page
    assert mine.number not in login(org["outsider"]).get("/queue/units/").content.decode()


def test_mine_queue_has_the_owners_open_complaints(org, register):
    c = register()
    owner = Complaint.objects.get(pk=c.pk).owner
    assert owner is not None
    assert c.number in login(owner).get("/").content.decode()


def test_review_queue_for_tier_2_only(org, register):
    c = register()
    Complaint.objects.filter(pk=c.pk).update(status=Status.REPLIED)
    assert c.number in login(org["manager"]).get("/queue/review/").content.decode()
    assert c.number not in login(org["handler"]).get("/queue/review/").content.decode()


def test_r_rt_2_review_badge_counts_what_the_review_queue_lists(org, register, monkeypatch):
    """The review badge is counted state by state (``queues.review_count``, for speed at a
    million complaints); it must count what the list shows, for tier 2 and tier 3, capped."""
    import re

    from kesu.workbench import views

    made = [register() for _ in range(6)]
    for c, state in zip(made, [Status.REPLIED, Status.FOLLOW_UP, Status.INVALID, Status.AWAITING_APPROVAL,
                               Status.REPLIED, Status.ACCEPTED], strict=True):
        Complaint.objects.filter(pk=c.pk).update(status=state, level=1)
    Complaint.objects.filter(pk=made[4].pk).update(reviewed_at=timezone.now())  # already reviewed
    Complaint.objects.filter(pk=made[1].pk).update(level=2)  # a level-2 complaint: tier 3 reviews it

    def badge_and_rows(user) -> tuple[str, int]:
        page = login(user).get("/queue/review/").content.decode()
        badge = re.search(r'href="/queue/review/"[^>]*>[^<]*<span class="badge">([^<]+)</span>', page)
        assert badge, page
        return badge.group(1), len(re.findall(r'<td><a href="/c/', page))

    assert badge_and_rows(org["manager"]) == ("3", 3)  # replied, invalid (level 1), awaiting approval
    assert badge_and_rows(org["director"]) == ("4", 4)  # and the level-2 follow-up
    monkeypatch.setattr(views, "BADGE_CAP", 2)
    assert badge_and_rows(org["director"]) == ("2+", 4)


def test_r_sla_overdue_and_due_soon_queues(org, register):
    late, soon = register(), register()
    now = timezone.now()
    Deadline.objects.filter(complaint=late).update(due_at=now - timedelta(hours=1))
    Deadline.objects.filter(complaint=soon).update(due_at=now + timedelta(hours=2))
    client = login(org["manager"])
    overdue = client.get("/queue/overdue/").content.decode()
    assert late.number in overdue and soon.number not in overdue
    assert soon.number in client.get("/queue/due_soon/").content.decode()


def test_gm_copy_queue_only_for_the_gm(org, register):
    c = register()
    Complaint.objects.filter(pk=c.pk).update(gm_copy=True)
    assert c.number in login(org["gm"]).get("/queue/gm_copy/").content.decode()
    assert login(org["handler"]).get("/queue/gm_copy/").status_code == 404


def test_queue_filters_and_search(org, register):
    a = register(summary="电饭煲不加热", contact_phone="13812345678")
    b = register(summary="快递送错地址", contact_phone="13900001111", channel="visit")
    client = login(org["manager"])
    by_text = client.get("/queue/units/", {"q": "送错"}).content.decode()
    assert b.number in by_text and a.number not in by_text
    by_phone = client.get("/queue/units/", {"q": "138 1234 5678"}).content.decode()
    assert a.number in by_phone and b.number not in by_phone
    by_number = client.get("/queue/units/", {"q": b.number.lower()}).content.decode()
    assert b.number in by_number and a.number not in by_number
    by_channel = client.get("/queue/units/", {"channel": "visit"}).content.decode()
    assert b.number in by_channel and a.number not in by_channel


def test_queue_sorts_by_level_and_refuses_an_unknown_order(org, register):
    low = register(summary="包装破损")
    high = register(summary="电饭煲漏电", level=3)
    client = login(org["manager"])
    rows = client.get("/queue/units/", {"sort": "-level"}).context["rows"]
    assert [r["number"] for r in rows][:2] == [high.number, low.number]
    oldest = client.get("/queue/units/", {"sort": "id"}).context["rows"]
    assert oldest[0]["number"] == low.number
    bad = client.get("/queue/units/", {"sort": "phone"})
    assert bad.status_code == 200
    assert "phone" in bad.context["form"].errors["sort"][0] and not bad.context["rows"]


def test_queue_keyset_pagination(org, register):
    from kesu.workbench import views

    made = [register() for _ in range(3)]
    views.PAGE_SIZE = 2
    try:
        client = login(org["manager"])
        first = client.get("/queue/units/")
        assert made[2].number in first.content.decode() and made[0].number not in first.content.decode()
        next_query = first.context["next_query"]
        second = client.get("/queue/units/?" + next_query).content.decode()
    finally:
        views.PAGE_SIZE = 50
    assert made[0].number in second and made[2].number not in second


# --- quick registration -------------------------------------------------------------------


def test_r_in_2_quick_registration_shows_the_number_and_lookup_code(org):
    client = login(org["clerk"])
    page = client.get("/register/").content.decode()
    assert "autofocus" in page
    response = client.post("/register/", {"channel": "phone", "customer_name": "王芳", "contact_phone": "13912345678",
                                          "summary": "洗衣机漏水", "description": "新买的洗衣机漏水"})
    assert response.status_code == 200
    c = Complaint.objects.get(summary="洗衣机漏水")
    body = response.content.decode()
    assert c.number in body and 'class="big-number"' in body
    assert response.context["lookup_code"]


def test_r_in_2_registration_errors_are_chinese_next_to_the_field(org):
    client = login(org["clerk"])
    response = client.post("/register/", {"channel": "phone", "customer_name": "", "contact_phone": "12345",
                                          "summary": "洗衣机漏水"})
    assert response.status_code == 422
    assert response.context["form"].errors.get("contact_phone") or response.context["form"].errors.get("customer_name")
    assert Complaint.objects.count() == 0
    missing = client.post("/register/", {"channel": "phone", "customer_name": "王芳", "contact_phone": "13912345678"})
    assert "这个字段是必填项" in missing.content.decode()


def test_r_cl_2_suggestion_fragment(org):
    from kesu.complaints.models import Category, KeywordRule

    category = Category.objects.filter(active=True).first()
    KeywordRule.objects.create(keywords="漏水", category=category, level=2)
    response = login(org["clerk"]).get("/register/suggest/", {"summary": "洗衣机漏水"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert f'value="{category.code}" selected' in body and "漏水" in body


def test_r_in_7_history_fragment_warns_of_a_repeat(org, register):
    earlier = register(contact_phone="13812345678")
    body = login(org["clerk"]).get("/register/history/", {"contact_phone": "13812345678"}).content.decode()
    assert earlier.number in body and "30" in body


# --- the complaint page ----------------------------------------------------------------


def test_r_ax_1_outsider_gets_404(org, register):
    c = register()
    client = login(org["outsider"])
    assert client.get(f"/c/{c.number}/").status_code == 404
    before = c.version
    assert client.post(f"/c/{c.number}/act/accept/", {"version": c.version, "accept-note": ""}).status_code == 404
    assert Complaint.objects.get(pk=c.pk).version == before


def test_r_wf_1_page_shows_only_allowed_action_forms(org, register):
    c = register()
    handler_page = login(org["manager"]).get(f"/c/{c.number}/")
    names = [s["name"] for s in handler_page.context["steps"]]
    assert "accept" in names and "approve" not in names
    auditor_page = login(org["auditor"]).get(f"/c/{c.number}/")
    assert auditor_page.status_code == 200 and auditor_page.context["steps"] == []
    assert "/act/" not in auditor_page.content.decode()


def test_r_wf_1_accept_via_the_page(org, register):
    c = register()
    client = login(org["manager"])
    response = client.post(f"/c/{c.number}/act/accept/", {"version": c.version, "accept-note": "已电话联系"})
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.status == Status.ACCEPTED
    assert TimelineEvent.objects.filter(complaint=c, kind=Event.ACCEPTED).exists()


def test_r_wf_4_stale_form_shows_the_conflict_and_keeps_the_input(org, register):
    c = register()
    stale = c.version
    actions.escalate(c, by=org["director"], reason="客户在微博上投诉")
    response = login(org["manager"]).post(f"/c/{c.number}/act/accept/",
                                         {"version": stale, "seen_event": 0, "accept-note": "我写的备注"})
    assert response.status_code == 409
    body = response.content.decode()
    assert "我写的备注" in body and 'id="conflict"' in body
    assert "客户在微博上投诉" in body  # what changed since the form was opened
    assert Complaint.objects.get(pk=c.pk).status == Status.REGISTERED


def test_action_refusal_is_shown_next_to_the_form(org, register):
    c = register()
    response = login(org["manager"]).post(f"/c/{c.number}/act/close/", {"version": c.version, "close-reason": "x"})
    assert response.status_code in (409, 422)
    assert Complaint.objects.get(pk=c.pk).status == Status.REGISTERED


def test_r_ax_2_phone_is_masked_and_reveal_is_logged(org, register):
    c = register(contact_phone="13812345678")
    client = login(org["manager"])
    page = client.get(f"/c/{c.number}/").content.decode()
    assert "13812345678" not in page
    response = client.post(f"/c/{c.number}/contact/", HTTP_HX_REQUEST="true")
    assert "13812345678" in response.content.decode()
    assert TimelineEvent.objects.filter(complaint=c, kind=Event.CONTACT_REVEALED, actor=org["manager"]).exists()


def test_r_ax_2_auditor_may_not_reveal(org, register):
    c = register()
    response = login(org["auditor"]).post(f"/c/{c.number}/contact/")
    assert response.status_code == 403
    assert not TimelineEvent.objects.filter(complaint=c, kind=Event.CONTACT_REVEALED).exists()


def test_queue_counts_are_limited_and_queries_do_not_grow_with_rows(org, register):
    """Navigation badges count LIMITed subqueries (never COUNT(*) over a table), and a page
    costs the same number of queries with 1 or 5 rows (no per-row lookups)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # A new session each time: a session keeps its badges for a while (next test).
    register()
    client = login(org["gm"])
    with CaptureQueriesContext(connection) as one:
        client.get("/queue/units/")
    for _ in range(4):
        register()
    client = login(org["gm"])
    with CaptureQueriesContext(connection) as five:
        client.get("/queue/units/")
    assert len(five) == len(one)
    # The complaints counted (the reference data's signature counts small tables of its own).
    counts = [q["sql"] for q in five.captured_queries
              if "COUNT(" in q["sql"].upper() and '"complaints_complaint"' in q["sql"]]
    assert counts and all("LIMIT" in sql.upper() for sql in counts)


def test_nav_badges_are_kept_for_a_while_and_recounted_after_ones_own_change(org, register, monkeypatch):
    """At a million complaints the badges cost more SQL than the rest of a page, so a session
    keeps them for ``BADGE_TTL`` seconds: a colleague's new complaint shows in the list at once
    and in the badge within that time; the user's own action recounts them on the next page."""
    import re

    from kesu.workbench import views

    c = register()
    client = login(Complaint.objects.get(pk=c.pk).owner)

    def units_badge() -> tuple[int, str]:
        page = client.get("/queue/units/").content.decode()
        badge = re.search(r'href="/queue/units/"[^>]*>[^<]*<span class="badge">(\d+)</span>', page)
        assert badge, page
        return int(badge.group(1)), page

    before, _page = units_badge()
    other = register()
    count, page = units_badge()
    assert other.number in page and count == before  # the list is live, the badge may lag
    assert client.post(f"/c/{c.number}/act/note/", {"note-text": "已致电客户"}).status_code == 302
    assert units_badge()[0] == before + 1
    third = register()
    monkeypatch.setattr(views, "BADGE_TTL", 0)
    count, page = units_badge()
    assert third.number in page and count == before + 2


def test_r_ax_1_header_units_may_lag_but_what_one_sees_follows_the_units_at_once(org, register, monkeypatch):
    """The header's unit names are kept in the session for ``context.UNITS_TTL`` seconds; the
    complaints one may see follow a change of units on the next request (R-AX-1)."""
    import re

    from kesu.workbench import context

    def header() -> str:
        return re.search(r'<span class="who">(.*?)</span>', client.get("/").content.decode(), re.DOTALL).group(1)

    c = register()  # a Beijing complaint
    client = login(org["outsider"])  # Shanghai
    assert "上海门店" in header()
    assert client.get(f"/c/{c.number}/").status_code == 404
    org["outsider"].units.set([org["beijing"]])
    assert client.get(f"/c/{c.number}/").status_code == 200
    assert "上海门店" in header()  # the label lags
    monkeypatch.setattr(context, "UNITS_TTL", 0)
    assert "北京门店" in header() and "上海门店" not in header()


def test_header_shows_tier_and_role_on_auth_pages(org):
    page = login(org["manager"]).get("/password/").content.decode()
    assert "客服中心" in page and org["manager"].get_role_display() in page


def test_r_cm_2_page_refuses_a_forbidden_phrase_until_a_reason_is_given(client, org, register):
    from kesu.complaints.models import Event

    complaint = register()
    client.force_login(org["clerk"])
    url = f"/c/{complaint.number}/act/message/"
    r = client.post(url, {"version": complaint.version, "message-text": "改天再通知你"})
    assert r.status_code == 422
    assert "禁忌语" in r.content.decode()
    assert not complaint.events.filter(kind=Event.MESSAGE_SENT).exists()
    r = client.post(url, {"version": complaint.version, "message-text": "改天再通知你",
                          "message-override_reason": "客户要求改期"})
    assert r.status_code in (200, 302)
    assert complaint.events.get(kind=Event.MESSAGE_SENT).data["override_reason"] == "客户要求改期"


def test_filter_selects_escape_labels_and_keep_the_choice():
    from kesu.workbench.forms import QuickSelect, QuickSingleSelect

    many = QuickSelect(choices=[("a", "<b>甲</b>"), ("b", "乙")])
    html = many.render("state", ["b"], {"id": "id_state"})
    assert html == ('<select id="id_state" name="state" multiple><option value="a">&lt;b&gt;甲&lt;/b&gt;'
                    '</option><option value="b" selected>乙</option></select>')
    one = QuickSingleSelect(choices=[("", "—"), ("x\"y", "丙")])
    assert one.render("unit", None) == ('<select name="unit"><option value="">—</option>'
                                        '<option value="x&quot;y">丙</option></select>')
    assert one.value_from_datadict({"unit": "x"}, {}, "unit") == "x"
