"""Digests: the sha256:<hex> value type, incremental hashing and files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from evidence import errors
from evidence.digest import CHUNK_SIZE, Digest, DigestWriter, digest_file
from evidence.errors import DigestError, DigestMismatch, VerificationError

ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_sha256_and_text_round_trip() -> None:
    d = Digest.sha256(b"abc")
    assert d.hex == ABC
    assert str(d) == f"sha256:{ABC}"
    assert Digest.parse(str(d)) == d
    assert d.algorithm == "sha256"


@pytest.mark.parametrize(
    "text",
    [
        f"SHA256:{ABC}",
        f"sha256:{ABC.upper()}",
        f"sha256:{ABC[:-1]}",
        f"sha256:{ABC}0",
        f" sha256:{ABC}",
        f"sha256:{ABC}\n",
        f"sha512:{ABC}",
        ABC,
        "",
        "sha256:" + "\u0661" * 64,  # Arabic-Indic digits are not hex
    ],
)
def test_parse_refuses_other_spellings(text: str) -> None:
    with pytest.raises(DigestError, match="malformed digest"):
        Digest.parse(text)


def test_parse_refuses_non_text() -> None:
    with pytest.raises(DigestError, match="'bytes'"):
        Digest.parse(b"sha256:00")  # type: ignore[arg-type]


def test_constructor_validates() -> None:
    with pytest.raises(DigestError, match="unsupported digest algorithm 'md5'"):
        Digest(algorithm="md5", value=bytes(32))
    with pytest.raises(DigestError, match="32 bytes, got 31"):
        Digest(algorithm="sha256", value=bytes(31))
    with pytest.raises(DigestError, match="got str"):
        Digest(algorithm="sha256", value="00" * 32)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Digest("sha256", bytes(32))  # type: ignore[call-arg]  # keyword-only


def test_verify() -> None:
    d = Digest.sha256(b"original")
    d.verify(b"original")
    with pytest.raises(DigestMismatch, match=f"expected {d}, got sha256:"):
        d.verify(b"original!")


def test_writer_matches_one_shot(tmp_path: Path) -> None:
    data = bytes(range(256)) * (CHUNK_SIZE // 256 + 3)
    writer = DigestWriter()
    assert writer.size == 0
    assert writer.digest() == Digest.sha256(b"")
    for start in range(0, len(data), 100_003):
        writer.update(data[start : start + 100_003])
    assert writer.size == len(data)
    assert writer.digest() == Digest.sha256(data)
    path = tmp_path / "exhibit.bin"
    path.write_bytes(data)
    assert digest_file(path) == Digest.sha256(data)
    assert digest_file(str(path)).hex == hashlib.sha256(data).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert digest_file(empty) == Digest.sha256(b"")


def test_error_tree() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, VerificationError)
    assert issubclass(errors.InclusionProofError, errors.ProofError)
    assert issubclass(errors.ConsistencyProofError, errors.ProofError)
