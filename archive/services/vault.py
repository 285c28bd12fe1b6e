"""The identity vault: protected identities exist at rest only as AES-256-GCM ciphertext.

Keys live in a JSON key file outside the database: ``{"current": KID, "keys": {KID: b64}}``.
Each ciphertext is stored with its key id so that keys can rotate; the associated data
binds a ciphertext to its person, so a ciphertext copied onto another row won't open.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

AAD_PREFIX = b"temoin/identity/v1|"
SECRET_AAD = b"temoin/item-secret/v1|"


class VaultError(Exception):
    """The vault cannot open or seal an identity (never says what the identity is)."""


@dataclass(frozen=True, kw_only=True)
class Identity:
    names: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    contact: str | None = None
    location: str | None = None
    notes: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "aliases": list(self.aliases),
            "contact": self.contact,
            "location": self.location,
            "notes": self.notes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Identity:
        return cls(
            names=tuple(data.get("names") or ()),
            aliases=tuple(data.get("aliases") or ()),
            contact=data.get("contact"),
            location=data.get("location"),
            notes=data.get("notes"),
        )

    @property
    def all_names(self) -> tuple[str, ...]:
        return self.names + self.aliases

    def __repr__(self) -> str:  # an identity never reaches a log line or a traceback
        return "<Identity (protected)>"

    __str__ = __repr__


@dataclass(frozen=True, kw_only=True)
class Sealed:
    ciphertext: bytes
    nonce: bytes
    key_id: str


@dataclass
class Vault:
    current: str
    keys: dict[str, bytes] = field(repr=False)

    @classmethod
    def create(cls, path: Path) -> Vault:
        kid = "vk-" + secrets.token_hex(4)
        vault = cls(current=kid, keys={kid: AESGCM.generate_key(bit_length=256)})
        vault.save(path)
        return vault

    @classmethod
    def load(cls, path: Path) -> Vault:
        try:
            data = json.loads(path.read_text())
            keys = {kid: base64.b64decode(k, validate=True) for kid, k in data["keys"].items()}
            current = data["current"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise VaultError(
                f"cannot read the vault key file {path}: {type(exc).__name__}"
            ) from None
        if current not in keys or any(len(k) != 32 for k in keys.values()):
            raise VaultError(f"vault key file {path} is malformed")
        return cls(current=current, keys=keys)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps(
            {
                "current": self.current,
                "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()},
            },
            indent=2,
        )
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)

    def seal(self, identity: Identity, *, person_uid: str) -> Sealed:
        nonce = secrets.token_bytes(12)
        plaintext = json.dumps(identity.to_json(), ensure_ascii=False).encode()
        ct = AESGCM(self.keys[self.current]).encrypt(
            nonce, plaintext, AAD_PREFIX + person_uid.encode()
        )
        return Sealed(ciphertext=ct, nonce=nonce, key_id=self.current)

    def seal_secret(self, secret: bytes, *, item_uid: str) -> Sealed:
        """Seal an item's disclosure secret (from which its segment salts derive)."""
        nonce = secrets.token_bytes(12)
        ct = AESGCM(self.keys[self.current]).encrypt(nonce, secret, SECRET_AAD + item_uid.encode())
        return Sealed(ciphertext=ct, nonce=nonce, key_id=self.current)

    def open_secret(self, sealed: Sealed, *, item_uid: str) -> bytes:
        key = self.keys.get(sealed.key_id)
        if key is None:
            raise VaultError(f"vault key {sealed.key_id} is not in the key file")
        try:
            return AESGCM(key).decrypt(
                sealed.nonce, sealed.ciphertext, SECRET_AAD + item_uid.encode()
            )
        except InvalidTag:
            raise VaultError(f"the secret of item {item_uid} does not authenticate") from None

    def open(self, sealed: Sealed, *, person_uid: str) -> Identity:
        key = self.keys.get(sealed.key_id)
        if key is None:
            raise VaultError(f"vault key {sealed.key_id} is not in the key file")
        try:
            plaintext = AESGCM(key).decrypt(
                sealed.nonce, sealed.ciphertext, AAD_PREFIX + person_uid.encode()
            )
        except InvalidTag:
            raise VaultError(f"identity of person {person_uid} does not authenticate") from None
        return Identity.from_json(json.loads(plaintext))
