"""Small pieces every backend shares: argument checks, filters, facets, sort keys, the
"more like this" key terms, and hit assembly."""

from __future__ import annotations

import datetime
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from search_index.analysis import SUBFIELDS, fold, fold_key
from search_index.documents import FACETS, SORTS, SearchDocument, SearchHit
from search_index.query import AnyQ, Leaf, Plan, TermQ
from search_index.snippets import make_snippet


def check_page(page: int, page_size: int) -> None:
    if page < 1:
        raise ValueError(f"page must be 1 or more, not {page}")
    if page_size < 1:
        raise ValueError(f"page_size must be 1 or more, not {page_size}")


def coalesce(
    upserts: Sequence[SearchDocument], deletes: Sequence[str]
) -> tuple[list[SearchDocument], set[str]]:
    """The net effect of a batch: the last upsert of each doc_id, and deletes win."""
    if isinstance(deletes, str):
        raise TypeError("deletes must be a sequence of doc ids, not a string")
    gone = set(deletes)
    latest: dict[str, SearchDocument] = {}
    for doc in upserts:
        latest.pop(doc.doc_id, None)
        latest[doc.doc_id] = doc
    return [doc for doc_id, doc in latest.items() if doc_id not in gone], gone


def build_hit(
    *,
    doc_id: str,
    score: float,
    title: str,
    body: str,
    kind: str,
    case_id: str,
    language: str,
    place: str | None,
    tags: Sequence[str],
    event_date: datetime.date | None,
    leaves: Sequence[Leaf],
) -> SearchHit:
    return SearchHit(
        doc_id=doc_id,
        score=float(score),
        title=title,
        snippet=make_snippet(body, language, leaves),
        kind=kind,
        case_id=case_id,
        language=language,
        place=place,
        tags=tuple(tags),
        event_date=event_date,
    )


# ---------------------------------------------------------------- filters, sort, facets


@dataclass(frozen=True)
class Filters:
    """The filters of one search, checked and normalised (place and tags folded)."""

    case_id: str | None = None
    kind: str | None = None
    language: str | None = None
    event_from: datetime.date | None = None
    event_to: datetime.date | None = None
    collected_from: datetime.date | None = None
    collected_to: datetime.date | None = None
    place: str | None = None  # fold_key of the place
    tags: tuple[str, ...] = ()  # fold_key of each tag, all required

    def matches(self, doc: SearchDocument) -> bool:
        """The filters in plain Python (MemoryIndex; the other backends translate them)."""
        return (
            (self.case_id is None or doc.case_id == self.case_id)
            and (self.kind is None or doc.kind == self.kind)
            and (self.language is None or doc.language == self.language)
            and _in_range(doc.event_date, self.event_from, self.event_to)
            and _in_range(doc.collected_date, self.collected_from, self.collected_to)
            and (self.place is None or fold_key(doc.place or "") == self.place)
            and set(self.tags) <= {fold_key(tag) for tag in doc.tags}
        )


def _in_range(
    value: datetime.date | None, start: datetime.date | None, end: datetime.date | None
) -> bool:
    if start is None and end is None:
        return True
    if value is None:  # a document without the date cannot be said to be in the range
        return False
    return (start is None or value >= start) and (end is None or value <= end)


def _date(name: str, value: object) -> datetime.date | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
        raise TypeError(f"{name} must be a datetime.date, not {type(value).__name__}")
    return value


def make_filters(
    *,
    case_id: str | None = None,
    kind: str | None = None,
    language: str | None = None,
    event_from: datetime.date | None = None,
    event_to: datetime.date | None = None,
    collected_from: datetime.date | None = None,
    collected_to: datetime.date | None = None,
    place: str | None = None,
    tags: Sequence[str] | None = None,
) -> Filters:
    if isinstance(tags, str):
        raise TypeError("tags must be a sequence of tags, not a string")
    return Filters(
        case_id=case_id,
        kind=kind,
        language=language,
        event_from=_date("event_from", event_from),
        event_to=_date("event_to", event_to),
        collected_from=_date("collected_from", collected_from),
        collected_to=_date("collected_to", collected_to),
        place=None if place is None else fold_key(place),
        tags=tuple(dict.fromkeys(fold_key(tag) for tag in tags or ())),
    )


def check_sort(sort: str) -> None:
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")


def date_sort_key(
    sort: str, event_date: datetime.date | None, score: float, order: int
) -> tuple[int, int, float, int]:
    """The sort key MemoryIndex uses: by event_date (newest first for ``date``), documents
    without a date last, then by relevance, then by indexing order."""
    if event_date is None:
        return (1, 0, -score, order)
    day = event_date.toordinal()
    return (0, -day if sort == "date" else day, -score, order)


def facet_values(
    *,
    case_id: str,
    kind: str,
    language: str,
    event_date: datetime.date | None,
    tags: Sequence[str],
) -> dict[str, list[str]]:
    return {
        "case": [case_id],
        "kind": [kind],
        "language": [language],
        "year": [str(event_date.year)] if event_date is not None else [],
        "tags": list(dict.fromkeys(tags)),
    }


def ordered_facets(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Every facet of FACETS, each value list ordered by count (highest first), then value."""
    return {
        name: dict(sorted(counts.get(name, {}).items(), key=lambda item: (-item[1], item[0])))
        for name in FACETS
    }


# ---------------------------------------------------------------- more like this

MLT_TERMS = 12  # key terms a "more like this" query is made of
MLT_CANDIDATES = 60  # most frequent words of the document considered as key terms
MLT_MIN_LENGTH = 3  # shorter words (le, de, of) are not key terms
# Common French and English words (folded) that say nothing of what a document is about.
# Used only to pick "more like this" key terms; searches never drop a word.
_MLT_STOP_TEXT = """
    les des une aux par pour dans sur avec sans sous entre vers chez mais que qui quoi
    dont est sont ete etait etaient avait avaient ont fait font cette ces ses leur leurs
    nous vous ils elles lui eux son sur tout tous toute toutes plus moins tres aussi comme
    puis donc car pas rien ceux celle celui elle etre avoir
    the and for with from that this these those was were are been has have had not but
    they them their his her its our your who which what when where there then than into
    onto over under also very all any some one two
"""
MLT_STOP_WORDS = frozenset(_MLT_STOP_TEXT.split())


def key_term_candidates(title: str, body: str) -> Counter[str]:
    words = [
        w for w in fold(f"{title}\n{body}") if len(w) >= MLT_MIN_LENGTH and w not in MLT_STOP_WORDS
    ]
    counts = Counter(words)
    return Counter(dict(sorted(counts.items(), key=lambda i: (-i[1], i[0]))[:MLT_CANDIDATES]))


def key_terms(candidates: Counter[str], doc_freq: dict[str, int], doc_count: int) -> list[str]:
    """The words of a document that best tell it apart (tf·idf), among those that occur in
    at least one other document."""
    scored = [
        (count * (math.log(doc_count / doc_freq[word]) + 1), word)
        for word, count in candidates.items()
        if doc_freq.get(word, 0) >= 2
    ]
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [word for _, word in scored[:MLT_TERMS]]


def more_like_plan(terms: Sequence[str]) -> Plan:
    """Any of the key terms, in titles and bodies (their plain subfields)."""
    return AnyQ(
        tuple(
            TermQ(sub.name, term, sub.boost)
            for term in terms
            for sub in SUBFIELDS
            if sub.name in ("title_plain", "body_plain")
        )
    )


def check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError(f"limit must be 1 or more, not {limit}")
