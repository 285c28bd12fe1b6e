"""WhooshIndex: the embedded, on-disk backend (one directory per index).

Writes take Whoosh's single write lock, waiting up to ``lock_timeout`` seconds so that
concurrent processes queue; only then is ``IndexBusy`` raised. Every commit that deletes
or replaces a document also merges the segments holding the old copy, so text that left
the index is gone from the files on disk, not merely marked deleted.
"""

from __future__ import annotations

import datetime
import pickle
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain, islice
from pathlib import Path
from typing import Any, TypeVar

from whoosh import collectors, sorting
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.analysis import RegexTokenizer
from whoosh.codec.whoosh3 import W3Codec, W3PerDocReader, W3Segment, _lenfield
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.scoring import BM25F
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length
from whoosh.writing import CLEAR, MERGE_SMALL, PostingPool, SegmentWriter

from search_index._common import (
    Filters,
    build_hit,
    check_limit,
    check_page,
    check_sort,
    coalesce,
    key_term_candidates,
    key_terms,
    make_filters,
    more_like_plan,
    ordered_facets,
)
from search_index.analysis import (
    SUBFIELDS,
    DocumentAnalysis,
    analyse_document,
    fold_key,
)
from search_index.documents import FACETS, SearchDocument, SearchHit, SearchResults
from search_index.errors import IndexBusy, IndexOutdated, SearchError
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


# Facet name -> the indexed field counted.
FACET_FIELDS = {
    "case": "case_id",
    "kind": "kind",
    "language": "language",
    "year": "event_year",
    "tags": "tag_values",
}
NO_DATE_LAST = "~"  # sorts after every ISO date
# Every subfield receives text already analysed by ``analysis.analyse_document`` (folded; in
# the stemmed ones, stemmed except names, exactly as in the other backends): Whoosh only
# splits it on spaces. Each text is tokenized once, by Témoin, not again by Whoosh.
_PRE_ANALYSED = RegexTokenizer(r"\S+")
_ONE_PER_LINE = RegexTokenizer(r"[^\n]+")


def build_schema() -> Schema:
    fields: dict[str, Any] = {
        "doc_id": ID(stored=True, unique=True),
        "case_id": ID(stored=True, sortable=True),
        "kind": ID(stored=True, sortable=True),
        "language": ID(stored=True, sortable=True),
        # Stored only: what hits show and what snippets are cut from.
        "title": STORED(),
        "body": STORED(),
        "place": STORED(),
        "tags": STORED(),
        "event_date": STORED(),
        # Filters, facets and sorting.
        "place_key": ID(),
        "tag_keys": KEYWORD(analyzer=_ONE_PER_LINE),
        "tag_values": KEYWORD(analyzer=_ONE_PER_LINE),
        "event_day": ID(),
        "event_year": ID(sortable=True),
        "event_asc": ID(sortable=True),  # ISO date, or NO_DATE_LAST
        "event_desc": ID(sortable=True),  # ISO date, or absent: "" (reversed: last)
        "collected_day": ID(),
        # The words a document has as names; and ``<field>:<word>`` for each word of its
        # title, body or place that it never uses as an ordinary word (see _names_only).
        "name_forms": KEYWORD(),
        "unworded_forms": KEYWORD(),
    }
    for sub in SUBFIELDS:
        fields[sub.name] = TEXT(analyzer=_PRE_ANALYSED, phrase=True)
    return Schema(**fields)


# The texts whose words tell names from ordinary words (``analysis.name_forms``), and the
# subfield that holds each one's folded words.
_FORM_FIELDS = (("title", "title_plain"), ("body", "body_plain"), ("place", "place_plain"))


def _unworded_forms(analysis: DocumentAnalysis) -> list[str]:
    """``<field>:<word>`` for each word of the document's title, body or place that it
    never uses as an ordinary word: its names, and words it only capitalises where the
    text cannot tell (at the start of a sentence, in capitals)."""
    return sorted(
        {
            f"{field}:{word}"
            for field, subfield in _FORM_FIELDS
            for word in analysis.subfields.get(subfield, ())
            if word and word not in analysis.words
        }
    )


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _document_fields(doc: SearchDocument) -> dict[str, Any]:
    analysis = analyse_document(
        title=doc.title, body=doc.body, place=doc.place, tags=doc.tags, language=doc.language
    )
    event = doc.event_date.isoformat() if doc.event_date else None
    fields: dict[str, Any] = {
        "doc_id": doc.doc_id,
        "case_id": doc.case_id,
        "kind": doc.kind,
        "language": doc.language,
        "title": doc.title,
        "body": doc.body,
        "place": doc.place,
        "tags": list(doc.tags),
        "event_date": event,
        "tag_keys": "\n".join(fold_key(tag) for tag in doc.tags),
        "tag_values": "\n".join(_one_line(tag) for tag in doc.tags),
        "event_asc": event or NO_DATE_LAST,
        "name_forms": " ".join(sorted(analysis.names)),
        "unworded_forms": " ".join(_unworded_forms(analysis)),
    }
    if doc.place is not None:
        fields["place_key"] = fold_key(doc.place)
    if doc.event_date is not None:
        fields["event_day"] = fields["event_desc"] = event
        fields["event_year"] = str(doc.event_date.year)
    if doc.collected_date is not None:
        fields["collected_day"] = doc.collected_date.isoformat()
    for name, words in analysis.subfields.items():
        if words:
            fields[name] = " ".join(words)
    return fields


def _date_range(field: str, start: datetime.date | None, end: datetime.date | None) -> wq.Query:
    return wq.TermRange(
        field,
        start.isoformat() if start else None,
        end.isoformat() if end else None,
    )


def to_filter(filters: Filters) -> wq.Query | None:
    """The filters as one Whoosh query (None when there are none)."""
    parts: list[wq.Query] = [
        wq.Term(name, value)
        for name, value in (
            ("case_id", filters.case_id),
            ("kind", filters.kind),
            ("language", filters.language),
            ("place_key", filters.place),
        )
        if value is not None
    ]
    parts.extend(wq.Term("tag_keys", tag) for tag in filters.tags)
    if filters.event_from is not None or filters.event_to is not None:
        parts.append(_date_range("event_day", filters.event_from, filters.event_to))
    if filters.collected_from is not None or filters.collected_to is not None:
        parts.append(_date_range("collected_day", filters.collected_from, filters.collected_to))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.And(parts)


# A field length as Whoosh reads it back from the byte a lengths column holds (0: none).
_LENGTH_OF_BYTE: tuple[int | None, ...] = (None, *(byte_to_length(b) for b in range(1, 256)))


class _LengthsReader(W3PerDocReader):  # type: ignore[misc]
    """Whoosh's per-document reader, holding a new segment's field lengths in memory.

    Writing a segment looks up each posting's field length, and Whoosh's reader reads it
    from the file each time, through half a dozen calls; a field that stores none (an
    ``ID`` or ``KEYWORD`` field) has no lengths column, and it asks the file system again
    for every such posting (one ``stat`` each, a sixth of the indexing time). A written
    segment's files never change, so each field's lengths are read once, whole (one byte
    per document), and a field without them is asked about once."""

    def __init__(self, storage: Any, segment: Any) -> None:
        super().__init__(storage, segment)
        self._lengths: dict[str, list[int | None]] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int | None:
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            lengths = self._lengths[fieldname] = self._read_lengths(fieldname)
        if not lengths:
            return default
        return lengths[docnum]

    def _read_lengths(self, fieldname: str) -> list[int | None]:
        """One entry per document as ``W3PerDocReader.doc_field_length`` gives it (None
        for a document without the field); empty when the field stores no lengths."""
        column = _lenfield(fieldname)
        if not self.has_column(column):
            return []
        colfile, offset, size = self._get_column_file(column)
        try:
            stored = colfile.get(offset, size)
        finally:
            colfile.close()
        lengths = [_LENGTH_OF_BYTE[b] for b in stored]
        lengths.extend([None] * (self._doccount - len(lengths)))
        return lengths


class _WritingCodec(W3Codec):  # type: ignore[misc]
    """Whoosh's codec, reading lengths with ``_LengthsReader`` while it writes. Segments
    record the plain codec, so the index on disk is exactly what Whoosh writes."""

    def per_document_reader(self, storage: Any, segment: Any) -> W3PerDocReader:
        return _LengthsReader(storage, segment)

    def new_segment(self, storage: Any, indexname: str) -> W3Segment:
        return W3Segment(W3Codec(), indexname)


# Postings a sorted run holds per pickled block.
RUN_BLOCK = 4096


class _BlockPool(PostingPool):  # type: ignore[misc]
    """Whoosh's posting pool, writing its sorted runs a block of postings at a time.

    Postings beyond the pool's memory limit (128 MB by default, about 750,000 postings,
    so any merge of more than ~3,000 testimonies) are sorted and spilled to run files,
    which Whoosh writes and reads back with one ``pickle`` call per posting: a fifth of a
    large merge. The runs hold the same postings in the same order."""

    def _write_run(self, f: Any, items: Any) -> None:
        try:
            postings = iter(items)
            while block := list(islice(postings, RUN_BLOCK)):
                pickle.dump(block, f, pickle.HIGHEST_PROTOCOL)
        finally:
            f.close()

    def _read_run(self, path: str) -> Iterator[Any]:
        f = self._open_run(path)
        try:
            while True:
                try:
                    # A run this writer wrote moments ago, in the index's own directory
                    # (Whoosh's pool reads its runs with pickle as well).
                    block = pickle.load(f)  # noqa: S301
                except EOFError:
                    return
                yield from block
        finally:
            f.close()
            self._remove_run(path)


class _Writer(SegmentWriter):  # type: ignore[misc]
    """Whoosh's segment writer with Témoin's codec (``_WritingCodec``) and posting pool
    (``_BlockPool``). What it writes is what ``SegmentWriter`` writes."""

    def __init__(self, ix: Any, *, limitmb: float = 128, **kwargs: Any) -> None:
        super().__init__(ix, codec=_WritingCodec(), limitmb=limitmb, **kwargs)
        self.pool = _BlockPool(self._tempstorage, self.newsegment, limitmb=limitmb)


class _Merging:
    """What a merge policy sees of the writer: its schema, ``add_reader``, and a storage
    that reads segments through ``mmap``. A merge reads every posting of a segment once,
    in order, which Whoosh does faster from a copy of the file (what it makes of a mapped
    one) than through reads of the file: 8.6 s against 10.1 s for 22,250 testimonies."""

    def __init__(self, writer: SegmentWriter) -> None:
        self.writer = writer
        self.schema = writer.schema
        self.storage = FileStorage(writer.storage.folder, supports_mmap=True)

    def add_reader(self, reader: Any) -> None:
        self.writer.add_reader(reader)


def _merge_away_deletions(writer: SegmentWriter, segments: list[Any]) -> list[Any]:
    """Whoosh merge policy: rewrite every segment that holds deleted documents (dropping
    them), then apply the usual small-segment policy to the rest."""
    from whoosh.reading import SegmentReader

    merging = _Merging(writer)
    kept = []
    for segment in segments:
        if segment.has_deletions():
            reader = SegmentReader(merging.storage, writer.schema, segment)
            writer.add_reader(reader)
            reader.close()
        else:
            kept.append(segment)
    return list(MERGE_SMALL(merging, kept))


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


READ_ATTEMPTS = 25
_T = TypeVar("_T")


def _retrying(read: Callable[[], _T]) -> _T:
    """Run a read that lists the index's files, then opens them. A writer in another
    process may commit in between and delete a generation the read had just listed
    (Whoosh keeps no reader locks); the next attempt lists the new one."""
    for attempt in range(READ_ATTEMPTS):
        try:
            return read()
        except FileNotFoundError:
            if attempt == READ_ATTEMPTS - 1:
                raise
            time.sleep(0.005 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


class WhooshIndex:
    """A Whoosh index in ``path``, created with the current schema if absent.

    An index built with another schema (an older version of this package) raises
    ``IndexOutdated``, unless ``recreate`` is true: then it is replaced by an empty index
    with the current schema, for a rebuild (``temoin reindex``) to fill.

    ``index`` is the underlying ``whoosh.index.Index`` (for benchmarks and diagnostics).
    """

    def __init__(
        self, path: Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, recreate: bool = False
    ) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self._thread_lock = threading.Lock()
        self._closed = False
        self._facet_lists = _FacetLists()
        self.path.mkdir(parents=True, exist_ok=True)
        schema = build_schema()
        # Without mmap: Whoosh opens each file of a compound segment from its mmap through a
        # BytesIO, which copies it whole, so every searcher (one per search, and one per
        # write to find the documents held) would copy every segment's postings (some
        # 250 MB at 70,000 testimonies); read from the file, it copies nothing.
        storage = FileStorage(str(self.path), supports_mmap=False)
        # Two processes may open a fresh directory at once: create under the write lock,
        # or the second create_in would wipe what the first had already committed. An
        # existing index is opened without the lock, so readers never wait for a writer.
        if not whoosh_index.exists_in(str(self.path), indexname=INDEX_NAME):
            with self._locked(storage):
                if not whoosh_index.exists_in(str(self.path), indexname=INDEX_NAME):
                    whoosh_index.create_in(str(self.path), schema, indexname=INDEX_NAME)
        self.index = storage.open_index(INDEX_NAME)
        if sorted(_retrying(lambda: self.index.schema.names())) != sorted(schema.names()):
            if not recreate:
                raise IndexOutdated(
                    f"the index in {self.path} was built with another schema, by another "
                    "version of Témoin: rebuild it from the database (temoin reindex)"
                )
            # An empty index with the current schema replaces the old one (its segment
            # files are deleted); the caller refills it from the database.
            self.index.close()
            with self._locked(storage):
                for name in storage.list():
                    if name != WRITE_LOCK and INDEX_NAME in name:
                        storage.delete_file(name)
                whoosh_index.create_in(str(self.path), schema, indexname=INDEX_NAME)
            self.index = storage.open_index(INDEX_NAME)

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
            return _Writer(self.index, timeout=self.lock_timeout, delay=LOCK_POLL)
        except whoosh_index.LockError as exc:
            raise IndexBusy(self._busy_message()) from exc

    def _open_searcher(self) -> Any:
        return _retrying(lambda: self.index.searcher(weighting=BM25F()))

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
                # Delete and replace only what the index holds (one term look-up per
                # document; a new one is a plain add: update_document would search for
                # it); with nothing to change, no commit, so no segment merge either.
                reader = writer.searcher().reader()
                held = [doc_id for doc_id in gone if ("doc_id", doc_id) in reader]
                if not held and not prepared:
                    writer.cancel()
                    return
                for doc_id in held:
                    writer.delete_by_term("doc_id", doc_id)
                for fields in prepared:
                    if ("doc_id", fields["doc_id"]) in reader:
                        writer.delete_by_term("doc_id", fields["doc_id"])
                    writer.add_document(**fields)
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
        event_from: datetime.date | None = None,
        event_to: datetime.date | None = None,
        collected_from: datetime.date | None = None,
        collected_to: datetime.date | None = None,
        place: str | None = None,
        tags: Sequence[str] | None = None,
        sort: str = "relevance",
        facets: bool = True,
    ) -> SearchResults:
        self._check_open()
        check_page(page, page_size)
        check_sort(sort)
        filters = make_filters(
            case_id=case_id,
            kind=kind,
            language=language,
            event_from=event_from,
            event_to=event_to,
            collected_from=collected_from,
            collected_to=collected_to,
            place=place,
            tags=tags,
        )
        start = (page - 1) * page_size
        with self._open_searcher() as searcher:
            plan = plan_query(query, lambda words: _names_only(searcher, words))
            leaves = positive_leaves(plan)
            sortedby = None
            if sort != "relevance":
                field = "event_desc" if sort == "date" else "event_asc"
                sortedby = [
                    sorting.FieldFacet(field, reverse=sort == "date"),
                    sorting.ScoreFacet(),
                ]
            # Every match is visited and scored (Whoosh's shortcuts are not exact, see
            # _TopCollector), so the total and the facets are counted in the same pass.
            collector: Any = (
                _SortingCollector(sortedby, limit=start + page_size)
                if sortedby
                else _TopCollector(start + page_size)
            )
            counter: _FacetCounter | None = None
            if facets:
                self._facet_lists.keep(searcher)
                collector = counter = _FacetCounter(collector, self._facet_lists)
            whoosh_filter = to_filter(filters)
            if whoosh_filter is not None:
                collector = collectors.FilterCollector(collector, whoosh_filter)
            searcher.search_with_collector(to_whoosh(plan), collector)
            results = collector.results()
            total = len(results)
            page_hits = list(results[start : start + page_size])
            scores = _relevance(searcher, plan, page_hits) if sort != "relevance" else {}
            hits = [
                _hit(
                    hit.fields(),
                    scores.get(hit.docnum, hit.score if hit.score is not None else 0.0),
                    leaves,
                )
                for hit in page_hits
            ]
            counts = counter.facet_counts() if counter is not None else {}
        return SearchResults(
            query=query,
            total=total,
            page=page,
            page_size=page_size,
            hits=hits,
            facets=ordered_facets(counts) if facets else {},
        )

    def more_like(
        self, doc_id: str, *, limit: int = 10, case_id: str | None = None
    ) -> list[SearchHit]:
        self._check_open()
        check_limit(limit)
        with self._open_searcher() as searcher:
            stored = searcher.document(doc_id=doc_id)
            if stored is None:
                return []
            candidates = key_term_candidates(stored["title"], stored["body"])
            doc_freq = {
                word: max(
                    searcher.doc_frequency("body_plain", word),
                    searcher.doc_frequency("title_plain", word),
                )
                for word in candidates
            }
            terms = key_terms(candidates, doc_freq, searcher.doc_count())
            if not terms:
                return []
            results = searcher.search(
                to_whoosh(more_like_plan(terms)),
                limit=limit,
                filter=to_filter(make_filters(case_id=case_id)),
                mask=wq.Term("doc_id", doc_id),
                terms=False,
            )
            return [
                _hit(hit.fields(), hit.score if hit.score is not None else 0.0, [])
                for hit in results
            ]

    def doc_count(self) -> int:
        self._check_open()
        return int(_retrying(self.index.doc_count))

    def clear(self) -> None:
        """Remove every document; their segment files are deleted, not just marked."""
        self._check_open()
        with self._thread_lock:
            self._writer().commit(mergetype=CLEAR)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.index.close()


class _FacetLists:
    """For each segment, every document's value of each facet (the ``tags`` facet: its
    list of tags): what the facets count.

    Whoosh's own grouping asks each facet's column for every matching document (several
    calls per document and facet) and its overlapping categorizer rebuilds the tag lists
    for every search from every posting of every tag. A segment never changes once
    written (a deletion only hides documents, and hidden documents never match), so its
    lists are built once and kept while the segment is in use."""

    def __init__(self) -> None:
        self._lists: dict[str, dict[str, list[Any]]] = {}
        self._lock = threading.Lock()

    def of(self, reader: Any) -> dict[str, list[Any]]:
        key = _segment_key(reader)
        if key is None:  # an empty index has no segment
            return _facet_lists(reader)
        with self._lock:
            found = self._lists.get(key)
        if found is not None:
            return found
        lists = _facet_lists(reader)
        with self._lock:
            self._lists[key] = lists
        return lists

    def keep(self, searcher: Searcher) -> None:
        """Forget the segments that ``searcher`` no longer reads (merged away)."""
        current = {_segment_key(r) for r, _ in searcher.reader().leaf_readers()}
        with self._lock:
            for key in set(self._lists) - current:
                del self._lists[key]


def _facet_lists(reader: Any) -> dict[str, list[Any]]:
    count = reader.doc_count_all()
    lists: dict[str, list[Any]] = {}
    for name, field in FACET_FIELDS.items():
        if name == "tags":
            continue
        if reader.has_column(field):
            shared: dict[str, str] = {}  # one string object per value, not per document
            lists[name] = [shared.setdefault(v, v) for v in reader.column_reader(field)]
        else:
            lists[name] = [""] * count
    tags: list[list[str]] = [[] for _ in range(count)]
    field = reader.schema["tag_values"]
    for btext in field.sortable_terms(reader, "tag_values"):
        text = field.from_bytes(btext)
        for docnum in reader.postings("tag_values", btext).all_ids():
            tags[docnum].append(text)
    lists["tags"] = tags
    return lists


def _segment_key(reader: Any) -> str | None:
    segment = reader.segment() if hasattr(reader, "segment") else None
    return None if segment is None else str(segment.segment_id())


class _PrunedMatcher(collectors.Collector):  # type: ignore[misc]
    """A matcher is built for the whole query tree, empty branches included (a word
    missing from a segment's title or tags): they are pruned once per segment, which
    changes no score but spares each posting a walk through them."""

    matcher: Any

    def set_subsearcher(self, subsearcher: Any, offset: int) -> None:
        super().set_subsearcher(subsearcher, offset)
        self.matcher = self.matcher.replace()  # with no minimum: only empty branches go


class _TopCollector(_PrunedMatcher, collectors.TopCollector):  # type: ignore[misc]
    """Whoosh's top-N collector, exact: every match is scored. Whoosh's own shortcuts
    (skipping blocks whose best score cannot reach the page, replacing the matcher by one
    that drops such branches) rest on an upper bound of what a branch can still score
    that does not hold for our queries (a word looked up in several subfields of each
    document): they lose some of the best matches (tests/search_index/test_whoosh_backend.py
    shows it). Empty branches are pruned (:class:`_PrunedMatcher`)."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit, usequality=False, replace=0)


class _SortingCollector(_PrunedMatcher, collectors.SortingCollector):  # type: ignore[misc]
    """Whoosh's sorting collector (it scores every match), empty branches pruned."""


class _FacetCounter(collectors.WrappingCollector):  # type: ignore[misc]
    """Passes every match on to the collector it wraps, noting its document number; the
    facets are then counted from :class:`_FacetLists`, segment by segment, with one
    ``Counter.update`` per facet."""

    def __init__(self, child: Any, facet_lists: _FacetLists) -> None:
        super().__init__(child)
        self._facet_lists = facet_lists
        self.counts: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
        self._docs: list[int] = []
        self._lists: dict[str, list[Any]] = {}

    def set_subsearcher(self, subsearcher: Any, offset: int) -> None:
        self._count()
        super().set_subsearcher(subsearcher, offset)
        self._lists = self._facet_lists.of(subsearcher.reader())

    def computes_count(self) -> bool:
        return bool(self.child.computes_count())

    def collect(self, sub_docnum: int) -> Any:
        self._docs.append(sub_docnum)
        return self.child.collect(sub_docnum)

    def collect_matches(self) -> None:
        docs, collect = self._docs, self.child.collect
        for sub_docnum in self.child.matches():
            docs.append(sub_docnum)
            collect(sub_docnum)

    def finish(self) -> None:
        self._count()
        super().finish()

    def _count(self) -> None:
        docs = self._docs
        if not docs:
            return
        for name, values in self._lists.items():
            if name == "tags":
                self.counts[name].update(chain.from_iterable(map(values.__getitem__, docs)))
            else:
                self.counts[name].update(map(values.__getitem__, docs))
        self._docs = []

    def facet_counts(self) -> dict[str, dict[str, int]]:
        return {
            name: {value: n for value, n in counts.items() if value}
            for name, counts in self.counts.items()
        }


def _names_only(searcher: Searcher, words: set[str]) -> set[str]:
    """The words some document has as a name and none as an ordinary word.

    No document has ``w`` as an ordinary word when, in each of title, body and place,
    every document holding ``w`` there lists ``<field>:w`` among its unworded forms (a
    subset of them): the two document frequencies are equal. A lexicon look-up each, where
    recording every ordinary word of every document would cost a third of the postings."""
    return {
        w
        for w in words
        if searcher.doc_frequency("name_forms", w)
        and all(
            searcher.doc_frequency(subfield, w)
            == searcher.doc_frequency("unworded_forms", f"{field}:{w}")
            for field, subfield in _FORM_FIELDS
        )
    }


def _relevance(searcher: Searcher, plan: Plan, hits: list[Any]) -> dict[int, float]:
    """BM25F scores of some documents (sorted results carry the sort key, not a score)."""
    if not hits:
        return {}
    docnums = {hit.docnum for hit in hits}
    scored = searcher.search(to_whoosh(plan), limit=None, filter=docnums, terms=False)
    return {hit.docnum: float(hit.score or 0.0) for hit in scored}


def _hit(stored: dict[str, Any], score: float, leaves: Sequence[Any]) -> SearchHit:
    event_date = stored.get("event_date")
    return build_hit(
        doc_id=stored["doc_id"],
        score=score,
        title=stored["title"],
        body=stored["body"],
        kind=stored["kind"],
        case_id=stored["case_id"],
        language=stored["language"],
        place=stored.get("place"),
        tags=stored.get("tags") or (),
        event_date=datetime.date.fromisoformat(event_date) if event_date else None,
        leaves=leaves,
    )


def open_index(
    path: Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, recreate: bool = False
) -> WhooshIndex:
    return WhooshIndex(path, lock_timeout=lock_timeout, recreate=recreate)
