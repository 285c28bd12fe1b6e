"""What the desk's pages share: labels, who is asking, errors next to fields, and the
originals this session has opened (with a recorded reason)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from flask import session as cookie
from flask_babel import gettext, lazy_gettext

from archive.errors import ArchiveError, NotFound
from archive.models import SYSTEM_KINDS, Item
from archive.services import accountability
from archive.services import items as item_service
from archive.services.access import allowed
from archive.web.auth import Principal, current_principal
from archive.web.desk import desk
from archive.web.desk.forms import ROLE_LABELS

OPENED_KEY = "opened"  # in the signed cookie: which originals this session has opened
OPENED_KEPT = 20


STATUS_LABELS = {
    "draft": lazy_gettext("Draft"),
    "sealed": lazy_gettext("Sealed"),
    "published": lazy_gettext("Published"),
}
REVIEW_LABELS = {
    "not reviewed": lazy_gettext("Not reviewed"),
    "reviewed": lazy_gettext("Reviewed"),
    "stale": lazy_gettext("Review out of date"),
}
SOURCE_LABELS = {
    "person": lazy_gettext("Protected person"),
    "pattern": lazy_gettext("Pattern"),
    "manual": lazy_gettext("Marked by hand"),
}


@desk.app_template_filter("status_label")
def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


@desk.app_template_filter("review_label")
def review_label(state: str) -> str:
    return str(REVIEW_LABELS.get(state, state))


@desk.app_template_filter("role_label")
def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


@desk.app_template_filter("aware")
def aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives naive UTC datetimes back; Babel must know they are UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


@desk.app_template_filter("moment")
def moment(value: str) -> dt.datetime:
    """An RFC 3339 time as signed in an event (``...Z``), for Babel to format."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def principal() -> Principal:
    found = current_principal()
    assert found is not None  # the route rules admit signed-in callers only
    return found


def can(action: str) -> bool:
    """May the caller do this? (Controls the role does not allow are not shown.)"""
    found = current_principal()
    return found is not None and allowed(found.role, action)


@desk.context_processor
def _desk_context() -> dict[str, Any]:
    return {"can": can, "source_labels": SOURCE_LABELS}


def desk_item(session: Any, uid: str) -> Item:
    item = item_service.get_item(session, uid)
    if item.kind in SYSTEM_KINDS:  # the archive's own records are not items of the desk
        raise NotFound(f"no item {uid!r}")
    return item


def set_errors(form: Any, errors: dict[str, list[str]]) -> list[str]:
    """Put each message next to its field; return those that belong to no field."""
    loose: list[str] = []
    for name, messages in errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors or []) + list(messages)
        else:
            loose.extend(messages)
    return loose


def reason_message(error: ArchiveError) -> str:
    """A refused reason, in the reader's language."""
    problems = " ".join(str(m) for ms in error.errors.values() for m in ms)
    limits = {"min": accountability.REASON_MIN, "max": accountability.REASON_MAX}
    if "too short" in problems:
        return str(gettext("Too short: write at least %(min)s characters.", **limits))
    if "too long" in problems:
        return str(gettext("Too long: write at most %(max)s characters.", **limits))
    return str(
        gettext(
            "Say why you need to see it (%(min)s to %(max)s characters); your reason is signed "
            "into the custody log.",
            **limits,
        )
    )


def typed_text(field: Any) -> str:
    """A text area's text as typed: browsers send its line breaks as CR LF."""
    value = field.data if isinstance(field.data, str) else ""
    return value.replace("\r\n", "\n")


# ---- originals opened in this session ------------------------------------------------------


def _sitting() -> str:
    """Who the opened originals of the cookie belong to: this web session (or token)."""
    found = principal()
    if found.web_session is not None:
        return f"session:{found.web_session.id}"
    return f"token:{found.token.id if found.token is not None else '-'}"


@dataclass(frozen=True, kw_only=True)
class Opened:
    at: dt.datetime
    log_index: int | None  # the `accessed` event; None for the item's author at intake


def opened(uid: str) -> Opened | None:
    """Has this session opened the item's original (with a recorded reason)?"""
    found = cookie.get(OPENED_KEY)
    entry = found.get(uid) if isinstance(found, dict) else None
    if not isinstance(entry, dict) or entry.get("by") != _sitting():
        return None
    return Opened(at=dt.datetime.fromtimestamp(float(entry["at"]), dt.UTC), log_index=entry["log"])


def remember_opened(uid: str, log_index: int | None) -> None:
    found = cookie.get(OPENED_KEY)
    kept = (
        {k: v for k, v in found.items() if isinstance(v, dict)} if isinstance(found, dict) else {}
    )
    kept[uid] = {"by": _sitting(), "at": time.time(), "log": log_index}
    newest = sorted(kept.items(), key=lambda kv: kv[1].get("at", 0), reverse=True)
    cookie[OPENED_KEY] = dict(newest[:OPENED_KEPT])
