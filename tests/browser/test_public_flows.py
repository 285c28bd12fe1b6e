"""The public flows in Chromium: search with facets and pagination, verify a file (in the
archive or not, with and without JavaScript), the custody log, the French interface, a
390-pixel phone, and an automated accessibility check (axe-core, loaded from the local
axe-playwright-python package: nothing is fetched)."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from archive.services.runtime import Archive
from tests.browser.conftest import LiveServer, Recorder, _new_page

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture skips (fails in CI) with the reason
    expect = None

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

PHONE_WIDTH = 390


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


@pytest.fixture
def more_moura_records(seeded: Archive, tmp_path: Path) -> int:
    """Fourteen more published records naming Moura, in both languages, two kinds and
    three years: with the founding case's eight, "Moura" has three pages of results."""
    from seeds.loader import founding_case_path, load_seed

    case = json.loads(founding_case_path().read_text(encoding="utf-8"))["case"]
    items = [
        {
            "key": f"flows-extra-{n}",
            "kind": "source_excerpt" if n % 2 else "testimony",
            "title": f"Extra record {n} for facets",
            "text": f"Record {n} about Moura, written for the browser tests of facets and pages.",
            "language": "fr" if n % 3 == 0 else "en",
            "event_date": f"{2020 + n % 3}-03-{10 + n:02d}",
            "place": "Moura, Mali",
            "tags": ["test", f"batch-{n % 2}"],
            "citation": {"publication": "Témoin browser tests"},
        }
        for n in range(1, 15)
    ]
    extra = tmp_path / "extra-seed.json"
    extra.write_text(json.dumps({"case": case, "persons": [], "items": items}), encoding="utf-8")
    assert load_seed(seeded, extra).items_published == 14
    return 22


def facet(page: Page, name: str) -> Any:
    return page.locator("aside.facets section.facet").filter(
        has=page.get_by_role("heading", name=name, exact=True)
    )


def result_count(page: Page) -> int:
    text = page.locator("#result-count").inner_text()
    return int(re.sub(r"\D", "", text.split(" ")[0]))


def test_search_with_facets_dates_sort_and_pages(
    more_moura_records: int, page: Page, live_server: LiveServer, recorder: Recorder, shoot
) -> None:
    page.goto(live_server("/"))
    page.get_by_role("main").get_by_label("Search the archive").fill("Moura")
    page.get_by_role("main").get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/search\?q=Moura$"))
    total = result_count(page)
    assert total == more_moura_records
    nav = page.get_by_role("navigation", name="Result pages")
    expect(nav).to_contain_text("Page 1 of 3")
    kinds = facet(page, "Kind")
    expect(kinds).to_be_visible()
    shoot(page, "results")

    # A facet value is a link with its count; following it filters, and says so.
    testimonies = kinds.get_by_role("link", name="Testimony", exact=True)
    count = int(testimonies.locator("xpath=..").locator(".n").inner_text())
    assert 0 < count < total
    testimonies.click()
    page.wait_for_url(re.compile(r"kind=testimony"))
    assert result_count(page) == count
    expect(page.locator("ol.results .meta").first).to_contain_text("Testimony")
    assert set(page.locator("ol.results .meta").all_inner_texts()) <= {
        t for t in page.locator("ol.results .meta").all_inner_texts() if "Testimony" in t
    }
    expect(facet(page, "Kind").locator("a.chosen")).to_have_count(1)
    expect(page.locator(".active-filters")).to_contain_text("Kind: Testimony")

    # A second facet narrows further; the year facet sets a date range.
    years = facet(page, "Year of events")
    year_link = years.locator("a").first
    year = year_link.inner_text().strip()
    year_count = int(year_link.locator("xpath=..").locator(".n").inner_text())
    year_link.click()
    page.wait_for_url(re.compile(rf"year={year}"))
    assert result_count(page) == year_count
    for when in page.locator("ol.results time").all():
        assert when.get_attribute("datetime").startswith(year)
    shoot(page, "two-facets")

    # The URL alone reproduces the page (shareable), with JavaScript or without.
    shared = page.url
    assert query_of(shared) == {"q": ["Moura"], "kind": ["testimony"], "year": [year]}
    other = page.context.new_page()
    other.goto(shared)
    assert result_count(other) == year_count
    other.close()

    # Remove one filter; then sort by date and page through everything.
    page.locator(".active-filters").get_by_role("link", name="Remove filter: Testimony").click()
    page.wait_for_url(lambda url: "kind=" not in url)
    page.get_by_role("link", name="Remove all filters").click()
    page.wait_for_url(re.compile(r"/search\?q=Moura$"))
    page.get_by_label("Order").select_option("date_asc")
    page.get_by_role("main").get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"sort=date_asc"))
    seen: list[str] = []
    dates: list[str] = []
    for number in (1, 2, 3):
        nav = page.get_by_role("navigation", name="Result pages")
        expect(nav).to_contain_text(f"Page {number} of 3")
        expect(nav.locator('[aria-current="page"]')).to_have_text(str(number))
        seen += page.locator("ol.results h2").all_inner_texts()
        dates += [t.get_attribute("datetime") for t in page.locator("ol.results time").all()]
        assert query_of(page.url)["sort"] == ["date_asc"]
        if number < 3:
            nav.locator("a[rel=next]").click()
            page.wait_for_url(re.compile(rf"page={number + 1}"))
    assert len(seen) == len(set(seen)) == total  # every record once, none lost
    assert dates == sorted(dates)
    # Jump straight to a page by its number.
    page.get_by_role("navigation", name="Result pages").get_by_role("link", name="Page 1").click()
    page.wait_for_url(re.compile(r"page=1"))
    shoot(page, "sorted")

    # A date range typed into the form (no facet): inclusive, in the URL.
    page.goto(live_server("/search?q=Moura"))
    page.get_by_label("From", exact=True).fill("2021-01-01")
    page.get_by_label("To", exact=True).fill("2021-12-31")
    page.get_by_role("main").get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"from=2021-01-01&to=2021-12-31"))
    for when in page.locator("ol.results time").all():
        assert when.get_attribute("datetime").startswith("2021")
    assert result_count(page) > 0
    assert recorder.page_errors == []


def test_a_bad_date_is_explained_next_to_its_field(page: Page, live_server: LiveServer) -> None:
    response = page.goto(live_server("/search?q=Moura&from=2022-02-30"))
    assert response is not None and response.status == 400
    field = page.get_by_label("From", exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#from-error")).to_contain_text("YYYY-MM-DD")
    expect(field).to_have_value(
        ""
    )  # the browser cannot show an impossible date; the error says why


@pytest.fixture
def exhibit_files(client: FlaskClient, auth: dict[str, str], seeded: Archive, tmp_path: Path):
    """A published exhibit of the founding case, a sealed one, and a file the archive never saw."""
    files = {}
    for name, publish in (("published", True), ("sealed", False)):
        content = f"Photograph of Moura, {name} copy. ".encode() * 200
        response = client.post(
            "/api/v1/cases/moura-2022/exhibits",
            data={
                "title": f"Satellite image of Moura ({name})",
                "language": "en",
                "file": (io.BytesIO(content), f"{name}.jpg", "image/jpeg"),
            },
            headers=auth,
            content_type="multipart/form-data",
        )
        assert response.status_code == 201, response.json
        uid = response.json["id"]
        if publish:
            client.post(f"/api/v1/items/{uid}/redaction", json={}, headers=auth)
            assert client.post(f"/api/v1/items/{uid}/publish", headers=auth).status_code == 200
        path = tmp_path / f"{name}.jpg"
        path.write_bytes(content)
        files[name] = (path, uid, "sha256:" + hashlib.sha256(content).hexdigest())
    unknown = tmp_path / "holiday.jpg"
    unknown.write_bytes(b"never given to the archive " * 50)
    files["unknown"] = (unknown, None, "sha256:" + hashlib.sha256(unknown.read_bytes()).hexdigest())
    return files


def test_verify_page_finds_a_published_exhibit_and_not_others(
    page: Page, live_server: LiveServer, recorder: Recorder, exhibit_files, shoot
) -> None:
    page.goto(live_server("/"))
    page.get_by_role("main").get_by_role("link", name="Verify a file").click()
    page.wait_for_url(re.compile(r"/verify$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify a file")
    picker = page.get_by_label("Choose a file")
    expect(picker).to_be_visible()
    shoot(page, "verify-page")

    path, uid, digest = exhibit_files["published"]
    picker.set_input_files(str(path))
    result = page.locator("#file-result")
    expect(result.locator("[data-result]")).to_have_attribute("data-result", "found")
    expect(result.locator("code.digest")).to_have_text(digest)
    expect(page.get_by_label("SHA-256 digest")).to_have_value(digest)
    link = result.get_by_role("link", name="Satellite image of Moura (published)")
    expect(link).to_have_attribute("href", f"/records/{uid}")
    shoot(page, "verify-found")
    # The file itself never left the machine: only its digest was sent, in a GET.
    lookups = [u for u in recorder.requests if "/api/v1/exhibits/by-digest/" in u]
    assert len(lookups) == 1 and lookups[0].endswith(digest.replace(":", "%3A"))

    for name in ("sealed", "unknown"):
        path, _, digest = exhibit_files[name]
        picker.set_input_files(str(path))
        expect(result.locator("[data-result]")).to_have_attribute("data-result", "not-found")
        expect(result.locator("code.digest")).to_have_text(digest)
        expect(result).to_contain_text("No published exhibit has this digest.")
        expect(result.get_by_role("link")).to_have_count(0)
        if name == "sealed":
            sealed_text = result.inner_text().replace(digest, "D")
        else:
            assert result.inner_text().replace(digest, "D") == sealed_text  # no oracle
    shoot(page, "verify-not-found")

    link_target = exhibit_files["published"][1]
    page.goto(live_server(f"/records/{link_target}"))
    expect(page.locator("dl.meta")).to_contain_text(exhibit_files["published"][2])
    assert recorder.page_errors == [] and recorder.console_errors == []


@pytest.fixture
def no_js_page(browser: Browser, live_server: LiveServer, recorder: Recorder) -> Iterator[Page]:
    yield from _new_page(
        browser,
        recorder,
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        java_script_enabled=False,
    )


def test_without_javascript_the_pages_still_work(
    no_js_page: Page, live_server: LiveServer, client: FlaskClient, exhibit_files, shoot
) -> None:
    page = no_js_page
    page.goto(live_server("/verify"))
    expect(page.get_by_label("Choose a file")).to_be_hidden()
    expect(page.get_by_role("main")).to_contain_text("needs JavaScript")
    expect(page.get_by_role("main")).to_contain_text("sha256sum FILE")
    _, uid, digest = exhibit_files["published"]
    page.get_by_label("SHA-256 digest").fill(digest.removeprefix("sha256:").upper())
    page.get_by_role("button", name="Look up").click()
    page.wait_for_url(re.compile(r"/verify\?digest="))
    expect(page.locator(".lookup-result [data-result]")).to_have_attribute("data-result", "found")
    expect(page.locator(".lookup-result").get_by_role("link")).to_have_attribute(
        "href", f"/records/{uid}"
    )
    shoot(page, "no-js-found")

    page.get_by_label("SHA-256 digest").fill(exhibit_files["sealed"][2])
    page.get_by_role("button", name="Look up").click()
    expect(page.locator(".lookup-result [data-result]")).to_have_attribute(
        "data-result", "not-found"
    )
    page.get_by_label("SHA-256 digest").fill("not a digest")
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#digest-error")).to_contain_text("64 characters")
    expect(page.get_by_label("SHA-256 digest")).to_have_attribute("aria-invalid", "true")
    shoot(page, "no-js-bad-digest")

    # Search with a facet, and a record with its download link and offline instructions.
    page.goto(live_server("/search?q=Moura"))
    facet(page, "Language").get_by_role("link", name="French").click()
    page.wait_for_url(re.compile(r"language=fr"))
    assert result_count(page) >= 1
    page.locator("ol.results h2 a").first.click()
    expect(page.get_by_role("button", name="Check it in this browser")).to_be_hidden()
    expect(page.get_by_role("link", name="Download the public bundle")).to_be_visible()
    expect(page.locator(".verify-record")).to_contain_text("needs JavaScript")
    page.get_by_text("Check it offline", exact=True).click()
    expect(page.locator("details.offline pre")).to_contain_text("temoin-verify")
    shoot(page, "no-js-record")


def test_the_log_page_shows_the_checkpoint_and_how_to_watch(
    page: Page, live_server: LiveServer, client: FlaskClient, shoot
) -> None:
    page.goto(live_server("/"))
    page.get_by_role("navigation", name="Site").get_by_role("link", name="Custody log").click()
    page.wait_for_url(re.compile(r"/log$"))
    note = client.get("/api/v1/log/checkpoint").get_data(as_text=True)
    assert page.locator("#checkpoint-note").inner_text().strip() == note.strip()
    size = int(note.split("\n")[1])
    expect(page.locator("#log-size")).to_have_text(f"{size:,}")
    for key in client.get("/api/v1/log/keys").get_data(as_text=True).split():
        expect(page.locator("ul.keys")).to_contain_text(key)
    expect(page.locator("#monitor-script")).to_contain_text("verify_consistency")
    expect(page.get_by_role("main")).to_contain_text("/api/v1/log/proof/consistency?old=")
    shoot(page, "log")


@pytest.fixture
def french(browser: Browser, live_server: LiveServer, recorder: Recorder) -> Iterator[Page]:
    """A browser that asks for French (Accept-Language: fr-FR)."""
    yield from _new_page(browser, recorder, viewport={"width": 1280, "height": 900}, locale="fr-FR")


def test_the_interface_speaks_french(
    french: Page, live_server: LiveServer, exhibit_files, shoot
) -> None:
    page = french
    page.goto(live_server("/"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Témoin\u00a0: une archive de témoignages et de sources"
    )
    expect(page.get_by_role("main")).to_contain_text("Ce que contient l’archive")
    box = page.get_by_role("main").get_by_label("Chercher dans l’archive")
    box.fill("Moura")
    page.get_by_role("main").get_by_role("button", name="Rechercher").click()
    page.wait_for_url(re.compile(r"/search\?q=Moura"))
    expect(page.locator("#result-count")).to_contain_text("résultats pour «\u00a0Moura\u00a0»")
    expect(page.locator("aside.facets")).to_contain_text("Type")
    expect(page.locator("aside.facets")).to_contain_text("Témoignage")
    expect(page.locator("aside.facets")).to_contain_text("Français")
    # Dates are French: "27 mars 2022".
    expect(
        page.locator("ol.results").get_by_text(re.compile(r"\d+ mars 2022")).first
    ).to_be_visible()
    shoot(page, "fr-results")

    page.locator("ol.results h2 a").first.click()
    expect(page.get_by_role("heading", name="Vérifier ce document")).to_be_visible()
    expect(page.locator("dl.meta")).to_contain_text("Date des faits")
    shoot(page, "fr-record")

    page.goto(live_server("/verify"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifier un fichier")
    page.get_by_label("Choisir un fichier").set_input_files(str(exhibit_files["unknown"][0]))
    expect(page.locator("#file-result")).to_contain_text(
        "Aucune pièce publiée n’a cette empreinte."
    )
    page.goto(live_server("/log"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Journal de conservation")
    page.goto(live_server("/records/no-such-record"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Introuvable")
    shoot(page, "fr-not-found")

    # The switch is a plain link; the choice is remembered for the next pages.
    page.get_by_role("navigation", name="Langue").get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    page.goto(live_server("/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("navigation", name="Language")).to_contain_text("Français")


@pytest.fixture
def phone390(browser: Browser, live_server: LiveServer, recorder: Recorder) -> Iterator[Page]:
    yield from _new_page(
        browser,
        recorder,
        viewport={"width": PHONE_WIDTH, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
    )


def test_every_public_page_fits_a_phone(
    phone390: Page, live_server: LiveServer, client: FlaskClient, exhibit_files, shoot
) -> None:
    page = phone390
    record = client.get("/api/v1/search", query_string={"q": "riverbank"}).json["hits"][0]["id"]
    for name, path in (
        ("home", "/"),
        ("search", "/search?q=Moura&kind=testimony"),
        ("record", f"/records/{record}"),
        ("exhibit", f"/records/{exhibit_files['published'][1]}"),
        ("verify", "/verify"),
        ("log", "/log"),
        ("home-fr", "/?lang=fr"),
    ):
        page.goto(live_server(path))
        if name == "record":
            page.get_by_role("button", name="Check it in this browser").tap()
            expect(page.locator("#verify-verdict")).to_have_class(re.compile("verdict-ok"))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_WIDTH, f"{path} scrolls sideways on a phone: {width}px"
        shoot(page, f"phone-{name}")
    for link in page.get_by_role("navigation", name="Site").get_by_role("link").all():
        box = link.bounding_box()
        assert box is not None and box["height"] >= 24, box  # WCAG 2.2 target size


def _axe(page: Page) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page,
        options={
            "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
            "resultTypes": ["violations"],
        },
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results.response["violations"]
    ]


def test_public_pages_pass_an_automated_accessibility_check(
    page: Page, live_server: LiveServer, client: FlaskClient, exhibit_files
) -> None:
    record = client.get("/api/v1/search", query_string={"q": "riverbank"}).json["hits"][0]["id"]
    found = exhibit_files["published"][2]
    problems = {}
    for path in (
        "/",
        "/search?q=Moura",
        "/search?q=Moura&kind=testimony&year=2022",
        "/search?q=%22unclosed",
        f"/records/{record}",
        f"/records/{exhibit_files['published'][1]}",
        "/verify",
        f"/verify?digest={found}",
        "/verify?digest=nonsense",
        "/log",
        "/?lang=fr",
        "/records/nothing-here",
    ):
        page.goto(live_server(path))
        if (
            path.startswith("/records/")
            and "nothing" not in path
            and page.locator("#verify-run").count()
        ):
            page.locator("#verify-run").click()
            expect(page.locator("#verify-verdict")).to_have_class(re.compile("verdict-ok"))
        violations = _axe(page)
        if violations:
            problems[path] = violations
    assert problems == {}


def test_keyboard_users_skip_to_the_content_and_see_focus(
    page: Page, live_server: LiveServer, shoot
) -> None:
    page.goto(live_server("/search?q=Moura"))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('main') !== null")
    assert focused, "after the skip link, the next Tab stays in the main content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), outline
    shoot(page, "keyboard-focus")
