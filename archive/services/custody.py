"""Custody v1: every thing that happens to an item is a signed, hash-chained event."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import CustodyEvent, Item, utcnow
from archive.services.log import append_leaf
from archive.services.runtime import Archive, register_signing_key
from evidence.custody import event_bytes, make_event
from evidence.digest import Digest
from evidence.signing import SigningKey


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
) -> CustodyEvent:
    """Sign and store the item's next event, linked to the hash of its previous one."""
    last = session.scalar(
        select(CustodyEvent)
        .where(CustodyEvent.item_id == item.id)
        .order_by(CustodyEvent.seq.desc())
        .limit(1)
    )
    at = at or utcnow()
    event = make_event(
        case=item.case.slug,
        item=item.uid,
        seq=0 if last is None else last.seq + 1,
        type=type_,
        at=at,
        actor=actor,
        # A public record may carry this event: then it must not reveal the original's digest.
        item_digest=None if withhold_digest else item.digest,
        details=details or {},
        prev=None if last is None else last.event_hash,
    )
    key = key or arc.signing_key
    register_signing_key(session, key)
    # One canonical form, signed, hashed and logged as the same bytes.
    canonical = event_bytes(event)
    row = CustodyEvent(
        item_id=item.id,
        seq=event["seq"],
        log_index=append_leaf(session, canonical),
        type=type_,
        at=at,
        actor=actor,
        canonical=canonical,
        event_hash=str(Digest.sha256(canonical)),
        key_id=key.key_id_hex,
        signature=key.sign(canonical),
    )
    session.add(row)
    session.flush()
    return row


def events_of(session: Session, item: Item) -> list[CustodyEvent]:
    return list(
        session.scalars(
            select(CustodyEvent).where(CustodyEvent.item_id == item.id).order_by(CustodyEvent.seq)
        )
    )
