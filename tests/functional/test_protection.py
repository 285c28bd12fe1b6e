"""Witness protection through HTTP: review before publishing, aliases, reveals, the vault."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from archive.models import CustodyEvent, Item, ProtectedPerson
from archive.services.keys import retire_vault_key, rotate_vault
from archive.services.runtime import Archive

TEXT = "Hamadoun Traoré a vu les soldats. Bara aussi. Le marché de Moura brûlait ce matin-là."


@pytest.fixture
def case(client: FlaskClient, auth: dict[str, str]) -> dict:
    client.post("/api/v1/cases", json={"slug": "protect", "title": "Protect"}, headers=auth)
    person = client.post(
        "/api/v1/cases/protect/persons",
        json={"names": ["Hamadoun Traoré"], "contact": "+223 76 11 22 33"},
        headers=auth,
    ).json
    item = client.post(
        "/api/v1/cases/protect/testimonies",
        json={"text": TEXT, "person": person["id"], "language": "fr", "title": "Témoignage"},
        headers=auth,
    ).json
    return {"person": person, "item": item["id"]}


def review(client: FlaskClient, auth: dict[str, str], uid: str, **body: list) -> object:
    return client.post(f"/api/v1/items/{uid}/redaction", json=body, headers=auth)


def test_publishing_needs_a_review(client: FlaskClient, auth: dict[str, str], case: dict) -> None:
    refused = client.post(f"/api/v1/items/{case['item']}/publish", headers=auth)
    assert refused.status_code == 409 and "review" in refused.json["message"]
    view = client.get(f"/api/v1/items/{case['item']}/redaction", headers=auth).json
    assert view["state"] == "not reviewed"
    assert [(p["label"], p["source"]) for p in view["proposed"]] == [("Witness A", "person")]
    assert view["public_text"].startswith("[Witness A] a vu les soldats.")
    reviewed = review(client, auth, case["item"])
    assert reviewed.status_code == 200 and reviewed.json["state"] == "reviewed"
    assert client.post(f"/api/v1/items/{case['item']}/publish", headers=auth).status_code == 200


def test_review_adds_and_removes_spans(
    client: FlaskClient, auth: dict[str, str], case: dict
) -> None:
    uid = case["item"]
    start = TEXT.index("Bara")
    added = review(
        client,
        auth,
        uid,
        add=[
            {
                "start": start,
                "end": start + 4,
                "label": "Witness B",
                "reason": "second witness, not yet registered",
            }
        ],
    )
    assert added.status_code == 200, added.json
    assert "[Witness B] aussi" in added.json["public_text"]
    assert added.json["decisions"][0]["action"] == "add"
    proposed = added.json["proposed"][0]
    removed = review(
        client, auth, uid, remove=[{"start": proposed["start"], "end": proposed["end"]}]
    )
    assert removed.status_code == 200
    assert removed.json["public_text"].startswith(
        "Hamadoun Traoré a vu"
    )  # a deliberate decision, recorded
    types = [e["type"] for e in client.get(f"/api/v1/items/{uid}/custody", headers=auth).json]
    assert types.count("redacted") >= 3


def test_a_partial_word_mark_hides_the_whole_word(
    client: FlaskClient, auth: dict[str, str], case: dict
) -> None:
    start = TEXT.index("Moura") + 1
    response = review(
        client,
        auth,
        case["item"],
        add=[{"start": start, "end": start + 2, "label": "place", "reason": "exact place"}],
    )
    assert "[place]" in response.json["public_text"] and "Moura" not in response.json["public_text"]
    assert "M[place]" not in response.json["public_text"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"add": [{"start": 5, "end": 500, "reason": "too far"}]}, "add"),
        (
            {
                "add": [
                    {"start": 5, "end": 9, "reason": "ok"},
                    {"start": 7, "end": 12, "reason": "overlap"},
                ]
            },
            "add",
        ),
        ({"add": [{"start": 5, "end": 9, "reason": "   "}]}, "add"),
        ({"add": [{"start": 5, "end": 9, "reason": "x", "label": "[bad]"}]}, "add"),
        ({"remove": [{"start": 0, "end": 3}]}, "remove"),
    ],
)
def test_bad_review_input_is_refused_and_changes_nothing(
    client: FlaskClient, auth: dict[str, str], case: dict, body: dict, field: str
) -> None:
    before = client.get(f"/api/v1/items/{case['item']}/redaction", headers=auth).json
    response = review(client, auth, case["item"], **body)
    assert response.status_code == 422
    after = client.get(f"/api/v1/items/{case['item']}/redaction", headers=auth).json
    assert after == before


def test_an_alias_added_later_reaches_published_text(
    client: FlaskClient, auth: dict[str, str], case: dict
) -> None:
    uid = case["item"]
    review(client, auth, uid)
    client.post(f"/api/v1/items/{uid}/publish", headers=auth)
    assert client.get("/api/v1/search?q=Bara").json["total"] == 1
    patched = client.patch(
        f"/api/v1/cases/protect/persons/{case['person']['id']}",
        json={"aliases": ["Bara"]},
        headers=auth,
    )
    assert patched.status_code == 200 and set(patched.json) == {
        "id",
        "pseudonym",
        "role",
        "created_at",
    }
    assert client.get("/api/v1/search?q=Bara").json["total"] == 0
    text = client.get(f"/api/v1/items/{uid}").json["text"]
    assert "Bara" not in text and text.count("[Witness A]") == 2
    types = [e["type"] for e in client.get(f"/api/v1/items/{uid}/custody", headers=auth).json]
    assert types.count("published") == 2
    view = client.get(f"/api/v1/items/{uid}/redaction", headers=auth).json
    assert view["state"] == "stale"


def test_a_reveal_needs_a_reason_and_is_recorded(
    client: FlaskClient, auth: dict[str, str], case: dict, app
) -> None:
    url = f"/api/v1/cases/protect/persons/{case['person']['id']}/reveal"
    short = client.post(url, json={"reason": "x"}, headers=auth)
    assert short.status_code == 400 and short.json["errors"] == {
        "reason": ["too short: 10 characters at least"]
    }
    missing = client.post(url, json={}, headers=auth)
    assert missing.status_code == 400 and missing.json["errors"] == {
        "X-Temoin-Reason": ["required"]
    }
    assert client.post(url, json={"reason": "legal team request"}).status_code == 401
    response = client.post(
        url, json={"reason": "legal team request #12 for the hearing"}, headers=auth
    )
    assert response.status_code == 200
    assert (
        response.json["names"] == ["Hamadoun Traoré"]
        and response.json["contact"] == "+223 76 11 22 33"
    )
    assert response.headers["Cache-Control"] == "no-store"
    arc: Archive = app.extensions["temoin"]
    with arc.db.sessions() as session:
        record = session.scalars(select(Item).where(Item.seed_key == "_access/protect")).one()
        events = session.scalars(
            select(CustodyEvent).where(CustodyEvent.item_id == record.id)
        ).all()
    assert len(events) == 1
    details = json.loads(events[0].canonical)["details"]
    assert details["reason"] == "legal team request #12 for the hearing"
    assert details["pseudonym"] == "Witness A"
    assert b"Hamadoun" not in events[0].canonical
    # The access record is not an item anyone can list.
    assert all(
        i["id"] != record.uid for i in client.get("/api/v1/cases/protect/items", headers=auth).json
    )


def test_vault_rotation_reencrypts_everything_and_resumes(seeded: Archive) -> None:
    old = seeded.vault.current
    calls = {"n": 0}

    def interrupt(_n: int) -> None:
        calls["n"] += 1
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rotate_vault(seeded, batch_size=1, progress=interrupt)
    with pytest.raises(Exception, match="still sealed"):
        retire_vault_key(seeded, old)
    resumed = rotate_vault(seeded, batch_size=3)
    assert resumed.resumed and resumed.key_id != old
    with seeded.db.sessions() as session:
        assert {p.identity_key_id for p in session.scalars(select(ProtectedPerson))} == {
            resumed.key_id
        }
        keys = {i.secret_key_id for i in session.scalars(select(Item)) if i.secret_key_id}
        assert keys == {resumed.key_id}
    retire_vault_key(seeded, old)
    from archive.services.vault import Vault

    assert old not in Vault.load(seeded.settings.vault_key_file).keys
    from archive.services.audit import audit

    assert audit(seeded).ok
    from archive.services.cases import open_identity

    with seeded.db.sessions() as session:
        names = sorted(
            n
            for p in session.scalars(select(ProtectedPerson))
            for n in open_identity(seeded, p).names
        )
    assert names == ["Amadou", "Seydou Bah"]


def test_each_part_of_a_full_name_is_protected_alone(
    client: FlaskClient, auth: dict[str, str], case: dict
) -> None:
    body = {
        "text": "Traoré left before dawn; Hamadoun stayed.",
        "title": "Note",
        "language": "fr",
        "citation": {"publication": "Field notes"},
    }
    item = client.post("/api/v1/cases/protect/excerpts", json=body, headers=auth).json
    assert item["public_text"] == "[Witness A] left before dawn; [Witness A] stayed."
