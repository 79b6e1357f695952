"""Browser smoke test (Playwright driving Debian's Chromium): log in, register a complaint by
keyboard only, open it, accept it. Saves 1366×768 screenshots to docs/screenshots/.

Needs /usr/bin/chromium (apt-get install chromium fonts-wqy-microhei); skipped without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import PASSWORD
from kesu.complaints.models import Complaint, Status

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium "
                       "(apt-get install chromium fonts-wqy-microhei)"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def page(monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (test extras)")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM reads are
    # plain blocking calls that Django would otherwise refuse inside it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        yield context.new_page()
        browser.close()


def test_login_register_by_keyboard_open_and_accept(org, live_server, page):
    SHOTS.mkdir(parents=True, exist_ok=True)
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
    page.locator("#step-accept summary").click()
    page.locator("#id_accept-note").fill("已电话联系客户")
    page.locator("#step-accept button[type=submit]").click()
    page.wait_for_load_state()
    page.screenshot(path=str(SHOTS / "complaint.png"))
    assert Complaint.objects.get(number=number).status == Status.ACCEPTED
    page.goto(f"{live_server.url}/queue/units/")
    assert number in page.content()
    page.screenshot(path=str(SHOTS / "queue.png"))
