"""Ingest throughput and search latency of Témoin, each beside raw Whoosh in the same run.

    python -m bench.run [--n 20000] [--queries 200] [--out bench/out]

Figures are printed (and written as JSON into ``--out``); nothing is asserted on time.
See bench/README.md for what is measured and how to read the ratios.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from whoosh import collectors
from whoosh import index as whoosh_index
from whoosh.fields import TEXT, Schema
from whoosh.highlight import ContextFragmenter, HtmlFormatter
from whoosh.qparser import MultifieldParser
from whoosh.scoring import BM25F

from archive.config import Settings
from archive.models import ProtectedPerson
from archive.services import search as search_service
from archive.services.cases import create_case, get_case, register_person
from archive.services.items import ingest_text, publish_item
from archive.services.redacting import review_redaction
from archive.services.runtime import Archive, init_archive
from archive.services.vault import Identity
from bench.corpus import WITNESSES, QuerySet, Testimony, generate, make_queries
from search_index.analysis import SUBFIELDS, analyzer_for, subfield_texts
from search_index.query import plan_query
from search_index.snippets import CONTEXT_CHARS, MAX_FRAGMENT_CHARS, MAX_FRAGMENTS
from search_index.whoosh_backend import INDEX_NAME, build_schema

CASE_SLUG = "bench-case"
ACTOR = "bench"
KINDS = ("term", "phrase", "prefix")


# ---------------------------------------------------------------- helpers


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0-100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine_info() -> dict[str, Any]:
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], capture_output=True, text=True, check=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "whoosh": version("whoosh-reloaded"),
        "sqlalchemy": version("sqlalchemy"),
        "cryptography": version("cryptography"),
        "loadavg_at_start": list(load) if load else None,
        # The code measured: the archive changes quickly, so figures need their commit.
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty_paths": len((git("status", "--porcelain") or "").splitlines()),
    }


# ---------------------------------------------------------------- raw Whoosh


def raw_fields(doc: Testimony) -> dict[str, Any]:
    """The same stored and indexed fields Témoin's restricted index holds for ``doc``."""
    return raw_document_fields(
        doc_id=doc.key,
        language=doc.language,
        title=doc.title,
        body=doc.text,
        place=doc.place,
        tags=doc.tags,
        event_date=doc.event_date,
    )


def raw_document_fields(
    *,
    doc_id: str,
    language: str,
    title: str,
    body: str,
    place: str | None,
    tags: tuple[str, ...],
    event_date: dt.date | None,
) -> dict[str, Any]:
    """What an application using Whoosh directly would add for one document: the stored
    fields and the text of each searchable subfield, left to the schema's analyzers."""
    title = title.strip()
    fields: dict[str, Any] = {
        "doc_id": doc_id,
        "case_id": CASE_SLUG,
        "kind": "testimony",
        "language": language,
        "title": title,
        "body": body,
        "place": place,
        "tags": list(tags),
        "event_date": event_date.isoformat() if event_date else None,
    }
    texts = subfield_texts(title=title, body=body, place=place, tags=tags, language=language)
    fields.update({name: text for name, text in texts.items() if text})
    return fields


def raw_schema() -> Schema:
    """Témoin's schema (``build_schema``) as a plain Whoosh application would declare it:
    the same fields, but each subfield analysed by Whoosh itself (folding, then for
    ``*_fr``/``*_en`` the language's stemmer) instead of receiving words Témoin has
    already analysed. Its analyzers also parse raw Whoosh's queries."""
    schema = build_schema()
    for sub in SUBFIELDS:
        schema.remove(sub.name)
        schema.add(sub.name, TEXT(analyzer=analyzer_for(sub.language), phrase=True))
    return schema


def query_schema() -> Schema:
    """What raw Whoosh parses queries on Témoin's index with: the folding analyzer on the
    plain subfields, and the stemmed ones taking the query's words as they are (a raw
    application does not know which words Témoin keeps unstemmed as names)."""
    schema = build_schema()
    for sub in SUBFIELDS:
        if sub.language is None:
            schema.remove(sub.name)
            schema.add(sub.name, TEXT(analyzer=analyzer_for(None), phrase=True))
    return schema


class RawWhoosh:
    """Plain Whoosh, as an application using it directly would: its own query parser
    over the same subfields (same boosts), BM25F, and its own highlighter.

    By default it searches as ``Searcher.search`` does, with Whoosh's shortcuts (block
    skipping, matcher replacement), which can leave some of the best matches off the page
    of a query over several fields; ``exact`` scores every match, as Témoin does."""

    def __init__(
        self,
        path: Path,
        page_size: int,
        parse_schema: Schema | None = None,
        *,
        exact: bool = False,
    ) -> None:
        self.exact = exact
        self.index = whoosh_index.open_dir(str(path), indexname=INDEX_NAME)
        # Témoin's index holds words it analysed itself; the parser needs analyzers.
        schema = parse_schema or query_schema()
        boosts = {s.name: s.boost for s in SUBFIELDS}
        every = [s.name for s in SUBFIELDS]
        # Témoin looks prefixes up in the folded (unstemmed) subfields only.
        plain = [s.name for s in SUBFIELDS if s.language is None]
        self.parsers = {
            "term": MultifieldParser(every, schema, fieldboosts=boosts),
            "phrase": MultifieldParser(every, schema, fieldboosts=boosts),
            "prefix": MultifieldParser(plain, schema, fieldboosts=boosts),
        }
        self.page_size = page_size
        self.formatter = HtmlFormatter(tagname="mark", between=" … ")
        self.fragmenter = ContextFragmenter(maxchars=MAX_FRAGMENT_CHARS, surround=CONTEXT_CHARS)

    def parse(self, kind: str, text: str) -> Any:
        return self.parsers[kind].parse(text)

    def run(self, kind: str, text: str, searcher: Any = None) -> tuple[int, list[str]]:
        """Parse, search one page, count every match, and highlight each hit's body."""
        query = self.parse(kind, text)
        own = searcher is None
        if own:
            searcher = self.index.searcher(weighting=BM25F())
        try:
            if self.exact:
                collector = collectors.TermsCollector(
                    collectors.TopCollector(self.page_size, usequality=False, replace=0)
                )
                searcher.search_with_collector(query, collector)
                results = collector.results()
            else:
                results = searcher.search(query, limit=self.page_size, terms=True)
            results.formatter = self.formatter
            results.fragmenter = self.fragmenter
            total = len(results)
            ids = []
            for hit in results[: self.page_size]:
                stored = hit.fields()
                hit.highlights("body_plain", text=stored["body"], top=MAX_FRAGMENTS)
                ids.append(stored["doc_id"])
            return total, ids
        finally:
            if own:
                searcher.close()

    def shared(self) -> Any:
        """A searcher to keep open across queries (the "reused" column)."""
        return self.index.searcher(weighting=BM25F())

    def close(self) -> None:
        self.index.close()


# ---------------------------------------------------------------- ingest


def bench_settings(
    work: Path, *, database_url: str | None = None, search_backend: str = "whoosh"
) -> Settings:
    """The settings of the bench's archive in ``work`` (SQLite there unless
    ``database_url`` is given)."""
    data_dir = work / "archive"
    return Settings.from_env(
        environ={"TEMOIN_SEARCH_BACKEND": search_backend},
        data_dir=data_dir,
        database_url=database_url or f"sqlite:///{data_dir / 'temoin.db'}",
    )


def open_archive(
    work: Path, *, database_url: str | None = None, search_backend: str = "whoosh"
) -> Archive:
    """The archive an earlier run built in ``work``."""
    return Archive(bench_settings(work, database_url=database_url, search_backend=search_backend))


def setup_archive(
    work: Path, *, database_url: str | None = None, search_backend: str = "whoosh"
) -> tuple[Archive, dict[int, int]]:
    """A fresh archive in ``work`` (SQLite there unless ``database_url`` is given) with the
    bench case and its six protected witnesses."""
    settings = bench_settings(work, database_url=database_url, search_backend=search_backend)
    init_archive(settings)
    arc = Archive(settings)
    person_ids: dict[int, int] = {}
    with arc.unit_of_work() as session:
        case = create_case(session, slug=CASE_SLUG, title="Benchmark case")
        for i, (names, aliases) in enumerate(WITNESSES):
            person = register_person(
                arc, session, case, role="witness", identity=Identity(names=names, aliases=aliases)
            )
            person_ids[i] = person.id
    return arc, person_ids


def ingest_temoin_batch(
    arc: Archive, person_ids: dict[int, int], batch: list[Testimony]
) -> tuple[float, float]:
    """One unit of work: ingest, review and publish every item. Returns (service work, commit +
    index outbox) in seconds."""
    start = time.perf_counter()
    with arc.unit_of_work() as session:
        case = get_case(session, CASE_SLUG)
        for doc in batch:
            person = (
                session.get(ProtectedPerson, person_ids[doc.speaker])
                if doc.speaker is not None
                else None
            )
            item = ingest_text(
                arc,
                session,
                case,
                kind="testimony",
                text=doc.text,
                title=doc.title,
                language=doc.language,
                actor=ACTOR,
                person=person,
                event_date=doc.event_date,
                place=doc.place,
                tags=list(doc.tags),
            )
            # Publishing needs a reviewed redaction: accept the engine's proposal, as the
            # seed loader does for the founding case.
            review_redaction(arc, session, item, actor=ACTOR)
            publish_item(arc, session, item, actor=ACTOR)
        body_done = time.perf_counter()
    end = time.perf_counter()
    return body_done - start, end - body_done


def ingest_raw_batch(index: Any, batch: list[Testimony]) -> float:
    start = time.perf_counter()
    writer = index.writer()
    for doc in batch:
        writer.add_document(**raw_fields(doc))
    writer.commit()
    return time.perf_counter() - start


def run_ingest(
    arc: Archive,
    person_ids: dict[int, int],
    raw_index: Any,
    docs: list[Testimony],
    batch_size: int,
    *,
    profile: bool,
    out: Path,
) -> dict[str, Any]:
    """Témoin and raw Whoosh batches alternate, so both see the same machine load."""
    temoin_work = temoin_commit = raw_total = 0.0
    batches = [docs[i : i + batch_size] for i in range(0, len(docs), batch_size)]
    step = max(1, len(batches) // 10)
    profiler = cProfile.Profile() if profile else None
    for number, batch in enumerate(batches, 1):
        if profiler:
            profiler.enable()
        work, commit = ingest_temoin_batch(arc, person_ids, batch)
        if profiler:
            profiler.disable()
        temoin_work += work
        temoin_commit += commit
        raw_total += ingest_raw_batch(raw_index, batch)
        if number % step == 0 or number == len(batches):
            done = min(number * batch_size, len(docs))
            temoin_rate = done / (temoin_work + temoin_commit)
            log(
                f"  ingest {done:>7}/{len(docs)}  Témoin {temoin_rate:7.1f} items/s"
                f"   raw Whoosh {done / raw_total:8.1f} items/s"
            )
    if profiler:
        _dump_profile(profiler, out, "ingest")
    n = len(docs)
    temoin_total = temoin_work + temoin_commit
    return {
        "items": n,
        "batch_size": batch_size,
        "temoin_seconds": temoin_total,
        "temoin_service_seconds": temoin_work,
        "temoin_commit_and_index_seconds": temoin_commit,
        "temoin_items_per_s": n / temoin_total,
        "raw_seconds": raw_total,
        "raw_items_per_s": n / raw_total,
        "ratio_temoin_over_raw": (n / temoin_total) / (n / raw_total),
        "temoin_restricted_docs": arc.restricted_index.doc_count(),
        "temoin_public_docs": arc.public_index.doc_count(),
        "raw_docs": int(raw_index.doc_count()),
    }


def write_result(out: Path, name: str, result: dict[str, Any]) -> Path:
    """Write ``result`` as ``<out>/<name>-<time>.json`` and ``<out>/<name>-latest.json``."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out / f"{name}-{stamp}.json"
    body = json.dumps(result, indent=2, ensure_ascii=False, default=str)
    path.write_text(body + "\n")
    (out / f"{name}-latest.json").write_text(body + "\n")
    return path


def _dump_profile(profiler: cProfile.Profile, out: Path, name: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"profile-{name}.pstats"
    profiler.dump_stats(path)
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(30)
        log(f"\n--- cProfile of Témoin {name}, by {order} (stats in {path}) ---")
        log(text.getvalue())


# ---------------------------------------------------------------- search


class RawSearch(Protocol):
    """A raw side of the search comparison: ``run`` parses, searches one page, counts every
    match and highlights each hit; ``shared`` opens what ``run`` may reuse across queries."""

    def parse(self, kind: str, text: str) -> Any: ...

    def run(self, kind: str, text: str, searcher: Any = None) -> tuple[int, list[str]]: ...

    def shared(self) -> Any: ...


def run_search(
    arc: Archive,
    raw: RawSearch,
    queries: QuerySet,
    page_size: int,
    *,
    profile: bool,
    out: Path,
    beside: dict[str, RawSearch] | None = None,
    reused: bool = True,
) -> dict[str, Any]:
    """Témoin's restricted search against ``raw`` (the ratios), interleaved query by query
    with ``beside`` (more raw sides, reported with their own ratios) and, if ``reused``,
    ``raw`` with one searcher kept open for every query."""
    others = dict(beside or {})

    def temoin(text: str) -> tuple[int, list[str]]:
        results = search_service.search(arc, text, restricted=True, page=1, page_size=page_size)
        return results.total, [h.doc_id for h in results.hits]

    # Warm up file caches and imports on both sides; not measured.
    for kind in KINDS:
        for text in getattr(queries, kind)[:10]:
            temoin(text)
            raw.run(kind, text)
            for side in others.values():
                side.run(kind, text)

    profiler = cProfile.Profile() if profile else None
    report: dict[str, Any] = {"page_size": page_size, "beside": list(others)}
    shared = raw.shared() if reused else None
    try:
        for kind in KINDS:
            texts: list[str] = getattr(queries, kind)
            times: dict[str, list[float]] = {"temoin": [], "raw": [], "reused": []}
            times.update({name: [] for name in others})
            same = dict.fromkeys(["raw", *others], 0)
            totals: list[int] = []
            for i, text in enumerate(texts):
                # Alternate who goes first, so neither always profits from a warm cache.
                order: list[tuple[str, Callable[[], tuple[int, list[str]]]]] = [
                    ("temoin", lambda t=text: temoin(t)),
                    ("raw", lambda t=text, k=kind: raw.run(k, t)),
                ]
                if shared is not None:
                    order.append(("reused", lambda t=text, k=kind: raw.run(k, t, shared)))
                order.extend(
                    (name, lambda t=text, k=kind, s=side: s.run(k, t))  # type: ignore[misc]
                    for name, side in others.items()
                )
                if i % 2:
                    order.reverse()
                outcome = {}
                for name, call in order:
                    if name == "temoin" and profiler:
                        profiler.enable()
                    start = time.perf_counter()
                    outcome[name] = call()
                    elapsed = (time.perf_counter() - start) * 1000
                    if name == "temoin" and profiler:
                        profiler.disable()
                    times[name].append(elapsed)
                for name in same:
                    same[name] += outcome["temoin"][0] == outcome[name][0]
                totals.append(outcome["temoin"][0])
            t_ms, r_ms = times["temoin"], times["raw"]
            log(
                f"  {kind:<7} p50 Témoin {percentile(t_ms, 50):7.1f} ms"
                f"   raw {percentile(r_ms, 50):7.1f} ms"
                + "".join(f"   {n} {percentile(times[n], 50):7.1f} ms" for n in others)
            )
            example = texts[0]
            entry: dict[str, Any] = {
                "queries": len(texts),
                "temoin_p50_ms": percentile(t_ms, 50),
                "temoin_p95_ms": percentile(t_ms, 95),
                "raw_p50_ms": percentile(r_ms, 50),
                "raw_p95_ms": percentile(r_ms, 95),
                "ratio_p50": percentile(t_ms, 50) / percentile(r_ms, 50),
                "ratio_p95": percentile(t_ms, 95) / percentile(r_ms, 95),
                "same_total_as_raw": same["raw"],
                "median_hits": statistics.median(totals),
                "example": {
                    "query": example,
                    "temoin_plan": repr(plan_query(example)),
                    "raw_query": repr(raw.parse(kind, example)),
                },
            }
            if shared is not None:
                entry["raw_reused_searcher_p50_ms"] = percentile(times["reused"], 50)
                entry["raw_reused_searcher_p95_ms"] = percentile(times["reused"], 95)
            for name, side in others.items():
                entry[f"{name}_p50_ms"] = percentile(times[name], 50)
                entry[f"{name}_p95_ms"] = percentile(times[name], 95)
                entry[f"ratio_p50_vs_{name}"] = percentile(t_ms, 50) / percentile(times[name], 50)
                entry[f"ratio_p95_vs_{name}"] = percentile(t_ms, 95) / percentile(times[name], 95)
                entry[f"same_total_as_{name}"] = same[name]
                entry["example"][f"{name}_query"] = repr(side.parse(kind, example))
            report[kind] = entry
    finally:
        if shared is not None:
            shared.close()
    if profiler:
        _dump_profile(profiler, out, "search")
    return report


# ---------------------------------------------------------------- report


def print_report(result: dict[str, Any]) -> None:
    m, ing, sea = result["machine"], result["ingest"], result["search"]
    print()
    print(
        f"Témoin benchmark — N={ing['items']} testimonies, batches of {ing['batch_size']}, "
        f"{sea['term']['queries']} queries per kind, page size {sea['page_size']}"
    )
    print(
        f"machine: {m['cpu_count']} CPUs, Python {m['python']} ({m['platform']}), "
        f"Whoosh {m['whoosh']}, load {m['loadavg_at_start']} -> {m['loadavg_at_end']}"
    )
    print()
    print("Ingest (items/s, indexing included)")
    print(f"  {'':<34}{'items/s':>10}{'seconds':>10}")
    print(
        f"  {'Témoin (service layer, 2 indexes)':<34}{ing['temoin_items_per_s']:>10.1f}"
        f"{ing['temoin_seconds']:>10.1f}"
    )
    print(f"  {'  of which service work':<34}{'':>10}{ing['temoin_service_seconds']:>10.1f}")
    print(
        f"  {'  of which commit + index outbox':<34}{'':>10}"
        f"{ing['temoin_commit_and_index_seconds']:>10.1f}"
    )
    print(
        f"  {'raw Whoosh (1 index)':<34}{ing['raw_items_per_s']:>10.1f}{ing['raw_seconds']:>10.1f}"
    )
    print(
        f"  ratio Témoin / raw throughput: {ing['ratio_temoin_over_raw']:.3f}"
        f"  (raw is {1 / ing['ratio_temoin_over_raw']:.1f}x faster)"
    )
    print()
    print("Search latency on the restricted index, in ms")
    print("(ratio = Témoin / raw: above 1 means Témoin is slower)")
    header = (
        f"  {'kind':<8}{'Témoin p50':>11}{'p95':>8}{'raw p50':>9}{'p95':>8}"
        f"{'ratio p50':>11}{'p95':>7}{'reused p50':>12}{'p95':>8}{'same total':>12}{'hits':>7}"
    )
    print(header)
    for kind in KINDS:
        r = sea[kind]
        print(
            f"  {kind:<8}{r['temoin_p50_ms']:>11.2f}{r['temoin_p95_ms']:>8.2f}"
            f"{r['raw_p50_ms']:>9.2f}{r['raw_p95_ms']:>8.2f}"
            f"{r['ratio_p50']:>11.2f}{r['ratio_p95']:>7.2f}"
            f"{r['raw_reused_searcher_p50_ms']:>12.2f}{r['raw_reused_searcher_p95_ms']:>8.2f}"
            f"{r['same_total_as_raw']:>7}/{r['queries']:<4}{r['median_hits']:>7.0f}"
        )
    print("  (raw opens a searcher per query, as Témoin does; 'reused' keeps one open)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="testimonies to ingest (20000)")
    parser.add_argument("--queries", type=int, default=200, help="queries of each kind (200)")
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="JSON results dir")
    parser.add_argument("--batch", type=int, default=200, help="items per unit of work (200)")
    parser.add_argument("--page-size", type=int, default=20, help="hits per search page (20)")
    parser.add_argument("--seed", type=int, default=20220327, help="corpus seed")
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir afterwards")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile Témoin's ingest and search (slows them: ratios are then meaningless)",
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.queries < 1 or args.batch < 1:
        parser.error("--n, --queries and --batch must be positive")

    info = machine_info()
    log(f"generating {args.n} testimonies and {args.queries} queries of each kind…")
    docs = generate(args.n, seed=args.seed)
    queries = make_queries(docs, args.queries, seed=args.seed + 1)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="temoin-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    log(f"working in {work}")
    arc = None
    raw = None
    try:
        arc, person_ids = setup_archive(work)
        raw_dir = work / "raw-index"
        raw_dir.mkdir()
        raw_index = whoosh_index.create_in(str(raw_dir), raw_schema(), indexname=INDEX_NAME)
        log("ingesting (Témoin and raw Whoosh batches alternate)…")
        ingest = run_ingest(
            arc, person_ids, raw_index, docs, args.batch, profile=args.profile, out=args.out
        )
        raw_index.close()
        log("searching…")
        raw = RawWhoosh(arc.settings.index_dir / "restricted", args.page_size)
        search = run_search(arc, raw, queries, args.page_size, profile=args.profile, out=args.out)
    finally:
        if raw is not None:
            raw.close()
        if arc is not None:
            arc.close()
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    info["loadavg_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": info,
        "corpus": {
            "documents": len(docs),
            "mean_bytes": statistics.mean(len(d.text.encode()) for d in docs),
            "french": sum(d.language == "fr" for d in docs),
            "told_by_protected_witness": sum(d.speaker is not None for d in docs),
            "naming_protected_witness": sum(bool(d.mentioned) for d in docs),
            "example_queries": {k: getattr(queries, k)[:5] for k in KINDS},
        },
        "ingest": ingest,
        "search": search,
    }
    print_report(result)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = args.out / f"bench-n{args.n}-{stamp}.json"
    text = json.dumps(result, indent=2, ensure_ascii=False, default=str)
    path.write_text(text + "\n")
    (args.out / "latest.json").write_text(text + "\n")
    print(f"\nresults written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
