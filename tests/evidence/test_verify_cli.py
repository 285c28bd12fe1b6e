"""temoin-verify: exit codes, a report a lawyer can read, the first failure named, no traceback."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evidence import verify_cli
from evidence.checkpoint import Checkpoint, sign_checkpoint
from evidence.signing import SigningKey
from tests.evidence.test_bundle import OLD_SIZE, ORIGIN, ORIGINALS, Log, make_bundle, make_log

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def log() -> Log:
    return make_log()


@pytest.fixture
def files(log: Log, tmp_path: Path) -> dict[str, Path]:
    paths = {
        "bundle": tmp_path / "item-a.bundle.json",
        "exhibit": tmp_path / "item-a.txt",
        "since": tmp_path / "old.checkpoint",
        "keys": tmp_path / "archive.vkeys",
    }
    paths["bundle"].write_text(make_bundle(log).to_json(), encoding="utf-8")
    paths["exhibit"].write_bytes(ORIGINALS["item-a"])
    paths["since"].write_text(log.checkpoint(OLD_SIZE), encoding="utf-8")
    paths["keys"].write_text(log.log_key.verifier().to_vkey() + "\n\n", encoding="utf-8")
    return paths


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evidence.verify_cli", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=REPO,
        check=False,
        timeout=60,
    )


def vkey(log: Log) -> str:
    return log.log_key.verifier().to_vkey()


def tamper(path: Path, change: Any) -> None:
    obj = json.loads(path.read_text(encoding="utf-8"))
    change(obj)
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")


# -- through a real process -----------------------------------------------------------


def test_verified_report(log: Log, files: dict[str, Path]) -> None:
    done = run(
        files["bundle"], "--file", files["exhibit"], "--key", vkey(log), "--since", files["since"]
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert done.stderr == ""
    assert "Item:    item-a — Témoignage de Witness A" in out
    assert "Digest:  sha256:" in out
    assert "✓ exhibit digest: the file's SHA-256 is sha256:" in out
    assert "✓ checkpoint signature:" in out and "trusted key" in out
    assert "✓ consistency with your checkpoint: the log you saw at size 6" in out
    assert "Custody timeline" in out
    assert "2022-03-27 10:30:00 UTC  collected   by investigator:ana" in out
    assert f"signed by key {log.user_key.key_id_hex} (investigator:ana, key from the bundle)" in out
    assert f"signed by key {log.log_key.key_id_hex} ({ORIGIN}, pinned key); log index 0" in out
    assert 'details: to="legal:claire"' in out
    assert out.rstrip().splitlines()[-1].startswith("VERIFIED: item item-a and its 5 custody")
    assert "NOT pinned" not in out and "WARNING" not in out


def test_unpinned_is_said_plainly(files: dict[str, Path]) -> None:
    done = run(files["bundle"])
    assert done.returncode == 0
    assert "! WARNING: the log key was NOT PINNED" in done.stdout
    assert "– NOT CHECKED: exhibit file" in done.stdout
    assert "(log key NOT pinned: see the warning above) (no exhibit file was compared)" in (
        done.stdout
    )


def test_event_signature_failure_is_named(log: Log, files: dict[str, Path]) -> None:
    def flip(obj: dict[str, Any]) -> None:
        sig = bytearray(base64.b64decode(obj["events"][2]["signature"]))
        sig[5] ^= 0x40
        obj["events"][2]["signature"] = base64.b64encode(sig).decode()

    tamper(files["bundle"], flip)
    done = run(files["bundle"], "--key", vkey(log))
    assert done.returncode == 1
    assert done.stdout.rstrip().splitlines()[-1] == (
        f"FAILED: signature of event 2 (type sealed) does not verify with key "
        f"{log.log_key.key_id_hex} ({ORIGIN})"
    )
    assert "✓ event format" not in done.stdout  # no partial success is printed as success
    assert "Traceback" not in done.stdout + done.stderr


def test_tampered_exhibit(files: dict[str, Path]) -> None:
    data = bytearray(files["exhibit"].read_bytes())
    data[0] ^= 0x01
    files["exhibit"].write_bytes(bytes(data))
    done = run(files["bundle"], "--file", files["exhibit"])
    assert done.returncode == 1
    assert "FAILED: exhibit file does not match the bundle" in done.stdout


def test_wrong_key_and_wrong_since(log: Log, files: dict[str, Path], tmp_path: Path) -> None:
    other = SigningKey.generate(ORIGIN).verifier().to_vkey()
    done = run(files["bundle"], "--key", other)
    assert done.returncode == 1
    assert "FAILED: checkpoint is not signed by a trusted key" in done.stdout
    fork = tmp_path / "fork.checkpoint"
    cp = Checkpoint(origin=ORIGIN, size=OLD_SIZE, root_hash=b"\x05" * 32)
    fork.write_text(sign_checkpoint(cp, [log.log_key]), encoding="utf-8")
    done = run(files["bundle"], "--key", vkey(log), "--since", fork)
    assert done.returncode == 1
    assert "FAILED: the checkpoint given with --since: the log at size 6 is not proven" in (
        done.stdout
    )


def test_json_output(log: Log, files: dict[str, Path]) -> None:
    done = run(files["bundle"], "--key", files["keys"], "--file", files["exhibit"], "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "verified"
    assert report["log_key_pinned"] is True
    assert [t["type"] for t in report["timeline"]][:2] == ["collected", "ingested"]
    tamper(files["bundle"], lambda obj: obj["events"].pop())
    done = run(files["bundle"], "--json")
    assert done.returncode == 1
    failed = json.loads(done.stdout)
    assert failed["verdict"] == "failed"
    assert "item description does not verify" in failed["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "the following arguments are required: BUNDLE"),
        (("b.json", "--bogus"), "unrecognized arguments: --bogus"),
        (("missing.json",), "cannot read bundle missing.json: No such file or directory"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_unreadable_inputs_exit_2(files: dict[str, Path], tmp_path: Path) -> None:
    done = run(files["bundle"], "--file", tmp_path / "nope.bin")
    assert (done.returncode, done.stdout) == (2, "")
    assert "cannot read exhibit file" in done.stderr
    done = run(files["bundle"], "--key", "not-a-key")
    assert done.returncode == 2
    assert "--key: verifier key 'not-a-key' is not name+hexid+base64" in done.stderr
    latin = tmp_path / "latin1.checkpoint"
    latin.write_bytes(b"caf\xe9\n")
    done = run(files["bundle"], "--since", latin)
    assert done.returncode == 2
    assert "is not UTF-8 text" in done.stderr


def test_a_bundle_that_does_not_parse_fails_with_exit_1(files: dict[str, Path]) -> None:
    data = bytearray(files["bundle"].read_bytes())
    data[0] = ord("[")
    files["bundle"].write_bytes(bytes(data))
    done = run(files["bundle"])
    assert done.returncode == 1
    assert done.stdout.startswith("FAILED: the bundle is not a valid bundle: bundle is not JSON")


def test_help_exits_0() -> None:
    done = run("--help")
    assert done.returncode == 0
    assert "Exit status: 0 verified, 1 a check failed" in done.stdout


# -- in process (for what a subprocess cannot reach, and for coverage) ----------------


def test_main_in_process(
    log: Log, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert verify_cli.main([str(files["bundle"]), "--key", vkey(log)]) == 0
    assert "VERIFIED" in capsys.readouterr().out
    assert verify_cli.main(["--help"]) == 0
    assert "temoin-verify" in capsys.readouterr().out
    assert verify_cli.main([]) == 2
    assert "required" in capsys.readouterr().err


def test_hostile_text_cannot_rewrite_the_report(
    log: Log, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    obj = json.loads(files["bundle"].read_text(encoding="utf-8"))
    obj["item"]["title"] = "A\x1b[2K\rVERIFIED\u202e"
    files["bundle"].write_text(json.dumps(obj), encoding="utf-8")
    assert verify_cli.main([str(files["bundle"])]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\r" not in out
    assert "A\\x1b[2K\\rVERIFIED\\u202e" in out
    assert "FAILED: signature of the item description does not verify" in out


def test_long_details_are_shortened(
    log: Log, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert verify_cli._summary({"text": "x" * 200}).endswith("…")
    assert len(verify_cli._summary({"text": "x" * 200})) == 100
    assert verify_cli._summary({"b": 1, "a": [1, "é"]}) == 'a=[1, "é"], b=1'


def test_unexpected_errors_and_interrupts_never_show_a_traceback(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(verify_cli, "verify_bundle", boom)
    assert verify_cli.main([str(files["bundle"])]) == 2
    assert "could not verify: RuntimeError: disk on fire" in capsys.readouterr().err

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(verify_cli, "verify_bundle", interrupt)
    assert verify_cli.main([str(files["bundle"])]) == 2
    assert "interrupted" in capsys.readouterr().err


def test_streams_without_reconfigure(
    log: Log, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Plain:
        def __init__(self) -> None:
            self.parts: list[str] = []

        def write(self, text: str) -> int:
            self.parts.append(text)
            return len(text)

        def flush(self) -> None:
            pass

    out = Plain()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", Plain())
    assert verify_cli.main([str(files["bundle"]), "--key", vkey(log)]) == 0
    assert "VERIFIED" in "".join(out.parts)


def test_in_process_matches_the_process(
    log: Log, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same calls as above, through main() itself, give the same exit codes."""
    latin = tmp_path / "latin1.checkpoint"
    latin.write_bytes(b"caf\xe9\n")
    broken = tmp_path / "broken.json"
    broken.write_text("[]", encoding="utf-8")
    failing = tmp_path / "failing.json"
    failing.write_text(files["bundle"].read_text(encoding="utf-8"), encoding="utf-8")
    tamper(failing, lambda obj: obj["inclusion"].pop())
    bundle = str(files["bundle"])
    cases: list[tuple[list[str], int]] = [
        ([bundle, "--file", str(files["exhibit"]), "--key", str(files["keys"])], 0),
        ([bundle, "--since", str(files["since"]), "--json"], 0),
        ([bundle], 0),
        ([str(tmp_path / "missing.json")], 2),
        ([bundle, "--file", str(tmp_path)], 2),
        ([bundle, "--key", "not-a-key"], 2),
        ([bundle, "--since", str(latin)], 2),
        ([str(broken)], 1),
        ([str(broken), "--json"], 1),
        ([str(failing), "--key", vkey(log)], 1),
    ]
    for argv, status in cases:
        assert verify_cli.main(argv) == status, argv
        captured = capsys.readouterr()
        assert "Traceback" not in captured.out + captured.err
        if "--json" in argv:
            assert json.loads(captured.out)["verdict"] in {"verified", "failed"}
