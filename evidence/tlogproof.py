"""C2SP tlog proofs (https://c2sp.org/tlog-proof): offline proof that an entry is logged.

Format (section "Format" of the spec)::

    c2sp.org/tlog-proof@v1
    extra <base64>              (optional, unauthenticated)
    index <decimal, no leading zeros>
    <base64 SHA-256 hash>       (zero or more: RFC 6962 inclusion path, leaf side first)
    <empty line>
    <checkpoint signed note, verbatim>
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from evidence.checkpoint import Checkpoint, open_checkpoint
from evidence.errors import BundleError
from evidence.merkle import HASH_SIZE, leaf_hash, verify_inclusion
from evidence.signing import VerifierKey, _b64decode

__all__ = ["HEADER", "TlogProof", "parse_tlog_proof", "verify_tlog_proof"]

HEADER: Final = "c2sp.org/tlog-proof@v1"
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True, kw_only=True)
class TlogProof:
    """A parsed tlog proof; ``checkpoint`` is the signed checkpoint note, verbatim."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None

    def to_text(self) -> str:
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode("ascii"))
        lines.append(f"index {self.index}")
        lines.extend(base64.b64encode(h).decode("ascii") for h in self.proof)
        return "\n".join(lines) + "\n\n" + self.checkpoint


def parse_tlog_proof(text: str) -> TlogProof:
    """Parse a tlog proof (format only: nothing is verified here)."""
    if not isinstance(text, str):
        raise BundleError(f"a tlog proof is text, got {type(text).__name__}")
    head, separator, checkpoint = text.partition("\n\n")
    if not separator:
        raise BundleError("tlog proof has no empty line before its checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise BundleError(f"tlog proof line 1 is {lines[0][:60]!r}, expected {HEADER!r}")
    number = 2
    extra = None
    if len(lines) > 1 and lines[1].startswith("extra "):
        extra = _b64decode(lines[1][len("extra ") :], BundleError, "tlog proof line 2 (extra)")
        number = 3
    if len(lines) < number or not lines[number - 1].startswith("index "):
        raise BundleError(f"tlog proof line {number} must be 'index <decimal>'")
    index_text = lines[number - 1][len("index ") :]
    if _DECIMAL.fullmatch(index_text) is None:
        raise BundleError(
            f"tlog proof line {number}: index {index_text[:40]!r} is not a decimal without "
            "leading zeros"
        )
    proof: list[bytes] = []
    for i, line in enumerate(lines[number:]):
        where = f"tlog proof line {number + 1 + i} (proof hash {i})"
        value = _b64decode(line, BundleError, where)
        if len(value) != HASH_SIZE:
            raise BundleError(f"{where} is {len(value)} bytes, expected {HASH_SIZE}")
        proof.append(value)
    if not checkpoint:
        raise BundleError("tlog proof has no checkpoint after the empty line")
    return TlogProof(index=int(index_text), proof=tuple(proof), checkpoint=checkpoint, extra=extra)


def verify_tlog_proof(
    proof: TlogProof,
    leaf: bytes,
    verifier_keys: Sequence[VerifierKey],
    *,
    origin: str | None = None,
) -> Checkpoint:
    """Verify the checkpoint's signature, then that ``leaf`` (raw entry bytes) is in it.

    Returns the verified checkpoint. Raises NoteError / CheckpointError for the
    checkpoint, InclusionProofError for the Merkle path.
    """
    checkpoint = open_checkpoint(proof.checkpoint, verifier_keys, origin=origin)
    verify_inclusion(
        leaf_hash=leaf_hash(leaf),
        index=proof.index,
        tree_size=checkpoint.size,
        proof=proof.proof,
        root=checkpoint.root_hash,
    )
    return checkpoint
