"""Search at scale: indexing through the outbox and search latency, beside raw Whoosh (and,
for the PostgreSQL backend, raw SQL full-text search), on one generated corpus.

    python -m bench.search [--n 100000] [--backend whoosh|postgres] [--queries 50]

The corpus is loaded in bulk (rows, originals and pending outbox entries, as ingest and
publishing leave them), then drained by Témoin's own outbox code, chunk by chunk, each
chunk alternating with raw indexing of the same documents. Figures are printed and
written as JSON into ``--out``; nothing is asserted on time. See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, delete, func, select, text
from whoosh import index as whoosh_index

from archive.models import Blob, Case, Item, OutboxEntry, ProtectedPerson, Redaction, utcnow
from archive.services.cases import protected_names
from archive.services.indexing import process_outbox
from archive.services.redacting import proposed_spans, redaction_basis
from archive.services.redaction import ProtectedName, apply_spans, redact
from archive.services.runtime import Archive
from bench.corpus import QuerySet, Testimony, generate, make_queries
from bench.run import (
    ACTOR,
    CASE_SLUG,
    KINDS,
    RawSearch,
    RawWhoosh,
    _dump_profile,
    log,
    machine_info,
    open_archive,
    raw_document_fields,
    raw_schema,
    run_search,
    setup_archive,
    write_result,
)
from evidence.digest import Digest
from search_index.snippets import CONTEXT_CHARS, MAX_FRAGMENTS
from search_index.whoosh_backend import INDEX_NAME

BACKENDS = ("whoosh", "postgres")
INDEXES = ("restricted", "public")
MILLION = 1_000_000


def loadavg() -> list[float] | None:
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


# ---------------------------------------------------------------- the corpus, in bulk


@dataclass(frozen=True)
class Loaded:
    """One testimony as both indexes should hold it: the original and the public text."""

    uid: str
    doc: Testimony
    public_title: str
    public_text: str
    public_place: str
    public_tags: tuple[str, ...]

    @classmethod
    def of(
        cls,
        uid: str,
        doc: Testimony,
        public_title: str | None,
        public_text: str | None,
        names: Sequence[ProtectedName],
    ) -> Loaded:
        """An item as loaded, its place and tags redacted as publishing does."""
        return cls(
            uid=uid,
            doc=doc,
            public_title=public_title or "",
            public_text=public_text or "",
            public_place=redact(doc.place, names).text,
            public_tags=tuple(redact(t, names).text for t in doc.tags),
        )


def bench_names(arc: Archive) -> list[ProtectedName]:
    """The protected names of the bench case's witnesses, as redaction matches them."""
    with arc.db.sessions() as session:
        case = session.scalar(select(Case).where(Case.slug == CASE_SLUG))
        assert case is not None
        return protected_names(arc, case)


def load_chunk(
    arc: Archive, names: Sequence[ProtectedName], person_ids: dict[int, int], docs: list[Testimony]
) -> list[Loaded]:
    """Leave ``docs`` as ``ingest_text``, ``review_redaction`` and ``publish_item`` would:
    the original written content-addressed, the blob and item rows, the redaction engine's
    spans and public text, reviewed and published (``queue_outbox`` then adds the
    pending outbox entries, batch by batch). Custody events and the text's sealed
    commitment are left out: they are measured by bench.custody and do not reach the
    index. Not timed."""
    loaded: list[Loaded] = []
    now = utcnow()
    with arc.db.transaction() as session:
        case = session.scalar(select(Case).where(Case.slug == CASE_SLUG))
        assert case is not None
        known = set(session.scalars(select(Blob.digest)))
        for doc in docs:
            data = doc.text.encode("utf-8")
            digest = Digest.sha256(data)
            path = arc.blobs.path_for(digest)
            if str(digest) not in known:
                # No fsync: this is set-up, not what is measured.
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                session.add(
                    Blob(digest=str(digest), size=len(data), media_type="text/plain; charset=utf-8")
                )
                known.add(str(digest))
            spans = proposed_spans(doc.text, names)
            item = Item(
                case=case,
                kind="testimony",
                status="published",
                title=doc.title.strip(),
                language=doc.language,
                person_id=person_ids[doc.speaker] if doc.speaker is not None else None,
                digest=str(digest),
                event_date=doc.event_date,
                place=doc.place,
                tags=list(doc.tags),
                public_text=apply_spans(doc.text, spans),
                public_title=redact(doc.title.strip(), names).text,
                redacted_at=now,
                reviewed_at=now,
                reviewed_by=ACTOR,
                published_at=now,
            )
            item.redactions.extend(
                Redaction(start=s.start, end=s.end, label=s.label, source=s.source, reason=s.reason)
                for s in spans
            )
            item.redaction_basis = item.review_basis = redaction_basis(item, names, [])
            session.add(item)
            session.flush()
            loaded.append(Loaded.of(item.uid, doc, item.public_title, item.public_text, names))
    return loaded


def queue_outbox(arc: Archive, entries: list[Loaded]) -> None:
    """The two pending outbox entries each published item has: one queued by
    ``ingest_text``, one by ``publish_item``."""
    with arc.db.transaction() as session:
        session.add_all(
            OutboxEntry(item_uid=entry.uid) for entry in entries for _ in ("ingest", "publish")
        )


def restricted_fields(entry: Loaded) -> dict[str, Any]:
    d = entry.doc
    return raw_document_fields(
        doc_id=entry.uid,
        language=d.language,
        title=d.title,
        body=d.text,
        place=d.place,
        tags=d.tags,
        event_date=d.event_date,
    )


def public_fields(entry: Loaded) -> dict[str, Any]:
    return raw_document_fields(
        doc_id=entry.uid,
        language=entry.doc.language,
        title=entry.public_title,
        body=entry.public_text,
        place=entry.public_place,
        tags=entry.public_tags,
        event_date=entry.doc.event_date,
    )


# ---------------------------------------------------------------- raw Whoosh indexing


class RawWhooshIndexes:
    """Two plain Whoosh indexes (restricted, public) filled with ``add_document``, one
    writer and one commit per batch, as an application indexing known-new documents
    directly would."""

    def __init__(self, root: Path, *, fresh: bool = True) -> None:
        self.paths = {name: root / name for name in INDEXES}
        self.indexes = {}
        for name, path in self.paths.items():
            if fresh:
                path.mkdir(parents=True)
                self.indexes[name] = whoosh_index.create_in(
                    str(path), raw_schema(), indexname=INDEX_NAME
                )
            else:
                self.indexes[name] = whoosh_index.open_dir(str(path), indexname=INDEX_NAME)

    def doc_counts(self) -> dict[str, int]:
        return {name: index.doc_count() for name, index in self.indexes.items()}

    def catch_up(self, arc: Archive, docs: list[Testimony], held: int) -> None:
        """Add to each index what it lacks of the first ``held`` documents (a run stopped
        between the two commits of a batch). Not timed."""
        names = bench_names(arc)
        for name, count in self.doc_counts().items():
            if count == held:
                continue
            if count > held:
                raise SystemExit(f"the raw {name} index holds {count} documents, Témoin's {held}")
            with arc.db.sessions() as session:
                rows = session.execute(
                    select(Item.uid, Item.public_title, Item.public_text)
                    .where(Item.status == "published")
                    .order_by(Item.id)
                    .offset(count)
                    .limit(held - count)
                ).all()
            fields = restricted_fields if name == "restricted" else public_fields
            writer = self.indexes[name].writer()
            for (uid, title, text_), doc in zip(rows, docs[count:held], strict=True):
                writer.add_document(**fields(Loaded.of(uid, doc, title, text_, names)))
            writer.commit()
            log(f"added the {held - count} documents the raw {name} index lacked")

    def add(self, entries: list[Loaded], batch: int) -> None:
        for start in range(0, len(entries), batch):
            part = entries[start : start + batch]
            for name, fields in (("restricted", restricted_fields), ("public", public_fields)):
                writer = self.indexes[name].writer()
                for entry in part:
                    writer.add_document(**fields(entry))
                writer.commit()

    def disk_bytes(self) -> int:
        return sum(tree_bytes(p) for p in self.paths.values())

    def close(self) -> None:
        for index in self.indexes.values():
            index.close()


# ---------------------------------------------------------------- raw PostgreSQL


REGCONFIG = {"fr": "french", "en": "english"}
_RAW_COLUMNS = "doc_id, case_id, kind, language, title, body, place, tags, event_date"


class RawPostgres:
    """Plain PostgreSQL full-text search: two tables (restricted, public) whose ``tsv`` is
    ``to_tsvector`` with the document's language configuration (title A, place and tags B,
    body D), a GIN index, ``websearch_to_tsquery`` (French or English) for words and
    phrases, a ``:*`` prefix query, ``ts_rank``, and ``ts_headline`` on the page's hits."""

    def __init__(self, engine: Engine, page_size: int, *, fresh: bool = True) -> None:
        """``fresh``: (re)create the tables empty; else use those an earlier run filled."""
        self.engine = engine
        self.page_size = page_size
        self.tables = {name: f"raw_{name}" for name in INDEXES}
        if not fresh:
            return
        with engine.begin() as conn:
            for table in self.tables.values():
                conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
                conn.execute(
                    text(
                        f"CREATE TABLE {table} (doc_id text PRIMARY KEY, case_id text NOT NULL,"
                        " kind text NOT NULL, language text NOT NULL, title text NOT NULL,"
                        " body text NOT NULL, place text, tags text[] NOT NULL,"
                        " event_date date, tsv tsvector NOT NULL)"
                    )
                )
                conn.execute(text(f"CREATE INDEX {table}_tsv ON {table} USING gin (tsv)"))

    def add(self, entries: list[Loaded], batch: int) -> None:
        vector = (
            "setweight(to_tsvector(CAST(:cfg AS regconfig), :title), 'A') || "
            "setweight(to_tsvector(CAST(:cfg AS regconfig), coalesce(:place, '')), 'B') || "
            "setweight(to_tsvector(CAST(:cfg AS regconfig), :tagtext), 'B') || "
            "setweight(to_tsvector(CAST(:cfg AS regconfig), :body), 'D')"
        )
        for start in range(0, len(entries), batch):
            part = entries[start : start + batch]
            for name, fields in (("restricted", restricted_fields), ("public", public_fields)):
                rows = []
                for entry in part:
                    f = fields(entry)
                    rows.append(
                        {
                            **{k: f[k] for k in _RAW_COLUMNS.split(", ")},
                            "event_date": entry.doc.event_date,
                            "tagtext": " ".join(f["tags"]),
                            "cfg": REGCONFIG.get(f["language"], "simple"),
                        }
                    )
                statement = text(
                    f"INSERT INTO {self.tables[name]} ({_RAW_COLUMNS}, tsv) VALUES "
                    "(:doc_id, :case_id, :kind, :language, :title, :body, :place, :tags, "
                    f":event_date, {vector})"
                )
                with self.engine.begin() as conn:
                    conn.execute(statement, rows)

    def disk_bytes(self) -> int:
        return sum(pg_table_bytes(self.engine, t) for t in self.tables.values())

    def tsquery(self, kind: str, query: str) -> tuple[str, dict[str, str]]:
        if kind == "prefix":
            word = query.rstrip("*").lower()
            return "to_tsquery('simple', :word || ':*')", {"word": word}
        return (
            "(websearch_to_tsquery('french', :q) || websearch_to_tsquery('english', :q))",
            {"q": query},
        )

    def parse(self, kind: str, query: str) -> Any:
        sql, params = self.tsquery(kind, query)
        with self.engine.connect() as conn:
            return conn.execute(text(f"SELECT CAST({sql} AS text)"), params).scalar_one()

    def shared(self) -> Any:
        return self.engine.connect()

    def run(self, kind: str, query: str, searcher: Any = None) -> tuple[int, list[str]]:
        sql, params = self.tsquery(kind, query)
        table = self.tables["restricted"]
        conn = searcher if searcher is not None else self.engine.connect()
        try:
            total = conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE tsv @@ {sql}"), params
            ).scalar_one()
            options = (
                f"StartSel=<mark>, StopSel=</mark>, MaxFragments={MAX_FRAGMENTS}, "
                f"MaxWords={CONTEXT_CHARS // 5}, MinWords={CONTEXT_CHARS // 10}"
            )
            rows = conn.execute(
                text(
                    "SELECT doc_id, ts_headline(CAST(cfg AS regconfig), body, query, :opts) "
                    "FROM (SELECT doc_id, body, query, ts_rank(tsv, query) AS score, "
                    "CASE language WHEN 'fr' THEN 'french' WHEN 'en' THEN 'english' "
                    "ELSE 'simple' END AS cfg "
                    f"FROM {table}, (SELECT {sql} AS query) AS qq WHERE tsv @@ query "
                    "ORDER BY score DESC LIMIT :limit) AS page ORDER BY score DESC"
                ),
                {**params, "opts": options, "limit": self.page_size},
            ).all()
            return int(total), [row[0] for row in rows]
        finally:
            if searcher is None:
                conn.close()

    def close(self) -> None:
        pass


def pg_table_bytes(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(text("SELECT pg_total_relation_size(:t)"), {"t": table}).scalar_one()
        )


def reset_database(url: str) -> None:
    """Empty the bench's own PostgreSQL database (every table, in its public schema)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


# ---------------------------------------------------------------- sizes


def tree_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (links followed once, at the top)."""
    root = path.resolve()
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def temoin_index_bytes(arc: Archive) -> int:
    if arc.settings.search_backend == "whoosh":
        return sum(tree_bytes(arc.settings.index_dir / name) for name in INDEXES)
    return sum(pg_table_bytes(arc.db.engine, f"search_{name}") for name in INDEXES)


# ---------------------------------------------------------------- indexing


def resume_archive(work: Path, n: int) -> tuple[Archive, dict[int, int], int]:
    """The archive an interrupted run left in ``work``, the ids of its witnesses (in the
    order ``setup_archive`` registered them) and how many documents it has indexed. Items
    a stopped chunk had loaded but not yet queued for indexing (those past the indexed
    ones, in load order) are removed, to be loaded again; anything else out of step (the
    two indexes apart, entries pending) is refused."""
    arc = open_archive(work)
    restricted, public = arc.restricted_index.doc_count(), arc.public_index.doc_count()
    with arc.db.sessions() as session:
        pending = session.scalar(select(func.count()).where(OutboxEntry.done_at.is_(None))) or 0
        people = list(session.scalars(select(ProtectedPerson.id).order_by(ProtectedPerson.id)))
        loaded = list(
            session.execute(
                select(Item.id, Item.uid).where(Item.status == "published").order_by(Item.id)
            )
        )
    # The indexed items are the first ones loaded: the last of them is in the index, the
    # next one is not.
    with arc.restricted_index.index.searcher() as searcher:  # type: ignore[attr-defined]

        def indexed(i: int) -> bool:
            return searcher.document_number(doc_id=loaded[i][1]) is not None

        in_step = len(loaded) >= restricted and (
            (restricted == 0 or indexed(restricted - 1))
            and (restricted == len(loaded) or not indexed(restricted))
        )
    if restricted != public or pending or not in_step:
        arc.close()
        raise SystemExit(
            f"{work} is not a clean stopping point: {len(loaded)} items, indexes "
            f"{restricted}/{public}, {pending} outbox entries pending"
        )
    if restricted >= n:
        arc.close()
        raise SystemExit(f"{work} already holds {restricted} documents (--n {n})")
    surplus = [item_id for item_id, _ in loaded[restricted:]]
    if surplus:
        with arc.db.transaction() as session:
            session.execute(delete(Redaction).where(Redaction.item_id.in_(surplus)))
            session.execute(delete(Item).where(Item.id.in_(surplus)))
        log(f"removed {len(surplus)} items loaded but not indexed when the run stopped")
    return arc, dict(enumerate(people)), restricted


def chunks(docs: list[Testimony], size: int) -> Iterator[list[Testimony]]:
    for start in range(0, len(docs), size):
        yield docs[start : start + size]


def run_indexing(
    arc: Archive,
    person_ids: dict[int, int],
    raws: dict[str, Any],
    docs: list[Testimony],
    *,
    chunk: int,
    batch: int,
    profile: bool,
    out: Path,
    done_before: int = 0,
) -> dict[str, Any]:
    """Chunk by chunk: load (untimed); then batch by batch, queue the batch's outbox
    entries (untimed), drain them with Témoin's code (timed) and index the same documents
    with each raw side (timed). Sizes are taken after each chunk. ``done_before``: documents
    the indexes hold already (a resumed run); ``docs`` are the rest."""
    names = bench_names(arc)
    profiler = cProfile.Profile() if profile else None
    steps: list[dict[str, Any]] = []
    temoin_total = 0.0
    raw_totals = dict.fromkeys(raws, 0.0)
    done = done_before
    for part in chunks(docs, chunk):
        load_start = time.perf_counter()
        loaded = load_chunk(arc, names, person_ids, part)
        load_seconds = time.perf_counter() - load_start
        temoin_seconds = 0.0
        raw_seconds = dict.fromkeys(raws, 0.0)
        # Batch by batch, Témoin and the raw sides alternate, so that all see the same load.
        for first in range(0, len(loaded), batch):
            entries = loaded[first : first + batch]
            queue_outbox(arc, entries)  # untimed: what the import's transactions left
            if profiler:
                profiler.enable()
            start = time.perf_counter()
            # The outbox run the app does after each commit: 2 x batch entries, i.e.
            # ``batch`` documents per index commit (each item left two entries).
            applied = process_outbox(arc, batch_size=2 * batch)
            temoin_seconds += time.perf_counter() - start
            if profiler:
                profiler.disable()
            assert applied == 2 * len(entries), (applied, len(entries))
            for name, raw in raws.items():
                start = time.perf_counter()
                raw.add(entries, batch)
                raw_seconds[name] += time.perf_counter() - start
        for name, seconds in raw_seconds.items():
            raw_totals[name] += seconds
        temoin_total += temoin_seconds
        done += len(part)
        step = {
            "items": done,
            "chunk": len(part),
            "load_seconds": load_seconds,
            "temoin_seconds": temoin_seconds,
            "raw_seconds": raw_seconds,
            "temoin_index_bytes": temoin_index_bytes(arc),
            "raw_index_bytes": {name: raw.disk_bytes() for name, raw in raws.items()},
            "loadavg": loadavg(),
        }
        steps.append(step)
        log(
            f"  indexed {done:>8}/{done_before + len(docs)}"
            f"  Témoin {len(part) / temoin_seconds:7.1f} items/s"
            + "".join(f"   {n} {len(part) / s:7.1f} items/s" for n, s in raw_seconds.items())
            + f"   (load {load_seconds:.0f} s, loadavg {step['loadavg']})"
        )
    if profiler:
        _dump_profile(profiler, out, "outbox")
    n = len(docs)
    result: dict[str, Any] = {
        "items": n,
        "resumed_from": done_before,
        "chunk": chunk,
        "batch_documents_per_commit": batch,
        "indexes": list(INDEXES),
        "temoin_seconds": temoin_total,
        "temoin_items_per_s": n / temoin_total,
        "steps": steps,
        "temoin_docs": {
            "restricted": arc.restricted_index.doc_count(),
            "public": arc.public_index.doc_count(),
        },
    }
    for name, seconds in raw_totals.items():
        result[f"{name}_seconds"] = seconds
        result[f"{name}_items_per_s"] = n / seconds
        result[f"ratio_temoin_over_{name}"] = (n / temoin_total) / (n / seconds)
    result["million"] = extrapolate(steps, list(raws))
    return result


def _linear_fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least squares ``y = a + b x`` (a flat line through the one point if only one)."""
    if len(xs) < 2:
        return ys[0], 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var
    return my - b * mx, b


def extrapolate(steps: list[dict[str, Any]], raw_names: list[str]) -> dict[str, Any]:
    """What 1,000,000 items would cost, EXTRAPOLATED from the measured chunks.

    Time: the seconds per item of each chunk, fitted as ``a + b ln(n)`` in the index size
    ``n`` at the chunk's middle (Whoosh's merges rewrite each document about ``log n``
    times; a B-tree or GIN insert also costs ``log n``), integrated from 0 to a million.
    Disk: a line through the sizes measured after each chunk. With fewer than three
    chunks, or a fit that falls with size, the time is the per-item cost held flat."""
    middles = [math.log(s["items"] - s["chunk"] / 2) for s in steps]
    sizes = [float(s["items"]) for s in steps]

    def seconds(per_chunk: list[float]) -> float:
        per_item = [t / s["chunk"] for t, s in zip(per_chunk, steps, strict=True)]
        a, b = _linear_fit(middles, per_item) if len(steps) >= 3 else (per_item[-1], 0.0)
        if b < 0:  # noise on a busy machine, not an index that gets cheaper as it grows
            a, b = statistics.fmean(per_item), 0.0
        return a * MILLION + b * (MILLION * math.log(MILLION) - MILLION)

    def disk(values: list[int]) -> float:
        a, b = _linear_fit(sizes, [float(v) for v in values])
        return a + b * MILLION

    result: dict[str, Any] = {
        "method": "extrapolated from the measured chunks (time: a + b ln n per item; "
        "disk: linear), not measured",
        "measured_up_to_items": steps[-1]["items"],
        "temoin_seconds": seconds([s["temoin_seconds"] for s in steps]),
        "temoin_index_bytes": disk([s["temoin_index_bytes"] for s in steps]),
    }
    for name in raw_names:
        result[f"{name}_seconds"] = seconds([s["raw_seconds"][name] for s in steps])
        result[f"{name}_index_bytes"] = disk([s["raw_index_bytes"][name] for s in steps])
    return result


# ---------------------------------------------------------------- report


def print_report(result: dict[str, Any]) -> None:
    m, ix, sea = result["machine"], result["indexing"], result["search"]
    print()
    print(
        f"Témoin search benchmark — backend {result['backend']}, "
        f"N={result['corpus']['documents']} testimonies, {sea['term']['queries']} queries per kind"
    )
    print(
        f"machine: {m['cpu_count']} CPUs, Python {m['python']}, Whoosh {m['whoosh']}, "
        f"load {m['loadavg_at_start']} -> {m['loadavg_at_end']}"
    )
    print()
    if ix is None:
        print("Indexing: not measured (--search-only: the indexes of an earlier run)")
    else:
        _print_indexing(ix, result["raw_sides"])
    _print_search(result, sea)


def _print_indexing(ix: dict[str, Any], raw_names: list[str]) -> None:
    print(f"Indexing, {ix['batch_documents_per_commit']} documents per index commit")
    if ix.get("resumed_from"):
        print(
            f"Resumed: documents {ix['resumed_from']:,} to {ix['resumed_from'] + ix['items']:,}"
            f" timed here, into indexes already holding {ix['resumed_from']:,}"
        )
    print("Indexing both indexes (restricted: original, public: redacted), items/s")
    print(
        f"  {'Témoin, outbox drain':<26}{ix['temoin_items_per_s']:>10.1f}"
        f"{ix['temoin_seconds']:>9.1f} s"
    )
    for name in raw_names:
        print(
            f"  {name:<26}{ix[f'{name}_items_per_s']:>10.1f}{ix[f'{name}_seconds']:>9.1f} s"
            f"   ratio Témoin / {name}: {ix[f'ratio_temoin_over_{name}']:.2f}"
        )
    mil = ix["million"]
    print()
    print(f"1,000,000 items — {mil['method']}, from {mil['measured_up_to_items']} measured:")
    gib = 1024**3
    print(
        f"  {'Témoin':<26}{mil['temoin_seconds'] / 3600:>8.1f} h"
        f"{mil['temoin_index_bytes'] / gib:>8.1f} GiB"
    )
    for name in raw_names:
        print(
            f"  {name:<26}{mil[f'{name}_seconds'] / 3600:>8.1f} h"
            f"{mil[f'{name}_index_bytes'] / gib:>8.1f} GiB"
        )


def _print_search(result: dict[str, Any], sea: dict[str, Any]) -> None:
    print()
    print(f"Search latency on the restricted index, ms (ratio = Témoin / {result['primary_raw']})")
    print(
        f"  {'kind':<8}{'Témoin p50':>11}{'p95':>8}{'raw p50':>9}{'p95':>8}"
        f"{'ratio p50':>11}{'p95':>7}{'same total':>12}{'hits':>8}"
    )
    for kind in KINDS:
        r = sea[kind]
        print(
            f"  {kind:<8}{r['temoin_p50_ms']:>11.2f}{r['temoin_p95_ms']:>8.2f}"
            f"{r['raw_p50_ms']:>9.2f}{r['raw_p95_ms']:>8.2f}"
            f"{r['ratio_p50']:>11.2f}{r['ratio_p95']:>7.2f}"
            f"{r['same_total_as_raw']:>7}/{r['queries']:<4}{r['median_hits']:>8.0f}"
        )
        for name in sea["beside"]:
            print(
                f"  {'  vs ' + name:<27}{r[f'{name}_p50_ms']:>11.2f}{r[f'{name}_p95_ms']:>8.2f}"
                f"{r[f'ratio_p50_vs_{name}']:>11.2f}{r[f'ratio_p95_vs_{name}']:>7.2f}"
                f"{r[f'same_total_as_{name}']:>7}/{r['queries']:<4}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.search", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--n", type=int, default=100_000, help="testimonies (100000)")
    parser.add_argument("--backend", choices=BACKENDS, default="whoosh")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEMOIN_BENCH_DATABASE_URL"),
        help="PostgreSQL URL for --backend postgres (or TEMOIN_BENCH_DATABASE_URL); "
        "EVERYTHING IN THAT DATABASE IS DROPPED",
    )
    parser.add_argument("--chunk", type=int, default=25_000, help="items loaded per step (25000)")
    parser.add_argument("--batch", type=int, default=250, help="documents per index commit (250)")
    parser.add_argument("--queries", type=int, default=50, help="queries of each kind (50)")
    parser.add_argument("--page-size", type=int, default=20, help="hits per search page (20)")
    parser.add_argument("--seed", type=int, default=20220327, help="corpus seed")
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="JSON results dir")
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir afterwards")
    parser.add_argument(
        "--no-reused", action="store_true", help="skip the raw reused-searcher column"
    )
    parser.add_argument(
        "--search-only",
        action="store_true",
        help="search the indexes an earlier run built in --workdir (same --n, --seed and "
        "--backend), without indexing again",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="go on indexing, up to --n, what an earlier run (same --seed, Whoosh) left "
        "in --workdir; only the documents added now are timed",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile Témoin's outbox drain and search (ratios then meaningless)",
    )
    args = parser.parse_args(argv)
    if min(args.n, args.chunk, args.batch, args.queries) < 1:
        parser.error("--n, --chunk, --batch and --queries must be positive")
    if args.backend == "postgres" and not args.database_url:
        parser.error("--backend postgres needs --database-url (a database of its own)")
    if args.search_only and (args.workdir is None or not (args.workdir / "archive").is_dir()):
        parser.error("--search-only needs --workdir holding an earlier run's archive")
    if args.resume and (args.workdir is None or not (args.workdir / "raw-index").is_dir()):
        parser.error("--resume needs --workdir holding an earlier run's archive and raw index")
    if args.resume and (args.search_only or args.backend != "whoosh"):
        parser.error("--resume goes with the Whoosh backend, without --search-only")

    info = machine_info()
    log(f"generating {args.n} testimonies and {args.queries} queries of each kind…")
    docs = generate(args.n, seed=args.seed)
    queries: QuerySet = make_queries(docs, args.queries, seed=args.seed + 1)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="temoin-bench-search-"))
    work.mkdir(parents=True, exist_ok=True)
    log(f"working in {work}")
    arc: Archive | None = None
    closers: list[Any] = []
    try:
        database_url = args.database_url if args.backend == "postgres" else None
        raws: dict[str, Any] = {"raw Whoosh": None}
        if args.backend == "postgres":
            raws = {"raw SQL": None, **raws}
        indexing: dict[str, Any] | None = None
        if args.search_only:
            arc = open_archive(work, database_url=database_url, search_backend=args.backend)
            found = arc.restricted_index.doc_count()
            if found != args.n:
                raise SystemExit(f"{work} holds {found} documents, not --n {args.n}")
            log(f"searching the indexes built earlier in {work} ({found} documents)")
        else:
            start = 0
            if args.resume:
                arc, person_ids, start = resume_archive(work, args.n)
            else:
                if database_url is not None:
                    reset_database(database_url)
                arc, person_ids = setup_archive(
                    work, database_url=database_url, search_backend=args.backend
                )
            raws["raw Whoosh"] = RawWhooshIndexes(work / "raw-index", fresh=not args.resume)
            closers.append(raws["raw Whoosh"])
            if args.resume:
                raws["raw Whoosh"].catch_up(arc, docs, start)
                log(f"resuming after the {start} documents indexed earlier in {work}")
            if args.backend == "postgres":
                raws["raw SQL"] = RawPostgres(arc.db.engine, args.page_size)
            log("indexing (Témoin's outbox and the raw sides alternate, batch by batch)…")
            indexing = run_indexing(
                arc,
                person_ids,
                raws,
                docs[start:],
                chunk=args.chunk,
                batch=args.batch,
                profile=args.profile,
                out=args.out,
                done_before=start,
            )
            for raw in closers:
                raw.close()
            closers = []
        log("searching…")
        beside: dict[str, RawSearch] = {}
        if args.backend == "whoosh":
            # Raw Whoosh searches Témoin's own index: the same segments, the same queries.
            primary: RawSearch = RawWhoosh(arc.settings.index_dir / "restricted", args.page_size)
            primary_name = "raw Whoosh (same index)"
            beside["raw Whoosh exact"] = RawWhoosh(
                arc.settings.index_dir / "restricted", args.page_size, exact=True
            )
        else:
            primary = raws["raw SQL"] or RawPostgres(arc.db.engine, args.page_size, fresh=False)
            primary_name = "raw SQL (websearch_to_tsquery, ts_rank, ts_headline)"
            beside["raw Whoosh"] = RawWhoosh(
                work / "raw-index" / "restricted", args.page_size, parse_schema=raw_schema()
            )
        closers = [primary, *beside.values()]
        search = run_search(
            arc,
            primary,
            queries,
            args.page_size,
            profile=args.profile,
            out=args.out,
            beside=beside,
            reused=not args.no_reused,
        )
    finally:
        for raw in closers:
            raw.close()
        if arc is not None:
            arc.close()
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    info["loadavg_at_end"] = loadavg()
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "backend": args.backend,
        "raw_sides": list(raws),
        "primary_raw": primary_name,
        "machine": info,
        "corpus": {
            "documents": len(docs),
            "mean_bytes": statistics.mean(len(d.text.encode()) for d in docs),
            "french": sum(d.language == "fr" for d in docs),
            "example_queries": {k: getattr(queries, k)[:5] for k in KINDS},
        },
        "indexing": indexing,
        "search": search,
    }
    result["args"].pop("database_url", None)  # may hold a password
    print_report(result)
    path = write_result(args.out, f"search-{args.backend}-n{args.n}", result)
    print(f"\nresults written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
