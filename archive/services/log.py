"""The custody log: every custody event is a leaf of one RFC 6962 Merkle tree.

Appending is O(log n): the right edge of the tree lives in one ``log_state`` row, which
each writer locks, and every complete subtree hash is stored in ``log_nodes`` so that
inclusion and consistency proofs cost O(log n) reads. The archive signs a C2SP checkpoint
at the end of each write batch and refuses to sign one that is not consistent with the
last it signed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from archive.errors import ArchiveError, IntegrityFailure, NotFound
from archive.models import Checkpoint, LogNode, LogState
from archive.services.runtime import Archive
from evidence import merkle
from evidence.checkpoint import Checkpoint as CheckpointText
from evidence.checkpoint import sign_checkpoint
from evidence.errors import ProofError

_STATE = "temoin.log_state"
_DIRTY = "temoin.log_dirty"
HASH = merkle.HASH_SIZE


class BadProofRequest(ArchiveError):
    status = 400


@event.listens_for(Session, "after_transaction_end")
def _forget_state(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_STATE, None)
        session.info.pop(_DIRTY, None)


def _split(edge: bytes) -> list[bytes]:
    return [edge[i : i + HASH] for i in range(0, len(edge), HASH)]


def _locked_state(session: Session) -> tuple[LogState, merkle.RightEdge]:
    """The log's right edge, locked for this transaction (read once per transaction)."""
    cached: tuple[LogState, merkle.RightEdge] | None = session.info.get(_STATE)
    if cached is not None:
        return cached
    state = session.execute(
        select(LogState)
        .where(LogState.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    edge = merkle.RightEdge(state.size, _split(state.edge))
    session.info[_STATE] = (state, edge)
    return state, edge


def append_leaf(session: Session, data: bytes) -> int:
    """Add ``data`` (an event's canonical bytes) as the next leaf; return its index."""
    state, edge = _locked_state(session)
    nodes = edge.append(merkle.leaf_hash(data))
    session.add_all(
        [LogNode(level=level, index=index, hash=value) for level, index, value in nodes]
    )
    state.size = edge.size
    state.edge = b"".join(edge.hashes)
    session.info[_DIRTY] = True
    return edge.size - 1


def tree_size(session: Session) -> int:
    return session.scalar(select(LogState.size).where(LogState.id == 1)) or 0


def node_reader(session: Session) -> Callable[[int, int], bytes]:
    def get_node(level: int, index: int) -> bytes:
        node = session.get(LogNode, (level, index))
        if node is None:
            raise IntegrityFailure(f"log node ({level}, {index}) is missing")
        return node.hash

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
    _state, edge = _locked_state(session)
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
    key = arc.signing_key
    note = sign_checkpoint(
        CheckpointText(origin=arc.settings.log_origin, size=edge.size, root_hash=root), [key]
    )
    row = Checkpoint(size=edge.size, root_hash=root, note=note, key_id=key.key_id_hex)
    session.add(row)
    return row


def seal_batch(arc: Archive, session: Session) -> None:
    """End of a write batch: sign a checkpoint when the batch appended to the log."""
    if session.info.get(_DIRTY):
        sign_latest(arc, session)


def checkpoint_now(arc: Archive) -> Checkpoint | None:
    """`temoin log checkpoint`: sign the current tree if no checkpoint covers it yet."""
    try:
        with arc.db.transaction() as session:
            return sign_latest(arc, session)
    except IntegrityError:  # another process signed the same size first
        with arc.db.sessions() as session:
            return latest_checkpoint(session)
