"""Public bundles (``temoin-public-bundle/v1``): a published record anyone can verify.

A public record must be checkable without revealing the original: it carries no digest of
the original (with the public text in hand, that digest would let anyone confirm a guessed
name by hashing) and no event that names one. It holds the item's ``sealed`` and
``published`` events, both written with ``item_digest: null``; the redacted text; and a
disclosure proof (:mod:`evidence.disclosure`) that rebuilds the commitment the ``sealed``
event signed. Documented in ``docs/public-bundle.md`` with a JSON Schema in
``docs/public-bundle.schema.json``.

:func:`verify_public_bundle` runs, in order, raising the first failure:

1. event format: both events are RFC 8785 canonical v1 custody events  -> ChainError, ...
2. event signatures                                                     -> SignatureError
3. sealing and publication of this item: types ``sealed`` then
   ``published``, this item and case, ``item_digest`` null, seq
   increasing (``prev`` checked when they are consecutive), the exact
   details members, the same commitment in both                         -> ChainError,
                                                                           DisclosureError
4. checkpoint signature (pinned keys, or the bundle's own, with a warning) -> CheckpointError
5. inclusion of both events at the signed checkpoint's size             -> InclusionProofError
6. the disclosure proof rebuilds the sealed root and renders exactly
   ``public_text``                                                      -> DisclosureError
7. SHA-256 of ``public_text`` is the digest the published event signed  -> DigestMismatch
8. title, kind and language are the ones the published event signed     -> ChainError
9. every listed key signed something                                    -> BundleError

The shared checks (1, 2, 4, 5, 9) are :mod:`evidence.bundle`'s own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

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
from evidence.canonical import canonical_json, parse_canonical
from evidence.checkpoint import Checkpoint
from evidence.custody import event_digest
from evidence.digest import Digest
from evidence.disclosure import (
    Commitment,
    Disclosure,
    DisclosureError,
    parse_commitment,
    parse_disclosure,
    render,
    verify_disclosure,
)
from evidence.errors import (
    BundleError,
    CanonicalizationError,
    ChainError,
    DigestError,
    DigestMismatch,
    VerificationError,
)
from evidence.signing import VerifierKey

__all__ = [
    "FORMAT",
    "PublicBundle",
    "PublicItem",
    "PublicReport",
    "build_public_bundle",
    "parse_public_bundle",
    "verify_public_bundle",
]

FORMAT: Final = "temoin-public-bundle/v1"
_TOP: Final = frozenset(
    {"format", "item", "public_text", "disclosure", "events", "keys", "checkpoint", "inclusion"}
)
_ITEM: Final = frozenset({"id", "case", "kind", "title", "language"})
_SEALED_DETAILS: Final = frozenset({"commitment"})
_PUBLISHED_DETAILS: Final = frozenset(
    {"public_text_digest", "commitment_root", "public_title", "kind", "language"}
)


@dataclass(frozen=True, kw_only=True)
class PublicItem:
    """The record as the public sees it: no digest, no size, nothing of the original."""

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
    """A parsed ``temoin-public-bundle/v1`` file. Nothing in it is trusted until verified."""

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
    """Read a public bundle strictly; nothing is verified yet.

    Raises :class:`BundleError` naming the JSON path (``$.disclosure.parts[3].salt``) for a
    wrong format, a missing or unexpected member, a wrong type, bad base64, invalid UTF-8
    or JSON, a duplicate member, or a number of events other than two.
    """
    root = _load_json(data)
    if isinstance(root, dict) and root.get("format") != FORMAT:
        raise BundleError(f"$.format: {root.get('format')!r} is not {FORMAT!r}")
    obj = _object(root, "$", _TOP, frozenset())
    item = _object(obj["item"], "$.item", _ITEM, frozenset())
    try:
        disclosure = parse_disclosure(obj["disclosure"], path="$.disclosure")
    except DisclosureError as exc:
        raise BundleError(str(exc)) from None
    events = _array(obj["events"], "$.events")
    if len(events) != 2:
        raise BundleError(
            f"$.events: a public bundle carries exactly two events (sealed, then published), "
            f"got {len(events)}"
        )
    return PublicBundle(
        item=PublicItem(**{k: _string(item[k], f"$.item.{k}") for k in sorted(_ITEM)}),
        public_text=_string(obj["public_text"], "$.public_text"),
        disclosure=disclosure,
        events=tuple(_event(e, f"$.events[{i}]") for i, e in enumerate(events)),
        keys=_keys(obj["keys"], "$.keys"),
        checkpoint=_string(obj["checkpoint"], "$.checkpoint"),
        inclusion=tuple(
            _inclusion(p, f"$.inclusion[{i}]")
            for i, p in enumerate(_array(obj["inclusion"], "$.inclusion"))
        ),
    )


def _refuse_named_digest(events: Sequence[BundleEvent]) -> None:
    """Never write a public file whose events name the original's digest."""
    for i, bundled in enumerate(events):
        try:
            event = parse_canonical(bundled.canonical)
        except CanonicalizationError as exc:
            raise BundleError(f"event {i} is not canonical JSON: {exc}") from None
        if not isinstance(event, dict) or event.get("item_digest") is not None:
            raise BundleError(
                f"event {i} names the original's digest (or is not an event): a public "
                "record must only carry events written with item_digest null"
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
    """Assemble a public bundle; check it reads back the same.

    Signatures and proofs are not verified here (use :func:`verify_public_bundle`), but two
    mistakes that would publish something wrong are refused: an event that names the
    original's digest (:class:`BundleError`), and a public text other than the one the
    disclosure renders (:class:`DisclosureError`).
    """
    _refuse_named_digest(events)
    if render(disclosure) != public_text:
        raise DisclosureError("the public text is not what the disclosure proof renders")
    bundle = PublicBundle(
        item=item,
        public_text=public_text,
        disclosure=disclosure,
        events=tuple(events),
        keys=tuple(keys),
        checkpoint=checkpoint_note,
        inclusion=tuple(inclusion),
    )
    try:
        text = bundle.to_json()
    except CanonicalizationError as exc:
        raise BundleError(f"cannot write the public bundle: {exc}") from None
    if parse_public_bundle(text) != bundle:
        raise BundleError("the public bundle does not read back as built (check types and values)")
    return bundle


# -- the report -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PublicReport:
    """What :func:`verify_public_bundle` established; returned only when every check held.

    ``withheld`` has one label per withheld passage, in the order of the text;
    ``statement`` says in one sentence what was shown and what was not.
    """

    item: PublicItem
    public_text: str
    checkpoint: Checkpoint
    checks: tuple[Check, ...]
    timeline: tuple[TimelineEntry, ...]
    withheld: tuple[str, ...]
    statement: str
    log_key_pinned: bool
    not_checked: tuple[str, ...]
    warnings: tuple[str, ...]

    def to_json_object(self) -> dict[str, object]:
        return {
            "verdict": "verified",
            "format": FORMAT,
            "item": self.item.to_json_object(),
            "public_text": self.public_text,
            "statement": self.statement,
            "withheld": list(self.withheld),
            "checkpoint": {
                "origin": self.checkpoint.origin,
                "size": self.checkpoint.size,
                "root_hash": _b64(self.checkpoint.root_hash),
            },
            "log_key_pinned": self.log_key_pinned,
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


def _statement(labels: Sequence[str]) -> str:
    if not labels:
        return "the visible text is exactly what was sealed; no passage was withheld"
    names = ", ".join(f"[{label}]" for label in dict.fromkeys(labels))
    passages = "1 passage was" if len(labels) == 1 else f"{len(labels)} passages were"
    return (
        f"the visible text is exactly what was sealed; {passages} withheld, labelled {names}; "
        "the withheld words were not revealed to this check"
    )


# -- verification ---------------------------------------------------------------------


def _details(event: Mapping[str, object], members: frozenset[str]) -> dict[str, object]:
    details = event["details"]
    assert isinstance(details, dict)  # validate_event checked it
    if set(details) != members:
        missing = sorted(members - set(details))
        extra = sorted(set(details) - members)
        raise ChainError(
            f"the {event['type']} event's details must be exactly {sorted(members)} "
            f"(missing {missing}, unexpected {extra}): a public record carries nothing else"
        )
    return details


def _check_the_two_events(
    state: _State, bundle: PublicBundle
) -> tuple[Commitment, dict[str, object]]:
    if [e["type"] for e in state.events] != ["sealed", "published"]:
        found = ", ".join(str(e["type"]) for e in state.events)
        raise ChainError(
            f"a public bundle holds the item's sealed event, then its published event; "
            f"found {found}"
        )
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
        if (event["seq"] == 0) != (event["prev"] is None):
            raise ChainError(
                f"the {event['type']} event has seq {event['seq']} and prev {event['prev']}: "
                "only an item's first event has no prev"
            )
    first, last = _as_int(sealed["seq"]), _as_int(published["seq"])
    if first >= last:
        raise ChainError(
            f"the published event (seq {last}) must come after the sealed event (seq {first})"
        )
    if last == first + 1 and published["prev"] != str(event_digest(sealed)):
        raise ChainError(
            f"the published event follows the sealed event (seq {first}, {last}) but its prev "
            f"is {published['prev']}, not the sealed event's digest {event_digest(sealed)}"
        )
    sealed_details = _details(sealed, _SEALED_DETAILS)
    commitment = parse_commitment(
        sealed_details["commitment"], path="the sealed event's details.commitment"
    )
    details = _details(published, _PUBLISHED_DETAILS)
    if details["commitment_root"] != _b64(commitment.root):
        raise DisclosureError(
            "the published event names another commitment than the sealed event: "
            f"{details['commitment_root']!r}, sealed {_b64(commitment.root)!r}"
        )
    between = (
        "one right after the other"
        if last == first + 1
        else f"{last - first - 1} withheld events between them"
    )
    state.ok(
        "sealing and publication",
        f"the sealed (seq {first}) and published (seq {last}) events of item "
        f"{bundle.item.id!r}, case {bundle.item.case!r}, {between}; both withhold the "
        "original's digest and name the same commitment",
    )
    if last != first + 1:
        state.not_checked.append(
            f"the custody chain between seq {first} and seq {last}: those events are withheld "
            "from the public, so the link between sealing and publication was not checked here "
            "(each event is still signed and in the log)"
        )
    return commitment, details


def _check_disclosure(state: _State, bundle: PublicBundle, commitment: Commitment) -> str:
    rendered = verify_disclosure(bundle.disclosure, root=commitment.root, count=commitment.count)
    if rendered != bundle.public_text:
        shown = bundle.public_text
        at = next(
            (i for i, (a, b) in enumerate(zip(rendered, shown, strict=False)) if a != b),
            min(len(rendered), len(shown)),
        )
        raise DisclosureError(
            f"the public text is not what the disclosure proof renders (they differ from "
            f"character {at} on)"
        )
    labels = tuple(part.label for part in bundle.disclosure.hidden)
    statement = _statement(labels)
    state.ok(
        "disclosure proof",
        f"{statement} (the proof rebuilds the sealed commitment of {commitment.count} segments)",
    )
    return statement


def _check_published(state: _State, bundle: PublicBundle, details: Mapping[str, object]) -> None:
    digest = Digest.sha256(bundle.public_text.encode("utf-8"))
    signed = details["public_text_digest"]
    try:
        if not isinstance(signed, str):
            raise DigestError("not a string")
        Digest.parse(signed).check(digest)
    except (DigestError, DigestMismatch):
        raise DigestMismatch(
            f"the public text's SHA-256 is {digest}, but the published event signed {signed!r}: "
            "the text (or a label in it) was changed after publication"
        ) from None
    for name, member in (("title", "public_title"), ("kind", "kind"), ("language", "language")):
        if details[member] != getattr(bundle.item, name):
            raise ChainError(
                f"the record's {name} is {getattr(bundle.item, name)!r}, not the one the "
                f"published event signed ({details[member]!r})"
            )
    state.ok(
        "published text",
        f"the published event signed this text ({digest}), its labels, and the title, kind "
        "and language shown",
    )


def verify_public_bundle(
    bundle: PublicBundle, *, trusted_keys: Sequence[VerifierKey] | None = None
) -> PublicReport:
    """Verify a public bundle; return the report or raise the first failure.

    ``trusted_keys`` are the archive's published keys and pin the log key; without them
    the checkpoint is checked with the bundle's own keys and the report warns so.
    """
    if trusted_keys is not None and not trusted_keys:
        raise VerificationError("trusted_keys is empty: give at least one key, or None")
    state = _State(bundle=bundle, trusted=None if trusted_keys is None else tuple(trusted_keys))
    _check_canonical(state)
    _check_event_signatures(state)
    commitment, details = _check_the_two_events(state, bundle)
    checkpoint = _check_checkpoint(state)
    _check_inclusion(state, checkpoint)
    statement = _check_disclosure(state, bundle, commitment)
    _check_published(state, bundle, details)
    _check_keys_used(state)
    state.not_checked.append(
        "the original: a public record carries neither the original nor its digest, so only "
        "its visible segments were checked; the withheld words and the rest of the custody "
        "history are in the archive's restricted full bundle"
    )
    return PublicReport(
        item=bundle.item,
        public_text=bundle.public_text,
        checkpoint=checkpoint,
        checks=tuple(state.checks),
        timeline=_timeline(state),
        withheld=tuple(part.label for part in bundle.disclosure.hidden),
        statement=statement,
        log_key_pinned=trusted_keys is not None,
        not_checked=tuple(state.not_checked),
        warnings=tuple(state.warnings),
    )
