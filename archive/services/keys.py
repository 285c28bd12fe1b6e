"""The archive's signing keys, and their history in the custody log.

Key history is an item of a reserved system case: each key that starts signing is
announced by a `key_added` event. The first announcement is signed by the key itself; a
rotation's is signed by the outgoing key, so the log carries an unbroken chain of
endorsements from the first key to the current one. Old signatures stay valid: every
public key ever used stays in ``signing_keys`` and in ``/api/v1/log/keys``.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import Blob, Case, Item, SigningKeyRecord, utcnow
from archive.services.custody import append_event
from archive.services.runtime import Archive, register_signing_key
from evidence.canonical import canonical_json
from evidence.digest import Digest
from evidence.signing import SigningKey, write_key_file

SYSTEM_CASE = "_archive"
KEY_HISTORY = "_archive/signing-keys"
ACTOR = "archive:keys"


def _history_item(arc: Archive, session: Session) -> Item | None:
    return session.scalar(select(Item).where(Item.seed_key == KEY_HISTORY))


def ensure_key_history(arc: Archive, session: Session) -> Item:
    """Create the key-history item with the current key's announcement, once."""
    item = _history_item(arc, session)
    if item is not None:
        return item
    case = session.scalar(select(Case).where(Case.slug == SYSTEM_CASE))
    if case is None:
        case = Case(slug=SYSTEM_CASE, title="The archive itself", summary="Signing-key history.")
        session.add(case)
        session.flush()
    key = arc.signing_key
    charter = canonical_json(
        {
            "purpose": "signing keys of this archive, announced in its custody log",
            "origin": key.name,
        }
    )
    stored = arc.blobs.write_bytes(charter)
    if session.get(Blob, str(stored.digest)) is None:
        session.add(
            Blob(digest=str(stored.digest), size=stored.size, media_type="application/json")
        )
    item = Item(
        case_id=case.id,
        case=case,
        kind="log_record",
        status="sealed",
        title="Signing keys of the archive",
        language="en",
        digest=str(stored.digest),
        seed_key=KEY_HISTORY,
    )
    session.add(item)
    session.flush()
    append_event(
        arc,
        session,
        item,
        "key_added",
        actor=ACTOR,
        details={"vkey": key.verifier().to_vkey(), "endorsed_by": key.key_id_hex},
    )
    return item


@dataclass(frozen=True, kw_only=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    retired_file: Path
    new_vkey: str


def rotate_signing_key(arc: Archive) -> Rotation:
    """Add a new signing key, announced in the log under the outgoing key's signature.

    The outgoing private key is kept (renamed) under ``keys/retired/`` so that nothing is
    lost; its public half stays published.
    """
    settings = arc.settings
    old = arc.signing_key
    new = SigningKey.generate(old.name)
    retired_dir = settings.signing_key_file.parent / "retired"
    retired_dir.mkdir(mode=0o700, exist_ok=True)
    retired = retired_dir / f"{settings.signing_key_file.stem}-{old.key_id_hex}.pem"
    staged = settings.signing_key_file.with_name(
        f".{settings.signing_key_file.name}.{new.key_id_hex}"
    )
    write_key_file(staged, new, passphrase=settings.signing_key_passphrase)
    with arc.unit_of_work() as session:
        item = ensure_key_history(arc, session)
        register_signing_key(session, new)
        append_event(
            arc,
            session,
            item,
            "key_added",
            actor=ACTOR,
            details={"vkey": new.verifier().to_vkey(), "endorsed_by": old.key_id_hex},
            key=old,
        )
        record = session.get(SigningKeyRecord, old.key_id_hex)
        if record is not None:
            record.retired_at = utcnow()
        # From here on the new key signs, starting with this batch's checkpoint.
        os.replace(settings.signing_key_file, retired)
        os.replace(staged, settings.signing_key_file)
        arc.__dict__["signing_key"] = new
    return Rotation(
        old_key_id=old.key_id_hex,
        new_key_id=new.key_id_hex,
        retired_file=retired,
        new_vkey=new.verifier().to_vkey(),
    )


def key_history(arc: Archive, session: Session) -> list[tuple[dt.datetime, str, str]]:
    item = _history_item(arc, session)
    if item is None:
        return []
    return [(e.at, e.key_id, e.type) for e in item.events]


__all__ = [
    "KEY_HISTORY",
    "SYSTEM_CASE",
    "Digest",
    "Rotation",
    "ensure_key_history",
    "key_history",
    "rotate_signing_key",
]
