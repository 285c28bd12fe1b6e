"""Small pieces both backends share: argument checks, filters and hit assembly."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from search_index.documents import SearchDocument, SearchHit
from search_index.query import Leaf
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
