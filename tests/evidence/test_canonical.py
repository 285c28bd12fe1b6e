"""RFC 8785 canonical JSON against the published JCS vectors and ES6 number lines."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import pytest

from evidence.canonical import (
    MAX_DEPTH,
    canonical_json,
    es6_number,
    parse_canonical,
    parse_canonical_many,
)
from evidence.errors import CanonicalizationError

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
JCS = VECTORS / "jcs"
NAMES = sorted(p.stem for p in (JCS / "input").glob("*.json"))
NUMBERS: dict[str, Any] = json.loads((JCS / "es6_numbers.json").read_text())


def double(hex_bits: str) -> float:
    value: float = struct.unpack(">d", int(hex_bits, 16).to_bytes(8, "big"))[0]
    return value


def test_all_six_pairs_present() -> None:
    assert NAMES == ["arrays", "french", "structures", "unicode", "values", "weird"]


@pytest.mark.parametrize("name", NAMES)
def test_jcs_input_output_pairs(name: str) -> None:
    value = json.loads((JCS / "input" / f"{name}.json").read_bytes())
    expected = (JCS / "output" / f"{name}.json").read_bytes()
    expected_hex = bytes.fromhex((JCS / "outhex" / f"{name}.txt").read_text())
    assert expected == expected_hex
    got = canonical_json(value)
    assert got == expected
    assert parse_canonical(got) == value
    assert canonical_json(parse_canonical(got)) == got


@pytest.mark.parametrize("name", NAMES)
def test_pretty_inputs_are_not_canonical(name: str) -> None:
    with pytest.raises(CanonicalizationError, match="not canonical JSON: first difference"):
        parse_canonical((JCS / "input" / f"{name}.json").read_bytes())


def test_es6_appendix_b_and_readme_samples() -> None:
    rows = NUMBERS["appendix_b"] + NUMBERS["readme_samples"] + NUMBERS["readme_invalid"]
    assert (len(NUMBERS["appendix_b"]), len(NUMBERS["readme_samples"])) == (26, 7)
    assert len(NUMBERS["readme_invalid"]) == 3
    for row in rows:
        value = double(row["ieee754_hex"])
        if row.get("expect_error"):
            assert not math.isfinite(value)
            with pytest.raises(CanonicalizationError, match="not allowed in JSON"):
                canonical_json([value])
            with pytest.raises(CanonicalizationError, match="is not a JSON number"):
                es6_number(value)
        else:
            assert canonical_json(value) == row["expected"].encode()
            if "hex_as_in_file" in row:
                assert double(row["hex_as_in_file"]) == value


def test_es6_first_10000_lines() -> None:
    lines = (JCS / "es6testfile_first10000.txt").read_text().splitlines()
    assert len(lines) == 10_000
    wrong = []
    for line in lines:
        hex_bits, expected = line.split(",")
        if es6_number(double(hex_bits)) != expected:
            wrong.append(line)
    assert wrong == []


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (123e-20, "1.23e-18"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (-0.0, "0"),
        (-1.5, "-1.5"),
        (5.0, "5"),
        (0.1, "0.1"),
        (2**53 - 1, "9007199254740991"),
        (-(2**53 - 1), "-9007199254740991"),
        (True, "true"),
        (None, "null"),
        ((1, [2.5], {}), "[1,[2.5],{}]"),
    ],
)
def test_scalars(value: object, text: str) -> None:
    assert canonical_json(value) == text.encode()


def test_strings_escape_only_what_jcs_escapes() -> None:
    text = '\x00\x01\x08\t\n\x0b\x0c\r\x1f "\\/\x7f\u2028é😂'
    expected = '"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f \\"\\\\/\x7f\u2028é😂"'
    assert canonical_json(text) == expected.encode()
    assert parse_canonical(expected.encode()) == text


def test_keys_sort_by_utf16_code_units() -> None:
    # U+FB33 sorts after U+1F602 in UTF-16 (0xD83D < 0xFB33) though not in code points.
    value = {"\ufb33": 1, "\U0001f602": 2, "a": 3, "\u00e9": 4, "": 5}
    expected = '{"":5,"a":3,"\u00e9":4,"\U0001f602":2,"\ufb33":1}'
    assert canonical_json(value) == expected.encode()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"details": {"count": float("nan")}}, r"\$\.details\.count: nan is not allowed"),
        ({"a": [1, float("inf")]}, r"\$\.a\[1\]: inf is not allowed"),
        ([-float("inf")], r"\$\[0\]: -inf"),
        ({"n": 2**53}, r"\$\.n: integer 9007199254740992 is outside"),
        ({"n": -(2**53)}, r"\$\.n: integer -9007199254740992"),
        ({1: "x"}, r"\$: object key 1 is a int"),
        ({"ok": {None: 1}}, r"\$\.ok: object key None"),
        ({"s": "a\ud800b"}, r"\$\.s: lone surrogate U\+D800 at offset 1"),
        ({"\udfff": 1}, r"\$\[\"\\udfff\"\] \(key\): lone surrogate U\+DFFF"),
        ({"my key": {"x": b"bytes"}}, r'\$\["my key"\]\.x: bytes is not a JSON type'),
        ({"set": {1}}, r"\$\.set: set is not a JSON type"),
        (object(), r"\$: object is not a JSON type"),
    ],
)
def test_refusals_name_the_path(value: object, message: str) -> None:
    with pytest.raises(CanonicalizationError, match=message):
        canonical_json(value)


def test_depth_limit_and_cycles() -> None:
    deep: Any = []
    for _ in range(MAX_DEPTH - 1):
        deep = [deep]
    assert canonical_json(deep) == b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    with pytest.raises(CanonicalizationError, match=f"nested deeper than {MAX_DEPTH}"):
        canonical_json([deep])
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    with pytest.raises(CanonicalizationError, match="nested deeper"):
        canonical_json(cycle)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a":1,"a":2}', "duplicate object key 'a'"),
        (b"[NaN]", "NaN is not allowed"),
        (b"[-Infinity]", "-Infinity is not allowed"),
        (b"[1e400]", r"\$\[0\]: inf is not allowed"),
        (b'{"a":1 }', "invalid JSON|not canonical"),
        (b'{"b":1,"a":2}', "first difference at byte 2"),
        (b"[1.0]", "not canonical JSON"),
        (b"[9007199254740993]", "not canonical JSON"),
        (b"[" + b"9" * 5000 + b"]", r"inf is not allowed"),
        (b'["\\u00e9"]', "not canonical JSON"),
        (b'["\\ud800"]', "lone surrogate"),
        (b"\xff", "not UTF-8 at byte 0"),
        (b"", "invalid JSON at byte offset 0"),
        (b"[1] x", "invalid JSON"),
        (b"[" * 100_000, "invalid JSON|nested too deeply"),
        (b"[]\n", "not canonical"),
    ],
)
def test_parse_canonical_refusals(data: bytes, message: str) -> None:
    with pytest.raises(CanonicalizationError, match=message):
        parse_canonical(data)


def test_parse_canonical_reads_doubles_beyond_safe_integers() -> None:
    assert parse_canonical(b"[9007199254740992]") == [2.0**53]
    assert parse_canonical(b"295147905179352830000") == 2.0**68
    assert parse_canonical(b"[-12,0]") == [-12, 0]
    assert canonical_json(2.0**68) == b"295147905179352830000"


def test_recursion_error_becomes_canonicalization_error() -> None:
    # Deep enough that the C scanner gives up before our own depth check runs.
    with pytest.raises(CanonicalizationError, match="nested too deeply"):
        parse_canonical(b"[" * 200_000 + b"]" * 200_000)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # Code-point order, which the C encoder would also write: not UTF-16 order.
        ('{"\ufb33":1,"\U0001f602":2}'.encode(), "not canonical"),
        (b'{"a":1,"a":1}', "duplicate object key 'a'"),
        (b"9007199254740993", "not canonical"),  # read as a double, it is ...992
        (b"-0", "not canonical"),
        (b'"\\ud800"', "lone surrogate"),
        (b"[1.0]", "not canonical"),
        (b"NaN", "NaN is not allowed"),
    ],
)
def test_what_the_fast_path_leaves_to_the_strict_one_is_still_refused(
    data: bytes, message: str
) -> None:
    with pytest.raises(CanonicalizationError, match=message):
        parse_canonical(data)


@pytest.mark.parametrize(
    ("data", "value"),
    [
        ('{"\U0001f602":2,"\ufb33":1}'.encode(), {"\U0001f602": 2, "\ufb33": 1}),
        (b"[1.5,1e+21,-9007199254740991]", [1.5, 1e21, -9007199254740991]),
        (b"12345678901234567000", 12345678901234567000.0),
    ],
)
def test_what_the_fast_path_leaves_to_the_strict_one_is_still_read(
    data: bytes, value: object
) -> None:
    assert parse_canonical(data) == value
    assert canonical_json(value) == data


def test_a_cycle_or_deep_nesting_leaves_the_fast_path_for_a_clear_error() -> None:
    deep: list[object] = []
    for _ in range(300):
        deep = [deep]
    with pytest.raises(CanonicalizationError, match="nested deeper than 256"):
        canonical_json({"a": deep})
    loop: dict[str, object] = {}
    loop["self"] = loop
    with pytest.raises(CanonicalizationError, match="nested deeper"):
        canonical_json(loop)


def _one_by_one(datas: list[bytes]) -> list[object]:
    out: list[object] = []
    for data in datas:
        try:
            out.append(parse_canonical(data))
        except CanonicalizationError as exc:
            out.append(("error", str(exc)))
    return out


def _many(datas: list[bytes]) -> list[object]:
    return [
        ("error", str(v)) if isinstance(v, CanonicalizationError) else v
        for v in parse_canonical_many(datas)
    ]


GOOD = [(JCS / "output" / f"{name}.json").read_bytes() for name in NAMES] + [
    b'{"a":[1,2,{"b":null}],"c":"\\u001f"}',
    b"-9007199254740991",
    b'"sha256:00"',
    b"[]",
    b"{}",
    b"true",
]


def test_many_agrees_with_one_by_one_on_canonical_values() -> None:
    assert _many(GOOD) == _one_by_one(GOOD)
    assert _many([]) == []


@pytest.mark.parametrize(
    "bad",
    [
        b'{"a":1,"a":2}',
        b"[NaN]",
        b"[1.0]",
        b"[9007199254740993]",
        b'["\\ud800"]',
        b'["\\u00e9"]',
        b"\xff",
        b"",
        b"[1] x",
        b" 1",
        b"1,2",
        b"]",
        b'{"b":1,"a":2}',
        '{"\ufb33":1,"\U0001f602":2}'.encode(),
    ],
)
@pytest.mark.parametrize("where", [0, 3, len(GOOD)])
def test_one_bad_value_among_many_gets_its_own_error_and_the_rest_are_read(
    bad: bytes, where: int
) -> None:
    datas = [*GOOD[:where], bad, *GOOD[where:]]
    got = _many(datas)
    assert got == _one_by_one(datas)
    assert isinstance(got[where], tuple) and got[where][0] == "error"


def test_values_that_only_line_up_when_joined_are_each_refused() -> None:
    # "[" + "[1,2],3,4"... : joined, these three texts are an array of three values
    # written back byte for byte, yet none of them is one complete canonical value.
    datas = [b"[1", b"2]", b"3,4"]
    assert [v[0] for v in _many(datas)] == ["error", "error", "error"]  # type: ignore[index]
    assert _many(datas) == _one_by_one(datas)
