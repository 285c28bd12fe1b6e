"""Disclosure proofs: round trips, every kind of tampering, and that no hidden word leaks."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import itertools
import json
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.canonical import canonical_json
from evidence.disclosure import (
    SCHEME,
    Commitment,
    Disclosure,
    DisclosureError,
    Hidden,
    Visible,
    _cover,
    commit,
    disclose,
    parse_commitment,
    parse_disclosure,
    render,
    salt,
    segment,
    snap_spans,
    verify_disclosure,
)
from evidence.errors import VerificationError
from evidence.merkle import leaf_hash, root_hash

SECRET = bytes(range(32))
CONTEXT = b"temoin-disclosure/v1 salt"

# A testimony in French; the witness, the person who took it, and a phone number are hidden.
FRENCH = (
    "Le 27 mars, Hamadoun Traoré a vu les hommes armés entrer dans le marché de Moura. "
    "Témoignage recueilli par Aïssata Koné, joignable au +223 76 12 34 56. "
    "Plus tard, Hamadoun est reparti vers Ségou."
)
ENGLISH = "On 27 March, Witness Amadou Diallo saw armed men at the market; call +1 555 0100."


def spans_of(text: str, *names: tuple[str, str]) -> list[tuple[int, int, str]]:
    """Character spans of every occurrence of each (name, label)."""
    spans: list[tuple[int, int, str]] = []
    for name, label in names:
        start = text.find(name)
        assert start >= 0, name
        while start >= 0:
            spans.append((start, start + len(name), label))
            start = text.find(name, start + 1)
    return spans


FRENCH_SPANS = [
    *spans_of(
        FRENCH,
        ("Hamadoun Traoré", "Témoin 1"),
        ("Aïssata Koné", "Témoin 2"),
        ("+223 76 12 34 56", "téléphone"),
    ),
    (FRENCH.rindex("Hamadoun"), FRENCH.rindex("Hamadoun") + 8, "Témoin 1"),
]


def public_text(text: str, snapped: list[tuple[int, int, str]]) -> str:
    """What the archive shows: the text with each snapped span written [label]."""
    out, position = [], 0
    for start, end, label in snapped:
        out.append(text[position:start] + f"[{label}]")
        position = end
    return "".join(out) + text[position:]


def proof(text: str, spans: list[tuple[int, int, str]], secret: bytes = SECRET) -> Disclosure:
    return disclose(text, secret, snap_spans(text, spans))


def check(d: Disclosure, text: str, secret: bytes = SECRET) -> str:
    c = commit(text, secret)
    return verify_disclosure(d, root=c.root, count=c.count)


# -- segments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("d'Hamadoun", ["d", "'", "Hamadoun"]),
        ("+223 76", ["+", "223", " ", "76"]),
        ("Témoignage de M. Koné.", ["Témoignage", " ", "de", " ", "M", ".", " ", "Koné", "."]),
        ("a  \n\tb", ["a", "  \n\t", "b"]),
        ("l’école—«oui»", ["l", "’", "école", "—", "«", "oui", "»"]),
        ("snake_case 42x", ["snake_case", " ", "42x"]),
        ("", []),
    ],
)
def test_segment_fixed_cases(text: str, segments: list[str]) -> None:
    assert segment(text) == segments


@given(st.text())
def test_segments_concatenate_to_the_text(text: str) -> None:
    parts = segment(text)
    assert "".join(parts) == text
    assert all(segment(p) == [p] for p in parts)  # each segment alone is one segment


def test_segment_refuses_what_is_not_text() -> None:
    with pytest.raises(DisclosureError, match="lone surrogate at character 1"):
        segment("a\ud800")
    with pytest.raises(DisclosureError, match="text must be a string, got bytes"):
        segment(b"abc")  # type: ignore[arg-type]


# -- salts and commitment -------------------------------------------------------------


def test_salt_is_the_documented_hmac() -> None:
    expected = hmac.new(SECRET, CONTEXT + (5).to_bytes(8, "big"), hashlib.sha256).digest()
    assert salt(SECRET, 5) == expected
    assert len({salt(SECRET, i) for i in range(100)}) == 100
    assert salt(SECRET, 2**64 - 1) != salt(SECRET, 0)


@pytest.mark.parametrize(
    ("secret", "index", "message"),
    [
        (b"short", 0, "the secret must be 32 bytes, got 5 bytes"),
        ("x" * 32, 0, "the secret must be 32 bytes, got str"),
        (SECRET, -1, "segment index must be an integer"),
        (SECRET, 2**64, "segment index must be an integer"),
        (SECRET, True, "segment index must be an integer"),
    ],
)
def test_salt_refuses_bad_input(secret: Any, index: Any, message: str) -> None:
    with pytest.raises(DisclosureError, match=message):
        salt(secret, index)


def test_commit_is_the_rfc6962_root_of_the_salted_leaves() -> None:
    text = "Moussa a vu d'Hamadoun."
    segments = segment(text)
    leaves = [leaf_hash(salt(SECRET, i) + s.encode()) for i, s in enumerate(segments)]
    assert commit(text, SECRET) == Commitment(root=root_hash(leaves), count=len(segments))
    assert commit(text, SECRET).to_json_object() == {
        "scheme": SCHEME,
        "root": base64.b64encode(root_hash(leaves)).decode(),
        "count": 10,
    }
    assert commit(text, bytes(32)).root != commit(text, SECRET).root
    with pytest.raises(DisclosureError, match="an empty text cannot be committed"):
        commit("", SECRET)
    with pytest.raises(DisclosureError, match="the secret must be 32 bytes"):
        commit(text, b"")


def test_parse_commitment() -> None:
    c = commit(FRENCH, SECRET)
    assert parse_commitment(c.to_json_object()) == c
    bad: list[tuple[Any, str]] = [
        ([], r"\$: expected an object"),
        ({**c.to_json_object(), "scheme": "v0"}, r"\$\.scheme: 'v0' is not a supported scheme"),
        ({**c.to_json_object(), "count": 0}, r"\$\.count: a committed text has at least one"),
        ({**c.to_json_object(), "count": -1}, r"\$\.count: expected an integer"),
        ({**c.to_json_object(), "root": "AAAA"}, r"\$\.root: a hash is 32 bytes, got 3"),
        ({**c.to_json_object(), "extra": 1}, r"\$: unexpected member 'extra'"),
    ]
    for obj, message in bad:
        with pytest.raises(DisclosureError, match=message):
            parse_commitment(obj)
    with pytest.raises(DisclosureError, match=r"\$\.sealed\.count"):
        parse_commitment({**c.to_json_object(), "count": "1"}, path="$.sealed")


# -- snapping spans -------------------------------------------------------------------


def test_snap_widens_to_whole_segments_on_the_safe_side() -> None:
    text = "Hamadoun Traoré a vu."
    assert snap_spans(text, [(2, 4, "T")]) == [(0, 8, "T")]  # inside a word: the whole word
    assert snap_spans(text, [(7, 10, "T")]) == [(0, 15, "T")]  # across a space: both words
    assert snap_spans(text, [(8, 9, "T")]) == [(8, 9, "T")]  # the space alone
    assert snap_spans(text, [(3, 3, "T")]) == []  # empty: nothing hidden
    assert snap_spans("", []) == []


def test_snap_merges_overlapping_and_touching_spans() -> None:
    text = "Hamadoun Traoré a vu Moussa."
    # Overlapping, different labels: one span, the first one's label.
    assert snap_spans(text, [(9, 15, "B"), (0, 10, "A")]) == [(0, 15, "A")]
    # Same start: the first given wins.
    assert snap_spans(text, [(0, 8, "B"), (0, 15, "A")]) == [(0, 15, "B")]
    # Touching, same label: merged; different labels: kept apart.
    assert snap_spans(text, [(0, 8, "A"), (8, 9, "A"), (9, 15, "A")]) == [(0, 15, "A")]
    assert snap_spans(text, [(0, 8, "A"), (8, 15, "B")]) == [(0, 8, "A"), (8, 15, "B")]
    # Apart: sorted by position.
    assert snap_spans(text, [(21, 27, "B"), (0, 8, "A")]) == [(0, 8, "A"), (21, 27, "B")]
    # Snapping can make spans overlap that did not before (one word, two labels).
    assert snap_spans(text, [(0, 3, "A"), (5, 8, "B")]) == [(0, 8, "A")]


@pytest.mark.parametrize(
    ("span", "message"),
    [
        ((0, 1), r"span 0: expected \(start, end, label\)"),
        ("abc", r"span 0: expected \(start, end, label\)"),
        ((0.0, 1, "A"), "span 0: start must be an integer"),
        ((0, True, "A"), "span 0: end must be an integer"),
        ((3, 2, "A"), r"span 0: \(3, 2\) is not within the text of 10 characters"),
        ((0, 11, "A"), r"span 0: \(0, 11\) is not within the text"),
        ((-1, 2, "A"), r"span 0: \(-1, 2\) is not within the text"),
        ((0, 2, ""), "span 0: the label must be a non-empty string"),
        ((0, 2, None), "span 0: the label must be a non-empty string"),
        ((0, 2, "\udc00"), "span 0: the label is not valid Unicode"),
    ],
)
def test_snap_refuses_bad_spans(span: Any, message: str) -> None:
    with pytest.raises(DisclosureError, match=message):
        snap_spans("Koné a vu.", [span])


# -- building the proof ---------------------------------------------------------------


def test_french_proof_round_trip() -> None:
    snapped = snap_spans(FRENCH, FRENCH_SPANS)
    d = disclose(FRENCH, SECRET, snapped)
    shown = check(d, FRENCH)
    assert shown == public_text(FRENCH, snapped) == render(d)
    assert shown == (
        "Le 27 mars, [Témoin 1] a vu les hommes armés entrer dans le marché de Moura. "
        "Témoignage recueilli par [Témoin 2], joignable au [téléphone]. "
        "Plus tard, [Témoin 1] est reparti vers Ségou."
    )
    assert [h.label for h in d.hidden] == ["Témoin 1", "Témoin 2", "téléphone", "Témoin 1"]
    assert parse_disclosure(json.loads(canonical_json(d.to_json_object()))) == d
    assert d.to_json_object()["scheme"] == "temoin-disclosure/v1"


def test_english_proof_round_trip() -> None:
    spans = spans_of(ENGLISH, ("Amadou Diallo", "Witness 1"), ("+1 555 0100", "phone"))
    d = proof(ENGLISH, spans)
    assert check(d, ENGLISH) == (
        "On 27 March, Witness [Witness 1] saw armed men at the market; call [phone]."
    )


def test_nothing_hidden_and_everything_hidden() -> None:
    text = "Aïssata Koné"
    d = proof(text, [])
    assert check(d, text) == text
    assert all(isinstance(p, Visible) for p in d.parts)
    everything = proof(text, [(0, len(text), "Témoin 2")])
    assert everything.parts == (Hidden("Témoin 2", 0, 3, (commit(text, SECRET).root,)),)
    assert check(everything, text) == "[Témoin 2]"
    single = "Koné"
    assert check(proof(single, [(0, 4, "T")]), single) == "[T]"
    assert check(proof(single, []), single) == single


def test_hidden_runs_are_maximal_and_use_the_fewest_hashes() -> None:
    text = " ".join(f"w{i}" for i in range(16))  # 31 segments
    spans = snap_spans(text, [(0, len(text), "T")])
    d = disclose(text, SECRET, spans)
    assert len(d.parts) == 1 and len(d.parts[0].hashes) == 1  # type: ignore[union-attr]
    # Two touching spans with one label become one run, even if not merged beforehand.
    d = disclose(text, SECRET, [(0, 2, "T"), (2, 3, "T"), (3, 5, "T")])
    assert d.parts[0] == Hidden("T", 0, 3, d.parts[0].hashes)  # type: ignore[union-attr]
    # A run over segments 1..6 of 31: nodes [1,2), [2,4), [4,6), [6,7).
    d = disclose(text, SECRET, [(text.index(" "), text.index("w4") - 1, "T")])
    hidden = d.hidden[0]
    assert (hidden.start, hidden.end) == (1, 7)
    assert _cover(1, 7, 31) == [(1, 2), (2, 4), (4, 6), (6, 7)]
    assert len(hidden.hashes) == 4


def tree_nodes(lo: int, hi: int) -> dict[tuple[int, int], tuple[int, int] | None]:
    """Every node of the RFC 6962 tree over [lo, hi), mapped to its parent."""
    parents: dict[tuple[int, int], tuple[int, int] | None] = {(lo, hi): None}
    stack = [(lo, hi)]
    while stack:
        a, b = stack.pop()
        if b - a > 1:
            k = 1 << ((b - a - 1).bit_length() - 1)
            for child in ((a, a + k), (a + k, b)):
                parents[child] = (a, b)
                stack.append(child)
    return parents


@given(
    st.integers(1, 200).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))), st.data()
)
def test_cover_is_the_largest_nodes_inside_the_run(
    nk: tuple[int, int], data: st.DataObject
) -> None:
    count, start = nk
    end = data.draw(st.integers(start + 1, count))
    nodes = _cover(start, end, count)
    parents = tree_nodes(0, count)
    covered = [i for lo, hi in nodes for i in range(lo, hi)]
    assert covered == list(range(start, end))  # disjoint, in order, exactly the run
    for node in nodes:
        assert node in parents  # a real node of the tree
        parent = parents[node]
        assert parent is None or not (start <= parent[0] and parent[1] <= end)  # maximal


def test_disclose_refuses_spans_that_were_not_snapped() -> None:
    text = "Hamadoun Traoré a vu."
    with pytest.raises(DisclosureError, match=r"span 0 \(2, 8\) does not cover whole segments"):
        disclose(text, SECRET, [(2, 8, "T")])
    with pytest.raises(DisclosureError, match=r"span 0 \(0, 7\) does not cover whole segments"):
        disclose(text, SECRET, [(0, 7, "T")])
    with pytest.raises(DisclosureError, match=r"span 0 \(8, 8\) does not cover whole"):
        disclose(text, SECRET, [(8, 8, "T")])
    with pytest.raises(DisclosureError, match=r"span 1 \(0, 8\) overlaps or comes before"):
        disclose(text, SECRET, [(9, 15, "T"), (0, 8, "T")])
    with pytest.raises(DisclosureError, match=r"span 1 \(0, 15\) overlaps"):
        disclose(text, SECRET, [(0, 8, "T"), (0, 15, "U")])
    with pytest.raises(DisclosureError, match="an empty text cannot be committed"):
        disclose("", SECRET, [])
    with pytest.raises(DisclosureError, match="span 0: the label must be a non-empty"):
        disclose(text, SECRET, [(0, 8, "")])


# -- random texts and spans -----------------------------------------------------------

ALPHABET = [*list("aeiouéèçàôÉÏ nrst'’-+.,;:!?\n\t0123_«»"), "Hamadoun", " Koné"]
TEXTS = st.one_of(
    st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=40).map("".join),
    st.text(min_size=1, max_size=60),
)
LABELS = st.sampled_from(["Témoin 1", "Témoin 2", "téléphone", "lieu"])


@st.composite
def texts_and_spans(draw: st.DrawFn) -> tuple[str, list[tuple[int, int, str]]]:
    text = draw(TEXTS)
    n = len(text)
    spans = draw(
        st.lists(
            st.tuples(st.integers(0, n), st.integers(0, n), LABELS).map(
                lambda t: (min(t[0], t[1]), max(t[0], t[1]), t[2])
            ),
            max_size=6,
        )
    )
    return text, spans


@settings(max_examples=300, deadline=None)
@given(texts_and_spans(), st.binary(min_size=32, max_size=32))
def test_round_trip_for_random_texts_and_spans(
    case: tuple[str, list[tuple[int, int, str]]], secret: bytes
) -> None:
    text, spans = case
    snapped = snap_spans(text, spans)
    bounds = set(itertools.accumulate(len(s) for s in segment(text)))
    for i, (start, end, _) in enumerate(snapped):
        assert start < end
        assert start in bounds | {0} and end in bounds  # whole segments
        if i:
            previous = snapped[i - 1]
            assert previous[1] < start or (previous[1] == start and previous[2] != snapped[i][2])
    hidden = {i for start, end, _ in snapped for i in range(start, end)}
    for start, end, _ in spans:  # safe side: every character of every span is hidden
        assert set(range(start, end)) <= hidden
    position = 0
    for part in segment(text):  # and nothing more: a hidden segment overlaps a span
        if position in hidden:
            assert any(s < position + len(part) and position < e for s, e, _ in spans)
        position += len(part)
    d = disclose(text, secret, snapped)
    c = commit(text, secret)
    assert verify_disclosure(d, root=c.root, count=c.count) == public_text(text, snapped)
    assert parse_disclosure(json.loads(canonical_json(d.to_json_object()))) == d


@settings(max_examples=200, deadline=None)
@given(texts_and_spans(), st.data())
def test_any_change_to_a_visible_segment_or_salt_fails(
    case: tuple[str, list[tuple[int, int, str]]], data: st.DataObject
) -> None:
    text, spans = case
    d = proof(text, spans)
    visible = [i for i, p in enumerate(d.parts) if isinstance(p, Visible)]
    if not visible:
        return
    i = data.draw(st.sampled_from(visible))
    part = d.parts[i]
    assert isinstance(part, Visible)
    new_text = data.draw(st.text(min_size=1, max_size=5).filter(lambda t: t != part.text))
    changed = dataclasses.replace(
        d, parts=(*d.parts[:i], Visible(new_text, part.salt), *d.parts[i + 1 :])
    )
    with pytest.raises(DisclosureError):
        check(changed, text)
    new_salt = data.draw(st.binary(min_size=32, max_size=32).filter(lambda s: s != part.salt))
    changed = dataclasses.replace(
        d, parts=(*d.parts[:i], Visible(part.text, new_salt), *d.parts[i + 1 :])
    )
    with pytest.raises(DisclosureError, match="does not match the sealed commitment"):
        check(changed, text)


# -- tampering, one thing at a time ---------------------------------------------------


@pytest.fixture
def french() -> Disclosure:
    return proof(FRENCH, FRENCH_SPANS)


def replaced(d: Disclosure, index: int, *parts: Visible | Hidden) -> Disclosure:
    return dataclasses.replace(d, parts=(*d.parts[:index], *parts, *d.parts[index + 1 :]))


def first_hidden(d: Disclosure) -> tuple[int, Hidden]:
    i, part = next((i, p) for i, p in enumerate(d.parts) if isinstance(p, Hidden))
    assert isinstance(part, Hidden)
    return i, part


def test_a_changed_visible_character_fails(french: Disclosure) -> None:
    i = next(i for i, p in enumerate(french.parts) if isinstance(p, Visible) and p.text == "armés")
    part = french.parts[i]
    assert isinstance(part, Visible)
    for text in ("armes", "armée", "armés!", "Armés"):
        with pytest.raises(DisclosureError) as caught:
            check(replaced(french, i, Visible(text, part.salt)), FRENCH)
        assert "does not match the sealed commitment" in str(caught.value) or (
            "is not exactly one segment" in str(caught.value)
        )
    with pytest.raises(
        DisclosureError, match=r"part \d+ \(visible, segment \d+\): 'armés!' is not"
    ):
        check(replaced(french, i, Visible("armés!", part.salt)), FRENCH)


def test_a_moved_label_fails(french: Disclosure) -> None:
    i, hidden = first_hidden(french)
    before, after = french.parts[i - 1], french.parts[i + 1]
    assert isinstance(before, Visible) and isinstance(after, Visible)
    # Start one segment earlier, swallowing the visible segment before it.
    moved = dataclasses.replace(hidden, start=hidden.start - 1)
    with pytest.raises(DisclosureError, match=r"does not match|carries .* hashes"):
        check(replaced(replaced(french, i, moved), i - 1), FRENCH)
    # Start one later without changing anything else: a gap.
    moved = dataclasses.replace(hidden, start=hidden.start + 1)
    with pytest.raises(DisclosureError, match=r"should start at segment \d+.*without gap"):
        check(replaced(french, i, moved), FRENCH)
    # End one later, dropping the visible segment after it.
    moved = dataclasses.replace(hidden, end=hidden.end + 1)
    with pytest.raises(DisclosureError, match=r"does not match|carries .* hashes"):
        check(
            dataclasses.replace(french, parts=(*french.parts[:i], moved, *french.parts[i + 2 :])),
            FRENCH,
        )
    # Shift the whole run one segment to the right, with the segment before it moved after.
    moved = dataclasses.replace(hidden, start=hidden.start - 1, end=hidden.end - 1)
    shifted = (
        *french.parts[: i - 1],
        moved,
        Visible(before.text, before.salt),
        *french.parts[i + 1 :],
    )
    with pytest.raises(DisclosureError, match=r"does not match|carries .* hashes"):
        check(dataclasses.replace(french, parts=shifted), FRENCH)
    # Swap a visible segment with a one-segment hidden run.
    text = "Moussa a vu Koné."
    d = proof(text, spans_of(text, ("Koné", "T")))
    j, run = first_hidden(d)
    assert isinstance(d.parts[j - 2], Visible)
    swapped = list(d.parts)
    swapped[j - 2], swapped[j] = (
        Hidden("T", j - 2, j - 1, run.hashes),
        d.parts[j - 2],
    )
    with pytest.raises(DisclosureError, match="does not match the sealed commitment"):
        check(dataclasses.replace(d, parts=tuple(swapped)), text)


def test_a_wrong_count_fails(french: Disclosure) -> None:
    c = commit(FRENCH, SECRET)
    with pytest.raises(
        DisclosureError,
        match=rf"for a text of {c.count} segments, but the sealed commitment is for {c.count + 1}",
    ):
        verify_disclosure(french, root=c.root, count=c.count + 1)
    shorter = dataclasses.replace(french, count=c.count - 1)
    with pytest.raises(DisclosureError, match="is past the last segment"):
        verify_disclosure(shorter, root=c.root, count=c.count - 1)
    longer = dataclasses.replace(french, count=c.count + 1)
    with pytest.raises(
        DisclosureError,
        match=rf"cover segments 0 to {c.count - 1}, but the sealed text has {c.count + 1}",
    ):
        verify_disclosure(longer, root=c.root, count=c.count + 1)
    with pytest.raises(DisclosureError, match="the sealed count must be a positive integer"):
        verify_disclosure(french, root=c.root, count=0)
    # The last part is a hidden run: a count one short makes it run past the end.
    text = "Moussa a vu Amadou Koné"
    d = proof(text, spans_of(text, ("Amadou Koné", "T")))
    short = dataclasses.replace(d, count=d.count - 1)
    with pytest.raises(DisclosureError, match=r"runs past the last segment, 7"):
        verify_disclosure(short, root=commit(text, SECRET).root, count=d.count - 1)


def test_an_extra_or_missing_hash_fails(french: Disclosure) -> None:
    i, hidden = first_hidden(french)
    assert len(hidden.hashes) >= 2
    for hashes in (hidden.hashes[:-1], (*hidden.hashes, hidden.hashes[0]), ()):
        with pytest.raises(
            DisclosureError,
            match=rf"carries {len(hashes)} hashes, but .* exactly {len(hidden.hashes)} nodes",
        ):
            check(replaced(french, i, dataclasses.replace(hidden, hashes=hashes)), FRENCH)
    changed = (hidden.hashes[1], hidden.hashes[0], *hidden.hashes[2:])
    with pytest.raises(DisclosureError, match="does not match the sealed commitment"):
        check(replaced(french, i, dataclasses.replace(hidden, hashes=changed)), FRENCH)
    short = (hidden.hashes[0][:31], *hidden.hashes[1:])
    with pytest.raises(DisclosureError, match="every hash is 32 bytes"):
        check(replaced(french, i, dataclasses.replace(hidden, hashes=short)), FRENCH)


def test_a_wrong_salt_fails(french: Disclosure) -> None:
    i = next(i for i, p in enumerate(french.parts) if isinstance(p, Visible))
    part = french.parts[i]
    assert isinstance(part, Visible)
    other = next(p for p in french.parts if isinstance(p, Visible) and p.salt != part.salt)
    for wrong in (other.salt, salt(os.urandom(32), 0), bytes(32)):
        with pytest.raises(DisclosureError, match="does not match the sealed commitment"):
            check(replaced(french, i, Visible(part.text, wrong)), FRENCH)
    with pytest.raises(DisclosureError, match="a salt is 32 bytes"):
        check(replaced(french, i, Visible(part.text, part.salt[:16])), FRENCH)
    # A proof made with another secret does not verify against this commitment.
    with pytest.raises(DisclosureError, match="does not match the sealed commitment"):
        check(proof(FRENCH, FRENCH_SPANS, os.urandom(32)), FRENCH)


def test_other_malformed_proofs(french: Disclosure) -> None:
    c = commit(FRENCH, SECRET)
    with pytest.raises(DisclosureError, match="expected a Disclosure, got dict"):
        verify_disclosure(french.to_json_object(), root=c.root, count=c.count)  # type: ignore[arg-type]
    with pytest.raises(DisclosureError, match="the sealed root must be a 32-byte hash"):
        verify_disclosure(french, root=c.root[:8], count=c.count)
    i, _hidden = first_hidden(french)
    # Two runs in a row with one label must be one run.
    j = next(j for j, p in enumerate(french.parts) if j > i and isinstance(p, Hidden))
    assert j > i + 1
    text = "Koné Koné"
    d = disclose(text, SECRET, [(0, 4, "T"), (5, 9, "T")])
    assert [type(p) for p in d.parts] == [Hidden, Visible, Hidden]
    d2 = disclose(text, SECRET, [(0, 5, "T"), (5, 9, "U")])
    second = d2.parts[1]
    assert isinstance(second, Hidden)
    relabelled = dataclasses.replace(
        d2, parts=(d2.parts[0], dataclasses.replace(second, label="T"))
    )
    with pytest.raises(DisclosureError, match="follows a hidden run with the same label"):
        check(relabelled, text)
    with pytest.raises(
        DisclosureError, match="visible, segment 0\\): the text is not valid Unicode"
    ):
        check(replaced(french, 0, Visible("\ud800", salt(SECRET, 0))), FRENCH)


def test_labels_are_not_committed_but_are_rendered(french: Disclosure) -> None:
    """A label can be changed without breaking the root: the public bundle binds labels
    through the signed digest of the public text (see test_public_bundle.py)."""
    i, hidden = first_hidden(french)
    relabelled = replaced(french, i, dataclasses.replace(hidden, label="Témoin 9"))
    assert "[Témoin 9]" in check(relabelled, FRENCH)


# -- parsing --------------------------------------------------------------------------


def _json(d: Disclosure) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(canonical_json(d.to_json_object()))
    return loaded


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda o: o.update(scheme="temoin-disclosure/v2"),
            r"\$\.scheme: 'temoin-disclosure/v2' is not",
        ),
        (lambda o: o.pop("count"), r"\$: missing member 'count'"),
        (lambda o: o.update(count=0), r"\$: a disclosure covers at least one segment"),
        (lambda o: o.update(parts=[]), r"\$: a disclosure covers at least one segment"),
        (lambda o: o.update(parts={}), r"\$\.parts: expected an array"),
        (lambda o: o["parts"].append(1), r"\$\.parts\[\d+\]: expected a visible part"),
        (lambda o: o["parts"][0].update(salt="AAAA"), r"\$\.parts\[0\]\.salt: a salt is 32 bytes"),
        (lambda o: o["parts"][0].update(salt="A"), r"\$\.parts\[0\]\.salt: .*not valid base64"),
        (lambda o: o["parts"][0].update(text=""), r"\$\.parts\[0\]\.text: expected a non-empty"),
        (
            lambda o: o["parts"][0].update(text="\udc80"),
            r"\$\.parts\[0\]\.text is not valid Unicode",
        ),
        (lambda o: o["parts"][0].update(label="x"), r"\$\.parts\[0\]: unexpected member 'label'"),
        (
            lambda o: o["parts"][7].update(end=7),
            r"\$\.parts\[7\]: a hidden run ends after it starts",
        ),
        (lambda o: o["parts"][7].update(start="6"), r"\$\.parts\[7\]\.start: expected an integer"),
        (lambda o: o["parts"][7].update(label=""), r"\$\.parts\[7\]\.label: expected a non-empty"),
        (
            lambda o: o["parts"][7].update(hashes=["AAAA"]),
            r"\$\.parts\[7\]\.hashes\[0\]: a hash is 32",
        ),
        (lambda o: o["parts"][7].pop("hashes"), r"\$\.parts\[7\]: missing member 'hashes'"),
    ],
)
def test_parse_names_the_json_path(french: Disclosure, change: Any, message: str) -> None:
    obj = _json(french)
    assert "label" in obj["parts"][7]
    change(obj)
    with pytest.raises(DisclosureError, match=message):
        parse_disclosure(obj)


def test_parse_under_a_path_and_errors_are_verification_errors(french: Disclosure) -> None:
    with pytest.raises(DisclosureError, match=r"\$\.disclosure: expected an object, got an array"):
        parse_disclosure([], path="$.disclosure")
    assert issubclass(DisclosureError, VerificationError)


# -- what a proof must never reveal ---------------------------------------------------


def hidden_segments(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, str]]:
    snapped = snap_spans(text, spans)
    out, position = [], 0
    for i, part in enumerate(segment(text)):
        if any(s <= position < e for s, e, _ in snapped):
            out.append((i, part))
        position += len(part)
    return out


def candidate_names(true_names: list[str]) -> list[str]:
    """5,000 plausible names (Malian first names and surnames, spelling variants), with the
    true ones among them."""
    stems = ["Hama", "Ama", "Mou", "Ous", "Ais", "Aïs", "Fat", "Kad", "Ibra", "Sé", "Ba", "Dja"]
    ends = ["doun", "dou", "ssa", "sata", "ou", "ima", "oumata", "kary", "rou", "né", "ré", "ko"]
    middles = ["", "a", "ma", "d", "t", "l", "ss", "o", "i", "ra", "ko", "ba", "n", "é", "s"]
    names = [s + m + e for s, m, e in itertools.product(stems, middles, ends)]
    names += [n.upper() for n in names] + [n.lower() for n in names]
    unique = [n for n in dict.fromkeys(names) if n not in true_names]
    out = true_names + unique[: 5000 - len(true_names)]
    assert len(out) == 5000 and len(set(out)) == 5000
    return out


def test_a_dictionary_attack_on_the_proof_finds_nothing() -> None:
    """Hash 5,000 candidate names, the true ones included, with every salt the proof shows
    and every salt one could derive without the secret: none matches a hash in the proof."""
    d = proof(FRENCH, FRENCH_SPANS)
    c = commit(FRENCH, SECRET)
    check(d, FRENCH)
    hidden = hidden_segments(FRENCH, FRENCH_SPANS)
    true_names = sorted({t for _, t in hidden if segment(t) == [t] and t.strip() and t.isalnum()})
    assert {"Hamadoun", "Traoré", "Aïssata", "Koné", "223", "76"} <= set(true_names)
    published = {h for part in d.hidden for h in part.hashes} | {c.root}
    visible_salts = [p.salt for p in d.parts if isinstance(p, Visible)]
    hidden_indexes = [i for i, _ in hidden]
    derived: list[bytes] = [b"", bytes(32)]
    for i in range(d.count):
        counter = CONTEXT + i.to_bytes(8, "big")
        derived += [
            counter,
            i.to_bytes(8, "big"),
            hashlib.sha256(counter).digest(),
            hmac.new(b"", counter, hashlib.sha256).digest(),
            hmac.new(bytes(32), counter, hashlib.sha256).digest(),
            hmac.new(c.root, counter, hashlib.sha256).digest(),
        ]
    for i in hidden_indexes:  # a visible salt used as if it were the secret
        counter = CONTEXT + i.to_bytes(8, "big")
        derived += [hmac.new(s, counter, hashlib.sha256).digest() for s in visible_salts]
    salts = list(dict.fromkeys(visible_salts + derived))
    names = [n.encode() for n in candidate_names(true_names)]
    found = []
    for s in salts:
        prefix = hashlib.sha256(b"\x00" + s)
        for name in names:
            h = prefix.copy()
            h.update(name)
            if h.digest() in published:
                found.append(name)
        if hashlib.sha256(s).digest() in published:
            found.append(b"<salt alone>")
    assert found == []
    # The test can see a leak: with the salt the secret gives, the lone "Hamadoun" (a
    # one-segment run, published as its leaf hash) is found at once.
    lone = max(i for i, t in hidden if t == "Hamadoun")
    assert leaf_hash(salt(SECRET, lone) + b"Hamadoun") in published


def test_the_same_name_hidden_twice_has_unrelated_hashes() -> None:
    text = "Koné, puis Koné."
    d = proof(text, spans_of(text, ("Koné", "T")))
    first, second = d.hidden
    assert len(first.hashes) == len(second.hashes) == 1
    assert first.hashes != second.hashes


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        (FRENCH, FRENCH_SPANS),
        (ENGLISH, spans_of(ENGLISH, ("Amadou Diallo", "Witness 1"), ("+1 555 0100", "phone"))),
    ],
)
def test_the_proof_json_contains_no_part_of_a_hidden_segment(
    text: str, spans: list[tuple[int, int, str]]
) -> None:
    d = proof(text, spans)
    data = canonical_json(d.to_json_object()).decode()
    shown = render(d).casefold()
    for _, word in hidden_segments(text, spans):
        if len(word) < 4 or not word.isalnum():
            continue  # spaces, punctuation, short digit groups: also in visible text
        pieces = {word[k : k + 4] for k in range(len(word) - 3)}
        for piece in pieces:
            assert piece not in data, (word, piece)
            assert piece.casefold() not in shown, (word, piece)
        assert base64.b64encode(word.encode()).decode()[:4] not in data
