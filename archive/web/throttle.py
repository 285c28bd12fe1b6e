"""Rate limits on failed sign-ins (Flask-Limiter): per client address and per account name.

Only failures are counted (`deduct_when`), so people who sign in correctly are never
slowed. The counters live in `TEMOIN_RATELIMIT_STORAGE_URI` (memory by default: one
count per server process; point it at Redis or Memcached to share it). The lock-out after
repeated failures (`archive.services.signin`) is kept in the database and holds across
every server whatever this storage is.
"""

from __future__ import annotations

from flask import current_app, request
from flask.wrappers import Response
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from archive.services.signin import name_key

limiter = Limiter(key_func=get_remote_address, key_prefix="temoin")


def _ip_limit() -> str:
    return str(current_app.config["TEMOIN_LOGIN_IP_LIMIT"])


def _account_limit() -> str:
    return str(current_app.config["TEMOIN_LOGIN_ACCOUNT_LIMIT"])


def _account_key() -> str:
    """The account name being tried: typed in the form, or the half-signed-in session's."""
    from archive.web.auth import current_web_session

    name = request.form.get("name")
    if name is None:
        web_session = current_web_session()
        name = web_session.user.name if web_session is not None else ""
    return "account:" + name_key(name)


def _failed(response: Response) -> bool:
    """A refused name, password or code answers 401; only those count."""
    return response.status_code == 401


#: On every step that checks a secret (password, code).
per_address = limiter.shared_limit(
    _ip_limit, scope="signin-address", methods=["POST"], deduct_when=_failed
)
per_account = limiter.shared_limit(
    _account_limit,
    scope="signin-account",
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
)
