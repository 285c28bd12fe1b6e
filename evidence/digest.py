"""SHA-256 digests of original bytes, written ``sha256:<64 lowercase hex>``.

A :class:`Digest` is a frozen value: an algorithm name and the raw digest bytes. Only
SHA-256 (FIPS 180-4) is accepted, so the text form has exactly one spelling and
``sha256sum`` can check it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from typing import Final

from evidence.errors import DigestError, DigestMismatch

__all__ = ["CHUNK_SIZE", "Digest", "DigestWriter", "digest_file", "is_digest_text"]

CHUNK_SIZE: Final = 1 << 20
"""Bytes read at a time by :func:`digest_file`."""

_ALGORITHM: Final = "sha256"
_SIZE: Final = 32
_TEXT_RE: Final = re.compile(r"sha256:[0-9a-f]{64}")


def is_digest_text(text: object) -> bool:
    """True if ``text`` is ``sha256:<64 lowercase hex>``, what :meth:`Digest.parse` reads."""
    return isinstance(text, str) and _TEXT_RE.fullmatch(text) is not None


@dataclass(frozen=True, kw_only=True)
class Digest:
    """A SHA-256 digest. ``str(d)`` is ``sha256:<hex>``; :meth:`parse` reads it back."""

    algorithm: str
    value: bytes

    def __post_init__(self) -> None:
        if self.algorithm != _ALGORITHM:
            raise DigestError(f"unsupported digest algorithm {self.algorithm!r}, expected 'sha256'")
        if not isinstance(self.value, bytes) or len(self.value) != _SIZE:
            got = len(self.value) if isinstance(self.value, bytes) else type(self.value).__name__
            raise DigestError(f"a sha256 digest is 32 bytes, got {got}")

    @classmethod
    def sha256(cls, data: bytes) -> Digest:
        """Hash ``data`` in one go."""
        return cls(algorithm=_ALGORITHM, value=hashlib.sha256(data).digest())

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Read ``sha256:<64 lowercase hex>`` (nothing else: no spaces, no upper case)."""
        if not is_digest_text(text):
            shown = text[:80] if isinstance(text, str) else type(text).__name__
            raise DigestError(
                f"malformed digest {shown!r}, expected 'sha256:' and 64 lowercase hex"
            )
        return cls(algorithm=_ALGORITHM, value=bytes.fromhex(text[len("sha256:") :]))

    @property
    def hex(self) -> str:
        """The digest bytes as lowercase hex (what ``sha256sum`` prints)."""
        return self.value.hex()

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value.hex()}"

    def verify(self, data: bytes) -> None:
        """Raise :class:`DigestMismatch` unless ``data`` hashes to this digest."""
        self.check(Digest.sha256(data))

    def check(self, actual: Digest) -> None:
        """Raise :class:`DigestMismatch` unless ``actual`` equals this (expected) digest."""
        if not hmac.compare_digest(self.value, actual.value):
            raise DigestMismatch(f"digest mismatch: expected {self}, got {actual}")


class DigestWriter:
    """Incremental SHA-256: feed chunks with :meth:`update`, then call :meth:`digest`."""

    __slots__ = ("_hash", "_size")

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._size = 0

    @property
    def size(self) -> int:
        """Number of bytes seen so far."""
        return self._size

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self._size += len(chunk)

    def digest(self) -> Digest:
        """The digest of everything seen so far (more chunks may follow)."""
        return Digest(algorithm=_ALGORITHM, value=self._hash.digest())


def digest_file(path: str | os.PathLike[str]) -> Digest:
    """SHA-256 of a file's bytes, read in chunks of :data:`CHUNK_SIZE` (``OSError`` passes)."""
    writer = DigestWriter()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            writer.update(chunk)
    return writer.digest()
