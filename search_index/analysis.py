"""Text analysis shared by every backend, by the query planner and by the snippets.

Every token is folded the same way: Unicode compatibility forms decomposed and combining
marks dropped, Whoosh's ``accent_map`` applied, then lower-cased. Folding comes *before*
stemming, so ``tués`` and ``tues`` stem alike and a query matches whether or not its
author typed the accents. French and English text is also stemmed (Snowball); any other
language is only folded.

Names keep their form: a word written with a capital letter and then lower-case letters
(``Moura``, ``Hamadoun``) in the middle of a sentence is a *name*, and the stemmed
subfields keep it unstemmed (``Moura`` stays ``moura`` instead of becoming ``mour``, the
stem of ``mourir``). Every backend also records, per document, the folded words it saw as
names and enough to tell whether any document uses a word as an ordinary lower-case word
(PostgreSQL and the memory index keep those words; Whoosh keeps the complement, which is
smaller); a query word that the index knows only as a name is looked up unstemmed (see
``name_forms`` and ``query.plan_query``).

Each searchable field is indexed as several *subfields*: ``<field>_plain`` (folded, every
document) and, for titles and bodies, ``<field>_fr`` / ``<field>_en`` (folded and stemmed,
only for documents in that language). A query word is looked up in all of them at once.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

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
    if text.isascii():  # nothing to decompose or drop: most tokens, and the fast path
        return text
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
# Snowball in pure Python is slow and every snippet stems its hit's whole body: words
# repeat, so remember the stems (bounded).
_STEMMERS: dict[str, Callable[[str], str]] = {
    lang: functools.lru_cache(maxsize=200_000)(stemmer_for_language(lang))
    for lang in STEMMED_LANGUAGES
}


def stem_language(language: str) -> str | None:
    """The stemmer to use for an ISO 639-1 code (``fr``, ``en-GB``…), or None."""
    primary = language.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in _STEMMERS else None


class Token(NamedTuple):
    text: str  # folded
    start: int  # character offsets in the analysed text
    end: int


_WORD = re.compile(WORD_PATTERN)
#: word as written -> its folded form ("" when nothing is left of it); words repeat, and
#: every document indexed and every snippet shown tokenizes a whole text
_FOLDED: dict[str, str] = {}
_FOLDED_MAX = 200_000


def _fold_word(raw: str) -> str:
    stripped = strip_marks(raw)
    folded = stripped.translate(FOLD_MAP).lower() if stripped else ""
    if len(_FOLDED) >= _FOLDED_MAX:
        _FOLDED.clear()
    _FOLDED[raw] = folded
    return folded


def tokenize(text: str) -> list[Token]:
    """Folded tokens with their character offsets (what the ``_plain`` subfields hold).

    The folding analyzer's steps (``analyzer_for(None)``: the same pattern, marks
    stripped, ``FOLD_MAP``, lower case), word by word, without Whoosh's per-token
    generator chain: every document's text goes through here when it is indexed."""
    tokens = []
    folded_of = _FOLDED.get
    for match in _WORD.finditer(text):
        raw = match.group()
        folded = folded_of(raw)
        if folded is None:
            folded = _fold_word(raw)
        if folded or strip_marks(raw):
            start, end = match.span()
            tokens.append(Token(folded, start, end))
    return tokens


def fold(text: str) -> list[str]:
    return [t.text for t in tokenize(text)]


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


# ---------------------------------------------------------------- names

# What ends a sentence (or opens a quotation) between two words: the next capitalised word
# may be an ordinary word written at the start of a sentence, so it is not taken as a name.
_SENTENCE_BREAK = re.compile(r"[.!?…:;«»\"“”„\n\r\u2028\u2029]")
# Text in which most words are capitalised (an English headline in Title Case) says
# nothing about names.
_TITLE_CASE_SHARE = 0.5
_TITLE_CASE_MIN_WORDS = 2  # after the first


def _capitalised(raw: str) -> bool:
    """``Moura``, ``FAMa``: an upper-case first letter followed by some lower case (a word
    in capitals, ``TUÉS``, is shouting or an acronym: an ordinary word)."""
    return raw[:1].isupper() and any(c.islower() for c in raw[1:])


def name_flags(text: str, tokens: list[Token]) -> list[bool | None]:
    """For each token of ``text``: True for a name, False for an ordinary lower-case word,
    None when the text cannot tell (a capitalised word opening a sentence, capitals)."""
    flags: list[bool | None] = []
    previous_end: int | None = None
    capitalised_after_first = 0
    for position, token in enumerate(tokens):
        raw = text[token.start : token.end]
        if _capitalised(raw):
            if position:
                capitalised_after_first += 1
            after_break = previous_end is None or bool(
                _SENTENCE_BREAK.search(text, previous_end, token.start)
            )
            flags.append(None if after_break else True)
        elif raw[:1].isupper():
            flags.append(None)
        else:
            flags.append(False)
        previous_end = token.end
    rest = len(tokens) - 1  # the first word is capitalised in any title
    if rest >= _TITLE_CASE_MIN_WORDS and capitalised_after_first > _TITLE_CASE_SHARE * rest:
        flags = [None if flag else flag for flag in flags]
    return flags


@dataclass(frozen=True, slots=True)
class Analysed:
    """One text, tokenized once: its folded tokens and each one's ``name_flags``."""

    tokens: list[Token]
    flags: list[bool | None]


def analyse(text: str) -> Analysed:
    tokens = tokenize(text)
    return Analysed(tokens, name_flags(text, tokens))


def words_of(analysed: Analysed, language: str | None) -> list[str]:
    """What a subfield holds: the folded words, stemmed for a stemming language except
    the names."""
    words = [t.text for t in analysed.tokens]
    if language is None:
        return words
    stemmer = _STEMMERS[language]
    return [w if flag else stemmer(w) for w, flag in zip(words, analysed.flags, strict=True)]


def stemmed_words(text: str, language: str | None) -> list[str]:
    """What a stemmed subfield holds: folded words, stemmed unless they are names."""
    if language is None:
        return fold(text)
    return words_of(analyse(text), language)


def analysed_words(text: str, language: str | None) -> list[str]:
    """The words a subfield holds for ``text``: folded, and for a stemming language
    stemmed except names."""
    return stemmed_words(text, language) if language is not None else fold(text)


def _collect_forms(analysed: Analysed, names: set[str], words: set[str]) -> None:
    for token, flag in zip(analysed.tokens, analysed.flags, strict=True):
        if flag is True:
            names.add(token.text)
        elif flag is False:
            words.add(token.text)


def name_forms(*texts: str) -> tuple[set[str], set[str]]:
    """The folded words seen as names, and those seen as ordinary words, in ``texts``."""
    names: set[str] = set()
    words: set[str] = set()
    for text in texts:
        _collect_forms(analyse(text), names, words)
    return names, words


@dataclass(frozen=True)
class DocumentAnalysis:
    """What every backend indexes for one document, each text tokenized once: the words
    of each subfield (``subfield_texts``; empty texts give empty lists) and the
    ``name_forms`` of its title, body and place."""

    subfields: dict[str, list[str]]
    names: set[str]
    words: set[str]


def analyse_document(
    *, title: str, body: str, place: str | None, tags: tuple[str, ...], language: str
) -> DocumentAnalysis:
    texts = subfield_texts(title=title, body=body, place=place, tags=tags, language=language)
    analysed: dict[str, Analysed] = {}

    def of(text: str) -> Analysed:
        if text not in analysed:
            analysed[text] = analyse(text)
        return analysed[text]

    subfields = {
        sub.name: words_of(of(texts[sub.name]), sub.language)
        for sub in SUBFIELDS
        if sub.name in texts
    }
    names: set[str] = set()
    words: set[str] = set()
    for text in (title, body, place or ""):
        _collect_forms(of(text), names, words)
    return DocumentAnalysis(subfields=subfields, names=names, words=words)


def fold_key(value: str) -> str:
    """An exact-match key for a place or a tag: its folded words, one space apart."""
    return " ".join(fold(value))
