"""C2SP tlog checkpoints (https://c2sp.org/tlog-checkpoint).

A checkpoint is a signed note whose text is the log's origin, the tree size in ASCII
decimal (no leading zeros), the RFC 6962 root hash in padded standard base64, and
optional extension lines, each line ending in LF.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from evidence.errors import CheckpointError
from evidence.merkle import HASH_SIZE
from evidence.note import open_note, sign_note
from evidence.signing import SigningKey, VerifierKey, _b64decode

__all__ = ["Checkpoint", "open_checkpoint", "sign_checkpoint"]

MAX_TREE_SIZE: Final = 2**64 - 1
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]{0,19}")
_BAD_LINE_CHAR: Final = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def _check_line(value: object, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise CheckpointError(f"{what} must be a non-empty string, got {value!r}")
    found = _BAD_LINE_CHAR.search(value)
    if found is not None:
        raise CheckpointError(f"{what} has a forbidden character {found.group()!r}")


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """A log's claim: the tree of ``size`` leaves under ``origin`` has root ``root_hash``."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "checkpoint origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError(f"checkpoint size must be an integer, got {self.size!r}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"checkpoint size {self.size} is out of range")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise CheckpointError(f"checkpoint root hash must be {HASH_SIZE} bytes")
        if not isinstance(self.extensions, tuple):
            raise CheckpointError("checkpoint extensions must be a tuple of lines")
        for i, line in enumerate(self.extensions):
            _check_line(line, f"checkpoint extension line {i}")

    def to_text(self) -> str:
        """The checkpoint's note text (every line ends in LF)."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode("ascii")]
        return "".join(line + "\n" for line in (*lines, *self.extensions))

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Parse a checkpoint's note text strictly."""
        if not isinstance(text, str) or not text.endswith("\n"):
            raise CheckpointError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError(f"checkpoint has {len(lines)} lines, expected at least 3")
        origin, size_text, root_text, *extensions = lines
        if _DECIMAL.fullmatch(size_text) is None:
            raise CheckpointError(
                f"checkpoint line 2: tree size {size_text[:40]!r} is not a decimal without "
                "leading zeros"
            )
        root = _b64decode(root_text, CheckpointError, "checkpoint line 3 (root hash)")
        if len(root) != HASH_SIZE:
            raise CheckpointError(
                f"checkpoint line 3: root hash is {len(root)} bytes, expected {HASH_SIZE}"
            )
        return cls(origin=origin, size=int(size_text), root_hash=root, extensions=tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, keys: Sequence[SigningKey]) -> str:
    """The checkpoint as a signed note."""
    return sign_note(checkpoint.to_text(), keys)


def open_checkpoint(
    note: str, verifier_keys: Sequence[VerifierKey], *, origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint note and parse it; check its origin when one is given."""
    checkpoint = Checkpoint.from_text(open_note(note, verifier_keys))
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint is from log {checkpoint.origin!r}, expected {origin!r}")
    return checkpoint
