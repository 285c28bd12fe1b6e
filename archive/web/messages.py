"""Validation messages for the desk's forms, in the reader's language.

The forms are checked by the API's marshmallow schemas and by the services, whose
messages are English (the API speaks English). Each known message is matched here and
given its translated wording; an unknown one is shown as it came, so nothing is hidden.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext, ngettext

_Rewrite = Callable[[re.Match[str]], str]


def _n(match: re.Match[str], group: str) -> int:
    return int(match.group(group))


_CHARACTERS: list[tuple[re.Pattern[str], _Rewrite]] = [
    (
        re.compile(r"^(Missing data for required field\.|required|Field may not be null\.)$"),
        lambda m: gettext("This field is required."),
    ),
    (
        re.compile(r"^Not a valid date\.$"),
        lambda m: gettext("Not a date: write it as YYYY-MM-DD, e.g. 2022-03-27."),
    ),
    (
        re.compile(r"^Not a valid (aware )?datetime\.$"),
        lambda m: gettext("Not a date and time: pick one, or write it as 2022-03-27T14:30."),
    ),
    (
        re.compile(r"^Shorter than minimum length 1\.$"),
        lambda m: gettext("This field is required."),
    ),
    (
        re.compile(r"^Shorter than minimum length (?P<min>\d+)\.$"),
        lambda m: gettext("Write at least %(min)s characters.", min=_n(m, "min")),
    ),
    (
        re.compile(r"^Longer than maximum length (?P<max>\d+)\.$"),
        lambda m: gettext("Write at most %(max)s characters.", max=_n(m, "max")),
    ),
    (
        re.compile(r"^Length must be between (?P<min>\d+) and (?P<max>\d+)\.$"),
        lambda m: gettext(
            "Write between %(min)s and %(max)s characters.", min=_n(m, "min"), max=_n(m, "max")
        ),
    ),
    (
        re.compile(r"^Not a valid URL\.$"),
        lambda m: gettext("Not a web address: it starts with https:// or http://."),
    ),
    (
        re.compile(r"^an ISO 639 language code such as fr or en$"),
        lambda m: gettext("A language code such as fr, en or bm (ISO 639)."),
    ),
    (re.compile(r"^Must be one of: .*$"), lambda m: gettext("Choose one of the options.")),
    (
        re.compile(r"^(Not a valid integer\.|Not a valid number\.)$"),
        lambda m: gettext("Not a whole number."),
    ),
    (re.compile(r"^too long$"), lambda m: gettext("This is too long.")),
    (re.compile(r"^(empty file|the file is empty)$"), lambda m: gettext("The file is empty.")),
    (re.compile(r"^not in this case$"), lambda m: gettext("Not a protected person of this case.")),
    (
        re.compile(
            r"^.*: name (?P<name>.+) has fewer than (?P<min>\d+) letters;"
            r" it would redact everything$"
        ),
        lambda m: gettext(
            "%(name)s has fewer than %(min)s letters: hiding it would hide far too much.",
            name=m.group("name"),
            min=_n(m, "min"),
        ),
    ),
]

_ENTRIES: list[tuple[re.Pattern[str], _Rewrite]] = [
    (
        re.compile(r"^Length must be between (?P<min>\d+) and (?P<max>\d+)\.$"),
        lambda m: gettext(
            "Give between %(min)s and %(max)s entries.", min=_n(m, "min"), max=_n(m, "max")
        ),
    ),
    (
        re.compile(r"^Longer than maximum length (?P<max>\d+)\.$"),
        lambda m: gettext("Give at most %(max)s entries.", max=_n(m, "max")),
    ),
]


def translate(message: str, *, entries: bool = False) -> str:
    """A validation message in the reader's language (as it came, if unknown)."""
    for pattern, rewrite in (_ENTRIES if entries else []) + _CHARACTERS:
        match = pattern.match(message)
        if match:
            return rewrite(match)
    return message


def field_errors(
    errors: Mapping[str, Any], *, lists: tuple[str, ...] = (), prefix: str = ""
) -> dict[str, list[str]]:
    """marshmallow's errors, flattened to one list of translated messages per form field.

    A nested schema's field ``citation.url`` becomes ``citation_url``; an entry of a list
    field (``names[2]``) is named by its line, counted from 1."""
    found: dict[str, list[str]] = {}
    for name, value in errors.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            if name in lists or all(isinstance(k, int) for k in value):
                for index, messages in sorted(value.items()):
                    line = gettext("Line %(num)s:", num=int(index) + 1)
                    found.setdefault(key, []).extend(
                        f"{line} {translate(str(m))}" for m in _messages(messages)
                    )
            else:
                found.update(field_errors(value, prefix=f"{key}_"))
        else:
            found.setdefault(key, []).extend(
                translate(str(m), entries=name in lists) for m in _messages(value)
            )
    return found


def _messages(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [m for v in value.values() for m in _messages(v)]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


_SPAN = r"span \[\d+, \d+\) "


def review_errors(error: Any) -> dict[str, list[str]]:
    """A refused review (`archive.services.redacting`), as messages next to the fields of
    the span being added; what belongs to no field under the key ``""``."""
    found: dict[str, list[str]] = {}
    if error.message == "a span overlaps one marked before":
        found["add_text"] = [
            gettext("This overlaps text already hidden by hand: it is hidden already.")
        ]
        return found
    for message in error.errors.get("add", []):
        if re.match(_SPAN + r"is outside the text", message):
            found.setdefault("add_text", []).append(
                gettext("These positions are outside the text.")
            )
        elif re.match(_SPAN + r"needs a reason", message):
            found.setdefault("add_reason", []).append(gettext("This field is required."))
        elif re.match(_SPAN + r"needs a label", message):
            found.setdefault("add_label", []).append(
                gettext("Write a label of 1 to 80 characters, without brackets.")
            )
        else:
            found.setdefault("add_text", []).append(message)
    if error.errors.get("remove"):
        found[""] = [
            gettext(
                "A span to show is no longer proposed (the protected persons changed): "
                "reload the page and review again."
            )
        ]
    if not found:
        found[""] = [translate(error.message)]
    return found


def _paused(match: re.Match[str]) -> str:
    minutes = _n(match, "minutes")
    return str(
        ngettext(
            "too many failed sign-in attempts for this name: signing in with it is paused "
            "for %(num)s minute. If you forgot your password, ask an administrator.",
            "too many failed sign-in attempts for this name: signing in with it is paused "
            "for %(num)s minutes. If you forgot your password, ask an administrator.",
            minutes,
        )
    )


_SIGNIN: list[tuple[re.Pattern[str], _Rewrite]] = [
    (
        re.compile(r"^the name, password or code is not right$"),
        lambda m: gettext("the name, password or code is not right"),
    ),
    (
        re.compile(r"^too many failed sign-in attempts .* for (?P<minutes>\d+) minutes?\. .*$"),
        _paused,
    ),
    (
        re.compile(r"^this account is disabled; ask an administrator$"),
        lambda m: gettext("this account is disabled; ask an administrator"),
    ),
    (
        re.compile(r"^use at least (?P<num>\d+) characters$"),
        lambda m: gettext("use at least %(num)s characters", num=_n(m, "num")),
    ),
    (
        re.compile(r"^use at most (?P<num>\d+) characters$"),
        lambda m: gettext("use at most %(num)s characters", num=_n(m, "num")),
    ),
    (
        re.compile(r"^a password must not be the account's name$"),
        lambda m: gettext("a password must not be the account's name"),
    ),
    (
        re.compile(r"^that code does not match: .*$"),
        lambda m: gettext(
            "that code does not match: check the time on your device and type the code "
            "the app shows now"
        ),
    ),
]


def signin_message(message: str) -> str:
    """A refusal of the sign-in services (English), in the reader's language."""
    for pattern, rewrite in _SIGNIN:
        match = pattern.match(message)
        if match:
            return str(rewrite(match))
    return message
