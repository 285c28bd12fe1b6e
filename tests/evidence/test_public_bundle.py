"""Public bundles built here from scratch, with every way a signed record can be wrong."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evidence import merkle
from evidence.bundle import BundleEvent, InclusionProof
from evidence.checkpoint import Checkpoint, sign_checkpoint
from evidence.custody import event_bytes, make_event, sign_event
from evidence.digest import Digest
from evidence.disclosure import DisclosureError, commit, disclose, snap_spans
from evidence.errors import BundleError, ChainError, VerificationError
from evidence.public_bundle import (
    PublicItem,
    build_public_bundle,
    parse_public_bundle,
    verify_public_bundle,
)
from evidence.signing import SigningKey

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
) -> tuple[Any, SigningKey]:
    key = SigningKey.generate(ORIGIN)
    secret = secrets.token_bytes(32)
    spans = snap_spans(TEXT, [(0, len(NAME), "Witness A")])
    disclosure = disclose(TEXT, secret, spans)
    rendered = "[Witness A] saw the soldiers at the riverbank of Moura."
    commitment = commit(TEXT, secret)
    root_b64 = base64.b64encode(commitment.root).decode()
    common = {
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
        seq=5,
        type="published",
        prev="sha256:" + "1" * 64,
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
        (
            {"published_edit": _set("item_digest", "sha256:" + "2" * 64)},
            ChainError,
            "names the original's digest",
        ),
        ({"published_edit": _set("seq", 1)}, ChainError, "must come after"),
        (
            {"sealed_edit": _set("details", {})},
            DisclosureError,
            "no temoin-disclosure/v1 commitment",
        ),
        (
            {"sealed_edit": _set("details.commitment.count", "3")},
            DisclosureError,
            "base64 root and a count",
        ),
        ({"sealed_edit": _set("details.commitment.root", "***")}, DisclosureError, "not base64"),
        (
            {"public_text": "[Witness A] saw nothing."},
            DisclosureError,
            "not what the disclosure proof renders",
        ),
        (
            {"published_edit": _set("details.public_text_digest", "sha256:" + "3" * 64)},
            DisclosureError,
            "SHA-256",
        ),
        (
            {"published_edit": _set("details.commitment_root", "AAAA")},
            DisclosureError,
            "another commitment",
        ),
        ({"published_edit": _set("details.language", "fr")}, ChainError, "language is not the one"),
        (
            {
                "item": PublicItem(
                    id="item-1", case="case-one", kind="testimony", title="Changed", language="en"
                )
            },
            ChainError,
            "title is not the one",
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
    bad, _ = build(public_text="[Witness A] saw nothing.")
    path.write_text(bad.to_json(), encoding="utf-8")
    failed = run_cli(str(path))
    assert failed.returncode == 1 and failed.stdout.startswith("FAILED:")
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
    bad, _ = build(public_text="[Witness A] saw nothing.")
    path.write_text(bad.to_json(), encoding="utf-8")
    assert main([str(path)]) == 1
    assert capsys.readouterr().out.startswith("FAILED:")
    assert main([str(path), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["verdict"] == "failed"
    path.write_text("{not json", encoding="utf-8")
    assert main([str(path)]) == 1  # read as a full bundle, whose parser names the problem
    assert "not JSON" in capsys.readouterr().out
    path.write_text("[1]", encoding="utf-8")
    assert main([str(path)]) == 1
