"""Full-text search for Témoin behind one interface (see README.md in this folder).

Imports only the standard library and Whoosh (and SQLAlchemy for ``PostgresIndex``, loaded
on first use); it receives plain documents and knows nothing of the archive.
"""

from search_index.documents import SearchDocument, SearchHit, SearchResults
from search_index.errors import IndexBusy, IndexOutdated, QuerySyntaxError, SearchError
from search_index.interface import SearchIndex
from search_index.memory import MemoryIndex
from search_index.whoosh_backend import WhooshIndex, open_index

TYPE_CHECKING = False
if TYPE_CHECKING:
    from search_index.postgres_backend import PostgresIndex


def __getattr__(name: str) -> object:
    # PostgresIndex needs SQLAlchemy: import it only when asked for.
    if name == "PostgresIndex":
        from search_index.postgres_backend import PostgresIndex

        return PostgresIndex
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "IndexBusy",
    "IndexOutdated",
    "MemoryIndex",
    "PostgresIndex",
    "QuerySyntaxError",
    "SearchDocument",
    "SearchError",
    "SearchHit",
    "SearchIndex",
    "SearchResults",
    "WhooshIndex",
    "open_index",
]
