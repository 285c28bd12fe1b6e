"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 signatures.

A note is its text (one or more lines, each ending in LF), an empty line, and one or
more signature lines ``— <key name> <base64(4-byte key id || signature)>``. The signed
message is the text including its final LF. Verification follows the spec: signatures
from unknown (name, key id) pairs are ignored, a known key whose signature fails
rejects the note, and at least one known key must verify.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from evidence.errors import KeyFormatError, NoteError, SignatureError
from evidence.signing import SigningKey, VerifierKey, _b64decode, check_key_name

__all__ = ["MAX_SIGNATURES", "NoteSignature", "open_note", "parse_note", "sign_note"]

MAX_SIGNATURES: Final = 100
"""Most signature lines accepted in one note (the spec requires accepting at least 16)."""

_DASH: Final = "\u2014 "
# ASCII controls other than LF, DEL, and lone surrogates (which are not UTF-8).
_FORBIDDEN: Final = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True, kw_only=True)
class NoteSignature:
    """One signature line: key name, 4-byte key id, signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def to_line(self) -> str:
        payload = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{_DASH}{self.name} {payload}\n"


def _check_characters(text: str, what: str) -> None:
    found = _FORBIDDEN.search(text)
    if found is not None:
        raise NoteError(
            f"{what} has a forbidden character {found.group()!r} at offset {found.start()}"
        )


def _check_text(text: str) -> None:
    if not isinstance(text, str) or not text:
        raise NoteError("note text must be a non-empty string")
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if text.startswith("\n"):
        raise NoteError("note text must not start with an empty line")
    _check_characters(text, "note text")


def sign_note(text: str, keys: Sequence[SigningKey]) -> str:
    """Sign ``text`` with each key and return the whole note."""
    _check_text(text)
    if not keys:
        raise NoteError("a note needs at least one signing key")
    seen: set[tuple[str, bytes]] = set()
    lines: list[str] = []
    for key in keys:
        if (key.name, key.key_id) in seen:
            raise NoteError(f"key {key.name} ({key.key_id_hex}) given twice")
        seen.add((key.name, key.key_id))
        sig = NoteSignature(name=key.name, key_id=key.key_id, signature=key.sign(text.encode()))
        lines.append(sig.to_line())
    return text + "\n" + "".join(lines)


def parse_note(note: str) -> tuple[str, list[NoteSignature]]:
    """Split a note into its text and signatures, checking the format only."""
    if not isinstance(note, str):
        raise NoteError(f"a note is a string, got {type(note).__name__}")
    _check_characters(note, "note")
    if not note.endswith("\n"):
        raise NoteError("note does not end with a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no empty line between text and signatures")
    text, block = note[: split + 1], note[split + 2 :]
    _check_text(text)
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has {len(lines)} signatures, at most {MAX_SIGNATURES} accepted")
    signatures: list[NoteSignature] = []
    for number, line in enumerate(lines, start=1):
        where = f"signature line {number}"
        if not line.startswith(_DASH):
            raise NoteError(f"{where} does not start with an em dash and a space: {line[:60]!r}")
        fields = line[len(_DASH) :].split(" ")
        if len(fields) != 2:
            raise NoteError(f"{where} is not '— <name> <base64>': {line[:60]!r}")
        name, payload_b64 = fields
        try:
            check_key_name(name)
        except KeyFormatError as exc:
            raise NoteError(f"{where}: {exc}") from None
        payload = _b64decode(payload_b64, NoteError, where)
        if len(payload) < 5:
            raise NoteError(
                f"{where}: {len(payload)} bytes is too short for a key id and signature"
            )
        signatures.append(NoteSignature(name=name, key_id=payload[:4], signature=payload[4:]))
    return text, signatures


def open_note(note: str, verifier_keys: Sequence[VerifierKey]) -> str:
    """Return the note's text once at least one known key has verified it.

    Unknown (name, key id) pairs are ignored; a known key's failing signature rejects
    the note (NoteError), as does a note with no signature from a known key.
    """
    known: dict[tuple[str, bytes], VerifierKey] = {}
    for key in verifier_keys:
        other = known.setdefault((key.name, key.key_id), key)
        if other != key:
            raise NoteError(
                f"two different verifier keys share name {key.name} and id {key.key_id_hex}"
            )
    text, signatures = parse_note(note)
    message = text.encode("utf-8")
    verified = 0
    for sig in signatures:
        signer = known.get((sig.name, sig.key_id))
        if signer is None:
            continue
        try:
            signer.verify(sig.signature, message)
        except SignatureError as exc:
            raise NoteError(f"note signature is bad: {exc}") from None
        verified += 1
    if not verified:
        found = ", ".join(f"{s.name} ({s.key_id.hex()})" for s in signatures)
        wanted = ", ".join(f"{k.name} ({k.key_id_hex})" for k in known.values()) or "none"
        raise NoteError(
            f"no signature from a known key: note is signed by {found}; known: {wanted}"
        )
    return text
