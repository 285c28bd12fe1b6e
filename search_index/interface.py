"""The one interface every backend implements (checked by tests/search_index)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from search_index.documents import SearchDocument, SearchResults


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
    ) -> SearchResults:
        """Run a query in the syntax of ``search_index.query``; raise QuerySyntaxError."""
        ...

    def doc_count(self) -> int: ...

    def clear(self) -> None: ...

    def close(self) -> None: ...
