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
from archive.services.access import (
    ADMINISTRATION,
    CONTENT_READ,
    CONTENT_WRITE,
    PERMISSIONS,
    PUBLIC,
    ROLES,
    allowed,
)
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


REASON = {"X-Temoin-Reason": "matrix check of the access rules"}


@pytest.fixture
def world(app: Flask, client: FlaskClient, auth: dict[str, str]) -> dict[str, dict[str, str]]:
    """Two cases with a witness and a testimony each; callers will hold a grant on the first
    only. A user `target`, with a token, for the administration routes to act on."""
    places: dict[str, dict[str, str]] = {}
    for key, slug in (("own", "case-one"), ("other", "case-two")):
        make_case(client, auth, slug=slug)
        person = make_witness(client, auth, slug=slug)
        item = make_testimony(client, auth, person["id"], slug=slug)
        places[key] = {
            "slug": slug,
            "uid": item["id"],
            "person": person["id"],
            "size": "1",
            "digest": "sha256:" + "0" * 64,
        }
    arc: Archive = app.extensions["temoin"]
    with arc.db.writer_session() as session:
        target = users.add_user(session, name="target", role="investigator")
        token, _secret = users.new_token(session, target, name="to revoke")
        session.commit()
        for place in places.values():
            place.update(name="target", token_id=str(token.id))
    return places


def concrete(url: str, world: dict[str, str], endpoint: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(2)
        if name == "uid" and endpoint.startswith("cases.Person"):
            return world["person"]
        if name == "filename":
            return "style.css"
        return world[name]

    path = re.sub(r"<(?:(\w+):)?(\w+)>", value, url)
    if endpoint == "search.Search":  # a search names the case it searches
        path += f"?q=soldiers&case={world['slug']}"
    return path


CONTENT = CONTENT_READ | CONTENT_WRITE


def expected(rule: Rule, role: str | None, *, place: str, path: str, case_scoped: bool) -> str:
    """What the caller must get: "ok" (not 401, 403 or 404), "ok-or-404" (a public view of
    a record that may not be public), "401", "signin" (a page for signed-in users: the
    browser is sent to sign in, and back), "403" or "404" (another case's content)."""
    if rule.action == PUBLIC:
        return "ok-or-404"
    if role is None:
        if rule.anonymous:
            return "ok-or-404"
        return "401" if path.startswith("/api/") else "signin"
    if not allowed(role, rule.action):
        return "403"
    if place == "other" and rule.action in CONTENT and case_scoped:
        return "404"
    return "ok"


def check_status(status: int, location: str, want: str, where: str) -> None:
    if want == "ok":
        assert status not in (401, 403, 404), where
    elif want == "ok-or-404":
        assert status not in (401, 403), where
    elif want == "signin":
        assert status == 303 and location.startswith("/login?next="), where
    else:
        assert status == int(want), where
    assert status < 500, where


def test_matrix_of_routes_roles_and_cases(
    app: Flask, client: FlaskClient, world: dict[str, dict[str, str]]
) -> None:
    """Every route x every role x own case / another case, with bearer tokens."""
    arc: Archive = app.extensions["temoin"]
    callers: dict[str | None, dict[str, str]] = {None: {}}
    for role in ROLES:
        callers[role] = token_for(arc, role)
    checked = 0
    seen = set()
    for place in ("own", "other"):
        for endpoint, method, url in routes(app):
            rule = rule_for(endpoint, method)
            assert rule is not None
            path = concrete(url, world[place], endpoint)
            scoped = "<slug>" in url or "<uid>" in url or endpoint == "search.Search"
            for role, headers in callers.items():
                # An empty JSON body: an allowed caller may get 400 or 422, never 401 or 403.
                response = client.open(path, method=method, headers=headers, json={})
                want = expected(rule, role, place=place, path=path, case_scoped=scoped)
                where = f"{method} {path} as {role or 'anonymous'}: {response.status_code}"
                check_status(
                    response.status_code, response.headers.get("Location", ""), want, where
                )
                seen.add(want)
                checked += 1
    assert seen == {"ok", "ok-or-404", "401", "signin", "403", "404"}
    assert checked >= 2 * 4 * 35


def test_matrix_for_signed_in_web_sessions(app: Flask, world: dict[str, dict[str, str]]) -> None:
    """A browser signed in as each role meets the same table and grants as a token on the
    pages; on the API a session cookie counts for nothing (bearer tokens only)."""
    arc: Archive = app.extensions["temoin"]
    browsers = {role: signed_in_client(app, arc, role, granted=("case-one",)) for role in ROLES}
    checked = 0
    for place in ("own", "other"):
        for endpoint, method, url in routes(app):
            rule = rule_for(endpoint, method)
            assert rule is not None
            path = concrete(url, world[place], endpoint)
            scoped = "<slug>" in url or "<uid>" in url or endpoint == "search.Search"
            for role, browser in browsers.items():
                response = browser.open(path, method=method, json={})
                acting_as = None if path.startswith("/api/") else role
                want = expected(rule, acting_as, place=place, path=path, case_scoped=scoped)
                where = f"{method} {path} as {role} (web session): {response.status_code}"
                check_status(
                    response.status_code, response.headers.get("Location", ""), want, where
                )
                checked += 1
    assert checked >= 2 * 3 * 35


def test_administration_is_for_admins_only() -> None:
    for role in ("investigator", "legal"):
        for action in ADMINISTRATION:
            assert not allowed(role, action)
    for methods in (ROUTE_RULES[e] for e in ROUTE_RULES if e.startswith("users.")):
        assert all(rule.action in ADMINISTRATION for rule in methods.values())


def test_another_case_does_not_exist_for_an_investigator(
    app: Flask, client: FlaskClient, world: dict[str, dict[str, str]]
) -> None:
    """Granted case-one only: case-two's items, content and access report answer 404,
    never 403, whatever reason is given."""
    other = world["other"]["uid"]
    arc: Archive = app.extensions["temoin"]
    for role in ("investigator", "legal"):
        headers = {**token_for(arc, role), **REASON}
        for path in (
            f"/api/v1/items/{other}",
            f"/api/v1/items/{other}/custody",
            f"/api/v1/items/{other}/access",
            f"/api/v1/items/{other}/bundle",
            f"/api/v1/items/{other}/redaction",
            f"/api/v1/items/{other}/similar",
            "/api/v1/cases/case-two/persons",
            "/api/v1/cases/case-two/items",
            "/api/v1/cases/case-two/access",
            "/api/v1/search?q=soldiers&case=case-two",
            "/api/v1/search?q=soldiers",
        ):
            assert client.get(path, headers=headers).status_code == 404, (role, path)
        own = world["own"]["uid"]
        assert client.get(f"/api/v1/items/{own}", headers=headers).status_code == 200
        assert client.get(f"/api/v1/items/{own}/bundle", headers=headers).status_code == 200
        assert client.get(f"/api/v1/items/{own}/access", headers=headers).status_code == 200
        assert client.get("/api/v1/cases/case-one/access", headers=headers).status_code == 200
        hits = client.get("/api/v1/search?q=soldiers&case=case-one", headers=headers)
        assert hits.status_code == 200
        assert {h["case"] for h in hits.json["hits"]} <= {"case-one"}
    investigator = token_for(arc, "investigator", granted=(), name="nobody")
    assert (
        client.post("/api/v1/cases/case-two/testimonies", json={}, headers=investigator).status_code
        == 404
    )


def test_legal_reads_and_exports_but_cannot_edit(
    app: Flask, client: FlaskClient, world: dict[str, dict[str, str]]
) -> None:
    headers = {**token_for(app.extensions["temoin"], "legal"), **REASON}
    uid = world["own"]["uid"]
    person = world["own"]["person"]
    assert client.get(f"/api/v1/items/{uid}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/items/{uid}/bundle", headers=headers).status_code == 200
    assert client.get(f"/api/v1/items/{uid}/custody", headers=headers).status_code == 200
    assert client.get(f"/api/v1/items/{uid}/access", headers=headers).status_code == 200
    for method, path, body in (
        ("POST", f"/api/v1/items/{uid}/publish", None),
        ("POST", f"/api/v1/items/{uid}/redaction", {}),
        ("POST", "/api/v1/cases/case-one/persons", {"names": ["Some One"]}),
        ("PATCH", f"/api/v1/cases/case-one/persons/{person}", {"aliases": ["Someone"]}),
        ("POST", f"/api/v1/cases/case-one/persons/{person}/reveal", {}),
        ("POST", "/api/v1/cases/case-one/excerpts", {}),
        ("PUT", "/api/v1/users/target/grants/case-one", None),
    ):
        response = client.open(path, method=method, json=body, headers=headers)
        assert response.status_code == 403, (method, path)
    events = client.get(f"/api/v1/items/{uid}/custody", headers=headers).json
    actors = [e["event"]["actor"] for e in events if e["event"]["type"] in ("accessed", "exported")]
    assert actors.count("user:matrix legal (token:matrix)") == 2
