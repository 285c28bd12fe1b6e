"""WhooshIndex: the embedded, on-disk backend (one directory per index).

Writes take Whoosh's single write lock, waiting up to ``lock_timeout`` seconds so that
concurrent processes queue; only then is ``IndexBusy`` raised. Every commit that deletes
or replaces a document also merges the segments holding the old copy, so text that left
the index is gone from the files on disk, not merely marked deleted.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.scoring import BM25F
from whoosh.writing import CLEAR, MERGE_SMALL, SegmentWriter

from search_index._common import build_hit, check_page, coalesce
from search_index.analysis import SUBFIELDS, analyzer_for, subfield_texts
from search_index.documents import SearchDocument, SearchResults
from search_index.errors import IndexBusy, SearchError
from search_index.query import (
    AllQ,
    AnyQ,
    EveryQ,
    FuzzyQ,
    NotQ,
    PhraseQ,
    Plan,
    PrefixQ,
    TermQ,
    plan_query,
    positive_leaves,
)

INDEX_NAME = "MAIN"
WRITE_LOCK = f"{INDEX_NAME}_WRITELOCK"  # the lock Whoosh's own writers take
DEFAULT_LOCK_TIMEOUT = 60.0
LOCK_POLL = 0.05


def build_schema() -> Schema:
    fields: dict[str, Any] = {
        "doc_id": ID(stored=True, unique=True),
        "case_id": ID(stored=True),
        "kind": ID(stored=True),
        "language": ID(stored=True),
        # Stored only: what hits show and what snippets are cut from.
        "title": STORED(),
        "body": STORED(),
        "place": STORED(),
        "tags": STORED(),
        "event_date": STORED(),
    }
    for sub in SUBFIELDS:
        fields[sub.name] = TEXT(analyzer=analyzer_for(sub.language), phrase=True)
    return Schema(**fields)


def _document_fields(doc: SearchDocument) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "doc_id": doc.doc_id,
        "case_id": doc.case_id,
        "kind": doc.kind,
        "language": doc.language,
        "title": doc.title,
        "body": doc.body,
        "place": doc.place,
        "tags": list(doc.tags),
        "event_date": doc.event_date.isoformat() if doc.event_date else None,
    }
    texts = subfield_texts(
        title=doc.title, body=doc.body, place=doc.place, tags=doc.tags, language=doc.language
    )
    fields.update({name: text for name, text in texts.items() if text})
    return fields


def _merge_away_deletions(writer: SegmentWriter, segments: list[Any]) -> list[Any]:
    """Whoosh merge policy: rewrite every segment that holds deleted documents (dropping
    them), then apply the usual small-segment policy to the rest."""
    from whoosh.reading import SegmentReader

    kept = []
    for segment in segments:
        if segment.has_deletions():
            reader = SegmentReader(writer.storage, writer.schema, segment)
            writer.add_reader(reader)
            reader.close()
        else:
            kept.append(segment)
    return list(MERGE_SMALL(writer, kept))


def to_whoosh(plan: Plan) -> wq.Query:
    """Translate a plan (see ``search_index.query``) into a Whoosh query."""
    if isinstance(plan, TermQ):
        return wq.Term(plan.field, plan.text, boost=plan.boost)
    if isinstance(plan, PhraseQ):
        return wq.Phrase(plan.field, list(plan.words), boost=plan.boost)
    if isinstance(plan, PrefixQ):
        return wq.Prefix(plan.field, plan.text, boost=plan.boost)
    if isinstance(plan, FuzzyQ):
        return wq.FuzzyTerm(
            plan.field, plan.text, boost=plan.boost, maxdist=plan.maxdist, prefixlength=1
        )
    if isinstance(plan, AllQ):
        return wq.And([to_whoosh(c) for c in plan.children])
    if isinstance(plan, AnyQ):
        return wq.Or([to_whoosh(c) for c in plan.children])
    if isinstance(plan, NotQ):
        return wq.Not(to_whoosh(plan.child))
    if isinstance(plan, EveryQ):
        return wq.Every()
    raise TypeError(f"not a query plan: {plan!r}")  # pragma: no cover


class WhooshIndex:
    """A Whoosh index in ``path``, created with the current schema if absent.

    ``index`` is the underlying ``whoosh.index.Index`` (for benchmarks and diagnostics).
    """

    def __init__(self, path: Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self._thread_lock = threading.Lock()
        self._closed = False
        self.path.mkdir(parents=True, exist_ok=True)
        schema = build_schema()
        storage = FileStorage(str(self.path))
        # Two processes may open a fresh directory at once: create under the write lock,
        # or the second create_in would wipe what the first had already committed. An
        # existing index is opened without the lock, so readers never wait for a writer.
        if not whoosh_index.exists_in(str(self.path), indexname=INDEX_NAME):
            with self._locked(storage):
                if not whoosh_index.exists_in(str(self.path), indexname=INDEX_NAME):
                    whoosh_index.create_in(str(self.path), schema, indexname=INDEX_NAME)
        self.index = whoosh_index.open_dir(str(self.path), indexname=INDEX_NAME)
        if sorted(self.index.schema.names()) != sorted(schema.names()):
            raise SearchError(
                f"the index in {self.path} was built with another schema: "
                "delete that directory and rebuild it (temoin reindex)"
            )

    # ------------------------------------------------------------ locking

    @contextmanager
    def _locked(self, storage: FileStorage) -> Iterator[None]:
        lock = storage.lock(WRITE_LOCK)
        deadline = time.monotonic() + self.lock_timeout
        while not lock.acquire(blocking=False):
            if time.monotonic() >= deadline:
                raise IndexBusy(self._busy_message())
            time.sleep(LOCK_POLL)
        try:
            yield
        finally:
            lock.release()

    def _busy_message(self) -> str:
        return (
            f"the search index in {self.path} stayed locked by another writer "
            f"for {self.lock_timeout:g} seconds"
        )

    def _writer(self) -> SegmentWriter:
        try:
            return self.index.writer(timeout=self.lock_timeout, delay=LOCK_POLL)
        except whoosh_index.LockError as exc:
            raise IndexBusy(self._busy_message()) from exc

    def _check_open(self) -> None:
        if self._closed:
            raise SearchError("this index is closed")

    # ------------------------------------------------------------ the interface

    def apply(self, *, upserts: Sequence[SearchDocument] = (), deletes: Sequence[str] = ()) -> None:
        self._check_open()
        docs, gone = coalesce(upserts, deletes)
        if not docs and not gone:
            return
        prepared = [_document_fields(doc) for doc in docs]
        with self._thread_lock:
            writer = self._writer()
            try:
                for doc_id in gone:
                    writer.delete_by_term("doc_id", doc_id)
                for fields in prepared:
                    writer.update_document(**fields)
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=_merge_away_deletions)

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
        filters = [
            wq.Term(name, value)
            for name, value in (("case_id", case_id), ("kind", kind), ("language", language))
            if value is not None
        ]
        leaves = positive_leaves(plan)
        start = (page - 1) * page_size
        with self.index.searcher(weighting=BM25F()) as searcher:
            results = searcher.search(
                to_whoosh(plan),
                limit=start + page_size,
                filter=wq.And(filters) if filters else None,
                terms=False,
            )
            total = len(results)
            hits = []
            for hit in results[start : start + page_size]:
                stored = hit.fields()
                event_date = stored.get("event_date")
                hits.append(
                    build_hit(
                        doc_id=stored["doc_id"],
                        score=hit.score if hit.score is not None else 0.0,
                        title=stored["title"],
                        body=stored["body"],
                        kind=stored["kind"],
                        case_id=stored["case_id"],
                        language=stored["language"],
                        place=stored.get("place"),
                        tags=stored.get("tags") or (),
                        event_date=(
                            datetime.date.fromisoformat(event_date) if event_date else None
                        ),
                        leaves=leaves,
                    )
                )
        return SearchResults(query=query, total=total, page=page, page_size=page_size, hits=hits)

    def doc_count(self) -> int:
        self._check_open()
        return int(self.index.doc_count())

    def clear(self) -> None:
        """Remove every document; their segment files are deleted, not just marked."""
        self._check_open()
        with self._thread_lock:
            self._writer().commit(mergetype=CLEAR)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.index.close()


def open_index(path: Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> WhooshIndex:
    return WhooshIndex(path, lock_timeout=lock_timeout)
