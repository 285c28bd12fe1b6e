"""The reason a caller gives for a look at protected material: the `X-Temoin-Reason` header.

One design for every recorded request: a header, because a GET has no body and a query
string ends up in access logs, proxies and browser history (a reason may name a protected
person). The value is UTF-8 text; clients that can only send ISO-8859-1 header values
(browsers' fetch) send RFC 8187 form, ``UTF-8''<percent-encoded UTF-8>``. The reveal of an
identity (a POST) also takes it as the `reason` field of its JSON body.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from flask import request

from archive.services.accountability import (
    REASON_MAX,
    REASON_MIN,
    ReasonRequired,
    check_reason,
    optional_reason,
)

REASON_HEADER = "X-Temoin-Reason"
_RFC8187 = "utf-8''"


def reason_parameter(*, required: bool, when: str) -> dict[str, Any]:
    """The header, as an OpenAPI parameter of a route."""
    return {
        "in": "header",
        "name": REASON_HEADER,
        "required": required,
        "schema": {"type": "string", "minLength": REASON_MIN, "maxLength": REASON_MAX},
        "description": f"Why you need this ({when}). Signed into the custody log with who "
        "and when, shown in the access report. UTF-8, or RFC 8187 form "
        "`UTF-8''<percent-encoded>`.",
    }


def decode_header_text(raw: str) -> str:
    """The header's text. WSGI hands header bytes over as ISO-8859-1 characters."""
    if raw[: len(_RFC8187)].lower() == _RFC8187:
        try:
            return unquote(raw[len(_RFC8187) :], encoding="utf-8", errors="strict")
        except UnicodeDecodeError:
            raise ReasonRequired(
                f"{REASON_HEADER} is not valid percent-encoded UTF-8",
                errors={REASON_HEADER: ["not UTF-8"]},
            ) from None
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw  # ISO-8859-1 text as it came


def header_reason() -> str | None:
    raw = request.headers.get(REASON_HEADER)
    return None if raw is None else decode_header_text(raw)


def required_reason(what: str) -> str:
    """The caller's reason, or a 400 that names the header."""
    return check_reason(header_reason(), field=REASON_HEADER, what=what)


def given_reason() -> str | None:
    """The caller's reason if they gave one (then checked like a required one)."""
    return optional_reason(header_reason(), field=REASON_HEADER)
