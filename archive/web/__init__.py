"""The Flask application factory: nothing happens at import time."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_smorest import Api
from sqlalchemy.orm import configure_mappers
from werkzeug.exceptions import HTTPException

from archive.config import Settings
from archive.errors import ArchiveError
from archive.services.indexing import process_outbox
from archive.services.runtime import Archive, secret_key
from archive.web.access import enforce_route_rule
from archive.web.context import close_sessions

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


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
    arc = Archive(settings)
    app.extensions["temoin"] = arc
    app.teardown_appcontext(close_sessions)
    app.before_request(enforce_route_rule)

    api = TemoinApi(app)
    from archive.web.api import BLUEPRINTS
    from archive.web.pages import pages

    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(pages)

    @app.errorhandler(ArchiveError)
    def _archive_error(error: ArchiveError) -> Any:
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
        if request.headers.get("Authorization") or request.path.startswith("/api/v1/items/"):
            # Protected material must not linger in any cache between here and the reader.
            response.headers.setdefault("Cache-Control", "no-store")
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
