"""The API through HTTP: intake, custody, publication, search, errors."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pytest
from flask.testing import FlaskClient

from evidence.custody import SignedEvent, verify_chain, verify_event_signature
from evidence.signing import VerifierKey

TEXT = (
    "Hamadoun Traoré, a tailor, said the soldiers came on the morning of 27 March.\n"
    "Call me on +223 76 12 34 56 or write to tailor.moura@example.org. Hamadoun's shop was burned."
)


def make_case(client: FlaskClient, auth: dict[str, str], slug: str = "case-one") -> dict:
    response = client.post(
        "/api/v1/cases", json={"slug": slug, "title": "Case one", "place": "Mopti"}, headers=auth
    )
    assert response.status_code == 201, response.json
    return response.json


def make_witness(
    client: FlaskClient, auth: dict[str, str], slug: str = "case-one", **identity
) -> dict:
    body = {"role": "witness", "names": ["Hamadoun Traoré"], "aliases": ["Hamadoun"], **identity}
    response = client.post(f"/api/v1/cases/{slug}/persons", json=body, headers=auth)
    assert response.status_code == 201, response.json
    return response.json


def make_testimony(
    client: FlaskClient, auth: dict[str, str], person: str, slug: str = "case-one", text: str = TEXT
) -> dict:
    response = client.post(
        f"/api/v1/cases/{slug}/testimonies",
        json={
            "text": text,
            "person": person,
            "language": "en",
            "event_date": "2022-03-27",
            "place": "Moura, Mali",
            "tags": ["moura"],
        },
        headers=auth,
    )
    assert response.status_code == 201, response.json
    return response.json


def publish(client: FlaskClient, auth: dict[str, str], uid: str):
    """Review the proposed redaction as it is, then publish."""
    assert client.post(f"/api/v1/items/{uid}/redaction", json={}, headers=auth).status_code == 200
    return client.post(f"/api/v1/items/{uid}/publish", headers=auth)


def test_cases_are_created_and_listed(client: FlaskClient, auth: dict[str, str]) -> None:
    make_case(client, auth)
    assert [c["slug"] for c in client.get("/api/v1/cases").json] == ["case-one"]
    assert client.get("/api/v1/cases/case-one").json["title"] == "Case one"
    duplicate = client.post(
        "/api/v1/cases", json={"slug": "case-one", "title": "Again"}, headers=auth
    )
    assert duplicate.status_code == 409
    assert duplicate.json["errors"] == {"slug": ["already exists"]}
    bad = client.post("/api/v1/cases", json={"slug": "Not A Slug!", "title": "x"}, headers=auth)
    assert bad.status_code == 422
    assert set(bad.json) == {"status", "message", "errors"}


def test_registering_a_person_returns_only_the_pseudonym(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    make_case(client, auth)
    person = make_witness(client, auth, contact="+223 76 00 00 00", location="14.1, -4.2")
    assert set(person) == {"id", "pseudonym", "role", "created_at"}
    assert person["pseudonym"] == "Witness A"
    second = make_witness(client, auth, names=["Bara Cissé"], aliases=[])
    assert second["pseudonym"] == "Witness B"
    listing = client.get("/api/v1/cases/case-one/persons", headers=auth)
    assert "Hamadoun" not in listing.get_data(as_text=True)
    assert [p["pseudonym"] for p in listing.json] == ["Witness A", "Witness B"]


def test_a_one_letter_name_is_refused(client: FlaskClient, auth: dict[str, str]) -> None:
    make_case(client, auth)
    response = client.post("/api/v1/cases/case-one/persons", json={"names": ["A"]}, headers=auth)
    assert response.status_code == 422


def test_ingest_records_digest_and_signed_chained_custody(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    make_case(client, auth)
    person = make_witness(client, auth)
    item = make_testimony(client, auth, person["id"])
    assert item["digest"] == "sha256:" + hashlib.sha256(TEXT.encode()).hexdigest()
    assert item["status"] == "sealed"
    assert item["text"] == TEXT
    assert item["person"] == "Witness A"
    assert "[Witness A]" in item["public_text"] and "Hamadoun" not in item["public_text"]
    assert "[phone number]" in item["public_text"] and "[e-mail address]" in item["public_text"]

    events = client.get(f"/api/v1/items/{item['id']}/custody", headers=auth).json
    assert [e["type"] for e in events] == ["collected", "ingested", "sealed", "redacted"]
    keys_listing = {}
    for e in events:
        canonical = base64.b64decode(e["canonical"])
        assert json.loads(canonical) == e["event"]
        assert e["event_hash"] == "sha256:" + hashlib.sha256(canonical).hexdigest()
        # the sealed event may be shown in public, so it withholds the original's digest
        expected = None if e["type"] == "sealed" else item["digest"]
        assert e["event"]["item_digest"] == expected
        keys_listing[e["key_id"]] = True
    collected = events[0]["event"]["details"]
    assert collected["request"]["remote_addr"] == "127.0.0.1"
    verify_chain([e["event"] for e in events])
    app = client.application
    key = app.extensions["temoin"].signing_key
    verifier: VerifierKey = key.verifier()
    for e in events:
        verify_event_signature(
            SignedEvent(
                event=e["event"], key_id=e["key_id"], signature=base64.b64decode(e["signature"])
            ),
            {verifier.key_id_hex: verifier},
        )


def test_unpublished_items_are_invisible_to_the_public(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    make_case(client, auth)
    item = make_testimony(client, auth, make_witness(client, auth)["id"])
    assert client.get(f"/api/v1/items/{item['id']}").status_code == 404
    assert client.get("/api/v1/cases/case-one/items").json == []
    assert client.get("/api/v1/search?q=tailor").json["total"] == 0
    assert client.get("/api/v1/search?q=tailor", headers=auth).json["total"] == 1
    assert client.get(f"/records/{item['id']}").status_code == 404


def test_publishing_makes_the_redacted_projection_public(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    make_case(client, auth)
    item = make_testimony(client, auth, make_witness(client, auth)["id"])
    published = publish(client, auth, item["id"])
    assert published.status_code == 200
    assert published.json["status"] == "published"
    public = client.get(f"/api/v1/items/{item['id']}")
    assert public.status_code == 200
    body = public.get_data(as_text=True)
    assert "Hamadoun" not in body and "76 12 34 56" not in body and "example.org" not in body
    assert "[Witness A]" in public.json["text"]
    # The digest of a text original would let anyone confirm a guessed name: withheld.
    assert "digest" not in public.json
    assert item["digest"].split(":")[1] not in body
    hits = client.get("/api/v1/search?q=tailor").json
    assert hits["total"] == 1 and hits["scope"] == "public"
    assert "<mark>tailor</mark>" in hits["hits"][0]["snippet"]
    assert client.get("/api/v1/search?q=Hamadoun").json["total"] == 0
    events = client.get(f"/api/v1/items/{item['id']}/custody", headers=auth).json
    assert [e["type"] for e in events][-1] == "published"


def test_full_read_is_recorded_as_an_access_event(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    make_case(client, auth)
    item = make_testimony(client, auth, make_witness(client, auth)["id"])
    refused = client.get(f"/api/v1/items/{item['id']}", headers=auth)
    assert refused.status_code == 400
    assert refused.json["errors"] == {"X-Temoin-Reason": ["required"]}
    assert "X-Temoin-Reason" in refused.json["message"]
    assert "Hamadoun" not in refused.get_data(as_text=True)
    why = {"X-Temoin-Reason": "checking the date of the events"}
    assert client.get(f"/api/v1/items/{item['id']}", headers={**auth, **why}).json["text"] == TEXT
    events = client.get(f"/api/v1/items/{item['id']}/custody", headers=auth).json
    assert [e["type"] for e in events].count("accessed") == 1
    assert events[-1]["event"]["details"] == {
        "what": "original",
        "via": "api",
        "reason": "checking the date of the events",
    }


def test_a_person_added_later_is_redacted_everywhere(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    make_case(client, auth)
    first = make_witness(client, auth)
    item = make_testimony(client, auth, first["id"], text=TEXT + " Bara Cissé saw it too.")
    publish(client, auth, item["id"])
    assert client.get("/api/v1/search?q=Cissé").json["total"] == 1
    make_witness(client, auth, names=["Bara Cissé"], aliases=["Bara"])
    public = client.get(f"/api/v1/items/{item['id']}").json
    assert "Bara" not in public["text"] and "[Witness B]" in public["text"]
    assert client.get("/api/v1/search?q=Cissé").json["total"] == 0
    types = [
        e["type"] for e in client.get(f"/api/v1/items/{item['id']}/custody", headers=auth).json
    ]
    # at ingest, at review, and when the new person changed the public text
    assert types.count("redacted") == 3
    assert types.count("published") == 2  # re-published with the new public text


def test_source_excerpt_with_citation(client: FlaskClient, auth: dict[str, str]) -> None:
    make_case(client, auth)
    body = {
        "text": "The army said it had killed 203 militants.",
        "title": "The authorities' claim",
        "language": "en",
        "citation": {
            "publication": "Associated Press",
            "author": "Staff",
            "url": "https://apnews.com/x",
            "published": "2022-04-05",
        },
    }
    response = client.post("/api/v1/cases/case-one/excerpts", json=body, headers=auth)
    assert response.status_code == 201, response.json
    assert response.json["citation"]["published"] == "2022-04-05"
    assert response.json["kind"] == "source_excerpt"
    bad = client.post(
        "/api/v1/cases/case-one/excerpts",
        json={**body, "citation": {"publication": "AP", "url": "not a url"}},
        headers=auth,
    )
    assert bad.status_code == 422
    assert "url" in bad.json["errors"]["json"]["citation"]


def test_file_exhibit_is_streamed_and_hashed(client: FlaskClient, auth: dict[str, str]) -> None:
    make_case(client, auth)
    payload = b"%PDF-1.4\n" + bytes(range(256)) * 1500  # under the test client's 500 KB spool limit
    response = client.post(
        "/api/v1/cases/case-one/exhibits",
        data={
            "title": "Satellite image",
            "language": "en",
            "tags": "imagery, moura",
            "file": (io.BytesIO(payload), "image.pdf", "application/pdf"),
        },
        headers=auth,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    item = response.json
    assert item["digest"] == "sha256:" + hashlib.sha256(payload).hexdigest()
    assert item["size"] == len(payload)
    assert item["tags"] == ["imagery", "moura"]
    arc = client.application.extensions["temoin"]
    from evidence.digest import Digest

    assert arc.blobs.path_for(Digest.parse(item["digest"])).read_bytes() == payload
    publish(client, auth, item["id"])
    public = client.get(f"/api/v1/items/{item['id']}").json
    assert public["digest"] == item["digest"]  # exhibits are verifiable by their bytes
    missing = client.post(
        "/api/v1/cases/case-one/exhibits", data={"title": "x", "language": "en"}, headers=auth
    )
    assert missing.status_code == 422


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/cases"),
        ("get", "/api/v1/cases/case-one/persons"),
        ("post", "/api/v1/cases/case-one/persons"),
        ("post", "/api/v1/cases/case-one/testimonies"),
        ("post", "/api/v1/cases/case-one/excerpts"),
        ("post", "/api/v1/cases/case-one/exhibits"),
        ("get", "/api/v1/items/anything/custody"),
        ("post", "/api/v1/items/anything/publish"),
        ("post", "/api/v1/items/anything/redaction"),
        ("get", "/api/v1/search?q=x&scope=restricted"),
    ],
)
def test_protected_routes_need_the_token(
    client: FlaskClient, auth: dict[str, str], method: str, path: str
) -> None:
    make_case(client, auth)
    kwargs = {"json": {}} if method == "post" and "exhibits" not in path else {}
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code in (401, 422) if "exhibits" in path else response.status_code == 401
    wrong = getattr(client, method)(path, headers={"Authorization": "Bearer tmn_wrong"}, **kwargs)
    assert wrong.status_code in (401, 422)
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert set(response.json) == {"status", "message", "errors"}


def test_errors_are_json_without_traces(client: FlaskClient, auth: dict[str, str]) -> None:
    missing = client.get("/api/v1/items/does-not-exist")
    assert missing.status_code == 404
    assert missing.json["status"] == 404
    assert client.get("/api/v1/nothing-here").json["status"] == 404
    malformed = client.get('/api/v1/search?q="unclosed')
    assert malformed.status_code == 400
    assert "quotation" in malformed.json["message"] or "quote" in malformed.json["message"]
    assert "Traceback" not in malformed.get_data(as_text=True)
    assert client.get("/api/v1/search?q=%20").status_code == 422
    not_json = client.post(
        "/api/v1/cases", data="{oops", content_type="application/json", headers=auth
    )
    assert not_json.status_code in (400, 422)
    assert set(not_json.json) == {"status", "message", "errors"}


def test_publishing_twice_is_harmless(client: FlaskClient, auth: dict[str, str]) -> None:
    make_case(client, auth)
    item = make_testimony(client, auth, make_witness(client, auth)["id"])
    publish(client, auth, item["id"])
    publish(client, auth, item["id"])
    types = [
        e["type"] for e in client.get(f"/api/v1/items/{item['id']}/custody", headers=auth).json
    ]
    assert types.count("published") == 1


def test_openapi_document(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    assert spec["info"]["title"] == "Témoin"
    for path in (
        "/api/v1/cases",
        "/api/v1/cases/{slug}/testimonies",
        "/api/v1/items/{uid}/custody",
        "/api/v1/search",
    ):
        assert path in spec["paths"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]


def test_security_headers(client: FlaskClient) -> None:
    response = client.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
