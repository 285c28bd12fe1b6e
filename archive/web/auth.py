"""Bootstrap access control: a bearer token guards every non-public route.

Replaced by users, roles and per-case grants in the access-control work.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from flask import g, request
from sqlalchemy import select

from archive.errors import Unauthorized
from archive.models import ApiToken
from archive.services.runtime import token_hash
from archive.web.context import read_session


def current_token() -> ApiToken | None:
    if "temoin_token" in g:
        token: ApiToken | None = g.temoin_token
        return token
    header = request.headers.get("Authorization", "")
    token = None
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        found = read_session().scalar(
            select(ApiToken).where(ApiToken.token_hash == token_hash(value.strip()))
        )
        if found is not None and _usable(found):
            token = found
        else:
            g.temoin_token = None
            raise Unauthorized("the bearer token is not valid")
    g.temoin_token = token
    return token


def _usable(token: ApiToken) -> bool:
    """Not revoked, not expired, and its user (if any) not disabled."""
    if token.revoked_at is not None:
        return False
    if token.expires_at is not None:
        expires = token.expires_at
        if expires.tzinfo is None:  # SQLite returns naive datetimes
            expires = expires.replace(tzinfo=dt.UTC)
        if expires <= dt.datetime.now(dt.UTC):
            return False
    return token.user is None or token.user.disabled_at is None


def require_token() -> ApiToken:
    token = current_token()
    if token is None:
        raise Unauthorized("this route needs a bearer token (Authorization: Bearer <token>)")
    return token


def actor_name(token: ApiToken) -> str:
    if token.user is not None:
        return f"user:{token.user.name} (token:{token.name})"
    return f"token:{token.name}"


def request_info() -> dict[str, str]:
    """Where a submission came from, for the `collected` event."""
    return {
        "remote_addr": request.remote_addr or "unknown",
        "user_agent": (request.user_agent.string or "")[:200],
        "received_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
    }


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Check the bearer token before anything else (input validation included),
    so an anonymous caller learns nothing about a protected route's input."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        require_token()
        return view(*args, **kwargs)

    return guarded
