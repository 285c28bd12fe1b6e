"""Who is calling: a bearer token, or a signed-in web session — one `Principal` either way.

`archive.web.access` checks the principal's role against the one authorisation table and
its user's grants, whichever way it authenticated.

- The API (`/api/...`) authenticates bearer tokens only; a session cookie is ignored there,
  so a page on another site cannot make a signed-in browser act through the API, and the
  API needs no CSRF token.
- Web pages accept a session cookie (their forms carry a CSRF token) or a bearer token.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import g, request
from flask import session as cookie
from sqlalchemy import select

from archive.errors import Unauthorized
from archive.models import ApiToken, User, WebSession
from archive.services import signin
from archive.services.runtime import token_hash
from archive.web.context import archive, read_session

log = logging.getLogger(__name__)

SESSION_KEY = "sid"  # the web session's secret, in Flask's signed session cookie


@dataclass(frozen=True, kw_only=True)
class Principal:
    """An authenticated caller: a user (or a user-less bootstrap token) and its role."""

    role: str
    user: User | None
    token: ApiToken | None = None
    web_session: WebSession | None = None

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None

    @property
    def via(self) -> str:
        return "token" if self.token is not None else "session"


def current_principal() -> Principal | None:
    """The caller, or None for the anonymous public. A bad bearer token is refused."""
    if "temoin_principal" in g:
        found: Principal | None = g.temoin_principal
        return found
    token = _bearer_token()
    principal: Principal | None = None
    if token is not None:
        role = token.user.role if token.user is not None else token.role
        principal = Principal(role=role, user=token.user, token=token)
    elif not request.path.startswith("/api/"):
        principal = _session_principal()
    g.temoin_principal = principal
    return principal


def _bearer_token() -> ApiToken | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    found = read_session().scalar(
        select(ApiToken).where(ApiToken.token_hash == token_hash(value.strip()))
    )
    if found is None or not _usable(found):
        g.temoin_principal = None
        raise Unauthorized("the bearer token is not valid")
    return found


def current_web_session() -> WebSession | None:
    """The live web session the cookie names (signed in or half-way), if any."""
    if "temoin_web_session" in g:
        found: WebSession | None = g.temoin_web_session
        return found
    secret = cookie.get(SESSION_KEY)
    web_session = None
    if isinstance(secret, str) and secret:
        web_session = signin.find_web_session(
            read_session(), secret, signin.SignInPolicy.from_settings(archive().settings)
        )
        if web_session is None:
            cookie.pop(SESSION_KEY, None)  # ended, expired or idle: forget it
        elif signin.needs_touch(web_session):
            _touch(web_session)
    g.temoin_web_session = web_session
    return web_session


def _touch(web_session: WebSession) -> None:
    """Record activity (for the idle timeout) at most once a minute."""
    arc = archive()
    try:
        with arc.db.transaction() as session:
            signin.touch_web_session(session, web_session.id)
    except Exception as exc:  # a busy database must not refuse the request
        log.warning("web session activity not recorded (%s)", type(exc).__name__)


def _session_principal() -> Principal | None:
    web_session = current_web_session()
    if web_session is None:
        return None
    user = web_session.user
    if signin.pending_step(user, web_session) is not None:
        return None  # half-way through signing in: not yet the user
    return Principal(role=user.role, user=user, web_session=web_session)


def current_token() -> ApiToken | None:
    """The bearer token of this request, if it came with one."""
    principal = current_principal()
    return principal.token if principal is not None else None


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


def require_principal() -> Principal:
    principal = current_principal()
    if principal is None:
        raise Unauthorized("this route needs a bearer token (Authorization: Bearer <token>)")
    return principal


def require_token() -> Principal:
    """The API's caller (the API authenticates bearer tokens only)."""
    return require_principal()


def actor_name(principal: Principal | ApiToken) -> str:
    """How custody events name who acted."""
    if isinstance(principal, ApiToken):
        principal = Principal(role=principal.role, user=principal.user, token=principal)
    if principal.token is not None:
        if principal.user is not None:
            return f"user:{principal.user.name} (token:{principal.token.name})"
        return f"token:{principal.token.name}"
    assert principal.user is not None
    return f"user:{principal.user.name} (web)"


def request_info() -> dict[str, str]:
    """Where a submission came from, for the `collected` event."""
    return {
        "remote_addr": request.remote_addr or "unknown",
        "user_agent": (request.user_agent.string or "")[:200],
        "received_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
    }


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Check the caller before anything else (input validation included),
    so an anonymous caller learns nothing about a protected route's input."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        require_principal()
        return view(*args, **kwargs)

    return guarded
