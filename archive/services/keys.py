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
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.errors import InvalidInput, NotFound
from archive.models import Blob, Case, Item, ProtectedPerson, SigningKeyRecord, utcnow
from archive.services.custody import append_event
from archive.services.runtime import Archive, register_signing_key
from archive.services.sealing import item_secret
from archive.services.vault import Sealed
from evidence.canonical import canonical_json
from evidence.digest import Digest
from evidence.signing import SigningKey, write_key_file

SYSTEM_CASE = "_archive"
KEY_HISTORY = "_archive/signing-keys"
ACTOR = "archive:keys"


def _history_item(arc: Archive, session: Session) -> Item | None:
    return session.scalar(select(Item).where(Item.seed_key == KEY_HISTORY))


def system_case(session: Session) -> Case:
    """The reserved case of the archive's own records (never listed, granted or public)."""
    case = session.scalar(select(Case).where(Case.slug == SYSTEM_CASE))
    if case is None:
        case = Case(slug=SYSTEM_CASE, title="The archive itself", summary="The archive's records.")
        session.add(case)
        session.flush()
    return case


def system_item(
    arc: Archive, session: Session, case: Case, *, key: str, title: str, charter: dict[str, str]
) -> Item:
    """An item the archive keeps about itself: never listed, indexed or published.

    ``case`` must belong to ``session`` (load it in the same unit of work)."""
    item = session.scalar(select(Item).where(Item.seed_key == key))
    if item is not None:
        return item
    stored = arc.blobs.write_bytes(canonical_json(charter))
    if session.get(Blob, str(stored.digest)) is None:
        session.add(
            Blob(digest=str(stored.digest), size=stored.size, media_type="application/json")
        )
    item = Item(
        case_id=case.id,
        case=case,
        kind="log_record",
        status="sealed",
        title=title,
        language="en",
        digest=str(stored.digest),
        seed_key=key,
    )
    session.add(item)
    session.flush()
    return item


def ensure_key_history(arc: Archive, session: Session) -> Item:
    """Create the key-history item with the current key's announcement, once."""
    item = _history_item(arc, session)
    if item is not None:
        return item
    key = arc.signing_key
    item = system_item(
        arc,
        session,
        system_case(session),
        key=KEY_HISTORY,
        title="Signing keys of the archive",
        charter={
            "purpose": "signing keys of this archive, announced in its custody log",
            "origin": key.name,
        },
    )
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
    "system_case",
    "system_item",
]


# ---- the identity vault's keys ----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class VaultRotation:
    key_id: str
    resumed: bool
    persons: int
    items: int


def _stale_rows(
    session: Session, current: str, limit: int
) -> tuple[list[ProtectedPerson], list[Item]]:
    persons = list(
        session.scalars(
            select(ProtectedPerson).where(ProtectedPerson.identity_key_id != current).limit(limit)
        )
    )
    items = list(
        session.scalars(
            select(Item)
            .where(Item.secret_key_id.is_not(None), Item.secret_key_id != current)
            .limit(limit)
        )
    )
    return persons, items


def rotate_vault(
    arc: Archive, *, batch_size: int = 200, progress: Callable[[int], None] | None = None
) -> VaultRotation:
    """Re-encrypt every identity and item secret under a new vault key, in batches.

    Resumable: if a previous run stopped part-way (rows remain under an older key), this
    run finishes it instead of starting another. Each batch commits on its own, and the key
    file keeps every key until `retire_vault_key`, so a crash loses nothing.
    """
    vault = arc.vault
    with arc.db.sessions() as session:
        persons, items = _stale_rows(session, vault.current, 1)
    resumed = bool(persons or items)
    if not resumed:
        new_id = "vk-" + secrets.token_hex(4)
        vault.keys[new_id] = AESGCM.generate_key(bit_length=256)
        vault.current = new_id
        vault.save(arc.settings.vault_key_file)
    done_persons = done_items = 0
    while True:
        with arc.db.transaction() as session:
            persons, items = _stale_rows(session, vault.current, batch_size)
            if not persons and not items:
                break
            for person in persons:
                identity = vault.open(
                    Sealed(
                        ciphertext=person.identity_ciphertext,
                        nonce=person.identity_nonce,
                        key_id=person.identity_key_id,
                    ),
                    person_uid=person.uid,
                )
                sealed = vault.seal(identity, person_uid=person.uid)
                person.identity_ciphertext, person.identity_nonce, person.identity_key_id = (
                    sealed.ciphertext,
                    sealed.nonce,
                    sealed.key_id,
                )
            for item in items:
                secret = item_secret(arc, item)
                sealed = vault.seal_secret(secret, item_uid=item.uid)
                item.secret_ciphertext, item.secret_nonce, item.secret_key_id = (
                    sealed.ciphertext,
                    sealed.nonce,
                    sealed.key_id,
                )
        done_persons += len(persons)
        done_items += len(items)
        if progress:
            progress(len(persons) + len(items))
    return VaultRotation(
        key_id=vault.current, resumed=resumed, persons=done_persons, items=done_items
    )


def retire_vault_key(arc: Archive, key_id: str) -> None:
    """Remove an old key from the vault key file once nothing is sealed under it."""
    vault = arc.vault
    if key_id == vault.current:
        raise InvalidInput("the current vault key cannot be retired; rotate first")
    if key_id not in vault.keys:
        raise NotFound(f"no vault key {key_id}")
    with arc.db.sessions() as session:
        used = (
            session.scalar(
                select(func.count())
                .select_from(ProtectedPerson)
                .where(ProtectedPerson.identity_key_id == key_id)
            )
            or 0
        )
        used += (
            session.scalar(
                select(func.count()).select_from(Item).where(Item.secret_key_id == key_id)
            )
            or 0
        )
    if used:
        raise InvalidInput(
            f"{used} record(s) are still sealed under {key_id}: "
            "run `temoin keys rotate-vault` first"
        )
    del vault.keys[key_id]
    vault.save(arc.settings.vault_key_file)
