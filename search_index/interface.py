"""The one interface every backend implements (checked by tests/search_index)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from search_index.documents import SearchDocument, SearchHit, SearchResults


@runtime_checkable
class SearchIndex(Protocol):
    def apply(self, *, upserts: Sequence[SearchDocument] = (), deletes: Sequence[str] = ()) -> None:
        """Replace (by doc_id) and delete documents in one commit."""
        ...

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
        """Run a query in the syntax of ``search_index.query``; raise QuerySyntaxError.

        Filters: ``case_id``, ``kind``, ``language`` exact; date ranges inclusive (a
        document without the date is left out when its range is given); ``place`` the
        whole place, folded; ``tags`` every given tag (folded). ``sort``: ``relevance``,
        ``date`` (event date, newest first) or ``date_asc``; documents without an event
        date come last either way. ``facets``: count FACETS over every match."""
        ...

    def more_like(
        self, doc_id: str, *, limit: int = 10, case_id: str | None = None
    ) -> list[SearchHit]:
        """Documents that share the key words of ``doc_id`` (never itself), best first;
        empty if ``doc_id`` is not in the index."""
        ...

    def doc_count(self) -> int: ...

    def clear(self) -> None: ...

    def close(self) -> None: ...
