"""Search use case: the public index for everyone, the restricted one for token holders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from archive.errors import ArchiveError
from archive.services.runtime import Archive
from search_index import QuerySyntaxError, SearchError, SearchHit, SearchResults

MAX_PAGE_SIZE = 100


class SearchUnavailable(ArchiveError):
    status = 503


class BadQuery(ArchiveError):
    """The query cannot be read; the message says why, in plain words."""

    status = 400


@dataclass(frozen=True, kw_only=True)
class Filters:
    case: str | None = None
    kind: str | None = None
    language: str | None = None
    event_from: dt.date | None = None
    event_to: dt.date | None = None
    collected_from: dt.date | None = None
    collected_to: dt.date | None = None
    place: str | None = None
    tags: tuple[str, ...] = ()


SORTS = ("relevance", "date", "date_asc")


def search(
    arc: Archive,
    query: str,
    *,
    restricted: bool,
    page: int = 1,
    page_size: int = 20,
    filters: Filters | None = None,
    sort: str = "relevance",
) -> SearchResults:
    """Search one index: the restricted one for token holders, the public one otherwise."""
    if not query or not query.strip():
        raise BadQuery("the search query is empty", errors={"q": ["required"]})
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise BadQuery(f"page starts at 1; page_size is 1 to {MAX_PAGE_SIZE}")
    if sort not in SORTS:
        raise BadQuery(f"sort is one of {', '.join(SORTS)}", errors={"sort": ["unknown sort"]})
    f = filters or Filters()
    for low, high, name in (
        (f.event_from, f.event_to, "event"),
        (f.collected_from, f.collected_to, "collected"),
    ):
        if low and high and low > high:
            raise BadQuery(
                f"the {name} date range ends before it starts",
                errors={f"{name}_to": ["before start"]},
            )
    try:
        index = arc.restricted_index if restricted else arc.public_index
        return index.search(
            query,
            page=page,
            page_size=page_size,
            case_id=f.case,
            kind=f.kind,
            language=f.language,
            event_from=f.event_from,
            event_to=f.event_to,
            collected_from=f.collected_from,
            collected_to=f.collected_to,
            place=f.place,
            tags=list(f.tags) or None,
            sort=sort,
        )
    except QuerySyntaxError as exc:
        raise BadQuery(f"the query could not be read: {exc}", errors={"q": [str(exc)]}) from None
    except SearchError as exc:
        raise SearchUnavailable(f"search is unavailable: {exc}") from None


def similar(arc: Archive, uid: str, *, limit: int = 10, case: str | None = None) -> list[SearchHit]:
    """Testimonies and sources that share the key words of an item (restricted index)."""
    try:
        return arc.restricted_index.more_like(uid, limit=limit, case_id=case)
    except SearchError as exc:
        raise SearchUnavailable(f"search is unavailable: {exc}") from None
