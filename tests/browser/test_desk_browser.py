"""The desk in headless Chromium: sign in, register a witness, take down a testimony that
names her, review its redaction (hiding more text by selecting it), publish, and find the
record in the public search with her label and without her name. Then: a draft outlives an
ended session; the pages work without JavaScript, fit a phone, speak French and pass an
automated accessibility check."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import update

from archive.models import User, WebSession
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

CASE = "moura-2022"
NAME = "Fatoumata Sangaré"
TESTIMONY = (
    "Fatoumata Sangaré vendait du riz au marché de Moura le 27 mars.\n"
    "Les soldats sont arrivés dans la camionnette blanche de la coopérative, puis les "
    "hélicoptères se sont posés près de la rivière.\n"
    "Elle a vu emmener les hommes vers le bord de l'eau."
)
TO_SELECT = "la camionnette blanche de la coopérative"
PHONE_WIDTH = 390


def make_user(arc: Archive, name: str, role: str = "investigator") -> None:
    with arc.db.transaction() as session:
        user = users.add_user(session, name=name, role=role, password=PASSWORD)
        users.grant(session, user, cases.get_case(session, CASE))


def sign_in(page: Page, live_server: LiveServer, name: str) -> None:
    page.goto(live_server("/login"))
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def select_text(page: Page, container: str, phrase: str) -> None:
    """Select `phrase` in `container` with the mouse, as a reader would: press before its
    first letter, drag to after its last."""
    page.locator(container).scroll_into_view_if_needed()
    box = page.evaluate(
        """([selector, phrase]) => {
          const root = document.querySelector(selector);
          const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
          let node;
          while ((node = walker.nextNode())) {
            const at = node.data.indexOf(phrase);
            if (at < 0) continue;
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + phrase.length);
            const rects = range.getClientRects();
            const first = rects[0], last = rects[rects.length - 1];
            return {x1: first.left + 1, y1: first.top + first.height / 2,
                    x2: last.right - 1, y2: last.top + last.height / 2};
          }
          return null;
        }""",
        [container, phrase],
    )
    assert box is not None, f"{phrase!r} is not in {container}"
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move(box["x2"], box["y2"], steps=12)
    page.mouse.up()
    assert page.evaluate("window.getSelection().toString()") == phrase


def test_intake_review_publish_and_find_it_in_public_search(
    seeded: Archive, live_server: LiveServer, page: Page, recorder: Recorder, shoot: Any
) -> None:
    make_user(seeded, "Aïssata")
    sign_in(page, live_server, "Aïssata")
    expect(page).to_have_url(live_server("/desk"))
    shoot(page, "desk")

    page.get_by_role("link", name="Moura killings, Mali, March 2022").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Moura killings, Mali, March 2022")
    persons = page.get_by_role("region", name="Protected persons")
    expect(persons).to_contain_text("Witness A")
    expect(persons).not_to_contain_text("Amadou")
    shoot(page, "case")

    # a new witness: her names go into the vault, she gets a pseudonym
    page.get_by_role("link", name="Register a protected person").click()
    page.get_by_label("Names").fill(f"{NAME}\nFatou")
    page.get_by_label("Contact").fill("+223 76 00 11 22")
    shoot(page, "register-person")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("status").first).to_contain_text("Registered as Witness C")
    expect(persons).to_contain_text("Witness C")
    expect(page.locator("main")).not_to_contain_text("Sangaré")

    # her testimony, naming her
    page.get_by_role("link", name="New testimony").click()
    page.get_by_label("Witness").select_option(label="Witness C")
    page.get_by_label("Testimony").fill(TESTIMONY)
    page.get_by_role("combobox", name="Language").fill("fr")
    page.get_by_label("Date of events").fill("2022-03-27")
    page.get_by_label("Place (coarse, public)").fill("Moura")
    page.get_by_label("Tags").fill("marché, hélicoptères")
    shoot(page, "intake")
    page.get_by_role("button", name="Seal and store").click()

    # the review: her name is proposed (protected person), more is hidden by selecting it
    expect(page.get_by_role("heading", level=1)).to_contain_text("Redaction review")
    expect(page.get_by_role("status").first).to_contain_text("The testimony is sealed")
    original = page.locator("#original-text")
    expect(original.locator("mark.src-person").first).to_have_text(NAME)
    expect(original.locator("mark.src-person").first).to_have_attribute("data-label", "[Witness C]")
    select_text(page, "#original-text", TO_SELECT)
    page.get_by_role("button", name="Hide the selected text").click()
    expect(page.locator("#selection-status")).to_contain_text("Selected: characters")
    expect(page.get_by_label("Exact text to hide")).to_have_value(TO_SELECT)
    expect(page.get_by_label("Reason")).to_be_focused()
    start = TESTIMONY.index(TO_SELECT)
    expect(page.locator("#add_start")).to_have_value(str(start))
    expect(page.locator("#add_end")).to_have_value(str(start + len(TO_SELECT)))
    page.get_by_label("Label shown instead").fill("vehicle")
    page.get_by_label("Reason").fill("the cooperative's van identifies who drove the soldiers")
    shoot(page, "review-selection")
    page.get_by_role("button", name="Preview the public text").click()
    preview = page.get_by_role("region", name="Preview with your changes (not saved yet)")
    expect(preview).to_contain_text("[Witness C] vendait du riz")
    expect(preview).to_contain_text("[vehicle], puis les hélicoptères")
    expect(preview).not_to_contain_text("camionnette")
    shoot(page, "review-preview")
    page.get_by_role("button", name="Save the review").click()
    expect(page.get_by_role("status").first).to_contain_text("The review is saved")
    expect(page.locator(".review-state")).to_contain_text("Reviewed by user:Aïssata (web)")
    expect(original.locator("mark.src-manual")).to_have_text(TO_SELECT)
    shoot(page, "review-saved")

    page.locator("#publish").get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status").first).to_contain_text("Published: the redacted record")
    custody = page.get_by_role("region", name="Custody")
    expect(custody).to_contain_text("Published")
    expect(custody).to_contain_text("Signed with key")
    shoot(page, "item-published")

    # the public search finds it, with her label and without her name
    page.goto(live_server("/search?q=camionnette+coopérative+riz"))
    expect(page.locator("#result-count")).to_contain_text("0")  # the hidden words are not public
    page.goto(live_server("/search?q=vendait+riz+Moura"))
    results = page.locator("ol.results")
    expect(results).to_contain_text("Testimony of Witness C")
    expect(results).to_contain_text("[Witness C]")
    expect(page.locator("main")).not_to_contain_text("Sangaré")
    expect(page.locator("main")).not_to_contain_text("Fatou")
    shoot(page, "public-search")
    results.get_by_role("link", name="Testimony of Witness C").click()
    article = page.locator("article.record")
    expect(article).to_contain_text("[Witness C] vendait du riz au marché de Moura")
    expect(article).to_contain_text("[vehicle]")
    body = page.locator("body").inner_text()
    for secret in ("Sangaré", "Fatou", "camionnette", "+223 76 00 11 22"):
        assert secret not in body, secret
    # and it verifies there: the disclosure proof ties the labelled text to what was sealed
    page.get_by_role("button", name="Check it in this browser").click()
    expect(page.locator("#verify-verdict")).to_have_class(re.compile("verdict-ok"))
    shoot(page, "public-record")
    assert recorder.page_errors == [] and recorder.console_errors == []


def test_a_draft_survives_an_ended_session(
    seeded: Archive, live_server: LiveServer, page: Page, recorder: Recorder, shoot: Any
) -> None:
    make_user(seeded, "Moussa")
    sign_in(page, live_server, "Moussa")
    form = f"/desk/cases/{CASE}/testimonies/new"
    page.goto(live_server(form))
    expect(page.locator(".js-only").first).to_be_visible()
    long_text = "\n".join(
        f"Paragraphe {n} : les soldats ont gardé les hommes près de la rivière." for n in range(60)
    )
    page.get_by_label("Witness").select_option(label="Witness A")
    page.get_by_label("Testimony").fill(long_text)
    page.get_by_label("Tags").fill("rivière")
    draft = "localStorage.getItem('temoin-draft:moura-2022:testimony') || ''"
    page.wait_for_function(f"() => ({draft}).includes('Paragraphe 59')")

    # an hour away from the keyboard: the session ends (idle), the form is sent anyway
    with seeded.db.transaction() as session:
        moussa = session.query(User).filter(User.name == "Moussa").one()
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        session.execute(
            update(WebSession).where(WebSession.user_id == moussa.id).values(last_seen_at=long_ago)
        )
    page.get_by_role("button", name="Seal and store").click()
    expect(page).to_have_url(re.compile(r"/login\?next=.*unsent=1"))
    expect(page.locator("#unsent-notice")).to_contain_text(
        "what you typed is kept as a draft in this browser"
    )
    shoot(page, "session-ended")

    page.get_by_label("Name").fill("Moussa")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server(form))
    notice = page.locator("#draft-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Draft restored from this browser")
    expect(page.get_by_label("Testimony")).to_have_value(long_text)
    expect(page.get_by_label("Witness")).to_have_value(re.compile(".+"))
    expect(page.get_by_label("Tags")).to_have_value("rivière")
    shoot(page, "draft-restored")

    # sent for good: the draft is forgotten
    page.get_by_role("button", name="Seal and store").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Redaction review")
    # desk.js forgets it when the page that confirms the submission has loaded
    page.wait_for_function(
        "() => localStorage.getItem('temoin-draft:moura-2022:testimony') === null"
    )
    page.goto(live_server(form))
    expect(page.locator("#draft-notice")).to_be_hidden()
    expect(page.get_by_label("Testimony")).to_have_value("")

    # a refused form keeps its text too, and signing out forgets every draft
    page.get_by_label("Testimony").fill("Un autre récit, commencé.")
    page.wait_for_function(
        "() => localStorage.getItem('temoin-draft:moura-2022:testimony') !== null"
    )
    page.get_by_role("button", name="Seal and store").click()
    expect(page.locator("#person-error")).to_have_text("This field is required.")
    expect(page.get_by_label("Witness")).to_be_focused()  # the first field to correct
    expect(page.get_by_label("Testimony")).to_have_value("Un autre récit, commencé.")
    page.get_by_role("navigation", name="Account").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server("/login?signed_out=1"))
    kept = "Object.keys(localStorage).filter(k => k.startsWith('temoin-draft:'))"
    assert page.evaluate(kept) == []
    assert recorder.page_errors == []


@pytest.fixture
def no_script(browser: Browser, live_server: LiveServer, recorder: Recorder) -> Iterator[Page]:
    yield from _new_page(
        browser,
        recorder,
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        java_script_enabled=False,
    )


def test_without_javascript_a_span_is_hidden_by_its_text(
    seeded: Archive, live_server: LiveServer, no_script: Page, shoot: Any
) -> None:
    page = no_script
    make_user(seeded, "Oumar")
    sign_in(page, live_server, "Oumar")
    page.goto(live_server(f"/desk/cases/{CASE}/testimonies/new"))
    expect(page.locator(".no-js-only")).to_be_visible()
    page.get_by_label("Witness").select_option(label="Witness B")
    page.get_by_label("Testimony").fill("Seydou Bah a vu le camion rouge du maire.")
    page.get_by_role("combobox", name="Language").fill("fr")
    page.get_by_role("button", name="Seal and store").click()
    expect(page.locator("#original-text mark.src-person")).to_have_text("Seydou Bah")
    expect(page.get_by_role("button", name="Hide the selected text")).to_be_hidden()
    page.get_by_label("Exact text to hide").fill("le camion rouge du maire")
    page.get_by_label("Reason").fill("the mayor's lorry is known to everyone")
    page.get_by_role("button", name="Save the review").click()
    expect(page.locator("#original-text mark.src-manual")).to_have_text("le camion rouge du maire")
    public = page.get_by_role("region", name="The public text")
    expect(public).to_contain_text(re.compile(r"\[Witness B\] a vu .*\[withheld\]\."))
    expect(public).not_to_contain_text("camion")
    shoot(page, "no-js-review")


def test_legal_sees_the_desk_read_only(
    seeded: Archive, live_server: LiveServer, page: Page, shoot: Any
) -> None:
    make_user(seeded, "Maître Diarra", role="legal")
    sign_in(page, live_server, "Maître Diarra")
    page.get_by_role("link", name="Moura killings, Mali, March 2022").click()
    expect(page.get_by_role("link", name="New testimony")).to_have_count(0)
    expect(page.get_by_role("link", name="Register a protected person")).to_have_count(0)
    page.locator("table.items a").first.click()
    expect(page.get_by_role("heading", level=2, name="Original")).to_be_visible()
    page.locator("#original-reason").fill("verifying the statement for the court file")
    page.get_by_role("button", name="Open the original").click()
    expect(page.locator(".original")).to_be_visible()
    access = page.get_by_role("region", name="Access report")
    expect(access).to_contain_text("verifying the statement for the court file")
    shoot(page, "legal-item")
    page.get_by_role("link", name="Redaction review").click()
    expect(page.locator("#original-text")).to_be_visible()
    expect(page.get_by_role("button", name="Save the review")).to_have_count(0)
    expect(page.get_by_role("button", name="Publish")).to_have_count(0)
    shoot(page, "legal-review")


def desk_pages(seeded: Archive, page: Page, live_server: LiveServer) -> list[tuple[str, str]]:
    with seeded.db.sessions() as session:
        case = cases.get_case(session, CASE)
        item = next(i for i in case.items if i.kind == "testimony")
        person = case.persons[0]
        uid, person_uid = item.uid, person.uid
    page.goto(live_server(f"/desk/items/{uid}"))
    page.locator("#original-reason").fill("accessibility and layout checks")
    page.get_by_role("button", name="Open the original").click()
    return [
        ("desk", "/desk"),
        ("case", f"/desk/cases/{CASE}"),
        ("register", f"/desk/cases/{CASE}/persons/new"),
        ("reveal", f"/desk/cases/{CASE}/persons/{person_uid}/reveal"),
        ("testimony", f"/desk/cases/{CASE}/testimonies/new"),
        ("excerpt", f"/desk/cases/{CASE}/excerpts/new"),
        ("exhibit", f"/desk/cases/{CASE}/exhibits/new"),
        ("item", f"/desk/items/{uid}"),
        ("review", f"/desk/items/{uid}/review"),
    ]


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


def test_every_desk_page_fits_a_phone(
    seeded: Archive, live_server: LiveServer, phone390: Page, shoot: Any
) -> None:
    page = phone390
    make_user(seeded, "Awa")
    sign_in(page, live_server, "Awa")
    for name, path in desk_pages(seeded, page, live_server):
        page.goto(live_server(path))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_WIDTH, f"{path} scrolls sideways on a phone: {width}px"
        shoot(page, f"phone-{name}")


def test_desk_pages_pass_an_automated_accessibility_check(
    seeded: Archive, live_server: LiveServer, page: Page
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    make_user(seeded, "Binta")
    sign_in(page, live_server, "Binta")
    problems = {}
    pages = desk_pages(seeded, page, live_server)
    pages.append(("refused", f"/desk/cases/{CASE}/testimonies/new"))
    for name, path in pages:
        page.goto(live_server(path))
        if name == "refused":
            page.get_by_role("button", name="Seal and store").click()
            expect(page.locator("#text-error")).to_be_visible()
        results = Axe().run(
            page,
            options={
                "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
                "resultTypes": ["violations"],
            },
        )
        found = [
            {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in results.response["violations"]
        ]
        if found:
            problems[name] = found
    assert problems == {}


def test_the_desk_speaks_french(
    seeded: Archive, live_server: LiveServer, page: Page, shoot: Any
) -> None:
    make_user(seeded, "Kadiatou")
    page.goto(live_server("/login?lang=fr"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter")
    page.get_by_label("Nom").fill("Kadiatou")
    page.get_by_label("Mot de passe").fill("not the password")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Le nom, le mot de passe ou le code n’est pas le bon"
    )
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre bureau")
    page.goto(live_server(f"/desk/cases/{CASE}"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name="Personnes protégées")).to_be_visible()
    page.get_by_role("link", name="Nouveau témoignage").click()
    page.get_by_role("button", name="Sceller et conserver").click()
    expect(page.locator("#text-error")).to_have_text("Ce champ est obligatoire.")
    expect(page.locator("#form-error")).to_contain_text("Rien n’a encore été enregistré")
    shoot(page, "french-intake")
