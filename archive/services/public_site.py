"""What the public pages show of the archive as a whole: an overview, a record's public
timeline, and the lookup of a published exhibit by its digest.

Everything here reads published items only. An unpublished or sealed item is invisible:
a lookup by digest answers for it exactly as for a digest the archive never saw, and a
text item is never matched by digest at all (the digest of a text original would let
anyone confirm a guessed name in its redacted text).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.errors import InvalidInput
from archive.models import SYSTEM_KINDS, Case, Checkpoint, CustodyEvent, Item, SigningKeyRecord
from archive.services.items import public_projection
from archive.services.runtime import Archive
from evidence.digest import Digest
from evidence.errors import DigestError
from evidence.signing import VerifierKey

#: The custody events a public page shows: the sealing and the publication. The others
#: (collected, ingested, accessed, ...) name people, places or the original's digest.
PUBLIC_EVENT_TYPES = ("sealed", "published")


@dataclass(frozen=True, kw_only=True)
class PublicCase:
    slug: str
    title: str
    place: str | None
    published: int


@dataclass(frozen=True, kw_only=True)
class LogSummary:
    size: int
    signed_at: dt.datetime
    root_hash: bytes
    note: str


@dataclass(frozen=True, kw_only=True)
class Overview:
    cases: list[PublicCase]
    by_kind: dict[str, int]
    published: int
    log: LogSummary | None


@dataclass(frozen=True, kw_only=True)
class PublicEvent:
    seq: int
    type: str
    at: dt.datetime
    key_id: str
    log_index: int
    event_hash: str


def latest_log(session: Session) -> LogSummary | None:
    row = session.scalar(select(Checkpoint).order_by(Checkpoint.size.desc()).limit(1))
    if row is None:
        return None
    return LogSummary(
        size=row.size, signed_at=as_utc(row.created_at), root_hash=row.root_hash, note=row.note
    )


def overview(session: Session) -> Overview:
    """Cases with published records, published records by kind, and the log's last checkpoint."""
    published = (Item.status == "published") & Item.kind.not_in(SYSTEM_KINDS)
    by_kind = dict(
        session.execute(
            select(Item.kind, func.count()).where(published).group_by(Item.kind).order_by(Item.kind)
        ).all()
    )
    rows = session.execute(
        select(Case.slug, Case.title, Case.place, func.count(Item.id))
        .join(Item, Item.case_id == Case.id)
        .where(published, ~Case.slug.startswith("_", autoescape=True))
        .group_by(Case.id, Case.slug, Case.title, Case.place, Case.created_at)
        .order_by(Case.created_at, Case.id)
    ).all()
    return Overview(
        cases=[PublicCase(slug=s, title=t, place=p, published=n) for s, t, p, n in rows],
        by_kind={str(k): int(n) for k, n in by_kind.items()},
        published=sum(by_kind.values()),
        log=latest_log(session),
    )


def public_timeline(session: Session, item: Item) -> list[PublicEvent]:
    """The item's sealing and publication events (signed, logged), oldest first."""
    rows = session.scalars(
        select(CustodyEvent)
        .where(CustodyEvent.item_id == item.id, CustodyEvent.type.in_(PUBLIC_EVENT_TYPES))
        .order_by(CustodyEvent.seq)
    )
    return [
        PublicEvent(
            seq=e.seq,
            type=e.type,
            at=as_utc(e.at),
            key_id=e.key_id,
            log_index=e.log_index,
            event_hash=e.event_hash,
        )
        for e in rows
    ]


def parse_digest(text: str) -> Digest:
    """``sha256:<hex>``, or the bare 64 hex digits ``sha256sum`` prints (any case)."""
    cleaned = text.strip()
    if len(cleaned) == 64 and ":" not in cleaned:
        cleaned = "sha256:" + cleaned
    if cleaned[:7].lower() == "sha256:":
        cleaned = "sha256:" + cleaned[7:].lower()
    try:
        return Digest.parse(cleaned)
    except DigestError:
        raise InvalidInput(
            "a digest is 'sha256:' followed by 64 hexadecimal digits (what sha256sum prints)",
            errors={"digest": ["not a SHA-256 digest"]},
        ) from None


def published_exhibits(session: Session, digest: Digest) -> list[Item]:
    """Published file exhibits whose original has this digest (one query; none is `[]`).

    Unpublished and sealed exhibits, and text items, are left out by the query itself, so
    the answer (and the work done to reach it) is the same as for an unknown digest."""
    return list(
        session.scalars(
            select(Item)
            .where(
                Item.digest == str(digest),
                Item.kind == "file_exhibit",
                Item.status == "published",
            )
            .order_by(Item.published_at, Item.id)
        )
    )


def exhibit_lookup(arc: Archive, session: Session, digest: Digest) -> dict[str, object]:
    """The answer to "is this file a published exhibit?": the public projection of each match.

    Its shape is the same whether or not anything matched."""
    matches = []
    for item in published_exhibits(session, digest):
        public = public_projection(arc, item)
        matches.append(
            {
                "id": public["id"],
                "case": public["case"],
                "kind": public["kind"],
                "title": public["title"],
                "media_type": public["media_type"],
                "size": public["size"],
                "published_at": item.published_at and as_utc(item.published_at),
                "record": f"/records/{public['id']}",
            }
        )
    return {"digest": str(digest), "published": bool(matches), "matches": matches}


@dataclass(frozen=True, kw_only=True)
class PublishedKey:
    vkey: str
    key_id: str
    created_at: dt.datetime
    retired_at: dt.datetime | None


def published_keys(session: Session) -> list[PublishedKey]:
    """Every key that ever signed for the archive, as C2SP verifier keys, oldest first."""
    records = session.scalars(select(SigningKeyRecord).order_by(SigningKeyRecord.created_at))
    return [
        PublishedKey(
            vkey=VerifierKey(name=r.name, public_key=r.public_key).to_vkey(),
            key_id=r.key_id,
            created_at=as_utc(r.created_at),
            retired_at=as_utc(r.retired_at) if r.retired_at else None,
        )
        for r in records
    ]


def as_utc(value: dt.datetime) -> dt.datetime:
    """Timestamps come back naive from SQLite; they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
