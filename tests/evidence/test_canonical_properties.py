"""Property tests: canonical JSON round-trips and is a function of the value alone."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence import canonical
from evidence.canonical import MAX_SAFE_INTEGER, canonical_json, es6_number, parse_canonical
from evidence.errors import CanonicalizationError

texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(texts, inner, max_size=5),
    max_leaves=30,
)


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values: numbers compare as IEEE doubles (5 == 5.0, -0.0 == 0)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        return not isinstance(b, bool) and float(a) == float(b)  # JSON numbers are doubles
    return bool(a == b)


@settings(max_examples=300, deadline=None)
@given(values)
def test_round_trip(value: Any) -> None:
    data = canonical_json(value)
    back = parse_canonical(data)
    assert same(value, back)
    assert canonical_json(back) == data


@settings(max_examples=300, deadline=None)
@given(values)
def test_stdlib_json_reads_the_same_value(value: Any) -> None:
    assert same(value, json.loads(canonical_json(value)))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(texts, st.integers(0, 9), max_size=8))
def test_key_order_does_not_matter(value: dict[str, int]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical_json(reordered) == canonical_json(value)


@settings(max_examples=500, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_es6_numbers_read_back_exactly(x: float) -> None:
    text = es6_number(x)
    assert float(text) == x or (x == 0 and text == "0")
    assert math.copysign(1, float(text)) == math.copysign(1, x) or x == 0


# -- the fast path (C encoder) against the reference writer ---------------------------------

any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12) | st.sampled_from(
    ['\x00\x1f"\\\x7f', "\ufb33", "\U0001f602", "é", "\u2028", ""]
)
plain_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | any_text,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.tuples(inner, inner)
        | st.dictionaries(any_text, inner, max_size=6)
    ),
    max_leaves=30,
)


def reference(value: Any) -> bytes:
    """The plain writer, bypassing the fast path."""
    parts: list[str] = []
    canonical._write(value, "$", 0, parts)
    return "".join(parts).encode("utf-8")


@settings(max_examples=500, deadline=None)
@given(plain_values)
def test_the_fast_path_writes_what_the_reference_writes(value: Any) -> None:
    data = canonical_json(value)
    assert data == reference(value)
    assert canonical_json(parse_canonical(data)) == data


@settings(max_examples=300, deadline=None)
@given(values)
def test_the_fast_path_of_parsing_agrees_with_the_strict_one(value: Any) -> None:
    data = canonical_json(value)
    assert same(parse_canonical(data), value)
    for spaced in (b" " + data, data + b"\n"):
        with pytest.raises(CanonicalizationError, match="not canonical"):
            parse_canonical(spaced)
