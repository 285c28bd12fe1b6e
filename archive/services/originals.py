"""Small shared steps of the item use cases: reading an original, queueing an index change."""

from __future__ import annotations

from sqlalchemy.orm import Session

from archive.models import Item, OutboxEntry
from archive.services.runtime import Archive
from evidence.digest import Digest


def original_text(arc: Archive, item: Item) -> str:
    return arc.blobs.read_bytes(Digest.parse(item.digest)).decode("utf-8")


def enqueue_index(session: Session, item: Item) -> None:
    """Queue the item for both indexes, in the transaction that changed it."""
    session.add(OutboxEntry(item_uid=item.uid))
