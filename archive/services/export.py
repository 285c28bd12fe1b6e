"""Evidence bundles: one self-contained file per item that `temoin-verify` checks offline.

The format is `evidence.bundle` (docs/bundle.md). Exporting is itself a custody event, and
the batch that records it signs a checkpoint covering every event of the item, so a bundle
always proves its events against a checkpoint signed by the current key.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.errors import NotFound
from archive.models import Checkpoint, Item, SigningKeyRecord
from archive.services import log as log_service
from archive.services.accountability import check_reason
from archive.services.custody import append_event, events_of
from archive.services.items import get_item, get_public_item
from archive.services.runtime import Archive
from archive.services.sealing import disclosure_of
from evidence import merkle
from evidence.bundle import (
    Bundle,
    BundleEvent,
    ConsistencyProof,
    InclusionProof,
    ItemInfo,
    build_bundle,
    sign_item,
)
from evidence.digest import Digest
from evidence.public_bundle import PublicBundle, PublicItem, build_public_bundle
from evidence.signing import VerifierKey


def item_info(item: Item) -> ItemInfo:
    return ItemInfo(
        id=item.uid,
        case=item.case.slug,
        kind=item.kind,
        # The redacted title: a title typed at intake may name someone.
        title=item.public_title or item.title,
        language=item.language,
        digest=Digest.parse(item.digest),
        size=item.blob.size,
        media_type=item.blob.media_type,
    )


def export_bundle(
    arc: Archive,
    uid: str,
    *,
    actor: str,
    via: str,
    reason: str,
    since: int | None = None,
    reason_field: str = "reason",
) -> Bundle:
    """Record the export (with its reason, required), then build the item's bundle against
    the checkpoint that batch signed."""
    why = check_reason(reason, field=reason_field, what="an evidence bundle")
    with arc.unit_of_work() as session:
        item = get_item(session, uid)
        append_event(
            arc,
            session,
            item,
            "exported",
            actor=actor,
            details={"what": "evidence bundle", "to": via, "reason": why},
        )
    with arc.db.sessions() as session:
        item = get_item(session, uid)
        events = events_of(session, item)
        last_index = max(e.log_index for e in events)
        checkpoint = session.scalar(
            select(Checkpoint)
            .where(Checkpoint.size > last_index)
            .order_by(Checkpoint.size.desc())
            .limit(1)
        )
        if checkpoint is None:  # pragma: no cover - the export batch always signs one
            raise NotFound("no checkpoint covers this item's events yet")
        size = checkpoint.size
        get_node = log_service.node_reader(session)
        inclusion = [
            InclusionProof(
                log_index=e.log_index,
                hashes=tuple(merkle.inclusion_proof_from_nodes(e.log_index, size, get_node)),
            )
            for e in events
        ]
        consistency = []
        if since is not None:
            old = log_service.checkpoint_at(session, since)
            consistency.append(
                ConsistencyProof(
                    old_checkpoint=old.note,
                    hashes=tuple(merkle.consistency_proof_from_nodes(old.size, size, get_node)),
                )
            )
        keys = _verifier_keys(session, {e.key_id for e in events} | {checkpoint.key_id})
        info = item_info(item)
        signature = sign_item(
            info,
            last_event=Digest.parse(events[-1].event_hash),
            tree_size=size,
            key=arc.signing_key,
        )
        return build_bundle(
            item=info,
            item_signature=signature,
            events=[
                BundleEvent(
                    log_index=e.log_index,
                    canonical=e.canonical,
                    key_id=e.key_id,
                    signature=e.signature,
                )
                for e in events
            ],
            keys=keys,
            checkpoint_note=checkpoint.note,
            inclusion=inclusion,
            consistency=consistency,
        )


def export_public_bundle(arc: Archive, session: Session, uid: str) -> PublicBundle:
    """A published text record's public bundle: redacted text, disclosure proof, and the
    `sealed` and `published` events, which withhold the original's digest, proven in the log.

    Reading it is public; nothing in it lets anyone recover a withheld word."""
    item = get_public_item(session, uid)
    if not item.is_text:
        raise NotFound(
            "public bundles cover testimonies and excerpts; an exhibit is verified by its file"
        )
    events = events_of(session, item)
    sealed = next(e for e in events if e.type == "sealed")
    published = [e for e in events if e.type == "published"][-1]
    checkpoint = session.scalar(
        select(Checkpoint)
        .where(Checkpoint.size > published.log_index)
        .order_by(Checkpoint.size.desc())
        .limit(1)
    )
    if checkpoint is None:
        raise NotFound("no checkpoint covers this record yet")
    get_node = log_service.node_reader(session)
    chosen = [sealed, published]
    keys = _verifier_keys(session, {e.key_id for e in chosen} | {checkpoint.key_id})
    return build_public_bundle(
        item=PublicItem(
            id=item.uid,
            case=item.case.slug,
            kind=item.kind,
            title=item.public_title or "",
            language=item.language,
        ),
        public_text=item.public_text or "",
        disclosure=disclosure_of(arc, item),
        events=[
            BundleEvent(
                log_index=e.log_index, canonical=e.canonical, key_id=e.key_id, signature=e.signature
            )
            for e in chosen
        ],
        keys=keys,
        checkpoint_note=checkpoint.note,
        inclusion=[
            InclusionProof(
                log_index=e.log_index,
                hashes=tuple(
                    merkle.inclusion_proof_from_nodes(e.log_index, checkpoint.size, get_node)
                ),
            )
            for e in chosen
        ],
    )


def _verifier_keys(session: Session, key_ids: set[str]) -> list[VerifierKey]:
    records = session.scalars(select(SigningKeyRecord).where(SigningKeyRecord.key_id.in_(key_ids)))
    return sorted(
        (VerifierKey(name=r.name, public_key=r.public_key) for r in records),
        key=lambda k: k.key_id_hex,
    )
