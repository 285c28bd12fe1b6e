"""The error tree of the evidence package.

Every error raised on purpose by :mod:`evidence` is a :class:`VerificationError`, so a
caller (the archive, a CLI, a legal team's script) can catch one class at its boundary
and still tell the kinds apart. Parsers translate the standard library's ``ValueError``,
``KeyError``, ``binascii.Error`` and friends into one of these, with a message that
names the element that failed (field, line, proof index) and, where it helps, what was
expected and what was found.
"""

from __future__ import annotations

__all__ = [
    "BundleError",
    "CanonicalizationError",
    "ChainError",
    "CheckpointError",
    "ConsistencyProofError",
    "DigestError",
    "DigestMismatch",
    "InclusionProofError",
    "KeyFormatError",
    "NoteError",
    "ProofError",
    "SignatureError",
    "VerificationError",
]


class VerificationError(Exception):
    """Root of every error raised by the evidence package."""


class CanonicalizationError(VerificationError):
    """A value cannot be written as RFC 8785 canonical JSON, or bytes are not canonical."""


class DigestError(VerificationError):
    """A digest is malformed (bad text, unknown algorithm, wrong length)."""


class DigestMismatch(VerificationError):
    """Data does not hash to the digest it is claimed to have."""


class KeyFormatError(VerificationError):
    """A key, key name, key file or verifier-key string is malformed or unreadable."""


class SignatureError(VerificationError):
    """A signature does not verify, or is malformed, or its key is unknown."""


class ChainError(VerificationError):
    """A custody event or an item's chain of custody events is invalid."""


class ProofError(VerificationError):
    """A Merkle tree computation or proof is invalid (RFC 6962 / RFC 9162)."""


class InclusionProofError(ProofError):
    """An inclusion proof is malformed or does not lead to the expected root."""


class ConsistencyProofError(ProofError):
    """A consistency proof is malformed or does not link the two roots."""


class NoteError(VerificationError):
    """A C2SP signed note is malformed, or none of its known signatures verify."""


class CheckpointError(VerificationError):
    """A C2SP tlog checkpoint is malformed or is not the one expected."""


class BundleError(VerificationError):
    """A proof bundle (such as a C2SP tlog-proof) is malformed."""
