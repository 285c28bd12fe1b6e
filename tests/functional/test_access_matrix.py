"""Every route x every role, built from the URL map: no route is left without a rule.

A new endpoint with no entry in `archive.web.access.ROUTE_RULES` fails
`test_every_route_has_a_rule`; every ruled route is then called as each role and must
answer as `archive.services.access.PERMISSIONS` says.
"""

from __future__ import annotations

import re
import secrets

import pytest
from flask import Flask
from flask.testing import FlaskClient

from archive.models import ApiToken
from archive.services.access import PERMISSIONS, PUBLIC, ROLES, allowed
from archive.services.runtime import Archive, token_hash
from archive.web.access import ROUTE_RULES, rule_for
from tests.functional.test_api import make_case, make_testimony, make_witness

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


def token_for(arc: Archive, role: str) -> dict[str, str]:
    token = secrets.token_urlsafe(32)
    with arc.db.writer_session() as session:
        session.add(ApiToken(name=f"matrix {role}", token_hash=token_hash(token), role=role))
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


def test_matrix_of_routes_and_roles(
    app: Flask, client: FlaskClient, world: dict[str, str]
) -> None:
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
            status = response.status_code
            where = f"{method} {path} as {role or 'anonymous'}: {status}"
            if rule.action == PUBLIC or allowed(role, rule.action):
                assert status not in (401, 403), where
            elif role is None and rule.anonymous:
                assert status not in (401, 403), where  # the public view, or 404
            elif role is None:
                assert status == 401, where
            else:
                assert status == 403, where
            checked += 1
    assert checked >= 4 * 25
