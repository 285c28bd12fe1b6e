"""Signing in, the desk and signing out in headless Chromium, with JavaScript off (the
pages must not need it) and nothing loaded from anywhere but the archive."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from archive.services import cases, users
from archive.services.runtime import Archive
from tests.browser.conftest import LiveServer, Recorder, _new_page
from tests.functional.web_session import PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture skips (fails in CI) with the reason
    expect = None

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser


@pytest.fixture
def no_script_page(browser: Browser, live_server: LiveServer, recorder: Recorder) -> Iterator[Page]:
    yield from _new_page(
        browser,
        recorder,
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        java_script_enabled=False,
    )


def test_sign_in_desk_sign_out(
    seeded: Archive,
    live_server: LiveServer,
    no_script_page: Page,
    recorder: Recorder,
    shoot: object,
) -> None:
    page = no_script_page
    with seeded.db.transaction() as session:
        user = users.add_user(session, name="Aïssata", role="investigator", password=PASSWORD)
        users.grant(session, user, cases.get_case(session, "moura-2022"))

    page.goto(live_server("/"))
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Sign in").click()
    expect(page).to_have_url(live_server("/login"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    shoot(page, "sign-in")  # type: ignore[operator]

    # a wrong password: told so on the page, the name kept, still signed out
    page.get_by_label("Name").fill("Aïssata")
    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("name, password or code is not right")
    expect(page.get_by_label("Name")).to_have_value("Aïssata")
    shoot(page, "wrong-password")  # type: ignore[operator]

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server("/desk"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your desk")
    cases_section = page.get_by_role("region", name="Your cases")
    expect(cases_section).to_contain_text("moura-2022")
    account = page.get_by_role("navigation", name="Account")
    expect(account.get_by_role("link", name="Desk · Aïssata")).to_be_visible()
    shoot(page, "desk")  # type: ignore[operator]

    # the header's link and sign-out button are on the public pages too
    page.goto(live_server("/search?q=Moura"))
    account.get_by_role("link", name="Desk · Aïssata").click()
    expect(page).to_have_url(live_server("/desk"))

    account.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server("/login?signed_out=1"))
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    shoot(page, "signed-out")  # type: ignore[operator]
    page.goto(live_server("/desk"))
    expect(page).to_have_url(live_server("/login?next=/desk"))

    origin = urlsplit(live_server.url).netloc
    assert all(urlsplit(url).netloc == origin for url in recorder.requests if "://" in url), [
        url for url in recorder.requests if urlsplit(url).netloc != origin
    ]
    # the refused password answered 401, which Chromium logs; nothing else (no CSP report)
    unexpected = [e for e in recorder.console_errors if "status of 401" not in e]
    assert unexpected == [] and recorder.page_errors == []
