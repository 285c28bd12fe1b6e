"""Every route names its action in `archive.services.access`; this enforces it.

`ROUTE_RULES` maps each endpoint and method to one action. The check runs before the
view (and so before input validation): an anonymous caller learns nothing about a
protected route's input. An endpoint without a rule is refused, and
`tests/functional/test_access_matrix.py` fails on it, so no new route is left open.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import request
from sqlalchemy import select

from archive.errors import Forbidden, NotFound, Unauthorized
from archive.models import Case, CaseGrant, Item
from archive.services.access import ACTIONS, PUBLIC, SIGNED_IN, allowed
from archive.services.users import has_grant
from archive.web.auth import Principal, current_principal
from archive.web.context import read_session

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Rule:
    """A route's action; `anonymous` routes also serve the public (a narrower view)."""

    action: str
    anonymous: bool = False


OPEN = Rule(action=PUBLIC)


def _needs(action: str) -> Rule:
    return Rule(action=action)


def _public_or(action: str) -> Rule:
    """Anonymous callers get the public view; a token must allow `action` for the full one."""
    return Rule(action=action, anonymous=True)


ROUTE_RULES: dict[str, dict[str, Rule]] = {
    # the public site, its assets and the API description
    "static": {"GET": OPEN},
    "pages.static": {"GET": OPEN},
    "pages.home": {"GET": OPEN},
    "pages.search_page": {"GET": OPEN},
    "pages.record": {"GET": OPEN},
    "pages.verify": {"GET": OPEN},
    "pages.log": {"GET": OPEN},
    "api-docs.openapi_json": {"GET": OPEN},
    # signing in and out: each step checks the half-signed-in session itself
    "signin.login": {"GET": OPEN, "POST": OPEN},
    "signin.logout": {"POST": OPEN},
    "signin.new_password": {"GET": OPEN, "POST": OPEN},
    "signin.second_factor": {"GET": OPEN, "POST": OPEN},
    "signin.enrol": {"GET": OPEN, "POST": OPEN},
    # a signed-in user's own pages
    "signin.desk": {"GET": _needs(SIGNED_IN)},
    "signin.account": {"GET": _needs(SIGNED_IN), "POST": _needs(SIGNED_IN)},
    # the desk: a case's people and items, intake, an item, its redaction review
    "desk.case": {"GET": _needs("person.list")},
    "desk.new_person": {"GET": _needs("person.register"), "POST": _needs("person.register")},
    "desk.add_aliases": {"GET": _needs("person.alias"), "POST": _needs("person.alias")},
    "desk.reveal": {"GET": _needs("person.reveal"), "POST": _needs("person.reveal")},
    "desk.new_testimony": {"GET": _needs("item.ingest"), "POST": _needs("item.ingest")},
    "desk.new_excerpt": {"GET": _needs("item.ingest"), "POST": _needs("item.ingest")},
    "desk.new_exhibit": {"GET": _needs("item.ingest"), "POST": _needs("item.ingest")},
    "desk.item": {"GET": _needs("item.custody")},
    "desk.open_original": {"POST": _needs("item.read_original")},
    "desk.original_file": {"GET": _needs("item.read_original")},
    "desk.bundle": {"POST": _needs("item.bundle")},
    "desk.review": {"GET": _needs("redaction.read"), "POST": _needs("redaction.review")},
    "desk.publish": {"POST": _needs("item.publish")},
    # is this file a published exhibit? (unpublished ones answer like unknown digests)
    "exhibits.ExhibitByDigest": {"GET": OPEN},
    # the custody log: hashes, proofs and verifier keys only
    "log.LatestCheckpoint": {"GET": OPEN},
    "log.CheckpointAtSize": {"GET": OPEN},
    "log.Inclusion": {"GET": OPEN},
    "log.Consistency": {"GET": OPEN},
    "log.Keys": {"GET": OPEN},
    # cases and protected persons
    "cases.Cases": {"GET": OPEN, "POST": _needs("case.create")},
    "cases.CaseDetail": {"GET": OPEN},
    "cases.Persons": {"GET": _needs("person.list"), "POST": _needs("person.register")},
    "cases.PersonAliases": {"PATCH": _needs("person.alias")},
    "cases.PersonReveal": {"POST": _needs("person.reveal")},
    "cases.Testimonies": {"POST": _needs("item.ingest")},
    "cases.Excerpts": {"POST": _needs("item.ingest")},
    "cases.Exhibits": {"POST": _needs("item.ingest")},
    "cases.CaseItems": {"GET": _public_or("item.read_original")},
    "cases.CaseAccess": {"GET": _needs("access.report")},
    # items
    "items.ItemDetail": {"GET": _public_or("item.read_original")},
    "items.ItemCustody": {"GET": _needs("item.custody")},
    "items.ItemAccess": {"GET": _needs("access.report")},
    "items.ItemBundle": {"GET": _needs("item.bundle")},
    "items.ItemPublicBundle": {"GET": OPEN},
    "items.ItemPublish": {"POST": _needs("item.publish")},
    "items.ItemRedaction": {"GET": _needs("redaction.read"), "POST": _needs("redaction.review")},
    "items.ItemSimilar": {"GET": _needs("item.similar")},
    # search: the public index anonymously, the restricted one with a token
    "search.Search": {"GET": _public_or("search.restricted")},
    # administration: users, their grants and tokens
    "users.Users": {"GET": _needs("user.manage"), "POST": _needs("user.manage")},
    "users.UserDetail": {"GET": _needs("user.manage")},
    "users.UserDisable": {"POST": _needs("user.manage")},
    "users.UserGrant": {"PUT": _needs("grant.manage"), "DELETE": _needs("grant.manage")},
    "users.UserTokens": {"GET": _needs("user.manage"), "POST": _needs("user.manage")},
    "users.UserToken": {"DELETE": _needs("user.manage")},
}

_unknown = {r.action for m in ROUTE_RULES.values() for r in m.values()} - ACTIONS
if _unknown:  # a typo in an action must fail at import, not open or close a route silently
    raise RuntimeError(f"route rules name unknown actions: {sorted(_unknown)}")


def rule_for(endpoint: str, method: str) -> Rule | None:
    if method == "OPTIONS":
        return OPEN
    methods = ROUTE_RULES.get(endpoint, {})
    return methods.get("GET" if method == "HEAD" else method)


def enforce_route_rule() -> None:
    """`before_request`: refuse what the caller's role does not allow."""
    endpoint = request.endpoint
    if endpoint is None:
        return  # no route matched: the router answers 404 or 405
    rule = rule_for(endpoint, request.method)
    if rule is None:
        log.error("no access rule for %s %s: refused", request.method, endpoint)
        raise NotFound("not found")
    if rule.action == PUBLIC:
        return
    principal = current_principal()  # a bad token is refused here, even on a public view
    if principal is None:
        if rule.anonymous:
            return
        if request.path.startswith("/api/"):
            raise Unauthorized("this route needs a bearer token (Authorization: Bearer <token>)")
        raise SignInNeeded("sign in to see this page")
    if not allowed(principal.role, rule.action):
        raise Forbidden(f"the {principal.role} role does not allow {rule.action}")
    _check_grant(principal, endpoint)


class SignInNeeded(Unauthorized):
    """A web page for signed-in users, asked for anonymously: the browser is sent to the
    sign-in page (and back afterwards)."""


def _check_grant(principal: Principal, endpoint: str) -> None:
    """Content of a case the caller holds no grant on does not exist for them: 404."""
    args = request.view_args or {}
    session = read_session()
    case_id: int | None = None
    if endpoint.startswith(("cases.", "desk.")) and "slug" in args:
        case_id = session.scalar(select(Case.id).where(Case.slug == args["slug"]))
    elif endpoint.startswith(("items.", "desk.")) and "uid" in args:
        case_id = session.scalar(select(Item.case_id).where(Item.uid == args["uid"]))
    elif endpoint == "search.Search" and request.args.get("scope") != "public":
        wanted = request.args.get("case")
        if wanted:
            case_id = session.scalar(select(Case.id).where(Case.slug == wanted))
        elif not granted_everywhere(principal):
            raise NotFound("a restricted search needs a case you hold a grant on (case=...)")
        else:
            return
    else:
        return
    user_id = principal.user_id
    if case_id is None or user_id is None or not has_grant(session, user_id, case_id):
        raise NotFound("not found")


def granted_everywhere(principal: Principal) -> bool:
    """Does the caller hold a grant on every case (so an unfiltered search leaks nothing)?"""
    user_id = principal.user_id
    if user_id is None:
        return False
    session = read_session()
    every = set(session.scalars(select(Case.id).where(~Case.slug.startswith("_", autoescape=True))))
    mine = set(session.scalars(select(CaseGrant.case_id).where(CaseGrant.user_id == user_id)))
    return every <= mine
