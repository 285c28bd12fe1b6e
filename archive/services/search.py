"""Search use case: the public index for everyone, the restricted one for token holders."""

from __future__ import annotations

from archive.errors import ArchiveError
from archive.services.runtime import Archive
from search_index import QuerySyntaxError, SearchError, SearchResults

MAX_PAGE_SIZE = 100


class SearchUnavailable(ArchiveError):
    status = 503


class BadQuery(ArchiveError):
    """The query cannot be read; the message says why, in plain words."""

    status = 400


def search(
    arc: Archive,
    query: str,
    *,
    restricted: bool,
    page: int = 1,
    page_size: int = 20,
    case: str | None = None,
    kind: str | None = None,
    language: str | None = None,
) -> SearchResults:
    if not query or not query.strip():
        raise BadQuery("the search query is empty", errors={"q": ["required"]})
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise BadQuery(f"page starts at 1; page_size is 1 to {MAX_PAGE_SIZE}")
    index = arc.restricted_index if restricted else arc.public_index
    try:
        return index.search(
            query, page=page, page_size=page_size, case_id=case, kind=kind, language=language
        )
    except QuerySyntaxError as exc:
        raise BadQuery(f"the query could not be read: {exc}", errors={"q": [str(exc)]}) from None
    except SearchError as exc:
        raise SearchUnavailable(f"search is unavailable: {exc}") from None
