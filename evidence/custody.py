"""Custody events: the signed, hash-chained record of everything that happens to an item.

An event is a plain JSON object with exactly these members::

    v            1
    case         non-empty string (the case's identifier)
    item         non-empty string (the item's identifier)
    seq          0, 1, 2, ... per item, no gaps
    type         one of EVENT_TYPES
    at           RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DDTHH:MM:SS.ffffffZ"
    actor        non-empty string (who did it)
    item_digest  "sha256:<hex>" of the item's original bytes, or null
    details      JSON object (anything JSON; canonicalised with the rest)
    prev         "sha256:<hex>" of the item's previous event's canonical bytes, or null

Its canonical bytes (RFC 8785, :func:`evidence.canonical.canonical_json`) are what is
hashed (``event_digest``: the next event's ``prev``), logged (``event_leaf_hash``: the
RFC 6962 leaf of the archive's log) and signed (Ed25519 over the bytes themselves, so
``openssl pkeyutl -verify -rawin`` can check them). Canonical JSON never ends in LF while
a signed note's text always does, so the same key can sign events and checkpoints
without one ever being mistaken for the other.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from evidence.canonical import (
    MAX_SAFE_INTEGER,
    canonical_json,
    canonical_json_of_fields,
    parse_canonical,
    parse_canonical_many,
)
from evidence.digest import Digest, is_digest_text
from evidence.errors import ChainError, DigestError, SignatureError, VerificationError
from evidence.merkle import leaf_hash
from evidence.signing import SigningKey, VerifierKey

__all__ = [
    "EVENT_FIELDS",
    "EVENT_TYPES",
    "EVENT_VERSION",
    "SignedEvent",
    "encode_event",
    "event_bytes",
    "event_digest",
    "event_leaf_hash",
    "format_time",
    "make_event",
    "read_event",
    "read_events",
    "sign_event",
    "validate_event",
    "verify_chain",
    "verify_event_signature",
    "verify_stored_event",
    "verify_stored_signature",
]

EVENT_VERSION: Final = 1
EVENT_TYPES: Final = frozenset(
    {
        "collected",
        "ingested",
        "sealed",
        "transferred",
        "accessed",
        "redacted",
        "published",
        "exported",
        "verified",
        "key_added",
        "access_changed",
    }
)
EVENT_FIELDS: Final = frozenset(
    {"v", "case", "item", "seq", "type", "at", "actor", "item_digest", "details", "prev"}
)
_TIME_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?Z")


def format_time(at: dt.datetime) -> str:
    """``at`` in UTC as RFC 3339 with ``Z``; microseconds only when non-zero."""
    if not isinstance(at, dt.datetime) or at.utcoffset() is None:
        raise ChainError(f"field 'at': need a timezone-aware datetime, got {at!r}")
    utc = at if at.tzinfo is dt.UTC else at.astimezone(dt.UTC)
    if utc.year >= 1000:  # isoformat is the same text, faster ("+00:00" becomes "Z")
        return utc.isoformat()[:-6] + "Z"
    pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if utc.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return utc.strftime(pattern)


def _check_time(text: object) -> None:
    if not isinstance(text, str) or _TIME_RE.fullmatch(text) is None:
        raise ChainError(
            f"field 'at': {text!r} is not RFC 3339 UTC 'YYYY-MM-DDTHH:MM:SS[.ffffff]Z'"
        )
    try:
        parsed = dt.datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError:
        raise ChainError(f"field 'at': {text!r} is not a real date and time") from None
    # format_time writes any other text the pattern admits back as it is; only these two
    # cases (years before 1000, a zero fraction) need the round trip.
    if (text[0] == "0" or text.endswith(".000000Z")) and format_time(parsed) != text:
        raise ChainError(f"field 'at': {text!r} should be written {format_time(parsed)!r}")


def _check_digest_field(obj: Mapping[str, object], field: str) -> None:
    value = obj[field]
    if value is None:
        return
    if is_digest_text(value):
        return
    if not isinstance(value, str):
        raise ChainError(f"field {field!r}: need 'sha256:<hex>' or null, got {value!r}")
    try:
        Digest.parse(value)
    except DigestError as exc:
        raise ChainError(f"field {field!r}: {exc}") from None


def validate_event(obj: Mapping[str, object]) -> dict[str, object]:
    """Check an event against the schema; return it as a new dict.

    Raises ChainError naming the field, or CanonicalizationError (with the JSON path)
    when ``details`` holds something that is not canonical JSON.
    """
    _check_schema(obj)
    event = dict(obj)
    canonical_json(event)  # CanonicalizationError with the path, e.g. $.details.count
    return event


def _check_schema(obj: Mapping[str, object], *, at_checked: bool = False) -> None:
    """Every check of :func:`validate_event` but the canonical form of ``details``
    (and of ``at`` when the caller wrote it with :func:`format_time`)."""
    if type(obj) is not dict and not isinstance(obj, Mapping):
        raise ChainError(f"an event is a JSON object, got {type(obj).__name__}")
    if obj.keys() != EVENT_FIELDS:
        keys = set(obj)
        missing = sorted(EVENT_FIELDS - keys)
        extra = sorted(map(repr, keys - EVENT_FIELDS))
        raise ChainError(f"event fields wrong: missing {missing}, unexpected [{', '.join(extra)}]")
    version = obj["v"]
    if type(version) is not int or version != EVENT_VERSION:
        raise ChainError(f"field 'v': unsupported event version {version!r}, expected 1")
    for field in ("case", "item", "actor"):
        value = obj[field]
        if not isinstance(value, str) or not value:
            raise ChainError(f"field {field!r}: need a non-empty string, got {value!r}")
    seq = obj["seq"]
    if type(seq) is not int or not 0 <= seq <= MAX_SAFE_INTEGER:
        raise ChainError(f"field 'seq': need an integer >= 0, got {seq!r}")
    if not isinstance(obj["type"], str) or obj["type"] not in EVENT_TYPES:
        raise ChainError(
            f"field 'type': {obj['type']!r} is not one of {', '.join(sorted(EVENT_TYPES))}"
        )
    if not at_checked:
        _check_time(obj["at"])
    _check_digest_field(obj, "item_digest")
    _check_digest_field(obj, "prev")
    if not isinstance(obj["details"], dict):
        raise ChainError(f"field 'details': need a JSON object, got {obj['details']!r}")


def make_event(
    *,
    case: str,
    item: str,
    seq: int,
    type: str,  # shadows the builtin on purpose: it is the field's name
    at: dt.datetime,
    actor: str,
    item_digest: Digest | str | None,
    details: Mapping[str, object],
    prev: Digest | str | None,
) -> dict[str, object]:
    """Build and validate an event; ``at`` is normalised to UTC text."""
    return encode_event(
        case=case,
        item=item,
        seq=seq,
        type=type,
        at=at,
        actor=actor,
        item_digest=item_digest,
        details=details,
        prev=prev,
    )[0]


def encode_event(
    *,
    case: str,
    item: str,
    seq: int,
    type: str,  # shadows the builtin on purpose: it is the field's name
    at: dt.datetime,
    actor: str,
    item_digest: Digest | str | None,
    details: Mapping[str, object],
    prev: Digest | str | None,
) -> tuple[dict[str, object], bytes]:
    """:func:`make_event` and its canonical bytes, canonicalised once: the bytes to sign,
    hash and log."""
    at_text = format_time(at)
    event: dict[str, object] = {
        "v": EVENT_VERSION,
        "case": case,
        "item": item,
        "seq": seq,
        "type": type,
        "at": at_text,
        "actor": actor,
        "item_digest": None if item_digest is None else str(item_digest),
        # (``type`` is the field here, not the builtin)
        "details": dict(details)
        if details.__class__ is dict or isinstance(details, Mapping)
        else details,
        "prev": None if prev is None else str(prev),
    }
    # This runs for every event the archive signs. format_time's text needs no second
    # look unless the year is below 1000; the schema check fixes every member but
    # "details", so only that one is walked for the canonical form.
    _check_schema(event, at_checked=at_text[4] == "-" and at_text[0] != "0")
    return event, canonical_json_of_fields(event, nested="details")


def event_bytes(event: Mapping[str, object]) -> bytes:
    """The event's RFC 8785 canonical bytes (after checking the schema)."""
    _check_schema(event)
    return canonical_json(event if type(event) is dict else dict(event))


def read_event(data: bytes) -> dict[str, object]:
    """Read stored bytes as an event: RFC 8785 canonical JSON (strict) of the v1 schema.

    Raises CanonicalizationError when the bytes are not canonical JSON, ChainError when
    they are not an event.
    """
    event = parse_canonical(data)
    if not isinstance(event, dict):
        raise ChainError(f"an event is a JSON object, got {type(event).__name__}")
    _check_schema(event)
    return event


def read_events(datas: Sequence[bytes]) -> list[dict[str, object] | VerificationError]:
    """:func:`read_event` of each of ``datas``, in order: the event, or the error that
    :func:`read_event` raises for it (parsed together: see
    :func:`evidence.canonical.parse_canonical_many`)."""
    results: list[dict[str, object] | VerificationError] = []
    for value in parse_canonical_many(datas):
        if isinstance(value, VerificationError):
            results.append(value)
        elif not isinstance(value, dict):
            results.append(ChainError(f"an event is a JSON object, got {type(value).__name__}"))
        else:
            try:
                _check_schema(value)
            except VerificationError as exc:
                results.append(exc)
            else:
                results.append(value)
    return results


def event_digest(event: Mapping[str, object]) -> Digest:
    """SHA-256 of the canonical bytes: what the item's next event carries as ``prev``."""
    return Digest.sha256(event_bytes(event))


def event_leaf_hash(event: Mapping[str, object]) -> bytes:
    """The event's RFC 6962 leaf hash in the archive's log: ``SHA-256(0x00 || bytes)``."""
    return leaf_hash(event_bytes(event))


def _where(event: Mapping[str, object]) -> str:
    return f"item {event.get('item')!r} seq {event.get('seq')!r}"


@dataclass(frozen=True, kw_only=True)
class SignedEvent:
    """An event with an Ed25519 signature over its canonical bytes by key ``key_id``."""

    event: dict[str, object]
    key_id: str
    signature: bytes


def sign_event(event: Mapping[str, object], key: SigningKey) -> SignedEvent:
    """Sign the event's canonical bytes."""
    checked = validate_event(event)
    return SignedEvent(
        event=checked, key_id=key.key_id_hex, signature=key.sign(canonical_json(checked))
    )


def verify_event_signature(signed: SignedEvent, keys: Mapping[str, VerifierKey]) -> None:
    """Check a signed event against the known keys (by 8-hex key id)."""
    _verify_signature(
        _where(signed.event), event_bytes(signed.event), signed.key_id, signed.signature, keys
    )


def verify_stored_event(
    data: bytes, *, key_id: str, signature: bytes, keys: Mapping[str, VerifierKey]
) -> dict[str, object]:
    """Read stored canonical bytes as an event (:func:`read_event`) and check the signature
    over exactly those bytes; return the event."""
    event = read_event(data)
    verify_stored_signature(data, event, key_id=key_id, signature=signature, keys=keys)
    return event


def verify_stored_signature(
    data: bytes,
    event: Mapping[str, object],
    *,
    key_id: str,
    signature: bytes,
    keys: Mapping[str, VerifierKey],
) -> None:
    """Check the signature over ``data``, the stored bytes :func:`read_event` read as
    ``event`` (which only names the event in errors): no canonical form is recomputed."""
    _verify_signature(_where(event), data, key_id, signature, keys)


def _verify_signature(
    where: str, data: bytes, key_id: str, signature: bytes, keys: Mapping[str, VerifierKey]
) -> None:
    key = keys.get(key_id)
    if key is None:
        raise SignatureError(f"{where}: signed by unknown key {key_id!r}")
    if key.key_id_hex != key_id:
        raise SignatureError(
            f"{where}: key listed as {key_id!r} has id {key.key_id_hex} ({key.name})"
        )
    try:
        key.verify(signature, data)
    except SignatureError as exc:
        raise SignatureError(f"{where}: {exc}") from None


def verify_chain(events: Sequence[Mapping[str, object]]) -> None:
    """Check one item's events form an unbroken chain from seq 0.

    Every event is valid, all share the first one's case and item, ``seq`` runs
    0, 1, 2, ... without gaps, the first ``prev`` is null and each later ``prev`` is the
    digest of the event before it. An empty sequence is refused: an item always has
    a history.
    """
    if not events:
        raise ChainError("no events: an item's chain starts with its first event")
    first = events[0]
    previous: Digest | None = None
    for position, event in enumerate(events):
        try:
            _check_schema(event)
        except ChainError as exc:
            raise ChainError(f"event {position} ({_where(event)}): {exc}") from None
        data = canonical_json(dict(event))  # CanonicalizationError names the path
        where = _where(event)
        if event["item"] != first["item"] or event["case"] != first["case"]:
            raise ChainError(
                f"{where}: belongs to case {event['case']!r} item {event['item']!r}, "
                f"but the chain is case {first['case']!r} item {first['item']!r}"
            )
        if event["seq"] != position:
            raise ChainError(f"{where}: expected seq {position}, got {event['seq']!r}")
        expected = None if previous is None else str(previous)
        if event["prev"] != expected:
            raise ChainError(f"{where}: prev is {event['prev']!r}, expected {expected!r}")
        previous = Digest.sha256(data)
