"""MemoryIndex: the same contract as WhooshIndex, in plain Python data structures.

Meant for tests of the application and for tiny deployments; it keeps nothing on disk.
It uses the same analysis, query plan and snippets as WhooshIndex, and a BM25F-like score
close to Whoosh's, so the contract tests hold for both.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from search_index._common import build_hit, check_page, coalesce
from search_index.analysis import SUBFIELDS_BY_NAME, fold, stem, subfield_texts
from search_index.documents import SearchDocument, SearchResults
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


def _analyse(doc: SearchDocument) -> dict[str, list[str]]:
    texts = subfield_texts(
        title=doc.title, body=doc.body, place=doc.place, tags=doc.tags, language=doc.language
    )
    return {
        name: stem(fold(text), SUBFIELDS_BY_NAME[name].language) for name, text in texts.items()
    }


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
        prepared = [(doc, _analyse(doc)) for doc in docs]
        with self._lock:
            entries = dict(self._entries)
            for doc_id in gone:
                entries.pop(doc_id, None)
            for doc, words in prepared:
                entries.pop(doc.doc_id, None)
                self._counter += 1
                entries[doc.doc_id] = _Entry(doc, words, self._counter)
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
    ) -> SearchResults:
        self._check_open()
        check_page(page, page_size)
        plan = plan_query(query)
        entries = list(self._entries.values())
        scorer = _Scorer(entries)
        scored: list[tuple[float, int, _Entry]] = []
        for entry in entries:
            doc = entry.doc
            if (
                (case_id is not None and doc.case_id != case_id)
                or (kind is not None and doc.kind != kind)
                or (language is not None and doc.language != language)
            ):
                continue
            score = scorer.score(plan, entry)
            if score is not None:
                scored.append((score, entry.order, entry))
        scored.sort(key=lambda item: (-item[0], item[1]))
        leaves = positive_leaves(plan)
        start = (page - 1) * page_size
        hits = [
            build_hit(
                doc_id=e.doc.doc_id,
                score=score,
                title=e.doc.title,
                body=e.doc.body,
                kind=e.doc.kind,
                case_id=e.doc.case_id,
                language=e.doc.language,
                place=e.doc.place,
                tags=e.doc.tags,
                event_date=e.doc.event_date,
                leaves=leaves,
            )
            for score, _, e in scored[start : start + page_size]
        ]
        return SearchResults(
            query=query, total=len(scored), page=page, page_size=page_size, hits=hits
        )

    def doc_count(self) -> int:
        self._check_open()
        return len(self._entries)

    def clear(self) -> None:
        self._check_open()
        with self._lock:
            self._entries = {}

    def close(self) -> None:
        self._closed = True


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
