"""C2SP signed notes, checkpoints and tlog proofs: spec examples, sum.golang.org, tampering."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from evidence.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from evidence.errors import (
    BundleError,
    CheckpointError,
    InclusionProofError,
    NoteError,
    VerificationError,
)
from evidence.merkle import inclusion_proof, leaf_hash, root_hash
from evidence.note import MAX_SIGNATURES, NoteSignature, open_note, parse_note, sign_note
from evidence.signing import SigningKey, VerifierKey
from evidence.tlogproof import TlogProof, parse_tlog_proof, verify_tlog_proof

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
CHECKPOINT_MD = (VECTORS / "checkpoint.md").read_text()
PROOF_FILE = VECTORS / "tlog-proof" / "go.sum-database-tree-43930254.tlog-proof"
LEAF = (VECTORS / "tlog-proof" / "go.sum-database-tree-43930254.raw").read_bytes()


def fenced_blocks() -> list[str]:
    return re.findall(r"```\n(.*?)```", CHECKPOINT_MD, flags=re.S)


def example_note() -> tuple[VerifierKey, str]:
    block = fenced_blocks()[1]
    vkey_line, _, note = block.partition("\n\n")
    return VerifierKey.parse(vkey_line.removeprefix("vkey: ")), note


def sumdb() -> tuple[VerifierKey, str]:
    vkey = re.search(r"`(sum\.golang\.org\+[^`]+)`", CHECKPOINT_MD)
    assert vkey is not None
    block = next(b for b in fenced_blocks() if b.startswith("go.sum database tree\n58253265"))
    return VerifierKey.parse(vkey.group(1)), block


# -- signed notes -------------------------------------------------------------------


def test_signed_note_spec_example() -> None:
    key, note = example_note()
    assert key.to_vkey() == "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    text, signatures = parse_note(note)
    assert text == "This is an example message.\n"
    assert len(text.encode()) == 28
    assert [(s.name, s.key_id.hex()) for s in signatures] == [("example.com/foo", "530d903a")]
    assert open_note(note, [key]) == text
    tampered = note.replace("example message", "exemple message")
    bad = r"note signature is bad: .*example\.com/foo.*does not verify"
    with pytest.raises(NoteError, match=bad):
        open_note(tampered, [key])


def test_sumdb_checkpoint() -> None:
    key, note = sumdb()
    assert key.key_id_hex == "033de0ae"
    checkpoint = open_checkpoint(note, [key], origin="go.sum database tree")
    assert checkpoint.size == 58253265
    assert checkpoint.root_hash.hex() == (
        "948c8b0047b8cc951001d6baa45160df23ce7fb8f54a07cc103ae98285f7f495"
    )
    assert checkpoint.extensions == ()
    assert sign_checkpoint is not None
    with pytest.raises(CheckpointError, match=r"expected 'sum\.golang\.org'"):
        open_checkpoint(note, [key], origin="sum.golang.org")
    with pytest.raises(NoteError, match="note signature is bad"):
        open_checkpoint(note.replace("58253265", "58253266"), [key])


def test_spec_checkpoint_example_parses_but_has_no_known_key() -> None:
    block = next(b for b in fenced_blocks() if b.startswith("example.com/behind-the-sofa"))
    text, signatures = parse_note(block)
    checkpoint = Checkpoint.from_text(text)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert signatures[0].name == "example.com/behind-the-sofa"
    key, _ = sumdb()
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_checkpoint(block, [key])


def test_sign_and_open_with_several_keys() -> None:
    log = SigningKey.generate("temoin.example/log")
    witness = SigningKey.generate("witness.example")
    stranger = SigningKey.generate("stranger.example")
    note = sign_note("hello\n\nworld\n", [log, witness])
    assert open_note(note, [log.verifier()]) == "hello\n\nworld\n"
    assert open_note(note, [witness.verifier(), stranger.verifier()]) == "hello\n\nworld\n"
    with pytest.raises(NoteError, match=r"known: stranger\.example"):
        open_note(note, [stranger.verifier()])
    with pytest.raises(NoteError, match="known: none"):
        open_note(note, [])
    # A known name with a different key id is an unknown key: ignored, not failed.
    impostor = VerifierKey(name="temoin.example/log", public_key=stranger.public_key_bytes)
    assert open_note(note, [impostor, witness.verifier()]) == "hello\n\nworld\n"


def test_a_bad_known_signature_rejects_even_if_another_verifies() -> None:
    log = SigningKey.generate("log")
    witness = SigningKey.generate("witness")
    good = sign_note("text\n", [log])
    forged = NoteSignature(name="witness", key_id=witness.key_id, signature=bytes(64))
    note = good + forged.to_line()
    with pytest.raises(NoteError, match=r"witness \(.*\) does not verify"):
        open_note(note, [log.verifier(), witness.verifier()])
    assert open_note(note, [log.verifier()]) == "text\n"


def test_the_same_verifier_key_twice_is_fine() -> None:
    log = SigningKey.generate("k")
    note = sign_note("x\n", [log])
    assert open_note(note, [log.verifier(), log.verifier()]) == "x\n"


def test_ambiguous_verifier_keys() -> None:
    class Colliding(VerifierKey):
        @property
        def key_id(self) -> bytes:
            return b"\x00\x00\x00\x00"

    a = Colliding(name="k", public_key=bytes(32))
    b = Colliding(name="k", public_key=bytes(31) + b"\x01")
    with pytest.raises(NoteError, match="two different verifier keys share name k"):
        open_note("x\n\n\u2014 k AAAAAAE=\n", [a, b])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "non-empty"),
        ("no newline", "must end with a newline"),
        ("\nstarts empty\n", "must not start with an empty line"),
        ("tab\there\n", "forbidden character '\\\\t' at offset 3"),
        ("cr\r\n", "forbidden character '\\\\r'"),
        ("del\x7f\n", "forbidden character"),
        ("sur\ud800\n", "forbidden character"),
    ],
)
def test_sign_note_refuses_bad_text(text: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        sign_note(text, [SigningKey.generate("k")])


def test_sign_note_needs_distinct_keys() -> None:
    key = SigningKey.generate("k")
    with pytest.raises(NoteError, match="at least one signing key"):
        sign_note("x\n", [])
    with pytest.raises(NoteError, match="given twice"):
        sign_note("x\n", [key, key])


def _good_note() -> tuple[SigningKey, str]:
    key = SigningKey.generate("k")
    return key, sign_note("line one\nline two\n", [key])


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda n: n[:-1], "does not end with a newline"),
        (lambda n: n + "garbage", "does not end with a newline"),
        (lambda n: n + "garbage\n", "signature line 2 does not start with an em dash"),
        (lambda n: n.replace("\n\n", "\n"), "no empty line"),
        (lambda n: n.replace("\u2014 k ", "\u2014 k  "), "is not '— <name> <base64>'"),
        (lambda n: n.replace("\u2014 k ", "\u2014 k+1 "), "signature line 1: key name"),
        (lambda n: n.replace("\u2014 k ", "- k "), "does not start with an em dash"),
        (lambda n: n[:-3] + "!=\n", "signature line 1: .* is not valid base64"),
        (lambda n: n + "\n", "no empty line|em dash"),
        (lambda n: "\x00" + n, "forbidden character"),
        (lambda n: n.replace("line one\n", "\n"), "must not start with an empty line"),
    ],
)
def test_parse_note_refusals(mutate: object, message: str) -> None:
    _, note = _good_note()
    assert callable(mutate)
    with pytest.raises(NoteError, match=message):
        parse_note(mutate(note))


def test_parse_note_more_refusals() -> None:
    with pytest.raises(NoteError, match="a note is a string"):
        parse_note(b"x\n\n")  # type: ignore[arg-type]
    short = base64.b64encode(b"\x00\x00\x00\x00").decode()
    with pytest.raises(NoteError, match="4 bytes is too short"):
        parse_note(f"x\n\n\u2014 k {short}\n")
    lines = "".join(f"\u2014 k{i} AAAAAAE=\n" for i in range(MAX_SIGNATURES + 1))
    with pytest.raises(NoteError, match=f"at most {MAX_SIGNATURES}"):
        parse_note("x\n\n" + lines)
    at_limit = "".join(f"\u2014 k{i} AAAAAAE=\n" for i in range(MAX_SIGNATURES))
    assert len(parse_note("x\n\n" + at_limit)[1]) == MAX_SIGNATURES


def test_note_flipped_signature_bits() -> None:
    key, note = _good_note()
    text, (signature,) = parse_note(note)
    for i in (0, 31, 63):
        bad = bytearray(signature.signature)
        bad[i] ^= 0x10
        forged = NoteSignature(name="k", key_id=signature.key_id, signature=bytes(bad))
        with pytest.raises(NoteError, match="does not verify"):
            open_note(text + "\n" + forged.to_line(), [key.verifier()])
    truncated = NoteSignature(name="k", key_id=signature.key_id, signature=signature.signature[:-1])
    with pytest.raises(NoteError, match="63 bytes, expected 64"):
        open_note(text + "\n" + truncated.to_line(), [key.verifier()])


# -- checkpoints --------------------------------------------------------------------


def test_checkpoint_round_trip_with_our_key() -> None:
    key = SigningKey.generate("temoin.example/log")
    leaves = [leaf_hash(bytes([i])) for i in range(5)]
    checkpoint = Checkpoint(
        origin="temoin.example/log",
        size=5,
        root_hash=root_hash(leaves),
        extensions=("ext one",),
    )
    note = sign_checkpoint(checkpoint, [key])
    assert note.startswith(checkpoint.to_text() + "\n\u2014 temoin.example/log ")
    assert open_checkpoint(note, [key.verifier()], origin="temoin.example/log") == checkpoint
    assert Checkpoint.from_text(checkpoint.to_text()) == checkpoint
    empty = Checkpoint(origin="o", size=0, root_hash=root_hash([]))
    assert Checkpoint.from_text(empty.to_text()) == empty


ROOT_B64 = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"o\n5\n{ROOT_B64}", "must end with a newline"),
        ("o\n5\n", "has 2 lines, expected at least 3"),
        (f"o\n05\n{ROOT_B64}\n", "'05' is not a decimal without leading zeros"),
        (f"o\n-1\n{ROOT_B64}\n", "not a decimal"),
        (f"o\n+1\n{ROOT_B64}\n", "not a decimal"),
        (f"o\n 1\n{ROOT_B64}\n", "not a decimal"),
        (f"o\n\u0661\n{ROOT_B64}\n", "not a decimal"),
        (f"o\n{2**64}\n{ROOT_B64}\n", "out of range"),
        (f"o\n{'9' * 21}\n{ROOT_B64}\n", "not a decimal"),
        (f"o\n1\n{ROOT_B64.rstrip('=')}\n", "not valid base64"),
        (f"o\n1\n{base64.b64encode(bytes(31)).decode()}\n", "31 bytes, expected 32"),
        (f"o\n1\n{ROOT_B64[:-2]}B=\n", "not canonical padded base64"),
        (f"\n1\n{ROOT_B64}\n", "origin must be a non-empty string"),
        (f"o\n1\n{ROOT_B64}\n\n", "extension line 0 must be a non-empty string"),
        (f"o\x01\n1\n{ROOT_B64}\n", "origin has a forbidden character"),
    ],
)
def test_checkpoint_text_refusals(text: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        Checkpoint.from_text(text)


def test_checkpoint_constructor_refusals() -> None:
    good = {"origin": "o", "size": 1, "root_hash": bytes(32)}
    cases = [
        ({"size": True}, "must be an integer"),
        ({"size": "1"}, "must be an integer"),
        ({"size": -1}, "out of range"),
        ({"root_hash": bytes(31)}, "must be 32 bytes"),
        ({"extensions": ["x"]}, "must be a tuple"),
        ({"extensions": ("a\nb",)}, "extension line 0 has a forbidden character"),
        ({"origin": 5}, "origin must be a non-empty string"),
    ]
    for change, message in cases:
        with pytest.raises(CheckpointError, match=message):
            Checkpoint(**{**good, **change})  # type: ignore[arg-type,dict-item]
    with pytest.raises(CheckpointError, match="must end with a newline"):
        Checkpoint.from_text(None)  # type: ignore[arg-type]


# -- tlog proofs --------------------------------------------------------------------


def test_real_tlog_proof() -> None:
    key, _ = sumdb()
    text = PROOF_FILE.read_text()
    proof = parse_tlog_proof(text)
    assert proof.index == 43930254
    assert len(proof.proof) == 26
    assert proof.extra is None
    assert leaf_hash(LEAF).hex() == (
        "0fa57c511c3b2ffcc0a05ad63172568d265aaf9844e9b636a0978795396f2ab1"
    )
    checkpoint = verify_tlog_proof(proof, LEAF, [key], origin="go.sum database tree")
    assert checkpoint.size == 58253265
    assert proof.to_text() == text


def test_real_tlog_proof_tampered() -> None:
    key, _ = sumdb()
    text = PROOF_FILE.read_text()
    proof = parse_tlog_proof(text)
    with pytest.raises(InclusionProofError, match="does not lead to the root"):
        verify_tlog_proof(proof, LEAF.replace(b"v1.0.0", b"v1.0.1"), [key])
    with pytest.raises(InclusionProofError, match="does not lead to the root"):
        verify_tlog_proof(proof, LEAF + b"\n", [key])
    wrong_index = TlogProof(index=proof.index + 1, proof=proof.proof, checkpoint=proof.checkpoint)
    with pytest.raises(InclusionProofError):
        verify_tlog_proof(wrong_index, LEAF, [key])
    with pytest.raises(InclusionProofError, match="has 25 elements, expected 26"):
        verify_tlog_proof(
            TlogProof(index=proof.index, proof=proof.proof[:-1], checkpoint=proof.checkpoint),
            LEAF,
            [key],
        )
    with pytest.raises(InclusionProofError, match="has 27 elements, expected 26"):
        verify_tlog_proof(
            TlogProof(
                index=proof.index, proof=(*proof.proof, bytes(32)), checkpoint=proof.checkpoint
            ),
            LEAF,
            [key],
        )
    for i in (0, 13, 25):
        flipped = bytearray(proof.proof[i])
        flipped[5] ^= 1
        bad = (*proof.proof[:i], bytes(flipped), *proof.proof[i + 1 :])
        with pytest.raises(InclusionProofError, match="does not lead to the root"):
            verify_tlog_proof(
                TlogProof(index=proof.index, proof=bad, checkpoint=proof.checkpoint), LEAF, [key]
            )
    with pytest.raises(NoteError):
        verify_tlog_proof(parse_tlog_proof(text.replace("58253265", "58253266")), LEAF, [key])
    with pytest.raises(NoteError):
        verify_tlog_proof(parse_tlog_proof(text + "garbage"), LEAF, [key])
    with pytest.raises(CheckpointError, match="expected 'other'"):
        verify_tlog_proof(proof, LEAF, [key], origin="other")
    with pytest.raises(NoteError, match="no signature from a known key"):
        verify_tlog_proof(proof, LEAF, [SigningKey.generate("sum.golang.org").verifier()])


def test_our_own_tlog_proof_with_extra() -> None:
    key = SigningKey.generate("temoin.example/log")
    entries = [f"event {i}".encode() for i in range(11)]
    leaves = [leaf_hash(e) for e in entries]
    checkpoint = Checkpoint(origin="temoin.example/log", size=11, root_hash=root_hash(leaves))
    note = sign_checkpoint(checkpoint, [key])
    proof = TlogProof(
        index=7, proof=tuple(inclusion_proof(leaves, 7)), checkpoint=note, extra=b"context"
    )
    parsed = parse_tlog_proof(proof.to_text())
    assert parsed == proof
    assert verify_tlog_proof(parsed, entries[7], [key.verifier()]) == checkpoint
    single = Checkpoint(origin="o", size=1, root_hash=leaf_hash(b"only"))
    one = TlogProof(index=0, proof=(), checkpoint=sign_checkpoint(single, [key]))
    assert parse_tlog_proof(one.to_text()) == one
    assert verify_tlog_proof(one, b"only", [key.verifier()]) == single


H0 = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("c2sp.org/tlog-proof@v1\nindex 0\n", "no empty line before its checkpoint"),
        ("c2sp.org/tlog-proof@v2\nindex 0\n\ncp\n", "line 1 is 'c2sp.org/tlog-proof@v2'"),
        ("c2sp.org/tlog-proof@v1\n\ncp\n", "line 2 must be 'index <decimal>'"),
        ("c2sp.org/tlog-proof@v1\nextra AA==\n\ncp\n", "line 3 must be 'index <decimal>'"),
        ("c2sp.org/tlog-proof@v1\nextra !!\nindex 0\n\ncp\n", "line 2 \\(extra\\)"),
        ("c2sp.org/tlog-proof@v1\nindex 01\n\ncp\n", "index '01' is not a decimal"),
        ("c2sp.org/tlog-proof@v1\nindex  1\n\ncp\n", "not a decimal"),
        ("c2sp.org/tlog-proof@v1\nIndex 1\n\ncp\n", "line 2 must be 'index"),
        (f"c2sp.org/tlog-proof@v1\nindex 1\n{H0}\n{H0[:-4]}\n\ncp\n", r"line 4 \(proof hash 1\)"),
        (f"c2sp.org/tlog-proof@v1\nindex 1\n{H0}x\n\ncp\n", "not valid base64"),
        ("c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\ncp\n", "is 3 bytes, expected 32"),
        ("c2sp.org/tlog-proof@v1\nindex 1\n\n", "no checkpoint after the empty line"),
    ],
)
def test_tlog_proof_refusals(text: str, message: str) -> None:
    with pytest.raises(BundleError, match=message):
        parse_tlog_proof(text)


def test_tlog_proof_not_text() -> None:
    with pytest.raises(BundleError, match="is text"):
        parse_tlog_proof(b"c2sp")  # type: ignore[arg-type]
    assert issubclass(BundleError, VerificationError)
