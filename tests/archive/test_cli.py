"""The `temoin` command line, through click's runner against a real data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import main
from archive.config import Settings
from tests.search_index._versions import built_by_an_earlier_version

COMMANDS = ("init", "serve", "seed", "import", "reindex", "audit", "export", "keys")


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TEMOIN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TEMOIN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TEMOIN_LOG_ORIGIN", settings.log_origin)
    return CliRunner()


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert f"  {command} " in result.output
        sub = CliRunner().invoke(main, [command, "--help"])
        assert sub.exit_code == 0 and "Usage:" in sub.output and len(sub.output.splitlines()) > 3


def test_commands_refuse_to_run_before_init(runner: CliRunner) -> None:
    result = runner.invoke(main, ["audit"])
    assert result.exit_code == 1
    assert "temoin init" in result.output


def test_init_seed_audit_export(runner: CliRunner, tmp_path: Path) -> None:
    first = runner.invoke(main, ["init"])
    assert first.exit_code == 0, first.output
    assert "Admin token:    tmn_" in first.output
    again = runner.invoke(main, ["init"])
    assert again.exit_code == 0 and "(new)" not in again.output

    seeded = runner.invoke(main, ["seed"])
    assert seeded.exit_code == 0, seeded.output
    assert "2 protected person(s) added, 8 item(s) added, 8 published" in seeded.output
    assert (
        "0 protected person(s) added, 0 item(s) added, 0 published"
        in runner.invoke(main, ["seed"]).output
    )

    audited = runner.invoke(main, ["audit"])
    assert audited.exit_code == 0, audited.output
    assert "Audit passed" in audited.output

    keys = runner.invoke(main, ["keys", "list"])
    assert keys.exit_code == 0 and "test.temoin/log+" in keys.output
    pem = runner.invoke(main, ["keys", "public-pem"])
    assert pem.output.startswith("-----BEGIN PUBLIC KEY-----")

    from archive.services.runtime import Archive

    arc = Archive(Settings.from_env())
    with arc.db.sessions() as session:
        from sqlalchemy import select

        from archive.models import Item

        uid = session.scalars(select(Item.uid).where(Item.kind == "testimony")).first()
    arc.close()
    out = tmp_path / "export.json"
    unexplained = runner.invoke(main, ["export", uid, "-o", str(out)])
    assert unexplained.exit_code == 2 and "--reason" in unexplained.output
    short = runner.invoke(main, ["export", uid, "-o", str(out), "--reason", "why"])
    assert short.exit_code == 1 and "--reason is too short" in short.output
    assert not out.exists()
    reason = "exhibit 12 for the tribunal"
    exported = runner.invoke(main, ["export", uid, "-o", str(out), "--reason", reason])
    assert exported.exit_code == 0, exported.output
    from evidence.bundle import parse_bundle

    bundle = parse_bundle(out.read_bytes())
    assert bundle.item.id == uid
    assert b'"type":"exported"' in bundle.events[-1].canonical
    assert json.loads(bundle.events[-1].canonical)["details"]["reason"] == reason
    missing = runner.invoke(main, ["export", "nope", "-o", str(out), "--reason", reason])
    assert missing.exit_code == 1 and "no item 'nope'" in missing.output

    rebuilt = runner.invoke(main, ["reindex"])
    assert rebuilt.exit_code == 0 and "Reindexed 8 item(s)" in rebuilt.output
    assert runner.invoke(main, ["reindex", "--public"]).exit_code == 0


def test_import_checks_the_whole_file_first(runner: CliRunner, tmp_path: Path) -> None:
    runner.invoke(main, ["init"])
    runner.invoke(main, ["seed", "--no-publish"])
    good = {
        "case": "moura-2022",
        "kind": "source_excerpt",
        "title": "t",
        "text": "Moura market",
        "language": "en",
        "citation": {"publication": "P"},
        "publish": True,
    }
    path = tmp_path / "items.jsonl"
    path.write_text(
        json.dumps(good) + "\n" + "{not json\n" + json.dumps({**good, "kind": "poem"}) + "\n"
    )
    bad = runner.invoke(main, ["import", str(path)])
    assert bad.exit_code == 1
    assert "line 2: not valid JSON" in bad.output
    assert "line 3: kind must be one of" in bad.output
    assert "nothing was imported" in bad.output
    path.write_text(json.dumps({**good, "case": "unknown-case"}) + "\n")
    unknown = runner.invoke(main, ["import", str(path)])
    assert unknown.exit_code == 1 and "line 1: no case 'unknown-case'" in unknown.output
    path.write_text("\n".join(json.dumps({**good, "title": f"t{i}"}) for i in range(5)) + "\n")
    ok = runner.invoke(main, ["import", str(path), "--batch-size", "2"])
    assert ok.exit_code == 0, ok.output
    assert "Imported 5 item(s), published 5." in ok.output
    assert runner.invoke(main, ["audit"]).exit_code == 0


def test_audit_exits_non_zero_naming_the_record(runner: CliRunner) -> None:
    runner.invoke(main, ["init"])
    runner.invoke(main, ["seed"])
    from archive.services.runtime import Archive
    from evidence.digest import Digest

    arc = Archive(Settings.from_env())
    with arc.db.sessions() as session:
        from sqlalchemy import select

        from archive.models import Blob

        digest = session.scalars(select(Blob.digest)).first()
    path = arc.blobs.path_for(Digest.parse(digest))
    arc.close()
    path.chmod(0o640)
    data = bytearray(path.read_bytes())
    data[0] ^= 1
    path.write_bytes(bytes(data))
    result = runner.invoke(main, ["audit"])
    assert result.exit_code == 1
    assert f"FAIL blob {digest}: content hashes to" in result.output
    # the same with worker processes, as a large archive is checked by default
    result = runner.invoke(main, ["audit", "--workers", "2"])
    assert result.exit_code == 1 and "with 2 process(es)" in result.output
    assert f"FAIL blob {digest}: content hashes to" in result.output
    assert runner.invoke(main, ["audit", "--workers", "0"]).exit_code == 2


def test_init_rebuilds_and_names_an_index_another_version_built(
    runner: CliRunner, settings: Settings
) -> None:
    if settings.search_backend != "whoosh":
        pytest.skip("about a Whoosh index on disk")
    assert runner.invoke(main, ["init"]).exit_code == 0
    assert runner.invoke(main, ["seed"]).exit_code == 0
    built_by_an_earlier_version((settings.index_dir / "public").resolve())

    upgraded = runner.invoke(main, ["init"])

    assert upgraded.exit_code == 0, upgraded.output
    assert "Search index:   public rebuilt (built by another version of Témoin)" in (
        upgraded.output
    )
    again = runner.invoke(main, ["init"])
    assert again.exit_code == 0 and "Search index:" not in again.output
