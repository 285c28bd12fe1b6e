"""Evidence bundles: build from a real log, verify, and fail on every kind of tampering.

The log here is a real RFC 6962 tree (list-based) over the custody events of three items,
interleaved as an archive would log them, signed by a real Ed25519 log key; one item's
events are partly signed by a user key.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from evidence.bundle import (
    FORMAT,
    Bundle,
    BundleEvent,
    ConsistencyProof,
    InclusionProof,
    ItemInfo,
    build_bundle,
    item_statement,
    parse_bundle,
    sign_item,
    verify_bundle,
)
from evidence.canonical import canonical_json
from evidence.checkpoint import Checkpoint, sign_checkpoint
from evidence.custody import event_bytes, event_digest, make_event, sign_event
from evidence.digest import Digest
from evidence.errors import (
    BundleError,
    CanonicalizationError,
    ChainError,
    CheckpointError,
    ConsistencyProofError,
    DigestMismatch,
    InclusionProofError,
    NoteError,
    SignatureError,
    VerificationError,
)
from evidence.merkle import consistency_proof, inclusion_proof, leaf_hash, root_hash
from evidence.signing import SigningKey, VerifierKey

ORIGIN = "temoin.example/log"
T0 = dt.datetime(2022, 3, 27, 10, 30, tzinfo=dt.UTC)
ORIGINALS = {
    "item-a": "Témoignage de Witness A : les hommes armés sont arrivés le 27 mars.\n".encode(),
    "item-b": b"%PDF-1.4 source excerpt, page 3\n",
    "item-c": b"\x89PNG\r\n\x1a\n photo of the market",
}
# (item, event type, actor, signed by the user key?) in the order the archive logged them.
SCRIPT = [
    ("item-a", "collected", "investigator:ana", False),
    ("item-b", "collected", "investigator:ana", False),
    ("item-a", "ingested", "investigator:ana", False),
    ("item-c", "collected", "investigator:moussa", False),
    ("item-b", "ingested", "investigator:ana", False),
    ("item-a", "sealed", "archive", False),
    ("item-c", "ingested", "investigator:moussa", False),
    ("item-a", "transferred", "investigator:ana", True),
    ("item-b", "sealed", "archive", False),
    ("item-a", "accessed", "legal:claire", True),
    ("item-c", "sealed", "archive", False),
]
OLD_SIZE = 6  # an earlier checkpoint the archive published (and a lawyer kept)


@dataclass
class Log:
    """An archive's log, in memory: keys, leaves, signed events, checkpoints."""

    log_key: SigningKey
    user_key: SigningKey
    leaves: list[bytes] = field(default_factory=list)
    events: dict[str, list[tuple[int, BundleEvent]]] = field(default_factory=dict)
    checkpoints: dict[int, str] = field(default_factory=dict)

    def checkpoint(self, size: int) -> str:
        if size not in self.checkpoints:
            hashes = [leaf_hash(leaf) for leaf in self.leaves[:size]]
            cp = Checkpoint(origin=ORIGIN, size=size, root_hash=root_hash(hashes))
            self.checkpoints[size] = sign_checkpoint(cp, [self.log_key])
        return self.checkpoints[size]


def make_log() -> Log:
    log = Log(
        log_key=SigningKey.generate(ORIGIN),
        user_key=SigningKey.generate("investigator:ana"),
    )
    prev: dict[str, Digest | None] = {}
    for n, (item, kind, actor, by_user) in enumerate(SCRIPT):
        history = log.events.setdefault(item, [])
        event = make_event(
            case="moura-2022",
            item=item,
            seq=len(history),
            type=kind,
            at=T0 + dt.timedelta(hours=n, microseconds=n),
            actor=actor,
            item_digest=Digest.sha256(ORIGINALS[item]),
            details={"to": "legal:claire"} if kind == "transferred" else {},
            prev=prev.get(item),
        )
        prev[item] = event_digest(event)
        signed = sign_event(event, log.user_key if by_user else log.log_key)
        data = event_bytes(event)
        history.append(
            (
                len(log.leaves),
                BundleEvent(
                    log_index=len(log.leaves),
                    canonical=data,
                    key_id=signed.key_id,
                    signature=signed.signature,
                ),
            )
        )
        log.leaves.append(data)
    log.checkpoint(OLD_SIZE)
    return log


def item_info(item: str) -> ItemInfo:
    data = ORIGINALS[item]
    return ItemInfo(
        id=item,
        case="moura-2022",
        kind="testimony" if item == "item-a" else "file_exhibit",
        title="Témoignage de Witness A" if item == "item-a" else f"Exhibit {item}",
        language="fr",
        digest=Digest.sha256(data),
        size=len(data),
        media_type="text/plain; charset=utf-8" if item == "item-a" else "application/pdf",
    )


def make_bundle(
    log: Log,
    item: str = "item-a",
    *,
    size: int | None = None,
    since: tuple[int, ...] = (OLD_SIZE,),
    disclosure: dict[str, object] | None = None,
) -> Bundle:
    """The bundle an archive would export for ``item`` at checkpoint ``size``."""
    size = len(log.leaves) if size is None else size
    hashes = [leaf_hash(leaf) for leaf in log.leaves[:size]]
    events = [e for index, e in log.events[item] if index < size]
    keys = {e.key_id for e in events} | {log.log_key.key_id_hex}
    info = item_info(item)
    return build_bundle(
        item=info,
        item_signature=sign_item(
            info,
            last_event=Digest.sha256(events[-1].canonical),
            tree_size=size,
            key=log.log_key,
        ),
        events=events,
        keys=[k.verifier() for k in (log.log_key, log.user_key) if k.key_id_hex in keys],
        checkpoint_note=log.checkpoint(size),
        inclusion=[
            InclusionProof(
                log_index=e.log_index, hashes=tuple(inclusion_proof(hashes, e.log_index))
            )
            for e in events
        ],
        consistency=[
            ConsistencyProof(
                old_checkpoint=log.checkpoint(old), hashes=tuple(consistency_proof(hashes, old))
            )
            for old in since
            if old < size
        ],
        disclosure=disclosure,
    )


@pytest.fixture(scope="module")
def log() -> Log:
    return make_log()


@pytest.fixture(scope="module")
def bundle(log: Log) -> Bundle:
    return make_bundle(log)


def pinned(log: Log) -> list[VerifierKey]:
    return [log.log_key.verifier()]


def as_json(bundle: Bundle) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(bundle.to_json())
    return loaded


def from_json(obj: dict[str, Any]) -> Bundle:
    return parse_bundle(json.dumps(obj, ensure_ascii=False))


# -- the valid bundle -----------------------------------------------------------------


def test_valid_bundle_verifies_with_everything(log: Log, bundle: Bundle) -> None:
    report = verify_bundle(
        bundle,
        exhibit=ORIGINALS["item-a"],
        trusted_keys=pinned(log),
        since_checkpoint=log.checkpoint(OLD_SIZE),
    )
    assert [c.name for c in report.checks] == [
        "exhibit digest",
        "event format",
        "event signatures",
        "custody chain",
        "events are about this item",
        "checkpoint signature",
        "item description",
        "log inclusion",
        "log consistency",
        "consistency with your checkpoint",
    ]
    assert report.log_key_pinned
    assert report.exhibit_checked
    assert report.warnings == ()
    assert report.not_checked == ()
    assert report.checkpoint.size == len(SCRIPT)
    assert "trusted key" in report.checks[5].detail
    timeline = [(t.seq, t.type, t.actor, t.log_index) for t in report.timeline]
    assert timeline == [
        (0, "collected", "investigator:ana", 0),
        (1, "ingested", "investigator:ana", 2),
        (2, "sealed", "archive", 5),
        (3, "transferred", "investigator:ana", 7),
        (4, "accessed", "legal:claire", 9),
    ]
    assert report.timeline[3].key_id == log.user_key.key_id_hex
    assert report.timeline[3].key_name == "investigator:ana"
    assert not report.timeline[3].key_pinned  # the user key was not given as trusted
    assert report.timeline[0].key_pinned
    assert report.timeline[3].details == {"to": "legal:claire"}
    assert report.timeline[0].at == "2022-03-27T10:30:00Z"
    obj = report.to_json_object()
    assert obj["verdict"] == "verified"
    assert json.loads(json.dumps(obj)) == obj


def test_every_item_of_the_log_verifies(log: Log) -> None:
    for item in ORIGINALS:
        for size in (len(SCRIPT) - 1, len(SCRIPT)):
            b = make_bundle(log, item, size=size)
            verify_bundle(b, exhibit=ORIGINALS[item], trusted_keys=pinned(log))


def test_exhibit_as_a_path(log: Log, bundle: Bundle, tmp_path: Path) -> None:
    path = tmp_path / "exhibit.txt"
    path.write_bytes(ORIGINALS["item-a"])
    assert verify_bundle(bundle, exhibit=path).exhibit_checked


def test_unpinned_and_no_exhibit_are_reported(bundle: Bundle) -> None:
    report = verify_bundle(bundle)
    assert not report.log_key_pinned
    assert not report.exhibit_checked
    assert len(report.warnings) == 1
    assert "NOT PINNED" in report.warnings[0]
    assert "taken from the bundle itself" in report.checks[4].detail
    assert any("exhibit file" in n for n in report.not_checked)
    assert any("--since" in n for n in report.not_checked)


def test_disclosure_is_reported_as_not_checked(log: Log) -> None:
    b = make_bundle(log, disclosure={"segments": ["c2FsdA=="]})
    assert parse_bundle(b.to_json()) == b
    report = verify_bundle(b, trusted_keys=pinned(log))
    assert any(n.startswith("disclosure proof") for n in report.not_checked)


def test_bundle_without_consistency_and_since_at_same_size(log: Log) -> None:
    b = make_bundle(log, since=())
    assert "consistency" not in as_json(b)
    report = verify_bundle(
        b, trusted_keys=pinned(log), since_checkpoint=log.checkpoint(len(SCRIPT))
    )
    assert report.checks[-1].name == "consistency with your checkpoint"
    assert report.not_checked == (
        "exhibit file: none given, so the digest was not compared "
        "with a file (give the file to check it is the one the "
        "record is about)",
    )


def test_round_trip_and_canonical_output(bundle: Bundle) -> None:
    text = bundle.to_json()
    assert parse_bundle(text) == bundle
    assert parse_bundle(text.encode()) == bundle
    assert canonical_json(json.loads(text)).decode() == text
    assert "\n" not in text  # line breaks inside strings are escaped


def test_item_statement_is_domain_separated(bundle: Bundle) -> None:
    message = item_statement(bundle.item, last_event=Digest.sha256(b"x"), tree_size=3)
    obj = json.loads(message)
    assert obj["statement"] == "temoin-bundle/v1 item"
    assert not message.endswith(b"\n")  # never a signed-note text


# -- exhaustive tampering -------------------------------------------------------------


def test_every_bit_flip_of_a_small_bundle_is_caught(log: Log) -> None:
    """Flip each bit of each byte of the file: parsing or verification must fail.

    The bundle is canonical JSON (no insignificant whitespace), verified with the
    exhibit, the pinned key and a --since checkpoint, so that every member is checked.
    """
    small = make_bundle(log, "item-c", size=len(SCRIPT))
    data = small.to_json().encode()
    since = log.checkpoint(OLD_SIZE)
    trusted = pinned(log)
    verify_bundle(small, exhibit=ORIGINALS["item-c"], trusted_keys=trusted, since_checkpoint=since)
    passed: list[int] = []
    for position in range(len(data)):
        for bit in range(8):
            mutated = bytearray(data)
            mutated[position] ^= 1 << bit
            try:
                parsed = parse_bundle(bytes(mutated))
                verify_bundle(
                    parsed,
                    exhibit=ORIGINALS["item-c"],
                    trusted_keys=trusted,
                    since_checkpoint=since,
                )
            except VerificationError:
                continue
            if parsed != small:
                passed.append(position)
    assert passed == [], f"undetected flips at bytes {passed[:10]} of {len(data)}"


# -- tampering, one thing at a time ---------------------------------------------------


def test_exhibit_with_one_byte_changed(bundle: Bundle) -> None:
    changed = bytearray(ORIGINALS["item-a"])
    changed[10] ^= 0x01
    with pytest.raises(DigestMismatch, match="exhibit file does not match the bundle"):
        verify_bundle(bundle, exhibit=bytes(changed))
    with pytest.raises(DigestMismatch, match="exhibit file does not match"):
        verify_bundle(bundle, exhibit=ORIGINALS["item-a"] + b"\n")


def test_exhibit_size_must_match_too(log: Log) -> None:
    obj = as_json(make_bundle(log))
    obj["item"]["size"] += 1
    with pytest.raises(DigestMismatch, match=r"exhibit file is \d+ bytes, the bundle says"):
        verify_bundle(from_json(obj), exhibit=ORIGINALS["item-a"])


def test_wrong_trusted_key(bundle: Bundle) -> None:
    other = SigningKey.generate(ORIGIN).verifier()
    with pytest.raises(CheckpointError, match="not signed by a trusted key"):
        verify_bundle(bundle, trusted_keys=[other])
    another_log = SigningKey.generate("other.example/log").verifier()
    with pytest.raises(CheckpointError, match="not signed by a trusted key"):
        verify_bundle(bundle, trusted_keys=[another_log])
    with pytest.raises(VerificationError, match="trusted_keys is empty"):
        verify_bundle(bundle, trusted_keys=[])


def test_forged_checkpoint_signed_by_another_key(log: Log, bundle: Bundle) -> None:
    forger = SigningKey.generate(ORIGIN)
    obj = as_json(bundle)
    forged = Checkpoint(origin=ORIGIN, size=len(SCRIPT), root_hash=b"\x07" * 32)
    obj["checkpoint"] = sign_checkpoint(forged, [forger])
    obj["keys"].append(forger.verifier().to_vkey())
    with pytest.raises(CheckpointError, match="not signed by a trusted key"):
        verify_bundle(from_json(obj), trusted_keys=pinned(log))
    # Unpinned, the forger's key is taken from the bundle, but the item description is
    # still signed by the real log key, which did not sign this checkpoint.
    with pytest.raises(SignatureError, match="not a key that signed the checkpoint"):
        verify_bundle(from_json(obj))
    # Same checkpoint, re-signed by the forger: the pinned key still refuses it.
    obj = as_json(bundle)
    real = Checkpoint.from_text(log.checkpoint(len(SCRIPT)).split("\n\n")[0] + "\n")
    obj["checkpoint"] = sign_checkpoint(real, [forger])
    obj["keys"].append(forger.verifier().to_vkey())
    with pytest.raises(CheckpointError, match="not signed by a trusted key"):
        verify_bundle(from_json(obj), trusted_keys=pinned(log))


def test_a_complete_forgery_passes_only_unpinned(log: Log) -> None:
    """Someone with their own key can make a self-consistent bundle: that is why one pins."""
    fake = make_log()
    b = make_bundle(fake)
    report = verify_bundle(b, exhibit=ORIGINALS["item-a"])
    assert not report.log_key_pinned and "NOT PINNED" in report.warnings[0]
    with pytest.raises(CheckpointError, match="not signed by a trusted key"):
        verify_bundle(b, trusted_keys=pinned(log))


def test_checkpoint_tampering(log: Log, bundle: Bundle) -> None:
    obj = as_json(bundle)
    text, sigs = obj["checkpoint"].split("\n\n")
    origin, size, root = text.split("\n")
    obj["checkpoint"] = f"{origin}\n{int(size) + 1}\n{root}\n\n{sigs}"
    with pytest.raises(NoteError, match="signature of the checkpoint does not verify"):
        verify_bundle(from_json(obj))
    obj["checkpoint"] = "not a note"
    with pytest.raises(CheckpointError, match="checkpoint is malformed"):
        verify_bundle(from_json(obj))
    # A second signature line by a key the bundle does not list is refused, not ignored.
    stranger = SigningKey.generate("witness.example")
    both = sign_checkpoint(Checkpoint.from_text(text + "\n"), [log.log_key, stranger])
    obj["checkpoint"] = both
    with pytest.raises(CheckpointError, match="a key the bundle does not list"):
        verify_bundle(from_json(obj))


def test_checkpoint_must_be_signed_by_a_key_named_like_its_origin(log: Log) -> None:
    obj = as_json(make_bundle(log))
    imposter = SigningKey.generate("another.example/log")
    cp = Checkpoint.from_text(obj["checkpoint"].split("\n\n")[0] + "\n")
    obj["checkpoint"] = sign_checkpoint(cp, [imposter])
    obj["keys"].append(imposter.verifier().to_vkey())
    with pytest.raises(CheckpointError, match="none of its signatures is by a key of that name"):
        verify_bundle(from_json(obj))


def test_missing_inclusion_proof(log: Log, bundle: Bundle) -> None:
    obj = as_json(bundle)
    del obj["inclusion"][2]
    with pytest.raises(
        InclusionProofError,
        match=r"inclusion proof 2 is for log index 7, but event 2 \(type sealed\) is at "
        r"log index 5",
    ):
        verify_bundle(from_json(obj))
    obj = as_json(bundle)
    obj["inclusion"].pop()
    with pytest.raises(
        InclusionProofError, match=r"no inclusion proof for event 4 \(type accessed\)"
    ):
        verify_bundle(from_json(obj))
    obj = as_json(bundle)
    obj["inclusion"].append(obj["inclusion"][0])
    with pytest.raises(InclusionProofError, match="6 inclusion proofs for 5 events"):
        verify_bundle(from_json(obj))


def test_inclusion_proof_wrong_or_short(bundle: Bundle) -> None:
    obj = as_json(bundle)
    obj["inclusion"][1]["hashes"][0] = base64.b64encode(b"\x00" * 32).decode()
    with pytest.raises(InclusionProofError, match=r"event 1 \(type ingested\) is not in the log"):
        verify_bundle(from_json(obj))
    obj = as_json(bundle)
    obj["inclusion"][1]["hashes"].pop()
    with pytest.raises(InclusionProofError, match="elements, expected"):
        verify_bundle(from_json(obj))


def test_tree_size_comes_from_the_signed_checkpoint(log: Log) -> None:
    """A proof valid for a smaller tree does not pass against the signed, larger one."""
    small = make_bundle(log, size=8)
    big = as_json(make_bundle(log))
    big["inclusion"] = as_json(small)["inclusion"] + big["inclusion"][4:]
    with pytest.raises(InclusionProofError):
        verify_bundle(from_json(big))


def test_event_removed(log: Log, bundle: Bundle) -> None:
    obj = as_json(bundle)
    del obj["events"][2], obj["inclusion"][2]
    with pytest.raises(ChainError, match=r"expected seq 2, got 3"):
        verify_bundle(from_json(obj))
    # Dropping the last event leaves a valid chain, but the log key signed which event
    # was last as of the checkpoint.
    obj = as_json(bundle)
    obj["events"].pop()
    obj["inclusion"].pop()
    with pytest.raises(SignatureError, match="item description does not verify"):
        verify_bundle(from_json(obj))


def test_two_events_swapped(bundle: Bundle) -> None:
    obj = as_json(bundle)
    obj["events"][1], obj["events"][2] = obj["events"][2], obj["events"][1]
    obj["inclusion"][1], obj["inclusion"][2] = obj["inclusion"][2], obj["inclusion"][1]
    with pytest.raises(ChainError, match=r"expected seq 1, got 2"):
        verify_bundle(from_json(obj))


def test_event_log_indexes_must_increase(log: Log) -> None:
    obj = as_json(make_bundle(log))
    obj["events"][1]["log_index"] = 0
    with pytest.raises(InclusionProofError, match="not after the previous event's 0"):
        verify_bundle(from_json(obj))


def test_event_signature_failures(log: Log, bundle: Bundle) -> None:
    obj = as_json(bundle)
    sig = bytearray(base64.b64decode(obj["events"][3]["signature"]))
    sig[0] ^= 1
    obj["events"][3]["signature"] = base64.b64encode(sig).decode()
    with pytest.raises(
        SignatureError,
        match=rf"signature of event 3 \(type transferred\) does not verify with key "
        rf"{log.user_key.key_id_hex} \(investigator:ana\)",
    ):
        verify_bundle(from_json(obj))
    obj = as_json(bundle)
    obj["events"][0]["key_id"] = "00000000"
    with pytest.raises(SignatureError, match="key 00000000 is not in the bundle"):
        verify_bundle(from_json(obj))


def test_event_content_changed_and_resigned_is_caught(log: Log, bundle: Bundle) -> None:
    """An insider with the user key re-signs a changed event: the log still catches it."""
    obj = as_json(bundle)
    event = json.loads(base64.b64decode(obj["events"][4]["canonical"]))
    event["actor"] = "legal:someone-else"
    data = canonical_json(event)
    obj["events"][4]["canonical"] = base64.b64encode(data).decode()
    obj["events"][4]["signature"] = base64.b64encode(log.user_key.sign(data)).decode()
    with pytest.raises(SignatureError, match="item description"):
        verify_bundle(from_json(obj))  # the last event's digest is signed by the log key


def test_event_not_canonical_or_not_an_event(log: Log, bundle: Bundle) -> None:
    def with_event(data: bytes) -> Bundle:
        obj = as_json(bundle)
        obj["events"][0]["canonical"] = base64.b64encode(data).decode()
        return from_json(obj)

    event = json.loads(bundle.events[0].canonical)
    with pytest.raises(CanonicalizationError, match="event 0 is not canonical JSON"):
        verify_bundle(with_event(json.dumps(event, indent=1).encode()))
    with pytest.raises(ChainError, match="event 0: an event is a JSON object, got an array"):
        verify_bundle(with_event(b"[]"))
    with pytest.raises(ChainError, match="event 0 is not a valid custody event: field 'type'"):
        verify_bundle(with_event(canonical_json({**event, "type": "deleted"})))
    obj = as_json(bundle)
    obj["events"] = []
    obj["inclusion"] = []
    with pytest.raises(ChainError, match="the bundle has no events"):
        verify_bundle(from_json(obj))


def _resigned(log: Log, bundle: Bundle, change: dict[str, object]) -> Bundle:
    """The bundle with event 0 changed and re-signed (and re-chained): only later checks see it."""
    obj = as_json(bundle)
    event = {**json.loads(bundle.events[0].canonical), **change}
    data = canonical_json(event)
    obj["events"] = [
        {
            "log_index": 0,
            "canonical": base64.b64encode(data).decode(),
            "key_id": log.log_key.key_id_hex,
            "signature": base64.b64encode(log.log_key.sign(data)).decode(),
        }
    ]
    obj["inclusion"] = obj["inclusion"][:1]
    return from_json(obj)


def test_events_must_be_about_the_item(log: Log, bundle: Bundle) -> None:
    with pytest.raises(ChainError, match="is about case 'moura-2022' item 'item-b'"):
        verify_bundle(_resigned(log, bundle, {"item": "item-b"}))
    other = str(Digest.sha256(b"another original"))
    with pytest.raises(ChainError, match=f"records item digest {other}"):
        verify_bundle(_resigned(log, bundle, {"item_digest": other}))
    with pytest.raises(ChainError, match="custody chain is broken"):
        verify_bundle(_resigned(log, bundle, {"seq": 1}))


def test_events_may_withhold_the_item_digest(log: Log, bundle: Bundle) -> None:
    """``item_digest: null`` passes check 5: the sealed and published events of a text item
    withhold the digest because a public record carries them. Here the failure comes only
    later, from the item signature (the test log signed other bytes); a real log with such
    events verifies in full in test_public_bundle.py."""
    with pytest.raises(SignatureError, match="item description does not verify"):
        verify_bundle(_resigned(log, bundle, {"item_digest": None}))


def test_item_description_tampering(log: Log, bundle: Bundle) -> None:
    for member, value in [("title", "Another title"), ("language", "en"), ("kind", "photo")]:
        obj = as_json(bundle)
        obj["item"][member] = value
        with pytest.raises(SignatureError, match="item description does not verify"):
            verify_bundle(from_json(obj))
    obj = as_json(bundle)
    obj["item_signature"]["key_id"] = log.user_key.key_id_hex
    with pytest.raises(SignatureError, match="not a key that signed the checkpoint"):
        verify_bundle(from_json(obj))


def test_unused_key_is_refused(bundle: Bundle) -> None:
    obj = as_json(bundle)
    obj["keys"].append(SigningKey.generate("someone").verifier().to_vkey())
    with pytest.raises(
        BundleError, match=r"key [0-9a-f]{8} \(someone\) is listed .* signed nothing"
    ):
        verify_bundle(from_json(obj))


def test_keys_that_signed_events_must_be_listed(log: Log, bundle: Bundle) -> None:
    """Pinning the log key does not excuse the bundle from listing it: it must stand alone."""
    obj = as_json(bundle)
    obj["keys"] = [k for k in obj["keys"] if not k.startswith(ORIGIN)]
    with pytest.raises(SignatureError, match=f"key {log.log_key.key_id_hex} is not in the bundle"):
        verify_bundle(from_json(obj), trusted_keys=pinned(log))


# -- consistency ----------------------------------------------------------------------


def test_wrong_since(log: Log, bundle: Bundle) -> None:
    # A checkpoint of a size the bundle has no proof for.
    with pytest.raises(ConsistencyProofError, match="no consistency proof from size 5"):
        verify_bundle(bundle, trusted_keys=pinned(log), since_checkpoint=log.checkpoint(5))
    # A checkpoint from a forked log of the same size (split view).
    fork = Checkpoint(origin=ORIGIN, size=OLD_SIZE, root_hash=b"\x01" * 32)
    with pytest.raises(ConsistencyProofError, match="not proven to be a prefix"):
        verify_bundle(
            bundle,
            trusted_keys=pinned(log),
            since_checkpoint=sign_checkpoint(fork, [log.log_key]),
        )
    # Newer than the bundle.
    newer = Checkpoint(origin=ORIGIN, size=len(SCRIPT) + 5, root_hash=b"\x01" * 32)
    with pytest.raises(ConsistencyProofError, match="is newer than the bundle's checkpoint"):
        verify_bundle(bundle, since_checkpoint=sign_checkpoint(newer, [log.log_key]))
    # Signed by someone else.
    other = SigningKey.generate(ORIGIN)
    real_old = Checkpoint.from_text(log.checkpoint(OLD_SIZE).split("\n\n")[0] + "\n")
    with pytest.raises(CheckpointError, match="none of its signatures is by a key of that name"):
        verify_bundle(bundle, since_checkpoint=sign_checkpoint(real_old, [other]))
    # From another log.
    elsewhere = SigningKey.generate("other.example/log")
    other_log = Checkpoint(origin="other.example/log", size=OLD_SIZE, root_hash=b"\x01" * 32)
    with pytest.raises(ConsistencyProofError, match=r"is for log 'other\.example/log'"):
        verify_bundle(
            bundle,
            trusted_keys=[log.log_key.verifier(), elsewhere.verifier()],
            since_checkpoint=sign_checkpoint(other_log, [elsewhere]),
        )


def test_since_ignores_cosignatures_from_unknown_keys(log: Log, bundle: Bundle) -> None:
    witness = SigningKey.generate("witness.example")
    old = Checkpoint.from_text(log.checkpoint(OLD_SIZE).split("\n\n")[0] + "\n")
    note = sign_checkpoint(old, [log.log_key, witness])
    report = verify_bundle(bundle, trusted_keys=pinned(log), since_checkpoint=note)
    assert report.checks[-1].name == "consistency with your checkpoint"


def test_consistency_entries_are_always_checked(log: Log, bundle: Bundle) -> None:
    obj = as_json(bundle)
    obj["consistency"][0]["hashes"][0] = base64.b64encode(b"\x02" * 32).decode()
    with pytest.raises(ConsistencyProofError, match="consistency proof 0: the log at size 6"):
        verify_bundle(from_json(obj))
    obj = as_json(make_bundle(log, since=(OLD_SIZE, 3)))
    obj["consistency"][1] = obj["consistency"][0]
    with pytest.raises(ConsistencyProofError, match="consistency proof 1 repeats the old size 6"):
        verify_bundle(from_json(obj))
    obj = as_json(bundle)
    forged = Checkpoint(origin=ORIGIN, size=OLD_SIZE, root_hash=b"\x01" * 32)
    obj["consistency"][0]["old_checkpoint"] = sign_checkpoint(forged, [SigningKey.generate(ORIGIN)])
    with pytest.raises(CheckpointError, match="a key the bundle does not list"):
        verify_bundle(from_json(obj))


# -- parsing --------------------------------------------------------------------------


def _set(obj: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    target: Any = obj
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return obj


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["format"], "temoin-bundle/v2", r"\$\.format: 'temoin-bundle/v2' is not a supported"),
        (["format"], _DELETE, r"\$\.format: None is not a supported"),
        (["extra"], 1, r"\$: unexpected member 'extra'"),
        (["keys"], _DELETE, r"\$: missing member 'keys'"),
        (["item", "size"], "12", r"\$\.item\.size: expected an integer"),
        (["item", "size"], 12.0, r"\$\.item\.size: expected an integer"),
        (["item", "size"], True, r"\$\.item\.size: expected an integer"),
        (["item", "size"], -1, r"\$\.item\.size: expected an integer"),
        (["item", "size"], 2**53, r"\$\.item\.size: expected an integer"),
        (["item", "title"], "", r"\$\.item\.title: expected a non-empty string, got a string"),
        (["item", "title"], None, r"\$\.item\.title: expected a non-empty string, got null"),
        (["item", "digest"], "sha256:00", r"\$\.item\.digest: malformed digest"),
        (["item", "colour"], "red", r"\$\.item: unexpected member 'colour'"),
        (["item"], [], r"\$\.item: expected an object, got an array"),
        (["item_signature", "key_id"], "ABCDEF01", r"\$\.item_signature\.key_id: key id"),
        (
            ["item_signature", "signature"],
            "!!",
            r"\$\.item_signature\.signature: .* not valid base64",
        ),
        (["events"], {}, r"\$\.events: expected an array, got an object"),
        (["events", 1, "canonical"], "eyJ=", r"\$\.events\[1\]\.canonical: .*not canonical padded"),
        (["events", 1, "log_index"], "2", r"\$\.events\[1\]\.log_index: expected an integer"),
        (
            ["events", 0, "key_id"],
            5,
            r"\$\.events\[0\]\.key_id: expected a non-empty string, got a number",
        ),
        (["events", 0, "signature"], _DELETE, r"\$\.events\[0\]: missing member 'signature'"),
        (["keys", 0], "nope", r"\$\.keys\[0\]: verifier key 'nope' is not name\+hexid\+base64"),
        (["checkpoint"], False, r"\$\.checkpoint: expected a non-empty string, got a boolean"),
        (
            ["inclusion", 0, "hashes", 0],
            "AAAA",
            r"\$\.inclusion\[0\]\.hashes\[0\]: a hash is 32 bytes, got 3",
        ),
        (["inclusion", 0, "hashes"], "AAAA", r"\$\.inclusion\[0\]\.hashes: expected an array"),
        (["consistency", 0, "old_size"], 6, r"\$\.consistency\[0\]: unexpected member 'old_size'"),
        (["consistency", 0, "old_checkpoint"], "", r"\$\.consistency\[0\]\.old_checkpoint"),
        (["disclosure"], [1], r"\$\.disclosure: expected an object, got an array"),
    ],
)
def test_parse_names_the_json_path(
    bundle: Bundle, path: list[Any], value: Any, message: str
) -> None:
    with pytest.raises(BundleError, match=message):
        from_json(_set(as_json(bundle), path, value))


def test_parse_refuses_bad_json(bundle: Bundle) -> None:
    text = bundle.to_json()
    with pytest.raises(BundleError, match="bundle is not UTF-8"):
        parse_bundle(b"\xff" + text.encode())
    with pytest.raises(BundleError, match="bundle is not JSON"):
        parse_bundle(text[:-1])
    with pytest.raises(BundleError, match="duplicate JSON member 'format'"):
        parse_bundle('{"format":"x","format":"y"}')
    with pytest.raises(BundleError, match="NaN is not allowed"):
        parse_bundle('{"format":NaN}')
    with pytest.raises(BundleError, match="nested too deeply"):
        parse_bundle("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BundleError, match=r"\$: expected an object, got an array"):
        parse_bundle("[]")
    with pytest.raises(BundleError, match="a bundle is bytes or text, got int"):
        parse_bundle(7)  # type: ignore[arg-type]
    obj = as_json(bundle)
    obj["keys"].append(obj["keys"][0])
    with pytest.raises(BundleError, match=r"\$\.keys\[2\]: key id .* is listed twice"):
        from_json(obj)


def test_build_bundle_refuses_what_cannot_be_written(log: Log, bundle: Bundle) -> None:
    fields = {f.name: getattr(bundle, f.name) for f in dataclasses.fields(bundle)}
    args = {
        "item": fields["item"],
        "item_signature": fields["item_signature"],
        "events": fields["events"],
        "keys": fields["keys"],
        "checkpoint_note": fields["checkpoint"],
        "inclusion": fields["inclusion"],
    }
    assert build_bundle(**args) == dataclasses.replace(bundle, consistency=())
    with pytest.raises(BundleError, match="cannot write the bundle"):
        build_bundle(**args, disclosure={"x": float("nan")})
    bad_item = dataclasses.replace(bundle.item, title="")
    with pytest.raises(BundleError, match=r"\$\.item\.title: expected a non-empty string"):
        build_bundle(**{**args, "item": bad_item})
    as_list = [dataclasses.replace(p, hashes=list(p.hashes)) for p in bundle.inclusion]  # type: ignore[arg-type]
    with pytest.raises(BundleError, match="does not read back as built"):
        build_bundle(**{**args, "inclusion": as_list})
    assert FORMAT == "temoin-bundle/v1"


# -- the documented schema ------------------------------------------------------------

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "bundle.schema.json"


def test_built_bundles_match_the_published_schema(log: Log) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is a dev extra")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for b in (make_bundle(log), make_bundle(log, "item-c", disclosure={"v": 1})):
        errors = [e.message for e in validator.iter_errors(as_json(b))]
        assert errors == []
    wrong = as_json(make_bundle(log))
    wrong["events"][0]["key_id"] = "XYZ"
    del wrong["checkpoint"]
    assert len(list(validator.iter_errors(wrong))) == 2
