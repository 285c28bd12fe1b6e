"""Redaction engine: find what the public must not see in a text, and hide it.

A span is found from one of three sources: the case's protected persons (every name and
alias, matched on folded text), patterns (phone numbers, e-mail addresses, coordinates,
ID numbers), and manual marks by an investigator. Spans are merged so that nothing any of
them covers is exposed, then each is replaced by ``[label]``.

Everything is matched on :func:`fold`-ed text; an offset map takes every match back to
character offsets in the original text, so spans always index the text as stored.

When in doubt this module over-redacts: a false positive costs a reviewer a click, a
false negative can cost a witness their life.

Standard library only: services, search and tests call it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

__all__ = [
    "ENGINE_VERSION",
    "ProtectedName",
    "Redaction",
    "Span",
    "SpanSource",
    "apply_spans",
    "find_pattern_spans",
    "find_person_spans",
    "fold",
    "merge_spans",
    "redact",
]

SpanSource = Literal["person", "pattern", "manual"]

# Changes whenever a rule changes what gets redacted, so that callers can fingerprint a
# stored redaction with it and recompute the ones made by an older engine.
ENGINE_VERSION = "redaction-2"

PERSON_REASON = "name of protected person"
MIN_NAME_LETTERS = 2


# --------------------------------------------------------------------------- folding

# Letters that NFKD does not decompose but that people write interchangeably with a
# plain Latin spelling (Cœur/Coeur, Bambara Kɔnɛ/Kone, Sɛgu/Segu, ɲ/ny).
_TRANSLITERATIONS: dict[str, str] = {
    "æ": "ae",
    "œ": "oe",
    "ø": "o",
    "đ": "d",
    "ð": "d",
    "ł": "l",
    "ı": "i",
    "ħ": "h",
    "þ": "th",
    "ɛ": "e",
    "ɔ": "o",
    "ɲ": "ny",
    "ŋ": "ng",
    "ƴ": "y",
    "ɓ": "b",
    "ɗ": "d",
}


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    """Fold one character; ``fold(s)`` is the concatenation of its characters' folds.

    Folding per character keeps an exact map from folded text back to the original.
    Invisible format characters (zero-width space, soft hyphen, direction marks) fold to
    nothing, so that ``Hama\\u00addoun`` cannot slip past as something other than
    ``Hamadoun``.
    """
    if unicodedata.category(char) == "Cf":
        return ""
    out = char
    for _ in range(2):  # casefold can produce characters that decompose further
        decomposed = unicodedata.normalize("NFKD", out)
        stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
        out = stripped.casefold()
    return "".join(_TRANSLITERATIONS.get(c, c) for c in out)


def fold(text: str) -> str:
    """Accent- and case-fold ``text`` for matching (NFKD, drop combining marks, casefold).

    Also drops invisible format characters and maps a few letters that NFKD leaves alone
    (``œ``, ``ø``, ``ɛ``, ``ɔ``...) to their usual Latin spelling. Search and leak checks use
    the same function, so a name that matches here matches there.
    """
    return "".join(_fold_char(c) for c in text)


@dataclass(frozen=True)
class _Folded:
    """Folded text with, for each folded character, the index of its original one."""

    text: str
    origin: tuple[int, ...]
    original: str

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map the folded slice ``[start, end)`` (non-empty) to original offsets.

        The end is pushed past any characters that fold to nothing (combining marks in
        decomposed input, zero-width characters), so that an accent of a covered name is
        not left dangling in the public text.
        """
        orig_start = self.origin[start]
        orig_end = self.origin[end - 1] + 1
        limit = self.origin[end] if end < len(self.origin) else len(self.original)
        while orig_end < limit and _fold_char(self.original[orig_end]) == "":
            orig_end += 1
        return orig_start, orig_end


def _fold_with_map(text: str) -> _Folded:
    parts: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = _fold_char(char)
        parts.append(folded)
        origin.extend([index] * len(folded))
    return _Folded(text="".join(parts), origin=tuple(origin), original=text)


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, kw_only=True)
class ProtectedName:
    """One protected person: the public label and every name and alias to hide."""

    label: str
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.label.strip():
            raise ValueError("a protected person needs a non-empty label")
        if isinstance(self.names, str):
            raise TypeError("names must be a tuple of names, not a single string")
        if not self.names:
            raise ValueError(f"{self.label}: at least one name is required")
        for name in self.names:
            letters = sum(1 for c in fold(name) if c.isalpha())
            if letters < MIN_NAME_LETTERS:
                raise ValueError(
                    f"{self.label}: name {name!r} has fewer than {MIN_NAME_LETTERS} letters;"
                    " it would redact everything"
                )


@dataclass(frozen=True, kw_only=True)
class Span:
    """A range of the original text (``end`` exclusive) that the public must not see."""

    start: int
    end: int
    label: str
    source: SpanSource
    reason: str

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ValueError(f"invalid span [{self.start}, {self.end})")


@dataclass(frozen=True, kw_only=True)
class Redaction:
    """The public text and the spans (sorted, non-overlapping) that produced it."""

    text: str
    spans: tuple[Span, ...]


# --------------------------------------------------------------------------- persons

# A letter: word boundaries are defined against letters only, so that an apostrophe,
# hyphen, underscore or digit next to a name still lets it match (d'Hamadoun,
# Hamadoun's, hamadoun_traore, @hamadoun92).
_WORD_CHAR = r"[^\W\d_]"
_NOT_AFTER_WORD = rf"(?<!{_WORD_CHAR})"
_NOT_BEFORE_WORD = rf"(?!{_WORD_CHAR})"
# What may stand between the words of a multi-word name in the text: any mix of
# whitespace (line breaks, tabs, non-breaking spaces fold to spaces), hyphens, dashes,
# apostrophes and dots.
_NAME_SEPARATOR = r"[\s\-\u2010-\u2015\u2212'\u2018\u2019\u02bc`.\u00b7]"
_NAME_TOKEN = re.compile(r"[^\W_]+")
# Inside one word: a hyphen, usually at a line break, as in text from PDFs or OCR
# ("Hama-\ndoun"); a hyphen mid-line ("Hama-doun") is taken too, rather than let it leak.
_LINE_BREAK_HYPHEN = r"(?:[\-\u2010\u2011\u00ac][ \t]*(?:\r?\n[ \t]*)?)?"


def _word_pattern(word: str) -> str:
    return _LINE_BREAK_HYPHEN.join(re.escape(char) for char in word)


def _name_pattern(name: str) -> re.Pattern[str]:
    """Compile the folded-text pattern for one registered name.

    Not cached here: names are decrypted only to redact, and should not outlive the call
    in a cache of our own (``re`` keeps a small cache of recent patterns regardless).
    """
    folded = fold(name)
    tokens = [m for m in _NAME_TOKEN.finditer(folded)]
    pieces: list[str] = []
    for previous, token in zip([None, *tokens], tokens, strict=False):
        if previous is not None:
            between = folded[previous.end() : token.start()]
            # "Jean Pierre" needs some separator; "Jean-Pierre" and "N'Diaye" are also
            # written "Jeanpierre" and "Ndiaye".
            quantifier = "+" if between.isspace() else "*"
            pieces.append(_NAME_SEPARATOR + quantifier)
        pieces.append(_word_pattern(token.group()))
    return re.compile(_NOT_AFTER_WORD + "".join(pieces) + _NOT_BEFORE_WORD)


def find_person_spans(text: str, persons: Sequence[ProtectedName]) -> list[Span]:
    """Spans covering every name and alias of every protected person in ``text``.

    Matching is on whole words, accent- and case-insensitive, across any whitespace or
    hyphenation between the words of a name. Where matches overlap the longest one gives
    its label, and the returned span covers all of them (never less than any match).
    """
    folded = _fold_with_map(text)
    found: list[Span] = []
    for person in persons:
        for name in person.names:
            for match in _name_pattern(name).finditer(folded.text):
                start, end = folded.original_span(match.start(), match.end())
                found.append(
                    Span(
                        start=start,
                        end=end,
                        label=person.label,
                        source="person",
                        reason=PERSON_REASON,
                    )
                )
    return merge_spans(found)


# --------------------------------------------------------------------------- patterns


@dataclass(frozen=True)
class _Pattern:
    label: str
    reason: str
    regex: re.Pattern[str]
    group: int | str = 0
    accept: Callable[[re.Match[str]], bool] | None = None


def _digit_count(text: str) -> int:
    return sum(1 for c in text if c.isdigit())


# Phone numbers. All patterns run on folded text, where non-breaking spaces are spaces
# and direction marks copied from web pages are gone.
_PHONE_SEP = r"(?:[ \t]?[.\-\u2010-\u2013][ \t]?|[ \t])"
_PHONE_INTERNATIONAL = re.compile(
    rf"""
    (?<![\w+])                          # not inside a word or another number
    \(?(?:\+|00)[ \t]?\d{{1,15}}\)?     # +223, 00223, (+223), +22376123456
    (?:                                 # then groups, each after a separator or ")":
        {_PHONE_SEP}(?:\(\d{{1,5}}\)|\d{{1,12}})  # " 76", "-4567", " (555)"
        | \(\d{{1,5}}\)                  # "+44(0)"
        | (?<=\))\d{{1,12}}              # "(0)20"
    ){{0,7}}
    (?![\w])
    """,
    re.VERBOSE,
)


def _accept_international(match: re.Match[str]) -> bool:
    digits = _digit_count(match.group())
    if match.group().lstrip("(").startswith("00"):
        digits -= 2
    return 8 <= digits <= 15


# Local numbers: Malian 8-digit (76 12 34 56, 76-12-34-56, 76.12.34.56) and French-style
# 10-digit pairs (06 12 34 56 78), one consistent separator; or 8-12 digits in a row.
_PHONE_LOCAL_PAIRS = re.compile(
    r"(?<![\w.,/+-])\d{2}(?P<sep>[ .\-])\d{2}(?:(?P=sep)\d{2}){2,3}(?![\w/]|[.,-]\d)"
)
_PHONE_LOCAL_RUN = re.compile(r"(?<![\w.,/+-])\d{8,12}(?![\w/]|[.,-]\d)")

_EMAIL = re.compile(
    r"""
    (?<![\w.+-])
    [\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*  # local part, plus-addressing
    (?:@|\s?[\[({]\s?(?:at|arobase)\s?[\])}]\s?)         # @ or an obfuscated [at]
    (?:[\w-]+(?:\.|\s?[\[({]\s?(?:dot|point)\s?[\])}]\s?))+  # subdomains, [dot]
    (?=[\w-]*[^\W\d_])[\w-]+                               # top-level domain
    """,
    re.VERBOSE,
)

# Coordinates. A component is decimal degrees with a degree sign or hemisphere letter,
# or degrees-minutes(-seconds). On folded text hemisphere letters are lower case, and the
# masculine ordinal "º" often typed for a degree sign has become "o".
_HEMI = r"[nsewo](?![^\W\d_])"
_DEGREE = r"(?:\s?[°˚]|(?<=\d)o(?=\s?[nsew](?![^\W\d_])|\s?\d))"
_MINUTE_MARK = r"(?:['’′´]|\s(?=\d))"
_SECOND_MARK = r"(?:\"|''|’’|′′|″|”|“)"
_NUMBER = r"\d{1,3}(?:[.,]\d+)?"
_DMS = (
    rf"\d{{1,3}}{_DEGREE}\s?\d{{1,2}}(?:[.,]\d+)?\s?{_MINUTE_MARK}"
    rf"(?:\s?\d{{1,2}}(?:[.,]\d+)?\s?{_SECOND_MARK}?)?"
)
_DEGREES = rf"[-+−]?{_NUMBER}{_DEGREE}"
_DECIMAL = r"\d{1,3}[.,]\d{2,}"  # with a hemisphere letter: "14.23N", not "1.5 s"
_COMPONENT = (
    rf"(?:(?<![^\W\d_]){_HEMI}\s?(?:{_DMS}|{_DEGREES}|{_DECIMAL})"  # N14.2345, N 14°14'
    rf"|(?:{_DMS}|{_DEGREES}|{_DECIMAL})\s?{_HEMI}"  # 14.2345N, 14°14'04"N
    rf"|{_DMS}|{_DEGREES})"  # 14°14'04", -4.5678°
)
_COORD_PAIR = re.compile(
    rf"(?<![\w.,]){_COMPONENT}\s*[,;/]?\s*{_COMPONENT}(?![\w])",
)
# One component alone is a position only with a hemisphere or in DMS form ("35°" is not).
_COORD_SINGLE = re.compile(
    rf"(?<![\w.,])(?:(?<![^\W\d_]){_HEMI}\s?(?:{_DMS}|{_DEGREES}|{_DECIMAL})"
    rf"|(?:{_DMS}|{_DEGREES}|{_DECIMAL})\s?{_HEMI}"
    rf"|{_DMS})",
)
# Bare decimal pairs (14.2345, -4.5678), also with decimal commas (14,2345 ; -4,5678).
# Enough decimals that prices and "1,500, 2,300" are not taken for a position.
_DECIMAL_DOT = r"[-+−]?\d{1,3}\.\d{3,}"
_DECIMAL_COMMA = r"[-+−]?\d{1,3},\d{4,}"
_COORD_DECIMAL_PAIR = re.compile(
    rf"(?<![\w.,+−-])(?P<lat>{_DECIMAL_DOT})\s*[,;/]?\s*(?P<lon>{_DECIMAL_DOT})(?![\w]|[.,]\d)"
    rf"|(?<![\w.,+−-])(?P<clat>{_DECIMAL_COMMA})\s*[;/]?\s*(?P<clon>{_DECIMAL_COMMA})"
    rf"(?![\w]|[.,]\d)"
)
_COORD_KEYWORD = re.compile(
    r"(?<![^\W\d_])(?:lat|latitude|lon|long|lng|longitude)(?![^\W\d_])\.?\s*[:=]?\s*"
    rf"(?P<value>[-+−]?{_NUMBER}(?:\s?{_DEGREE})?(?:\s?{_HEMI})?)"
)


def _accept_decimal_pair(match: re.Match[str]) -> bool:
    lat = match.group("lat") or match.group("clat")
    lon = match.group("lon") or match.group("clon")

    def value(number: str) -> float:
        return abs(float(number.replace(",", ".").replace("−", "-")))

    return value(lat) <= 90 and value(lon) <= 180


# Passport and ID-card numbers: only after a keyword, a code of 6-20 characters with a
# digit in it. The keyword stays visible ("passport [ID number]").
_ID_KEYWORD = (
    r"(?:passports?|passeports?|pasaporte|id|identity\s+card|carte\s+d['’]\s?identite"
    r"|carte\s+nationale\s+d['’]\s?identite|cni|nina|n°|no(?=\s?[:#.]))"
)
_ID_CONNECTOR = r"[\s:#=.\-]*(?:(?:card|number|no|n°|numero|num|nr|nina)[\s:#=.\-]*){0,3}"
_ID_CODE = r"(?P<code>[^\W_](?:[^\W_]|-(?=[^\W_])){5,24})"
_ID_NUMBER = re.compile(
    rf"(?<![^\W\d_]){_ID_KEYWORD}(?![^\W\d_]){_ID_CONNECTOR}{_ID_CODE}(?![^\W_])"
)


def _accept_id_code(match: re.Match[str]) -> bool:
    code = match.group("code")
    alnum = sum(1 for c in code if c.isalnum())
    return 6 <= alnum <= 20 and _digit_count(code) > 0


_PATTERNS: tuple[_Pattern, ...] = (
    _Pattern(
        "phone number",
        "phone number pattern",
        _PHONE_INTERNATIONAL,
        accept=_accept_international,
    ),
    _Pattern("phone number", "phone number pattern", _PHONE_LOCAL_PAIRS),
    _Pattern("phone number", "phone number pattern", _PHONE_LOCAL_RUN),
    _Pattern("e-mail address", "e-mail address pattern", _EMAIL),
    _Pattern("coordinates", "coordinates pattern", _COORD_PAIR),
    _Pattern("coordinates", "coordinates pattern", _COORD_SINGLE),
    _Pattern(
        "coordinates",
        "coordinates pattern",
        _COORD_DECIMAL_PAIR,
        accept=_accept_decimal_pair,
    ),
    _Pattern("coordinates", "coordinates pattern", _COORD_KEYWORD, group="value"),
    _Pattern(
        "ID number",
        "ID number after a passport or ID keyword",
        _ID_NUMBER,
        group="code",
        accept=_accept_id_code,
    ),
)


def find_pattern_spans(text: str) -> list[Span]:
    """Spans for phone numbers, e-mail addresses, coordinates and ID numbers."""
    folded = _fold_with_map(text)
    found: list[Span] = []
    for pattern in _PATTERNS:
        for match in pattern.regex.finditer(folded.text):
            if pattern.accept is not None and not pattern.accept(match):
                continue
            start, end = match.span(pattern.group)
            if start == end:
                continue
            orig_start, orig_end = folded.original_span(start, end)
            found.append(
                Span(
                    start=orig_start,
                    end=orig_end,
                    label=pattern.label,
                    source="pattern",
                    reason=pattern.reason,
                )
            )
    return merge_spans(found)


# --------------------------------------------------------------------------- merging

# Which label a merged span shows. A manual mark is a reviewed decision, and may be there
# precisely to hide that a protected person is mentioned, so it wins over a person's
# label; a person's label wins over a pattern's.
# Between spans of one source the longest wins; on equal length, the more specific
# pattern (a code after "passport" is an ID number even if it is also 9 digits).
_SOURCE_RANK: dict[str, int] = {"manual": 0, "person": 1, "pattern": 2}
_LABEL_RANK: dict[str, int] = {"ID number": 0, "coordinates": 1, "e-mail address": 2}


def _winner(group: Sequence[Span]) -> Span:
    return min(
        group,
        key=lambda s: (
            _SOURCE_RANK[s.source],
            -(s.end - s.start),
            _LABEL_RANK.get(s.label, len(_LABEL_RANK)),
            s.start,
        ),
    )


def _combine(group: Sequence[Span]) -> Span:
    winner = _winner(group)
    reasons = list(dict.fromkeys(s.reason for s in [winner, *group]))
    return Span(
        start=min(s.start for s in group),
        end=max(s.end for s in group),
        label=winner.label,
        source=winner.source,
        reason="; ".join(reasons),
    )


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Sort spans and merge them so that every character any of them covers stays covered.

    Overlapping spans become one span over their union, labelled by the strongest source
    (manual, then person, then pattern) and, within it, the longest span. Spans that only
    touch are merged when they carry the same label and source. Empty spans are dropped.
    """
    ordered = sorted((s for s in spans if s.end > s.start), key=lambda s: (s.start, s.end))
    overlapping: list[list[Span]] = []
    group_end = -1
    for span in ordered:
        if overlapping and span.start < group_end:
            overlapping[-1].append(span)
            group_end = max(group_end, span.end)
        else:
            overlapping.append([span])
            group_end = span.end
    merged: list[Span] = []
    for group in overlapping:
        combined = _combine(group)
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and previous.end == combined.start
            and previous.label == combined.label
            and previous.source == combined.source
        ):
            merged[-1] = _combine([previous, combined])
        else:
            merged.append(combined)
    return merged


def apply_spans(text: str, spans: Sequence[Span]) -> str:
    """Replace each span of ``text`` by ``[label]``; text outside spans is kept as is.

    Spans are merged first, so overlapping input can neither expose nor duplicate text.
    A span beyond the end of ``text`` was computed on another text: refused.
    """
    for span in spans:
        if span.end > len(text):
            raise ValueError(
                f"span [{span.start}, {span.end}) is outside a text of length {len(text)}"
            )
    pieces: list[str] = []
    position = 0
    for span in merge_spans(spans):
        pieces.append(text[position : span.start])
        pieces.append(f"[{span.label}]")
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces)


def redact(text: str, persons: Sequence[ProtectedName], manual: Sequence[Span] = ()) -> Redaction:
    """Redact ``text``: protected persons' names, patterns, and the manual marks."""
    spans = merge_spans([*find_person_spans(text, persons), *find_pattern_spans(text), *manual])
    return Redaction(text=apply_spans(text, spans), spans=tuple(spans))
