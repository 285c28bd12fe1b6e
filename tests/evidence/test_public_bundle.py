"""Public bundles built here from scratch, with every way a signed record can be wrong."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import secrets
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evidence import merkle
from evidence.bundle import (
    BundleEvent,
    InclusionProof,
    ItemInfo,
    build_bundle,
    sign_item,
    verify_bundle,
)
from evidence.checkpoint import Checkpoint, sign_checkpoint
from evidence.custody import event_bytes, event_digest, make_event, sign_event
from evidence.digest import Digest
from evidence.disclosure import (
    DisclosureError,
    Visible,
    commit,
    disclose,
    parse_disclosure,
    render,
    snap_spans,
)
from evidence.errors import BundleError, ChainError, DigestMismatch, VerificationError
from evidence.public_bundle import (
    PublicBundle,
    PublicItem,
    build_public_bundle,
    parse_public_bundle,
    verify_public_bundle,
)
from evidence.signing import SigningKey
from tests.evidence.test_bundle import ORIGIN as LOG_ORIGIN
from tests.evidence.test_bundle import T0 as LOG_T0
from tests.evidence.test_bundle import Log, make_bundle, make_log

ORIGIN = "test.temoin/log"
TEXT = "Hamadoun Traoré saw the soldiers at the riverbank of Moura."
NAME = "Hamadoun Traoré"
AT = dt.datetime(2022, 4, 14, tzinfo=dt.UTC)

Edit = Callable[[dict[str, Any]], None]


def build(
    *,
    sealed_edit: Edit | None = None,
    published_edit: Edit | None = None,
    public_text: str | None = None,
    order: tuple[int, int] = (0, 1),
    item: PublicItem | None = None,
    consecutive: bool = False,
) -> tuple[Any, SigningKey]:
    key = SigningKey.generate(ORIGIN)
    secret = secrets.token_bytes(32)
    spans = snap_spans(TEXT, [(0, len(NAME), "Witness A")])
    disclosure = disclose(TEXT, secret, spans)
    rendered = "[Witness A] saw the soldiers at the riverbank of Moura."
    commitment = commit(TEXT, secret)
    root_b64 = base64.b64encode(commitment.root).decode()
    common: dict[str, Any] = {
        "case": "case-one",
        "item": "item-1",
        "at": AT,
        "actor": "archive",
        "item_digest": None,
    }
    sealed = make_event(
        **common,
        seq=2,
        type="sealed",
        prev="sha256:" + "0" * 64,
        details={
            "commitment": {
                "scheme": "temoin-disclosure/v1",
                "root": root_b64,
                "count": commitment.count,
            }
        },
    )
    published = make_event(
        **common,
        seq=3 if consecutive else 5,
        type="published",
        prev=event_digest(sealed) if consecutive else "sha256:" + "1" * 64,
        details={
            "public_text_digest": str(Digest.sha256(rendered.encode())),
            "commitment_root": root_b64,
            "public_title": "Testimony",
            "kind": "testimony",
            "language": "en",
        },
    )
    for event, edit in ((sealed, sealed_edit), (published, published_edit)):
        if edit:
            edit(event)
    events = [sealed, published]
    events = [events[order[0]], events[order[1]]]
    leaves = [merkle.leaf_hash(b"earlier event %d" % i) for i in range(5)]
    indexes = []
    for event in events:
        indexes.append(len(leaves))
        leaves.append(merkle.leaf_hash(event_bytes(event)))
    leaves.append(merkle.leaf_hash(b"later event"))
    note = sign_checkpoint(
        Checkpoint(origin=ORIGIN, size=len(leaves), root_hash=merkle.root_hash(leaves)), [key]
    )
    signed = [sign_event(e, key) for e in events]
    bundle = build_public_bundle(
        item=item
        or PublicItem(
            id="item-1", case="case-one", kind="testimony", title="Testimony", language="en"
        ),
        public_text=rendered if public_text is None else public_text,
        disclosure=disclosure,
        events=[
            BundleEvent(
                log_index=i, canonical=event_bytes(s.event), key_id=s.key_id, signature=s.signature
            )
            for i, s in zip(indexes, signed, strict=True)
        ],
        keys=[key.verifier()],
        checkpoint_note=note,
        inclusion=[
            InclusionProof(log_index=i, hashes=tuple(merkle.inclusion_proof(leaves, i)))
            for i in indexes
        ],
    )
    return bundle, key


def test_a_good_record_verifies() -> None:
    bundle, key = build()
    report = verify_public_bundle(bundle, trusted_keys=[key.verifier()])
    assert report.withheld == ("Witness A",)
    assert report.log_key_pinned and not report.warnings
    unpinned = verify_public_bundle(parse_public_bundle(bundle.to_json()))
    assert unpinned.warnings and not unpinned.log_key_pinned
    assert "Hamadoun" not in bundle.to_json() and "Traor" not in bundle.to_json()


def _set(path: str, value: object) -> Edit:
    def edit(event: dict[str, Any]) -> None:
        target = event
        *parents, last = path.split(".")
        for part in parents:
            target = target[part]
        target[last] = value

    return edit


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"order": (1, 0)}, ChainError, "sealed event, then its published"),
        ({"sealed_edit": _set("item", "item-2")}, ChainError, "not this record"),
        ({"published_edit": _set("seq", 1)}, ChainError, "must come after"),
        ({"published_edit": _set("seq", 3)}, ChainError, "its prev is sha256:1111"),
        ({"published_edit": _set("prev", None)}, ChainError, "only an item's first event"),
        (
            {"sealed_edit": _set("details.extra", 1)},
            ChainError,
            r"sealed event's details must be exactly \['commitment'\].*unexpected \['extra'\]",
        ),
        (
            {"published_edit": _set("details.digest", "sha256:" + "2" * 64)},
            ChainError,
            r"published event's details must be exactly .*unexpected \['digest'\]",
        ),
        ({"sealed_edit": _set("details", {})}, ChainError, r"missing \['commitment'\]"),
        (
            {"sealed_edit": _set("details.commitment.count", "3")},
            DisclosureError,
            r"the sealed event's details\.commitment\.count: expected an integer",
        ),
        (
            {"sealed_edit": _set("details.commitment.count", True)},
            DisclosureError,
            r"details\.commitment\.count: expected an integer",
        ),
        (
            {"sealed_edit": _set("details.commitment.root", "***")},
            DisclosureError,
            r"details\.commitment\.root: .*not valid base64",
        ),
        (
            {"sealed_edit": _set("details.commitment.scheme", "v0")},
            DisclosureError,
            r"details\.commitment\.scheme: 'v0' is not a supported scheme",
        ),
        (
            {"published_edit": _set("details.public_text_digest", "sha256:" + "3" * 64)},
            DigestMismatch,
            "the public text's SHA-256 is sha256:.*, but the published event signed",
        ),
        (
            {"published_edit": _set("details.public_text_digest", 7)},
            DigestMismatch,
            "but the published event signed 7",
        ),
        (
            {"published_edit": _set("details.commitment_root", "AAAA")},
            DisclosureError,
            "another commitment",
        ),
        ({"published_edit": _set("details.language", "fr")}, ChainError, "language is 'en', not"),
        (
            {
                "item": PublicItem(
                    id="item-1", case="case-one", kind="testimony", title="Changed", language="en"
                )
            },
            ChainError,
            "title is 'Changed', not the one the published event signed",
        ),
    ],
)
def test_signed_but_wrong_records_fail(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    bundle, key = build(**kwargs)
    with pytest.raises(error, match=message):
        verify_public_bundle(bundle, trusted_keys=[key.verifier()])


def test_empty_trusted_keys_and_bad_files() -> None:
    bundle, _key = build()
    with pytest.raises(VerificationError, match="trusted_keys is empty"):
        verify_public_bundle(bundle, trusted_keys=[])
    with pytest.raises(BundleError, match="is not 'temoin-public-bundle/v1'"):
        parse_public_bundle(json.dumps({"format": "temoin-bundle/v1"}))
    obj = json.loads(bundle.to_json())
    obj["disclosure"]["scheme"] = "other"
    with pytest.raises(BundleError):
        parse_public_bundle(json.dumps(obj))
    data = bytearray(bundle.to_json().encode())
    for position in range(0, len(data), 7):
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        with pytest.raises(VerificationError):
            verify_public_bundle(parse_public_bundle(bytes(tampered)))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evidence.verify_cli", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_temoin_verify_reads_public_records(tmp_path: Path) -> None:
    bundle, key = build()
    path = tmp_path / "record.json"
    path.write_text(bundle.to_json(), encoding="utf-8")
    ok = run_cli(str(path), "--key", key.verifier().to_vkey())
    assert ok.returncode == 0 and "authentic part of the original" in ok.stdout
    unpinned = run_cli(str(path))
    assert unpinned.returncode == 0 and "NOT pinned" in unpinned.stdout
    as_json = json.loads(run_cli(str(path), "--json").stdout)
    assert as_json["verdict"] == "verified" and as_json["withheld"] == ["Witness A"]
    usage = run_cli(str(path), "--since", str(path))
    assert usage.returncode == 2
    bad, _ = build(published_edit=_set("details.public_text_digest", "sha256:" + "3" * 64))
    path.write_text(bad.to_json(), encoding="utf-8")
    failed = run_cli(str(path))
    assert failed.returncode == 1
    assert failed.stdout.splitlines()[-1].startswith("FAILED: the public text's SHA-256")
    failed_json = json.loads(run_cli(str(path), "--json").stdout)
    assert failed_json["verdict"] == "failed"


def test_temoin_verify_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same paths as above, in this process (so that coverage sees them)."""
    from evidence.verify_cli import main

    bundle, key = build()
    path = tmp_path / "record.json"
    path.write_text(bundle.to_json(), encoding="utf-8")
    assert main([str(path), "--key", key.verifier().to_vkey()]) == 0
    assert "VERIFIED: the public text" in capsys.readouterr().out
    assert main([str(path)]) == 0
    assert "NOT pinned" in capsys.readouterr().out
    assert main([str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "verified"
    assert main([str(path), "--file", str(path)]) == 2
    capsys.readouterr()
    bad, _ = build(published_edit=_set("details.public_text_digest", "sha256:" + "3" * 64))
    path.write_text(bad.to_json(), encoding="utf-8")
    assert main([str(path)]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("FAILED:")
    assert main([str(path), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["verdict"] == "failed"
    path.write_text("{not json", encoding="utf-8")
    assert main([str(path)]) == 1  # read as a full bundle, whose parser names the problem
    assert "not JSON" in capsys.readouterr().out
    path.write_text("[1]", encoding="utf-8")
    assert main([str(path)]) == 1


def test_a_public_text_the_proof_does_not_render_fails() -> None:
    bundle, key = build()
    obj = json.loads(bundle.to_json())
    obj["public_text"] = "[Witness A] saw nothing."
    with pytest.raises(
        DisclosureError,
        match=r"not what the disclosure proof renders \(they differ from character 16",
    ):
        verify_public_bundle(parse_public_bundle(json.dumps(obj)), trusted_keys=[key.verifier()])
    obj["public_text"] = bundle.public_text + " Et plus."
    with pytest.raises(DisclosureError, match="differ from character 55 on"):
        verify_public_bundle(parse_public_bundle(json.dumps(obj)), trusted_keys=[key.verifier()])


def test_consecutive_events_are_chained() -> None:
    bundle, key = build(consecutive=True)
    report = verify_public_bundle(bundle, trusted_keys=[key.verifier()])
    assert "one right after the other" in report.checks[2].detail
    assert not any("custody chain between" in n for n in report.not_checked)
    spaced, _ = build()
    report = verify_public_bundle(spaced)
    assert "2 withheld events between them" in report.checks[2].detail
    assert any("custody chain between seq 2 and seq 5" in n for n in report.not_checked)


# -- from a real signed log -----------------------------------------------------------
#
# The archive's log of test_bundle.py, with a text item sealed and published as the archive
# does it: collected and ingested name the original's digest; sealed and published withhold
# it; a redacted event between them is withheld from the public record.

TESTIMONY = (
    "Le 14 avril, Hamadoun Traoré a vu les soldats au bord du fleuve, à Moura. "
    "Joignable au +223 76 12 34 56."
)
SPANS = [(13, 28, "Témoin A"), (TESTIMONY.index("+"), len(TESTIMONY) - 1, "téléphone")]
SECRET = bytes(range(100, 132))


@dataclass
class Record:
    log: Log
    text: str
    spans: list[tuple[int, int, str]]
    secret: bytes


def make_public_log(text: str = TESTIMONY, spans: list[tuple[int, int, str]] = SPANS) -> Record:
    log = Log(
        log_key=SigningKey.generate(LOG_ORIGIN), user_key=SigningKey.generate("investigator:ana")
    )
    original = Digest.sha256(text.encode())
    commitment = commit(text, SECRET)
    snapped = snap_spans(text, spans)
    public = render(disclose(text, SECRET, snapped))
    script: list[tuple[str, str, Digest | None, dict[str, object]]] = [
        ("item-t", "collected", original, {"place": "Moura"}),
        ("item-x", "collected", Digest.sha256(b"x"), {}),
        ("item-t", "ingested", original, {"digest": str(original), "via": "upload"}),
        ("item-t", "sealed", None, {"commitment": commitment.to_json_object()}),
        ("item-x", "ingested", Digest.sha256(b"x"), {}),
        (
            "item-t",
            "redacted",
            original,
            {"public_text_digest": str(Digest.sha256(public.encode()))},
        ),
        (
            "item-t",
            "published",
            None,
            {
                "public_text_digest": str(Digest.sha256(public.encode())),
                "commitment_root": base64.b64encode(commitment.root).decode(),
                "public_title": "Témoignage de [Témoin A]",
                "kind": "testimony",
                "language": "fr",
            },
        ),
        ("item-x", "sealed", Digest.sha256(b"x"), {}),
    ]
    prev: dict[str, Digest] = {}
    for n, (item, kind, digest, details) in enumerate(script):
        history = log.events.setdefault(item, [])
        event = make_event(
            case="moura-2022",
            item=item,
            seq=len(history),
            type=kind,
            at=LOG_T0 + dt.timedelta(minutes=n, microseconds=7 * n + 1),
            actor="archive" if kind in {"sealed", "published"} else "investigator:ana",
            item_digest=digest,
            details=details,
            prev=prev.get(item),
        )
        prev[item] = event_digest(event)
        signed = sign_event(event, log.log_key)
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
    return Record(log=log, text=text, spans=snapped, secret=SECRET)


def make_real_bundle(record: Record, *, size: int | None = None) -> PublicBundle:
    log = record.log
    size = len(log.leaves) if size is None else size
    hashes = [merkle.leaf_hash(leaf) for leaf in log.leaves[:size]]
    chosen = [
        e
        for _, e in log.events["item-t"]
        if json.loads(e.canonical)["type"] in {"sealed", "published"}
    ]
    disclosure = disclose(record.text, record.secret, record.spans)
    return build_public_bundle(
        item=PublicItem(
            id="item-t",
            case="moura-2022",
            kind="testimony",
            title="Témoignage de [Témoin A]",
            language="fr",
        ),
        public_text=render(disclosure),
        disclosure=disclosure,
        events=chosen,
        keys=[log.log_key.verifier()],
        checkpoint_note=log.checkpoint(size),
        inclusion=[
            InclusionProof(
                log_index=e.log_index, hashes=tuple(merkle.inclusion_proof(hashes, e.log_index))
            )
            for e in chosen
        ],
    )


@pytest.fixture(scope="module")
def record() -> Record:
    return make_public_log()


@pytest.fixture(scope="module")
def real(record: Record) -> PublicBundle:
    return make_real_bundle(record)


def test_a_real_record_verifies_and_says_what_was_withheld(
    record: Record, real: PublicBundle
) -> None:
    report = verify_public_bundle(real, trusted_keys=[record.log.log_key.verifier()])
    assert [c.name for c in report.checks] == [
        "event format",
        "event signatures",
        "sealing and publication",
        "checkpoint signature",
        "log inclusion",
        "disclosure proof",
        "published text",
    ]
    assert report.public_text == (
        "Le 14 avril, [Témoin A] a vu les soldats au bord du fleuve, à Moura. "
        "Joignable au [téléphone]."
    )
    assert report.withheld == ("Témoin A", "téléphone")
    assert report.statement == (
        "the visible text is exactly what was sealed; 2 passages were withheld, labelled "
        "[Témoin A], [téléphone]; the withheld words were not revealed to this check"
    )
    assert report.warnings == ()
    assert [(t.seq, t.type, t.log_index) for t in report.timeline] == [
        (2, "sealed", 3),
        (4, "published", 6),
    ]
    assert any(
        n.startswith("the original: a public record carries neither") for n in report.not_checked
    )
    obj = report.to_json_object()
    assert obj["verdict"] == "verified" and json.loads(json.dumps(obj)) == obj
    assert obj["checkpoint"]["size"] == 8  # type: ignore[index]
    # At an earlier checkpoint that already holds both events, too.
    verify_public_bundle(
        make_real_bundle(record, size=7), trusted_keys=[record.log.log_key.verifier()]
    )


def test_the_full_bundle_of_the_same_item_verifies(record: Record) -> None:
    """The restricted full bundle carries the same sealed and published events (item_digest
    null): check 5 accepts them and says so."""
    log = record.log
    hashes = [merkle.leaf_hash(leaf) for leaf in log.leaves]
    events = [e for _, e in log.events["item-t"]]
    info = ItemInfo(
        id="item-t",
        case="moura-2022",
        kind="testimony",
        title="Témoignage de Hamadoun Traoré",
        language="fr",
        digest=Digest.sha256(record.text.encode()),
        size=len(record.text.encode()),
        media_type="text/plain; charset=utf-8",
    )
    full = build_bundle(
        item=info,
        item_signature=sign_item(
            info,
            last_event=Digest.sha256(events[-1].canonical),
            tree_size=len(hashes),
            key=log.log_key,
        ),
        events=events,
        keys=[log.log_key.verifier()],
        checkpoint_note=log.checkpoint(len(hashes)),
        inclusion=[
            InclusionProof(
                log_index=e.log_index, hashes=tuple(merkle.inclusion_proof(hashes, e.log_index))
            )
            for e in events
        ],
    )
    report = verify_bundle(
        full, exhibit=record.text.encode(), trusted_keys=[log.log_key.verifier()]
    )
    about = next(c for c in report.checks if c.name == "events are about this item")
    assert about.detail.endswith(
        "except that events 2, 4 withhold the digest (null), as events a public record may carry do"
    )


def test_a_public_record_reveals_neither_the_digest_nor_a_hidden_word(
    record: Record, real: PublicBundle
) -> None:
    data = real.to_json()
    digest = Digest.sha256(record.text.encode())
    assert digest.hex not in data
    assert base64.b64encode(digest.value).decode() not in data
    for event in real.events:
        assert json.loads(event.canonical)["item_digest"] is None
    hidden = [record.text[s:e] for s, e, _ in record.spans]
    for passage in hidden:
        for word in passage.replace("+", " ").split():
            if len(word) >= 4:
                for k in range(len(word) - 3):
                    assert word[k : k + 4] not in data, word
    # A dictionary attack with every salt the record shows finds nothing.
    salts = [p.salt for p in real.disclosure.parts if isinstance(p, Visible)]
    published = {h for part in real.disclosure.hidden for h in part.hashes}
    names = ["Hamadoun", "Traoré", "Traore", "Hamadou", "Amadou", "223", "76", "12", "34", "56"]
    assert not {merkle.leaf_hash(s + n.encode()) for s in salts for n in names} & published


def test_a_changed_visible_word_fails(record: Record, real: PublicBundle) -> None:
    obj = json.loads(real.to_json())
    part = next(p for p in obj["disclosure"]["parts"] if p.get("text") == "soldats")
    part["text"] = "policiers"
    obj["public_text"] = obj["public_text"].replace("soldats", "policiers")
    with pytest.raises(DisclosureError, match="does not match the sealed commitment"):
        verify_public_bundle(parse_public_bundle(json.dumps(obj)))
    obj = json.loads(real.to_json())  # the text alone: the proof renders something else
    obj["public_text"] = obj["public_text"].replace("soldats", "policiers")
    with pytest.raises(DisclosureError, match="is not what the disclosure proof renders"):
        verify_public_bundle(parse_public_bundle(json.dumps(obj)))


def test_a_moved_or_renamed_label_fails(record: Record, real: PublicBundle) -> None:
    obj = json.loads(real.to_json())
    parts = obj["disclosure"]["parts"]
    i = next(i for i, p in enumerate(parts) if "label" in p)
    before = parts.pop(i - 1)  # the space before [Témoin A] moves after it: the label moves left
    parts[i - 1]["start"] -= 1
    parts[i - 1]["end"] -= 1
    parts.insert(i, before)
    obj["public_text"] = render(parse_disclosure(obj["disclosure"]))
    with pytest.raises(DisclosureError, match="does not match the sealed commitment"):
        verify_public_bundle(parse_public_bundle(json.dumps(obj)))
    # A renamed label leaves the root alone but not the signed digest of the public text.
    obj = json.loads(real.to_json())
    obj["disclosure"]["parts"][i]["label"] = "Témoin B"
    obj["public_text"] = obj["public_text"].replace("[Témoin A]", "[Témoin B]")
    with pytest.raises(DigestMismatch, match="was changed after publication"):
        verify_public_bundle(parse_public_bundle(json.dumps(obj)))


def test_public_text_not_matching_the_signed_digest_fails(record: Record) -> None:
    """The archive signed one public text; a bundle made with other spans (another
    redaction of the same sealed text) verifies against the commitment but not the digest."""
    other = Record(
        log=record.log, text=record.text, spans=snap_spans(record.text, SPANS[:1]), secret=SECRET
    )
    bundle = make_real_bundle(other)
    with pytest.raises(DigestMismatch, match="the public text's SHA-256 is sha256:"):
        verify_public_bundle(bundle)


def test_every_bit_flip_of_a_small_public_bundle_is_caught() -> None:
    small = make_public_log("Koné a vu Moura.", [(0, 4, "T")])
    bundle = make_real_bundle(small)
    key = [small.log.log_key.verifier()]
    verify_public_bundle(bundle, trusted_keys=key)
    data = bundle.to_json().encode()
    passed: list[int] = []
    for position in range(len(data)):
        for bit in range(8):
            mutated = bytearray(data)
            mutated[position] ^= 1 << bit
            try:
                parsed = parse_public_bundle(bytes(mutated))
                verify_public_bundle(parsed, trusted_keys=key)
            except VerificationError:
                continue
            if parsed != bundle:
                passed.append(position)
    assert passed == [], f"undetected flips at bytes {passed[:10]} of {len(data)}"


def test_build_refuses_what_must_not_be_published(record: Record, real: PublicBundle) -> None:
    named = [e for _, e in record.log.events["item-t"]][:2]  # collected, ingested: with digest
    args: dict[str, Any] = {
        "item": real.item,
        "public_text": real.public_text,
        "disclosure": real.disclosure,
        "events": real.events,
        "keys": real.keys,
        "checkpoint_note": real.checkpoint,
        "inclusion": real.inclusion,
    }
    assert build_public_bundle(**args) == real
    with pytest.raises(BundleError, match="event 0 names the original's digest"):
        build_public_bundle(**{**args, "events": named})
    not_canonical = dataclasses.replace(real.events[0], canonical=b'{ "a": 1}')
    with pytest.raises(BundleError, match="event 0 is not canonical JSON"):
        build_public_bundle(**{**args, "events": [not_canonical]})
    with pytest.raises(
        BundleError, match="event 0 names the original's digest \\(or is not an event\\)"
    ):
        build_public_bundle(
            **{**args, "events": [dataclasses.replace(real.events[0], canonical=b"[]")]}
        )
    with pytest.raises(DisclosureError, match="not what the disclosure proof renders"):
        build_public_bundle(**{**args, "public_text": real.public_text + "!"})
    with pytest.raises(BundleError, match="cannot write the public bundle"):
        build_public_bundle(**{**args, "item": dataclasses.replace(real.item, title="\ud800")})
    with pytest.raises(BundleError, match=r"\$\.item\.title: expected a non-empty string"):
        build_public_bundle(**{**args, "item": dataclasses.replace(real.item, title="")})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda o: o["events"].pop(),
            r"\$\.events: a public bundle carries exactly two events .* got 1",
        ),
        (lambda o: o.update(extra=1), r"\$: unexpected member 'extra'"),
        (
            lambda o: o["item"].update(digest="sha256:" + "0" * 64),
            r"\$\.item: unexpected member 'digest'",
        ),
        (
            lambda o: o["disclosure"]["parts"][0].update(salt="AA=="),
            r"\$\.disclosure\.parts\[0\]\.salt: a salt is 32 bytes",
        ),
        (lambda o: o.update(public_text=""), r"\$\.public_text: expected a non-empty string"),
    ],
)
def test_parse_names_the_json_path(real: PublicBundle, change: Any, message: str) -> None:
    obj = json.loads(real.to_json())
    change(obj)
    with pytest.raises(BundleError, match=message):
        parse_public_bundle(json.dumps(obj))


SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "public-bundle.schema.json"


def test_built_public_bundles_match_the_published_schema(real: PublicBundle) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is a dev extra")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    bundle, _ = build()
    for b in (real, bundle):
        assert [e.message for e in validator.iter_errors(json.loads(b.to_json()))] == []
    wrong = json.loads(real.to_json())
    wrong["item"]["digest"] = "sha256:" + "0" * 64
    wrong["disclosure"]["parts"][0]["salt"] = "short"
    del wrong["public_text"]
    assert len(list(validator.iter_errors(wrong))) == 3


def test_temoin_verify_on_both_formats(record: Record, real: PublicBundle, tmp_path: Path) -> None:
    public = tmp_path / "public.json"
    public.write_text(real.to_json(), encoding="utf-8")
    vkey = record.log.log_key.verifier().to_vkey()
    done = run_cli(str(public), "--key", vkey)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Témoin public record (temoin-public-bundle/v1)" in out
    assert "✓ disclosure proof: the visible text is exactly what was sealed; 2 passages" in out
    assert "  | Le 14 avril, [Témoin A] a vu les soldats" in out
    assert "– NOT CHECKED: the custody chain between seq 2 and seq 4" in out
    assert "    2. " in out and "sealed" in out and "    4. " in out
    assert (
        out.rstrip()
        .splitlines()[-1]
        .endswith("the withheld words were not revealed to this check.")
    )
    assert "Hamadoun" not in out and "Traor" not in out
    full = tmp_path / "full.json"
    full.write_text(make_bundle(make_log()).to_json(), encoding="utf-8")
    done = run_cli(str(full))
    assert done.returncode == 0 and "Témoin evidence bundle (temoin-bundle/v1)" in done.stdout
    done = run_cli(str(public), "--file", str(full))
    assert done.returncode == 2 and "no digest of the original" in done.stderr
    obj = json.loads(real.to_json())
    obj["events"].pop()
    public.write_text(json.dumps(obj), encoding="utf-8")
    done = run_cli(str(public))
    assert done.returncode == 1
    assert done.stdout.startswith(
        "FAILED: the bundle is not a valid bundle: $.events: a public bundle"
    )


def test_a_record_with_nothing_withheld() -> None:
    plain = make_public_log("Les soldats sont arrivés à Moura.", [])
    report = verify_public_bundle(make_real_bundle(plain))
    assert report.withheld == ()
    assert report.statement == (
        "the visible text is exactly what was sealed; no passage was withheld"
    )
    one = make_public_log("Koné a vu Moura.", [(0, 4, "T")])
    assert (
        "; 1 passage was withheld, labelled [T];"
        in verify_public_bundle(make_real_bundle(one)).statement
    )


def test_an_event_naming_the_digest_is_refused_even_if_signed() -> None:
    """build_public_bundle refuses it; a bundle made by other means fails verification."""
    bundle, key = build()
    event = json.loads(bundle.events[1].canonical)
    event["item_digest"] = "sha256:" + "2" * 64
    data = event_bytes(event)
    forged = dataclasses.replace(bundle.events[1], canonical=data, signature=key.sign(data))
    tampered = dataclasses.replace(bundle, events=(bundle.events[0], forged))
    with pytest.raises(ChainError, match="published event names the original's digest"):
        verify_public_bundle(tampered, trusted_keys=[key.verifier()])


def test_build_refuses_a_bundle_that_does_not_read_back(real: PublicBundle) -> None:
    as_lists = [dataclasses.replace(p, hashes=list(p.hashes)) for p in real.inclusion]  # type: ignore[arg-type]
    with pytest.raises(BundleError, match="does not read back as built"):
        build_public_bundle(
            item=real.item,
            public_text=real.public_text,
            disclosure=real.disclosure,
            events=real.events,
            keys=real.keys,
            checkpoint_note=real.checkpoint,
            inclusion=as_lists,
        )
