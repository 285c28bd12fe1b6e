"""Bundles from the archive verify offline with `temoin-verify`, and fail when changed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select

from archive.models import Item, SigningKeyRecord
from archive.services.export import export_bundle
from archive.services.keys import rotate_signing_key
from archive.services.runtime import Archive
from evidence.bundle import parse_bundle, verify_bundle
from evidence.errors import VerificationError


def first_testimony(arc: Archive) -> str:
    with arc.db.sessions() as session:
        return session.scalars(
            select(Item.uid).where(Item.kind == "testimony").order_by(Item.id)
        ).first()


def verify_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evidence.verify_cli", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_api_bundle_verifies_with_the_published_key(
    client: FlaskClient, auth: dict[str, str], seeded: Archive, tmp_path: Path
) -> None:
    uid = first_testimony(seeded)
    assert client.get(f"/api/v1/items/{uid}/bundle").status_code == 401
    refused = client.get(f"/api/v1/items/{uid}/bundle", headers=auth)
    assert refused.status_code == 400 and "X-Temoin-Reason" in refused.json["errors"]
    response = client.get(
        f"/api/v1/items/{uid}/bundle",
        headers={**auth, "X-Temoin-Reason": "exhibit for the hearing"},
    )
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="{uid}.bundle.json"'
    path = tmp_path / "item.bundle.json"
    path.write_bytes(response.data)
    vkey = client.get("/api/v1/log/keys").get_data(as_text=True).splitlines()[0]
    result = verify_cli(str(path), "--key", vkey)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED" in result.stdout and "NOT PINNED" not in result.stdout
    text = seeded.blobs.path_for(parse_bundle(response.data).item.digest).read_bytes()
    exhibit = tmp_path / "original.txt"
    exhibit.write_bytes(text)
    assert verify_cli(str(path), "--key", vkey, "--file", str(exhibit)).returncode == 0
    exhibit.write_bytes(text[:-1] + bytes([text[-1] ^ 1]))
    changed = verify_cli(str(path), "--key", vkey, "--file", str(exhibit))
    assert changed.returncode == 1 and "FAILED" in changed.stdout
    types = [e["type"] for e in client.get(f"/api/v1/items/{uid}/custody", headers=auth).json]
    assert types[-1] == "exported"


def test_a_changed_byte_anywhere_fails(seeded: Archive) -> None:
    bundle = export_bundle(
        seeded, first_testimony(seeded), actor="test", via="test", reason="bundle export test"
    )
    data = bundle.to_json().encode()
    key = seeded.signing_key.verifier()
    verify_bundle(parse_bundle(data), trusted_keys=[key])
    for position in range(0, len(data), 97):  # a spread of positions; evidence tests do every bit
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        with pytest.raises(VerificationError):
            verify_bundle(parse_bundle(bytes(tampered)), trusted_keys=[key])


def test_since_adds_a_consistency_proof(seeded: Archive) -> None:
    with seeded.db.sessions() as session:
        from archive.services.log import latest_checkpoint

        old = latest_checkpoint(session)
    bundle = export_bundle(
        seeded,
        first_testimony(seeded),
        actor="test",
        via="test",
        reason="bundle export test",
        since=old.size,
    )
    report = verify_bundle(
        bundle, trusted_keys=[seeded.signing_key.verifier()], since_checkpoint=old.note
    )
    assert report is not None


def test_rotation_keeps_old_signatures_valid_and_logs_the_new_key(
    seeded: Archive, settings
) -> None:
    uid = first_testimony(seeded)
    old_key = seeded.signing_key.verifier()
    rotation = rotate_signing_key(seeded)
    assert rotation.retired_file.exists()
    new_key = seeded.signing_key.verifier()
    assert new_key.key_id_hex == rotation.new_key_id != old_key.key_id_hex
    fresh = Archive(settings)  # reads the key file again
    assert fresh.signing_key.key_id_hex == new_key.key_id_hex
    bundle = export_bundle(fresh, uid, actor="test", via="test", reason="bundle export test")
    # Events signed before the rotation still verify, with the old public key in the bundle.
    verify_bundle(bundle, trusted_keys=[old_key, new_key])
    assert {e.key_id for e in bundle.events} == {old_key.key_id_hex, new_key.key_id_hex}
    with fresh.db.sessions() as session:
        history = session.scalars(select(Item).where(Item.kind == "log_record")).one()
        added = [e for e in history.events if e.type == "key_added"]
        assert [e.key_id for e in added] == [
            old_key.key_id_hex,
            old_key.key_id_hex,
        ]  # endorsed by the old key
        assert rotation.new_vkey.encode() in added[-1].canonical
        assert session.get(SigningKeyRecord, old_key.key_id_hex).retired_at is not None
    from archive.services.audit import audit

    assert audit(fresh).ok
    fresh.close()


def test_cli_export_and_rotate(
    seeded: Archive, settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from archive.cli import main

    monkeypatch.setenv("TEMOIN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TEMOIN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TEMOIN_LOG_ORIGIN", settings.log_origin)
    runner = CliRunner()
    out = tmp_path / "b.json"
    result = runner.invoke(
        main, ["export", first_testimony(seeded), "-o", str(out), "--reason", "for the court"]
    )
    assert result.exit_code == 0, result.output
    assert verify_cli(str(out)).returncode == 0
    rotated = runner.invoke(main, ["keys", "rotate", "--yes"])
    assert rotated.exit_code == 0, rotated.output
    assert "New signing key" in rotated.output
    listed = runner.invoke(main, ["keys", "list"]).output
    assert "retired" in listed and "active" in listed
    checkpoint = runner.invoke(main, ["log", "checkpoint"])
    assert checkpoint.exit_code == 0 and checkpoint.output.startswith("test.temoin/log\n")
    assert runner.invoke(main, ["audit"]).exit_code == 0
