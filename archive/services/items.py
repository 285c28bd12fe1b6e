"""Items: ingest (with custody), redaction, publication and the public projection."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.errors import InvalidInput, NotFound, NotReady
from archive.models import SYSTEM_KINDS, Blob, Case, Item, ProtectedPerson, utcnow
from archive.services.cases import protected_names
from archive.services.custody import append_event
from archive.services.originals import enqueue_index, original_text
from archive.services.redacting import public_text_digest, redact_item, review_state
from archive.services.redaction import redact
from archive.services.runtime import Archive
from archive.services.sealing import commitment_json, seal_text
from evidence.digest import Digest

__all__ = ["enqueue_index", "original_text", "redact_item"]
MAX_TEXT_BYTES = 2 * 1024 * 1024


def _store_blob(
    arc: Archive, session: Session, stored_digest: Digest, size: int, media_type: str
) -> None:
    if session.get(Blob, str(stored_digest)) is None:
        session.add(Blob(digest=str(stored_digest), size=size, media_type=media_type))
        session.flush()


def ingest_text(
    arc: Archive,
    session: Session,
    case: Case,
    *,
    kind: str,
    text: str,
    title: str,
    language: str,
    actor: str,
    person: ProtectedPerson | None = None,
    event_date: dt.date | None = None,
    collected_at: dt.datetime | None = None,
    collected_by: str | None = None,
    place: str | None = None,
    tags: list[str] | None = None,
    citation: dict[str, Any] | None = None,
    via: str = "api",
    request_info: dict[str, Any] | None = None,
    seed_key: str | None = None,
) -> Item:
    """Store a testimony or source excerpt as an original, with its first custody events."""
    if kind not in ("testimony", "source_excerpt"):
        raise InvalidInput(f"not a text kind: {kind}")
    if not text.strip():
        raise InvalidInput("the text is empty", errors={"text": ["required"]})
    data = text.encode("utf-8")
    if len(data) > MAX_TEXT_BYTES:
        raise InvalidInput(
            f"the text is over {MAX_TEXT_BYTES} bytes", errors={"text": ["too long"]}
        )
    if person is not None and person.case_id != case.id:
        raise InvalidInput(
            "the person belongs to another case", errors={"person": ["not in this case"]}
        )
    stored = arc.blobs.write_bytes(data)
    _store_blob(arc, session, stored.digest, stored.size, "text/plain; charset=utf-8")
    item = Item(
        case_id=case.id,
        case=case,
        kind=kind,
        status="sealed",
        title=title.strip(),
        language=language,
        person_id=person.id if person else None,
        digest=str(stored.digest),
        event_date=event_date,
        collected_at=collected_at,
        collected_by=collected_by,
        place=place,
        tags=list(tags or []),
        citation=citation,
        seed_key=seed_key,
    )
    session.add(item)
    session.flush()
    _record_intake(
        arc, session, item, actor=actor, via=via, size=stored.size, request_info=request_info
    )
    seal_text(arc, session, item, text, actor=actor)
    redact_item(arc, session, item, actor=actor)
    enqueue_index(session, item)
    return item


def ingest_exhibit(
    arc: Archive,
    session: Session,
    case: Case,
    *,
    stream: BinaryIO,
    filename: str,
    media_type: str,
    title: str,
    language: str,
    actor: str,
    description: str | None = None,
    event_date: dt.date | None = None,
    collected_at: dt.datetime | None = None,
    collected_by: str | None = None,
    place: str | None = None,
    tags: list[str] | None = None,
    request_info: dict[str, Any] | None = None,
    limit: int | None = None,
    via: str = "api",
) -> Item:
    """Stream a file exhibit to disk while hashing it; nothing is held in memory whole."""
    try:
        stored = arc.blobs.write_stream(stream, limit=limit)
    except ValueError as exc:
        raise InvalidInput(str(exc), errors={"file": [str(exc)]}) from None
    if stored.size == 0:
        raise InvalidInput("the file is empty", errors={"file": ["empty file"]})
    _store_blob(arc, session, stored.digest, stored.size, media_type)
    item = Item(
        case_id=case.id,
        case=case,
        kind="file_exhibit",
        status="sealed",
        title=title.strip(),
        language=language,
        digest=str(stored.digest),
        filename=filename,
        description=description,
        event_date=event_date,
        collected_at=collected_at,
        collected_by=collected_by,
        place=place,
        tags=list(tags or []),
    )
    session.add(item)
    session.flush()
    _record_intake(
        arc, session, item, actor=actor, via=via, size=stored.size, request_info=request_info
    )
    redact_item(arc, session, item, actor=actor)
    enqueue_index(session, item)
    return item


def _record_intake(
    arc: Archive,
    session: Session,
    item: Item,
    *,
    actor: str,
    via: str,
    size: int,
    request_info: dict[str, Any] | None,
) -> None:
    collected: dict[str, Any] = {
        "by": item.collected_by or actor,
        "at": item.collected_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        if item.collected_at
        else None,
        "place": item.place,
        # Every later event's hash chains to this one: with 32 unguessable bytes here, the
        # hashes a public record shows of withheld events can't be used to test a guess
        # of the original (docs/public-bundle.md, "What a public record must not leak").
        "nonce": base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
    }
    if request_info:
        collected["request"] = request_info
    append_event(arc, session, item, "collected", actor=actor, details=collected)
    append_event(
        arc,
        session,
        item,
        "ingested",
        actor=actor,
        details={"digest": item.digest, "size": size, "kind": item.kind, "via": via},
    )


def publish_item(arc: Archive, session: Session, item: Item, *, actor: str) -> Item:
    """Make the item's reviewed public projection public and searchable."""
    if item.status == "published":
        return item
    if item.kind in SYSTEM_KINDS:
        raise InvalidInput("the archive's own records are never published")
    state = review_state(arc, item)
    if state == "not reviewed":
        raise NotReady("the redaction has not been reviewed; review it before publishing")
    if state == "stale":
        raise NotReady(
            "the redaction review is stale (protected persons or decisions changed): "
            "review it again"
        )
    item.status = "published"
    item.published_at = utcnow()
    record_publication(arc, session, item, actor=actor)
    enqueue_index(session, item)
    return item


def record_publication(arc: Archive, session: Session, item: Item, *, actor: str) -> None:
    """A `published` event for the public text as it now is.

    For a text item the event withholds the original's digest and names the sealed
    commitment instead, so that a public bundle can carry it."""
    details: dict[str, Any] = {
        "public_text_digest": public_text_digest(item),
        "public_title": item.public_title,
        "kind": item.kind,
        "language": item.language,
    }
    if item.is_text:
        details["commitment_root"] = commitment_json(item)["root"]
    append_event(
        arc, session, item, "published", actor=actor, details=details, withhold_digest=item.is_text
    )


def case_redactor(arc: Archive, case: Case) -> Callable[[str], str]:
    """Redact strings against the case's protected persons as they are now. Places and
    tags repeat from item to item: each distinct string is redacted once per redactor,
    which lives as long as its caller keeps it (one projection, one indexing batch)."""
    names = protected_names(arc, case)
    done: dict[str, str] = {}

    def redacted(value: str) -> str:
        if value not in done:
            done[value] = redact(value, names).text
        return done[value]

    return redacted


def get_item(session: Session, uid: str) -> Item:
    item = session.scalar(select(Item).where(Item.uid == uid))
    if item is None:
        raise NotFound(f"no item {uid!r}")
    return item


def find_seeded(session: Session, seed_key: str) -> Item | None:
    return session.scalar(select(Item).where(Item.seed_key == seed_key))


def get_public_item(session: Session, uid: str) -> Item:
    item = session.scalar(select(Item).where(Item.uid == uid, Item.status == "published"))
    if item is None:
        raise NotFound(f"no published item {uid!r}")
    return item


def list_items(session: Session, case: Case, *, published_only: bool) -> list[Item]:
    query = (
        select(Item)
        .where(Item.case_id == case.id, Item.kind.not_in(SYSTEM_KINDS))
        .order_by(Item.id)
    )
    if published_only:
        query = query.where(Item.status == "published")
    return list(session.scalars(query))


def list_published(session: Session, *, limit: int = 20) -> list[Item]:
    return list(
        session.scalars(
            select(Item)
            .where(Item.status == "published")
            .order_by(Item.published_at.desc(), Item.id)
            .limit(limit)
        )
    )


def public_projection(
    arc: Archive, item: Item, *, redactor: Callable[[str], str] | None = None
) -> dict[str, Any]:
    """What the public may see of a published item: an allowlist, every string redacted.

    The original's digest is withheld for text items: with the public text in hand, a
    digest of the original would let anyone confirm a guessed name by hashing.
    ``redactor``: redacts one string against the item's case (``case_redactor``), for a
    caller projecting many items of one case; by default made for this call.
    """
    if item.status != "published":
        raise NotFound(f"no published item {item.uid!r}")
    redacted = redactor or case_redactor(arc, item.case)

    def clean(value: str | None) -> str | None:
        return None if value is None else redacted(value)

    citation = None
    if item.citation:
        citation = {k: clean(str(v)) if v is not None else None for k, v in item.citation.items()}
    projection: dict[str, Any] = {
        "id": item.uid,
        "case": item.case.slug,
        "kind": item.kind,
        "title": item.public_title,
        "language": item.language,
        "event_date": item.event_date,
        "place": clean(item.place),
        "tags": [clean(t) for t in item.tags],
        "text": item.public_text,
        "citation": citation,
        "published_at": item.published_at,
        "labels": sorted({r.label for r in item.redactions}),
    }
    if item.kind == "file_exhibit":
        projection["digest"] = item.digest
        projection["media_type"] = item.blob.media_type
        projection["size"] = item.blob.size
    return projection
