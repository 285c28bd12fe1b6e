"""MemoryIndex: the same contract as WhooshIndex, in plain Python data structures.

Meant for tests of the application and for tiny deployments; it keeps nothing on disk.
It uses the same analysis, query plan and snippets as WhooshIndex, and a BM25F-like score
close to Whoosh's, so the contract tests hold for both.
"""

from __future__ import annotations

import datetime
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from search_index._common import (
    Filters,
    build_hit,
    check_limit,
    check_page,
    check_sort,
    coalesce,
    date_sort_key,
    facet_values,
    key_term_candidates,
    key_terms,
    make_filters,
    more_like_plan,
    ordered_facets,
)
from search_index.analysis import SUBFIELDS_BY_NAME, analysed_words, name_forms, subfield_texts
from search_index.documents import SearchDocument, SearchHit, SearchResults
from search_index.errors import SearchError
from search_index.matching import leaf_spans
from search_index.query import (
    AllQ,
    AnyQ,
    EveryQ,
    FuzzyQ,
    Leaf,
    NotQ,
    Plan,
    PrefixQ,
    plan_query,
    positive_leaves,
)

K1 = 1.2
B = 0.75


@dataclass(frozen=True)
class _Entry:
    doc: SearchDocument
    words: dict[str, list[str]]  # subfield -> analysed words
    order: int
    names: frozenset[str]  # folded words seen as names
    plain: frozenset[str]  # folded words seen as ordinary words


def _analyse(doc: SearchDocument) -> dict[str, list[str]]:
    texts = subfield_texts(
        title=doc.title, body=doc.body, place=doc.place, tags=doc.tags, language=doc.language
    )
    return {
        name: analysed_words(text, SUBFIELDS_BY_NAME[name].language) for name, text in texts.items()
    }


def _entry(doc: SearchDocument, order: int) -> _Entry:
    names, plain = name_forms(doc.title, doc.body, doc.place or "")
    return _Entry(doc, _analyse(doc), order, frozenset(names), frozenset(plain))


class MemoryIndex:
    """An in-process index. Thread-safe; each ``apply`` is atomic."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._counter = 0
        self._lock = threading.Lock()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise SearchError("this index is closed")

    def apply(self, *, upserts: Sequence[SearchDocument] = (), deletes: Sequence[str] = ()) -> None:
        self._check_open()
        docs, gone = coalesce(upserts, deletes)
        with self._lock:
            entries = dict(self._entries)
            for doc_id in gone:
                entries.pop(doc_id, None)
            for doc in docs:
                entries.pop(doc.doc_id, None)
                self._counter += 1
                entries[doc.doc_id] = _entry(doc, self._counter)
            self._entries = entries

    def search(
        self,
        query: str,
        *,
        page: int = 1,
        page_size: int = 20,
        case_id: str | None = None,
        kind: str | None = None,
        language: str | None = None,
        event_from: datetime.date | None = None,
        event_to: datetime.date | None = None,
        collected_from: datetime.date | None = None,
        collected_to: datetime.date | None = None,
        place: str | None = None,
        tags: Sequence[str] | None = None,
        sort: str = "relevance",
        facets: bool = True,
    ) -> SearchResults:
        self._check_open()
        check_page(page, page_size)
        check_sort(sort)
        filters = make_filters(
            case_id=case_id,
            kind=kind,
            language=language,
            event_from=event_from,
            event_to=event_to,
            collected_from=collected_from,
            collected_to=collected_to,
            place=place,
            tags=tags,
        )
        entries = list(self._entries.values())
        plan = plan_query(query, lambda words: _names_only(entries, words))
        scored = self._matches(entries, plan, filters)
        if sort == "relevance":
            scored.sort(key=lambda item: (-item[0], item[1].order))
        else:
            scored.sort(
                key=lambda item: date_sort_key(sort, item[1].doc.event_date, item[0], item[1].order)
            )
        leaves = positive_leaves(plan)
        start = (page - 1) * page_size
        hits = [_hit(entry, score, leaves) for score, entry in scored[start : start + page_size]]
        counts: dict[str, dict[str, int]] = {}
        if facets:
            for _, entry in scored:
                values = facet_values(
                    case_id=entry.doc.case_id,
                    kind=entry.doc.kind,
                    language=entry.doc.language,
                    event_date=entry.doc.event_date,
                    tags=entry.doc.tags,
                )
                for name, facet in values.items():
                    bucket = counts.setdefault(name, {})
                    for value in facet:
                        bucket[value] = bucket.get(value, 0) + 1
        return SearchResults(
            query=query,
            total=len(scored),
            page=page,
            page_size=page_size,
            hits=hits,
            facets=ordered_facets(counts) if facets else {},
        )

    def more_like(
        self, doc_id: str, *, limit: int = 10, case_id: str | None = None
    ) -> list[SearchHit]:
        self._check_open()
        check_limit(limit)
        entries = list(self._entries.values())
        source = next((e for e in entries if e.doc.doc_id == doc_id), None)
        if source is None:
            return []
        candidates = key_term_candidates(source.doc.title, source.doc.body)
        doc_freq = {
            word: sum(
                1
                for e in entries
                if word in e.words.get("body_plain", ()) or word in e.words.get("title_plain", ())
            )
            for word in candidates
        }
        terms = key_terms(candidates, doc_freq, len(entries))
        if not terms:
            return []
        others = [e for e in entries if e.doc.doc_id != doc_id]
        scored = self._matches(others, more_like_plan(terms), make_filters(case_id=case_id))
        scored.sort(key=lambda item: (-item[0], item[1].order))
        return [_hit(entry, score, []) for score, entry in scored[:limit]]

    def _matches(
        self, entries: list[_Entry], plan: Plan, filters: Filters
    ) -> list[tuple[float, _Entry]]:
        scorer = _Scorer(entries)
        scored: list[tuple[float, _Entry]] = []
        for entry in entries:
            if filters.matches(entry.doc):
                score = scorer.score(plan, entry)
                if score is not None:
                    scored.append((score, entry))
        return scored

    def doc_count(self) -> int:
        self._check_open()
        return len(self._entries)

    def clear(self) -> None:
        self._check_open()
        with self._lock:
            self._entries = {}

    def close(self) -> None:
        self._closed = True


def _names_only(entries: list[_Entry], words: set[str]) -> set[str]:
    """The words some document has as a name and none as an ordinary word."""
    names = {w for w in words if any(w in e.names for e in entries)}
    return {w for w in names if not any(w in e.plain for e in entries)}


def _hit(entry: _Entry, score: float, leaves: list[Leaf]) -> SearchHit:
    doc = entry.doc
    return build_hit(
        doc_id=doc.doc_id,
        score=score,
        title=doc.title,
        body=doc.body,
        kind=doc.kind,
        case_id=doc.case_id,
        language=doc.language,
        place=doc.place,
        tags=doc.tags,
        event_date=doc.event_date,
        leaves=leaves,
    )


class _Scorer:
    """BM25F per subfield, with Whoosh's idf (``log(N / (df + 1)) + 1``)."""

    def __init__(self, entries: list[_Entry]) -> None:
        self.entries = entries
        self.count = max(len(entries), 1)
        self._idf: dict[Leaf, float] = {}
        self._avg: dict[str, float] = {}

    def idf(self, leaf: Leaf) -> float:
        if leaf not in self._idf:
            df = sum(1 for e in self.entries if leaf_spans(leaf, e.words.get(leaf.field, ())))
            self._idf[leaf] = math.log(self.count / (df + 1)) + 1
        return self._idf[leaf]

    def average_length(self, field: str) -> float:
        if field not in self._avg:
            total = sum(len(e.words.get(field, ())) for e in self.entries)
            self._avg[field] = max(total / self.count, 1.0)
        return self._avg[field]

    def score(self, plan: Plan, entry: _Entry) -> float | None:
        """The score of a matching document, or None when it does not match."""
        if isinstance(plan, EveryQ):
            return 1.0
        if isinstance(plan, NotQ):
            return None if self.score(plan.child, entry) is not None else 0.0
        if isinstance(plan, AllQ):
            total = 0.0
            for child in plan.children:
                part = self.score(child, entry)
                if part is None:
                    return None
                total += part
            return total
        if isinstance(plan, AnyQ):
            parts = [s for c in plan.children if (s := self.score(c, entry)) is not None]
            return sum(parts) if parts else None
        words = entry.words.get(plan.field, [])
        spans = leaf_spans(plan, words)
        if not spans:
            return None
        if isinstance(plan, PrefixQ | FuzzyQ):  # constant score, as in Whoosh
            return plan.boost
        tf = len(spans)
        norm = (1 - B) + B * len(words) / self.average_length(plan.field)
        return plan.boost * self.idf(plan) * tf * (K1 + 1) / (tf + K1 * norm)
