"""Text analysis shared by every backend, by the query planner and by the snippets.

Every token is folded the same way: Unicode compatibility forms decomposed and combining
marks dropped, Whoosh's ``accent_map`` applied, then lower-cased. Folding comes *before*
stemming, so ``tués`` and ``tues`` stem alike and a query matches whether or not its
author typed the accents. French and English text is also stemmed (Snowball); any other
language is only folded.

Each searchable field is indexed as several *subfields*: ``<field>_plain`` (folded, every
document) and, for titles and bodies, ``<field>_fr`` / ``<field>_en`` (folded and stemmed,
only for documents in that language). A query word is looked up in all of them at once.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from whoosh.analysis import (
    Analyzer,
    CharsetFilter,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
)
from whoosh.lang import stemmer_for_language
from whoosh.support.charset import accent_map

# A word: letters, digits, underscore, and combining marks (so decomposed "é" stays whole).
WORD_PATTERN = r"[\w\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+"

STEMMED_LANGUAGES = ("fr", "en")

# accent_map leaves ligatures alone; French has two in common words (cœur, nævus).
FOLD_MAP: dict[int, str] = dict(accent_map)
FOLD_MAP.update({ord("œ"): "oe", ord("Œ"): "OE", ord("æ"): "ae", ord("Æ"): "AE"})
FOLD_MAP.update({ord("ß"): "ss", ord("ẞ"): "SS"})


class StripMarksFilter(Filter):  # type: ignore[misc]
    """Decompose compatibility forms (ﬁ, full-width letters) and drop combining marks."""

    def __call__(self, tokens: Iterator[Any]) -> Iterator[Any]:
        for token in tokens:
            text = strip_marks(token.text)
            if text:
                token.text = text
                yield token


def strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _folding_analyzer() -> Analyzer:
    return (
        RegexTokenizer(WORD_PATTERN)
        | StripMarksFilter()
        | CharsetFilter(FOLD_MAP)
        | LowercaseFilter()
    )


def analyzer_for(stem_language: str | None) -> Analyzer:
    """The Whoosh analyzer of a subfield: folding, then the language's stemmer if any."""
    if stem_language is None:
        return _folding_analyzer()
    return _folding_analyzer() | StemFilter(lang=stem_language)


_PLAIN = _folding_analyzer()
_STEMMERS: dict[str, Callable[[str], str]] = {
    lang: stemmer_for_language(lang) for lang in STEMMED_LANGUAGES
}


def stem_language(language: str) -> str | None:
    """The stemmer to use for an ISO 639-1 code (``fr``, ``en-GB``…), or None."""
    primary = language.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in _STEMMERS else None


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # folded
    start: int  # character offsets in the analysed text
    end: int


def tokenize(text: str) -> list[Token]:
    """Folded tokens with their character offsets (what the ``_plain`` subfields hold)."""
    return [
        Token(t.text, t.startchar, t.endchar)
        for t in _PLAIN(text, chars=True, positions=True, mode="index")
    ]


def fold(text: str) -> list[str]:
    return [t.text for t in _PLAIN(text)]


def stem(words: list[str], language: str | None) -> list[str]:
    """Stem already folded words (the stemmed subfields are ``stem(fold(text))``)."""
    if language is None:
        return words
    stemmer = _STEMMERS[language]
    return [stemmer(w) for w in words]


@dataclass(frozen=True)
class Subfield:
    name: str  # the Whoosh field
    field: str  # the user-facing field it serves
    language: str | None  # stemmer, or None for folding only
    boost: float


SEARCHABLE_FIELDS = ("title", "body", "place", "tags")

SUBFIELDS: tuple[Subfield, ...] = (
    Subfield("title_plain", "title", None, 2.0),
    Subfield("title_fr", "title", "fr", 2.0),
    Subfield("title_en", "title", "en", 2.0),
    Subfield("body_plain", "body", None, 1.0),
    Subfield("body_fr", "body", "fr", 1.0),
    Subfield("body_en", "body", "en", 1.0),
    Subfield("place_plain", "place", None, 1.5),
    Subfield("tags_plain", "tags", None, 1.5),
)
SUBFIELDS_BY_NAME = {s.name: s for s in SUBFIELDS}

# Separates tags in the indexed text so each tag is its own run of words.
TAG_SEPARATOR = "\n"


def subfield_texts(
    *, title: str, body: str, place: str | None, tags: tuple[str, ...], language: str
) -> dict[str, str]:
    """The text each subfield indexes for one document (absent subfields are left out)."""
    lang = stem_language(language)
    texts = {
        "title_plain": title,
        "body_plain": body,
        "place_plain": place or "",
        "tags_plain": TAG_SEPARATOR.join(tags),
    }
    if lang is not None:
        texts[f"title_{lang}"] = title
        texts[f"body_{lang}"] = body
    return texts
