"""Frozen value types that cross the package boundary."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

KINDS = ("testimony", "source_excerpt", "file_exhibit")

# The facets ``SearchResults.facets`` counts, in this order.
FACETS = ("case", "kind", "language", "year", "tags")
SORTS = ("relevance", "date", "date_asc")


@dataclass(frozen=True, kw_only=True)
class SearchDocument:
    """One item as the index sees it: plain text, already redacted for the public index."""

    doc_id: str
    case_id: str
    kind: str
    language: str
    title: str
    body: str
    place: str | None = None
    tags: tuple[str, ...] = ()
    event_date: datetime.date | None = None
    collected_date: datetime.date | None = None

    def __post_init__(self) -> None:
        if not self.doc_id:
            raise ValueError("a SearchDocument needs a non-empty doc_id")
        if isinstance(self.tags, str):  # a lone string would be indexed letter by letter
            raise TypeError("tags must be a tuple of strings, not a string")


@dataclass(frozen=True, kw_only=True)
class SearchHit:
    """One result. ``snippet`` is safe HTML: escaped text, matches in ``<mark>``."""

    doc_id: str
    score: float
    title: str
    snippet: str
    kind: str
    case_id: str
    language: str
    place: str | None
    tags: tuple[str, ...]
    event_date: datetime.date | None


@dataclass(frozen=True, kw_only=True)
class SearchResults:
    """One page of results; ``total`` counts every match, not just this page.

    ``facets`` maps each name of ``FACETS`` to ``{value: number of matching documents}``,
    counted over every match (filters applied), not just this page; ``year`` is the year of
    ``event_date``, and documents without the value are not counted. Values are ordered by
    count, highest first, then by value. Empty when the search was run with
    ``facets=False``.
    """

    query: str
    total: int
    page: int
    page_size: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
