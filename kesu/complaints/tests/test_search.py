"""The complaint list: Chinese full-text search (``q``), filters and keyset pagination.

Visibility follows R-AX-1; complaint data comes from intake (R-IN-2, R-IN-3).
"""

from __future__ import annotations

import base64
import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from kesu.complaints import actions
from kesu.complaints.models import Category, Complaint

_serial = itertools.count(1)


@pytest.fixture
def make(org, make_intake):
    """Register an unrelated complaint (its own customer, order and product) as ``by``."""

    def _make(by: str = "clerk", now=None, **overrides) -> Complaint:
        n = next(_serial)
        data = {
            "contact_phone": f"137{n:08d}",
            "order_number": f"SO{n:06d}",
            "product": f"型号{n}",
            "description": "",
        }
        data.update(overrides)
        return actions.register(make_intake(**data), by=org[by], now=now).complaint

    return _make


def numbers(api, who: str = "clerk", **params) -> list[str]:
    r = api(who).get("/complaints", params)
    assert r.status_code == 200, r.content
    return [item["number"] for item in r.json()["items"]]


def refused(api, field: str, who: str = "clerk", **params) -> dict:
    r = api(who).get("/complaints", params)
    assert r.status_code == 422, r.content
    # A list parameter's error names the item (state.0), in the dotted-path convention.
    assert r.json()["field"].split(".")[0] == field, r.json()
    assert r.json()["message"]
    return r.json()


# --- q: Chinese full-text search -------------------------------------------------------------


@pytest.fixture
def texts(make):
    return {
        "leak": make(summary="卫生间水管漏水，楼下天花板被泡了", order_number="DD20261101001"),
        "rice": make(summary="电饭煲用了三天就不加热了"),
        "rude": make(summary="安装师傅说话很冲", description="师傅进门不换鞋"),
    }


def test_search_finds_a_two_character_word(api, texts):
    assert numbers(api, q="漏水") == [texts["leak"].number]


def test_search_finds_a_longer_phrase(api, texts):
    assert numbers(api, q="楼下天花板") == [texts["leak"].number]
    assert numbers(api, q="不加热") == [texts["rice"].number]


def test_search_looks_at_the_description_too(api, texts):
    assert numbers(api, q="换鞋") == [texts["rude"].number]


def test_search_finds_an_order_number_whatever_its_case(api, texts):
    assert numbers(api, q="DD20261101001") == [texts["leak"].number]
    assert numbers(api, q="dd20261101001") == [texts["leak"].number]


def test_search_needs_every_word(api, texts):
    assert numbers(api, q="漏水 加热") == []


def test_search_does_not_find_absent_words(api, texts):
    assert numbers(api, q="退款") == []
    assert numbers(api, q="天花板漏电") == []


def test_r_ax_1_search_respects_visibility(api, make):
    beijing = make(summary="厨房水龙头漏水")
    shanghai = make(by="outsider", summary="阳台窗户漏水")

    assert numbers(api, who="outsider", q="漏水") == [shanghai.number]
    assert numbers(api, who="clerk", q="漏水") == [beijing.number]
    assert set(numbers(api, who="manager", q="漏水")) == {beijing.number, shanghai.number}


def test_editing_the_summary_updates_the_search(api, make):
    c = make(summary="冰箱不制冷")
    assert numbers(api, q="制冷") == [c.number]

    r = api("clerk").act(c.number, "edit", changes={"summary": "冰箱冷藏室结冰"})

    assert r.status_code == 200, r.content
    assert numbers(api, q="结冰") == [c.number]
    assert numbers(api, q="制冷") == []


def test_search_combines_with_filters(api, make):
    a = make(summary="热水器漏水")
    b = make(summary="洗衣机漏水")
    actions.accept(b, by=b.owner)

    assert numbers(api, q="漏水", state="accepted") == [b.number]
    assert numbers(api, q="漏水", state="registered") == [a.number]


# --- filters ---------------------------------------------------------------------------------


def test_filter_by_state(api, make):
    a, b, c = make(), make(), make()
    actions.accept(b, by=b.owner)

    assert numbers(api, state="accepted") == [b.number]
    assert numbers(api, state=["registered", "accepted"]) == [c.number, b.number, a.number]


def test_filter_by_an_unknown_state_is_refused(api):
    refused(api, "state", state="lost")


def test_filter_by_level(api, make):
    one = make()
    two = make(level=2)
    three = make(channel="12315")

    assert numbers(api, "manager", level=3) == [three.number]
    assert numbers(api, "manager", level=[1, 2]) == [two.number, one.number]
    refused(api, "level", level=4)


def test_filter_by_category_includes_its_children(api, make):
    general = make(category="quality_general")
    safety = make(category="quality_safety")
    parent = make(category="quality")
    other = make(category="logistics_delay")

    assert set(numbers(api, "manager", category="quality")) == {general.number, safety.number, parent.number}
    assert numbers(api, "manager", category="quality_general") == [general.number]
    assert numbers(api, "manager", category="logistics") == [other.number]
    refused(api, "category", category="nope")


def test_filter_by_category_includes_deeper_levels_an_admin_added(api, make):
    general = Category.objects.get(code="quality_general")
    Category.objects.create(code="quality_general_noise", name="异响", parent=general)
    noise = make(category="quality_general_noise")

    assert numbers(api, category="quality") == [noise.number]
    assert numbers(api, category="quality_general") == [noise.number]


def test_filter_by_channel(api, make):
    call = make(channel="phone")
    letter = make(channel="letter")
    mail = make(channel="email")

    assert numbers(api, channel="letter") == [letter.number]
    assert numbers(api, channel=["phone", "email"]) == [mail.number, call.number]


def test_filter_by_unit_includes_sub_units(api, make):
    bj = make()
    sh = make(by="outsider")

    assert numbers(api, "manager", unit="service") == [sh.number, bj.number]
    assert numbers(api, "manager", unit="bj") == [bj.number]
    assert numbers(api, "manager", unit="qa") == []
    refused(api, "unit", who="manager", unit="nowhere")


def test_r_ax_1_unit_filter_does_not_widen_visibility(api, make):
    make()

    assert numbers(api, "outsider", unit="bj") == []


def test_filter_by_owner(api, make):
    mine = make()
    managers = make(level=2)

    assert numbers(api, "manager", owner="clerk") == [mine.number]
    assert numbers(api, "manager", owner="manager") == [managers.number]


def test_filter_by_received_range(api, make):
    now = timezone.now()
    old = make(channel="letter", received_at=now - timedelta(days=20))
    mid = make(channel="letter", received_at=now - timedelta(days=10))
    new = make()

    got = numbers(api, received_from=(now - timedelta(days=15)).isoformat(),
                  received_to=(now - timedelta(days=5)).isoformat())
    assert got == [mid.number]
    assert numbers(api, received_to=(now - timedelta(days=15)).isoformat()) == [old.number]
    assert numbers(api, received_from=(now - timedelta(days=1)).isoformat()) == [new.number]
    refused(api, "received_from", received_from="上个月")


def test_filter_by_phone_in_any_format(api, make):
    c = make(contact_phone="13812345678")
    make(contact_phone="13987654321")

    assert numbers(api, phone="+86 138-1234-5678") == [c.number]
    assert numbers(api, phone="13600000000") == []
    refused(api, "phone", phone="12345")


def test_filter_overdue(api, make):
    late = make(channel="letter", received_at=timezone.now() - timedelta(days=20))
    make()

    assert numbers(api, overdue="true") == [late.number]


def test_filter_overdue_ignores_met_deadlines(api, make):
    # Received ten days ago: the 24-hour resolution and 7-day reply limits are missed, the
    # 15-day overall limit is not yet due.
    late = make(channel="letter", received_at=timezone.now() - timedelta(days=10))
    assert numbers(api, overdue="true") == [late.number]

    actions.accept(late, by=late.owner)
    actions.reply(late, by=late.owner, message="已为您安排上门维修")

    assert numbers(api, overdue="true") == []
    assert numbers(api, overdue="false") == [late.number]


def test_filter_overdue_ignores_complaints_on_hold(api, make):
    late = make(channel="letter", received_at=timezone.now() - timedelta(days=10))
    actions.accept(late, by=late.owner)
    actions.hold(late, by=late.owner, reason="等客户寄回样品")

    assert numbers(api, overdue="true") == []


# --- keyset pagination -----------------------------------------------------------------------


def test_pages_have_no_duplicates_or_gaps(api, make):
    made = [make().number for _ in range(7)]
    seen: list[str] = []
    cursor = None
    pages = 0

    while True:
        params = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = api("clerk").get("/complaints", params)
        assert r.status_code == 200, r.content
        page = r.json()
        seen += [item["number"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == list(reversed(made))


def test_a_new_complaint_during_paging_does_not_shift_the_pages(api, make):
    first = [make().number for _ in range(4)]
    page1 = api("clerk").get("/complaints", {"limit": 2}).json()

    make()
    page2 = api("clerk").get("/complaints", {"limit": 2, "cursor": page1["next_cursor"]}).json()

    assert [i["number"] for i in page1["items"] + page2["items"]] == list(reversed(first))


def test_the_last_page_has_no_cursor(api, make):
    make(), make()

    page = api("clerk").get("/complaints", {"limit": 2}).json()

    assert len(page["items"]) == 2
    assert page["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor!", "%%%", base64.urlsafe_b64encode(b"abc").decode(), "游标",
     base64.urlsafe_b64encode(b"\xff\xfe").decode()],
)
def test_a_garbage_cursor_is_refused(api, make, cursor):
    make()

    refused(api, "cursor", cursor=cursor)


@pytest.mark.parametrize("limit", [0, 201, -1])
def test_limit_out_of_range_is_refused(api, limit):
    refused(api, "limit", limit=limit)


def _walk(api, sort: str, limit: int = 2) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict = {"limit": limit, "sort": sort}
        if cursor:
            params["cursor"] = cursor
        r = api("clerk").get("/complaints", params)
        assert r.status_code == 200, r.content
        seen += [item["number"] for item in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return seen


def test_lists_sort_by_received_time_and_level_across_pages(api, make, make_intake):
    # Letters are back-dated (R-IN-2), so receipt order differs from registration order; two
    # complaints received at the same moment keep a stable order through the pages.
    now = timezone.now()
    same = now - timedelta(days=3)
    a = make(channel="letter", received_at=now - timedelta(days=5))
    b = make(level=3, received_at=same, channel="letter")
    c = make(received_at=same, channel="letter")
    d = make(level=2)
    e = make(channel="letter", received_at=now - timedelta(days=9))

    assert _walk(api, "received_at") == [e.number, a.number, b.number, c.number, d.number]
    assert _walk(api, "-received_at") == [d.number, c.number, b.number, a.number, e.number]
    assert _walk(api, "-level")[:2] == [b.number, d.number]
    assert _walk(api, "id") == [a.number, b.number, c.number, d.number, e.number]


def test_an_unknown_sort_or_a_cursor_of_another_sort_is_refused(api, make):
    make(), make(), make()
    refused(api, "sort", sort="customer_name")
    cursor = api("clerk").get("/complaints", {"limit": 1, "sort": "-received_at"}).json()["next_cursor"]
    refused(api, "cursor", cursor=cursor, sort="-id")
