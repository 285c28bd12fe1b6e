"""What a legal team does with tools that are not ours: the by-hand commands of
docs/verify-by-hand.md on a bundle the archive exported, and the archive's checkpoint
opened by a C2SP signed-note verifier written here from the specification alone."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask.testing import FlaskClient
from sqlalchemy import select

from archive.models import Item
from archive.services.export import export_bundle
from archive.services.runtime import Archive
from tests.evidence.test_verify_by_hand import TOOLS, ok_lines, script


def c2sp_open(note: str, vkey: str) -> str:
    """c2sp.org/signed-note, from the spec text: no code of ours involved."""
    name, key_hex, key_b64 = vkey.split("+", 2)
    key_bytes = base64.b64decode(key_b64)
    assert key_bytes[0] == 0x01  # Ed25519
    key_id = hashlib.sha256(name.encode() + b"\n" + key_bytes).digest()[:4]
    assert key_id.hex() == key_hex
    text, _, signatures = note.rpartition("\n\n")
    text += "\n"
    for line in signatures.splitlines():
        dash, sig_name, payload = line.split(" ")
        assert dash == "\u2014"
        raw = base64.b64decode(payload)
        if sig_name == name and raw[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(key_bytes[1:]).verify(raw[4:], text.encode())
            return text
    raise AssertionError("no signature by the given key")


def test_checkpoint_opens_with_an_independent_c2sp_verifier(
    client: FlaskClient, seeded: Archive
) -> None:
    note = client.get("/api/v1/log/checkpoint").get_data(as_text=True)
    vkey = client.get("/api/v1/log/keys").get_data(as_text=True).splitlines()[0]
    origin, size, root = c2sp_open(note, vkey).splitlines()
    assert (
        origin == seeded.settings.log_origin and int(size) > 0 and len(base64.b64decode(root)) == 32
    )
    tampered = note.replace(f"\n{size}\n", f"\n{int(size) + 1}\n")
    with pytest.raises(InvalidSignature):
        c2sp_open(tampered, vkey)


@pytest.mark.skipif(
    any(shutil.which(t) is None for t in TOOLS), reason="needs openssl and coreutils"
)
def test_the_by_hand_commands_check_an_exported_bundle(seeded: Archive, tmp_path: Path) -> None:
    with seeded.db.sessions() as session:
        uid = session.scalars(select(Item.uid).where(Item.kind == "testimony")).first()
    bundle = export_bundle(seeded, uid, actor="legal team", via="test", reason="third-party check")
    (tmp_path / "bundle.json").write_text(bundle.to_json(), encoding="utf-8")
    (tmp_path / "exhibit").write_bytes(seeded.blobs.path_for(bundle.item.digest).read_bytes())
    (tmp_path / "key.pem").write_bytes(seeded.signing_key.verifier().to_pem())
    for n, event in enumerate(bundle.events, start=1):
        done = subprocess.run(
            ["bash", "-c", script().replace("\nN=1\n", f"\nN={n}\n")],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        out = done.stdout + done.stderr
        assert "MISMATCH" not in out and "Failure" not in out, out
        assert ok_lines(out)[-1] == f"OK: event {n} is entry {event.log_index} of the signed log", (
            out
        )
