"""The desk through HTTP: a case's persons and items, intake, an item's original, custody,
bundle and access report, the redaction review and publication, as each role and across
cases, with the forms' CSRF tokens and validation messages."""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from archive.models import CustodyEvent, Item
from archive.services import accountability
from archive.services import cases as case_service
from archive.services.runtime import Archive
from evidence.bundle import parse_bundle, verify_bundle
from tests.functional.test_api import TEXT, make_case, make_testimony, make_witness
from tests.functional.web_session import csrf_token, signed_in_client

SECRETS = ("Hamadoun", "Traoré", "+223 76 12 34 56", "tailor.moura@example.org")
LONG_TESTIMONY = (
    "Ce matin-là, Mariam Koné a vu les hélicoptères se poser près du marché.\n"
    + "Les soldats ont rassemblé les hommes au bord de la rivière. " * 120
    + "\nElle a compté les corps le lendemain."
)


@dataclass
class World:
    app: Flask
    arc: Archive
    person: str  # Witness A of case-one
    uid: str  # a testimony of case-one naming Witness A
    other_person: str  # case-two
    other_uid: str


@pytest.fixture
def world(app: Flask, client: FlaskClient, auth: dict[str, str]) -> World:
    places = {}
    for slug in ("case-one", "case-two"):
        make_case(client, auth, slug=slug)
        person = make_witness(client, auth, slug=slug)
        item = make_testimony(client, auth, person["id"], slug=slug)
        places[slug] = (person["id"], item["id"])
    return World(
        app=app,
        arc=app.extensions["temoin"],
        person=places["case-one"][0],
        uid=places["case-one"][1],
        other_person=places["case-two"][0],
        other_uid=places["case-two"][1],
    )


@pytest.fixture
def investigator(world: World) -> FlaskClient:
    return signed_in_client(
        world.app, world.arc, "investigator", granted=("case-one",), name="ines"
    )


@pytest.fixture
def lawyer(world: World) -> FlaskClient:
    return signed_in_client(world.app, world.arc, "legal", granted=("case-one",), name="léa")


def post(browser: FlaskClient, path: str, data: dict, page: str | None = None) -> TestResponse:
    """Send a form as the page at `page` (default: `path`) would, with its CSRF token."""
    token = csrf_token(browser.get(page or path))
    return browser.post(path, data={"csrf_token": token, **data})


def field_error(page: TestResponse, name: str) -> str:
    """The message shown next to a field, checked to be tied to it (aria-describedby)."""
    html = page.get_data(as_text=True)
    control = re.search(rf'<(?:input|textarea|select)[^>]*\bid="{name}"[^>]*>', html)
    assert control, f"no field {name}"
    assert f"{name}-error" in control.group(0) and 'aria-invalid="true"' in control.group(0)
    found = re.search(rf'<p class="field-error" id="{name}-error">(.*?)</p>', html, re.S)
    assert found, f"no error next to {name}"
    return unescape(found.group(1))


def items_of(arc: Archive, slug: str) -> list[Item]:
    with arc.db.sessions() as session:
        case = case_service.get_case(session, slug)
        items = list(session.query(Item).filter(Item.case_id == case.id, Item.kind != "log_record"))
        session.expunge_all()
        return items


def events(arc: Archive, uid: str) -> list[dict]:
    with arc.db.sessions() as session:
        item = session.query(Item).filter(Item.uid == uid).one()
        rows = session.query(CustodyEvent).filter(CustodyEvent.item_id == item.id)
        return [json.loads(r.canonical) for r in rows.order_by(CustodyEvent.seq)]


def open_original(browser: FlaskClient, uid: str, reason: str = "checking the statement") -> None:
    response = post(
        browser,
        f"/desk/items/{uid}/original",
        {"original-reason": reason, "original-next": "item"},
        page=f"/desk/items/{uid}",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]


# ---- the case page ---------------------------------------------------------------------------


def test_the_case_lists_pseudonyms_and_items_with_their_state(
    world: World, investigator: FlaskClient
) -> None:
    desk = investigator.get("/desk")
    assert 'href="/desk/cases/case-one"' in desk.text
    assert "case-two" not in desk.text
    page = investigator.get("/desk/cases/case-one")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Witness A" in html and "Testimony of Witness A" in html
    assert "Sealed" in html and "Not reviewed" in html
    assert f'href="/desk/items/{world.uid}/review"' in html
    assert f'href="/desk/items/{world.uid}"' in html
    assert f"/desk/cases/case-one/persons/{world.person}/reveal" in html
    for secret in SECRETS:
        assert secret not in html, secret
    assert page.headers["Cache-Control"] == "no-store"


def test_register_a_person_and_add_aliases(world: World, investigator: FlaskClient) -> None:
    path = "/desk/cases/case-one/persons/new"
    refused = post(investigator, path, {"role": "witness", "names": "", "contact": "+223 70"})
    assert refused.status_code == 422
    assert field_error(refused, "names") == "This field is required."
    assert 'value="+223 70"' in refused.text  # what was typed comes back
    short = post(investigator, path, {"role": "boss", "names": "Awa Diallo\nX"})
    assert short.status_code == 422
    assert field_error(short, "role") == "Choose one of the options."
    assert field_error(short, "names") == "Line 2: Write between 2 and 200 characters."
    assert "Awa Diallo\nX" in unescape(short.text)

    done = post(investigator, path, {"role": "witness", "names": "Awa Diallo", "aliases": "Tanti"})
    assert done.status_code == 303 and done.headers["Location"].endswith("#persons")
    case = investigator.get("/desk/cases/case-one").get_data(as_text=True)
    assert "Registered as Witness B" in case and "Awa Diallo" not in case

    with world.arc.db.sessions() as session:
        person = case_service.get_case(session, "case-one").persons[-1]
        uid = person.uid
    aliases = f"/desk/cases/case-one/persons/{uid}/aliases"
    assert "Awa Diallo" not in investigator.get(aliases).text  # names already given are not shown
    empty = post(investigator, aliases, {"aliases": "  "})
    assert empty.status_code == 422
    assert field_error(empty, "aliases") == "This field is required."
    added = post(investigator, aliases, {"aliases": "Hamadoun\nla couturière"})
    assert added.status_code == 303
    notice = investigator.get("/desk/cases/case-one").get_data(as_text=True)
    assert "Aliases added to Witness B" in notice
    # "Hamadoun" is now also Witness B's alias: the testimony's proposal names both.
    review = investigator.get(f"/desk/items/{world.uid}/review")
    open_original(investigator, world.uid)
    review = investigator.get(f"/desk/items/{world.uid}/review").get_data(as_text=True)
    assert "[Witness B]" in review or "[Witness A]" in review


def test_revealing_an_identity_asks_why_and_records_it(
    world: World, investigator: FlaskClient
) -> None:
    path = f"/desk/cases/case-one/persons/{world.person}/reveal"
    form = investigator.get(path)
    assert form.status_code == 200 and "Hamadoun" not in form.text
    for reason, message in (
        ("", "Say why you need to see it"),
        ("because", "Too short: write at least 10 characters."),
    ):
        refused = post(investigator, path, {"reason": reason})
        assert refused.status_code == 422
        assert field_error(refused, "reason").startswith(message)
        assert "Hamadoun" not in refused.text
    shown = post(investigator, path, {"reason": "to arrange the follow-up interview"})
    assert shown.status_code == 200
    assert "Hamadoun Traoré" in shown.text
    assert shown.headers["Cache-Control"] == "no-store"
    with world.arc.db.sessions() as session:
        report = accountability.case_access(session, case_service.get_case(session, "case-one"))
    reveal = [e for e in report if e.details.get("what") == "protected identity"]
    assert len(reveal) == 1
    assert reveal[0].reason == "to arrange the follow-up interview"
    assert reveal[0].details["via"] == "web"
    assert reveal[0].actor == "user:ines (web)"
    # once: the case page does not show it again
    assert "Hamadoun" not in investigator.get("/desk/cases/case-one").text


# ---- intake ----------------------------------------------------------------------------------


def test_a_refused_testimony_comes_back_filled_with_errors_next_to_fields(
    world: World, investigator: FlaskClient
) -> None:
    path = "/desk/cases/case-one/testimonies/new"
    before = len(items_of(world.arc, "case-one"))
    refused = post(
        investigator,
        path,
        {
            "person": "",
            "text": LONG_TESTIMONY.replace("\n", "\r\n"),
            "language": "french",
            "event_date": "2022-02-31",
            "collected_at": "yesterday",
            "tags": "moura, " + "x" * 70,
            "place": "Moura",
        },
    )
    assert refused.status_code == 422
    assert field_error(refused, "person") == "This field is required."
    assert field_error(refused, "language") == "A language code such as fr, en or bm (ISO 639)."
    assert field_error(refused, "event_date").startswith("Not a date")
    assert field_error(refused, "collected_at").startswith("Not a date and time")
    assert field_error(refused, "tags") == "Line 2: Write between 1 and 60 characters."
    html = unescape(refused.get_data(as_text=True)).replace("\r\n", "\n")
    assert LONG_TESTIMONY in html  # every word still there
    assert 'value="Moura"' in html
    assert 'role="alert"' in html and "Nothing was saved yet" in html
    assert len(items_of(world.arc, "case-one")) == before


def test_a_testimony_is_sealed_and_its_author_goes_on_to_review_it(
    world: World, investigator: FlaskClient
) -> None:
    path = "/desk/cases/case-one/testimonies/new"
    form = investigator.get(path)
    assert 'data-draft="case-one:testimony"' in form.text and 'data-draft-fresh="yes"' in form.text
    stored = post(
        investigator,
        path,
        {
            "person": world.person,
            "text": "Hamadoun Traoré saw the helicopters.\r\nHe hid in the mill.",
            "language": "en",
            "event_date": "2022-03-27",
            "collected_at": "2022-04-02T09:30",
            "collected_by": "Field team 2",
            "place": "Moura",
            "tags": "moura, helicopters",
        },
    )
    assert stored.status_code == 303
    uid = re.fullmatch(r"/desk/items/([0-9a-f-]{36})/review", stored.headers["Location"]).group(1)
    review = investigator.get(stored.headers["Location"])
    html = review.get_data(as_text=True)
    assert "The testimony is sealed" in html
    assert 'data-draft-sent="case-one:testimony"' in html  # the browser forgets its draft
    # its author sees the original at once (no reason asked), with the name highlighted
    assert 'data-label="[Witness A]">Hamadoun Traoré</mark>' in html
    item = next(i for i in items_of(world.arc, "case-one") if i.uid == uid)
    assert item.title == "Testimony of Witness A"
    assert item.tags == ["moura", "helicopters"]
    assert item.collected_at.replace(tzinfo=None).isoformat() == "2022-04-02T09:30:00"
    text = world.arc.blobs.read_bytes(parse_digest(item.digest)).decode()
    assert text == "Hamadoun Traoré saw the helicopters.\nHe hid in the mill."
    kinds = {e["type"]: e for e in events(world.arc, uid)}
    assert kinds["ingested"]["details"]["via"] == "web"
    assert kinds["collected"]["actor"] == "user:ines (web)"
    assert kinds["collected"]["details"]["by"] == "Field team 2"
    assert "accessed" not in kinds  # the author's own view is not a read


def parse_digest(text: str):
    from evidence.digest import Digest

    return Digest.parse(text)


def test_a_source_excerpt_with_its_citation(world: World, investigator: FlaskClient) -> None:
    path = "/desk/cases/case-one/excerpts/new"
    refused = post(
        investigator,
        path,
        {"title": "", "text": "Quoted.", "language": "en", "citation_url": "ftp://x"},
    )
    assert refused.status_code == 422
    assert field_error(refused, "title") == "This field is required."
    assert field_error(refused, "citation_publication") == "This field is required."
    assert field_error(refused, "citation_url").startswith("Not a web address")
    stored = post(
        investigator,
        path,
        {
            "title": "UN report on Moura",
            "text": "At least 500 people were believed to have been killed.",
            "language": "en",
            "citation_publication": "OHCHR",
            "citation_url": "https://www.ohchr.org/en/documents/moura",
            "citation_published": "2023-05-12",
        },
    )
    assert stored.status_code == 303
    excerpt = next(i for i in items_of(world.arc, "case-one") if i.kind == "source_excerpt")
    assert excerpt.citation == {
        "publication": "OHCHR",
        "author": None,
        "title": None,
        "url": "https://www.ohchr.org/en/documents/moura",
        "published": "2023-05-12",
    }


def test_a_file_exhibit_is_streamed_and_stored_under_its_digest(
    world: World, investigator: FlaskClient
) -> None:
    path = "/desk/cases/case-one/exhibits/new"
    token = csrf_token(investigator.get(path))
    no_file = investigator.post(
        path, data={"csrf_token": token, "title": "Photo", "language": "en"}
    )
    assert no_file.status_code == 422
    assert field_error(no_file, "file") == "Choose the file to store."
    content = b"\x89PNG fake photo bytes " * 5000
    again = investigator.post(
        path,
        data={
            "csrf_token": token,
            "title": "",
            "language": "en",
            "file": (io.BytesIO(content), "market.png", "image/png"),
        },
        content_type="multipart/form-data",
    )
    assert again.status_code == 422
    assert field_error(again, "title") == "This field is required."
    assert "Choose the file again" in field_error(again, "file")
    stored = investigator.post(
        path,
        data={
            "csrf_token": token,
            "title": "Market after the assault",
            "description": "Sent by Hamadoun",
            "language": "en",
            "tags": "market, photo",
            "file": (io.BytesIO(content), "market.png", "image/png"),
        },
        content_type="multipart/form-data",
    )
    assert stored.status_code == 303
    exhibit = next(i for i in items_of(world.arc, "case-one") if i.kind == "file_exhibit")
    assert exhibit.digest == "sha256:" + hashlib.sha256(content).hexdigest()
    assert exhibit.tags == ["market", "photo"]
    assert exhibit.public_text == "Sent by [Witness A]"
    assert {e["type"]: e for e in events(world.arc, exhibit.uid)}["ingested"]["details"][
        "via"
    ] == "web"
    # its original file: at once for its author, after a reason for anyone else
    file_path = f"/desk/items/{exhibit.uid}/original/file"
    with investigator.get(file_path) as download:
        assert download.status_code == 200 and download.data == content
    colleague = signed_in_client(world.app, world.arc, "investigator", granted=("case-one",))
    assert colleague.get(file_path).status_code == 303
    open_original(colleague, exhibit.uid, "checking the photo's bytes")
    with colleague.get(file_path) as download:
        assert download.status_code == 200 and download.data == content
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert events(world.arc, exhibit.uid)[-1]["details"]["reason"] == "checking the photo's bytes"


def test_validation_messages_speak_french(world: World, investigator: FlaskClient) -> None:
    investigator.set_cookie("temoin_lang", "fr")
    refused = post(
        investigator, "/desk/cases/case-one/testimonies/new", {"text": "", "event_date": "x"}
    )
    assert refused.status_code == 422
    assert field_error(refused, "text") == "Ce champ est obligatoire."
    assert field_error(refused, "event_date").startswith("Ce n’est pas une date")
    assert "Nouveau témoignage" in refused.text


# ---- an item ---------------------------------------------------------------------------------


def test_the_original_is_shown_only_after_a_reason_which_is_recorded(
    world: World, investigator: FlaskClient
) -> None:
    path = f"/desk/items/{world.uid}"
    page = investigator.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "tailor" not in html  # no word of the original yet
    assert 'name="original-reason"' in html
    before = len(events(world.arc, world.uid))
    refused = post(
        investigator,
        f"{path}/original",
        {"original-reason": "why not", "original-next": "item"},
        page=path,
    )
    assert refused.status_code == 422
    assert field_error(refused, "original-reason").startswith("Too short")
    assert "tailor" not in refused.text
    assert len(events(world.arc, world.uid)) == before
    open_original(investigator, world.uid, "preparing the filing for the hearing")
    shown = investigator.get(path).get_data(as_text=True)
    assert "Hamadoun Traoré, a tailor" in unescape(shown)
    read = events(world.arc, world.uid)[-1]
    assert read["type"] == "accessed"
    assert read["details"] == {
        "what": "original",
        "via": "web",
        "reason": "preparing the filing for the hearing",
    }
    assert read["actor"] == "user:ines (web)"
    # the access report on the page lists it; opening once serves the session
    assert "preparing the filing for the hearing" in shown
    investigator.get(path)
    investigator.get(f"{path}/review")
    assert len(events(world.arc, world.uid)) == before + 1
    # the custody timeline: types, actors, key ids and log indexes
    assert "Ingested" in shown and "Accessed" in shown
    key_id = world.arc.signing_key.key_id_hex
    assert f"Signed with key {key_id}" in shown
    assert "/api/v1/log/proof/inclusion?index=" in shown
    # a new session must give a reason again
    other = signed_in_client(world.app, world.arc, "investigator", granted=("case-one",))
    assert "tailor" not in other.get(path).text


def test_the_bundle_download_asks_why_and_verifies(world: World, investigator: FlaskClient) -> None:
    path = f"/desk/items/{world.uid}"
    refused = post(investigator, f"{path}/bundle", {"bundle-reason": ""}, page=path)
    assert refused.status_code == 422
    assert field_error(refused, "bundle-reason").startswith("Say why you need to see it")
    download = post(
        investigator, f"{path}/bundle", {"bundle-reason": "exhibit for the prosecutor"}, page=path
    )
    assert download.status_code == 200
    assert (
        download.headers["Content-Disposition"] == f'attachment; filename="{world.uid}.bundle.json"'
    )
    bundle = parse_bundle(download.data)
    verify_bundle(bundle, trusted_keys=[world.arc.signing_key.verifier()])
    exported = events(world.arc, world.uid)[-1]
    assert exported["type"] == "exported"
    assert exported["details"]["reason"] == "exhibit for the prosecutor"
    assert exported["details"]["to"] == "web"
    report = investigator.get(path).get_data(as_text=True)
    assert "exhibit for the prosecutor" in report and "Exported" in report


# ---- the redaction review --------------------------------------------------------------------


def review(browser: FlaskClient, uid: str, data: dict, action: str = "save") -> TestResponse:
    return post(browser, f"/desk/items/{uid}/review", {"action": action, **data})


def test_review_preview_save_and_publish(world: World, investigator: FlaskClient) -> None:
    uid = world.uid
    gate = investigator.get(f"/desk/items/{uid}/review")
    assert gate.status_code == 200
    assert "Hamadoun Traoré" not in gate.text and 'name="original-reason"' in gate.text
    opened = post(
        investigator,
        f"/desk/items/{uid}/original",
        {"original-reason": "reviewing the redaction", "original-next": "review"},
        page=f"/desk/items/{uid}/review",
    )
    assert opened.headers["Location"] == f"/desk/items/{uid}/review#original"
    page = investigator.get(f"/desk/items/{uid}/review").get_data(as_text=True)
    # proposed spans by source: the person's names and the patterns
    assert 'class="span hidden src-person" data-o="0" data-label="[Witness A]"' in page
    assert 'class="span hidden src-pattern"' in page and "[phone number]" in page
    assert "Not reviewed yet" in page

    email = TEXT.index("tailor.moura@example.org")
    removing = f"{email}-{email + len('tailor.moura@example.org')}"
    assert f'value="{removing}"' in page
    preview = review(
        investigator,
        uid,
        {
            "remove": removing,
            "add_text": "shop",
            "add_occurrence": "1",
            "add_label": "place",
            "add_reason": "the shop identifies him",
        },
        action="preview",
    )
    assert preview.status_code == 200
    shown = unescape(preview.get_data(as_text=True))
    assert "Preview with your changes (not saved yet)" in shown
    public = shown.split('id="public-heading"')[1]
    assert "tailor.moura@example.org" in public and "[place]</span> was burned" in public
    assert f'value="{removing}" id="remove-{removing}" checked' in shown
    assert "Not reviewed yet" in shown  # nothing was stored
    assert items_of(world.arc, "case-one")[0].review_basis is None

    early = post(investigator, f"/desk/items/{uid}/publish", {}, page=f"/desk/items/{uid}/review")
    assert early.status_code == 409
    assert "Not published: the redaction has not been reviewed" in early.text

    saved = review(
        investigator,
        uid,
        {"add_text": "shop", "add_label": "place", "add_reason": "the shop identifies him"},
    )
    assert saved.status_code == 303
    after = investigator.get(saved.headers["Location"]).get_data(as_text=True)
    assert "The review is saved" in after and "Reviewed by user:ines (web)" in after
    assert 'class="span hidden src-manual"' in after
    assert "the shop identifies him" in after

    published = post(investigator, f"/desk/items/{uid}/publish", {}, page=f"/desk/items/{uid}")
    assert published.status_code == 303 and published.headers["Location"] == f"/desk/items/{uid}"
    assert "Published:" in investigator.get(f"/desk/items/{uid}").text
    record = investigator.get(f"/records/{uid}").get_data(as_text=True)
    assert "[Witness A]" in record and "[place]" in record
    for secret in SECRETS:
        assert secret not in record


def test_a_span_given_without_javascript(world: World, investigator: FlaskClient) -> None:
    uid = world.uid
    open_original(investigator, uid)

    def refused(data: dict) -> TestResponse:
        response = review(investigator, uid, data, action="preview")
        assert response.status_code == 422, response.status_code
        assert "The review was not saved" in response.text
        return response

    missing = refused({"add_text": "a tailor", "add_reason": ""})
    assert field_error(missing, "add_reason") == "This field is required."
    absent = refused({"add_text": "A TAILOR", "add_reason": "his trade identifies him"})
    assert field_error(absent, "add_text").startswith("This text is not in the original")
    twice = refused({"add_text": "Hamadoun", "add_occurrence": "3", "add_reason": "named twice"})
    assert field_error(twice, "add_occurrence") == "It occurs only 2 times in the original."
    bad = refused({"add_text": "Hamadoun", "add_occurrence": "zero", "add_reason": "named"})
    assert field_error(bad, "add_occurrence") == "Give a whole number, 1 for the first."
    outside = refused({"add_start": "10", "add_end": "99999", "add_reason": "far away"})
    assert field_error(outside, "add_text") == "These positions are outside the text."
    mismatch = refused(
        {"add_start": "0", "add_end": "8", "add_text": "Traoré", "add_reason": "checks the text"}
    )
    assert field_error(mismatch, "add_text").startswith("The text at these positions")
    bracket = refused({"add_text": "a tailor", "add_label": "[x]", "add_reason": "his trade"})
    assert field_error(bracket, "add_label").startswith("Write a label")

    # by position, as selecting text fills it in: the second "Hamadoun" only
    second = TEXT.index("Hamadoun", 1)
    saved = review(
        investigator,
        uid,
        {
            "add_start": str(TEXT.index("tailor,")),
            "add_end": str(TEXT.index("tailor,") + 6),
            "add_text": "tailor",
            "add_label": "trade",
            "add_reason": "his trade identifies him",
        },
    )
    assert saved.status_code == 303, saved.get_data(as_text=True)[:300]
    overlap = refused(
        {
            "add_start": str(TEXT.index("tailor,")),
            "add_end": str(TEXT.index("tailor,") + 3),
            "add_reason": "again",
        }
    )
    assert field_error(overlap, "add_text").startswith("This overlaps text already hidden")
    assert second > 0


def test_publish_is_refused_while_the_review_is_stale(
    world: World, investigator: FlaskClient
) -> None:
    uid = world.uid
    open_original(investigator, uid)
    assert review(investigator, uid, {}).status_code == 303
    post(
        investigator,
        "/desk/cases/case-one/persons/new",
        {"role": "witness", "names": "Mariam Koné\nmorning"},
    )
    page = investigator.get(f"/desk/items/{uid}/review").get_data(as_text=True)
    assert "The last review is out of date" in page
    refused = post(investigator, f"/desk/items/{uid}/publish", {}, page=f"/desk/items/{uid}/review")
    assert refused.status_code == 409
    assert "Not published: the review is out of date" in refused.text
    assert items_of(world.arc, "case-one")[0].status == "sealed"


def test_the_review_of_a_file_exhibit(
    world: World, client: FlaskClient, auth: dict[str, str], investigator: FlaskClient
) -> None:
    exhibit = client.post(
        "/api/v1/cases/case-one/exhibits",
        data={
            "title": "Photo by Hamadoun",
            "language": "en",
            "file": (io.BytesIO(b"bytes"), "p.jpg", "image/jpeg"),
        },
        headers=auth,
        content_type="multipart/form-data",
    ).json["id"]
    page = investigator.get(f"/desk/items/{exhibit}/review").get_data(as_text=True)
    assert re.search(r"Photo by <span class=\"label\">.*?\[Witness A\]</span>", page)
    assert "add_text" not in page
    assert review(investigator, exhibit, {}).status_code == 303
    assert (
        post(
            investigator, f"/desk/items/{exhibit}/publish", {}, page=f"/desk/items/{exhibit}"
        ).status_code
        == 303
    )


# ---- roles, cases, CSRF, anonymous -----------------------------------------------------------


def test_legal_teams_read_but_get_no_controls(world: World, lawyer: FlaskClient) -> None:
    case = lawyer.get("/desk/cases/case-one").get_data(as_text=True)
    for control in ("/testimonies/new", "/persons/new", "/reveal", "/aliases"):
        assert control not in case, control
    item = lawyer.get(f"/desk/items/{world.uid}").get_data(as_text=True)
    assert 'name="original-reason"' in item and 'name="bundle-reason"' in item
    open_original(lawyer, world.uid, "verifying the exhibit for court")
    page = lawyer.get(f"/desk/items/{world.uid}/review").get_data(as_text=True)
    assert "Hamadoun Traoré" in page  # the original, with what is hidden
    for control in ('name="remove"', 'name="add_text"', "/publish", 'value="save"'):
        assert control not in page, control
    token = csrf_token(lawyer.get(f"/desk/items/{world.uid}"))
    for path in (
        f"/desk/items/{world.uid}/review",
        f"/desk/items/{world.uid}/publish",
        "/desk/cases/case-one/testimonies/new",
        "/desk/cases/case-one/persons/new",
        f"/desk/cases/case-one/persons/{world.person}/reveal",
    ):
        assert lawyer.post(path, data={"csrf_token": token}).status_code == 403, path
    assert lawyer.get("/desk/cases/case-one/testimonies/new").status_code == 403
    assert items_of(world.arc, "case-one")[0].status == "sealed"


def desk_paths(world: World, *, other: bool) -> list[tuple[str, str]]:
    slug = "case-two" if other else "case-one"
    person = world.other_person if other else world.person
    uid = world.other_uid if other else world.uid
    return [
        ("GET", f"/desk/cases/{slug}"),
        ("GET", f"/desk/cases/{slug}/persons/new"),
        ("POST", f"/desk/cases/{slug}/persons/new"),
        ("GET", f"/desk/cases/{slug}/persons/{person}/aliases"),
        ("POST", f"/desk/cases/{slug}/persons/{person}/aliases"),
        ("GET", f"/desk/cases/{slug}/persons/{person}/reveal"),
        ("POST", f"/desk/cases/{slug}/persons/{person}/reveal"),
        ("GET", f"/desk/cases/{slug}/testimonies/new"),
        ("POST", f"/desk/cases/{slug}/testimonies/new"),
        ("GET", f"/desk/cases/{slug}/excerpts/new"),
        ("POST", f"/desk/cases/{slug}/excerpts/new"),
        ("GET", f"/desk/cases/{slug}/exhibits/new"),
        ("POST", f"/desk/cases/{slug}/exhibits/new"),
        ("GET", f"/desk/items/{uid}"),
        ("POST", f"/desk/items/{uid}/original"),
        ("GET", f"/desk/items/{uid}/original/file"),
        ("POST", f"/desk/items/{uid}/bundle"),
        ("GET", f"/desk/items/{uid}/review"),
        ("POST", f"/desk/items/{uid}/review"),
        ("POST", f"/desk/items/{uid}/publish"),
    ]


def test_another_case_does_not_exist_on_the_desk(world: World, investigator: FlaskClient) -> None:
    token = csrf_token(investigator.get("/desk/cases/case-one"))
    for method, path in desk_paths(world, other=True):
        response = investigator.open(
            path, method=method, data={"csrf_token": token, "reason": "looking around, sorry"}
        )
        assert response.status_code == 404, (method, path)
        assert "Hamadoun" not in response.text and "case two" not in response.text.lower()
    assert len(events(world.arc, world.other_uid)) == len(
        [e for e in events(world.arc, world.other_uid) if e["type"] != "accessed"]
    )
    # and a person of case two under case one's address is no person of case one
    assert (
        investigator.get(f"/desk/cases/case-one/persons/{world.other_person}/reveal").status_code
        == 404
    )


def test_forms_without_their_csrf_token_are_refused(
    world: World, investigator: FlaskClient
) -> None:
    before = len(items_of(world.arc, "case-one"))
    for method, path in desk_paths(world, other=False):
        if method != "POST":
            continue
        response = investigator.post(
            path, data={"text": "x", "language": "en", "person": world.person, "names": "A B"}
        )
        assert response.status_code == 400, path
        assert "CSRF" in response.text
    assert len(items_of(world.arc, "case-one")) == before
    assert all(e["type"] != "accessed" for e in events(world.arc, world.uid))


def test_no_desk_page_answers_an_anonymous_caller(world: World, client: FlaskClient) -> None:
    for method, path in desk_paths(world, other=False):
        response = client.open(path, method=method, data={"text": "Hamadoun said"})
        assert response.status_code == 303, (method, path)
        location = response.headers["Location"]
        assert location.startswith("/login?next=/desk/"), location
        body = response.get_data(as_text=True)
        assert "Hamadoun" not in body and "tailor" not in body and "Witness" not in body
    # a form sent after the session ended: back to the form's page, and told why
    sent = client.post("/desk/cases/case-one/testimonies/new", data={"text": "long text"})
    assert sent.headers["Location"] == ("/login?next=/desk/cases/case-one/testimonies/new&unsent=1")
    publish = client.post(f"/desk/items/{world.uid}/publish")
    assert publish.headers["Location"] == f"/login?next=/desk/items/{world.uid}/review&unsent=1"
    login = client.get(sent.headers["Location"])
    assert "what you sent was not saved" in login.text
    assert "kept as a draft in this browser" in login.text


def test_an_ended_session_loses_nothing_it_had_not_sent(
    world: World, investigator: FlaskClient
) -> None:
    """The server side of the draft story: after the session ends, the POST is not stored
    and the browser is sent to sign in, then back to the form's page (the browser's draft
    is tested in Chromium)."""
    path = "/desk/cases/case-one/testimonies/new"
    token = csrf_token(investigator.get(path))
    investigator.post("/logout", data={"csrf_token": token})
    before = len(items_of(world.arc, "case-one"))
    sent = investigator.post(path, data={"csrf_token": token, "text": LONG_TESTIMONY})
    assert sent.status_code == 303 and "unsent=1" in sent.headers["Location"]
    assert len(items_of(world.arc, "case-one")) == before


def test_a_review_sent_before_the_original_was_opened_is_not_saved(
    world: World, investigator: FlaskClient
) -> None:
    refused = review(investigator, world.uid, {"add_text": "tailor", "add_reason": "his trade"})
    assert refused.status_code == 409
    assert "Nothing was saved: open the original first" in refused.text
    # the way to open it leads back to the review
    assert 'name="original-next" type="hidden" value="review"' in refused.text
    assert items_of(world.arc, "case-one")[0].review_basis is None
