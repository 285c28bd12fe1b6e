"""Public bundles (``temoin-public-bundle/v1``): a published record anyone can verify.

A public record must be checkable without revealing the original: it carries no digest of
the original (with the public text in hand, that digest would let anyone confirm a guessed
name by hashing) and no event that names one. It holds the item's ``sealed`` and
``published`` events, both written with ``item_digest: null``; the redacted text; and a
disclosure proof (:mod:`evidence.disclosure`) that rebuilds the commitment the ``sealed``
event signed. Checks, in order: event format, event signatures, the two events, the
checkpoint signature, log inclusion, the disclosure proof, the published text digest.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from evidence.bundle import (
    BundleEvent,
    Check,
    InclusionProof,
    TimelineEntry,
    _array,
    _as_int,
    _b64,
    _check_canonical,
    _check_checkpoint,
    _check_event_signatures,
    _check_inclusion,
    _check_keys_used,
    _event,
    _events_json,
    _inclusion,
    _inclusion_json,
    _keys,
    _load_json,
    _object,
    _State,
    _string,
    _timeline,
)
from evidence.canonical import canonical_json
from evidence.checkpoint import Checkpoint
from evidence.digest import Digest
from evidence.disclosure import Disclosure, DisclosureError, parse_disclosure, verify_disclosure
from evidence.errors import BundleError, ChainError, VerificationError
from evidence.signing import VerifierKey

FORMAT = "temoin-public-bundle/v1"
_TOP = frozenset(
    {"format", "item", "public_text", "disclosure", "events", "keys", "checkpoint", "inclusion"}
)
_ITEM = frozenset({"id", "case", "kind", "title", "language"})


@dataclass(frozen=True, kw_only=True)
class PublicItem:
    id: str
    case: str
    kind: str
    title: str
    language: str

    def to_json_object(self) -> dict[str, object]:
        return {
            "id": self.id,
            "case": self.case,
            "kind": self.kind,
            "title": self.title,
            "language": self.language,
        }


@dataclass(frozen=True, kw_only=True)
class PublicBundle:
    item: PublicItem
    public_text: str
    disclosure: Disclosure
    events: tuple[BundleEvent, ...]
    keys: tuple[VerifierKey, ...]
    checkpoint: str
    inclusion: tuple[InclusionProof, ...]

    def to_json_object(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "item": self.item.to_json_object(),
            "public_text": self.public_text,
            "disclosure": self.disclosure.to_json_object(),
            "events": _events_json(self.events),
            "keys": [k.to_vkey() for k in self.keys],
            "checkpoint": self.checkpoint,
            "inclusion": _inclusion_json(self.inclusion),
        }

    def to_json(self) -> str:
        """RFC 8785 canonical JSON, like the full bundle."""
        return canonical_json(self.to_json_object()).decode("utf-8")


def parse_public_bundle(data: bytes | str) -> PublicBundle:
    """Read a public bundle strictly (BundleError naming the JSON path); nothing verified."""
    root = _load_json(data)
    if isinstance(root, dict) and root.get("format") != FORMAT:
        raise BundleError(f"$.format: {root.get('format')!r} is not {FORMAT!r}")
    obj = _object(root, "$", _TOP, frozenset())
    item = _object(obj["item"], "$.item", _ITEM, frozenset())
    try:
        disclosure = parse_disclosure(obj["disclosure"], path="$.disclosure")
    except DisclosureError as exc:
        raise BundleError(str(exc)) from None
    return PublicBundle(
        item=PublicItem(**{k: _string(item[k], f"$.item.{k}") for k in sorted(_ITEM)}),
        public_text=_string(obj["public_text"], "$.public_text"),
        disclosure=disclosure,
        events=tuple(
            _event(e, f"$.events[{i}]") for i, e in enumerate(_array(obj["events"], "$.events"))
        ),
        keys=_keys(obj["keys"], "$.keys"),
        checkpoint=_string(obj["checkpoint"], "$.checkpoint"),
        inclusion=tuple(
            _inclusion(p, f"$.inclusion[{i}]")
            for i, p in enumerate(_array(obj["inclusion"], "$.inclusion"))
        ),
    )


def build_public_bundle(
    *,
    item: PublicItem,
    public_text: str,
    disclosure: Disclosure,
    events: Sequence[BundleEvent],
    keys: Sequence[VerifierKey],
    checkpoint_note: str,
    inclusion: Sequence[InclusionProof],
) -> PublicBundle:
    """Assemble a public bundle and check it reads back the same (nothing verified here)."""
    bundle = PublicBundle(
        item=item,
        public_text=public_text,
        disclosure=disclosure,
        events=tuple(events),
        keys=tuple(keys),
        checkpoint=checkpoint_note,
        inclusion=tuple(inclusion),
    )
    if parse_public_bundle(bundle.to_json()) != bundle:  # pragma: no cover - a bug if reached
        raise BundleError("the public bundle does not read back as written")
    return bundle


@dataclass(frozen=True, kw_only=True)
class PublicReport:
    """What :func:`verify_public_bundle` established; returned only when every check held."""

    item: PublicItem
    public_text: str
    checkpoint: Checkpoint
    checks: tuple[Check, ...]
    timeline: tuple[TimelineEntry, ...]
    withheld: tuple[str, ...]
    log_key_pinned: bool
    warnings: tuple[str, ...]


def _check_the_two_events(
    state: _State, bundle: PublicBundle
) -> tuple[dict[str, object], dict[str, object]]:
    if [e.get("type") for e in state.events] != ["sealed", "published"]:
        raise ChainError("a public bundle holds the item's sealed event, then its published event")
    sealed, published = state.events
    for event in state.events:
        if (event["item"], event["case"]) != (bundle.item.id, bundle.item.case):
            raise ChainError(
                f"the {event['type']} event is about item {event['item']!r} "
                f"of case {event['case']!r}, not this record "
                f"({bundle.item.id!r} of {bundle.item.case!r})"
            )
        if event["item_digest"] is not None:
            raise ChainError(
                f"the {event['type']} event names the original's digest: a public record must not"
            )
    if _as_int(sealed["seq"]) >= _as_int(published["seq"]):
        raise ChainError("the published event must come after the sealed event")
    state.ok(
        "the two events",
        "the record's sealed and published events, signed, neither naming the original",
    )
    return sealed, published


def _commitment(sealed: dict[str, object]) -> tuple[bytes, int]:
    details = sealed["details"]
    commitment = details.get("commitment") if isinstance(details, dict) else None
    if not isinstance(commitment, dict) or commitment.get("scheme") != "temoin-disclosure/v1":
        raise DisclosureError("the sealed event carries no temoin-disclosure/v1 commitment")
    root, count = commitment.get("root"), commitment.get("count")
    if not isinstance(root, str) or not isinstance(count, int):
        raise DisclosureError("the sealed event's commitment needs a base64 root and a count")
    try:
        return base64.b64decode(root, validate=True), count
    except ValueError:
        raise DisclosureError("the sealed event's commitment root is not base64") from None


def verify_public_bundle(
    bundle: PublicBundle, *, trusted_keys: Sequence[VerifierKey] | None = None
) -> PublicReport:
    """Verify a public bundle; return the report or raise the first failure."""
    if trusted_keys is not None and not trusted_keys:
        raise VerificationError("trusted_keys is empty: give at least one key, or None")
    state = _State(bundle=bundle, trusted=None if trusted_keys is None else tuple(trusted_keys))
    _check_canonical(state)
    _check_event_signatures(state)
    sealed, published = _check_the_two_events(state, bundle)
    checkpoint = _check_checkpoint(state)
    _check_inclusion(state, checkpoint)
    _check_keys_used(state)
    root, count = _commitment(sealed)
    rendered = verify_disclosure(bundle.disclosure, root=root, count=count)
    if rendered != bundle.public_text:
        raise DisclosureError("the public text is not what the disclosure proof renders")
    labels = tuple(part.label for part in bundle.disclosure.hidden)
    state.ok(
        "disclosure proof",
        f"the visible text is exactly what was sealed; {len(labels)} passage(s) were withheld"
        + (f", labelled {', '.join(sorted(set(labels)))}" if labels else "")
        + "; the withheld words were not revealed to this check",
    )
    details = published["details"]
    assert isinstance(details, dict)  # validate_event checked it
    digest = str(Digest.sha256(bundle.public_text.encode("utf-8")))
    if details.get("public_text_digest") != digest:
        raise DisclosureError("the public text's SHA-256 is not the one the published event signed")
    if details.get("commitment_root") != _b64(root):
        raise DisclosureError("the published event names another commitment than the sealed event")
    for field in ("title", "kind", "language"):
        signed = details.get("public_title" if field == "title" else field)
        if signed != getattr(bundle.item, field):
            raise ChainError(f"the record's {field} is not the one the published event signed")
    state.ok(
        "published text",
        f"the published event signed this text ({digest}), title, kind and language",
    )
    return PublicReport(
        item=bundle.item,
        public_text=bundle.public_text,
        checkpoint=checkpoint,
        checks=tuple(state.checks),
        timeline=_timeline(state),
        withheld=labels,
        log_key_pinned=trusted_keys is not None,
        warnings=tuple(state.warnings),
    )


__all__ = [
    "FORMAT",
    "PublicBundle",
    "PublicItem",
    "PublicReport",
    "build_public_bundle",
    "parse_public_bundle",
    "verify_public_bundle",
]
