"""RFC 8785 JSON Canonicalization Scheme (JCS).

:func:`canonical_json` writes the one byte sequence that RFC 8785 allows for a JSON value:

* objects: members sorted by key, comparing keys as arrays of UTF-16 code units
  (RFC 8785 section 3.2.3), no whitespace anywhere (3.2.1);
* strings: UTF-8, with only ``"``, ``\\``, and U+0000..U+001F escaped, the latter as
  ``\\b \\t \\n \\f \\r`` or ``\\u00xx`` in lower case (3.2.2.2);
* numbers: the ECMAScript ``Number.prototype.toString`` form of the IEEE 754 double
  (3.2.2.3), which is the shortest round-trip digit string laid out with ES6 exponent rules.

Python values map to JSON as ``dict`` (``str`` keys only) -> object, ``list``/``tuple`` ->
array, ``str``, ``int``, ``float``, ``bool``, ``None``. Integers must lie within
``±(2**53 - 1)`` (I-JSON, RFC 7493 section 2.2): a larger one would not survive a trip
through an IEEE double, so it is refused rather than silently rounded. NaN, infinities,
lone surrogates, non-string keys and any other type raise :class:`CanonicalizationError`
naming the JSON path of the offending value (``$.details.count``, ``$.items[2]``).

:func:`parse_canonical` is the reverse check for stored bytes: strict parsing (no
duplicate keys, no NaN) and the bytes must be exactly what :func:`canonical_json` writes.

Both have a fast path for the values custody events are made of (objects with keys free of
characters beyond U+FFFF, arrays, strings, safe integers, booleans, null): there the
standard library's C encoder, with sorted keys and no whitespace, already writes the RFC
8785 form, since for such keys code-point order is UTF-16 order and its string escapes are
JCS's. Anything else (floats, large integers, astral keys, lone surrogates, other types)
takes the writer below, which is the reference; tests hold the two to the same output.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Final

from evidence.errors import CanonicalizationError

__all__ = [
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "canonical_json",
    "canonical_json_of_fields",
    "es6_number",
    "parse_canonical",
    "parse_canonical_many",
]

MAX_SAFE_INTEGER: Final = 2**53 - 1
"""Largest integer magnitude accepted (ECMAScript ``Number.MAX_SAFE_INTEGER``)."""

MAX_DEPTH: Final = 256
"""Deepest nesting of arrays and objects accepted (also stops reference cycles)."""

_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}
_NEEDS_ESCAPE: Final = re.compile(r'["\\\x00-\x1f]')
_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASTRAL: Final = re.compile("[\U00010000-\U0010ffff]")


def _plain_encoder() -> Callable[[object], str]:
    """json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":")), with the C
    encoder made once rather than per call."""
    make = getattr(json.encoder, "c_make_encoder", None)
    quote = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or quote is None:  # pragma: no cover - CPython builds have _json
        return json.JSONEncoder(
            ensure_ascii=False, separators=(",", ":"), sort_keys=True, check_circular=False
        ).encode
    encode = make(None, None, quote, None, ":", ",", True, False, True)
    return lambda value: "".join(encode(value, 0))


_PLAIN_ENCODE: Final = _plain_encoder()


def canonical_json(value: object) -> bytes:
    """Serialise ``value`` as RFC 8785 canonical JSON (UTF-8 bytes, no trailing newline)."""
    if _plain(value, 0):
        try:
            return _PLAIN_ENCODE(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: the writer names its path
    parts: list[str] = []
    _write(value, "$", 0, parts)
    return "".join(parts).encode("utf-8")


def canonical_json_of_fields(value: dict[str, object], *, nested: str) -> bytes:
    """:func:`canonical_json` of an object whose members the caller has already checked to
    be plain (keys ASCII; values strings, safe integers, booleans or null), all but the
    member ``nested``, which is checked here. A custody event is such an object: its
    schema fixes every member but ``details``, so only that one needs walking."""
    if _plain(value[nested], 1):
        try:
            return _PLAIN_ENCODE(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: the writer names its path
    return canonical_json(value)


def _plain(value: object, depth: int) -> bool:
    """True if the C encoder writes ``value`` exactly as RFC 8785 does (see module doc)."""
    kind = type(value)
    if kind is dict:
        if depth >= MAX_DEPTH:
            return False
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str or not (key.isascii() or _ASTRAL.search(key) is None):
                return False
            # _plain_scalar, inline: this runs for every member of every event signed.
            item_kind = type(item)
            if item_kind is str or item is None or item_kind is bool:
                continue
            if item_kind is int:
                if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                    continue
                return False
            if not _plain(item, depth + 1):
                return False
        return True
    if kind is list or kind is tuple:
        if depth >= MAX_DEPTH:
            return False
        return all(
            _plain_scalar(item) or _plain(item, depth + 1)
            for item in value  # type: ignore[attr-defined]
        )
    return _plain_scalar(value)


def _plain_scalar(value: object) -> bool:
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    return kind is int and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER  # type: ignore[operator]


def es6_number(value: float) -> str:
    """ECMAScript ``Number.prototype.toString`` of a finite double (RFC 8785 section 3.2.2.3).

    ``repr`` gives the shortest digit string that reads back as the same double, choosing
    the closest one on ties, which is what ECMA-262 (7.1.12.1, Note 2) asks for; this
    function only re-lays those digits out with the ECMAScript exponent rules.
    """
    if not math.isfinite(value):
        raise CanonicalizationError(f"{value!r} is not a JSON number")
    if value == 0:
        return "0"  # also for -0.0
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    integer_part, _, fraction = mantissa.partition(".")
    digits = integer_part + fraction
    # The decimal point sits after ``point`` digits of ``digits`` (ECMA-262's n).
    point = len(integer_part) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k = len(digits)
    if k <= point <= 21:
        text = digits + "0" * (point - k)
    elif 0 < point <= 21:
        text = digits[:point] + "." + digits[point:]
    elif -6 < point <= 0:
        text = "0." + "0" * -point + digits
    else:
        e = point - 1
        exp = f"e{'+' if e >= 0 else '-'}{abs(e)}"
        text = digits + exp if k == 1 else f"{digits[0]}.{digits[1:]}{exp}"
    return sign + text


def _write(value: object, path: str, depth: int, out: list[str]) -> None:
    # bool before int: bool is a subclass of int.
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value, path))
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalizationError(
                f"{path}: integer {value} is outside ±(2**53 - 1) and would lose precision"
            )
        out.append(str(int(value)))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise CanonicalizationError(f"{path}: {value!r} is not allowed in JSON")
        out.append(es6_number(value))
    elif isinstance(value, dict):
        _check_depth(path, depth)
        _write_object(value, path, depth, out)
    elif isinstance(value, list | tuple):
        _check_depth(path, depth)
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, f"{path}[{i}]", depth + 1, out)
        out.append("]")
    else:
        raise CanonicalizationError(f"{path}: {type(value).__name__} is not a JSON type")


def _write_object(value: dict[object, object], path: str, depth: int, out: list[str]) -> None:
    keyed: list[tuple[bytes, str, object]] = []
    for key, item in value.items():
        if not isinstance(key, str):
            raise CanonicalizationError(
                f"{path}: object key {key!r} is a {type(key).__name__}, JSON keys are strings"
            )
        child = _child_path(path, key)
        _check_surrogates(key, child + " (key)")
        keyed.append((key.encode("utf-16-be"), child, item))
    # RFC 8785 3.2.3: sort by UTF-16 code units; big-endian bytes compare the same way.
    keyed.sort(key=lambda entry: entry[0])
    out.append("{")
    for i, (utf16, child, item) in enumerate(keyed):
        if i:
            out.append(",")
        out.append(_string(utf16.decode("utf-16-be"), child))
        out.append(":")
        _write(item, child, depth + 1, out)
    out.append("}")


def _string(text: str, path: str) -> str:
    _check_surrogates(text, path)
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def _check_surrogates(text: str, path: str) -> None:
    found = _SURROGATE.search(text)
    if found is not None:
        raise CanonicalizationError(
            f"{path}: lone surrogate U+{ord(found.group()):04X} at offset {found.start()}"
        )


def _check_depth(path: str, depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise CanonicalizationError(f"{path}: nested deeper than {MAX_DEPTH} levels")


def _child_path(path: str, key: str) -> str:
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key)}]"


def parse_canonical(data: bytes) -> object:
    """Parse RFC 8785 canonical JSON strictly, and check that it is canonical.

    Rejects invalid UTF-8, duplicate object keys, ``NaN``/``Infinity``, numbers that
    overflow a double, and any byte sequence that differs from ``canonical_json`` of the
    parsed value (whitespace, key order, escapes, number spelling).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CanonicalizationError(f"not UTF-8 at byte {exc.start}: {exc.reason}") from None
    if text.isascii() or _ASTRAL.search(text) is None:
        # Fast path: numbers read only as safe integers (no fraction, no exponent); if the
        # C encoder then writes the very same bytes, they were canonical (a duplicate key
        # would have been dropped, so the bytes would differ). Anything unusual goes the
        # strict way below.
        try:
            plain = _PLAIN_DECODE(text)
        except (_Unusual, ValueError, RecursionError):
            pass
        else:
            try:
                if _PLAIN_ENCODE(plain).encode("utf-8") == data:
                    return plain
            except UnicodeEncodeError:
                pass
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constant,
            parse_int=_parse_int,
        )
    except json.JSONDecodeError as exc:
        raise CanonicalizationError(f"invalid JSON at byte offset {exc.pos}: {exc.msg}") from None
    except RecursionError:
        raise CanonicalizationError("JSON nested too deeply") from None
    again = canonical_json(value)
    if again != data:
        at = next(
            (i for i, (a, b) in enumerate(zip(again, data, strict=False)) if a != b),
            min(len(again), len(data)),
        )
        raise CanonicalizationError(
            f"not canonical JSON: first difference at byte {at} "
            f"(canonical form is {len(again)} bytes, input is {len(data)})"
        )
    return value


def parse_canonical_many(datas: Sequence[bytes]) -> list[object | CanonicalizationError]:
    """:func:`parse_canonical` of each of ``datas``, in order: the value, or the error that
    :func:`parse_canonical` raises for it.

    An audit reads millions of stored values, and one call of :func:`parse_canonical` per
    value costs more in Python's call overhead than in parsing. So each value is read by
    the C scanner alone (one call, which must consume the whole text), and the canonical
    form of all of them is checked at once: the C encoder writes the list of values back,
    and that must be ``[d0,d1,...]`` byte for byte. Each text is one complete JSON value
    and no complete value is a proper prefix of another one that is followed by ``,`` or
    ``]``, so equal joined texts mean each value was written back exactly as stored. If
    anything differs, or a value is one that the fast path leaves to the strict one, each
    value is parsed on its own.
    """
    texts: list[str] = []
    values: list[object] = []
    try:
        for data in datas:
            text = data.decode("utf-8")
            value, end = _PLAIN_SCAN(text, 0)
            if end != len(text) or not (text.isascii() or _ASTRAL.search(text) is None):
                raise _Unusual
            texts.append(text)
            values.append(value)
        if _PLAIN_ENCODE(values) == "[" + ",".join(texts) + "]":
            return values
    except (_Unusual, UnicodeDecodeError, StopIteration, ValueError, RecursionError):
        pass
    results: list[object | CanonicalizationError] = []
    for data in datas:
        try:
            results.append(parse_canonical(data))
        except CanonicalizationError as exc:
            results.append(exc)
    return results


class _Unusual(Exception):
    """A number or constant the fast path of :func:`parse_canonical` leaves to the strict one."""


def _unusual(_text: str) -> object:
    raise _Unusual


def _safe_int(text: str) -> int:
    if len(text) <= 17:  # 16 digits and a sign at most: int() stays cheap
        number = int(text)
        if -MAX_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER:
            return number
    raise _Unusual


_PLAIN_DECODER: Final = json.JSONDecoder(
    parse_float=_unusual, parse_int=_safe_int, parse_constant=_unusual
)
_PLAIN_DECODE: Final = _PLAIN_DECODER.decode
#: The decoder's C scanner: one value at an offset, no whitespace skipped, (value, end).
_PLAIN_SCAN: Final[Callable[[str, int], tuple[object, int]]] = _PLAIN_DECODER.scan_once  # type: ignore[attr-defined]


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise CanonicalizationError(f"duplicate object key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> object:
    raise CanonicalizationError(f"{name} is not allowed in JSON")


def _parse_int(text: str) -> int | float:
    # A canonical integer beyond 2**53 - 1 can only have come from a double
    # (canonical_json refuses such ints), so read it back as one.
    # Sixteen digits or fewer cannot trip the int-to-str digit limit.
    if len(text.lstrip("-")) <= 16:
        number = int(text)
        if abs(number) <= MAX_SAFE_INTEGER:
            return number
    return float(text)
