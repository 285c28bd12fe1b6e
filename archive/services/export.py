"""Export an item's evidence record: digest, metadata, signed events and public keys."""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import Item, SigningKeyRecord
from archive.services.custody import events_of
from archive.services.runtime import Archive
from evidence.signing import VerifierKey

EXPORT_FORMAT = "temoin-export/v1"


def export_item(arc: Archive, session: Session, item: Item) -> dict[str, Any]:
    events = events_of(session, item)
    key_ids = sorted({e.key_id for e in events})
    keys = session.scalars(select(SigningKeyRecord).where(SigningKeyRecord.key_id.in_(key_ids)))
    public_keys = []
    for record in keys:
        verifier = VerifierKey(name=record.name, public_key=record.public_key)
        public_keys.append(
            {
                "key_id": record.key_id,
                "vkey": verifier.to_vkey(),
                "pem": verifier.to_pem().decode("ascii"),
            }
        )
    return {
        "format": EXPORT_FORMAT,
        "item": {
            "id": item.uid,
            "case": item.case.slug,
            "kind": item.kind,
            "title": item.title,
            "language": item.language,
            "digest": item.digest,
            "size": item.blob.size,
            "media_type": item.blob.media_type,
            "status": item.status,
        },
        "events": [
            {
                "seq": e.seq,
                "event": json.loads(e.canonical),
                "canonical": base64.b64encode(e.canonical).decode(),
                "event_hash": e.event_hash,
                "key_id": e.key_id,
                "signature": base64.b64encode(e.signature).decode(),
            }
            for e in events
        ],
        "public_keys": public_keys,
    }
