"""The custody log: every custody event is a leaf of one RFC 6962 Merkle tree.

Appending is O(log n): the right edge of the tree lives in one ``log_state`` row, which
each writer locks, and every complete subtree hash is stored in ``log_nodes`` so that
inclusion and consistency proofs cost O(log n) reads. The archive signs a C2SP checkpoint
at the end of each write batch and refuses to sign one that is not consistent with the
last it signed.

A transaction's appends are batched: the first one locks ``log_state`` and reads the right
edge; each append then only extends that edge in memory and queues its rows (the custody
event, the nodes it completes). The queued rows are written with one multi-row insert per
table, and ``log_state`` once, when the transaction commits or, before that, just before
any SQL statement of the same transaction that names ``custody_events``, ``log_nodes`` or
``log_state``: so whatever reads the log inside the transaction sees every event appended,
as with the ORM's autoflush, while a batch import writes its rows in a few statements.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any, ClassVar, cast

from sqlalchemy import (
    Connection,
    Engine,
    LargeBinary,
    Table,
    bindparam,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine.interfaces import DBAPICursor, Dialect, ExecutionContext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import TypeEngine

from archive.errors import ArchiveError, IntegrityFailure, NotFound
from archive.models import Checkpoint, CustodyEvent, LogNode, LogState
from archive.services.runtime import Archive
from evidence import merkle
from evidence.checkpoint import Checkpoint as CheckpointText
from evidence.checkpoint import sign_checkpoint
from evidence.errors import ProofError
from evidence.signing import SigningKey, start_signing

_BATCH = "temoin.log_batch"
#: Execution option: this statement needs no queued row written first.
UNAFFECTED_BY_BATCH = "temoin_log_batch_unaffected"
_LOG_TABLES = ("custody_events", "log_nodes", "log_state")
HASH = merkle.HASH_SIZE


class BadProofRequest(ArchiveError):
    status = 400


#: A queued custody event row: these columns; the batch adds ``log_index`` and, when it
#: writes the rows, the ``signature`` of ``canonical`` by the key it was queued with.
EVENT_COLUMNS = (
    "item_id",
    "seq",
    "type",
    "at",
    "actor",
    "canonical",
    "event_hash",
    "key_id",
)
_CANONICAL = EVENT_COLUMNS.index("canonical")
_EVENT_ROW = (*EVENT_COLUMNS, "log_index", "signature")
_EVENTS = cast(Table, CustodyEvent.__table__)
_NODES = cast(Table, LogNode.__table__)
NODE_COLUMNS = ("level", "index", "hash")


_SQLITE_DATETIME_TEXT = sqlite.DATETIME._storage_format


def _faster(impl: TypeEngine[Any], convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The same conversion, faster where we know one: SQLite's default DATETIME text
    (``YYYY-MM-DD HH:MM:SS.ffffff``, the time as given, no zone) is what ``isoformat``
    writes before its zone; SQLAlchemy's own builds it from a dict of seven fields."""
    if isinstance(impl, sqlite.DATETIME) and impl._storage_format == _SQLITE_DATETIME_TEXT:

        def sqlite_datetime(value: Any) -> Any:
            if value.__class__ is dt.datetime:
                return value.isoformat(" ", "microseconds")[:26]
            return convert(value)

        return sqlite_datetime
    return convert


class _DriverInsert:
    """A multi-row INSERT handed to the database driver's ``executemany``: compiled by
    SQLAlchemy once per dialect, each value converted by its column's own type, but with
    no per-row work in SQLAlchemy's execution path (several times faster on SQLite).

    Binary values go to the driver as ``bytes``, which sqlite3 and psycopg take as they
    are (SQLAlchemy's own processor only wraps them in ``dbapi.Binary``).
    """

    _cache: ClassVar[dict[tuple[str, str], _DriverInsert]] = {}

    def __init__(self, table: Table, columns: tuple[str, ...], dialect: Dialect) -> None:
        compiled = (
            insert(table)
            .values({name: bindparam(name) for name in columns})
            .compile(dialect=dialect)
        )
        self.sql = str(compiled)
        self.columns = columns
        self.named = not compiled.positional
        #: the driver's parameter order, as a getter on our rows (None: the same order)
        self.reorder: Callable[[Sequence[Any]], tuple[Any, ...]] | None = None
        if compiled.positional:
            order = [columns.index(name) for name in compiled.positiontup or ()]
            if sorted(order) != list(range(len(columns))):
                raise RuntimeError(f"cannot bind {columns} to {self.sql}")  # pragma: no cover
            if order != sorted(order):
                self.reorder = itemgetter(*order)
        self.converters = [
            (i, _faster(table.c[name].type.dialect_impl(dialect), convert))
            for i, name in enumerate(columns)
            if not isinstance(table.c[name].type, LargeBinary)
            and (convert := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        ]

    @classmethod
    def of(cls, table: Table, columns: tuple[str, ...], dialect: Dialect) -> _DriverInsert:
        key = (table.name, dialect.name)
        found = cls._cache.get(key)
        if found is None:
            found = cls._cache[key] = cls(table, columns, dialect)
        return found

    def execute(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        params: list[Any] = rows
        if len(self.converters) == 1:  # custody events: their time
            ((i, convert),) = self.converters
            params = [(*row[:i], convert(row[i]), *row[i + 1 :]) for row in rows]
        elif self.converters:
            params = []
            for row in rows:
                values = list(row)
                for i, convert in self.converters:
                    values[i] = convert(values[i])
                params.append(values)
        if self.named:
            params = [dict(zip(self.columns, row, strict=True)) for row in params]
        elif self.reorder is not None:
            params = list(map(self.reorder, params))
        conn.exec_driver_sql(self.sql, params)


class LogBatch:
    """One transaction's appends: the right edge (locked) and the rows not yet written."""

    __slots__ = (
        "conn",
        "conn_info",
        "edge",
        "events",
        "heads",
        "nodes",
        "session",
        "signers",
        "start",
        "start_hashes",
        "stored",
    )

    def __init__(self, session: Session, conn: Connection, edge: merkle.RightEdge) -> None:
        self.session = session
        self.conn = conn
        self.conn_info = conn.info
        self.edge = edge
        self.start = edge.size  # the log's size when this transaction locked it
        self.start_hashes = edge.hashes
        self.stored = edge.size  # the size log_state holds in this transaction
        #: rows in EVENT_COLUMNS (+ log_index) and NODE_COLUMNS order
        self.events: list[tuple[Any, ...]] = []
        #: the key that signs each queued event (signed together when the rows are written)
        self.signers: list[SigningKey] = []
        self.nodes: list[tuple[int, int, bytes]] = []
        #: item id -> (seq, event hash) of the item's last event, once this batch knows it
        self.heads: dict[int, tuple[int, str]] = {}

    @property
    def dirty(self) -> bool:
        """Rows are queued that are not written yet."""
        return self.edge.size != self.stored

    @property
    def appended(self) -> bool:
        """This transaction has added leaves to the log."""
        return self.edge.size != self.start

    def write(self) -> None:
        """Sign the queued events, insert the queued rows (a few statements) and store the
        right edge. The events are signed on every core while the nodes are written."""
        if not self.dirty:
            return
        events, signers, nodes = self.events, self.signers, self.nodes
        self.events, self.signers, self.nodes = [], [], []
        size, edge = self.edge.size, b"".join(self.edge.hashes)
        self.stored = size  # first: the statements below must not write again
        dialect = self.conn.dialect
        signatures = start_signing(
            list(zip(signers, [row[_CANONICAL] for row in events], strict=True))
        )
        if nodes:
            _DriverInsert.of(_NODES, NODE_COLUMNS, dialect).execute(self.conn, nodes)
        self.conn.execute(update(LogState).where(LogState.id == 1).values(size=size, edge=edge))
        if events:
            rows = [(*row, signature) for row, signature in zip(events, signatures(), strict=True)]
            _DriverInsert.of(_EVENTS, _EVENT_ROW, dialect).execute(self.conn, rows)
        state = self.session.identity_map.get(self.session.identity_key(LogState, 1))
        if state is not None:  # a copy loaded earlier in this transaction stays true
            set_committed_value(state, "size", size)
            set_committed_value(state, "edge", edge)


@event.listens_for(Session, "before_commit")
def _write_batch_before_commit(session: Session) -> None:
    write_pending(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_batch(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        batch: LogBatch | None = session.info.pop(_BATCH, None)
        if batch is not None:
            info = batch.conn_info
            if info.get(_BATCH) is batch:
                del info[_BATCH]


@event.listens_for(Engine, "before_cursor_execute")
def _write_batch_before_reading(
    conn: Connection,
    _cursor: DBAPICursor,
    statement: str,
    _parameters: Any,
    context: ExecutionContext | None,
    _executemany: bool,
) -> None:
    batch: LogBatch | None = conn.info.get(_BATCH)
    if batch is None or not batch.dirty:
        return
    if batch.conn is not conn:  # left behind on a pooled connection: never ours to write
        del conn.info[_BATCH]
        return
    if context is not None and context.execution_options.get(UNAFFECTED_BY_BATCH):
        return
    if any(table in statement for table in _LOG_TABLES):
        batch.write()


def _split(edge: bytes) -> list[bytes]:
    return [edge[i : i + HASH] for i in range(0, len(edge), HASH)]


def log_batch(session: Session) -> LogBatch:
    """This transaction's batch; the first call locks ``log_state`` and reads the edge."""
    batch: LogBatch | None = session.info.get(_BATCH)
    if batch is not None:
        return batch
    size, edge = session.execute(
        select(LogState.size, LogState.edge).where(LogState.id == 1).with_for_update()
    ).one()
    conn = session.connection()
    batch = LogBatch(session, conn, merkle.RightEdge(size, _split(edge)))
    session.info[_BATCH] = batch
    conn.info[_BATCH] = batch
    return batch


def append_leaf(
    session: Session,
    data: bytes,
    *,
    event_row: tuple[Any, ...] = (),
    key: SigningKey | None = None,
) -> int:
    """Add ``data`` (an event's canonical bytes) as the next leaf; return its index.

    ``event_row``, the ``custody_events`` row of that event (EVENT_COLUMNS), is queued
    with the leaf and its index, so that the event and its leaf are written together;
    ``key`` signs ``data`` then, with the batch's other events.
    """
    batch = log_batch(session)
    index = batch.edge.size
    batch.nodes += batch.edge.append(merkle.leaf_hash(data))
    if event_row:
        if key is None:
            raise ValueError("an event row needs the key that signs it")
        batch.events.append((*event_row, index))
        batch.signers.append(key)
    return index


def write_pending(session: Session) -> None:
    """Write what this transaction has appended and not yet written (normally automatic)."""
    batch: LogBatch | None = session.info.get(_BATCH)
    if batch is not None:
        batch.write()


def tree_size(session: Session) -> int:
    return session.scalar(select(LogState.size).where(LogState.id == 1)) or 0


def node_reader(session: Session) -> Callable[[int, int], bytes]:
    def get_node(level: int, index: int) -> bytes:
        found: bytes | None = session.scalar(
            select(LogNode.hash).where(LogNode.level == level, LogNode.index == index)
        )
        if found is None:
            raise IntegrityFailure(f"log node ({level}, {index}) is missing")
        return found

    return get_node


def root_at(session: Session, size: int) -> bytes:
    return merkle.root_from_nodes(size, node_reader(session))


def _check_size(session: Session, size: int, what: str) -> None:
    current = tree_size(session)
    if not 0 < size <= current:
        raise BadProofRequest(f"{what} must be between 1 and the log size {current}")


def inclusion_proof(session: Session, index: int, size: int) -> dict[str, Any]:
    _check_size(session, size, "size")
    if not 0 <= index < size:
        raise BadProofRequest(f"index must be between 0 and size - 1 ({size - 1})")
    get_node = node_reader(session)
    return {
        "index": index,
        "size": size,
        "leaf_hash": get_node(0, index),
        "root_hash": merkle.root_from_nodes(size, get_node),
        "hashes": merkle.inclusion_proof_from_nodes(index, size, get_node),
    }


def consistency_proof(session: Session, old: int, new: int) -> dict[str, Any]:
    _check_size(session, new, "new")
    if not 0 < old <= new:
        raise BadProofRequest(f"old must be between 1 and new ({new})")
    get_node = node_reader(session)
    return {
        "old": old,
        "new": new,
        "old_root": merkle.root_from_nodes(old, get_node),
        "new_root": merkle.root_from_nodes(new, get_node),
        "hashes": merkle.consistency_proof_from_nodes(old, new, get_node),
    }


def latest_checkpoint(session: Session) -> Checkpoint | None:
    return session.scalar(select(Checkpoint).order_by(Checkpoint.size.desc()).limit(1))


def checkpoint_at(session: Session, size: int) -> Checkpoint:
    found = session.scalar(select(Checkpoint).where(Checkpoint.size == size))
    if found is None:
        raise NotFound(f"no checkpoint was signed at size {size}")
    return found


def sign_latest(arc: Archive, session: Session) -> Checkpoint | None:
    """Sign a checkpoint of the log as it is in this transaction, if it has grown.

    Refuses (IntegrityFailure) to sign a tree that is not an extension of the last signed one.
    """
    edge = log_batch(session).edge
    if edge.size == 0:
        return None
    last = latest_checkpoint(session)
    if last is not None and last.size == edge.size:
        return last
    root = edge.root()
    if last is not None:
        if last.size > edge.size:
            raise IntegrityFailure(
                f"the log shrank from {last.size} to {edge.size} leaves: refusing to sign"
            )
        batch = log_batch(session)
        if last.size == batch.start:
            # The usual case: the last checkpoint is the tree this transaction locked and
            # extended leaf by leaf, so the new tree is consistent with it if and only if
            # the right edge it extended has the signed root. No node needs reading.
            if merkle.RightEdge(batch.start, batch.start_hashes).root() != last.root_hash:
                raise IntegrityFailure(
                    f"the log is not consistent with checkpoint {last.size}: the stored right "
                    "edge this batch extended does not have the signed root"
                )
            return _sign(arc, session, edge.size, root)
        proof = merkle.consistency_proof_from_nodes(last.size, edge.size, node_reader(session))
        try:
            merkle.verify_consistency(
                old_size=last.size,
                new_size=edge.size,
                old_root=last.root_hash,
                new_root=root,
                proof=proof,
            )
        except ProofError as exc:
            raise IntegrityFailure(
                f"the log is not consistent with checkpoint {last.size}: {exc}"
            ) from None
    return _sign(arc, session, edge.size, root)


def _sign(arc: Archive, session: Session, size: int, root: bytes) -> Checkpoint:
    key = arc.signing_key
    note = sign_checkpoint(
        CheckpointText(origin=arc.settings.log_origin, size=size, root_hash=root), [key]
    )
    row = Checkpoint(size=size, root_hash=root, note=note, key_id=key.key_id_hex)
    session.add(row)
    return row


def seal_batch(arc: Archive, session: Session) -> None:
    """End of a write batch: sign a checkpoint when the batch appended to the log."""
    batch: LogBatch | None = session.info.get(_BATCH)
    if batch is not None and batch.appended:
        sign_latest(arc, session)


def checkpoint_now(arc: Archive) -> Checkpoint | None:
    """`temoin log checkpoint`: sign the current tree if no checkpoint covers it yet."""
    try:
        with arc.db.transaction() as session:
            return sign_latest(arc, session)
    except IntegrityError:  # another process signed the same size first
        with arc.db.sessions() as session:
            return latest_checkpoint(session)
