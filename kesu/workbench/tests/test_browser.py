"""Browser tests (Playwright driving Debian's Chromium) against the live server:

- keyboard-only quick registration and accept (saves the registration screenshot);
- the whole procedure as different users: clerk registers a phone complaint and hands it to the
  store's handler → handler accepts → transfers to QA → QA answers and records the
  investigation → handler judges it valid and opens the CAPA → replies → follow-up → the
  reviewer signs off and closes (the four no-lets-go met) → on the CAPA page the owner
  reports the corrective action done and QA confirms its effect (saves capa.png);
- scripts (R-CM-1) inserted with one click, the forbidden-phrase warning while typing and the
  send-anyway override with its reason on the timeline (R-CM-2);
- a 409 conflict between two browsers (R-WF-4);
- the language switch Chinese → English → Chinese;
- no horizontal scrolling at 1366×768 and on a tablet (768×1024).

Screenshots go to docs/screenshots/ (Chinese UI). Needs /usr/bin/chromium (apt-get install
chromium fonts-wqy-microhei); skipped without it."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.utils import timezone

from conftest import PASSWORD
from kesu.complaints import actions
from kesu.complaints.models import Complaint, Event, Status, TimelineEvent, Transfer
from kesu.quality.models import Capa
from kesu.workbench.dispatch import STEPS

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
DESKTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium "
                       "(apt-get install chromium fonts-wqy-microhei)"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser(monkeypatch):
    """One Chromium per test, started after the test's database is set up. (Started once per
    module, Playwright's greenlet gives Django a fresh connection object without the serialized
    migration data, and the next test starts with empty tables.)"""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (test extras)")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM reads are
    # plain blocking calls that Django would otherwise refuse inside it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield chromium
        chromium.close()
        # Close the connections the test body opened in Playwright's context; left open, they
        # keep PostgreSQL from dropping the test database at the end of the run.
        connections.close_all()


@pytest.fixture
def open_as(browser, live_server):
    """open_as(user) → a page in its own browser context, logged in as ``user`` (the session
    is made by the test client and handed to the browser as its cookie)."""
    contexts = []

    def _open(user: Any, viewport: dict[str, int] = DESKTOP):
        client = Client()
        client.force_login(user)
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                              "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield _open
    for context in contexts:
        context.close()


def act(page, action: str, fields: dict[str, str] | None = None, selects: dict[str, str] | None = None,
        checks: tuple[str, ...] = ()) -> None:
    """Open a step's form on the complaint page, fill it and send it; wait for the new page."""
    page.locator(f"#step-{action} > summary").click()
    for name, value in (selects or {}).items():
        page.locator(f"#id_{action}-{name}").select_option(value)
    for name in checks:
        page.locator(f"#id_{action}-{name}").check()
    for name, value in (fields or {}).items():
        page.locator(f"#id_{action}-{name}").fill(value)
    with page.expect_navigation():
        page.locator(f"#step-{action} > form > button[type=submit]").click()


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def status(number: str) -> str:
    return Complaint.objects.get(number=number).status


def test_login_register_by_keyboard_open_and_accept(org, live_server, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.keyboard.type("manager")  # the username field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/")

    # Registration, keyboard only, in the form's focus order.
    page.goto(f"{live_server.url}/register/")
    assert page.evaluate("document.activeElement.id") == "id_channel"
    page.keyboard.press("Tab")
    page.keyboard.type("13812345678")  # contact phone
    page.keyboard.press("Tab")
    page.keyboard.type("张伟")  # customer name
    page.keyboard.press("Tab")  # anonymous
    page.keyboard.press("Tab")
    page.keyboard.type("电饭煲用了三天就不加热了")  # summary
    page.keyboard.press("Tab")
    page.keyboard.type("上周在门店买的电饭煲，希望换一台。")  # description
    page.keyboard.press("Tab")
    page.keyboard.type("电饭煲 RC-3000")  # product
    page.screenshot(path=str(SHOTS / "register.png"))
    page.keyboard.press("Enter")  # Enter in a one-line field submits
    number = page.locator("#new-number").inner_text(timeout=10_000).strip()
    assert number.startswith("TS")

    page.goto(f"{live_server.url}/c/{number}/")
    act(page, "accept", {"note": "已电话联系客户"})
    assert status(number) == Status.ACCEPTED
    context.close()


def test_end_to_end_procedure_as_different_users(org, live_server, open_as, register):
    """Register by phone → hand over → accept → transfer to QA → QA answers and records the
    investigation → judged valid, CAPA opened → reply → follow-up → review and close, each step
    by the user whose job it is."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url

    # 1. The reception clerk takes the call and registers it.
    clerk = open_as(org["clerk"])
    clerk.goto(f"{base}/register/")
    clerk.locator("#id_contact_phone").fill("13812345678")
    clerk.locator("#id_customer_name").fill("张伟")
    clerk.locator("#id_summary").fill("电饭煲用了三天就不加热了")
    clerk.locator("#id_description").fill("上周在北京门店买的电饭煲，希望换一台新的。")
    with clerk.expect_navigation():
        clerk.locator("#register-form button[type=submit]").click()
    number = clerk.locator("#new-number").inner_text().strip()
    # First-responder responsibility: the clerk hands the complaint to the store's handler.
    clerk.goto(f"{base}/c/{number}/")
    act(clerk, "transfer", {"reason": "转门店受理人跟进"}, selects={"to_unit": "bj", "to_user": "handler"},
        checks=("new_handler",))
    assert Complaint.objects.get(number=number).owner == org["handler"]

    # 2. The store's handler calls the customer (first contact) and asks QA to test the unit.
    handler = open_as(org["handler"])
    handler.goto(f"{base}/queue/mine/")
    assert number in handler.content()
    handler.goto(f"{base}/c/{number}/")
    act(handler, "accept", {"note": "已电话联系客户，约定上门取件"})
    assert status(number) == Status.ACCEPTED
    act(handler, "transfer", {"reason": "请品质部检测温控器"}, selects={"to_unit": "qa"})
    assert Transfer.objects.filter(complaint__number=number, to_unit__code="qa").exists()

    # 3. QA sees only what it may do — answer — and answers on the same record.
    qa = open_as(org["qa"])
    qa.goto(f"{base}/c/{number}/")
    assert qa.locator("#step-accept").count() == 0 and qa.locator("#step-answer").count() == 1
    act(qa, "answer", {"cause": "温控器焊点虚焊", "countermeasure": "为客户更换新机，产线加强焊点检验"})
    assert Transfer.objects.get(complaint__number=number, to_unit__code="qa").answered_by == org["qa"]
    # QA records the investigation with its inspection result and who is responsible (R-IV-1, R-IV-2).
    act(qa, "record_investigation", {"facts": "上门取件检测：温控器焊点虚焊，客户使用正常",
                                     "inspection_result": "温控器焊点虚焊，属制造缺陷",
                                     "responsible_person": "焊接工段 李明"},
        selects={"responsibility": "company", "responsible_unit": "bj"})
    assert Complaint.objects.get(number=number).investigation.inspected_by == org["qa"]

    # The handler judges it valid and opens the CAPA: causes, corrective and preventive actions (R-IV-3).
    handler.goto(f"{base}/c/{number}/")
    act(handler, "judge", {"reason": "经品质部检测属实"}, selects={"valid": "yes", "company_responsible": "yes"})
    soon = (timezone.localdate() + timedelta(days=14)).isoformat()
    act(handler, "open_capa", {"title": "电饭煲温控器焊点虚焊", "cause_machine": "焊机温度漂移未校准",
                               "cause_method": "焊点未做拉力抽检", "corrective": "复检同批次库存并返修",
                               "corrective_due": soon, "preventive": "焊点拉力抽检纳入每班巡检",
                               "preventive_due": soon},
        selects={"corrective_owner": "handler", "preventive_owner": "qa"})
    assert Capa.objects.filter(complaints__number=number).count() == 1

    # 4. The handler replies to the customer and starts the follow-up.
    assert "温控器焊点虚焊" in handler.content()
    act(handler, "reply", {"message": "您好，经检测是温控器焊点问题，我们为您更换一台新的电饭煲。"})
    assert status(number) == Status.REPLIED
    if "record_follow_up" in STEPS:  # the follow-up visit with satisfaction (kesu.followups, R-FU-1)
        act(handler, "record_follow_up", {"notes": "电话回访，客户对换新机满意"},
            selects={"method": "phone", "satisfaction": "2"})
    else:
        act(handler, "start_follow_up", {"note": "电话回访：客户表示满意"})
    assert status(number) == Status.FOLLOW_UP
    handler.screenshot(path=str(SHOTS / "complaint.png"), full_page=True)

    # 5. The reviewer (tier 2) signs off and closes.
    reviewer = open_as(org["manager"])
    reviewer.goto(f"{base}/queue/review/")
    assert number in reviewer.content()
    reviewer.goto(f"{base}/c/{number}/")
    act(reviewer, "review", {"note": "处理符合流程"})
    act(reviewer, "close", {"reason": "客户满意，已更换新机"})
    assert status(number) == Status.CLOSED
    # 6. On the CAPA page the owner reports the corrective action done and QA confirms its effect
    # (R-IV-4); QA's own preventive action waits for another member of QA.
    capa = Capa.objects.get(complaints__number=number)
    corrective = capa.actions.get(kind="corrective")
    handler.goto(f"{base}/capa/{capa.number}/")
    handler.locator(f"#action-{corrective.pk} details > summary").click()
    handler.locator(f"#id_done{corrective.pk}-result").fill("同批次库存 312 台已复检，返修 7 台")
    with handler.expect_navigation():
        handler.locator(f"#action-{corrective.pk} form button[type=submit]").click()
    qa.goto(f"{base}/capa/?show=to_verify")
    assert capa.number in qa.content()
    qa.goto(f"{base}/capa/{capa.number}/")
    qa.locator(f"#action-{corrective.pk} details > summary").click()
    qa.locator(f"#id_verify{corrective.pk}-note").fill("抽查 20 台，焊点拉力合格")
    with qa.expect_navigation():
        qa.locator(f"#action-{corrective.pk} form button[type=submit]").click()
    assert capa.actions.get(pk=corrective.pk).state == "closed"
    qa.screenshot(path=str(SHOTS / "capa.png"), full_page=True)
    kinds = list(TimelineEvent.objects.filter(complaint__number=number).values_list("kind", flat=True))
    for kind in (Event.REGISTERED, Event.TRANSFERRED, Event.ACCEPTED, Event.ANSWERED, Event.INVESTIGATION_RECORDED,
                 Event.JUDGED, Event.CAPA_LINKED, Event.REPLIED, Event.REVIEWED, Event.CLOSED):
        assert kind in kinds
    # A working day's queue for the screenshot: a few more complaints in different states.
    others = [register(summary="快递送货时外箱破损，电饭煲内胆变形", contact_phone="13900001111", customer_name="李娜"),
              register(summary="门店店员服务态度差，说“一分钱一分货”", contact_phone="13700002222", customer_name="王芳"),
              register(summary="同一批次电饭锅多位顾客反映漏电", contact_phone="13600003333", customer_name="赵强")]
    actions.escalate(others[1], by=org["manager"], reason="服务态度投诉")
    actions.accept(others[0], by=others[0].owner, note="已联系客户")
    reviewer.goto(f"{base}/queue/units/")
    reviewer.screenshot(path=str(SHOTS / "queue.png"))


def test_r_cm_1_r_cm_2_insert_a_script_phrase_warning_and_override(org, live_server, open_as, register):
    c = register(by=org["handler"], customer_name="王芳")
    actions.accept(c, by=org["handler"])
    page = open_as(org["handler"])
    page.goto(f"{live_server.url}/c/{c.number}/")
    page.locator("#step-message > summary").click()
    box = page.locator("#id_message-text")

    # R-CM-1: one click inserts the script, placeholders filled from the complaint.
    page.locator("#step-message details.scripts > summary").click()
    progress = page.locator("#step-message details.scripts li", has_text="节点回复")
    progress.locator("button.insert").click()
    inserted = box.input_value()
    assert "王芳您好" in inserted and c.number in inserted
    assert page.evaluate("document.activeElement.id") == "id_message-text"

    # R-CM-2: typing a forbidden phrase shows the warning before anything is sent.
    box.press("End")
    box.type("具体结果改天再通知你。")
    warning = page.locator("#hits-message-text .phrase-hits")
    warning.wait_for()
    assert "改天再通知你" in warning.inner_text() and "禁忌语" in warning.inner_text()
    page.screenshot(path=str(SHOTS / "scripts-phrases.png"))

    # Sending without a reason is refused and keeps the text; with a reason it goes, logged.
    with page.expect_navigation():
        page.locator("#step-message > form > button[type=submit]").click()
    assert "禁忌语" in page.locator("#step-message").inner_text()
    assert "改天再通知你" in page.locator("#id_message-text").input_value()
    assert not TimelineEvent.objects.filter(complaint=c, kind=Event.MESSAGE_SENT).exists()
    page.locator("#id_message-override_reason").fill("客户要求按原话转达")
    with page.expect_navigation():
        page.locator("#step-message > form > button[type=submit]").click()
    timeline = page.locator("ol.timeline").inner_text()
    assert "客户要求按原话转达" in timeline and "改天再通知你" in timeline
    assert TimelineEvent.objects.get(complaint=c, kind=Event.MESSAGE_SENT).data["override_reason"] == "客户要求按原话转达"

    # Clearing the box clears the warning.
    page.locator("#step-message > summary").click()
    page.locator("#id_message-text").fill("您好，我们会尽快处理。")
    page.wait_for_function("!document.querySelector('#hits-message-text .phrase-hits')")


def test_r_wf_4_conflict_between_two_browsers(org, live_server, open_as, register):
    c = register(summary="电饭煲不加热")
    first, second = open_as(org["manager"]), open_as(org["director"])
    for page in (first, second):
        page.goto(f"{live_server.url}/c/{c.number}/")
    act(first, "escalate", {"reason": "客户在微博上投诉"})
    assert Complaint.objects.get(pk=c.pk).level == 2
    act(second, "edit", {"summary": "电饭煲不加热且有焦味"})  # the second form is stale
    conflict = second.locator("#conflict")
    assert conflict.is_visible()
    diff = second.locator("table.diff").inner_text()
    assert re.search(r"级别\s+一级（一般）\s+二级（较严重）", diff), diff
    assert second.locator("#id_edit-summary").input_value() == "电饭煲不加热且有焦味"  # input kept
    assert Complaint.objects.get(pk=c.pk).summary == "电饭煲不加热"
    # Sending it again from the conflict page (now current) goes through.
    with second.expect_navigation():
        second.locator("#step-edit > form > button[type=submit]").click()
    assert Complaint.objects.get(pk=c.pk).summary == "电饭煲不加热且有焦味"


def test_language_switch_and_no_horizontal_scroll(org, live_server, open_as, register):
    c = register()
    actions.accept(c, by=c.owner)
    page = open_as(org["manager"])
    page.goto(f"{live_server.url}/")
    assert "我的投诉" in page.content()
    with page.expect_navigation():
        page.locator("#language").select_option("en")
    assert "My complaints" in page.content() and page.locator("html").get_attribute("lang") == "en"
    with page.expect_navigation():
        page.locator("#language").select_option("zh-hans")
    assert "我的投诉" in page.content() and page.locator("html").get_attribute("lang") == "zh-Hans"

    for viewport in (DESKTOP, TABLET):
        page.set_viewport_size(viewport)
        for path in ("/queue/units/", "/register/", f"/c/{c.number}/"):
            page.goto(f"{live_server.url}{path}")
            for step in page.locator("details.step").all():
                step.evaluate("d => d.open = true")  # every form open: the widest the page gets
            assert no_horizontal_scroll(page), (viewport, path)
            # Every form control has a label.
            unlabelled = page.evaluate("""[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name)""")
            assert unlabelled == [], path
    page.set_viewport_size(TABLET)
    page.goto(f"{live_server.url}/c/{c.number}/")
    page.screenshot(path=str(SHOTS / "complaint-tablet.png"))
