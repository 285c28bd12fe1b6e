"""docs/verify-by-hand.md: its shell commands, run verbatim, check a real bundle.

The test takes every ```sh block of the page, in order, as one script, and runs it with
bash in a folder holding bundle.json, exhibit and key.pem, once per event (the page's
``N=1`` line set to each event in turn). The checks must all pass on a genuine bundle and
fail on a tampered exhibit, event, proof or checkpoint.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evidence.bundle import Bundle, parse_bundle
from tests.evidence.test_bundle import ORIGINALS, Log, make_bundle, make_log

DOC = Path(__file__).resolve().parents[2] / "docs" / "verify-by-hand.md"
TOOLS = ["bash", "openssl", "sha256sum", "base64", "grep", "sed", "cut", "cmp", "tail", "head"]
missing = [tool for tool in TOOLS if shutil.which(tool) is None]
pytestmark = pytest.mark.skipif(
    bool(missing), reason=f"verify-by-hand needs {', '.join(missing)} on PATH"
)


def script() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 5
    text = "".join(blocks)
    assert text.count("\nN=1\n") == 1
    return text


@pytest.fixture(scope="module")
def log() -> Log:
    return make_log()


def run(folder: Path, n: int) -> str:
    text = script().replace("\nN=1\n", f"\nN={n}\n")
    done = subprocess.run(
        ["bash", "-c", text],
        cwd=folder,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=60,
    )
    return done.stdout + done.stderr


def prepare(folder: Path, log: Log, bundle: Bundle, exhibit: bytes) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "bundle.json").write_text(bundle.to_json(), encoding="utf-8")
    (folder / "exhibit").write_bytes(exhibit)
    (folder / "key.pem").write_bytes(log.log_key.verifier().to_pem())


def ok_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("OK: ")]


def test_the_commands_verify_every_event(log: Log, tmp_path: Path) -> None:
    bundle = make_bundle(log)
    prepare(tmp_path, log, bundle, ORIGINALS["item-a"])
    for n, event in enumerate(bundle.events, start=1):
        out = run(tmp_path, n)
        assert "MISMATCH" not in out, out
        assert "Failure" not in out and "rror" not in out, out
        assert out.count("Signature Verified Successfully") == 2, out
        assert ok_lines(out) == [
            "OK: exhibit digest",
            "OK: the bundle's log key is the published key",
            f"OK: event {n} is entry {event.log_index} of the signed log",
        ], out
        assert f"the log holds {len(log.leaves)} entries" in out
        assert json.loads(event.canonical)["seq"] == n - 1
        assert event.canonical.decode() in out  # `cat event.bin` shows the event


def edit(bundle: Bundle, change: Callable[[dict[str, Any]], None]) -> Bundle:
    obj = json.loads(bundle.to_json())
    change(obj)
    return parse_bundle(json.dumps(obj))  # written back canonical, as an archive writes it


def flip_b64(value: str, at: int) -> str:
    data = bytearray(base64.b64decode(value))
    data[at] ^= 0x01
    return base64.b64encode(bytes(data)).decode()


def test_the_commands_catch_tampering(log: Log, tmp_path: Path) -> None:
    bundle = make_bundle(log)
    changed = bytearray(ORIGINALS["item-a"])
    changed[3] ^= 0x01

    prepare(tmp_path / "exhibit", log, bundle, bytes(changed))
    assert "MISMATCH: exhibit digest" in run(tmp_path / "exhibit", 1)

    def event_byte(obj: dict[str, Any]) -> None:
        obj["events"][1]["canonical"] = flip_b64(obj["events"][1]["canonical"], 20)

    prepare(tmp_path / "event", log, edit(bundle, event_byte), ORIGINALS["item-a"])
    out = run(tmp_path / "event", 2)
    assert "Signature Verification Failure" in out
    assert "MISMATCH: event 2 is not in the signed log" in out

    def proof_hash(obj: dict[str, Any]) -> None:
        obj["inclusion"][2]["hashes"][0] = flip_b64(obj["inclusion"][2]["hashes"][0], 0)

    prepare(tmp_path / "proof", log, edit(bundle, proof_hash), ORIGINALS["item-a"])
    assert "MISMATCH: event 3 is not in the signed log" in run(tmp_path / "proof", 3)

    def checkpoint_size(obj: dict[str, Any]) -> None:
        lines = obj["checkpoint"].split("\n")
        lines[1] = str(int(lines[1]) + 1)
        obj["checkpoint"] = "\n".join(lines)

    prepare(tmp_path / "checkpoint", log, edit(bundle, checkpoint_size), ORIGINALS["item-a"])
    out = run(tmp_path / "checkpoint", 1)
    assert "Signature Verification Failure" in out
    # The leftmost entry's path is the same in trees of 11 and 12 entries, so only the
    # checkpoint signature catches this: the page says to stop when step 3 fails.
    assert "OK: event 1 is entry 0 of the signed log" in out

    other = make_log()  # the same bundle shape, signed by a different archive key
    prepare(tmp_path / "key", other, bundle, ORIGINALS["item-a"])
    out = run(tmp_path / "key", 1)
    assert "MISMATCH: the bundle's log key is not the published key" in out
    assert "Signature Verification Failure" in out
