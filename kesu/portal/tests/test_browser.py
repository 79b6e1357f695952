"""The customer's path on a phone-sized screen (390×844), in Debian's Chromium via Playwright:
submit a complaint with a photo (R-IN-6), look up its progress (R-AX-3), and answer the survey
with 5 — the complaint is escalated and reopened (R-FU-3, R-FU-5). Saves the portal screenshots
to docs/screenshots/portal-*.png.

Needs /usr/bin/chromium (apt-get install chromium fonts-wqy-microhei); skipped without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kesu.comms.models import Notification
from kesu.complaints import actions
from kesu.complaints.models import Complaint, Event, Status
from kesu.complaints.tests.test_attachments import JPEG

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium "
                       "(apt-get install chromium fonts-wqy-microhei)"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def phone(monkeypatch, settings, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (test extras)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.MEDIA_ROOT = tmp_path / "media"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                      is_mobile=True, has_touch=True, locale="zh-CN")
        yield context.new_page()
        browser.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"portal-{name}.png"), full_page=True)


def test_a_customer_submits_on_a_phone_looks_up_and_answers_a_survey_with_5(org, live_server, phone, tmp_path):
    page = phone
    page.goto(f"{live_server.url}/portal/")
    shot(page, "home")
    page.get_by_role("link", name="提交投诉").click()

    page.fill("#id_customer_name", "王芳")
    page.fill("#id_contact_phone", "13912345678")
    page.fill("#id_product", "空气炸锅 AF-20")
    page.fill("#id_order_number", "DD2026110501")
    page.fill("#id_lot_number", "L2026-10-07")
    page.fill("#id_description", "空气炸锅用了一周，外壳开裂，希望换一台新的。")
    page.select_option("#id_demand", "replacement")
    photo = tmp_path / "裂缝.jpg"
    photo.write_bytes(JPEG)
    page.set_input_files("#id_photos", str(photo))
    shot(page, "submit")
    page.locator("#submit-form button[type=submit]").click()

    number = page.locator("#number").inner_text(timeout=10_000).strip()
    code = page.locator("#lookup-code").inner_text().strip()
    assert number.startswith("TS") and len(code) == 6
    shot(page, "submitted")
    complaint = Complaint.objects.get(number=number)
    assert complaint.attachments.count() == 1

    # Staff answer the customer (R-WF-3: a customer-visible message) and leave an internal note.
    clerk = complaint.owner
    actions.accept(complaint, by=clerk)
    actions.note(complaint, by=clerk, text="内部：可能是运输磕碰")
    actions.message(complaint, by=clerk, text="您好，已为您安排换新，快递单号稍后短信告知。")

    page.get_by_role("link", name="查询进度").click()
    assert page.input_value("#id_number") == number
    page.fill("#id_code", code)
    page.locator("#lookup-form button[type=submit]").click()
    page.wait_for_selector("#state")
    body = page.content()
    assert "已受理" in body and "已为您安排换新" in body and "运输磕碰" not in body
    shot(page, "progress")

    # The reply, then the survey link by SMS (the test reads the outbox as the phone would).
    actions.reply(complaint, by=clerk, message="已为您换新，新机已签收。")
    from kesu.followups import actions as followups

    followups.send_survey(complaint, by=clerk)
    url = Notification.objects.get(complaint=complaint, kind="survey_invitation").context["survey_url"]
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    page.goto(f"{live_server.url}{path}")
    assert number in page.inner_text("#number")
    shot(page, "survey")
    page.locator("label.choice", has_text="非常不满意").click()
    page.fill("#id_comment", "新机还是有异响")
    page.locator("#survey-form button[type=submit]").click()
    page.wait_for_selector("#reopened")
    shot(page, "survey-done")

    complaint.refresh_from_db()
    assert complaint.status == Status.REOPENED and complaint.level == 2
    assert complaint.events.filter(kind=Event.ESCALATED, data__cause="follow_up").exists()
    # The link works once: opening it again says so.
    page.goto(f"{live_server.url}{path}")
    assert "已提交过" in page.inner_text("#survey-message")
