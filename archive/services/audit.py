"""`temoin audit`: recompute every digest, signature and chain link from stored rows and blobs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import groupby

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.models import Blob, Checkpoint, CustodyEvent, Item, LogNode, LogState, SigningKeyRecord
from archive.services.runtime import Archive
from evidence import merkle
from evidence.canonical import parse_canonical
from evidence.checkpoint import open_checkpoint
from evidence.custody import SignedEvent, event_digest, verify_chain, verify_event_signature
from evidence.digest import Digest, digest_file
from evidence.errors import VerificationError
from evidence.signing import VerifierKey

WITHHELD = ("sealed", "published")


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
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def audit(arc: Archive, *, progress: Callable[[int], None] | None = None) -> AuditReport:
    report = AuditReport()
    with arc.db.sessions() as session:
        for blob in session.scalars(select(Blob).order_by(Blob.digest)):
            report.blobs += 1
            report.findings.extend(_check_blob(arc, blob))
        keys = {
            k.key_id: VerifierKey(name=k.name, public_key=k.public_key)
            for k in session.scalars(select(SigningKeyRecord))
        }
        items = {i.id: i for i in session.scalars(select(Item))}
        report.items = len(items)
        rows = session.scalars(
            select(CustodyEvent).order_by(CustodyEvent.item_id, CustodyEvent.seq)
        )
        for item_id, group in groupby(rows, key=lambda r: r.item_id):
            events = list(group)
            report.events += len(events)
            report.findings.extend(_check_item_events(items[item_id], events, keys))
            if progress:
                progress(len(events))
        seen = {i for (i,) in session.execute(select(CustodyEvent.item_id).distinct())}
        for item in items.values():
            if item.id not in seen:
                report.findings.append(
                    Finding(record=f"item {item.uid}", problem="has no custody events")
                )
        report.findings.extend(_check_log(session, keys, items))
        report.checkpoints = session.scalar(select(func.count()).select_from(Checkpoint)) or 0
    return report


def _check_log(
    session: Session, keys: dict[str, VerifierKey], items: dict[int, Item]
) -> Iterator[Finding]:
    """Rebuild the Merkle tree from the events in log order; hold every stored node, the
    log state and every signed checkpoint against it."""
    checkpoints = list(session.scalars(select(Checkpoint).order_by(Checkpoint.size)))
    wanted = {c.size for c in checkpoints}
    roots: dict[int, bytes] = {}
    edge = merkle.RightEdge()
    stored = {
        (level, index): value
        for level, index, value in session.execute(
            select(LogNode.level, LogNode.index, LogNode.hash)
        )
    }
    rows = session.execute(
        select(
            CustodyEvent.log_index, CustodyEvent.canonical, CustodyEvent.item_id, CustodyEvent.seq
        )
        .order_by(CustodyEvent.log_index)
        .execution_options(yield_per=2000)
    )
    try:
        for log_index, canonical, item_id, seq in rows:
            if log_index != edge.size:
                yield Finding(
                    record=f"custody log at index {edge.size}",
                    problem=f"gap or reordering: the next stored event has log index {log_index}",
                )
                return
            for level, index, value in edge.append(merkle.leaf_hash(canonical)):
                if stored.pop((level, index), None) != value:
                    item = items.get(item_id)
                    name = item.uid if item else str(item_id)
                    yield Finding(
                        record=f"custody log node ({level}, {index})",
                        problem="stored node does not match the events "
                        f"(leaf {log_index}: {name}#{seq})",
                    )
            if edge.size in wanted:
                roots[edge.size] = edge.root()
    finally:
        rows.close()
    if stored:
        yield Finding(
            record="custody log nodes", problem=f"{len(stored)} node(s) no event accounts for"
        )
    state = session.get(LogState, 1)
    if state is None or state.size != edge.size or state.edge != b"".join(edge.hashes):
        yield Finding(record="custody log state", problem=f"does not match the {edge.size} events")
    yield from _check_checkpoints(checkpoints, roots, keys, edge.size)


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


def _check_blob(arc: Archive, blob: Blob) -> Iterator[Finding]:
    record = f"blob {blob.digest}"
    try:
        expected = Digest.parse(blob.digest)
    except VerificationError as exc:
        yield Finding(record=record, problem=f"malformed digest: {exc}")
        return
    path = arc.blobs.path_for(expected)
    if not path.exists():
        yield Finding(record=record, problem=f"file missing at {path}")
        return
    actual = digest_file(path)
    if actual != expected:
        yield Finding(
            record=record, problem=f"content hashes to {actual}, not to its recorded digest"
        )
    elif path.stat().st_size != blob.size:
        yield Finding(
            record=record, problem=f"size {path.stat().st_size} differs from recorded {blob.size}"
        )


def _check_item_events(
    item: Item, rows: list[CustodyEvent], keys: dict[str, VerifierKey]
) -> Iterator[Finding]:
    parsed = []
    for row in rows:
        record = f"custody event {item.uid}#{row.seq} (row {row.id})"
        try:
            event = parse_canonical(row.canonical)
            if not isinstance(event, dict):
                raise VerificationError("stored event is not a JSON object")
            if str(event_digest(event)) != row.event_hash:
                yield Finding(
                    record=record, problem="stored bytes do not hash to the recorded event hash"
                )
            if (event.get("item"), event.get("seq"), event.get("type")) != (
                item.uid,
                row.seq,
                row.type,
            ):
                yield Finding(record=record, problem="columns disagree with the signed event")
            # `sealed` and `published` events of text items withhold the digest (they may
            # be shown in public); every other event must name it.
            withheld = event.get("item_digest") is None and event.get("type") in WITHHELD
            if event.get("item_digest") != item.digest and not withheld:
                yield Finding(
                    record=record, problem="signed item digest differs from the item's digest"
                )
            verify_event_signature(
                SignedEvent(event=event, key_id=row.key_id, signature=row.signature), keys
            )
        except VerificationError as exc:
            yield Finding(record=record, problem=str(exc))
            continue
        parsed.append(event)
    if len(parsed) == len(rows):
        try:
            verify_chain(parsed)
        except VerificationError as exc:
            yield Finding(record=f"custody chain of item {item.uid}", problem=str(exc))
