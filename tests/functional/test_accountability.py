"""Who saw what, through HTTP: every look at protected material is a signed event in the
custody log, with its reason; legal teams list them; nobody can erase them."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from archive.models import CustodyEvent, Item
from archive.services.accountability import ACCESS_ADMIN, ARCHIVE_ACCESS
from archive.services.runtime import Archive
from evidence.checkpoint import open_checkpoint
from evidence.custody import SignedEvent, verify_event_signature
from evidence.merkle import leaf_hash, verify_inclusion
from evidence.signing import VerifierKey
from tests.functional.test_access_matrix import token_for
from tests.functional.test_api import TEXT, make_case, make_testimony, make_witness

WHY = "preparing the hearing of 12 May"


def why(text: str = WHY) -> dict[str, str]:
    return {"X-Temoin-Reason": text}


@pytest.fixture
def two_cases(client: FlaskClient, auth: dict[str, str]) -> dict[str, str]:
    uids = {}
    for slug in ("case-one", "case-two"):
        make_case(client, auth, slug=slug)
        person = make_witness(client, auth, slug=slug)
        uids[slug] = make_testimony(client, auth, person["id"], slug=slug)["id"]
        uids[f"{slug} person"] = person["id"]
        report = client.get(f"/api/v1/cases/{slug}/access", headers=auth).json
        assert [(e["action"], e["what"], e["reason"]) for e in report] == [
            ("grant_added", f"grant_added: user admin on case {slug}", CREATED)
        ]
    return uids


CREATED = "the case was created"


def after_creation(entries: list[dict]) -> list[dict]:
    """A report without the new case's first grants (which every case has)."""
    return [e for e in entries if not (e["action"] == "grant_added" and e["reason"] == CREATED)]


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def proven_in_the_log(client: FlaskClient, entry: dict) -> None:
    """The entry's canonical bytes are leaf `log_index` of a checkpoint the archive signed,
    and its signature verifies: checked with evidence/ alone, from public endpoints."""
    canonical = b64(entry["canonical"])
    assert entry["event_hash"] == "sha256:" + hashlib.sha256(canonical).hexdigest()
    keys = [VerifierKey.parse(line) for line in client.get("/api/v1/log/keys").text.splitlines()]
    checkpoint = open_checkpoint(client.get("/api/v1/log/checkpoint").text, keys)
    proof = client.get(
        f"/api/v1/log/proof/inclusion?index={entry['log_index']}&size={checkpoint.size}"
    ).json
    assert b64(proof["leaf_hash"]) == leaf_hash(canonical)
    verify_inclusion(
        leaf_hash=leaf_hash(canonical),
        index=entry["log_index"],
        tree_size=checkpoint.size,
        proof=[b64(h) for h in proof["hashes"]],
        root=checkpoint.root_hash,
    )
    verify_event_signature(
        SignedEvent(
            event=json.loads(canonical), key_id=entry["key_id"], signature=b64(entry["signature"])
        ),
        {k.key_id_hex: k for k in keys},
    )


# ---- reasons ------------------------------------------------------------------------------


def test_a_full_read_needs_a_reason_that_names_the_header(
    client: FlaskClient, auth: dict[str, str], two_cases: dict[str, str]
) -> None:
    url = f"/api/v1/items/{two_cases['case-one']}"
    for headers, problem in (
        ({}, "required"),
        (why("   "), "required"),
        (why("because"), "too short: 10 characters at least"),
        (why("x" * 1001), "too long: 1000 characters at most"),
        (why("UTF-8''%C3%28 not utf-8"), "not UTF-8"),
    ):
        response = client.get(url, headers={**auth, **headers})
        assert response.status_code == 400, headers
        assert response.json["errors"] == {"X-Temoin-Reason": [problem]}
        assert "X-Temoin-Reason" in response.json["message"]
        assert "text" not in response.json
    # Nothing was recorded for the refused reads.
    assert after_creation(client.get(f"{url}/access", headers=auth).json) == []
    # The public view of an item needs no reason (and records nothing).
    assert client.get(url).status_code == 404


def test_reasons_in_any_language_travel_in_rfc_8187_form(
    client: FlaskClient, auth: dict[str, str], two_cases: dict[str, str]
) -> None:
    uid = two_cases["case-one"]
    french = "vérifier la déposition — audience du 12 mai"
    encoded = {"X-Temoin-Reason": "UTF-8''" + quote(french, safe="")}
    assert client.get(f"/api/v1/items/{uid}", headers={**auth, **encoded}).status_code == 200
    latin1 = "vérifier la date des faits"  # sent as ISO-8859-1 bytes
    assert client.get(f"/api/v1/items/{uid}", headers={**auth, **why(latin1)}).status_code == 200
    spaced = "  checking\t the   date  "
    assert client.get(f"/api/v1/items/{uid}", headers={**auth, **why(spaced)}).status_code == 200
    reasons = [e["reason"] for e in client.get(f"/api/v1/items/{uid}/access", headers=auth).json]
    assert reasons == [french, latin1, "checking the date"]


# ---- every look is recorded, reported, and proven in the log ------------------------------


def test_each_unredacted_read_is_in_the_access_report_and_in_the_log(
    app: Flask, client: FlaskClient, two_cases: dict[str, str]
) -> None:
    arc: Archive = app.extensions["temoin"]
    legal = {**token_for(arc, "legal", name="claire"), **why()}
    uid = two_cases["case-one"]
    for n in range(3):
        response = client.get(f"/api/v1/items/{uid}", headers=legal)
        assert response.status_code == 200 and response.json["text"] == TEXT, n
    access = client.get(f"/api/v1/items/{uid}/access", headers=legal).json
    assert len(access) == 3
    for entry in access:
        assert entry["actor"] == "user:claire (token:matrix)"
        assert entry["action"] == "accessed"
        assert entry["what"] == f"original of item {uid}"
        assert entry["reason"] == WHY
        assert entry["case"] == "case-one" and entry["item"] == uid
        event = json.loads(b64(entry["canonical"]))
        assert event["type"] == "accessed" and event["details"]["reason"] == WHY
        assert event["at"] == entry["at"]
        proven_in_the_log(client, entry)
    assert len({e["log_index"] for e in access}) == 3
    # The case's report lists the same events, with the same bytes.
    report = after_creation(client.get("/api/v1/cases/case-one/access", headers=legal).json)
    assert [e["canonical"] for e in report if e["item"] == uid] == [e["canonical"] for e in access]
    # The custody record holds them too, chained with the rest.
    custody = client.get(f"/api/v1/items/{uid}/custody", headers=legal).json
    assert [e["event_hash"] for e in custody if e["type"] == "accessed"] == [
        e["event_hash"] for e in access
    ]


def test_exports_searches_similar_and_reveals_are_recorded_once_per_request(
    app: Flask, client: FlaskClient, auth: dict[str, str], two_cases: dict[str, str]
) -> None:
    arc: Archive = app.extensions["temoin"]
    investigator = {**token_for(arc, "investigator", name="ana"), **why()}
    uid = two_cases["case-one"]
    for _ in range(2):  # a second testimony, so a search finds several items
        make_testimony(client, auth, two_cases["case-one person"])
    before = after_creation(client.get("/api/v1/cases/case-one/access", headers=investigator).json)
    assert before == []

    assert client.get(f"/api/v1/items/{uid}/bundle", headers=investigator).status_code == 200
    hits = client.get(
        "/api/v1/search?q=soldiers&case=case-one&kind=testimony&tag=moura", headers=investigator
    ).json
    assert hits["total"] == 3  # three results, one event
    unexplained = {k: v for k, v in investigator.items() if k != "X-Temoin-Reason"}
    assert (
        client.get("/api/v1/search?q=tailor&case=case-one", headers=unexplained).status_code == 200
    )
    assert client.get(f"/api/v1/items/{uid}/similar", headers=investigator).status_code == 200
    person = two_cases["case-one person"]
    reveal = client.post(
        f"/api/v1/cases/case-one/persons/{person}/reveal", json={}, headers=investigator
    )
    assert reveal.status_code == 200 and reveal.json["names"] == ["Hamadoun Traoré"]

    report = after_creation(client.get("/api/v1/cases/case-one/access", headers=investigator).json)
    assert [(e["action"], e["details"]["what"]) for e in report] == [
        ("exported", "evidence bundle"),
        ("accessed", "restricted search"),
        ("accessed", "restricted search"),
        ("accessed", "similar items"),
        ("accessed", "protected identity"),
    ]
    assert all(e["actor"] == "user:ana (token:matrix)" for e in report)
    assert [e["reason"] for e in report] == [WHY, WHY, None, WHY, WHY]
    search = report[1]
    assert search["details"]["query"] == "soldiers"
    assert search["details"]["cases"] == ["case-one"]
    assert search["details"]["filters"]["kind"] == "testimony"
    assert search["details"]["filters"]["tags"] == ["moura"]
    assert search["what"] == 'restricted search of case-one: "soldiers"'
    assert search["item"] is None
    assert report[3]["item"] == uid
    assert report[4]["what"] == f"identity of Witness A ({person})"
    assert "Hamadoun" not in json.dumps(report)  # the reveal records the pseudonym only
    for entry in report:
        proven_in_the_log(client, entry)
    # The item's own access list: its export (searches are the case's).
    assert [e["action"] for e in client.get(f"/api/v1/items/{uid}/access", headers=auth).json] == [
        "exported"
    ]
    # The public search is never recorded.
    client.get("/api/v1/search?q=soldiers")
    assert len(after_creation(client.get("/api/v1/cases/case-one/access", headers=auth).json)) == 5


def test_a_search_of_every_case_is_one_event_in_every_case_report(
    client: FlaskClient, auth: dict[str, str], two_cases: dict[str, str], app: Flask
) -> None:
    """The admin holds both cases: an unfiltered search covers both, and is recorded once,
    in the archive-wide access record, naming both."""
    assert client.get("/api/v1/search?q=soldiers", headers={**auth, **why()}).status_code == 200
    one = after_creation(client.get("/api/v1/cases/case-one/access", headers=auth).json)
    two = after_creation(client.get("/api/v1/cases/case-two/access", headers=auth).json)
    assert len(one) == len(two) == 1 and one == two
    assert one[0]["details"]["cases"] == ["case-one", "case-two"]
    assert one[0]["case"] == "_archive"
    arc: Archive = app.extensions["temoin"]
    with arc.db.sessions() as session:
        record = session.scalars(select(Item).where(Item.seed_key == ARCHIVE_ACCESS)).one()
        assert record.kind == "log_record"


def test_reports_filter_by_time_and_page_by_log_index(
    client: FlaskClient, auth: dict[str, str], two_cases: dict[str, str]
) -> None:
    uid = two_cases["case-one"]
    for n in range(5):
        client.get(f"/api/v1/items/{uid}", headers={**auth, **why(f"{WHY}, read {n}")})
    url = "/api/v1/cases/case-one/access"
    everything = after_creation(client.get(url, headers=auth).json)
    assert [e["reason"][-6:] for e in everything] == [f"read {n}" for n in range(5)]
    first = after_creation(client.get(f"{url}?limit=2", headers=auth).json)
    rest = after_creation(
        client.get(f"{url}?after={first[-1]['log_index']}&limit=10", headers=auth).json
    )
    assert first + rest == everything
    third = everything[2]["at"]
    since = after_creation(client.get(url, query_string={"since": third}, headers=auth).json)
    assert since == everything[2:]
    until = after_creation(client.get(url, query_string={"until": third}, headers=auth).json)
    assert until == everything[:2]
    assert (
        after_creation(client.get(f"{url}?since=2000-01-01&until=2000-01-02", headers=auth).json)
        == []
    )
    today = everything[0]["at"][:10]
    assert (
        after_creation(client.get(f"{url}?since={today}&until={today}", headers=auth).json)
        == everything
    )
    for bad in ("since=yesterday", "until=2024-13-01", "since=2024-02-02&until=2024-02-01"):
        response = client.get(f"{url}?{bad}", headers=auth)
        assert response.status_code == 422, bad
        assert response.json["errors"]["query"]


def test_access_reports_are_for_the_case_s_legal_and_investigators_only(
    app: Flask, client: FlaskClient, auth: dict[str, str], two_cases: dict[str, str]
) -> None:
    arc: Archive = app.extensions["temoin"]
    uid, other = two_cases["case-one"], two_cases["case-two"]
    client.get(f"/api/v1/items/{other}", headers={**auth, **why()})
    for role in ("investigator", "legal"):
        headers = token_for(arc, role)
        assert client.get(f"/api/v1/items/{uid}/access", headers=headers).status_code == 200
        assert client.get(f"/api/v1/items/{other}/access", headers=headers).status_code == 404
        assert client.get("/api/v1/cases/case-two/access", headers=headers).status_code == 404
        assert client.get("/api/v1/items/nope/access", headers=headers).status_code == 404
    assert client.get(f"/api/v1/items/{uid}/access").status_code == 401
    assert client.get("/api/v1/cases/case-one/access").status_code == 401
    # An admin, too, sees a case's report only through a grant on it.
    admin = token_for(arc, "admin", granted=(), name="second admin")
    assert client.get(f"/api/v1/items/{uid}/access", headers=admin).status_code == 404


# ---- user administration through the API --------------------------------------------------


def test_admins_manage_users_grants_and_tokens(
    app: Flask, client: FlaskClient, auth: dict[str, str], two_cases: dict[str, str]
) -> None:
    added = client.post("/api/v1/users", json={"name": "amina", "role": "legal"}, headers=auth)
    assert added.status_code == 201
    assert added.json == {
        "name": "amina",
        "role": "legal",
        "state": "active",
        "cases": [],
        "created_at": added.json["created_at"],
        "disabled_at": None,
    }
    again = client.post("/api/v1/users", json={"name": "amina", "role": "legal"}, headers=auth)
    assert again.status_code == 409 and again.json["errors"] == {"name": ["already exists"]}
    for bad in ({"name": "a/b", "role": "legal"}, {"name": "x", "role": "judge"}, {}):
        assert client.post("/api/v1/users", json=bad, headers=auth).status_code == 422, bad

    issued = client.post(
        "/api/v1/users/amina/tokens", json={"name": "laptop"}, headers={**auth, **why()}
    )
    assert issued.status_code == 201
    secret = issued.json["token"]
    assert secret.startswith("tmn_") and issued.json["state"] == "active"
    assert issued.json["expires_at"] is not None
    amina = {"Authorization": f"Bearer {secret}", **why()}
    item = f"/api/v1/items/{two_cases['case-one']}"
    assert client.get(item, headers=amina).status_code == 404  # no grant yet

    granted = client.put("/api/v1/users/amina/grants/case-one", headers=auth)
    assert granted.status_code == 200 and granted.json["cases"] == ["case-one"]
    assert client.put("/api/v1/users/amina/grants/case-one", headers=auth).status_code == 200
    assert client.get(item, headers=amina).status_code == 200
    assert client.put("/api/v1/users/amina/grants/no-case", headers=auth).status_code == 404
    assert client.put("/api/v1/users/amina/grants/_archive", headers=auth).status_code == 404
    assert client.put("/api/v1/users/nobody/grants/case-one", headers=auth).status_code == 404

    listed = client.get("/api/v1/users/amina/tokens", headers=auth).json
    assert [t["name"] for t in listed] == ["laptop"]
    assert all(
        set(t) == {"id", "name", "state", "created_at", "expires_at", "revoked_at"} for t in listed
    )
    assert secret not in client.get("/api/v1/users/amina/tokens", headers=auth).text
    users = client.get("/api/v1/users", headers=auth).json
    assert {u["name"]: u["cases"] for u in users}["amina"] == ["case-one"]
    assert client.get("/api/v1/users/amina", headers=auth).json["role"] == "legal"

    revoked = client.delete("/api/v1/users/amina/grants/case-one", headers=auth)
    assert revoked.status_code == 200 and revoked.json["cases"] == []
    assert client.get(item, headers=amina).status_code == 404
    client.put("/api/v1/users/amina/grants/case-one", headers=auth)

    token_id = listed[0]["id"]
    gone = client.delete(f"/api/v1/users/amina/tokens/{token_id}", headers=auth)
    assert gone.status_code == 200 and gone.json["state"] == "revoked"
    assert client.get(item, headers=amina).status_code == 401
    assert client.delete(f"/api/v1/users/amina/tokens/{token_id}", headers=auth).status_code == 200
    assert client.delete(f"/api/v1/users/admin/tokens/{token_id}", headers=auth).status_code == 404

    # The secret exists nowhere in the database; its SHA-256 does.
    arc: Archive = app.extensions["temoin"]
    with arc.db.engine.connect() as conn:
        dump = "\n".join(repr(tuple(r)) for r in conn.exec_driver_sql("SELECT * FROM api_tokens"))
    assert secret not in dump and hashlib.sha256(secret.encode()).hexdigest() in dump


def test_the_admin_bootstrap_token_can_be_revoked_through_the_api(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    """(Issue a new admin token first, or lose the API: the CLI remains.)"""
    new = client.post(
        "/api/v1/users/admin/tokens", json={"name": "ops", "expires_in_days": 7}, headers=auth
    ).json
    assert client.delete("/api/v1/users/admin/tokens/1", headers=auth).status_code == 200
    assert client.get("/api/v1/users", headers=auth).status_code == 401
    ops = {"Authorization": f"Bearer {new['token']}"}
    assert client.get("/api/v1/users", headers=ops).status_code == 200


def test_token_expiry_is_required_and_bounded(client: FlaskClient, auth: dict[str, str]) -> None:
    client.post("/api/v1/users", json={"name": "bob", "role": "investigator"}, headers=auth)
    url = "/api/v1/users/bob/tokens"
    default = client.post(url, json={"name": "a"}, headers=auth).json
    created = default["created_at"][:10]
    assert default["expires_at"][:10] > created
    for body, field in (
        ({"name": "b", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "b", "expires_at": "2999-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "b", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "b", "expires_in_days": 3, "expires_at": "2030-01-01T00:00:00Z"}, None),
        ({"name": "b", "expires_at": "2030-01-01T00:00:00"}, "expires_at"),
        ({"name": ""}, "name"),
    ):
        response = client.post(url, json=body, headers=auth)
        assert response.status_code == 422, body
        errors = response.json["errors"]
        if field:
            assert field in errors or field in errors.get("json", {}), (body, errors)


def test_an_expired_token_is_refused(app: Flask, client: FlaskClient, two_cases) -> None:
    import datetime as dt

    from archive.services import users

    arc: Archive = app.extensions["temoin"]
    with arc.db.writer_session() as session:
        user = users.add_user(session, name="late", role="legal")
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        _row, secret = users.new_token(session, user, name="old", expires_at=past)
        session.commit()
    response = client.get(
        "/api/v1/cases/case-one/access", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 401
    assert response.json["message"] == "the bearer token is not valid"
    listed = client.get("/api/v1/users/late/tokens", headers={"Authorization": "Bearer x"})
    assert listed.status_code == 401


def test_a_disabled_user_s_tokens_stop_working(
    client: FlaskClient, auth: dict[str, str], two_cases: dict[str, str]
) -> None:
    client.post("/api/v1/users", json={"name": "omar", "role": "investigator"}, headers=auth)
    client.put("/api/v1/users/omar/grants/case-one", headers=auth)
    secrets = [
        client.post("/api/v1/users/omar/tokens", json={"name": n}, headers=auth).json["token"]
        for n in ("one", "two")
    ]
    for secret in secrets:
        assert (
            client.get(
                "/api/v1/cases/case-one/persons", headers={"Authorization": f"Bearer {secret}"}
            ).status_code
            == 200
        )
    disabled = client.post("/api/v1/users/omar/disable", headers={**auth, **why()})
    assert disabled.status_code == 200 and disabled.json["state"] == "disabled"
    for secret in secrets:
        assert (
            client.get(
                "/api/v1/cases/case-one/persons", headers={"Authorization": f"Bearer {secret}"}
            ).status_code
            == 401
        )
    assert {t["state"] for t in client.get("/api/v1/users/omar/tokens", headers=auth).json} == {
        "revoked"
    }
    refused = client.post("/api/v1/users/omar/tokens", json={"name": "three"}, headers=auth)
    assert refused.status_code == 409
    assert client.post("/api/v1/users/omar/disable", headers=auth).status_code == 200


def test_the_last_active_admin_cannot_be_disabled(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    refused = client.post("/api/v1/users/admin/disable", headers=auth)
    assert refused.status_code == 409 and "last active administrator" in refused.json["message"]
    client.post("/api/v1/users", json={"name": "deputy", "role": "admin"}, headers=auth)
    assert client.post("/api/v1/users/deputy/disable", headers=auth).status_code == 200
    assert client.post("/api/v1/users/admin/disable", headers=auth).status_code == 409


def test_every_change_of_access_is_a_signed_event(
    app: Flask, client: FlaskClient, auth: dict[str, str], two_cases: dict[str, str]
) -> None:
    client.post("/api/v1/users", json={"name": "amina", "role": "legal"}, headers=auth)
    client.put("/api/v1/users/amina/grants/case-one", headers={**auth, **why()})
    token = client.post("/api/v1/users/amina/tokens", json={"name": "laptop"}, headers=auth).json
    client.delete(f"/api/v1/users/amina/tokens/{token['id']}", headers=auth)
    client.delete("/api/v1/users/amina/grants/case-one", headers=auth)
    client.post("/api/v1/users/amina/disable", headers={**auth, **why("left the legal team")})
    # no change, no event
    client.put("/api/v1/users/amina/grants/case-two", headers=auth)
    client.delete(f"/api/v1/users/amina/tokens/{token['id']}", headers=auth)

    arc: Archive = app.extensions["temoin"]
    with arc.db.sessions() as session:
        record = session.scalars(select(Item).where(Item.seed_key == ACCESS_ADMIN)).one()
        rows = session.scalars(
            select(CustodyEvent).where(CustodyEvent.item_id == record.id).order_by(CustodyEvent.seq)
        ).all()
    created = [json.loads(r.canonical) for r in rows[:2]]
    assert [
        (e["details"]["case"], e["details"]["user"], e["details"]["reason"]) for e in created
    ] == [
        ("case-one", "admin", CREATED),
        ("case-two", "admin", CREATED),
    ]
    rows = rows[2:]
    events = [json.loads(r.canonical) for r in rows]
    assert [e["details"]["change"] for e in events] == [
        "user_added",
        "grant_added",
        "token_issued",
        "token_revoked",
        "grant_revoked",
        "user_disabled",
    ]
    assert {e["type"] for e in events} == {"access_changed"}
    assert {e["case"] for e in events} == {"_archive"}
    assert {e["actor"] for e in events} == {"user:admin (token:bootstrap admin)"}
    assert events[1]["details"] == {
        "change": "grant_added",
        "user": "amina",
        "case": "case-one",
        "reason": WHY,
    }
    assert events[2]["details"]["token"] == {
        "id": token["id"],
        "name": "laptop",
        "expires_at": token["expires_at"].replace("+00:00", "Z"),
    }
    assert events[5]["details"]["reason"] == "left the legal team"
    assert all(token["token"] not in r.canonical.decode() for r in rows)
    verifier = arc.signing_key.verifier()
    for row, event in zip(rows, events, strict=True):
        verify_event_signature(
            SignedEvent(event=event, key_id=row.key_id, signature=row.signature),
            {verifier.key_id_hex: verifier},
        )
    # Grants given and taken away show in the case's own report.
    report = after_creation(client.get("/api/v1/cases/case-one/access", headers=auth).json)
    assert [e["action"] for e in report] == ["grant_added", "grant_revoked"]
    assert report[0]["what"] == "grant_added: user amina on case case-one"


# ---- nobody erases the record -------------------------------------------------------------


def _all_events(arc: Archive) -> dict[int, bytes]:
    with arc.db.sessions() as session:
        return dict(session.execute(select(CustodyEvent.log_index, CustodyEvent.canonical)).all())


def test_no_route_lets_an_admin_erase_an_access_event(
    app: Flask, client: FlaskClient, auth: dict[str, str], two_cases: dict[str, str]
) -> None:
    """Call every route with every method as the admin (granted both cases, a reason given):
    every event recorded before is still there, byte for byte, and the audit passes."""
    from archive.services.audit import audit

    uid = two_cases["case-one"]
    client.get(f"/api/v1/items/{uid}", headers={**auth, **why()})
    client.get("/api/v1/search?q=tailor&case=case-one", headers={**auth, **why()})
    client.post("/api/v1/users", json={"name": "target", "role": "legal"}, headers=auth)
    client.put("/api/v1/users/target/grants/case-one", headers=auth)
    token = client.post("/api/v1/users/target/tokens", json={"name": "t"}, headers=auth).json
    arc: Archive = app.extensions["temoin"]
    before = _all_events(arc)
    values = {"slug": "case-one", "uid": uid, "name": "target", "size": "1"}
    values["token_id"] = str(token["id"])
    for rule in app.url_map.iter_rules():
        path = rule.rule
        for arg in rule.arguments:
            value = (
                two_cases["case-one person"]
                if rule.endpoint.startswith("cases.Person") and arg == "uid"
                else values.get(arg, "style.css")
            )
            path = (
                path.replace(f"<{arg}>", value)
                .replace(f"<int:{arg}>", value)
                .replace(f"<path:{arg}>", value)
            )
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, json={}, headers={**auth, **why()})
            assert response.status_code < 500, (method, path)
    after = _all_events(arc)
    assert all(after.get(index) == canonical for index, canonical in before.items())
    assert len(after) > len(before)
    assert audit(arc).ok


def test_the_database_refuses_to_change_or_delete_an_access_event(
    app: Flask, client: FlaskClient, auth: dict[str, str], two_cases: dict[str, str]
) -> None:
    from sqlalchemy.exc import DBAPIError

    from archive.models import AppendOnlyViolation

    client.get(f"/api/v1/items/{two_cases['case-one']}", headers={**auth, **why()})
    arc: Archive = app.extensions["temoin"]
    with arc.db.sessions() as session:
        index = session.scalar(
            select(func.max(CustodyEvent.log_index)).where(CustodyEvent.type == "accessed")
        )
    statements = [
        f"DELETE FROM custody_events WHERE log_index = {index}",
        "DELETE FROM custody_events",
        f"UPDATE custody_events SET type = 'verified' WHERE log_index = {index}",
        f"UPDATE custody_events SET actor = 'nobody' WHERE log_index = {index}",
    ]
    if arc.db.engine.dialect.name == "postgresql":
        statements.append("TRUNCATE custody_events")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), arc.db.engine.begin() as conn:
            conn.exec_driver_sql(statement)
    with arc.db.transaction() as session:
        row = session.scalars(select(CustodyEvent).where(CustodyEvent.log_index == index)).one()
        session.delete(row)
        with pytest.raises(AppendOnlyViolation):
            session.flush()
        session.rollback()
    assert index in _all_events(arc)


def test_an_event_deleted_behind_the_archive_s_back_is_named_by_the_audit(
    app: Flask, client: FlaskClient, auth: dict[str, str], two_cases: dict[str, str]
) -> None:
    """Even a database owner who drops the trigger can't erase a look silently."""
    from archive.services.audit import audit

    client.get(f"/api/v1/items/{two_cases['case-one']}", headers={**auth, **why()})
    client.get(f"/api/v1/items/{two_cases['case-two']}", headers={**auth, **why()})
    arc: Archive = app.extensions["temoin"]
    assert audit(arc).ok
    with arc.db.sessions() as session:
        first = session.scalar(
            select(func.min(CustodyEvent.log_index)).where(CustodyEvent.type == "accessed")
        )
    with arc.db.engine.begin() as conn:
        if arc.db.engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER custody_events_no_delete")
        else:
            conn.exec_driver_sql("DROP TRIGGER custody_events_append_only ON custody_events")
        conn.exec_driver_sql(f"DELETE FROM custody_events WHERE log_index = {first}")
    report = audit(arc)
    assert not report.ok
    assert any(f"index {first}" in str(f) for f in report.findings), report.findings


def test_the_openapi_document_describes_reasons_reports_and_administration(
    client: FlaskClient,
) -> None:
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    for path, method in (
        ("/api/v1/items/{uid}/access", "get"),
        ("/api/v1/cases/{slug}/access", "get"),
        ("/api/v1/users", "get"),
        ("/api/v1/users", "post"),
        ("/api/v1/users/{name}", "get"),
        ("/api/v1/users/{name}/disable", "post"),
        ("/api/v1/users/{name}/grants/{slug}", "put"),
        ("/api/v1/users/{name}/grants/{slug}", "delete"),
        ("/api/v1/users/{name}/tokens", "get"),
        ("/api/v1/users/{name}/tokens", "post"),
        ("/api/v1/users/{name}/tokens/{token_id}", "delete"),
    ):
        assert method in paths[path], (path, method)

    def reason_of(path: str) -> dict:
        (param,) = [p for p in paths[path].get("parameters", []) if p["name"] == "X-Temoin-Reason"]
        assert param["in"] == "header" and param["schema"]["minLength"] == 10
        return param

    assert reason_of("/api/v1/items/{uid}/bundle")["required"] is True
    for path in (
        "/api/v1/items/{uid}",
        "/api/v1/search",
        "/api/v1/items/{uid}/similar",
        "/api/v1/cases/{slug}/persons/{uid}/reveal",
        "/api/v1/users/{name}/grants/{slug}",
    ):
        assert reason_of(path)["required"] is False
    assert "400" in paths["/api/v1/items/{uid}"]["get"]["responses"]
    token = spec["components"]["schemas"]["Token"]["properties"]
    assert "token" not in token and "token_hash" not in token
    assert "token" in spec["components"]["schemas"]["IssuedToken"]["properties"]
    user = spec["components"]["schemas"]["User"]["properties"]
    assert "password_hash" not in user


def test_a_case_s_report_reads_an_older_identities_record_too(
    app: Flask, client: FlaskClient, auth: dict[str, str], two_cases: dict[str, str]
) -> None:
    """Reveals recorded before the access record took its present name still show."""
    from archive.services.cases import get_case
    from archive.services.custody import append_event
    from archive.services.keys import system_item

    arc: Archive = app.extensions["temoin"]
    with arc.unit_of_work() as session:
        case = get_case(session, "case-one")
        old = system_item(
            arc,
            session,
            case,
            key="_identities/case-one",
            title="Access to protected identities",
            charter={"purpose": "reveals of protected identities", "case": "case-one"},
        )
        append_event(
            arc,
            session,
            old,
            "accessed",
            actor="user:old",
            details={"what": "protected identity", "pseudonym": "Witness A", "reason": WHY},
        )
    report = after_creation(client.get("/api/v1/cases/case-one/access", headers=auth).json)
    assert [(e["actor"], e["what"]) for e in report] == [("user:old", "identity of Witness A")]
