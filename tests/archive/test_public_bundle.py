"""Public bundles: a published record anyone can verify, revealing no withheld word."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from archive.services.redaction import fold
from archive.services.runtime import Archive
from evidence.errors import VerificationError
from evidence.public_bundle import parse_public_bundle, verify_public_bundle


@pytest.fixture
def record(client: FlaskClient, seeded: Archive) -> tuple[str, bytes]:
    uid = client.get("/api/v1/search?q=riverbank").json["hits"][0]["id"]
    response = client.get(f"/api/v1/items/{uid}/public-bundle")
    assert response.status_code == 200
    return uid, response.data


def edited(data: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    obj = json.loads(data)
    change(obj)
    return json.dumps(obj).encode()


def test_a_public_bundle_verifies_and_shows_the_label(
    record: tuple[str, bytes], seeded: Archive, tmp_path: Path
) -> None:
    uid, data = record
    bundle = parse_public_bundle(data)
    report = verify_public_bundle(bundle, trusted_keys=[seeded.signing_key.verifier()])
    assert report.withheld == ("Witness A", "Witness A")
    assert "[Witness A]" in bundle.public_text
    assert "amadou" not in fold(data.decode())
    original_digest = seeded.blobs  # the original's digest must not be anywhere in the record
    from sqlalchemy import select

    from archive.models import Item

    with seeded.db.sessions() as session:
        digest = session.scalars(select(Item.digest).where(Item.uid == uid)).one()
    assert digest.split(":")[1] not in data.decode() and original_digest
    path = tmp_path / "record.json"
    path.write_bytes(data)
    vkey = seeded.signing_key.verifier().to_vkey()
    done = subprocess.run(
        [sys.executable, "-m", "evidence.verify_cli", str(path), "--key", vkey],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "authentic part of the original" in done.stdout
    as_json = subprocess.run(
        [sys.executable, "-m", "evidence.verify_cli", str(path), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(as_json.stdout)["verdict"] == "verified"


def _flip_b64(value: str) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[-1] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def _change_word(obj: dict[str, Any]) -> None:
    obj["public_text"] = obj["public_text"].replace("riverbank", "riverside")
    for part in obj["disclosure"]["parts"]:
        if part.get("text") == "riverbank":
            part["text"] = "riverside"


def _move_label(obj: dict[str, Any]) -> None:
    parts = obj["disclosure"]["parts"]
    i = next(i for i, p in enumerate(parts) if "label" in p)
    parts[i]["start"] += 1
    parts[i]["end"] += 1


def _text_only(obj: dict[str, Any]) -> None:
    obj["public_text"] = obj["public_text"] + " "


def _swap_events(obj: dict[str, Any]) -> None:
    obj["events"].reverse()
    obj["inclusion"].reverse()


def _title(obj: dict[str, Any]) -> None:
    obj["item"]["title"] = "Another title"


def _other_record(obj: dict[str, Any]) -> None:
    obj["item"]["id"] = "00000000-0000-0000-0000-000000000000"


def _proof(obj: dict[str, Any]) -> None:
    obj["inclusion"][0]["hashes"][0] = _flip_b64(obj["inclusion"][0]["hashes"][0])


def _salt(obj: dict[str, Any]) -> None:
    part = next(p for p in obj["disclosure"]["parts"] if "salt" in p)
    part["salt"] = _flip_b64(part["salt"])


@pytest.mark.parametrize(
    "change",
    [_change_word, _move_label, _text_only, _swap_events, _title, _other_record, _proof, _salt],
)
def test_a_tampered_public_bundle_fails(
    record: tuple[str, bytes], seeded: Archive, change: Callable
) -> None:
    data = edited(record[1], change)
    with pytest.raises(VerificationError):
        verify_public_bundle(
            parse_public_bundle(data), trusted_keys=[seeded.signing_key.verifier()]
        )


def test_flipped_bytes_fail(record: tuple[str, bytes], seeded: Archive) -> None:
    data = record[1]
    key = seeded.signing_key.verifier()
    for position in range(0, len(data), 53):
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        with pytest.raises(VerificationError):
            verify_public_bundle(parse_public_bundle(bytes(tampered)), trusted_keys=[key])


def test_a_dictionary_of_names_finds_nothing(record: tuple[str, bytes]) -> None:
    """The hidden segments' salts are never published: hashing guesses matches nothing."""
    import hashlib

    bundle = parse_public_bundle(record[1])
    hidden = {h for part in bundle.disclosure.hidden for h in part.hashes}
    salts = [p.salt for p in bundle.disclosure.parts if hasattr(p, "salt")]
    for name in ["Amadou", "Seydou", "Hamadoun", "Bara", "amadou", "AMADOU"]:
        for salt_bytes in salts:
            guess = hashlib.sha256(b"\x00" + salt_bytes + name.encode()).digest()
            assert guess not in hidden


def test_unpublished_and_exhibits_have_no_public_bundle(
    client: FlaskClient, auth: dict[str, str], seeded: Archive
) -> None:
    client.post("/api/v1/cases", json={"slug": "hidden", "title": "H"}, headers=auth)
    item = client.post(
        "/api/v1/cases/hidden/excerpts",
        json={
            "text": "Unpublished.",
            "title": "t",
            "language": "en",
            "citation": {"publication": "P"},
        },
        headers=auth,
    ).json
    assert client.get(f"/api/v1/items/{item['id']}/public-bundle").status_code == 404


def test_every_item_chain_starts_with_an_unguessable_nonce(
    client: FlaskClient, seeded: Archive
) -> None:
    """The hashes of withheld events a record shows can't be recomputed from a guess:
    the first event of every item holds 32 random bytes that all later hashes depend on."""
    from sqlalchemy import select

    from archive.models import CustodyEvent

    with seeded.db.sessions() as session:
        firsts = session.scalars(
            select(CustodyEvent.canonical).where(
                CustodyEvent.seq == 0, CustodyEvent.type == "collected"
            )
        ).all()
    nonces = [json.loads(canonical)["details"]["nonce"] for canonical in firsts]
    assert len(nonces) >= 8
    assert len(set(nonces)) == len(nonces)
    assert all(len(base64.b64decode(n, validate=True)) == 32 for n in nonces)
