"""Custody log benchmarks: append rate, audit rate and inclusion-proof latency, each beside
the raw cryptography (or the same call on a small log) measured in the same run.

    python -m bench.custody [--events 1000000] [--append-events 4000] [--proofs 500]
    python -m bench.custody --events 20000 --append-events 1000 --import-items 0   # quick

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
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, insert, select, update

from archive.config import Settings
from archive.models import Blob, Case, Checkpoint, CustodyEvent, Item, LogNode, LogState, utcnow
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
from evidence.checkpoint import Checkpoint as CheckpointText
from evidence.checkpoint import sign_checkpoint
from evidence.custody import event_bytes, event_digest, make_event, sign_event
from evidence.digest import Digest
from evidence.signing import SigningKey

#: The events an imported and published testimony gets, in order (see archive.services.items).
LIFECYCLE = ("collected", "ingested", "redacted", "published")
BASE_TIME = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
PROFILE_TOP = 15


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
    body = " ".join(rng.choice(words) for _ in range(rng.randint(40, 80)))
    return f"Testimony {number}: {body}.".encode()


def profile_top(profiler: cProfile.Profile, order: str, count: int = PROFILE_TOP) -> str:
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(count)
    return text.getvalue()


def rusage_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def timed_sign(key: Ed25519PrivateKey, messages: list[bytes]) -> float:
    sign = key.sign
    start = time.perf_counter()
    for message in messages:
        sign(message)
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


def append_batch(arc: Archive, item_ids: list[int]) -> tuple[float, float]:
    """One unit of work: every item gets its four lifecycle events through append_event.
    Returns (service work, seal + commit) in seconds."""
    start = time.perf_counter()
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
    return body_done - start, time.perf_counter() - body_done


def canonical_since(arc: Archive, start: int) -> list[bytes]:
    with arc.db.sessions() as session:
        return list(
            session.scalars(
                select(CustodyEvent.canonical)
                .where(CustodyEvent.log_index >= start)
                .order_by(CustodyEvent.log_index)
            )
        )


def run_append(
    arc: Archive, person_ids: dict[int, int], args: argparse.Namespace
) -> dict[str, Any]:
    """Témoin unit-of-work batches alternate with raw signing of the very same bytes."""
    rng = random.Random(args.seed)
    raw_key = Ed25519PrivateKey.generate()
    report: dict[str, Any] = {}
    for batch_events in args.batches:
        per_batch = max(1, batch_events // len(LIFECYCLE))
        batches = max(1, args.append_events // (per_batch * len(LIFECYCLE)))
        ids = make_items(arc, per_batch * batches, rng)
        work = seal = raw = 0.0
        events = 0
        for b in range(batches):
            start = log_service_size(arc)
            w, s = append_batch(arc, ids[b * per_batch : (b + 1) * per_batch])
            messages = canonical_since(arc, start)
            work, seal, events = work + w, seal + s, events + len(messages)
            raw += timed_sign(raw_key, messages)
        total = work + seal
        report[f"custody_batch_{per_batch * len(LIFECYCLE)}"] = {
            "what": "append_event x4 per item in arc.unit_of_work(), seal_batch + commit",
            "events": events,
            "events_per_unit_of_work": per_batch * len(LIFECYCLE),
            "temoin_seconds": total,
            "temoin_service_seconds": work,
            "temoin_seal_and_commit_seconds": seal,
            "temoin_events_per_s": events / total,
            "raw_sign_seconds": raw,
            "raw_signs_per_s": events / raw,
            "ratio_temoin_over_raw": (events / total) / (events / raw),
        }
        r = report[f"custody_batch_{per_batch * len(LIFECYCLE)}"]
        log(
            f"  append, {r['events_per_unit_of_work']} events per unit of work: "
            f"Témoin {r['temoin_events_per_s']:.0f} events/s, raw sign {r['raw_signs_per_s']:.0f}/s"
            f" -> ratio {r['ratio_temoin_over_raw']:.3f}"
        )

    if args.import_items:
        docs = generate(args.import_items, seed=args.seed)
        t_total = raw = 0.0
        events = 0
        for i in range(0, len(docs), 200):
            start = log_service_size(arc)
            w, s = ingest_temoin_batch(arc, person_ids, docs[i : i + 200])
            messages = canonical_since(arc, start)
            t_total, events = t_total + w + s, events + len(messages)
            raw += timed_sign(raw_key, messages)
        report["import_ingest_text_publish"] = {
            "what": "bench.run's import batch of 200: ingest_text + publish_item, blobs, "
            "redaction and both indexes included",
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
            f"  import (ingest_text+publish): Témoin {r['temoin_events_per_s']:.0f} events/s, "
            f"raw sign {r['raw_signs_per_s']:.0f}/s -> ratio {r['ratio_temoin_over_raw']:.4f}"
        )

    # Where the time goes: one profiled unit of work of the first batch size.
    per_batch = max(1, args.batches[0] // len(LIFECYCLE))
    ids = make_items(arc, per_batch, rng)
    profiler = cProfile.Profile()
    profiler.enable()
    append_batch(arc, ids)
    profiler.disable()
    args.out.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(args.out / "profile-custody-append.pstats")
    report["profile_cumulative"] = profile_top(profiler, "cumulative")
    report["profile_tottime"] = profile_top(profiler, "tottime")
    return report


def log_service_size(arc: Archive) -> int:
    with arc.db.sessions() as session:
        return log_service.tree_size(session)


# ---------------------------------------------------------------- building a big log fast


def _generate_chunk(
    task: tuple[bytes, str, str, int, int, int, int],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Worker: ``count`` items from ``first``, their blobs on disk and their signed events
    (evidence.custody make_event / sign_event), as rows for the bulk insert."""
    pem, key_name, blob_root, case_id, first, count, events_left = task
    key = SigningKey.from_pem(pem, name=key_name)
    key_id = key.key_id_hex
    from archive.services.blobs import BlobStore

    store = BlobStore(Path(blob_root))
    blobs: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for number in range(first, first + count):
        rng = random.Random(number)
        data = synthetic_text(rng, number)
        digest = Digest.sha256(data)
        path = store.path_for(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        public = str(Digest.sha256(data.replace(b"Mopti", b"[place]")))
        uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        when = BASE_TIME + dt.timedelta(seconds=number, microseconds=rng.randint(1, 999_999))
        blobs.append(
            {
                "digest": str(digest),
                "size": len(data),
                "media_type": "text/plain; charset=utf-8",
                "created_at": when,
            }
        )
        item_id = number + 1_000_000_000  # remapped by the caller
        items.append(
            {
                "id": item_id, "uid": uid, "case_id": case_id, "kind": "testimony",
                "status": "published", "title": f"Testimony {number}", "language": "en",
                "person_id": None, "digest": str(digest), "filename": None, "event_date": None,
                "collected_at": None, "collected_by": None, "place": "Mopti region",
                "tags": ["killings"], "citation": None, "description": None,
                "public_text": data.decode().replace("Mopti", "[place]"),
                "public_title": f"Testimony {number}", "redaction_basis": public,
                "redacted_at": when, "published_at": when, "seed_key": None, "created_at": when,
            }
        )  # fmt: skip
        prev = None
        for seq, type_ in enumerate(LIFECYCLE[: min(len(LIFECYCLE), events_left)]):
            at = when + dt.timedelta(milliseconds=seq)
            details = event_details(
                type_, digest=str(digest), size=len(data), public=public,
                at=at.isoformat().replace("+00:00", "Z"),
            )  # fmt: skip
            event = make_event(
                case=CASE_SLUG, item=uid, seq=seq, type=type_, at=at, actor=ACTOR,
                item_digest=digest, details=details, prev=prev,
            )  # fmt: skip
            signed = sign_event(event, key)
            prev = event_digest(event)
            events.append(
                {
                    "item_id": item_id, "seq": seq, "type": type_, "at": at, "actor": ACTOR,
                    "canonical": event_bytes(event), "event_hash": str(prev),
                    "key_id": key_id, "signature": signed.signature,
                }
            )  # fmt: skip
        events_left -= len(LIFECYCLE)
    return blobs, items, events


def build_log(data_dir: Path, events: int, args: argparse.Namespace) -> dict[str, Any]:
    """An archive (init_archive) plus ``events`` custody events of published testimonies,
    written with bulk inserts: blobs on disk and in ``blobs``, ``items``, ``custody_events``,
    every ``log_nodes`` node, ``log_state``, and a checkpoint per import batch of
    ``args.checkpoint_items`` items, as the importer would have signed."""
    start = time.perf_counter()
    settings = archive_settings(data_dir)
    init_archive(settings)
    arc = Archive(settings)
    try:
        key = arc.signing_key
        with arc.unit_of_work() as session:
            case = Case(slug=CASE_SLUG, title="Benchmark case")
            session.add(case)
            session.flush()
            case_id = case.id
            state = session.get(LogState, 1)
            assert state is not None
            size = state.size
            edge = merkle.RightEdge(
                size, [state.edge[i : i + 32] for i in range(0, len(state.edge), 32)]
            )
            next_item = (session.scalar(select(func.max(Item.id))) or 0) + 1
        items_total = -(-events // len(LIFECYCLE))
        chunk = 500
        tasks = [
            (key.to_pem(), key.name, str(settings.blob_dir), case_id, first,
             min(chunk, items_total - first), events - first * len(LIFECYCLE))
            for first in range(0, items_total, chunk)
        ]  # fmt: skip
        per_checkpoint = args.checkpoint_items * len(LIFECYCLE)
        checkpoints = 0
        ctx = mp.get_context("spawn")
        with ctx.Pool(args.workers) as pool:
            for blobs, items, rows in pool.imap(_generate_chunk, tasks):
                remap = {}
                for item in items:
                    remap[item["id"]] = next_item
                    item["id"] = next_item
                    next_item += 1
                nodes: list[dict[str, Any]] = []
                signed: list[dict[str, Any]] = []
                for row in rows:
                    row["item_id"] = remap[row["item_id"]]
                    row["log_index"] = edge.size
                    for level, index, value in edge.append(merkle.leaf_hash(row["canonical"])):
                        nodes.append({"level": level, "index": index, "hash": value})
                    if edge.size % per_checkpoint == 0 or edge.size == size + events:
                        root = edge.root()
                        note = sign_checkpoint(
                            CheckpointText(origin=settings.log_origin, size=edge.size,
                                           root_hash=root), [key],
                        )  # fmt: skip
                        signed.append(
                            {"size": edge.size, "root_hash": root, "note": note,
                             "key_id": key.key_id_hex, "created_at": rows[-1]["at"]}
                        )  # fmt: skip
                with arc.db.engine.begin() as conn:
                    conn.execute(insert(Blob), blobs)
                    conn.execute(insert(Item), items)
                    conn.execute(insert(CustodyEvent), rows)
                    conn.execute(insert(LogNode), nodes)
                    if signed:
                        conn.execute(insert(Checkpoint), signed)
                    conn.execute(
                        update(LogState)
                        .where(LogState.id == 1)
                        .values(size=edge.size, edge=b"".join(edge.hashes))
                    )
                checkpoints += len(signed)
                if edge.size // 100_000 != (edge.size - len(rows)) // 100_000:
                    log(f"    built {edge.size:>9} events")
        return {
            "events": edge.size,
            "generated_events": events,
            "items": items_total,
            "checkpoints_added": checkpoints,
            "build_seconds": time.perf_counter() - start,
            "database_bytes": (data_dir / "temoin.db").stat().st_size,
        }
    finally:
        arc.close()


# ---------------------------------------------------------------- 2. audit vs raw verify


def _audit_child(data_dir: str, profile: bool) -> dict[str, Any]:
    """In a fresh process, so that its peak memory is the audit's alone."""
    arc = Archive(archive_settings(Path(data_dir)))
    profiler = cProfile.Profile() if profile else None
    try:
        if profiler:
            profiler.enable()
        start = time.perf_counter()
        report = audit(arc)
        seconds = time.perf_counter() - start
        if profiler:
            profiler.disable()
    finally:
        arc.close()
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
        "peak_rss_mb": rusage_mb(),
        "profile_cumulative": profile_top(profiler, "cumulative") if profiler else None,
        "profile_tottime": profile_top(profiler, "tottime") if profiler else None,
    }


def run_audit(data_dir: Path, *, profile: bool = False) -> dict[str, Any]:
    with mp.get_context("spawn").Pool(1) as pool:
        result: dict[str, Any] = pool.apply(_audit_child, (str(data_dir), profile))
    return result


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
    print()
    print(
        f"Témoin custody-log benchmark — {result['audit']['log']['events']} events in the big log"
    )
    print(
        f"machine: {m['cpu_count']} CPUs, Python {m['python']}, cryptography {m['cryptography']}, "
        f"load {m['loadavg_at_start']} -> {m['loadavg_at_end']}"
    )
    print()
    print("1. Append rate (events/s), beside raw Ed25519 signing of the same bytes (1 core)")
    print(f"  {'':<44}{'Témoin':>10}{'raw sign':>10}{'ratio':>8}")
    for r in result["append"].values():
        if not isinstance(r, dict):
            continue
        label = (
            f"append_event, {r['events_per_unit_of_work']} per unit of work"
            if "events_per_unit_of_work" in r
            else f"import (ingest_text+publish), {r['items']} items"
        )
        print(
            f"  {label:<44}{r['temoin_events_per_s']:>10.0f}{r['raw_signs_per_s']:>10.0f}"
            f"{r['ratio_temoin_over_raw']:>8.3f}"
        )
    print("  target: ratio >= 0.5 for append_event")
    print(f"\n  cProfile of one append unit of work, top {PROFILE_TOP} cumulative:")
    print(_trim_profile(result["append"]["profile_cumulative"]))
    a = result["audit"]
    print(f"2. Audit of {a['temoin']['events']} events (archive.services.audit.audit, 1 process)")
    print(
        f"  audit: {a['temoin']['seconds']:.1f} s, {a['temoin']['events_per_s']:.0f} events/s, "
        f"ok={a['temoin']['ok']}, peak RSS {a['temoin']['peak_rss_mb']:.0f} MB"
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
        f"  build of the log: {a['log']['build_seconds']:.0f} s, "
        f"{a['log']['database_bytes'] / 1e6:.0f} MB of SQLite"
    )
    print(f"\n  cProfile of audit on the small log, top {PROFILE_TOP} cumulative:")
    print(_trim_profile(a["profile_small"]["profile_cumulative"]))
    p = result["proofs"]
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
        "--append-events", type=int, default=4_000, help="events appended per batch size (4000)"
    )
    parser.add_argument(
        "--batches", type=parse_batches, default=[200, 500],
        help="events per unit of work, comma-separated (200,500)",
    )  # fmt: skip
    parser.add_argument(
        "--import-items", type=int, default=400,
        help="testimonies through ingest_text + publish_item, 0 to skip (400)",
    )  # fmt: skip
    parser.add_argument("--proofs", type=int, default=500, help="proofs per log size (500)")
    parser.add_argument(
        "--checkpoint-items", type=int, default=200, help="items per signed checkpoint (200)"
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1,
        help="processes for building the log and for raw verification (all cores)",
    )  # fmt: skip
    parser.add_argument(
        "--precheck", action="store_true", help="untimed audit of the big log first"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="JSON results dir")
    parser.add_argument("--seed", type=int, default=20220327)
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir afterwards")
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
        log(f"   building the big log ({args.events} events, {args.workers} processes)…")
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
            "raw_one_core": raw_one,
            "ratio": timed["events_per_s"] / raw_rate,
            "ratio_one_core": timed["events_per_s"] / raw_one["verifies_per_s"],
            "profile_small": small_audit,
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
