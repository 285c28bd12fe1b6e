"""The Flask application factory: nothing happens at import time."""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from typing import Any

from flask import Flask, Response, jsonify, redirect, render_template, request, url_for
from flask_limiter import RateLimitExceeded
from flask_smorest import Api
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.orm import configure_mappers
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from archive.config import Settings
from archive.errors import ArchiveError
from archive.services.indexing import process_outbox
from archive.services.runtime import Archive, secret_key
from archive.web.access import SignInNeeded, enforce_route_rule
from archive.web.auth import Principal, current_principal, current_web_session
from archive.web.context import close_sessions
from archive.web.i18n import init_i18n
from archive.web.throttle import limiter

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

csrf = CSRFProtect()


class TemoinApi(Api):
    """flask-smorest with the archive's error body: {"status", "message", "errors"}."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        return render_error(
            error.code or 500,
            _message(error),
            _errors(error),
            getattr(error, "data", {}).get("headers"),
        )


def _message(error: HTTPException) -> str:
    data = getattr(error, "data", None) or {}
    if "message" in data:
        return str(data["message"])
    if data.get("messages"):
        return "the request is not valid; see errors"
    return error.description or error.name


def _errors(error: HTTPException) -> dict[str, Any]:
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages") or {}
    return errors if isinstance(errors, dict) else {"request": errors}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def render_error(
    status: int, message: str, errors: dict[str, Any] | None = None, headers: Any = None
) -> Any:
    if wants_json():
        response = jsonify({"status": status, "message": message, "errors": errors or {}})
        response.status_code = status
    else:
        response = Response(
            render_template("error.html", status=status, message=message), status=status
        )
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    if headers:
        response.headers.update(headers)
    return response


def signed_in_viewer() -> Principal | None:
    """The principal, for templates (the header names who is signed in); never raises,
    so that an error page renders whatever went wrong."""
    try:
        return current_principal()
    except Exception:
        return None


def sign_in_first() -> str:
    """The sign-in page, and back here afterwards. A form sent once the session had ended
    saved nothing: the sign-in page says so (the desk's forms keep a draft in the browser),
    and leads back to the form's page rather than to an address that only takes a POST."""
    if request.method in ("GET", "HEAD"):
        return url_for("signin.login", next=request.full_path.rstrip("?"))
    from archive.web.desk import resume_path

    return url_for("signin.login", next=resume_path(), unsent=1)


def finish_signing_in() -> Any:
    """`before_request`: a browser half-way through signing in (a one-time password to
    replace, a code to give, a second factor an administrator must set up) is sent back to
    that step from any page, before it reaches anything else."""
    if request.path.startswith("/api/") or request.endpoint in (None, "static", "pages.static"):
        return None
    if (request.endpoint or "").startswith("signin.") and request.endpoint not in (
        "signin.desk",
        "signin.account",
    ):
        return None
    web_session = current_web_session()
    if web_session is None:
        return None
    from archive.services.signin import pending_step
    from archive.web.signin import STEP_ENDPOINTS

    step = pending_step(web_session.user, web_session)
    if step is None:
        return None
    return redirect(url_for(STEP_ENDPOINTS[step]), 303)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key(settings),
        TESTING=settings.testing,
        MAX_CONTENT_LENGTH=512 * 1024 * 1024,
        API_TITLE="Témoin",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": "Archive for human rights investigations: "
                "custody, redaction, search."
            },
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
        JSON_SORT_KEYS=False,
    )
    secure = settings.secure_cookies
    app.config.update(
        # The cookie holds only a session id (its row holds the rest) and the CSRF token.
        # `__Host-` binds it to this host and path, and requires Secure.
        SESSION_COOKIE_NAME="__Host-temoin" if secure else "temoin_session",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(minutes=settings.session_lifetime_minutes),
        # A CSRF token lives as long as the session (a long testimony typed over an hour
        # must not be refused); the session's own limits bound it.
        WTF_CSRF_TIME_LIMIT=None,
        # Over HTTPS Flask-WTF would also demand a same-origin Referer, which our
        # `Referrer-Policy: no-referrer` tells browsers never to send. The token (bound to
        # the session) and SameSite cookies are the protection.
        WTF_CSRF_SSL_STRICT=False,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_HEADERS_ENABLED=False,
        TEMOIN_LOGIN_IP_LIMIT=settings.login_ip_limit,
        TEMOIN_LOGIN_ACCOUNT_LIMIT=settings.login_account_limit,
    )
    if settings.proxy_count:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_count, x_proto=settings.proxy_count
        )
    arc = Archive(settings)
    app.extensions["temoin"] = arc
    init_i18n(app)
    app.teardown_appcontext(close_sessions)
    app.before_request(enforce_route_rule)
    app.before_request(finish_signing_in)

    api = TemoinApi(app)
    from archive.web.api import BLUEPRINTS
    from archive.web.desk import desk
    from archive.web.pages import pages
    from archive.web.signin import signin

    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
        # The API takes bearer tokens only (never the session cookie): nothing to forge.
        csrf.exempt(blueprint)
    app.register_blueprint(pages)
    app.register_blueprint(signin)
    app.register_blueprint(desk)
    csrf.init_app(app)
    limiter.init_app(app)

    @app.context_processor
    def _viewer() -> dict[str, Any]:
        return {"signed_in_viewer": signed_in_viewer}

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Any:
        return render_error(
            400,
            f"{(error.description or 'the CSRF token is not valid').rstrip('.')}: this form "
            "was not sent from a page of this archive, or it has expired. Go back, reload "
            "the page and send the form again",
        )

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(error: RateLimitExceeded) -> Any:
        retry = max(1, int(error.limit.limit.get_expiry()))
        minutes = -(-retry // 60)
        message = (
            "too many failed sign-in attempts: wait "
            f"{minutes} minute{'s' if minutes != 1 else ''} before trying again"
        )
        return render_error(429, message, headers={"Retry-After": str(retry)})

    @app.errorhandler(ArchiveError)
    def _archive_error(error: ArchiveError) -> Any:
        if isinstance(error, SignInNeeded) and not wants_json():
            return redirect(sign_in_first(), 303)
        if error.status >= 500:
            log.error("archive error: %s", error.message)
        return render_error(error.status, error.message, error.errors)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        if isinstance(error, HTTPException):
            return api.handle_http_exception(error)
        # Never a stack trace (or anything it holds) to the caller; the log gets the type.
        # The message and locals may hold protected text, so only the type and where it arose.
        frames = traceback.extract_tb(error.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
        log.error(
            "unexpected %s at %s on %s %s",
            type(error).__name__,
            where,
            request.method,
            request.path,
        )
        return render_error(500, "internal error")

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        if secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=63072000")
        if not request.path.startswith("/api/"):
            response.vary.add("Cookie")  # the header names who is signed in
        if (
            request.headers.get("Authorization")
            or request.path.startswith(("/api/v1/items/", "/api/v1/exhibits/", "/verify"))
            or request.cookies.get(app.config["SESSION_COOKIE_NAME"])
            or (request.blueprint == "signin")
        ):
            # Protected material (and a page naming who is signed in) must not linger in any
            # cache between here and the reader, nor the digests of the files people check.
            response.headers["Cache-Control"] = "no-store"
        return response

    # Before any worker forks: map the models now and catch up, in this thread, on what a
    # crash left in the outbox. (A thread started here would not survive a fork, and a lock
    # it held could be inherited locked.)
    configure_mappers()
    try:
        process_outbox(arc)
    except Exception as exc:
        log.warning("index catch-up deferred (%s); the outbox keeps it", type(exc).__name__)
    return app
