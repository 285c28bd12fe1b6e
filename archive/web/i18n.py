"""French and English for the web pages (Flask-Babel).

The language is, in order: ``?lang=`` in the URL (the visible switch is a plain link, so it
works without JavaScript, and a shared link keeps its language), then the ``temoin_lang``
cookie that such a link sets, then the browser's ``Accept-Language``, then English.

Catalogs live in ``archive/web/translations/<lang>/LC_MESSAGES/messages.po``; the compiled
``messages.mo`` beside each is committed, so a fresh ``pip install -e .`` (or a wheel) has
working translations with no build step. ``make translations`` re-extracts, updates and
compiles them; ``tests/archive/test_translations.py`` fails when a string is missing from a
catalog, untranslated, or when a ``.mo`` no longer matches its ``.po``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, request
from flask_babel import Babel, get_locale

LANGUAGES = ("en", "fr")
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
COOKIE = "temoin_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

babel = Babel()


def _chosen() -> str | None:
    """A valid ``?lang=`` of this request, if any."""
    wanted = request.args.get("lang", "")
    return wanted if wanted in LANGUAGES else None


def select_locale() -> str:
    chosen = _chosen()
    if chosen:
        return chosen
    cookie = request.cookies.get(COOKIE, "")
    if cookie in LANGUAGES:
        return cookie
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else LANGUAGES[0]


def switch_url(language: str) -> str:
    """This page in ``language``: the same path and query, with ``lang`` replaced."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    args.append(("lang", language))
    return f"{request.path}?{urlencode(args)}"


def _remember_choice(response: Response) -> Response:
    chosen = _chosen()
    if chosen and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(
            COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True, path="/"
        )
    if not request.path.startswith("/api/") and not request.path.startswith("/static/"):
        # The same URL answers in another language for another browser or cookie.
        response.vary.update(("Accept-Language", "Cookie"))
    return response


def _template_context() -> dict[str, Any]:
    language = current_language()
    return {
        "current_language": language,
        "language_switch": [
            {
                "code": code,
                "name": LANGUAGE_NAMES[code],
                "url": switch_url(code),
                "current": code == language,
            }
            for code in LANGUAGES
        ],
    }


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    babel.init_app(app, locale_selector=select_locale)
    app.after_request(_remember_choice)
    app.context_processor(_template_context)
