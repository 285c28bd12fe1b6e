"""Evidence bundles: one self-contained JSON file per item, and its offline verification.

A bundle (``format: "temoin-bundle/v1"``, documented in ``docs/bundle.md`` with a JSON
Schema in ``docs/bundle.schema.json``) carries an item's description and digest, its
signed custody events, the public keys that signed them, a signed C2SP checkpoint of the
archive's log, an RFC 6962 inclusion proof for every event, and optionally consistency
proofs from earlier checkpoints. :func:`verify_bundle` checks it with this package alone,
in small steps, each raising its own :class:`~evidence.errors.VerificationError` kind:

1. digest of the exhibit file (when one is given)           -> DigestMismatch
2. every event's canonical form and schema                   -> CanonicalizationError, ChainError
3. every event's signature                                   -> SignatureError
4. the item's hash chain (``custody.verify_chain``)          -> ChainError
5. every event is about this item (case, id, item_digest,
   which may be null: events a public record carries withhold it) -> ChainError
6. checkpoint signature (pinned keys, or the bundle's own)   -> NoteError, CheckpointError
7. the log key's signature over the item description         -> SignatureError
8. inclusion of every event in the checkpoint's tree         -> InclusionProofError
9. consistency proofs (and ``since_checkpoint``)             -> ConsistencyProofError
10. every key listed in the bundle signed something in it    -> BundleError

A ``disclosure`` member is reported as not checked (its verifier does not exist yet).

Tree sizes and roots are only ever taken from signed checkpoints, never from unsigned
bundle fields. Nothing here does I/O except reading an exhibit given as a ``Path``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

from evidence.canonical import MAX_SAFE_INTEGER, canonical_json, parse_canonical
from evidence.checkpoint import Checkpoint
from evidence.custody import event_digest, validate_event, verify_chain
from evidence.digest import CHUNK_SIZE, Digest, DigestWriter
from evidence.errors import (
    BundleError,
    CanonicalizationError,
    ChainError,
    CheckpointError,
    ConsistencyProofError,
    DigestError,
    DigestMismatch,
    InclusionProofError,
    KeyFormatError,
    NoteError,
    SignatureError,
    VerificationError,
)
from evidence.merkle import HASH_SIZE, leaf_hash, verify_consistency, verify_inclusion
from evidence.note import parse_note
from evidence.signing import SigningKey, VerifierKey, _b64decode

__all__ = [
    "FORMAT",
    "ITEM_STATEMENT",
    "Bundle",
    "BundleEvent",
    "Check",
    "ConsistencyProof",
    "InclusionProof",
    "ItemInfo",
    "ItemSignature",
    "TimelineEntry",
    "VerificationReport",
    "build_bundle",
    "item_statement",
    "parse_bundle",
    "sign_item",
    "verify_bundle",
]

FORMAT: Final = "temoin-bundle/v1"
ITEM_STATEMENT: Final = "temoin-bundle/v1 item"
"""Value of ``statement`` in the item statement: separates it from every other signed thing."""

_KEY_ID: Final = re.compile(r"[0-9a-f]{8}")
_TOP_FIELDS: Final = frozenset(
    {"format", "item", "item_signature", "events", "keys", "checkpoint", "inclusion"}
)
_OPTIONAL_TOP_FIELDS: Final = frozenset({"consistency", "disclosure"})
_ITEM_FIELDS: Final = frozenset(
    {"id", "case", "kind", "title", "language", "digest", "size", "media_type"}
)


# -- value types ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ItemInfo:
    """What the bundle is about: the item's identity, description, digest and size."""

    id: str
    case: str
    kind: str
    title: str
    language: str
    digest: Digest
    size: int
    media_type: str

    def to_json_object(self) -> dict[str, object]:
        return {
            "id": self.id,
            "case": self.case,
            "kind": self.kind,
            "title": self.title,
            "language": self.language,
            "digest": str(self.digest),
            "size": self.size,
            "media_type": self.media_type,
        }


@dataclass(frozen=True, kw_only=True)
class ItemSignature:
    """The log key's Ed25519 signature over :func:`item_statement` (key id in 8 hex)."""

    key_id: str
    signature: bytes


@dataclass(frozen=True, kw_only=True)
class BundleEvent:
    """One custody event: its canonical bytes, where it sits in the log, who signed it."""

    log_index: int
    canonical: bytes
    key_id: str
    signature: bytes


@dataclass(frozen=True, kw_only=True)
class InclusionProof:
    """RFC 6962 audit path of the leaf at ``log_index``, leaf side first."""

    log_index: int
    hashes: tuple[bytes, ...]


@dataclass(frozen=True, kw_only=True)
class ConsistencyProof:
    """RFC 6962 proof that the tree of the signed ``old_checkpoint`` is a prefix of this one."""

    old_checkpoint: str
    hashes: tuple[bytes, ...]


@dataclass(frozen=True, kw_only=True)
class Bundle:
    """A parsed ``temoin-bundle/v1`` file. Nothing in it is trusted until verified."""

    item: ItemInfo
    item_signature: ItemSignature
    events: tuple[BundleEvent, ...]
    keys: tuple[VerifierKey, ...]
    checkpoint: str
    inclusion: tuple[InclusionProof, ...]
    consistency: tuple[ConsistencyProof, ...] = ()
    disclosure: dict[str, object] | None = None

    def to_json_object(self) -> dict[str, object]:
        obj: dict[str, object] = {
            "format": FORMAT,
            "item": self.item.to_json_object(),
            "item_signature": {
                "key_id": self.item_signature.key_id,
                "signature": _b64(self.item_signature.signature),
            },
            "events": _events_json(self.events),
            "keys": [k.to_vkey() for k in self.keys],
            "checkpoint": self.checkpoint,
            "inclusion": _inclusion_json(self.inclusion),
        }
        if self.consistency:
            obj["consistency"] = [
                {"old_checkpoint": p.old_checkpoint, "hashes": [_b64(h) for h in p.hashes]}
                for p in self.consistency
            ]
        if self.disclosure is not None:
            obj["disclosure"] = self.disclosure
        return obj

    def to_json(self) -> str:
        """The bundle as RFC 8785 canonical JSON: compact, one spelling, no trailing newline."""
        return canonical_json(self.to_json_object()).decode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _events_json(events: Sequence[BundleEvent]) -> list[object]:
    return [
        {
            "log_index": e.log_index,
            "canonical": _b64(e.canonical),
            "key_id": e.key_id,
            "signature": _b64(e.signature),
        }
        for e in events
    ]


def _inclusion_json(proofs: Sequence[InclusionProof]) -> list[object]:
    return [{"log_index": p.log_index, "hashes": [_b64(h) for h in p.hashes]} for p in proofs]


# -- parsing --------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise BundleError(f"duplicate JSON member {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> object:
    raise BundleError(f"{name} is not allowed in JSON")


def _object(
    value: object, path: str, required: frozenset[str], optional: frozenset[str]
) -> dict[str, object]:
    if not isinstance(value, dict):
        raise BundleError(f"{path}: expected an object, got {_kind(value)}")
    missing = sorted(required - value.keys())
    if missing:
        raise BundleError(f"{path}: missing member {missing[0]!r}")
    extra = sorted(value.keys() - required - optional)
    if extra:
        raise BundleError(f"{path}: unexpected member {extra[0]!r}")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _string(value: object, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise BundleError(f"{path}: expected a non-empty string, got {_kind(value)}")
    return value


def _integer(value: object, path: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_SAFE_INTEGER:
        raise BundleError(f"{path}: expected an integer from 0 to 2**53 - 1, got {value!r}")
    return value


def _array(value: object, path: str) -> list[object]:
    if not isinstance(value, list):
        raise BundleError(f"{path}: expected an array, got {_kind(value)}")
    return value


def _bytes(value: object, path: str) -> bytes:
    return _b64decode(_string(value, path), BundleError, path)


def _key_id(value: object, path: str) -> str:
    text = _string(value, path)
    if _KEY_ID.fullmatch(text) is None:
        raise BundleError(f"{path}: key id {text[:40]!r} is not 8 lowercase hex digits")
    return text


def _hashes(value: object, path: str) -> tuple[bytes, ...]:
    hashes: list[bytes] = []
    for i, element in enumerate(_array(value, path)):
        where = f"{path}[{i}]"
        data = _bytes(element, where)
        if len(data) != HASH_SIZE:
            raise BundleError(f"{where}: a hash is {HASH_SIZE} bytes, got {len(data)}")
        hashes.append(data)
    return tuple(hashes)


def _item(value: object, path: str) -> ItemInfo:
    obj = _object(value, path, _ITEM_FIELDS, frozenset())
    try:
        digest = Digest.parse(_string(obj["digest"], f"{path}.digest"))
    except DigestError as exc:
        raise BundleError(f"{path}.digest: {exc}") from None
    return ItemInfo(
        id=_string(obj["id"], f"{path}.id"),
        case=_string(obj["case"], f"{path}.case"),
        kind=_string(obj["kind"], f"{path}.kind"),
        title=_string(obj["title"], f"{path}.title"),
        language=_string(obj["language"], f"{path}.language"),
        digest=digest,
        size=_integer(obj["size"], f"{path}.size"),
        media_type=_string(obj["media_type"], f"{path}.media_type"),
    )


def _item_signature(value: object, path: str) -> ItemSignature:
    obj = _object(value, path, frozenset({"key_id", "signature"}), frozenset())
    return ItemSignature(
        key_id=_key_id(obj["key_id"], f"{path}.key_id"),
        signature=_bytes(obj["signature"], f"{path}.signature"),
    )


def _event(value: object, path: str) -> BundleEvent:
    obj = _object(
        value, path, frozenset({"log_index", "canonical", "key_id", "signature"}), frozenset()
    )
    return BundleEvent(
        log_index=_integer(obj["log_index"], f"{path}.log_index"),
        canonical=_bytes(obj["canonical"], f"{path}.canonical"),
        key_id=_key_id(obj["key_id"], f"{path}.key_id"),
        signature=_bytes(obj["signature"], f"{path}.signature"),
    )


def _keys(value: object, path: str) -> tuple[VerifierKey, ...]:
    keys: list[VerifierKey] = []
    by_id: dict[str, VerifierKey] = {}
    for i, element in enumerate(_array(value, path)):
        where = f"{path}[{i}]"
        try:
            key = VerifierKey.parse(_string(element, where))
        except KeyFormatError as exc:
            raise BundleError(f"{where}: {exc}") from None
        if key.key_id_hex in by_id:
            raise BundleError(f"{where}: key id {key.key_id_hex} is listed twice")
        by_id[key.key_id_hex] = key
        keys.append(key)
    return tuple(keys)


def _inclusion(value: object, path: str) -> InclusionProof:
    obj = _object(value, path, frozenset({"log_index", "hashes"}), frozenset())
    return InclusionProof(
        log_index=_integer(obj["log_index"], f"{path}.log_index"),
        hashes=_hashes(obj["hashes"], f"{path}.hashes"),
    )


def _consistency(value: object, path: str) -> ConsistencyProof:
    obj = _object(value, path, frozenset({"old_checkpoint", "hashes"}), frozenset())
    return ConsistencyProof(
        old_checkpoint=_string(obj["old_checkpoint"], f"{path}.old_checkpoint"),
        hashes=_hashes(obj["hashes"], f"{path}.hashes"),
    )


def _load_json(data: bytes | str) -> object:
    """Strict JSON of a bundle file: UTF-8, no duplicate members, no NaN (BundleError)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BundleError(f"bundle is not UTF-8 (byte {exc.start})") from None
    if not isinstance(data, str):
        raise BundleError(f"a bundle is bytes or text, got {type(data).__name__}")
    try:
        return json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BundleError(f"bundle is not JSON: {exc.msg} at offset {exc.pos}") from None
    except RecursionError:
        raise BundleError("bundle JSON is nested too deeply") from None


def parse_bundle(data: bytes | str) -> Bundle:
    """Read a bundle strictly: format, types, members, base64; nothing is verified yet.

    Raises :class:`BundleError` naming the JSON path (``$.events[2].signature``) for a
    wrong format, a missing or unexpected member, a wrong type, bad base64, invalid
    UTF-8 or JSON, or a duplicate member.
    """
    root = _load_json(data)
    if isinstance(root, dict) and root.get("format") != FORMAT:
        found = root.get("format")
        raise BundleError(f"$.format: {found!r} is not a supported bundle format ({FORMAT!r})")
    obj = _object(root, "$", _TOP_FIELDS, _OPTIONAL_TOP_FIELDS)
    disclosure = obj.get("disclosure")
    if disclosure is not None and not isinstance(disclosure, dict):
        raise BundleError(f"$.disclosure: expected an object, got {_kind(disclosure)}")
    return Bundle(
        item=_item(obj["item"], "$.item"),
        item_signature=_item_signature(obj["item_signature"], "$.item_signature"),
        events=tuple(
            _event(e, f"$.events[{i}]") for i, e in enumerate(_array(obj["events"], "$.events"))
        ),
        keys=_keys(obj["keys"], "$.keys"),
        checkpoint=_string(obj["checkpoint"], "$.checkpoint"),
        inclusion=tuple(
            _inclusion(p, f"$.inclusion[{i}]")
            for i, p in enumerate(_array(obj["inclusion"], "$.inclusion"))
        ),
        consistency=tuple(
            _consistency(p, f"$.consistency[{i}]")
            for i, p in enumerate(_array(obj.get("consistency", []), "$.consistency"))
        ),
        disclosure=disclosure,
    )


# -- building -------------------------------------------------------------------------


def item_statement(item: ItemInfo, *, last_event: Digest, tree_size: int) -> bytes:
    """The bytes the log key signs for ``item_signature`` (RFC 8785 canonical JSON).

    It binds the item's description to the digest of its last event as of the
    checkpoint of ``tree_size`` entries, so neither the description nor the end of the
    history (a dropped last event) can be changed without breaking the signature.
    """
    return canonical_json(
        {
            "statement": ITEM_STATEMENT,
            "item": item.to_json_object(),
            "last_event": str(last_event),
            "tree_size": tree_size,
        }
    )


def sign_item(
    item: ItemInfo, *, last_event: Digest, tree_size: int, key: SigningKey
) -> ItemSignature:
    """Sign the item statement with the log key (the key that signs checkpoints)."""
    message = item_statement(item, last_event=last_event, tree_size=tree_size)
    return ItemSignature(key_id=key.key_id_hex, signature=key.sign(message))


def build_bundle(
    *,
    item: ItemInfo,
    item_signature: ItemSignature,
    events: Sequence[BundleEvent],
    keys: Sequence[VerifierKey],
    checkpoint_note: str,
    inclusion: Sequence[InclusionProof],
    consistency: Sequence[ConsistencyProof] = (),
    disclosure: Mapping[str, object] | None = None,
) -> Bundle:
    """Assemble a bundle and check that it writes and reads back to the same value.

    Nothing is verified here (use :func:`verify_bundle`); a value that cannot be written
    as a valid bundle file raises :class:`BundleError`.
    """
    bundle = Bundle(
        item=item,
        item_signature=item_signature,
        events=tuple(events),
        keys=tuple(keys),
        checkpoint=checkpoint_note,
        inclusion=tuple(inclusion),
        consistency=tuple(consistency),
        disclosure=None if disclosure is None else dict(disclosure),
    )
    try:
        text = bundle.to_json()
    except CanonicalizationError as exc:
        raise BundleError(f"cannot write the bundle: {exc}") from None
    if parse_bundle(text) != bundle:
        raise BundleError("the bundle does not read back as built (check types and values)")
    return bundle


# -- the report -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Check:
    """One check that held: a short name and what exactly was established."""

    name: str
    detail: str


@dataclass(frozen=True, kw_only=True)
class TimelineEntry:
    """One line of the custody timeline: when, what, who, signed by which key, where logged."""

    seq: int
    at: str
    type: str
    actor: str
    key_id: str
    key_name: str
    key_pinned: bool
    log_index: int
    details: dict[str, object]


@dataclass(frozen=True, kw_only=True)
class VerificationReport:
    """What :func:`verify_bundle` established. Only returned when every check held."""

    item: ItemInfo
    checkpoint: Checkpoint
    checks: tuple[Check, ...]
    timeline: tuple[TimelineEntry, ...]
    log_key_pinned: bool
    exhibit_checked: bool
    not_checked: tuple[str, ...]
    warnings: tuple[str, ...]

    def to_json_object(self) -> dict[str, object]:
        return {
            "verdict": "verified",
            "item": self.item.to_json_object(),
            "checkpoint": {
                "origin": self.checkpoint.origin,
                "size": self.checkpoint.size,
                "root_hash": _b64(self.checkpoint.root_hash),
            },
            "log_key_pinned": self.log_key_pinned,
            "exhibit_checked": self.exhibit_checked,
            "checks": [{"name": c.name, "detail": c.detail} for c in self.checks],
            "not_checked": list(self.not_checked),
            "warnings": list(self.warnings),
            "timeline": [
                {
                    "seq": t.seq,
                    "at": t.at,
                    "type": t.type,
                    "actor": t.actor,
                    "key_id": t.key_id,
                    "key_name": t.key_name,
                    "key_pinned": t.key_pinned,
                    "log_index": t.log_index,
                    "details": t.details,
                }
                for t in self.timeline
            ],
        }


# -- verification ---------------------------------------------------------------------


class _Signed(Protocol):
    """What the shared checks read: a full bundle, or a public one (evidence.public_bundle)."""

    @property
    def events(self) -> tuple[BundleEvent, ...]: ...
    @property
    def keys(self) -> tuple[VerifierKey, ...]: ...
    @property
    def checkpoint(self) -> str: ...
    @property
    def inclusion(self) -> tuple[InclusionProof, ...]: ...


@dataclass(kw_only=True)
class _State:
    bundle: _Signed
    trusted: tuple[VerifierKey, ...] | None
    checks: list[Check] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    events: list[dict[str, object]] = field(default_factory=list)
    used_keys: set[str] = field(default_factory=set)
    log_keys: list[VerifierKey] = field(default_factory=list)

    def ok(self, name: str, detail: str) -> None:
        self.checks.append(Check(name=name, detail=detail))


def _label(state: _State, index: int) -> str:
    """``event 3 (type sealed)``: called once every event has been read."""
    return f"event {index} (type {state.events[index]['type']})"


def _check_exhibit(state: _State, bundle: Bundle, exhibit: bytes | Path | None) -> None:
    item = bundle.item
    if exhibit is None:
        state.not_checked.append(
            "exhibit file: none given, so the digest was not compared with a file "
            "(give the file to check it is the one the record is about)"
        )
        return
    writer = DigestWriter()
    if isinstance(exhibit, Path):
        with exhibit.open("rb") as f:
            while chunk := f.read(CHUNK_SIZE):
                writer.update(chunk)
    else:
        writer.update(exhibit)
    actual = writer.digest()
    try:
        item.digest.check(actual)
    except DigestMismatch:
        raise DigestMismatch(
            f"exhibit file does not match the bundle: the file's SHA-256 is {actual}, "
            f"the bundle's item digest is {item.digest}"
        ) from None
    if writer.size != item.size:
        raise DigestMismatch(
            f"exhibit file is {writer.size} bytes, the bundle says {item.size} bytes"
        )
    state.ok("exhibit digest", f"the file's SHA-256 is {item.digest} ({item.size} bytes)")


def _check_canonical(state: _State) -> None:
    if not state.bundle.events:
        raise ChainError("the bundle has no events: an item's history starts with its first event")
    for i, bundled in enumerate(state.bundle.events):
        try:
            value = parse_canonical(bundled.canonical)
        except CanonicalizationError as exc:
            raise CanonicalizationError(f"event {i} is not canonical JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ChainError(f"event {i}: an event is a JSON object, got {_kind(value)}")
        try:
            state.events.append(validate_event(value))
        except (ChainError, CanonicalizationError) as exc:
            raise ChainError(f"event {i} is not a valid custody event: {exc}") from None
    state.ok(
        "event format",
        f"{len(state.events)} custody events are RFC 8785 canonical JSON of the v1 schema",
    )


def _bundle_keys(state: _State) -> dict[str, VerifierKey]:
    return {k.key_id_hex: k for k in state.bundle.keys}


def _is_pinned(state: _State, key: VerifierKey) -> bool:
    return state.trusted is not None and key in state.trusted


def _check_event_signatures(state: _State) -> None:
    keys = _bundle_keys(state)
    for i, bundled in enumerate(state.bundle.events):
        key = keys.get(bundled.key_id)
        if key is None:
            raise SignatureError(
                f"signature of {_label(state, i)}: key {bundled.key_id} is not in the bundle"
            )
        try:
            key.verify(bundled.signature, bundled.canonical)
        except SignatureError:
            raise SignatureError(
                f"signature of {_label(state, i)} does not verify with key {bundled.key_id} "
                f"({key.name})"
            ) from None
        state.used_keys.add(key.key_id_hex)
    signers = sorted({e.key_id for e in state.bundle.events})
    state.ok(
        "event signatures",
        f"every event's Ed25519 signature verifies (keys {', '.join(signers)})",
    )


def _check_chain(state: _State) -> None:
    try:
        verify_chain(state.events)
    except ChainError as exc:
        raise ChainError(f"custody chain is broken: {exc}") from None
    state.ok(
        "custody chain",
        f"events 0 to {len(state.events) - 1} form one unbroken hash chain from the first",
    )


def _check_about_item(state: _State, bundle: Bundle) -> None:
    item = bundle.item
    withheld: list[str] = []
    for i, event in enumerate(state.events):
        if event["case"] != item.case or event["item"] != item.id:
            raise ChainError(
                f"{_label(state, i)} is about case {event['case']!r} item {event['item']!r}, "
                f"but the bundle is for case {item.case!r} item {item.id!r}"
            )
        # A public record carries the sealed and published events, so these withhold the
        # original's digest (null); the chain and the item signature still bind them.
        if event["item_digest"] is None:
            withheld.append(str(i))
        elif event["item_digest"] != str(item.digest):
            raise ChainError(
                f"{_label(state, i)} records item digest {event['item_digest']}, "
                f"but the bundle's item digest is {item.digest}"
            )
    detail = f"every event names case {item.case!r}, item {item.id!r} and digest {item.digest}"
    if withheld:
        detail += (
            f", except that event{'s' if len(withheld) > 1 else ''} {', '.join(withheld)} "
            "withhold the digest (null), as events a public record may carry do"
        )
    state.ok("events are about this item", detail)


def _open_log_note(
    state: _State, note: str, what: str, *, every_signature: bool = True
) -> tuple[Checkpoint, list[VerifierKey]]:
    """Verify a checkpoint note's signatures; return it and the log keys that signed it.

    With ``every_signature`` (notes inside the bundle), every signature line must be by
    a key the bundle lists and must verify, so no byte of the note goes unchecked;
    without it (a checkpoint the user brings), lines by other keys, such as witness
    cosignatures, are skipped as c2sp.org/signed-note says. At least one signature must
    be by a log key, a key named like the checkpoint's origin, and, when keys were
    pinned, by a pinned one.
    """
    error = CheckpointError
    try:
        text, signatures = parse_note(note)
        checkpoint = Checkpoint.from_text(text)
    except (NoteError, CheckpointError) as exc:
        raise error(f"{what} is malformed: {exc}") from None
    known = (*state.bundle.keys, *(state.trusted or ()))
    by_name_id = {(k.name, k.key_id): k for k in known}
    signers: list[VerifierKey] = []
    for sig in signatures:
        key = by_name_id.get((sig.name, sig.key_id))
        if key is None and not every_signature:
            continue
        if key is None:
            raise error(
                f"{what} carries a signature by {sig.name} ({sig.key_id.hex()}), "
                "a key the bundle does not list"
            )
        try:
            key.verify(sig.signature, text.encode("utf-8"))
        except SignatureError:
            raise NoteError(
                f"signature of the {what} does not verify with key {key.key_id_hex} ({key.name})"
            ) from None
        signers.append(key)
    log_signers = [k for k in signers if k.name == checkpoint.origin]
    if not log_signers:
        raise error(
            f"{what} is for log {checkpoint.origin!r} but none of its signatures is by a key "
            "of that name"
        )
    if state.trusted is not None:
        log_signers = [k for k in log_signers if k in state.trusted]
        if not log_signers:
            pinned = ", ".join(f"{k.name} ({k.key_id_hex})" for k in state.trusted)
            raise error(
                f"{what} is not signed by a trusted key: it is signed by "
                f"{', '.join(f'{k.name} ({k.key_id_hex})' for k in signers)}; trusted: {pinned}"
            )
    state.used_keys.update(k.key_id_hex for k in signers)
    return checkpoint, log_signers


def _check_checkpoint(state: _State) -> Checkpoint:
    checkpoint, log_keys = _open_log_note(state, state.bundle.checkpoint, "checkpoint")
    state.log_keys = log_keys
    names = ", ".join(f"{k.name} ({k.key_id_hex})" for k in log_keys)
    if state.trusted is not None:
        state.ok(
            "checkpoint signature",
            f"the log checkpoint ({checkpoint.size} entries) is signed by the trusted key {names}",
        )
    else:
        state.ok(
            "checkpoint signature",
            f"the log checkpoint ({checkpoint.size} entries) is signed by {names}, "
            "a key taken from the bundle itself",
        )
        state.warnings.append(
            "the log key was NOT PINNED: the checkpoint was checked with a key taken from the "
            "bundle itself, so anyone could have made this bundle; give the archive's published "
            "key (--key) to check that it comes from the archive"
        )
    return checkpoint


def _check_item_signature(state: _State, bundle: Bundle, checkpoint: Checkpoint) -> None:
    sig = bundle.item_signature
    key = next((k for k in state.log_keys if k.key_id_hex == sig.key_id), None)
    if key is None:
        raise SignatureError(
            f"the item description is signed by key {sig.key_id}, which is not a key that "
            "signed the checkpoint"
        )
    message = item_statement(
        bundle.item, last_event=event_digest(state.events[-1]), tree_size=checkpoint.size
    )
    try:
        key.verify(sig.signature, message)
    except SignatureError:
        raise SignatureError(
            f"signature of the item description does not verify with key {key.key_id_hex} "
            f"({key.name}): the title, kind, language, size, media type or the last event "
            "differ from what the archive signed"
        ) from None
    state.ok(
        "item description",
        f"the log key {key.key_id_hex} signed this description and that event "
        f"{len(state.events) - 1} is the item's last as of the checkpoint",
    )


def _check_keys_used(state: _State) -> None:
    unused = [k for k in state.bundle.keys if k.key_id_hex not in state.used_keys]
    if unused:
        raise BundleError(
            f"key {unused[0].key_id_hex} ({unused[0].name}) is listed in the bundle but "
            "signed nothing in it"
        )


def _check_inclusion(state: _State, checkpoint: Checkpoint) -> None:
    events, proofs = state.bundle.events, state.bundle.inclusion
    for i, bundled in enumerate(events):
        if i and bundled.log_index <= events[i - 1].log_index:
            raise InclusionProofError(
                f"{_label(state, i)} is at log index {bundled.log_index}, not after the "
                f"previous event's {events[i - 1].log_index}"
            )
        if i >= len(proofs):
            raise InclusionProofError(f"no inclusion proof for {_label(state, i)}")
        proof = proofs[i]
        if proof.log_index != bundled.log_index:
            raise InclusionProofError(
                f"inclusion proof {i} is for log index {proof.log_index}, but "
                f"{_label(state, i)} is at log index {bundled.log_index}"
            )
        try:
            verify_inclusion(
                leaf_hash=leaf_hash(bundled.canonical),
                index=bundled.log_index,
                tree_size=checkpoint.size,
                proof=proof.hashes,
                root=checkpoint.root_hash,
            )
        except InclusionProofError as exc:
            raise InclusionProofError(
                f"{_label(state, i)} is not in the log at index {bundled.log_index} "
                f"of the signed checkpoint: {exc}"
            ) from None
    if len(proofs) > len(events):
        raise InclusionProofError(
            f"the bundle has {len(proofs)} inclusion proofs for {len(events)} events"
        )
    state.ok(
        "log inclusion",
        f"every event is in the archive's log at its index, under the signed checkpoint "
        f"of {checkpoint.size} entries",
    )


def _check_consistency(
    state: _State, bundle: Bundle, checkpoint: Checkpoint, since_checkpoint: str | None
) -> None:
    proofs: dict[int, tuple[bytes, ...]] = {}
    for i, entry in enumerate(bundle.consistency):
        what = f"old checkpoint of consistency proof {i}"
        old, _ = _open_log_note(state, entry.old_checkpoint, what)
        if old.size in proofs:
            raise ConsistencyProofError(f"consistency proof {i} repeats the old size {old.size}")
        _consistent(old, checkpoint, entry.hashes, f"consistency proof {i}")
        proofs[old.size] = entry.hashes
    if proofs:
        sizes = ", ".join(str(s) for s in sorted(proofs))
        state.ok(
            "log consistency",
            f"the archive's earlier checkpoints at sizes {sizes} are prefixes of the log at "
            f"size {checkpoint.size}",
        )
    if since_checkpoint is None:
        return
    what = "checkpoint given with --since"
    old, _ = _open_log_note(state, since_checkpoint, what, every_signature=False)
    if old.size > checkpoint.size:
        raise ConsistencyProofError(
            f"the {what} ({old.size} entries) is newer than the bundle's checkpoint "
            f"({checkpoint.size} entries): ask for a newer bundle"
        )
    hashes = proofs.get(old.size, ())
    if old.size < checkpoint.size and old.size not in proofs:
        raise ConsistencyProofError(
            f"the bundle has no consistency proof from size {old.size}, the size of the {what}"
        )
    _consistent(old, checkpoint, hashes, f"the {what}")
    state.ok(
        "consistency with your checkpoint",
        f"the log you saw at size {old.size} is a prefix of the log at size {checkpoint.size}",
    )


def _consistent(old: Checkpoint, new: Checkpoint, hashes: Sequence[bytes], what: str) -> None:
    if old.origin != new.origin:
        raise ConsistencyProofError(
            f"{what} is for log {old.origin!r}, the bundle's checkpoint for {new.origin!r}"
        )
    try:
        verify_consistency(
            old_size=old.size,
            new_size=new.size,
            old_root=old.root_hash,
            new_root=new.root_hash,
            proof=hashes,
        )
    except ConsistencyProofError as exc:
        raise ConsistencyProofError(
            f"{what}: the log at size {old.size} is not proven to be a prefix of the log at "
            f"size {new.size}: {exc}"
        ) from None


def _check_disclosure(state: _State, bundle: Bundle) -> None:
    if bundle.disclosure is not None:
        state.not_checked.append(
            "disclosure proof: this bundle carries one (for redacted public text) but this "
            "version of the verifier does not check it; do not rely on the redacted text in it"
        )


def _timeline(state: _State) -> tuple[TimelineEntry, ...]:
    keys = _bundle_keys(state)
    entries: list[TimelineEntry] = []
    for bundled, event in zip(state.bundle.events, state.events, strict=True):
        key = keys[bundled.key_id]
        details = event["details"]
        assert isinstance(details, dict)  # validate_event checked it
        entries.append(
            TimelineEntry(
                seq=_as_int(event["seq"]),
                at=str(event["at"]),
                type=str(event["type"]),
                actor=str(event["actor"]),
                key_id=key.key_id_hex,
                key_name=key.name,
                key_pinned=_is_pinned(state, key),
                log_index=bundled.log_index,
                details=details,
            )
        )
    return tuple(entries)


def _as_int(value: object) -> int:
    assert isinstance(value, int)  # validate_event checked it
    return value


def verify_bundle(
    bundle: Bundle,
    *,
    exhibit: bytes | Path | None = None,
    trusted_keys: Sequence[VerifierKey] | None = None,
    since_checkpoint: str | None = None,
) -> VerificationReport:
    """Verify everything in the bundle; return the report or raise the first failure.

    ``exhibit`` is the item's original (bytes, or a path read in chunks); ``trusted_keys``
    are the archive's published keys, and pin the log key when given (otherwise the
    checkpoint is checked with the bundle's own keys and the report says so);
    ``since_checkpoint`` is a signed checkpoint the caller saw earlier: the bundle must
    prove that the log then is a prefix of the log now.
    """
    if trusted_keys is not None and not trusted_keys:
        raise VerificationError("trusted_keys is empty: give at least one key, or None")
    state = _State(bundle=bundle, trusted=None if trusted_keys is None else tuple(trusted_keys))
    _check_exhibit(state, bundle, exhibit)
    _check_canonical(state)
    _check_event_signatures(state)
    _check_chain(state)
    _check_about_item(state, bundle)
    checkpoint = _check_checkpoint(state)
    _check_item_signature(state, bundle, checkpoint)
    _check_inclusion(state, checkpoint)
    _check_consistency(state, bundle, checkpoint, since_checkpoint)
    _check_keys_used(state)
    _check_disclosure(state, bundle)
    if since_checkpoint is None and bundle.consistency:
        state.not_checked.append(
            "consistency with a checkpoint you hold: none given (--since), so only the "
            "archive's own earlier checkpoints were compared"
        )
    return VerificationReport(
        item=bundle.item,
        checkpoint=checkpoint,
        checks=tuple(state.checks),
        timeline=_timeline(state),
        log_key_pinned=trusted_keys is not None,
        exhibit_checked=exhibit is not None,
        not_checked=tuple(state.not_checked),
        warnings=tuple(state.warnings),
    )
