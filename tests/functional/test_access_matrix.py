"""Every route x every role, built from the URL map: no route is left without a rule.

A new endpoint with no entry in `archive.web.access.ROUTE_RULES` fails
`test_every_route_has_a_rule`; every ruled route is then called as each role and must
answer as `archive.services.access.PERMISSIONS` says.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from archive.services import cases, users
from archive.services.access import PERMISSIONS, PUBLIC, ROLES, allowed
from archive.services.runtime import Archive
from archive.web.access import ROUTE_RULES, Rule, rule_for
from tests.functional.test_api import make_case, make_testimony, make_witness
from tests.functional.web_session import signed_in_client

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, URL rule) for every route the application serves."""
    return sorted(
        (rule.endpoint, method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - IGNORED_METHODS
    )


def test_every_route_has_a_rule(app: Flask) -> None:
    unruled = [f"{m} {url} ({ep})" for ep, m, url in routes(app) if rule_for(ep, m) is None]
    assert unruled == [], "routes with no access rule in archive.web.access.ROUTE_RULES"


def test_every_rule_names_a_known_action_and_roles_are_complete() -> None:
    assert set(PERMISSIONS) == set(ROLES)
    for methods in ROUTE_RULES.values():
        for rule in methods.values():
            allowed(None, rule.action)  # raises KeyError on an unknown action


def test_legal_reads_but_edits_nothing() -> None:
    assert allowed("legal", "item.read_original")
    assert allowed("legal", "item.bundle")
    assert allowed("legal", "item.custody")
    for action in ("item.ingest", "item.publish", "redaction.review", "person.register"):
        assert not allowed("legal", action)
    assert not allowed(None, "item.read_original")


def token_for(
    arc: Archive, role: str, *, granted: tuple[str, ...] = ("case-one",), name: str = ""
) -> dict[str, str]:
    """A user of this role, granted these cases, and a bearer token of theirs."""
    with arc.db.writer_session() as session:
        user = users.add_user(session, name=name or f"matrix {role}", role=role)
        for slug in granted:
            users.grant(session, user, cases.get_case(session, slug))
        token = users.issue_token(session, user, name="matrix")
        session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(client: FlaskClient, auth: dict[str, str]) -> dict[str, str]:
    make_case(client, auth)
    person = make_witness(client, auth)
    item = make_testimony(client, auth, person["id"])
    return {"slug": "case-one", "uid": item["id"], "person": person["id"], "size": "1"}


def concrete(url: str, world: dict[str, str], endpoint: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(2)
        if name == "uid" and endpoint.startswith("cases.Person"):
            return world["person"]
        if name == "filename":
            return "style.css"
        return world[name]

    return re.sub(r"<(?:(\w+):)?(\w+)>", value, url)


def check_status(
    status: int, location: str, rule: Rule, role: str | None, path: str, where: str
) -> None:
    if rule.action == PUBLIC or allowed(role, rule.action):
        assert status not in (401, 403), where
    elif role is None and rule.anonymous:
        assert status not in (401, 403), where  # the public view, or 404
    elif role is None and not path.startswith("/api/"):
        # a page for signed-in users: the browser is sent to sign in, and back
        assert status == 303 and location.startswith("/login?next="), where
    elif role is None:
        assert status == 401, where
    else:
        assert status == 403, where


def test_matrix_of_routes_and_roles(app: Flask, client: FlaskClient, world: dict[str, str]) -> None:
    arc: Archive = app.extensions["temoin"]
    callers: dict[str | None, dict[str, str]] = {None: {}}
    for role in ROLES:
        callers[role] = token_for(arc, role)
    checked = 0
    for endpoint, method, url in routes(app):
        rule = rule_for(endpoint, method)
        assert rule is not None
        path = concrete(url, world, endpoint)
        for role, headers in callers.items():
            # An empty JSON body: an allowed caller may get 422, never 401 or 403.
            response = client.open(path, method=method, headers=headers, json={})
            where = f"{method} {path} as {role or 'anonymous'}: {response.status_code}"
            location = response.headers.get("Location", "")
            check_status(response.status_code, location, rule, role, path, where)
            checked += 1
    assert checked >= 4 * 25


def test_matrix_for_signed_in_web_sessions(app: Flask, world: dict[str, str]) -> None:
    """A browser signed in as each role meets the same table and grants as a token on the
    pages; on the API a session cookie counts for nothing (bearer tokens only)."""
    arc: Archive = app.extensions["temoin"]
    browsers = {role: signed_in_client(app, arc, role, granted=("case-one",)) for role in ROLES}
    checked = 0
    for endpoint, method, url in routes(app):
        rule = rule_for(endpoint, method)
        assert rule is not None
        path = concrete(url, world, endpoint)
        for role, browser in browsers.items():
            response = browser.open(path, method=method, json={})
            acting_as = None if path.startswith("/api/") else role
            where = f"{method} {path} as {role} (web session): {response.status_code}"
            location = response.headers.get("Location", "")
            check_status(response.status_code, location, rule, acting_as, path, where)
            checked += 1
    assert checked >= 3 * 25


def test_another_case_does_not_exist_for_an_investigator(
    app: Flask, client: FlaskClient, auth: dict[str, str], world: dict[str, str]
) -> None:
    """Granted case-one only: case-two's items and content answer 404, never 403."""
    make_case(client, auth, slug="case-two")
    person = make_witness(client, auth, slug="case-two")
    other = make_testimony(client, auth, person["id"], slug="case-two")["id"]
    arc: Archive = app.extensions["temoin"]
    for role in ("investigator", "legal"):
        headers = token_for(arc, role)
        for path in (
            f"/api/v1/items/{other}",
            f"/api/v1/items/{other}/custody",
            f"/api/v1/items/{other}/bundle",
            f"/api/v1/items/{other}/redaction",
            f"/api/v1/items/{other}/similar",
            "/api/v1/cases/case-two/persons",
            "/api/v1/cases/case-two/items",
            "/api/v1/search?q=soldiers&case=case-two",
            "/api/v1/search?q=soldiers",
        ):
            assert client.get(path, headers=headers).status_code == 404, (role, path)
        own = world["uid"]
        assert client.get(f"/api/v1/items/{own}", headers=headers).status_code == 200
        assert client.get(f"/api/v1/items/{own}/bundle", headers=headers).status_code == 200
        hits = client.get("/api/v1/search?q=soldiers&case=case-one", headers=headers)
        assert hits.status_code == 200
        assert {h["case"] for h in hits.json["hits"]} <= {"case-one"}
    investigator = token_for(arc, "investigator", granted=(), name="nobody")
    assert (
        client.post("/api/v1/cases/case-two/testimonies", json={}, headers=investigator).status_code
        == 404
    )


def test_legal_reads_and_exports_but_cannot_edit(
    app: Flask, client: FlaskClient, world: dict[str, str]
) -> None:
    headers = token_for(app.extensions["temoin"], "legal")
    uid = world["uid"]
    assert client.get(f"/api/v1/items/{uid}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/items/{uid}/bundle", headers=headers).status_code == 200
    assert client.get(f"/api/v1/items/{uid}/custody", headers=headers).status_code == 200
    assert client.post(f"/api/v1/items/{uid}/publish", headers=headers).status_code == 403
    assert (
        client.post(f"/api/v1/items/{uid}/redaction", json={}, headers=headers).status_code == 403
    )
    events = client.get(f"/api/v1/items/{uid}/custody", headers=headers).json
    actors = [e["event"]["actor"] for e in events if e["event"]["type"] in ("accessed", "exported")]
    assert "user:matrix legal (token:matrix)" in actors
