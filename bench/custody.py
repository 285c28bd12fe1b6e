"""Custody log benchmarks: append rate, audit rate and inclusion-proof latency, each beside
the raw cryptography (or the same call on a small log) measured in the same run.

    python -m bench.custody [--events 1000000] [--append-events 8000] [--proofs 500]
    python -m bench.custody --events 20000 --append-events 2000 --import-items 0   # quick

Figures are printed (and written as JSON into ``--out``); nothing is asserted on time.
See bench/README.md, section "Custody log", for what is measured and how to read the ratios.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import multiprocessing as mp
import os
import pstats
import random
import resource
import shutil
import sqlite3
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.config import Settings
from archive.models import Blob, Case, Checkpoint, CustodyEvent, Item, utcnow
from archive.services import audit as audit_service
from archive.services import log as log_service
from archive.services.audit import audit
from archive.services.custody import append_event
from archive.services.redaction import ENGINE_VERSION as REDACTION_ENGINE
from archive.services.runtime import Archive, init_archive
from bench.corpus import generate
from bench.run import (
    ACTOR,
    CASE_SLUG,
    ingest_temoin_batch,
    log,
    machine_info,
    percentile,
    setup_archive,
)
from evidence import merkle
from evidence.digest import Digest

#: The events an imported and published testimony gets, in order (see archive.services.items).
LIFECYCLE = ("collected", "ingested", "redacted", "published")
BASE_TIME = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
TEXT = "text/plain; charset=utf-8"
_MADE_DIRS: set[Path] = set()
PROFILE_TOP = 15
CORES = len(os.sched_getaffinity(0))


# ---------------------------------------------------------------- shared helpers


def archive_settings(data_dir: Path) -> Settings:
    return Settings.from_env(
        environ={}, data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'temoin.db'}"
    )


def event_details(type_: str, *, digest: str, size: int, public: str, at: str) -> dict[str, Any]:
    """The same details the importer writes for each lifecycle event (same keys, sizes)."""
    if type_ == "collected":
        return {"by": ACTOR, "at": at, "place": "Mopti region"}
    if type_ == "ingested":
        return {"digest": digest, "size": size, "kind": "testimony", "via": "import"}
    if type_ == "redacted":
        return {
            "engine": REDACTION_ENGINE,
            "spans": 2,
            "labels": ["person", "phone"],
            "public_text_digest": public,
        }
    return {"public_text_digest": public}


def synthetic_text(rng: random.Random, number: int) -> bytes:
    words = ("soldats", "river", "market", "Djenné", "Mopti", "convoy", "night", "witness")
    body = " ".join(rng.choices(words, k=rng.randint(40, 80)))
    return f"Testimony {number}: {body}.".encode()


def profile_top(profiler: cProfile.Profile, order: str, count: int = PROFILE_TOP) -> str:
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(count)
    return text.getvalue()


def rusage_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def timed_sign(key: Ed25519PrivateKey, messages: list[bytes]) -> tuple[float, float]:
    """Raw signing of ``messages``: (wall seconds, CPU seconds of this process)."""
    sign = key.sign
    start, cpu = time.perf_counter(), time.process_time()
    for message in messages:
        sign(message)
    return time.perf_counter() - start, time.process_time() - cpu


def _sign_each(key: Ed25519PrivateKey, messages: list[bytes]) -> None:
    for message in messages:
        key.sign(message)


def timed_sign_every_core(
    pool: ThreadPoolExecutor, key: Ed25519PrivateKey, messages: list[bytes]
) -> float:
    """Raw signing of ``messages`` split across one thread per core (cryptography signs
    without the GIL), as Témoin's batch does: wall seconds."""
    step = -(-len(messages) // CORES)
    start = time.perf_counter()
    parts = [
        pool.submit(_sign_each, key, messages[i : i + step]) for i in range(0, len(messages), step)
    ]
    for part in parts:
        part.result()
    return time.perf_counter() - start


# ---------------------------------------------------------------- 1. append rate


def make_items(arc: Archive, count: int, rng: random.Random) -> list[int]:
    """Items with stored originals but no events yet (not measured)."""
    ids = []
    with arc.unit_of_work() as session:
        case = session.scalar(select(Case).where(Case.slug == CASE_SLUG))
        assert case is not None
        for n in range(count):
            stored = arc.blobs.write_bytes(synthetic_text(rng, n))
            if session.get(Blob, str(stored.digest)) is None:
                session.add(Blob(digest=str(stored.digest), size=stored.size, media_type="text"))
            item = Item(
                case_id=case.id,
                case=case,
                kind="testimony",
                title=f"Testimony {n}",
                language="en",
                digest=str(stored.digest),
            )
            session.add(item)
            session.flush()
            ids.append(item.id)
    return ids


def append_batch(arc: Archive, item_ids: list[int]) -> tuple[float, float, float]:
    """Existing items (made earlier): one unit of work in which every item gets its four
    lifecycle events through append_event. Returns (service work, seal + commit, CPU)."""
    start, cpu = time.perf_counter(), time.process_time()
    with arc.unit_of_work() as session:
        items = session.scalars(select(Item).where(Item.id.in_(item_ids)).order_by(Item.id))
        for item in items:
            blob = session.get(Blob, item.digest)
            assert blob is not None
            for type_ in LIFECYCLE:
                at = utcnow()
                details = event_details(
                    type_,
                    digest=item.digest,
                    size=blob.size,
                    public=item.digest,
                    at=at.isoformat().replace("+00:00", "Z"),
                )
                append_event(arc, session, item, type_, actor=ACTOR, details=details, at=at)
        body_done = time.perf_counter()
    end = time.perf_counter()
    return body_done - start, end - body_done, time.process_time() - cpu


def new_items(
    arc: Archive, session: Session, case: Case, first: int, count: int
) -> list[tuple[Item, int, str]]:
    """``count`` published testimonies from number ``first``: their originals written to the
    blob store (plainly: no fsync, as a benchmark may), their rows flushed. Returns
    (item, size, public text digest) each."""
    made = []
    for number in range(first, first + count):
        rng = random.Random(number)
        data = synthetic_text(rng, number)
        digest = Digest.sha256(data)
        path = arc.blobs.path_for(digest)
        if path.parent not in _MADE_DIRS:
            path.parent.mkdir(parents=True, exist_ok=True)
            _MADE_DIRS.add(path.parent)
        path.write_bytes(data)
        if session.get(Blob, str(digest)) is None:
            session.add(Blob(digest=str(digest), size=len(data), media_type=TEXT))
        public = data.decode().replace("Mopti", "[place]")
        when = BASE_TIME + dt.timedelta(seconds=number)
        item = Item(
            case_id=case.id, case=case, kind="testimony", status="published",
            title=f"Testimony {number}", language="en", digest=str(digest),
            place="Mopti region", tags=["killings"], public_text=public,
            public_title=f"Testimony {number}",
            redaction_basis=str(Digest.sha256(public.encode())),
            redacted_at=when, published_at=when, created_at=when,
        )  # fmt: skip
        session.add(item)
        made.append((item, len(data), str(Digest.sha256(public.encode()))))
    session.flush()
    return made


def lifecycles(
    made: list[tuple[Item, int, str]], events: int, number: int
) -> list[tuple[Item, str, dict[str, Any], dt.datetime]]:
    """The lifecycle events of each new item (item, type, details, time), up to ``events``:
    what the importer's services pass to append_event."""
    specs = []
    for k, (item, size, public) in enumerate(made):
        when = BASE_TIME + dt.timedelta(seconds=number + k)
        for seq, type_ in enumerate(LIFECYCLE):
            if len(specs) == events:
                return specs
            at = when + dt.timedelta(milliseconds=seq)
            details = event_details(
                type_, digest=item.digest, size=size, public=public,
                at=at.isoformat().replace("+00:00", "Z"),
            )  # fmt: skip
            specs.append((item, type_, details, at))
    return specs


def append_all(
    arc: Archive, session: Session, specs: list[tuple[Item, str, dict[str, Any], dt.datetime]]
) -> None:
    for item, type_, details, at in specs:
        append_event(arc, session, item, type_, actor=ACTOR, details=details, at=at)


def import_batch(arc: Archive, first: int, count: int) -> tuple[float, float, float]:
    """A batch import's unit of work: ``count`` new items, then their four lifecycle events
    each through append_event. The items' creation and the events' details are not timed;
    the appends are, and so is the end of the unit of work (the batch's rows written, its
    checkpoint signed, commit).
    Returns (appends, seal + commit, CPU of both) in seconds."""
    with arc.unit_of_work() as session:
        case = session.scalar(select(Case).where(Case.slug == CASE_SLUG))
        assert case is not None
        specs = lifecycles(new_items(arc, session, case, first, count), count * 4, first)
        start, cpu = time.perf_counter(), time.process_time()
        append_all(arc, session, specs)
        body_done = time.perf_counter()
    end = time.perf_counter()
    return body_done - start, end - body_done, time.process_time() - cpu


def canonical_since(arc: Archive, start: int) -> list[bytes]:
    with arc.db.sessions() as session:
        return list(
            session.scalars(
                select(CustodyEvent.canonical)
                .where(CustodyEvent.log_index >= start)
                .order_by(CustodyEvent.log_index)
            )
        )


def _append_row(
    what: str, per_batch: int, events: int, work: float, seal: float, cpu: float,
    raw: float, raw_cpu: float, raw_every_core: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    total = work + seal
    every_core = (
        {}
        if raw_every_core is None
        else {
            "raw_every_core_seconds": raw_every_core,
            "raw_signs_every_core_per_s": events / raw_every_core,
            "ratio_temoin_over_raw_every_core": raw_every_core / total,
        }
    )
    return {
        **every_core,
        "what": what,
        "events": events,
        "events_per_unit_of_work": per_batch,
        "temoin_seconds": total,
        "temoin_service_seconds": work,
        "temoin_seal_and_commit_seconds": seal,
        "temoin_events_per_s": events / total,
        "raw_sign_seconds": raw,
        "raw_signs_per_s": events / raw,
        "ratio_temoin_over_raw": raw / total,
        "temoin_cpu_seconds": cpu,
        "raw_sign_cpu_seconds": raw_cpu,
        "ratio_cpu": raw_cpu / cpu,
    }


def run_append(
    arc: Archive, person_ids: dict[int, int], args: argparse.Namespace
) -> dict[str, Any]:
    """Témoin unit-of-work batches alternate with raw signing of the very same bytes."""
    rng = random.Random(args.seed)
    raw_key = Ed25519PrivateKey.generate()
    pool = ThreadPoolExecutor(CORES)
    report: dict[str, Any] = {}
    number = 10_000_000  # item numbers of their own, apart from the big log's
    for batch_events in args.batches:
        per_batch = max(1, batch_events // len(LIFECYCLE))
        batches = max(1, args.append_events // (per_batch * len(LIFECYCLE)))
        import_batch(arc, number, per_batch)  # warm-up, not counted
        number += per_batch
        sums = [0.0] * 6
        events = 0
        for _ in range(batches):
            start = log_service_size(arc)
            timings = import_batch(arc, number, per_batch)
            number += per_batch
            messages = canonical_since(arc, start)
            events += len(messages)
            raw = (*timed_sign(raw_key, messages), timed_sign_every_core(pool, raw_key, messages))
            for i, value in enumerate((*timings, *raw)):
                sums[i] += value
        key = f"import_batch_{per_batch * len(LIFECYCLE)}"
        report[key] = _append_row(
            "batch import: new items' 4 lifecycle events through append_event in one "
            "arc.unit_of_work(), then seal_batch + commit",
            per_batch * len(LIFECYCLE), events, *sums,
        )  # fmt: skip
        r = report[key]
        log(
            f"  append, batch import of {r['events_per_unit_of_work']} events per unit of work: "
            f"Témoin {r['temoin_events_per_s']:.0f} events/s, raw sign {r['raw_signs_per_s']:.0f}/s"
            f" -> ratio {r['ratio_temoin_over_raw']:.3f} (CPU {r['ratio_cpu']:.3f}); raw sign on "
            f"{CORES} threads {r['raw_signs_every_core_per_s']:.0f}/s -> ratio "
            f"{r['ratio_temoin_over_raw_every_core']:.3f}"
        )

    # Context: appends to items made in an earlier transaction (each item's last event is
    # read once per unit of work), as for events recorded after the import.
    per_batch = max(1, args.batches[0] // len(LIFECYCLE))
    batches = max(1, args.append_events // (per_batch * len(LIFECYCLE)))
    ids = make_items(arc, per_batch * batches, rng)
    sums = [0.0] * 5
    events = 0
    for b in range(batches):
        start = log_service_size(arc)
        timings = append_batch(arc, ids[b * per_batch : (b + 1) * per_batch])
        messages = canonical_since(arc, start)
        events += len(messages)
        for i, value in enumerate((*timings, *timed_sign(raw_key, messages))):
            sums[i] += value
    report["existing_items"] = r = _append_row(
        "existing items: 4 events each through append_event in one arc.unit_of_work()",
        per_batch * len(LIFECYCLE), events, *sums,
    )  # fmt: skip
    log(
        f"  append to existing items, {r['events_per_unit_of_work']} per unit of work: "
        f"Témoin {r['temoin_events_per_s']:.0f} events/s -> ratio {r['ratio_temoin_over_raw']:.3f}"
    )

    if args.import_items:
        docs = generate(args.import_items, seed=args.seed)
        t_total = raw = raw_cpu = 0.0
        events = 0
        for i in range(0, len(docs), 200):
            start = log_service_size(arc)
            w, s = ingest_temoin_batch(arc, person_ids, docs[i : i + 200])
            messages = canonical_since(arc, start)
            t_total, events = t_total + w + s, events + len(messages)
            wall, cpu = timed_sign(raw_key, messages)
            raw, raw_cpu = raw + wall, raw_cpu + cpu
        report["import_ingest_text_publish"] = {
            "what": "bench.run's import batch of 200: ingest_text + publish_item, blobs "
            "fsynced, redaction and both indexes included",
            "items": len(docs),
            "events": events,
            "temoin_seconds": t_total,
            "temoin_events_per_s": events / t_total,
            "raw_sign_seconds": raw,
            "raw_signs_per_s": events / raw,
            "ratio_temoin_over_raw": (events / t_total) / (events / raw),
        }
        r = report["import_ingest_text_publish"]
        log(
            f"  full import (ingest_text+publish): Témoin {r['temoin_events_per_s']:.0f} events/s,"
            f" raw sign {r['raw_signs_per_s']:.0f}/s -> ratio {r['ratio_temoin_over_raw']:.4f}"
        )

    # Where the time goes: one profiled batch-import unit of work of the first batch size.
    per_batch = max(1, args.batches[0] // len(LIFECYCLE))
    profiler = cProfile.Profile()
    profiler.enable()
    import_batch(arc, number, per_batch)
    profiler.disable()
    args.out.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(args.out / "profile-custody-append.pstats")
    report["profile_cumulative"] = profile_top(profiler, "cumulative")
    report["profile_tottime"] = profile_top(profiler, "tottime")
    return report


def log_service_size(arc: Archive) -> int:
    with arc.db.sessions() as session:
        return log_service.tree_size(session)


# ---------------------------------------------------------------- building a big log


def build_log(data_dir: Path, events: int, args: argparse.Namespace) -> dict[str, Any]:
    """An archive (init_archive) plus ``events`` custody events of published testimonies,
    made through the service layer's batch path, as a batch import makes them: one
    unit of work per ``args.checkpoint_items`` new items, each getting its four lifecycle
    events through append_event, the unit of work signing its checkpoint."""
    start = time.perf_counter()
    settings = archive_settings(data_dir)
    init_archive(settings)
    arc = Archive(settings)
    try:
        with arc.unit_of_work() as session:
            session.add(Case(slug=CASE_SLUG, title="Benchmark case"))
        made = 0
        number = 0
        while made < events:
            count = min(args.checkpoint_items, -(-(events - made) // len(LIFECYCLE)))
            with arc.unit_of_work() as session:
                case = session.scalar(select(Case).where(Case.slug == CASE_SLUG))
                assert case is not None
                specs = lifecycles(
                    new_items(arc, session, case, number, count), events - made, number
                )
                append_all(arc, session, specs)
                done = len(specs)
            number += count
            if (made + done) // 100_000 != made // 100_000:
                log(f"    built {made + done:>9} events")
            made += done
        with arc.db.sessions() as session:
            size = log_service.tree_size(session)
            checkpoints = session.scalar(select(func.count()).select_from(Checkpoint))
        return {
            "events": size,
            "generated_events": events,
            "items": number,
            "checkpoints": checkpoints,
            "build_seconds": time.perf_counter() - start,
            "database_bytes": (data_dir / "temoin.db").stat().st_size,
        }
    finally:
        arc.close()


def describe_log(data_dir: Path) -> dict[str, Any]:
    """What build_log reports, read from a log built earlier (its build time unknown)."""
    if not (data_dir / "temoin.db").is_file():
        raise SystemExit(f"--big-log: no archive database in {data_dir}")
    arc = Archive(archive_settings(data_dir))
    try:
        with arc.db.sessions() as session:
            size = log_service.tree_size(session)
            checkpoints = session.scalar(select(func.count()).select_from(Checkpoint))
            items = session.scalar(select(func.count()).select_from(Item))
    finally:
        arc.close()
    return {
        "events": size,
        "generated_events": None,
        "items": items,
        "checkpoints": checkpoints,
        "build_seconds": None,
        "database_bytes": (data_dir / "temoin.db").stat().st_size,
    }


# ---------------------------------------------------------------- 2. audit vs raw verify


def _audit_child(data_dir: str, profile: bool) -> dict[str, Any]:
    """In a fresh process, so that its peak memory is the audit's alone (its workers' is
    read from RUSAGE_CHILDREN once they have exited)."""
    arc = Archive(archive_settings(Path(data_dir)))
    profiler = cProfile.Profile() if profile else None
    try:
        if profiler:
            profiler.enable()
        start = time.perf_counter()
        report = audit(arc, workers=1 if profile else None)
        seconds = time.perf_counter() - start
        if profiler:
            profiler.disable()
    finally:
        arc.close()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "ok": report.ok,
        "events": report.events,
        "items": report.items,
        "blobs": report.blobs,
        "checkpoints": report.checkpoints,
        "findings": [str(f) for f in report.findings[:10]],
        "findings_count": len(report.findings),
        "seconds": seconds,
        "events_per_s": report.events / seconds,
        "workers": report.workers,
        "peak_rss_mb": rusage_mb(),
        "worker_peak_rss_mb": workers,
        "profile_cumulative": profile_top(profiler, "cumulative") if profiler else None,
        "profile_tottime": profile_top(profiler, "tottime") if profiler else None,
    }


def run_audit(data_dir: Path, *, profile: bool = False) -> dict[str, Any]:
    # Not a multiprocessing.Pool: its daemonic workers may not start the audit's own.
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        result: dict[str, Any] = pool.submit(_audit_child, str(data_dir), profile).result()
    return result


def profile_chunk(data_dir: Path, size: int) -> dict[str, Any]:
    """cProfile of one worker's task: the audit of the log's first full chunk."""
    arc = Archive(archive_settings(data_dir))
    try:
        checker = audit_service._Checker(arc.settings, arc.db.engine)
        chunk = min(audit_service.CHUNK_SIZE, 1 << (size.bit_length() - 1))
        task = audit_service._ChunkTask(
            first=0, size=chunk, limit=chunk, open_below=True, open_above=False, wanted=()
        )
        profiler = cProfile.Profile()
        profiler.enable()
        start = time.perf_counter()
        result = checker.check_chunk(task)
        seconds = time.perf_counter() - start
        profiler.disable()
    finally:
        arc.close()
    return {
        "events": result.events,
        "seconds_profiled": seconds,
        "profile_cumulative": profile_top(profiler, "cumulative"),
        "profile_tottime": profile_top(profiler, "tottime"),
    }


def _verify_worker(
    db: str, lo: int, hi: int, barrier: Any, results: Any
) -> None:  # pragma: no cover - child
    conn = sqlite3.connect(db)
    public = conn.execute("SELECT public_key FROM signing_keys").fetchall()
    assert len(public) == 1, "the benchmark archive has one signing key"
    key = Ed25519PublicKey.from_public_bytes(public[0][0])
    rows = conn.execute(
        "SELECT canonical, signature FROM custody_events WHERE log_index >= ? AND log_index < ?",
        (lo, hi),
    ).fetchall()
    conn.close()
    verify = key.verify
    barrier.wait()
    start = time.time()
    for canonical, signature in rows:
        verify(signature, canonical)
    results.put((len(rows), start, time.time()))


def raw_verify(db: Path, size: int, processes: int) -> dict[str, Any]:
    """Ed25519 verification of the stored signatures, split over ``processes`` cores; the
    rows are read before a barrier, so only verification is timed (wall clock)."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    bounds = [size * i // processes for i in range(processes + 1)]
    workers = [
        ctx.Process(
            target=_verify_worker, args=(str(db), bounds[i], bounds[i + 1], barrier, results)
        )
        for i in range(processes)
    ]
    for w in workers:
        w.start()
    outcome = [results.get() for _ in workers]
    for w in workers:
        w.join()
    verified = sum(n for n, _, _ in outcome)
    wall = max(e for _, _, e in outcome) - min(s for _, s, _ in outcome)
    return {"processes": processes, "signatures": verified, "seconds": wall,
            "verifies_per_s": verified / wall}  # fmt: skip


# ---------------------------------------------------------------- 3. inclusion proofs


def proof_latencies(small: Archive, big: Archive, count: int, seed: int) -> dict[str, Any]:
    """``inclusion_proof`` on both logs, one session per call as the API does, alternating."""
    sizes = {}
    for name, arc in (("small", small), ("big", big)):
        sizes[name] = log_service_size(arc)
    rng = random.Random(seed)
    times: dict[str, list[float]] = {"small": [], "big": []}
    checked = 0
    for i in range(count + 20):  # the first 20 warm up, not kept
        order = [("small", small), ("big", big)]
        if i % 2:
            order.reverse()
        for name, arc in order:
            size = sizes[name]
            index = rng.randrange(size)
            start = time.perf_counter()
            with arc.db.sessions() as session:
                proof = log_service.inclusion_proof(session, index, size)
            elapsed = (time.perf_counter() - start) * 1000
            if i >= 20:
                times[name].append(elapsed)
            merkle.verify_inclusion(
                leaf_hash=proof["leaf_hash"], index=index, tree_size=size,
                proof=proof["hashes"], root=proof["root_hash"],
            )  # fmt: skip
            checked += 1
    out: dict[str, Any] = {"proofs_each": count, "verified": checked}
    for name in ("small", "big"):
        out[name] = {
            "size": sizes[name],
            "p50_ms": percentile(times[name], 50),
            "p95_ms": percentile(times[name], 95),
        }
    out["ratio_p50"] = out["big"]["p50_ms"] / out["small"]["p50_ms"]
    out["ratio_p95"] = out["big"]["p95_ms"] / out["small"]["p95_ms"]
    return out


# ---------------------------------------------------------------- report


def print_report(result: dict[str, Any]) -> None:
    m = result["machine"]
    a, p = result["audit"], result["proofs"]
    headline = result["append"][f"import_batch_{result['args']['batches'][-1]}"]
    print()
    print(f"Témoin custody-log benchmark — {a['log']['events']} events in the big log")
    print(
        f"machine: {m['cpu_count']} CPUs, Python {m['python']}, cryptography {m['cryptography']}, "
        f"load {m['loadavg_at_start']} -> {m['loadavg_at_end']}"
    )
    print()
    print("Summary: each Témoin figure beside the raw one, measured in this run")
    print(f"  {'':<52}{'Témoin':>10}{'raw':>10}{'ratio':>8}  target")
    rows = [
        (
            f"append, batch import ({headline['events_per_unit_of_work']} events/unit of work)",
            f"{headline['temoin_events_per_s']:>10.0f}{headline['raw_signs_per_s']:>10.0f}",
            f"{headline['ratio_temoin_over_raw']:>8.3f}  >= 0.5 (raw: Ed25519 sign, 1 core)",
        ),
        (
            "  the same, beside raw signing on every core",
            f"{headline['temoin_events_per_s']:>10.0f}"
            f"{headline['raw_signs_every_core_per_s']:>10.0f}",
            f"{headline['ratio_temoin_over_raw_every_core']:>8.3f}  (raw: {CORES} threads; "
            "Témoin's batch signs on every core too)",
        ),
        (
            f"audit of {a['temoin']['events']} events ({a['temoin']['workers']} workers)",
            f"{a['temoin']['events_per_s']:>10.0f}{a['raw_rate']:>10.0f}",
            f"{a['ratio']:>8.3f}  >= 0.8 (raw: Ed25519 verify, "
            f"{a['raw_before']['processes']} cores)",
        ),
        (
            f"inclusion proof p50 (ms), {p['big']['size']} vs {p['small']['size']} events",
            f"{p['big']['p50_ms']:>10.3f}{p['small']['p50_ms']:>10.3f}",
            f"{p['ratio_p50']:>8.2f}  <= 2",
        ),
    ]
    for label, figures, ratio in rows:
        print(f"  {label:<52}{figures}{ratio}")
    print()
    print("1. Append rate (events/s), beside raw Ed25519 signing of the same bytes (1 core)")
    print(f"  {'':<48}{'Témoin':>10}{'raw sign':>10}{'ratio':>8}{'CPU ratio':>11}"
          f"{'raw, all cores':>16}{'ratio':>8}")  # fmt: skip
    for r in result["append"].values():
        if not isinstance(r, dict):
            continue
        if "events_per_unit_of_work" in r:
            label = r["what"].split(":")[0] + f", {r['events_per_unit_of_work']} per unit of work"
            cpu = f"{r['ratio_cpu']:>11.3f}"
            if "raw_signs_every_core_per_s" in r:
                cpu += (
                    f"{r['raw_signs_every_core_per_s']:>16.0f}"
                    f"{r['ratio_temoin_over_raw_every_core']:>8.3f}"
                )
        else:
            label, cpu = f"full import (ingest_text+publish), {r['items']} items", ""
        print(
            f"  {label:<48}{r['temoin_events_per_s']:>10.0f}{r['raw_signs_per_s']:>10.0f}"
            f"{r['ratio_temoin_over_raw']:>8.3f}{cpu}"
        )
    print(f"\n  cProfile of one batch-import unit of work, top {PROFILE_TOP} by own time:")
    print(_trim_profile(result["append"]["profile_tottime"]))
    t = a["temoin"]
    print(
        f"2. Audit of {t['events']} events (archive.services.audit.audit, {t['workers']} workers)"
    )
    print(
        f"  audit: {t['seconds']:.1f} s, {t['events_per_s']:.0f} events/s, ok={t['ok']}, "
        f"peak RSS {t['peak_rss_mb']:.0f} MB (largest worker {t['worker_peak_rss_mb']:.0f} MB)"
    )
    for tag in ("raw_before", "raw_after"):
        r = a[tag]
        print(
            f"  raw Ed25519 verify, {r['processes']} processes ({tag[4:]}): "
            f"{r['verifies_per_s']:.0f}/s"
        )
    print(f"  raw verify, 1 process: {a['raw_one_core']['verifies_per_s']:.0f}/s")
    print(
        f"  ratio audit / raw ({a['raw_before']['processes']} cores): {a['ratio']:.3f}  "
        f"(target >= 0.8);  audit / raw 1 core: {a['ratio_one_core']:.3f}"
    )
    print(
        f"  build of the log through the batch path: {a['log']['build_seconds'] or 0:.0f} s"
        f"{' (an earlier run)' if a['log']['build_seconds'] is None else ''}, "
        f"{a['log']['database_bytes'] / 1e6:.0f} MB of SQLite"
    )
    c = a["profile_chunk"]
    print(
        f"\n  cProfile of one worker task ({c['events']} events, one chunk), top {PROFILE_TOP} "
        "by own time:"
    )
    print(_trim_profile(c["profile_tottime"]))
    print(f"3. Inclusion proof latency (ms), {p['proofs_each']} random indexes each")
    print(f"  {'log size':<12}{'p50':>8}{'p95':>8}")
    for name in ("small", "big"):
        print(f"  {p[name]['size']:<12}{p[name]['p50_ms']:>8.3f}{p[name]['p95_ms']:>8.3f}")
    print(f"  ratio big / small: p50 {p['ratio_p50']:.2f}, p95 {p['ratio_p95']:.2f} (target <= 2)")


def _trim_profile(text: str) -> str:
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join("  " + line for line in lines[start:] if line.strip()) + "\n"


def parse_batches(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.custody", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="big log size (1000000)")
    parser.add_argument("--small", type=int, default=1_000, help="small log size (1000)")
    parser.add_argument(
        "--append-events", type=int, default=8_000,
        help="events appended per batch size (8000)",
    )  # fmt: skip
    parser.add_argument(
        "--batches", type=parse_batches, default=[200, 800],
        help="events per unit of work, comma-separated; the last is the headline (200,800)",
    )  # fmt: skip
    parser.add_argument(
        "--import-items", type=int, default=400,
        help="testimonies through ingest_text + publish_item, 0 to skip (400)",
    )  # fmt: skip
    parser.add_argument("--proofs", type=int, default=500, help="proofs per log size (500)")
    parser.add_argument(
        "--checkpoint-items", type=int, default=200,
        help="items per unit of work (and signed checkpoint) building the logs (200)",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1,
        help="processes for raw verification (all cores, as the audit uses)",
    )  # fmt: skip
    parser.add_argument(
        "--precheck", action="store_true", help="untimed audit of the big log first"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="JSON results dir")
    parser.add_argument("--seed", type=int, default=20220327)
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir afterwards")
    parser.add_argument(
        "--big-log", type=Path,
        help="a data dir holding a big log built earlier (kept with --keep, or by "
        "build_log): audited and proved instead of building one; --events is then unused",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if min(args.events, args.small, args.append_events, args.proofs, args.workers) < 1:
        parser.error("sizes and counts must be positive")

    info = machine_info()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="temoin-bench-custody-"))
    work.mkdir(parents=True, exist_ok=True)
    log(f"working in {work}")
    result: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": info,
    }
    arcs: list[Archive] = []
    try:
        log("1. append rate…")
        arc, person_ids = setup_archive(work / "append")
        arcs.append(arc)
        result["append"] = run_append(arc, person_ids, args)

        log(f"2. building the small log ({args.small} events)…")
        small_dir, big_dir = work / "small", work / "big"
        small_log = build_log(small_dir, args.small, args)
        log("   audit of the small log (must be ok before anything is timed)…")
        small_audit = run_audit(small_dir, profile=True)
        if not small_audit["ok"]:
            raise SystemExit(f"audit of the generated log failed: {small_audit['findings']}")
        if args.big_log is not None:
            big_dir = args.big_log
            big_log = describe_log(big_dir)
            log(f"   reusing the big log in {big_dir} ({big_log['events']} events)")
        else:
            log(f"   building the big log ({args.events} events) through the batch path…")
            big_log = build_log(big_dir, args.events, args)
            log(f"   built in {big_log['build_seconds']:.0f} s")
        if args.precheck:
            log("   untimed audit of the big log…")
            pre = run_audit(big_dir)
            if not pre["ok"]:
                raise SystemExit(f"audit of the big log failed: {pre['findings']}")
        db = big_dir / "temoin.db"
        size = big_log["events"]
        log("   raw verification, all cores…")
        raw_before = raw_verify(db, size, args.workers)
        raw_one = raw_verify(db, min(size, 50_000), 1)
        log("   audit (timed)…")
        timed = run_audit(big_dir)
        log(f"   audit: {timed['events_per_s']:.0f} events/s, ok={timed['ok']}")
        raw_after = raw_verify(db, size, args.workers)
        raw_rate = (raw_before["verifies_per_s"] + raw_after["verifies_per_s"]) / 2
        result["audit"] = {
            "log": big_log,
            "small_log": small_log,
            "temoin": timed,
            "raw_before": raw_before,
            "raw_after": raw_after,
            "raw_rate": raw_rate,
            "raw_one_core": raw_one,
            "ratio": timed["events_per_s"] / raw_rate,
            "ratio_one_core": timed["events_per_s"] / raw_one["verifies_per_s"],
            "profile_small": small_audit,
            "profile_chunk": profile_chunk(big_dir, size),
        }
        if not timed["ok"]:
            log(f"WARNING: the timed audit found problems: {timed['findings']}")

        log("3. inclusion proofs…")
        small_arc = Archive(archive_settings(small_dir))
        big_arc = Archive(archive_settings(big_dir))
        arcs += [small_arc, big_arc]
        result["proofs"] = proof_latencies(small_arc, big_arc, args.proofs, args.seed)
    finally:
        for arc in arcs:
            arc.close()
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    info["loadavg_at_end"] = list(os.getloadavg())
    result["main_process_peak_rss_mb"] = rusage_mb()
    print_report(result)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = args.out / f"custody-e{args.events}-{stamp}.json"
    text = json.dumps(result, indent=2, ensure_ascii=False, default=str)
    path.write_text(text + "\n")
    (args.out / "custody-latest.json").write_text(text + "\n")
    print(f"\nresults written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
