"""The error tree of the search package: callers catch ``SearchError`` and nothing else."""

from __future__ import annotations


class SearchError(Exception):
    """Base class for everything this package raises on purpose."""


class QuerySyntaxError(SearchError):
    """The query text cannot be understood; the message says why in plain words."""


class IndexBusy(SearchError):
    """Another writer held the index for longer than the lock timeout."""


class IndexOutdated(SearchError):
    """The index on disk was built with another schema (by another version): it must be
    rebuilt from the database before it can be used."""
