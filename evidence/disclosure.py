"""Disclosure proofs (``temoin-disclosure/v1``): redacted text checked against a sealed commitment.

At sealing, the archive commits an item's original text without revealing it:

* the text is cut into *segments* (:func:`segment`): runs of word characters, runs of
  white space, and every other character alone; their concatenation is the text;
* segment ``i`` gets a *salt*, ``HMAC-SHA256(secret, "temoin-disclosure/v1 salt" ||
  i as 8 bytes big-endian)`` (:func:`salt`), from a 32-byte random secret per item that
  the archive keeps encrypted and never publishes;
* leaf ``i`` is ``SHA-256(0x00 || salt_i || UTF-8(segment_i))`` and the *commitment* is the
  RFC 6962 Merkle tree hash over the leaves, with the number of segments (:func:`commit`).
  The root and count go into the signed ``sealed`` custody event.

A public record carries a *disclosure* (:func:`disclose`): every visible segment with its
salt, and for each maximal run of hidden segments with one label only the hashes of the
largest tree nodes that lie wholly inside the run. :func:`verify_disclosure` recomputes
the root from these and compares it with the sealed one, then :func:`render` gives the
public text (each hidden run written ``[label]``).

What this hides, and what it does not:

* A hidden word's leaf hash is salted with a salt that is never published, and salts are
  HMAC outputs, so knowing the published salts of visible segments does not help to find
  a hidden one; hashing candidate names finds nothing. The same word hidden twice has two
  unrelated hashes.
* The proof does show **how many segments** each hidden run covers (its ``start`` and
  ``end``), so "[Témoin 1]" over ``Amadou Koné`` is seen to span three segments (two words
  and a space). It does not show their lengths.
* Labels are not part of the commitment (the original text has none); in a public bundle
  they are bound by the digest of the public text that the ``published`` event signs.
* One secret must commit exactly one text: if the same secret committed a changed text,
  a salt published for a visible segment in one could be the salt of a hidden segment in
  the other.

Every failure is a :class:`DisclosureError` (a :class:`~evidence.errors.VerificationError`)
saying what is wrong, and naming the JSON path when parsing.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from evidence.bundle import _array, _b64, _bytes, _hashes, _integer, _object, _string
from evidence.errors import BundleError, VerificationError
from evidence.merkle import HASH_SIZE, _split, leaf_hash, node_hash, root_hash

__all__ = [
    "SCHEME",
    "SECRET_SIZE",
    "Commitment",
    "Disclosure",
    "DisclosureError",
    "Hidden",
    "Visible",
    "commit",
    "disclose",
    "parse_commitment",
    "parse_disclosure",
    "render",
    "salt",
    "segment",
    "snap_spans",
    "verify_disclosure",
]

SCHEME: Final = "temoin-disclosure/v1"
SECRET_SIZE: Final = 32
"""Bytes of the per-item secret the salts derive from."""

_SALT_CONTEXT: Final = b"temoin-disclosure/v1 salt"
_MAX_INDEX: Final = 2**64 - 1
_SEGMENT: Final = re.compile(r"\w+|\s+|.", re.DOTALL)


class DisclosureError(VerificationError):
    """A disclosure proof or commitment is malformed, or does not match what was sealed."""


# -- segments, salts, commitment ------------------------------------------------------


def _check_text(text: object, what: str) -> str:
    if not isinstance(text, str):
        raise DisclosureError(f"{what} must be a string, got {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DisclosureError(
            f"{what} is not valid Unicode text (lone surrogate at character {exc.start})"
        ) from None
    return text


def segment(text: str) -> list[str]:
    """Cut ``text`` into its segments, in order; ``"".join(segment(t)) == t``.

    A segment is a run of word characters (``\\w+``, Unicode), a run of white space
    (``\\s+``), or any other single character: ``d'Hamadoun`` gives ``d``, ``'``,
    ``Hamadoun`` and ``+223 76`` gives ``+``, ``223``, `` ``, ``76``.
    """
    return _SEGMENT.findall(_check_text(text, "text"))


def _bounds(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _SEGMENT.finditer(_check_text(text, "text"))]


def _check_secret(secret: object) -> bytes:
    if not isinstance(secret, bytes) or len(secret) != SECRET_SIZE:
        got = f"{len(secret)} bytes" if isinstance(secret, bytes) else type(secret).__name__
        raise DisclosureError(f"the secret must be {SECRET_SIZE} bytes, got {got}")
    return secret


def salt(secret: bytes, index: int) -> bytes:
    """The salt of segment ``index``: HMAC-SHA256(secret, context || index, 8 bytes BE)."""
    _check_secret(secret)
    if type(index) is not int or not 0 <= index <= _MAX_INDEX:
        raise DisclosureError(f"segment index must be an integer from 0 to 2**64 - 1: {index!r}")
    message = _SALT_CONTEXT + index.to_bytes(8, "big")
    return hmac.new(secret, message, hashlib.sha256).digest()


def _leaf(salt_bytes: bytes, text: str) -> bytes:
    return leaf_hash(salt_bytes + text.encode("utf-8"))


@dataclass(frozen=True)
class Commitment:
    """What the ``sealed`` event signs: the tree's root and the number of segments."""

    root: bytes
    count: int

    def to_json_object(self) -> dict[str, object]:
        return {"scheme": SCHEME, "root": _b64(self.root), "count": self.count}


def _segments_and_leaves(text: str, secret: bytes) -> tuple[list[str], list[bytes], list[bytes]]:
    _check_secret(secret)
    segments = segment(text)
    if not segments:
        raise DisclosureError("an empty text cannot be committed: it has no segments")
    salts = [salt(secret, i) for i in range(len(segments))]
    leaves = [_leaf(s, t) for s, t in zip(salts, segments, strict=True)]
    return segments, salts, leaves


def commit(text: str, secret: bytes) -> Commitment:
    """Commit ``text`` under ``secret`` (32 random bytes, kept by the archive)."""
    segments, _, leaves = _segments_and_leaves(text, secret)
    return Commitment(root=root_hash(leaves), count=len(segments))


def parse_commitment(obj: object, *, path: str = "$") -> Commitment:
    """Read ``{"scheme": "temoin-disclosure/v1", "root": <base64>, "count": n}`` strictly."""
    try:
        members = _object(obj, path, frozenset({"scheme", "root", "count"}), frozenset())
        _check_scheme(members["scheme"], path)
        root = _bytes(members["root"], f"{path}.root")
        count = _integer(members["count"], f"{path}.count")
    except BundleError as exc:
        raise DisclosureError(str(exc)) from None
    if len(root) != HASH_SIZE:
        raise DisclosureError(f"{path}.root: a hash is {HASH_SIZE} bytes, got {len(root)}")
    if count == 0:
        raise DisclosureError(f"{path}.count: a committed text has at least one segment")
    return Commitment(root=root, count=count)


def _check_scheme(value: object, path: str) -> None:
    if value != SCHEME:
        raise DisclosureError(f"{path}.scheme: {value!r} is not a supported scheme ({SCHEME!r})")


# -- spans ----------------------------------------------------------------------------


def _span(span: object, i: int, length: int) -> tuple[int, int, str]:
    if not isinstance(span, tuple | list) or len(span) != 3:
        raise DisclosureError(f"span {i}: expected (start, end, label), got {span!r}")
    start, end, label = span
    for name, value in (("start", start), ("end", end)):
        if type(value) is not int:
            raise DisclosureError(f"span {i}: {name} must be an integer, got {value!r}")
    if not 0 <= start <= end <= length:
        raise DisclosureError(
            f"span {i}: ({start}, {end}) is not within the text of {length} characters"
        )
    if not isinstance(label, str) or not label:
        raise DisclosureError(f"span {i}: the label must be a non-empty string, got {label!r}")
    _check_text(label, f"span {i}: the label")
    return start, end, label


def snap_spans(text: str, spans: Sequence[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Widen character spans ``(start, end, label)`` to whole segments and merge them.

    A segment that a span overlaps at all is hidden entirely (the safe side). Spans that
    then overlap are merged into one carrying the label of the first (by start, then by
    their order in ``spans``); spans that touch are merged when their labels are equal.
    Empty spans are dropped. The result is sorted, disjoint, and what :func:`disclose`
    takes; the public text is the text with each of these spans written ``[label]``.
    """
    bounds = _bounds(text)
    starts = [b[0] for b in bounds]
    widened: list[tuple[int, int, int, str]] = []
    for i, raw in enumerate(spans):
        start, end, label = _span(raw, i, len(text))
        if start == end:
            continue
        first = bisect.bisect_right(starts, start) - 1  # the segment holding ``start``
        last = bisect.bisect_left(starts, end) - 1  # the last segment starting before ``end``
        widened.append((bounds[first][0], i, bounds[last][1], label))
    widened.sort()
    merged: list[tuple[int, int, str]] = []
    for start, _, end, label in widened:
        if merged:
            previous_start, previous_end, previous_label = merged[-1]
            if start < previous_end or (start == previous_end and label == previous_label):
                merged[-1] = (previous_start, max(previous_end, end), previous_label)
                continue
        merged.append((start, end, label))
    return merged


# -- the proof ------------------------------------------------------------------------


@dataclass(frozen=True)
class Visible:
    """A visible segment and its salt (anyone can recompute its leaf)."""

    text: str
    salt: bytes


@dataclass(frozen=True)
class Hidden:
    """A maximal run of hidden segments ``[start, end)`` with one label.

    ``hashes`` are the hashes of the largest RFC 6962 tree nodes lying wholly inside the
    run, left to right: as few as the tree's shape allows.
    """

    label: str
    start: int
    end: int
    hashes: tuple[bytes, ...]


@dataclass(frozen=True)
class Disclosure:
    """A ``temoin-disclosure/v1`` proof: ``parts`` cover segments ``0 .. count - 1`` in order."""

    count: int
    parts: tuple[Visible | Hidden, ...]

    @property
    def hidden(self) -> tuple[Hidden, ...]:
        """The withheld passages, in order."""
        return tuple(p for p in self.parts if isinstance(p, Hidden))

    def to_json_object(self) -> dict[str, object]:
        parts: list[object] = []
        for part in self.parts:
            if isinstance(part, Visible):
                parts.append({"text": part.text, "salt": _b64(part.salt)})
            else:
                parts.append(
                    {
                        "label": part.label,
                        "start": part.start,
                        "end": part.end,
                        "hashes": [_b64(h) for h in part.hashes],
                    }
                )
        return {"scheme": SCHEME, "count": self.count, "parts": parts}


def _cover(start: int, end: int, count: int) -> list[tuple[int, int]]:
    """The largest nodes of the RFC 6962 tree over ``count`` leaves inside ``[start, end)``."""
    nodes: list[tuple[int, int]] = []

    def visit(lo: int, hi: int) -> None:
        if start <= lo and hi <= end:
            nodes.append((lo, hi))
        elif lo < end and start < hi:  # partly inside: look at both children
            middle = lo + _split(hi - lo)
            visit(lo, middle)
            visit(middle, hi)

    visit(0, count)
    return nodes


def disclose(text: str, secret: bytes, spans: Sequence[tuple[int, int, str]]) -> Disclosure:
    """The proof for ``text`` with ``spans`` hidden.

    ``spans`` are character spans as :func:`snap_spans` returns them: on segment
    boundaries, sorted and disjoint (spans that touch with the same label form one run).
    Anything else is refused rather than silently widened, so that the proof renders
    exactly the public text the archive computed from the same spans.
    """
    segments, salts, leaves = _segments_and_leaves(text, secret)
    bounds = _bounds(text)
    segment_at = {start: i for i, (start, _) in enumerate(bounds)}
    segment_ending = {end: i for i, (_, end) in enumerate(bounds)}
    runs: list[tuple[int, int, str]] = []
    for i, raw in enumerate(spans):
        start, end, label = _span(raw, i, len(text))
        first, last = segment_at.get(start), segment_ending.get(end)
        if start == end or first is None or last is None:
            raise DisclosureError(
                f"span {i} ({start}, {end}) does not cover whole segments: "
                "pass the spans through snap_spans first"
            )
        if runs and first < runs[-1][1]:
            raise DisclosureError(
                f"span {i} ({start}, {end}) overlaps or comes before the span before it: "
                "spans must be sorted and disjoint (snap_spans)"
            )
        if runs and runs[-1][1] == first and runs[-1][2] == label:
            runs[-1] = (runs[-1][0], last + 1, label)
        else:
            runs.append((first, last + 1, label))
    count = len(segments)
    parts: list[Visible | Hidden] = []
    position = 0
    for start, end, label in runs:
        parts.extend(Visible(segments[j], salts[j]) for j in range(position, start))
        hashes = tuple(root_hash(leaves[lo:hi]) for lo, hi in _cover(start, end, count))
        parts.append(Hidden(label, start, end, hashes))
        position = end
    parts.extend(Visible(segments[j], salts[j]) for j in range(position, count))
    return Disclosure(count, tuple(parts))


def render(disclosure: Disclosure) -> str:
    """The public text: visible segments as they are, each hidden run as ``[label]``."""
    return "".join(
        part.text if isinstance(part, Visible) else f"[{part.label}]" for part in disclosure.parts
    )


# -- parsing --------------------------------------------------------------------------

_VISIBLE_FIELDS: Final = frozenset({"text", "salt"})
_HIDDEN_FIELDS: Final = frozenset({"label", "start", "end", "hashes"})


def _part(value: object, path: str) -> Visible | Hidden:
    if isinstance(value, dict) and "text" in value:
        members = _object(value, path, _VISIBLE_FIELDS, frozenset())
        text = _check_text(_string(members["text"], f"{path}.text"), f"{path}.text")
        salt_bytes = _bytes(members["salt"], f"{path}.salt")
        if len(salt_bytes) != HASH_SIZE:
            raise DisclosureError(
                f"{path}.salt: a salt is {HASH_SIZE} bytes, got {len(salt_bytes)}"
            )
        return Visible(text, salt_bytes)
    if isinstance(value, dict) and "label" in value:
        members = _object(value, path, _HIDDEN_FIELDS, frozenset())
        label = _check_text(_string(members["label"], f"{path}.label"), f"{path}.label")
        start = _integer(members["start"], f"{path}.start")
        end = _integer(members["end"], f"{path}.end")
        if end <= start:
            raise DisclosureError(f"{path}: a hidden run ends after it starts, got {start}, {end}")
        return Hidden(label, start, end, _hashes(members["hashes"], f"{path}.hashes"))
    raise DisclosureError(
        f"{path}: expected a visible part {{text, salt}} or a hidden part "
        "{label, start, end, hashes}"
    )


def parse_disclosure(obj: object, *, path: str = "$") -> Disclosure:
    """Read a disclosure's JSON object strictly; errors name the JSON path under ``path``."""
    try:
        members = _object(obj, path, frozenset({"scheme", "count", "parts"}), frozenset())
        _check_scheme(members["scheme"], path)
        count = _integer(members["count"], f"{path}.count")
        parts = tuple(
            _part(p, f"{path}.parts[{i}]")
            for i, p in enumerate(_array(members["parts"], f"{path}.parts"))
        )
    except BundleError as exc:
        raise DisclosureError(str(exc)) from None
    if count == 0 or not parts:
        raise DisclosureError(f"{path}: a disclosure covers at least one segment")
    return Disclosure(count, parts)


# -- verification ---------------------------------------------------------------------


def _describe(i: int, part: Hidden) -> str:
    return f"part {i} (hidden run [{part.label}], segments {part.start} to {part.end - 1})"


def verify_disclosure(disclosure: Disclosure, *, root: bytes, count: int) -> str:
    """Check ``disclosure`` against a sealed commitment; return the public text it shows.

    The parts must cover segments ``0 .. count - 1`` in order, without gap or overlap;
    each visible part is one segment; hidden runs are maximal (two in a row have
    different labels) and each carries exactly the hashes of the largest tree nodes
    inside it. The root recomputed from visible segments, salts and hidden hashes must
    equal ``root``. Raises :class:`DisclosureError` saying which of these failed.
    """
    if not isinstance(disclosure, Disclosure):
        raise DisclosureError(f"expected a Disclosure, got {type(disclosure).__name__}")
    if not isinstance(root, bytes) or len(root) != HASH_SIZE:
        raise DisclosureError(f"the sealed root must be a {HASH_SIZE}-byte hash")
    if type(count) is not int or count < 1:
        raise DisclosureError(f"the sealed count must be a positive integer, got {count!r}")
    if disclosure.count != count:
        raise DisclosureError(
            f"the disclosure is for a text of {disclosure.count} segments, but the sealed "
            f"commitment is for {count}"
        )
    visible: dict[int, Visible] = {}
    hidden_nodes: dict[tuple[int, int], bytes] = {}
    position = 0
    previous_label: str | None = None
    for i, part in enumerate(disclosure.parts):
        if position >= count:
            raise DisclosureError(
                f"part {i} is past the last segment: parts 0 to {i - 1} already cover all "
                f"{count} segments"
            )
        if isinstance(part, Visible):
            _check_visible(i, part, position)
            visible[position] = part
            position += 1
            previous_label = None
            continue
        if part.start != position:
            raise DisclosureError(
                f"{_describe(i, part)} should start at segment {position}, where the part "
                "before it ends: parts must follow each other without gap or overlap"
            )
        if part.end > count:
            raise DisclosureError(f"{_describe(i, part)} runs past the last segment, {count - 1}")
        if part.label == previous_label:
            raise DisclosureError(
                f"{_describe(i, part)} follows a hidden run with the same label: "
                "the two should be one run"
            )
        nodes = _cover(part.start, part.end, count)
        if len(part.hashes) != len(nodes):
            raise DisclosureError(
                f"{_describe(i, part)} carries {len(part.hashes)} hashes, but in a tree of "
                f"{count} segments it is covered by exactly {len(nodes)} nodes"
            )
        for value in part.hashes:
            if not isinstance(value, bytes) or len(value) != HASH_SIZE:
                raise DisclosureError(f"{_describe(i, part)}: every hash is {HASH_SIZE} bytes")
        hidden_nodes.update(zip(nodes, part.hashes, strict=True))
        position = part.end
        previous_label = part.label
    if position != count:
        raise DisclosureError(
            f"the parts cover segments 0 to {position - 1}, but the sealed text has {count}"
        )

    def node(lo: int, hi: int) -> bytes:
        known = hidden_nodes.get((lo, hi))
        if known is not None:
            return known
        if hi - lo == 1:  # a visible leaf: hidden leaves lie under a node in hidden_nodes
            part = visible[lo]
            return _leaf(part.salt, part.text)
        middle = lo + _split(hi - lo)
        return node_hash(node(lo, middle), node(middle, hi))

    computed = node(0, count)
    if not hmac.compare_digest(computed, root):
        raise DisclosureError(
            "the disclosure does not match the sealed commitment: a visible segment, a salt, "
            "the position of a hidden run or one of its hashes differs from what was sealed "
            f"(computed root {computed.hex()}, sealed root {root.hex()})"
        )
    return render(disclosure)


def _check_visible(i: int, part: Visible, position: int) -> None:
    where = f"part {i} (visible, segment {position})"
    _check_text(part.text, f"{where}: the text")
    if segment(part.text) != [part.text]:
        raise DisclosureError(f"{where}: {part.text!r} is not exactly one segment")
    if not isinstance(part.salt, bytes) or len(part.salt) != HASH_SIZE:
        raise DisclosureError(f"{where}: a salt is {HASH_SIZE} bytes")
