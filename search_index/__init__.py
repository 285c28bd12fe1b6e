"""Full-text search for Témoin behind one interface (see README.md in this folder).

Imports only the standard library and Whoosh; it receives plain documents and knows
nothing of the archive.
"""

from search_index.documents import SearchDocument, SearchHit, SearchResults
from search_index.errors import IndexBusy, QuerySyntaxError, SearchError
from search_index.interface import SearchIndex
from search_index.memory import MemoryIndex
from search_index.whoosh_backend import WhooshIndex, open_index

__all__ = [
    "IndexBusy",
    "MemoryIndex",
    "QuerySyntaxError",
    "SearchDocument",
    "SearchError",
    "SearchHit",
    "SearchIndex",
    "SearchResults",
    "WhooshIndex",
    "open_index",
]
