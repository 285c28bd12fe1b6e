"""Ed25519 keys: RFC 8032 and Wycheproof vectors, vkeys, PEM, key files, openssl."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from evidence import signing
from evidence.errors import KeyFormatError, SignatureError
from evidence.signing import (
    SigningKey,
    VerifierKey,
    check_key_name,
    key_id,
    read_key_file,
    sign_many,
    start_signing,
    write_key_file,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
RFC8032: list[dict[str, Any]] = json.loads((VECTORS / "ed25519_rfc8032.json").read_text())[
    "vectors"
]
WYCHEPROOF: dict[str, Any] = json.loads((VECTORS / "wycheproof_ed25519_test.json").read_text())
WYCHEPROOF_CASES = [
    (group["publicKey"]["pk"], test)
    for group in WYCHEPROOF["testGroups"]
    for test in group["tests"]
]
GO_SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
EXAMPLE_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"


@pytest.mark.parametrize("vector", RFC8032, ids=lambda v: v["name"])
def test_rfc8032_vectors(vector: dict[str, Any]) -> None:
    key = SigningKey.from_seed(bytes.fromhex(vector["secret_key"]), name="rfc8032")
    assert key.public_key_bytes.hex() == vector["public_key"]
    message = bytes.fromhex(vector["message"])
    assert len(message) == vector["message_length"]
    signature = key.sign(message)
    assert signature.hex() == vector["signature"]  # Ed25519 is deterministic
    verifier = key.verifier()
    verifier.verify(signature, message)
    with pytest.raises(SignatureError, match="does not verify"):
        verifier.verify(signature, message + b"x")
    tampered = bytes([signature[0] ^ 1]) + signature[1:]
    with pytest.raises(SignatureError, match="does not verify"):
        verifier.verify(tampered, message)


class _Recording(SigningKey):
    """A key that notes which thread made each of its signatures."""

    def __init__(self, seed: bytes) -> None:
        other = SigningKey.from_seed(seed, name="rfc8032")
        super().__init__(other._private, name="rfc8032")
        self.threads: set[str] = set()

    def sign(self, message: bytes) -> bytes:
        self.threads.add(threading.current_thread().name)
        return super().sign(message)


def _vector_requests(repeat: int) -> tuple[list[tuple[SigningKey, bytes]], list[str]]:
    keys = [_Recording(bytes.fromhex(v["secret_key"])) for v in RFC8032]
    requests: list[tuple[SigningKey, bytes]] = []
    expected: list[str] = []
    for _ in range(repeat):
        for key, vector in zip(keys, RFC8032, strict=True):
            requests.append((key, bytes.fromhex(vector["message"])))
            expected.append(vector["signature"])
    return requests, expected


def test_many_signatures_are_the_vectors_in_order_made_on_every_core() -> None:
    requests, expected = _vector_requests(40)  # 200 signatures, five keys interleaved
    assert len(requests) >= signing.PARALLEL_FROM
    assert [s.hex() for s in sign_many(requests)] == expected
    if len(os.sched_getaffinity(0)) < 2:  # pragma: no cover - one core: signed where called
        threads = set().union(*(key.threads for key, _ in requests))  # type: ignore[attr-defined]
        assert threads == {threading.current_thread().name}


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: signed where called")
def test_signing_goes_on_while_the_caller_does_other_work() -> None:
    requests, expected = _vector_requests(40)
    keys = {key for key, _ in requests}
    collect = start_signing(requests)
    deadline = time.monotonic() + 30
    while not any(key.threads for key in keys):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "no signature was made before collect()"
        time.sleep(0.001)
    signers = set().union(*(key.threads for key in keys))  # type: ignore[attr-defined]
    assert threading.current_thread().name not in signers  # not this thread, not yet
    assert [s.hex() for s in collect()] == expected  # this thread signs what is left


def test_a_few_signatures_are_made_where_they_are_asked_for() -> None:
    requests, expected = _vector_requests(2)
    collect = start_signing(requests)  # already signed, in this thread
    assert set().union(*(key.threads for key, _ in requests)) == {  # type: ignore[attr-defined]
        threading.current_thread().name
    }
    assert [s.hex() for s in collect()] == expected
    assert sign_many([]) == []


def test_a_failed_signature_reaches_the_caller() -> None:
    requests, _ = _vector_requests(40)
    requests[137] = (requests[137][0], "not bytes")  # type: ignore[assignment]
    collect = start_signing(requests)
    with pytest.raises(TypeError):
        collect()


def test_a_forked_child_signs_many_with_pool_of_its_own() -> None:
    requests, expected = _vector_requests(40)
    sign_many(requests)  # the parent's pool exists before the fork
    read, write = os.pipe()
    with warnings.catch_warnings():  # Python 3.12 warns of fork() with threads running
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(write, b"".join(sign_many(requests)))
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    assert [data[i : i + 64].hex() for i in range(0, len(data), 64)] == expected


def test_rfc8032_vector_count() -> None:
    names = [v["name"] for v in RFC8032]
    assert names == ["TEST 1", "TEST 2", "TEST 3", "TEST 1024", "TEST SHA(abc)"]


def test_wycheproof_has_no_acceptable_cases() -> None:
    # The file has only "valid" and "invalid" results, so nothing is left to policy:
    # pyca/cryptography (OpenSSL) rejects S >= L, non-canonical R and wrong lengths.
    results = [test["result"] for _, test in WYCHEPROOF_CASES]
    assert len(results) == WYCHEPROOF["numberOfTests"] == 151
    assert (results.count("valid"), results.count("invalid")) == (88, 63)


@pytest.mark.parametrize(
    ("public_key", "test"), WYCHEPROOF_CASES, ids=[f"tc{t['tcId']}" for _, t in WYCHEPROOF_CASES]
)
def test_wycheproof(public_key: str, test: dict[str, Any]) -> None:
    verifier = VerifierKey(name="wycheproof", public_key=bytes.fromhex(public_key))
    signature, message = bytes.fromhex(test["sig"]), bytes.fromhex(test["msg"])
    if test["result"] == "valid":
        verifier.verify(signature, message)
    else:
        assert test["result"] == "invalid"
        with pytest.raises(SignatureError):
            verifier.verify(signature, message)


def test_wrong_length_signatures_are_named() -> None:
    verifier = SigningKey.generate("k").verifier()
    with pytest.raises(SignatureError, match="is 63 bytes, expected 64"):
        verifier.verify(bytes(63), b"m")
    with pytest.raises(SignatureError, match="is str bytes"):
        verifier.verify("sig", b"m")  # type: ignore[arg-type]


def test_key_id_is_the_c2sp_recommended_one() -> None:
    go = VerifierKey.parse(GO_SUMDB_VKEY)
    assert go.name == "sum.golang.org"
    assert go.key_id_hex == "033de0ae"
    assert go.to_vkey() == GO_SUMDB_VKEY
    example = VerifierKey.parse(EXAMPLE_VKEY)
    assert example.key_id == bytes.fromhex("530d903a")
    assert key_id(example.name, example.public_key) == example.key_id
    assert VerifierKey.parse(EXAMPLE_VKEY.replace("530d903a", "530D903A")) == example


def test_signing_key_properties() -> None:
    key = SigningKey.generate("temoin.example/log")
    assert key.name == "temoin.example/log"
    assert len(key.public_key_bytes) == 32
    assert len(key.key_id) == 4
    assert key.key_id_hex == key.key_id.hex()
    verifier = key.verifier()
    assert verifier.key_id == key.key_id
    assert VerifierKey.parse(verifier.to_vkey()) == verifier
    assert "temoin.example/log" in repr(key)
    assert key.key_id_hex in repr(key)
    assert len(key.sign(b"x")) == 64


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("sum.golang.org", "not name\\+hexid\\+base64"),
        ("sum.golang.org+033de0ae", "not name\\+hexid\\+base64"),
        ("+033de0ae+Ac4z", "non-empty"),
        ("sum golang+033de0ae+Ac4z", "forbidden character ' '"),
        ("sum.golang.org+033de0a+Ac4z", "'033de0a' is not 8 hex digits"),
        ("sum.golang.org+033de0ag+Ac4z", "is not 8 hex digits"),
        ("sum.golang.org+033de0ae+Ac4z!!", "not valid base64"),
        ("k+033de0ae+AQ" + "A" * 41 + "=", "32 bytes, got 31"),
        ("k+033de0ae+AQ" + "A" * 40 + "B=", "not canonical padded base64"),
        ("sum.golang.org+033de0ae+", "signature type missing"),
        ("sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuA", "not valid base64"),
        ("sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8O", "32 bytes, got 29"),
        ("sum.golang.org+033de0af+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8", "key id is"),
        ("sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8é", "base64"),
    ],
)
def test_vkey_refusals(vkey: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        VerifierKey.parse(vkey)


def test_vkey_of_another_signature_type() -> None:
    payload = base64.b64encode(b"\x02" + bytes(32)).decode()
    with pytest.raises(KeyFormatError, match="signature type 0x02 is not Ed25519"):
        VerifierKey.parse(f"example.com+00000000+{payload}")
    with pytest.raises(KeyFormatError, match="must be a string"):
        VerifierKey.parse(b"x")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "a b", "a\tb", "a+b", "a\u00a0b", "a\x00b", "a\u2028b"])
def test_key_names(name: str) -> None:
    with pytest.raises(KeyFormatError):
        check_key_name(name)
    with pytest.raises(KeyFormatError):
        SigningKey.generate(name)
    with pytest.raises(KeyFormatError):
        VerifierKey(name=name, public_key=bytes(32))


def test_key_name_accepts_log_origins() -> None:
    assert check_key_name("temoin.example/log") == "temoin.example/log"
    assert check_key_name("témoin.example/journal") == "témoin.example/journal"
    with pytest.raises(KeyFormatError, match="non-empty string"):
        check_key_name(None)  # type: ignore[arg-type]


def test_verifier_key_validates_public_key() -> None:
    with pytest.raises(KeyFormatError, match="32 bytes, got 31"):
        VerifierKey(name="k", public_key=bytes(31))
    with pytest.raises(KeyFormatError, match="got str"):
        VerifierKey(name="k", public_key="00")  # type: ignore[arg-type]
    with pytest.raises(KeyFormatError, match="seed is 32 bytes"):
        SigningKey.from_seed(bytes(16), name="k")


def test_pem_round_trips() -> None:
    key = SigningKey.generate("k")
    clear = key.to_pem()
    assert clear.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert SigningKey.from_pem(clear, name="k").public_key_bytes == key.public_key_bytes
    locked = key.to_pem(b"correct horse")
    assert locked.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    again = SigningKey.from_pem(locked, name="other", passphrase=b"correct horse")
    assert again.public_key_bytes == key.public_key_bytes
    assert again.name == "other"
    public = key.verifier().to_pem()
    assert public.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert VerifierKey.from_pem(public, name="k") == key.verifier()


def test_pem_refusals() -> None:
    key = SigningKey.generate("k")
    locked = key.to_pem(b"pw")
    with pytest.raises(KeyFormatError, match="empty passphrase"):
        key.to_pem(b"")
    with pytest.raises(KeyFormatError, match="wrong passphrase"):
        SigningKey.from_pem(locked, name="k", passphrase=b"nope")
    with pytest.raises(KeyFormatError, match="passphrase problem"):
        SigningKey.from_pem(locked, name="k")
    with pytest.raises(KeyFormatError, match="passphrase problem"):
        SigningKey.from_pem(key.to_pem(), name="k", passphrase=b"pw")
    with pytest.raises(KeyFormatError, match="not a PKCS #8 PEM key"):
        SigningKey.from_pem(b"garbage", name="k")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = ec_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(KeyFormatError, match="not Ed25519"):
        SigningKey.from_pem(ec_pem, name="k")
    ec_public = ec_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KeyFormatError, match="not Ed25519"):
        VerifierKey.from_pem(ec_public, name="k")
    with pytest.raises(KeyFormatError, match="not a PEM public key"):
        VerifierKey.from_pem(b"garbage", name="k")


def test_key_files(tmp_path: Path) -> None:
    key = SigningKey.generate("temoin.example/log")
    path = tmp_path / "log.key"
    write_key_file(path, key, b"secret")
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_key_file(path, name=key.name, passphrase=b"secret").key_id == key.key_id
    with pytest.raises(FileExistsError):
        write_key_file(path, SigningKey.generate("x"))
    assert read_key_file(path, name=key.name, passphrase=b"secret").key_id == key.key_id
    other = SigningKey.generate("temoin.example/log")
    write_key_file(str(path), other, overwrite=True)
    assert read_key_file(path, name=other.name).key_id == other.key_id
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.key"]  # no temp files left


def test_key_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    write_key_file(path, SigningKey.generate("k"), b"pw")
    expected = rf"key file {re.escape(str(path))}: .*wrong passphrase"
    with pytest.raises(KeyFormatError, match=expected):
        read_key_file(path, name="k", passphrase=b"bad")
    with pytest.raises(KeyFormatError, match=r"cannot read key file .*missing"):
        read_key_file(tmp_path / "missing", name="k")
    (tmp_path / "junk").write_bytes(b"not a key")
    with pytest.raises(KeyFormatError, match="junk"):
        read_key_file(tmp_path / "junk", name="k")
    with pytest.raises(FileNotFoundError):
        write_key_file(tmp_path / "no-such-dir" / "k.pem", SigningKey.generate("k"))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_verifies_our_signatures(tmp_path: Path) -> None:
    key = SigningKey.generate("k")
    message = b'{"v":1}'
    (tmp_path / "pub.pem").write_bytes(key.verifier().to_pem())
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig").write_bytes(key.sign(message))
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin"]
    command += ["-in", "msg", "-sigfile", "sig"]
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, check=False, env={**os.environ}
    )
    assert done.returncode == 0, done.stderr
    (tmp_path / "msg").write_bytes(message + b" ")
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, check=False)
    assert done.returncode != 0
