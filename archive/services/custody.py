"""Custody v1: every thing that happens to an item is a signed, hash-chained event."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, NamedTuple

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from archive.models import CustodyEvent, Item, utcnow
from archive.services.log import UNAFFECTED_BY_BATCH, LogBatch, append_leaf, log_batch
from archive.services.runtime import Archive, register_signing_key
from evidence.custody import encode_event
from evidence.signing import SigningKey

_NEW_ITEMS = "temoin.new_items"


class AppendedEvent(NamedTuple):
    """What :func:`append_event` logged; its row is signed and written with the batch."""

    item_id: int
    seq: int
    log_index: int
    event_hash: str
    canonical: bytes
    key_id: str


@event.listens_for(Session, "pending_to_persistent")
def _note_new_item(session: Session, instance: object) -> None:
    if isinstance(instance, Item):
        session.info.setdefault(_NEW_ITEMS, set()).add(instance.id)


@event.listens_for(Session, "after_transaction_end")
def _forget_new_items(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_NEW_ITEMS, None)


def _item_head(session: Session, batch: LogBatch, item_id: int) -> tuple[int, str] | None:
    """(seq, event hash) of the item's last event, read after the log is locked."""
    head = batch.heads.get(item_id)
    if head is not None or item_id in session.info.get(_NEW_ITEMS, ()):
        return head  # an item inserted by this transaction has only this batch's events
    row = session.execute(
        select(CustodyEvent.seq, CustodyEvent.event_hash)
        .where(CustodyEvent.item_id == item_id)
        .order_by(CustodyEvent.seq.desc())
        .limit(1)
        .execution_options(**{UNAFFECTED_BY_BATCH: True})  # none of its events is queued
    ).first()
    return None if row is None else (row.seq, row.event_hash)


def append_event(
    arc: Archive,
    session: Session,
    item: Item,
    type_: str,
    *,
    actor: str,
    details: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
    key: SigningKey | None = None,
    withhold_digest: bool = False,
) -> AppendedEvent:
    """Log the item's next event, linked to the hash of its previous one, signed by ``key``
    (the archive's key by default).

    The event's row and tree nodes are queued in the transaction's log batch
    (:mod:`archive.services.log`); the batch signs its events together, on every core,
    when it writes them.
    """
    key = key or arc.signing_key
    register_signing_key(session, key)
    item_id = item.id
    if item_id is None:
        session.flush()
        item_id = item.id
    batch = log_batch(session)  # locks the log first: the head read next is then current
    head = _item_head(session, batch, item_id)
    at = at or utcnow()
    seq = 0 if head is None else head[0] + 1
    _event, canonical = encode_event(
        case=item.case.slug,
        item=item.uid,
        seq=seq,
        type=type_,
        at=at,
        actor=actor,
        # A public record may carry this event: then it must not reveal the original's digest.
        item_digest=None if withhold_digest else item.digest,
        details=details or {},
        prev=None if head is None else head[1],
    )
    # One canonical form, hashed, logged and (when the batch is written) signed.
    event_hash = "sha256:" + hashlib.sha256(canonical).hexdigest()
    key_id = key.key_id_hex
    row = (item_id, seq, type_, at, actor, canonical, event_hash, key_id)
    log_index = append_leaf(session, canonical, event_row=row, key=key)
    batch.heads[item_id] = (seq, event_hash)
    return AppendedEvent(
        item_id=item_id,
        seq=seq,
        log_index=log_index,
        event_hash=event_hash,
        canonical=canonical,
        key_id=key_id,
    )


def events_of(session: Session, item: Item) -> list[CustodyEvent]:
    return list(
        session.scalars(
            select(CustodyEvent).where(CustodyEvent.item_id == item.id).order_by(CustodyEvent.seq)
        )
    )
