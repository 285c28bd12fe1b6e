"""`temoin audit`: recompute every digest, signature and chain link from stored rows and blobs.

What is checked: every blob file against its digest and size; every custody event (its
bytes are RFC 8785 canonical JSON of the v1 schema, hash to the recorded event hash, agree
with the row's item, seq and type and with the item's case and digest, and carry a valid
signature over exactly those bytes by a known key); each item's events, in log order, form
its hash chain from seq 0; the log's events are one gap-free sequence whose Merkle tree
has every stored node, the stored right edge and the root of every signed checkpoint.

The work is split so that it runs on every core with bounded memory. The log is cut into
chunks of ``chunk_size`` leaves (a power of two), each read and checked by a worker
process straight from the database: its events, the chain links between its own events,
and its whole subtrees against the stored nodes. The main process joins the chunks in log
order: the chain links across chunks (it keeps one (seq, hash) per item), the nodes above
the chunks, and the roots at each checkpoint's size. Blobs are checked in ranges of
digests by the same workers. A small archive is checked in this process, the same way.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import ClauseElement, Connection, Engine, and_, func, or_, select
from sqlalchemy.orm import Session

from archive.config import Settings
from archive.db import make_engine
from archive.models import (
    Blob,
    Case,
    Checkpoint,
    CustodyEvent,
    Item,
    LogNode,
    LogState,
    SigningKeyRecord,
)
from archive.services.blobs import BlobStore
from archive.services.runtime import Archive
from evidence import merkle
from evidence.checkpoint import open_checkpoint
from evidence.custody import read_events, verify_stored_signature
from evidence.digest import CHUNK_SIZE as CHUNK
from evidence.digest import Digest, DigestWriter
from evidence.errors import VerificationError
from evidence.signing import VerifierKey

WITHHELD = ("sealed", "published")
#: Leaves per chunk of the log: a power of two, so that each chunk holds whole subtrees.
CHUNK_SIZE = 1 << 13
#: Below this many events the audit runs in this process (starting workers costs more).
PARALLEL_FROM = 20_000
_BLOBS_PER_TASK = 4_000


@dataclass(frozen=True, kw_only=True)
class Finding:
    record: str
    problem: str

    def __str__(self) -> str:
        return f"{self.record}: {self.problem}"


@dataclass
class AuditReport:
    blobs: int = 0
    events: int = 0
    items: int = 0
    checkpoints: int = 0
    workers: int = 1  # processes that checked the events (1: this one)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


# ---------------------------------------------------------------- what a worker returns


class _EventRow(NamedTuple):
    """A custody event as the chunk query reads it (``_check_events`` unpacks it)."""

    id: int
    item_id: int
    seq: int
    log_index: int
    type: str
    canonical: bytes
    event_hash: str
    key_id: str
    signature: bytes
    uid: str | None
    digest: str | None
    slug: str | None


class _NodeRow(NamedTuple):
    level: int
    node: int  # its index within its level
    hash: bytes


def _fetch(conn: Connection, query: ClauseElement) -> list[Any]:
    """The query's rows as the driver gives them, as plain tuples: SQLAlchemy's own rows
    cost more than the rest of reading a chunk. (Its parameters are integers, written
    into the SQL as literals.)"""
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


class _Run(NamedTuple):
    """One item's events within one chunk, in log order: what the chain across chunks needs."""

    item_id: int
    uid: str
    first_seq: object
    first_prev: object
    first_where: str
    last_seq: int
    last_hash: str
    error: str | None  # the first broken link inside the chunk
    broken: bool  # an event could not be read or verified: its chain is not judged


@dataclass(frozen=True, kw_only=True)
class _ChunkTask:
    first: int  # log index of the chunk's first leaf, a multiple of size
    size: int
    limit: int  # leaves of the chunk in the log as the audit found it (size, but the last)
    open_below: bool  # also read events whose log index is below first
    open_above: bool  # also read events whose log index is at or past first + size
    wanted: tuple[int, ...]  # leaf counts within the chunk whose right edge is wanted


@dataclass(kw_only=True)
class _ChunkResult:
    events: int = 0
    findings: list[tuple[tuple[int, int, int], Finding]] = field(default_factory=list)
    runs: list[_Run] = field(default_factory=list)
    leaves: int = 0  # leaves of the chunk in place before a gap (or all of them)
    gap: tuple[int, int | None] | None = None  # (missing log index, next stored one)
    node_findings: list[Finding] = field(default_factory=list)
    present: int = 0  # recomputed nodes that have a stored row
    root: bytes | None = None  # the chunk's subtree hash, when the chunk is full
    last_leaf: str = ""  # "leaf N: uid#seq" of the chunk's last leaf
    edges: dict[int, tuple[bytes, ...]] = field(default_factory=dict)


# ---------------------------------------------------------------- the checker


class _Checker:
    """Checks chunks of events and ranges of blobs; one per worker process."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.engine = engine if engine is not None else make_engine(settings.database_url)
        self.own_engine = engine is None
        self.blobs = BlobStore(settings.blob_dir)
        with Session(self.engine) as session:
            self.keys = {
                k.key_id: VerifierKey(name=k.name, public_key=k.public_key)
                for k in session.scalars(select(SigningKeyRecord))
            }

    def close(self) -> None:
        if self.own_engine:
            self.engine.dispose()

    def check_blobs(self, low: str | None, high: str | None) -> tuple[int, list[Finding]]:
        query = select(Blob.digest, Blob.size).order_by(Blob.digest)
        if low is not None:
            query = query.where(Blob.digest >= low)
        if high is not None:
            query = query.where(Blob.digest < high)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        findings: list[Finding] = []
        for digest, size in rows:
            findings.extend(_check_blob(self.blobs, digest, size))
        return len(rows), findings

    def check_chunk(self, task: _ChunkTask) -> _ChunkResult:
        first, end = task.first, task.first + task.size
        query = (
            select(
                CustodyEvent.id,
                CustodyEvent.item_id,
                CustodyEvent.seq,
                CustodyEvent.log_index,
                CustodyEvent.type,
                CustodyEvent.canonical,
                CustodyEvent.event_hash,
                CustodyEvent.key_id,
                CustodyEvent.signature,
                Item.uid,
                Item.digest,
                Case.slug,
            )
            .select_from(CustodyEvent)
            .outerjoin(Item, Item.id == CustodyEvent.item_id)
            .outerjoin(Case, Case.id == Item.case_id)
            .order_by(CustodyEvent.log_index)
        )
        if not task.open_below:
            query = query.where(CustodyEvent.log_index >= first)
        if not task.open_above:
            query = query.where(CustodyEvent.log_index < end)
        height = task.size.bit_length() - 1
        node_query = select(LogNode.level, LogNode.index, LogNode.hash).where(
            or_(
                *(
                    and_(
                        LogNode.level == level,
                        LogNode.index >= first >> level,
                        LogNode.index < end >> level,
                    )
                    for level in range(height + 1)
                )
            )
        )
        with self.engine.connect() as conn:
            rows = list(map(_EventRow._make, _fetch(conn, query)))
            nodes = list(
                map(_NodeRow._make, _fetch(conn, node_query.order_by(LogNode.level, LogNode.index)))
            )
        result = _ChunkResult(events=len(rows))
        if not _check_full_tree(task, rows, nodes, result):
            stored = {(level, index): value for level, index, value in nodes}
            self._check_tree(task, rows, stored, result)
        self._check_events(rows, result)
        return result

    def _check_tree(
        self,
        task: _ChunkTask,
        rows: Sequence[Any],
        stored: dict[tuple[int, int], bytes],
        result: _ChunkResult,
    ) -> None:
        """The chunk's leaves, from its first index on, until a gap: every whole subtree
        against its stored node, and the right edge where a checkpoint wants it."""
        edge = merkle.RightEdge()
        wanted = set(task.wanted)
        first = task.first
        leaf_hash = merkle.leaf_hash
        for row in rows:
            if edge.size == task.limit:
                # A full chunk: a later row is a gap an earlier chunk names, or (in the
                # last chunk) an event appended since the audit began, not audited.
                break
            log_index = row.log_index
            if log_index != first + edge.size:
                result.gap = (first + edge.size, log_index)
                break
            for level, index, value in edge.append(leaf_hash(row.canonical)):
                node = index + (first >> level)
                found = stored.get((level, node))
                if found is not None:
                    result.present += 1
                if found != value:
                    result.node_findings.append(
                        Finding(
                            record=f"custody log node ({level}, {node})",
                            problem="stored node does not match the events "
                            f"(leaf {log_index}: {row.uid or row.item_id}#{row.seq})",
                        )
                    )
            if edge.size in wanted:
                result.edges[edge.size] = edge.hashes
            result.last_leaf = f"leaf {log_index}: {row.uid or row.item_id}#{row.seq}"
        result.leaves = edge.size
        if result.gap is None:
            if edge.size == task.size:
                result.root = edge.root()
            elif edge.size < task.limit:  # the chunk ends early: events are missing
                result.gap = (first + edge.size, None)

    def _check_events(self, rows: Sequence[Any], result: _ChunkResult) -> None:
        keys = self.keys
        # Keys whose id is what they are listed under: their signatures are checked here
        # directly; any other key id goes through verify_stored_signature for its message.
        direct = {key_id: key for key_id, key in keys.items() if key.key_id_hex == key_id}
        sha256 = hashlib.sha256
        runs: dict[int, dict[str, Any]] = {}
        findings = result.findings
        # The chunk's events are parsed and their canonical form checked together.
        events = read_events([row[5] for row in rows])
        for row, event in zip(rows, events, strict=True):
            (
                row_id,
                item_id,
                seq,
                _index,
                type_,
                canonical,
                stored_hash,
                key_id,
                signature,
                uid,
                digest,
                slug,
            ) = row
            if uid is None:
                findings.append(
                    (
                        (item_id, seq, row_id),
                        Finding(
                            record=f"custody event row {row_id}",
                            problem=f"belongs to no item (item id {item_id})",
                        ),
                    )
                )
                continue
            if isinstance(event, VerificationError):
                findings.append(_event_finding(row, str(event)))
                _mark_broken(runs, item_id, uid)
                continue
            event_hash = "sha256:" + sha256(canonical).hexdigest()
            if event_hash != stored_hash:
                findings.append(
                    _event_finding(row, "stored bytes do not hash to the recorded event hash")
                )
            if event["item"] != uid or event["seq"] != seq or event["type"] != type_:
                findings.append(_event_finding(row, "columns disagree with the signed event"))
            if event["case"] != slug:
                findings.append(
                    _event_finding(
                        row, f"signed case {event['case']!r} is not the item's case {slug!r}"
                    )
                )
            # `sealed` and `published` events of text items withhold the digest (they may
            # be shown in public); every other event must name it.
            signed_digest = event["item_digest"]
            if signed_digest != digest and not (
                signed_digest is None and event["type"] in WITHHELD
            ):
                findings.append(
                    _event_finding(row, "signed item digest differs from the item's digest")
                )
            key = direct.get(key_id)
            try:
                if key is None:
                    verify_stored_signature(
                        canonical, event, key_id=key_id, signature=signature, keys=keys
                    )
                else:
                    key.verify(signature, canonical)
            except VerificationError as exc:
                problem = str(exc) if key is None else f"{_where(event)}: {exc}"
                findings.append(_event_finding(row, problem))
                _mark_broken(runs, item_id, uid)
                continue
            run = runs.get(item_id)
            if run is None:
                runs[item_id] = {
                    "uid": uid,
                    "first_seq": event["seq"],
                    "first_prev": event["prev"],
                    "first_where": _where(event),
                    "last_seq": event["seq"],
                    "last_hash": event_hash,
                    "error": None,
                    "broken": False,
                }
                continue
            if run["broken"] or run["error"] is not None:
                continue
            if event["seq"] != run["last_seq"] + 1:
                run["error"] = (
                    f"{_where(event)}: expected seq {run['last_seq'] + 1}, got {event['seq']!r}"
                )
            elif event["prev"] != run["last_hash"]:
                run["error"] = (
                    f"{_where(event)}: prev is {event['prev']!r}, expected {run['last_hash']!r}"
                )
            run["last_seq"], run["last_hash"] = event["seq"], event_hash
        result.runs = [_Run(item_id=i, **run) for i, run in runs.items()]


def _check_full_tree(
    task: _ChunkTask, rows: Sequence[Any], nodes: Sequence[Any], result: _ChunkResult
) -> bool:
    """The common case of :meth:`_Checker._check_tree`, level by level: a full chunk whose
    leaves are all in place and whose stored nodes are all there and all right. Returns
    False, having recorded nothing, when that is not so: the leaf-by-leaf check then says
    what is wrong and where."""
    size, first = task.size, task.first
    if task.limit != size or len(rows) < size:
        return False
    if rows[0].log_index != first or rows[size - 1].log_index != first + size - 1:
        return False  # log indexes are unique and in order: so these are all of them
    leaf_hash, node_hash = merkle.leaf_hash, merkle.node_hash
    level_hashes = [leaf_hash(row.canonical) for row in rows[:size]]
    levels = [level_hashes]
    while len(level_hashes) > 1:
        level_hashes = [
            node_hash(level_hashes[i], level_hashes[i + 1]) for i in range(0, len(level_hashes), 2)
        ]
        levels.append(level_hashes)
    # The stored nodes, ordered by level and index, must be exactly these, level by level.
    at = 0
    for level, computed in enumerate(levels):
        count = len(computed)
        part = nodes[at : at + count]
        base = first >> level
        if (
            len(part) != count
            or part[0].level != level
            or part[-1].level != level
            or part[0].node != base
            or part[-1].node != base + count - 1
            or [node.hash for node in part] != computed
        ):
            return False
        at += count
    if at != len(nodes):
        return False
    result.present = at
    result.leaves = size
    result.root = levels[-1][0]
    last = rows[size - 1]
    result.last_leaf = f"leaf {last.log_index}: {last.uid or last.item_id}#{last.seq}"
    for wanted in task.wanted:
        if 0 < wanted < size:  # a full chunk's own root is result.root
            hashes, start = [], 0
            for level in reversed(range(wanted.bit_length())):
                if wanted >> level & 1:
                    hashes.append(levels[level][start >> level])
                    start += 1 << level
            result.edges[wanted] = tuple(hashes)
        elif wanted == size:
            result.edges[wanted] = (result.root,)
    return True


def _where(event: dict[str, object]) -> str:
    return f"item {event['item']!r} seq {event['seq']!r}"


def _event_finding(row: Any, problem: str) -> tuple[tuple[int, int, int], Finding]:
    """A finding about the event of ``row``, ordered by (item id, seq, row id)."""
    row_id, item_id, seq = row[0], row[1], row[2]
    return (
        (item_id, seq, row_id),
        Finding(record=f"custody event {row[9]}#{seq} (row {row_id})", problem=problem),
    )


def _mark_broken(runs: dict[int, dict[str, Any]], item_id: int, uid: str) -> None:
    run = runs.get(item_id)
    if run is None:
        runs[item_id] = {
            "uid": uid,
            "first_seq": None,
            "first_prev": None,
            "first_where": "",
            "last_seq": -1,
            "last_hash": "",
            "error": None,
            "broken": True,
        }
    else:
        run["broken"] = True


def _check_blob(store: BlobStore, digest: str, size: int) -> Iterator[Finding]:
    record = f"blob {digest}"
    try:
        expected = Digest.parse(digest)
    except VerificationError as exc:
        yield Finding(record=record, problem=f"malformed digest: {exc}")
        return
    path = store.file_for(expected)
    writer = DigestWriter()
    try:
        with open(path, "rb") as handle:  # one open, no separate exists() or stat()
            on_disk = os.fstat(handle.fileno()).st_size
            while chunk := handle.read(CHUNK):
                writer.update(chunk)
    except FileNotFoundError:
        yield Finding(record=record, problem=f"file missing at {path}")
        return
    actual = writer.digest()
    if actual != expected:
        yield Finding(
            record=record, problem=f"content hashes to {actual}, not to its recorded digest"
        )
    elif on_disk != size:
        yield Finding(record=record, problem=f"size {on_disk} differs from recorded {size}")


# ---------------------------------------------------------------- worker processes

_WORKER: _Checker | None = None


def _start_worker(settings: Settings) -> None:  # pragma: no cover - runs in a worker
    global _WORKER
    _WORKER = _Checker(settings)


def _worker_chunk(task: _ChunkTask) -> _ChunkResult:  # pragma: no cover - runs in a worker
    assert _WORKER is not None
    return _WORKER.check_chunk(task)


def _worker_blobs(
    low: str | None, high: str | None
) -> tuple[int, list[Finding]]:  # pragma: no cover - runs in a worker
    assert _WORKER is not None
    return _WORKER.check_blobs(low, high)


def _blob_ranges(count: int) -> list[tuple[str | None, str | None]]:
    """Digest ranges of about _BLOBS_PER_TASK blobs each (digests are uniform hex); the
    first and last are open, so that a malformed digest falls in one too."""
    digits = 0
    while digits < 4 and count > _BLOBS_PER_TASK * 16**digits:
        digits += 1
    if digits == 0:
        return [(None, None)]
    bounds = [f"sha256:{n:0{digits}x}" for n in range(1, 16**digits)]
    return list(zip([None, *bounds], [*bounds, None], strict=True))


# ---------------------------------------------------------------- the audit


def audit(
    arc: Archive,
    *,
    workers: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int], None] | None = None,
) -> AuditReport:
    """Check everything; ``workers`` processes (default: every core for a large archive,
    this process alone for a small one)."""
    if chunk_size < 1 or chunk_size & (chunk_size - 1):
        raise ValueError("chunk_size must be a power of two")
    report = AuditReport()
    with arc.db.sessions() as session:
        # One snapshot for what the chunks are held against (SQLite's read transaction is
        # one already). Events appended while the audit runs lie past its log size, and
        # are not audited.
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        events = session.scalar(select(func.count()).select_from(CustodyEvent)) or 0
        blob_count = session.scalar(select(func.count()).select_from(Blob)) or 0
        report.items = session.scalar(select(func.count()).select_from(Item)) or 0
        checkpoints = list(session.scalars(select(Checkpoint).order_by(Checkpoint.size)))
        report.checkpoints = len(checkpoints)
        state = session.get(LogState, 1)
        node_count = session.scalar(select(func.count()).select_from(LogNode)) or 0
        height = chunk_size.bit_length() - 1
        upper_nodes = {
            (level, index): value
            for level, index, value in session.execute(
                select(LogNode.level, LogNode.index, LogNode.hash).where(LogNode.level > height)
            )
        }
        no_events = list(
            session.scalars(
                select(Item.uid)
                .where(~select(CustodyEvent.id).where(CustodyEvent.item_id == Item.id).exists())
                .order_by(Item.id)
            )
        )
    if workers is None:
        workers = (os.cpu_count() or 1) if events >= PARALLEL_FROM else 1
    report.workers = max(1, workers)
    wanted = sorted({c.size for c in checkpoints if 0 < c.size <= events} | {events})
    tasks = _chunk_tasks(events, chunk_size, wanted)
    joiner = _Joiner(chunk_size, upper_nodes)
    if workers <= 1:
        checker = _Checker(arc.settings, arc.db.engine)
        try:
            report.blobs, found = checker.check_blobs(None, None)
            report.findings.extend(found)
            for task in tasks:
                joiner.add(task, checker.check_chunk(task), progress)
        finally:
            checker.close()
    else:
        with ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(arc.settings,),
        ) as pool:
            blob_jobs: list[Future[tuple[int, list[Finding]]]] = [
                pool.submit(_worker_blobs, low, high) for low, high in _blob_ranges(blob_count)
            ]
            for task, result in zip(tasks, pool.map(_worker_chunk, tasks), strict=True):
                joiner.add(task, result, progress)
            for job in blob_jobs:
                count, found = job.result()
                report.blobs += count
                report.findings.extend(found)
    report.events = joiner.events
    report.findings.extend(joiner.item_findings())
    report.findings.extend(
        Finding(record=f"item {uid}", problem="has no custody events") for uid in no_events
    )
    with arc.db.sessions() as session:
        report.findings.extend(joiner.log_findings(session, node_count, state, checkpoints))
    return report


def _chunk_tasks(events: int, size: int, wanted: list[int]) -> list[_ChunkTask]:
    count = -(-events // size)
    return [
        _ChunkTask(
            first=k * size,
            size=size,
            limit=min(size, events - k * size),
            open_below=k == 0,
            open_above=k == count - 1,
            wanted=tuple(s - k * size for s in wanted if k * size < s < (k + 1) * size),
        )
        for k in range(count)
    ]


class _Joiner:
    """Joins the chunks' results in log order (in the main process)."""

    def __init__(self, chunk_size: int, upper_nodes: dict[tuple[int, int], bytes]) -> None:
        self.chunk_size = chunk_size
        self.height = chunk_size.bit_length() - 1
        self.upper_nodes = upper_nodes
        self.events = 0
        self.findings: list[tuple[tuple[int, int, int], Finding]] = []
        #: item id -> [uid, last seq, last hash, first chain error, broken]
        self.heads: dict[int, list[Any]] = {}
        self.top = merkle.RightEdge()  # the tree above the chunks: their roots are its leaves
        self.leaves = 0
        self.edge: tuple[bytes, ...] = ()  # right edge of the events' tree
        self.roots: dict[int, bytes] = {}
        self.node_findings: list[Finding] = []
        self.present = 0
        self.gap: tuple[int, int | None] | None = None

    def add(
        self, task: _ChunkTask, result: _ChunkResult, progress: Callable[[int], None] | None
    ) -> None:
        self.events += result.events
        self.findings.extend(result.findings)
        for run in result.runs:
            self._link(run)
        if self.gap is None:
            self._grow(task, result)
        if progress:
            progress(result.events)

    def _link(self, run: _Run) -> None:
        head = self.heads.get(run.item_id)
        if head is None:
            head = self.heads[run.item_id] = [run.uid, -1, None, None, False]
        if head[4] or run.broken:
            head[4] = True
            return
        if head[3] is not None:
            return
        expected_seq, expected_prev = head[1] + 1, head[2]
        if run.first_seq != expected_seq:
            head[3] = f"{run.first_where}: expected seq {expected_seq}, got {run.first_seq!r}"
        elif run.first_prev != expected_prev:
            head[3] = f"{run.first_where}: prev is {run.first_prev!r}, expected {expected_prev!r}"
        else:
            head[3] = run.error
        head[1], head[2] = run.last_seq, run.last_hash

    def _grow(self, task: _ChunkTask, result: _ChunkResult) -> None:
        self.node_findings.extend(result.node_findings)
        self.present += result.present
        if result.gap is not None:
            self.gap = result.gap
            return
        above = self.top.hashes
        for leaves, hashes in result.edges.items():
            size = task.first + leaves
            self.roots[size] = merkle.RightEdge(size, above + hashes).root()
        self.leaves = task.first + result.leaves
        if result.root is None:  # the last chunk, short: the log ends inside it
            self.edge = above + result.edges.get(result.leaves, ())
            return
        for level, index, value in self.top.append(result.root):
            if level == 0:
                continue  # the chunk's root: its worker checked that node
            key = (level + self.height, index)
            found = self.upper_nodes.pop(key, None)
            if found is not None:
                self.present += 1
            if found != value:
                self.node_findings.append(
                    Finding(
                        record=f"custody log node ({key[0]}, {key[1]})",
                        problem=f"stored node does not match the events ({result.last_leaf})",
                    )
                )
        self.edge = self.top.hashes
        self.roots[self.leaves] = self.top.root()

    def item_findings(self) -> list[Finding]:
        chained = [
            ((item_id, 2**62, 0), Finding(record=f"custody chain of item {uid}", problem=error))
            for item_id, (uid, _seq, _hash, error, broken) in self.heads.items()
            if error is not None and not broken
        ]
        return [finding for _order, finding in sorted(self.findings + chained, key=_order_of)]

    def log_findings(
        self,
        session: Session,
        node_count: int,
        state: LogState | None,
        checkpoints: list[Checkpoint],
    ) -> Iterator[Finding]:
        yield from self.node_findings
        if self.gap is not None:
            missing, after = self.gap
            if after is None:
                after = session.scalar(
                    select(func.min(CustodyEvent.log_index)).where(CustodyEvent.log_index > missing)
                )
            yield Finding(
                record=f"custody log at index {missing}",
                problem=f"gap or reordering: the next stored event has log index {after}",
            )
            return
        extra = node_count - self.present
        if extra:
            yield Finding(
                record="custody log nodes", problem=f"{extra} node(s) no event accounts for"
            )
        if state is None or state.size != self.leaves or state.edge != b"".join(self.edge):
            yield Finding(
                record="custody log state", problem=f"does not match the {self.leaves} events"
            )
        keys = _verifier_keys(session)
        yield from _check_checkpoints(checkpoints, self.roots, keys, self.leaves)


def _order_of(entry: tuple[tuple[int, int, int], Finding]) -> tuple[int, int, int]:
    return entry[0]


def _verifier_keys(session: Session) -> dict[str, VerifierKey]:
    return {
        k.key_id: VerifierKey(name=k.name, public_key=k.public_key)
        for k in session.scalars(select(SigningKeyRecord))
    }


def _check_checkpoints(
    checkpoints: list[Checkpoint], roots: dict[int, bytes], keys: dict[str, VerifierKey], size: int
) -> Iterator[Finding]:
    """Each checkpoint: signed by a known key, saying what the row says, with the root the
    events give at its size. Roots all recomputed from one sequence of leaves are, by
    construction, consistent with each other; a checkpoint that isn't is named here."""
    for cp in checkpoints:
        record = f"checkpoint at size {cp.size} (row {cp.id})"
        try:
            opened = open_checkpoint(cp.note, list(keys.values()))
        except VerificationError as exc:
            yield Finding(record=record, problem=f"signature: {exc}")
            continue
        if (opened.size, opened.root_hash) != (cp.size, cp.root_hash):
            yield Finding(
                record=record, problem="the signed note disagrees with the stored size or root"
            )
        elif cp.size not in roots:
            yield Finding(record=record, problem=f"is beyond the log's {size} events")
        elif roots[cp.size] != cp.root_hash:
            yield Finding(
                record=record,
                problem="its root is not the root of the events: inconsistent with the log",
            )
