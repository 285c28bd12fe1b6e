"""Sealing a text item: commit its original as a Merkle tree of salted segments.

The salts derive from a secret per item that the vault keeps encrypted, so a hidden word
cannot be found by hashing guesses. The root goes into the signed `sealed` event, which
withholds the original's digest so that a public record may carry it.
"""

from __future__ import annotations

import base64
import secrets

from sqlalchemy.orm import Session

from archive.errors import IntegrityFailure
from archive.models import Item
from archive.services.custody import append_event
from archive.services.originals import original_text
from archive.services.runtime import Archive
from archive.services.vault import Sealed
from evidence.disclosure import Disclosure, commit, disclose

SCHEME = "temoin-disclosure/v1"


def seal_text(arc: Archive, session: Session, item: Item, text: str, *, actor: str) -> None:
    secret = secrets.token_bytes(32)
    sealed = arc.vault.seal_secret(secret, item_uid=item.uid)
    item.secret_ciphertext, item.secret_nonce, item.secret_key_id = (
        sealed.ciphertext,
        sealed.nonce,
        sealed.key_id,
    )
    commitment = commit(text, secret)
    item.commitment_root, item.segment_count = commitment.root, commitment.count
    item.status = "sealed"
    append_event(
        arc,
        session,
        item,
        "sealed",
        actor=actor,
        withhold_digest=True,
        details={"commitment": commitment_json(item)},
    )


def commitment_json(item: Item) -> dict[str, object]:
    if item.commitment_root is None or item.segment_count is None:
        raise IntegrityFailure(f"item {item.uid} has no commitment")
    return {
        "scheme": SCHEME,
        "root": base64.b64encode(item.commitment_root).decode(),
        "count": item.segment_count,
    }


def item_secret(arc: Archive, item: Item) -> bytes:
    if item.secret_ciphertext is None or item.secret_nonce is None or item.secret_key_id is None:
        raise IntegrityFailure(f"item {item.uid} has no sealed secret")
    return arc.vault.open_secret(
        Sealed(
            ciphertext=item.secret_ciphertext, nonce=item.secret_nonce, key_id=item.secret_key_id
        ),
        item_uid=item.uid,
    )


def disclosure_of(arc: Archive, item: Item) -> Disclosure:
    """The public record's proof: visible segments with salts, hashes for hidden runs."""
    spans = [(r.start, r.end, r.label) for r in item.redactions]
    return disclose(original_text(arc, item), item_secret(arc, item), spans)
