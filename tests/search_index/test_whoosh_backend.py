"""What only the on-disk backend can get wrong: files, locks, processes, reopening."""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from whoosh import fields as wf
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec, W3PerDocReader
from whoosh.filedb.filestore import FileStorage
from whoosh.index import Index
from whoosh.qparser import QueryParser
from whoosh.reading import SegmentReader

from search_index import (
    IndexBusy,
    SearchDocument,
    SearchError,
    WhooshIndex,
    open_index,
    whoosh_backend,
)
from search_index.query import plan_query
from search_index.whoosh_backend import (
    _BlockPool,
    _document_fields,
    _LengthsReader,
    _Writer,
    _WritingCodec,
    build_schema,
    to_whoosh,
)
from tests.search_index._workers import write_batches


def doc(doc_id: str, body: str, **extra: str) -> SearchDocument:
    return SearchDocument(
        doc_id=doc_id,
        case_id="moura",
        kind="testimony",
        language="fr",
        title=extra.get("title", f"Document {doc_id}"),
        body=body,
    )


def on_disk(directory: Path, word: str) -> list[str]:
    """The files of the index directory whose bytes contain ``word``."""
    needle = word.encode()
    return [p.name for p in directory.rglob("*") if p.is_file() and needle in p.read_bytes()]


# ------------------------------------------------------------------ removed text leaves the disk


def test_a_deleted_document_leaves_no_trace_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "public"
    index = WhooshIndex(path)
    index.apply(upserts=[doc("keep", "les soldats sont venus")])
    index.apply(upserts=[doc("gone", "le nom zqxkonatezq apparaissait ici")])
    index.apply(upserts=[doc("later", "autres soldats")])
    assert on_disk(path, "zqxkonatezq")  # the check below can see text when it is there

    index.apply(deletes=["gone"])

    assert on_disk(path, "zqxkonatezq") == []
    assert index.doc_count() == 2
    assert index.search("soldats").total == 2


def test_replaced_text_leaves_no_trace_on_disk(tmp_path: Path) -> None:
    """A redaction added after publication must take the unredacted word off the disk."""
    path = tmp_path / "public"
    index = WhooshIndex(path)
    index.apply(upserts=[doc("a", "temoin zqxdiallozq a vu les soldats"), doc("b", "soldats")])
    assert on_disk(path, "zqxdiallozq")

    index.apply(upserts=[doc("a", "temoin [Witness A] a vu les soldats")])

    assert on_disk(path, "zqxdiallozq") == []
    assert index.search("soldats").total == 2


def test_clear_leaves_no_trace_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "public"
    index = WhooshIndex(path)
    index.apply(upserts=[doc("a", "zqxsecretzq")])
    assert on_disk(path, "zqxsecretzq")
    index.clear()
    assert on_disk(path, "zqxsecretzq") == []


def test_text_leaves_the_disk_even_while_a_reader_is_open(tmp_path: Path) -> None:
    path = tmp_path / "public"
    index = WhooshIndex(path)
    index.apply(upserts=[doc("a", "zqxsecretzq"), doc("b", "autre")])
    with index.index.searcher():
        index.apply(deletes=["a"])
        assert on_disk(path, "zqxsecretzq") == []


# ------------------------------------------------------------------ persistence and raw access


def test_reopening_finds_what_was_committed(tmp_path: Path) -> None:
    first = WhooshIndex(tmp_path / "ix")
    first.apply(upserts=[doc("a", "soldats"), doc("b", "villageois")])
    first.close()
    again = open_index(tmp_path / "ix")
    assert again.doc_count() == 2
    assert [h.doc_id for h in again.search("soldats").hits] == ["a"]


def test_a_second_handle_sees_commits_of_the_first(tmp_path: Path) -> None:
    writer, reader = WhooshIndex(tmp_path / "ix"), WhooshIndex(tmp_path / "ix")
    assert reader.search("soldats").total == 0
    writer.apply(upserts=[doc("a", "soldats")])
    assert reader.search("soldats").total == 1


def test_the_whoosh_index_is_reachable_for_benchmarks(tmp_path: Path) -> None:
    index = WhooshIndex(tmp_path / "ix")
    index.apply(upserts=[doc("a", "Les soldats à Moura")])
    assert isinstance(index.index, Index)
    with index.index.searcher() as searcher:
        raw = QueryParser("body_plain", index.index.schema).parse("moura")
        assert [hit["doc_id"] for hit in searcher.search(raw)] == ["a"]


def test_an_index_with_another_schema_is_refused(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    whoosh_index.create_in(str(tmp_path / "old"), wf.Schema(text=wf.TEXT), indexname="MAIN")
    with pytest.raises(SearchError, match="another schema"):
        WhooshIndex(tmp_path / "old")


def test_an_index_with_another_schema_can_be_recreated_for_a_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "old"
    path.mkdir()
    old = whoosh_index.create_in(str(path), wf.Schema(text=wf.TEXT(stored=True)), indexname="MAIN")
    with old.writer() as writer:
        writer.add_document(text="zqxancienzq")
    old.close()
    assert on_disk(path, "zqxancienzq")
    index = WhooshIndex(path, recreate=True)
    assert index.doc_count() == 0
    assert on_disk(path, "zqxancienzq") == []
    index.apply(upserts=[doc("a", "moura")])
    index.close()
    assert WhooshIndex(path).search("moura").total == 1


# ------------------------------------------------------------------ one writer at a time


def test_a_writer_waits_for_the_lock_then_writes(tmp_path: Path) -> None:
    index = WhooshIndex(tmp_path / "ix")
    holder = index.index.writer()
    threading.Timer(0.5, holder.cancel).start()
    began = time.monotonic()
    index.apply(upserts=[doc("a", "soldats")])
    assert time.monotonic() - began >= 0.4
    assert index.doc_count() == 1


def test_opening_an_existing_index_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    first = WhooshIndex(tmp_path / "ix")
    first.apply(upserts=[doc("a", "soldats")])
    holder = first.index.writer()
    try:
        reader = WhooshIndex(tmp_path / "ix", lock_timeout=0.0)
        assert reader.search("soldats").total == 1
    finally:
        holder.cancel()


def test_index_busy_after_the_timeout(tmp_path: Path) -> None:
    index = WhooshIndex(tmp_path / "ix", lock_timeout=0.2)
    holder = index.index.writer()
    try:
        with pytest.raises(IndexBusy, match="locked by another writer"):
            index.apply(upserts=[doc("a", "soldats")])
        with pytest.raises(IndexBusy):
            index.clear()
    finally:
        holder.cancel()
    index.apply(upserts=[doc("a", "soldats")])
    assert index.doc_count() == 1


def test_two_processes_writing_at_once_both_succeed(tmp_path: Path) -> None:
    path = tmp_path / "shared"  # not created yet: both processes also race to create it
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [
        context.Process(target=write_batches, args=(str(path), prefix, 8, 5, start))
        for prefix in ("alpha", "beta")
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    index = WhooshIndex(path)
    assert index.doc_count() == 80
    assert index.search("témoignage", page_size=1).total == 80
    assert index.search("alpha").total == 40
    assert index.search("beta").total == 40


# ------------------------------------------------------------------ how segments are written


def _segments_written(tmp_path: Path) -> WhooshIndex:
    """An index written in several commits (so that some merge), with deletions."""
    index = WhooshIndex(tmp_path / "ix")
    for batch in range(6):
        index.apply(
            upserts=[
                SearchDocument(
                    doc_id=f"b{batch}-{n}",
                    case_id="moura",
                    kind="testimony",
                    language="fr" if n % 2 else "en",
                    title=f"Témoignage {n}",
                    body=f"Les soldats sont venus à Moura le jour {n}, dit Hamadoun.",
                    place="Moura" if n % 3 else None,
                    tags=("killings",) if n % 4 else (),
                )
                for n in range(40)
            ]
        )
    index.apply(deletes=[f"b0-{n}" for n in range(0, 40, 5)])
    return index


def test_segments_on_disk_are_plain_whoosh_segments(tmp_path: Path) -> None:
    index = _segments_written(tmp_path)
    plain = whoosh_index.open_dir(str(tmp_path / "ix"), indexname="MAIN")
    segments = plain._segments()
    assert segments
    assert {type(segment.codec()) for segment in segments} == {W3Codec}
    with plain.searcher() as searcher:
        assert searcher.doc_count() == 232 == index.doc_count()


def test_lengths_reader_answers_as_whoosh_does(tmp_path: Path) -> None:
    index = _segments_written(tmp_path)
    names = index.index.schema.names()
    columns = [f"_{name}_L" for name in names] + names
    for segment in index.index._segments():
        storage = segment.open_compound_file(index.index.storage)
        ours, whoosh = _LengthsReader(storage, segment), W3PerDocReader(storage, segment)
        try:
            for _ in range(2):  # the second time from what ours remembered
                assert [ours.has_column(c) for c in columns] == [
                    whoosh.has_column(c) for c in columns
                ]
                for docnum in range(segment.doc_count_all()):
                    assert [ours.doc_field_length(docnum, n) for n in names] == [
                        whoosh.doc_field_length(docnum, n) for n in names
                    ]
        finally:
            ours.close()
            whoosh.close()
            storage.close()
    index.close()


def test_writing_asks_the_file_system_once_per_absent_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoosh's own reader asks again for every posting of a field without lengths (ID and
    KEYWORD fields): one ``stat`` each, a sixth of the indexing time."""
    asked: Counter[str] = Counter()
    file_exists = FileStorage.file_exists

    def counting(self: FileStorage, name: str) -> bool:
        asked[name] += 1
        return bool(file_exists(self, name))

    monkeypatch.setattr(FileStorage, "file_exists", counting)
    docs = [doc(f"d{n}", f"les soldats sont venus le jour {n}") for n in range(300)]
    WhooshIndex(tmp_path / "ours").apply(upserts=docs)
    ours = max(asked.values())
    asked.clear()
    monkeypatch.setattr(_WritingCodec, "per_document_reader", W3Codec.per_document_reader)
    WhooshIndex(tmp_path / "whoosh").apply(upserts=docs)
    assert max(asked.values()) >= 300  # once per posting of doc_id: what this avoids
    assert ours == 1


def test_a_searcher_does_not_copy_the_segments_it_reads(tmp_path: Path) -> None:
    """Every search opens a searcher: it must read the segment files, not copy them (Whoosh
    reading a compound segment through mmap copies each file it opens whole)."""
    index = WhooshIndex(tmp_path / "ix")
    index.apply(upserts=_corpus())
    on_disk = sum(p.stat().st_size for p in (tmp_path / "ix").glob("*.seg"))
    assert on_disk > 500_000
    tracemalloc.start()
    try:
        with index._open_searcher() as searcher:
            postings = searcher.reader().postings("body_plain", "moura")
            assert len(list(postings.all_ids())) > 128
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        index.close()
    assert peak < on_disk / 4


def test_merges_read_through_the_map_and_searchers_from_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merge reads a whole segment in order (faster from the map); a searcher reads a
    little of each (and must not copy them whole, see above)."""
    opened: list[tuple[str, bool]] = []
    init = SegmentReader.__init__

    def spying(self: SegmentReader, storage: Any, *args: Any, **kwargs: Any) -> None:
        opened.append((sys._getframe(1).f_code.co_name, storage.supports_mmap))
        init(self, storage, *args, **kwargs)

    monkeypatch.setattr(SegmentReader, "__init__", spying)
    index = WhooshIndex(tmp_path / "ix")
    for n in range(8):
        index.apply(upserts=[doc(f"d{n}", "les soldats")])
    index.apply(deletes=["d0"])
    assert index.search("soldats").total == 7
    assert len(index.index._segments()) < 8  # some were merged
    merged = {mmap for caller, mmap in opened if caller in ("MERGE_SMALL", "_merge_away_deletions")}
    searched = {mmap for caller, mmap in opened if caller == "segreader"}
    assert merged == {True}
    assert searched == {False}
    index.close()


def _contents(ix: Index) -> tuple[list[Any], list[Any], list[Any]]:
    """Everything an index holds, document numbers included: postings, stored fields and
    field lengths."""
    names = ix.schema.names()
    with ix.searcher() as searcher:
        reader = searcher.reader()
        postings = list(reader.iter_postings())
        stored = list(reader.iter_docs())
        lengths = [
            [reader.doc_field_length(docnum, name) for name in names]
            for docnum in reader.all_doc_ids()
        ]
    return postings, stored, lengths


def test_a_writer_spilling_postings_to_disk_writes_what_whoosh_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past its memory limit a writer sorts its postings into run files (any merge of a few
    thousand testimonies); Témoin's writes them in blocks, Whoosh's one by one. Segments
    written and then merged that way hold the same postings, stored fields and lengths."""
    runs: Counter[str] = Counter()
    write_run = _BlockPool._write_run

    def counting(self: _BlockPool, f: Any, items: Any) -> None:
        runs["written"] += 1
        write_run(self, f, items)

    monkeypatch.setattr(_BlockPool, "_write_run", counting)
    monkeypatch.setattr(whoosh_backend, "RUN_BLOCK", 64)  # runs of several blocks
    rows = [_document_fields(d) for d in _corpus()]
    indexes = {}
    for name, writer in (
        ("whoosh", lambda ix: ix.writer(limitmb=0.1)),
        ("ours", lambda ix: _Writer(ix, limitmb=0.1)),
    ):
        (tmp_path / name).mkdir()
        ix = whoosh_index.create_in(str(tmp_path / name), build_schema(), indexname="MAIN")
        for start in range(0, len(rows), 250):
            w = writer(ix)
            for fields in rows[start : start + 250]:
                w.add_document(**fields)
            w.commit(merge=False)
        assert len(ix._segments()) == 3
        indexes[name] = ix
    assert runs["written"] >= 3  # each segment was spilled before it was written

    runs.clear()
    _Writer(indexes["ours"], limitmb=0.1).commit(optimize=True)
    indexes["whoosh"].writer(limitmb=0.1).commit(optimize=True)
    assert runs["written"] > 3  # the merge spilled as well
    assert len(indexes["ours"]._segments()) == 1

    ours, whoosh = _contents(indexes["ours"]), _contents(indexes["whoosh"])
    assert len(ours[0]) > 10_000
    assert ours == whoosh


# ------------------------------------------------------------------ the tags facet's lists


def test_tag_counts_follow_every_change_between_searches(tmp_path: Path) -> None:
    """The tags facet keeps each segment's lists between searches: adding, replacing and
    deleting documents (new segments, merged ones) must still give exact counts."""

    def tagged(doc_id: str, *tags: str) -> SearchDocument:
        return SearchDocument(
            doc_id=doc_id,
            case_id="moura",
            kind="testimony",
            language="fr",
            title=f"Document {doc_id}",
            body="marché",
            tags=tags,
        )

    index = WhooshIndex(tmp_path / "index")
    try:
        index.apply(upserts=[tagged("a", "Djenné", "marché"), tagged("b", "marché")])
        assert index.search("marché").facets["tags"] == {"marché": 2, "Djenné": 1}
        index.apply(upserts=[tagged("c", "fleuve")])
        index.apply(upserts=[tagged("a", "fleuve")])  # replaced: its segment is merged away
        assert index.search("marché").facets["tags"] == {"fleuve": 2, "marché": 1}
        index.apply(deletes=["b"])
        assert index.search("marché").facets["tags"] == {"fleuve": 2}
        index.apply(deletes=["a", "c"])
        assert index.search("marché").facets["tags"] == {}
    finally:
        index.close()


# ------------------------------------------------------------------ exact pages, whole counts


def _corpus() -> list[SearchDocument]:
    """Documents enough that common words span several posting blocks (Whoosh writes 128
    postings per block) in several segments, with term frequencies that vary."""
    words = ["moura", "marché", "soldats", "fleuve", "berge"]
    docs = []
    for n in range(700):
        body = " ".join(
            f"{word} " * (1 + (n * (i + 3)) % 7) for i, word in enumerate(words) if n % (i + 2)
        )
        docs.append(
            SearchDocument(
                doc_id=f"d{n:03}",
                case_id="moura" if n % 3 else "diafarabe",
                kind="testimony",
                language="fr" if n % 4 else "en",
                title=f"Document {n}",
                body=f"{body} la berge du fleuve" if n % 2 == 0 else body,
                tags=("marché",) if n % 6 == 0 else (),
            )
        )
    return docs


@pytest.fixture
def big_index(tmp_path: Path) -> Iterator[WhooshIndex]:
    index = WhooshIndex(tmp_path / "index")
    docs = _corpus()
    for start in range(0, len(docs), 350):  # one segment per batch
        index.apply(upserts=docs[start : start + 350])
    index.apply(deletes=[f"d{n:03}" for n in range(0, 700, 9)])
    try:
        yield index
    finally:
        index.close()


QUERIES = [
    "moura",
    "marché OR berge",
    "moura soldats",
    "moura -fleuve",
    '"la berge du"',
    "sold*",
    "fleuve OR (moura -marché)",
]


@pytest.mark.parametrize("query", QUERIES)
def test_total_and_facets_count_what_whoosh_matches(big_index: WhooshIndex, query: str) -> None:
    """The total and the facets count every match the query has, across segments and
    posting blocks, deletions excepted, however small the page."""
    with big_index._open_searcher() as searcher:
        whoosh_query = to_whoosh(plan_query(query, lambda words: set()))
        every = {searcher.stored_fields(n)["doc_id"] for n in searcher.docs_for_query(whoosh_query)}
    assert len(every) > 128  # several blocks, or the test proves little
    assert not every & {f"d{n:03}" for n in range(0, 700, 9)}
    languages = Counter("fr" if int(doc_id[1:]) % 4 else "en" for doc_id in every)
    for sort in ("relevance", "date"):
        results = big_index.search(query, page_size=5, sort=sort)
        assert results.total == len(every)
        assert results.facets["language"] == dict(languages)


@pytest.mark.parametrize("query", QUERIES)
def test_the_page_is_the_top_of_every_match_scored(big_index: WhooshIndex, query: str) -> None:
    """The page must be the best-scored matches, as scoring every match gives them
    (Whoosh's default search, which skips what it judges unable to reach the page, fails
    this)."""
    with big_index._open_searcher() as searcher:
        whoosh_query = to_whoosh(plan_query(query, lambda words: set()))
        everything = searcher.search(whoosh_query, limit=None)
        scored = [(hit["doc_id"], round(hit.score, 9)) for hit in everything]
    for page in (1, 3):
        results = big_index.search(query, page=page, page_size=10)
        page_hits = [(hit.doc_id, round(hit.score, 9)) for hit in results.hits]
        expected = scored[(page - 1) * 10 : page * 10]
        assert [score for _, score in page_hits] == [score for _, score in expected]
        # Equal scores may come in another order; the documents must be the same ones
        # (but for ties across the page's edge).
        edge = {expected[-1][1], expected[0][1]}
        assert {d for d, s in page_hits if s not in edge} == {
            d for d, s in expected if s not in edge
        }
