"""The public pages in a real browser: search, read, redaction, errors, isolation, phone."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from archive.services.runtime import Archive
from tests.browser.conftest import HOST, LiveServer, Recorder

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture skips (fails in CI) with the reason
    expect = None

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.browser

STACK_TRACE_MARKERS = (
    "Traceback",
    'File "',
    "line ",
    ".py",
    "Exception",
    "werkzeug",
    "sqlalchemy",
    "whoosh",
)


def home_search_box(page: Page) -> Locator:
    """The home page's own search form (the header has a second, visually-hidden-label one)."""
    return page.get_by_role("main").get_by_label("Search the archive")


def search(page: Page, live_server: LiveServer, query: str) -> None:
    page.goto(live_server("/"))
    box = home_search_box(page)
    box.fill(query)
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?"))


def open_result(page: Page, title: str | re.Pattern[str]) -> None:
    page.locator("ol.results").get_by_role("link", name=title).click()
    page.wait_for_url(re.compile(r"/records/"))


def assert_never_shows(page: Page, name: str) -> None:
    pattern = re.compile(re.escape(name), re.IGNORECASE)
    assert not pattern.search(page.content()), f"{name!r} in the page source of {page.url}"
    assert not pattern.search(page.inner_text("body")), (
        f"{name!r} in the visible text of {page.url}"
    )
    assert not pattern.search(page.title()), f"{name!r} in the title of {page.url}"


def test_search_from_home_then_open_a_record(page: Page, live_server: LiveServer, shoot) -> None:
    page.goto(live_server("/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Témoin")
    expect(page.get_by_role("main")).to_contain_text(
        re.compile(r"Search \d+ published records? in 1 case")
    )
    shoot(page, "home")

    box = home_search_box(page)
    expect(box).to_be_visible()
    box.fill("Moura")
    page.get_by_role("main").get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/search\?q=Moura"))

    count = page.locator("#result-count")
    expect(count).to_have_text(re.compile(r"^\d+ results? for “Moura”$"))
    total = int(count.inner_text().split()[0])
    assert total >= 3  # the excerpt and both testimonies all name the village
    hits = page.locator("ol.results > li")
    assert hits.count() == min(total, 10)
    marks = page.locator("ol.results .snippet mark")
    assert marks.count() >= 1
    assert {m.lower() for m in marks.all_inner_texts()} == {"moura"}
    expect(page.locator("header.site input[name=q]")).to_have_value("Moura")  # the query is kept
    shoot(page, "results")

    first = hits.first.get_by_role("link")
    title = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/records/[^/]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page).to_have_title(f"{title} · Témoin")
    text = page.locator("article.record .text")
    expect(text).to_be_visible()
    assert len(text.inner_text()) > 200
    expect(text).to_contain_text("Moura")
    shoot(page, "record")


@pytest.fixture
def thirteen_moura_records(seeded: Archive, tmp_path: Path) -> int:
    """Five more published excerpts naming Moura, loaded the way the founding case is:
    with the founding case's eight, "Moura" then has two pages of results."""
    from seeds.loader import founding_case_path, load_seed

    case = json.loads(founding_case_path().read_text(encoding="utf-8"))["case"]
    items = [
        {
            "key": f"browser-extra-{n}",
            "kind": "source_excerpt",
            "title": f"Extra excerpt {n} for pagination",
            "text": f"Paragraph {n} of a test excerpt about Moura, written for the browser tests.",
            "language": "en",
            "event_date": "2022-03-27",
            "place": "Moura, Mali",
            "tags": ["test"],
            "citation": {"publication": "Témoin browser tests"},
        }
        for n in range(1, 6)
    ]
    extra = tmp_path / "extra-seed.json"
    extra.write_text(json.dumps({"case": case, "persons": [], "items": items}), encoding="utf-8")
    report = load_seed(seeded, extra)
    assert report.items_published == 5
    return 13


def test_pagination_walks_forward_and_back(
    thirteen_moura_records: int, page: Page, live_server: LiveServer, shoot
) -> None:
    search(page, live_server, "Moura")
    expect(page.locator("#result-count")).to_have_text(
        f"{thirteen_moura_records} results for “Moura”"
    )
    expect(page.locator("ol.results > li")).to_have_count(10)
    nav = page.get_by_role("navigation", name="Result pages")
    expect(nav).to_contain_text("Page 1 of 2")
    expect(nav.locator("a[rel=prev]")).to_have_count(0)
    first_page = set(page.locator("ol.results h2").all_inner_texts())
    shoot(page, "page-1")

    nav.locator("a[rel=next]").click()
    page.wait_for_url(re.compile(r"/search\?q=Moura&page=2$"))
    expect(page.locator("ol.results > li")).to_have_count(3)
    expect(nav).to_contain_text("Page 2 of 2")
    expect(nav.locator("a[rel=next]")).to_have_count(0)
    second_page = set(page.locator("ol.results h2").all_inner_texts())
    assert len(first_page | second_page) == thirteen_moura_records  # no hit twice, none lost
    expect(page.locator("header.site input[name=q]")).to_have_value("Moura")
    shoot(page, "page-2")

    nav.locator("a[rel=prev]").click()
    page.wait_for_url(re.compile(r"/search\?q=Moura&page=1$"))
    assert set(page.locator("ol.results h2").all_inner_texts()) == first_page


def test_a_page_past_the_end_is_not_an_error(page: Page, live_server: LiveServer, shoot) -> None:
    response = page.goto(live_server("/search?q=Moura&page=9999"))
    assert response is not None
    assert response.status == 200
    expect(page.locator("#result-count")).to_be_visible()
    expect(page.locator("ol.results > li")).to_have_count(0)
    expect(page.locator("a[rel=next]")).to_have_count(0)
    shoot(page, "past-the-end")


def test_stallholder_testimony_shows_only_the_pseudonym(
    page: Page, live_server: LiveServer, shoot
) -> None:
    search(page, live_server, "riverbank")
    expect(page.locator("#result-count")).to_have_text(re.compile(r"^1 result for"))
    expect(page.locator("ol.results .snippet mark").first).to_have_text(
        re.compile("riverbank", re.I)
    )
    assert_never_shows(page, "Amadou")  # the snippet is cut from the redacted text
    open_result(page, re.compile("Stall-owner"))

    body = page.locator("article.record .text")
    label = body.locator("span.label", has_text="[Witness A]")
    expect(label.first).to_be_visible()
    assert label.count() == 2  # the name occurs twice in the original
    expect(page.locator("p.note span.label")).to_have_text(["[Witness A]"])
    assert_never_shows(page, "Amadou")
    shoot(page, "witness-a")


def test_resident_testimony_shows_only_the_pseudonym(
    page: Page, live_server: LiveServer, shoot
) -> None:
    search(page, live_server, "hélicoptères")
    assert_never_shows(page, "Seydou")
    open_result(page, re.compile("Un habitant"))

    label = page.locator("article.record .text span.label", has_text="[Witness B]")
    expect(label.first).to_be_visible()
    expect(page.locator("article.record .text")).to_contain_text("un habitant de Moura")
    assert_never_shows(page, "Seydou")
    assert_never_shows(page, "Bah (1)")
    shoot(page, "witness-b")


@pytest.mark.parametrize("name", ["Amadou", "Seydou", "Bah"])
def test_searching_for_a_protected_name_finds_nothing(
    page: Page, live_server: LiveServer, name: str
) -> None:
    search(page, live_server, name)
    expect(page.locator("#result-count")).to_have_text(f"0 results for “{name}”")
    expect(page.locator("ol.results > li")).to_have_count(0)


def test_malformed_query_shows_a_readable_error(page: Page, live_server: LiveServer, shoot) -> None:
    response = page.goto(live_server("/search?q=%22unclosed"))
    assert response is not None
    assert response.status == 400
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    message = alert.inner_text().strip()
    assert 10 <= len(message) <= 300, message
    assert message[0].isalpha(), message
    body = page.inner_text("body")
    for marker in STACK_TRACE_MARKERS:
        assert marker not in body, f"{marker!r} in the error page: {body!r}"
        assert marker not in message
    # The query stays in the box, to be fixed in place.
    expect(page.locator("header.site input[name=q]")).to_have_value('"unclosed')
    expect(page.locator("#result-count")).to_have_count(0)
    shoot(page, "malformed-query")

    # The same through the search box, as a person would type it.
    search(page, live_server, '"unclosed')
    expect(page.get_by_role("alert")).to_have_text(message)


def test_pages_stay_on_loopback_with_a_csp_and_no_console_errors(
    page: Page, live_server: LiveServer, recorder: Recorder, shoot
) -> None:
    responses = []
    page.on("response", lambda response: responses.append(response))

    search(page, live_server, "Moura")
    open_result(page, re.compile("UN human rights report"))
    expect(page.locator("p.citation a")).to_have_count(1)  # an outside link is shown, never fetched
    search(page, live_server, "riverbank")
    open_result(page, re.compile("Stall-owner"))
    page.goto(live_server("/records/does-not-exist"))
    shoot(page, "not-found")

    assert recorder.requests, "no request recorded"
    outside = [url for url in recorder.requests if urlsplit(url).hostname != HOST]
    assert outside == [], outside
    assert any(url.endswith("/static/temoin.css") for url in recorder.requests)

    documents = [r for r in responses if r.request.resource_type == "document"]
    assert len(documents) >= 6
    for response in documents:
        csp = response.headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp, (response.url, csp)
        assert "frame-ancestors 'none'" in csp
        assert response.headers.get("x-content-type-options") == "nosniff"

    # Expected: the deliberate 404 logs "Failed to load resource". The favicon is inline.
    tolerated = ("/records/does-not-exist",)
    errors = [e for e in recorder.console_errors if not e.endswith(tolerated)]
    assert errors == [], errors
    assert recorder.page_errors == []


def test_phone_viewport_search_is_visible_and_usable(
    phone: Page, live_server: LiveServer, recorder: Recorder, shoot
) -> None:
    page = phone
    page.goto(live_server("/"))
    box = home_search_box(page)
    expect(box).to_be_visible()
    expect(box).to_be_in_viewport()
    bbox = box.bounding_box()
    assert bbox is not None
    assert bbox["x"] >= 0, bbox
    assert bbox["x"] + bbox["width"] <= 375, bbox
    assert bbox["height"] >= 24, bbox  # big enough to tap
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shoot(page, "phone-home")

    box.tap()
    page.keyboard.type("riverbank")
    page.get_by_role("main").get_by_role("button", name="Search").tap()
    page.wait_for_url(re.compile(r"/search\?q=riverbank"))
    expect(page.locator("#result-count")).to_have_text(re.compile(r"^1 result for"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shoot(page, "phone-results")

    open_result(page, re.compile("Stall-owner"))
    expect(page.locator("article.record .text")).to_be_visible()
    shoot(page, "phone-record")
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 375, f"the record page scrolls sideways on a phone: {overflow}px wide"
    assert recorder.page_errors == []
