"""Ed25519 keys (RFC 8032) with C2SP signed-note key names, key ids and vkeys.

A :class:`SigningKey` is a private key plus a *key name* (for the archive's log key,
the log origin, e.g. ``temoin.example/log``). Its key id is the one c2sp.org/signed-note
recommends: ``SHA-256(name || 0x0A || 0x01 || public key)[:4]``, where ``0x01`` is the
Ed25519 signature type. A :class:`VerifierKey` is the public half, printable as a
C2SP verifier key (``name+hexid+base64(0x01 || public key)``) or as a PEM
SubjectPublicKeyInfo that ``openssl pkeyutl -verify -rawin`` accepts.

Key names are non-empty, contain no whitespace, no control characters and no ``+``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import hashlib
import itertools
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evidence.errors import KeyFormatError, SignatureError

__all__ = [
    "ED25519_SIGNATURE_TYPE",
    "SigningKey",
    "VerifierKey",
    "check_key_name",
    "key_id",
    "read_key_file",
    "sign_many",
    "start_signing",
    "write_key_file",
]

ED25519_SIGNATURE_TYPE: Final = 0x01
"""Signature type byte for Ed25519 in c2sp.org/signed-note."""

PUBLIC_KEY_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64


def check_key_name(name: str) -> str:
    """Return ``name`` if it is a valid signed-note key name, else raise KeyFormatError."""
    if not isinstance(name, str) or not name:
        raise KeyFormatError(f"key name must be a non-empty string, got {name!r}")
    for i, char in enumerate(name):
        if char.isspace() or char == "+" or not char.isprintable():
            raise KeyFormatError(
                f"key name {name!r} has a forbidden character {char!r} at offset {i} "
                "(no whitespace, control characters or '+')"
            )
    return name


@functools.lru_cache(maxsize=256)
def key_id(name: str, public_key: bytes) -> bytes:
    """C2SP recommended key id: ``SHA-256(name || 0x0A || 0x01 || public_key)[:4]``."""
    data = name.encode("utf-8") + b"\n" + bytes([ED25519_SIGNATURE_TYPE]) + public_key
    return hashlib.sha256(data).digest()[:4]


@functools.lru_cache(maxsize=256)
def _ed25519_public(public_key: bytes) -> Ed25519PublicKey:
    """The key object, made once per key (an audit verifies millions of signatures)."""
    return Ed25519PublicKey.from_public_bytes(public_key)


def _check_public_key(public_key: bytes) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_SIZE:
        got = len(public_key) if isinstance(public_key, bytes) else type(public_key).__name__
        raise KeyFormatError(f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes, got {got}")


@dataclass(frozen=True, kw_only=True)
class VerifierKey:
    """A named Ed25519 public key that checks signatures and prints as a C2SP vkey."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        _check_public_key(self.public_key)

    @property
    def key_id(self) -> bytes:
        """The 4-byte key id (see :func:`key_id`)."""
        return key_id(self.name, self.public_key)

    @functools.cached_property
    def key_id_hex(self) -> str:
        return self.key_id.hex()

    def verify(self, signature: bytes, message: bytes) -> None:
        """Check an RFC 8032 Ed25519 signature over ``message``; raise SignatureError if bad.

        Verification is pyca/cryptography's (OpenSSL), which is strict: it rejects
        ``S >= L`` (RFC 8032 section 5.1.7), non-canonical encodings and signatures of
        any length other than 64 bytes.
        """
        if not isinstance(signature, bytes) or len(signature) != SIGNATURE_SIZE:
            got = len(signature) if isinstance(signature, bytes) else type(signature).__name__
            raise SignatureError(
                f"signature by key {self.name} ({self.key_id_hex}) is {got} bytes, "
                f"expected {SIGNATURE_SIZE}"
            )
        try:
            _ed25519_public(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            raise SignatureError(
                f"signature by key {self.name} ({self.key_id_hex}) does not verify"
            ) from None

    def to_vkey(self) -> str:
        """The C2SP verifier key: ``name+hexid+base64(0x01 || public key)``."""
        payload = base64.b64encode(bytes([ED25519_SIGNATURE_TYPE]) + self.public_key)
        return f"{self.name}+{self.key_id_hex}+{payload.decode('ascii')}"

    @classmethod
    def parse(cls, vkey: str) -> VerifierKey:
        """Read a C2SP verifier key; its key id must match the name and public key."""
        if not isinstance(vkey, str):
            raise KeyFormatError(f"verifier key must be a string, got {type(vkey).__name__}")
        parts = vkey.split("+", 2)  # the base64 part may itself contain '+'
        if len(parts) != 3:
            raise KeyFormatError(f"verifier key {vkey!r} is not name+hexid+base64")
        name, id_hex, payload_b64 = parts
        check_key_name(name)
        if len(id_hex) != 8 or any(c not in "0123456789abcdefABCDEF" for c in id_hex):
            raise KeyFormatError(f"verifier key id {id_hex!r} is not 8 hex digits")
        payload = _b64decode(payload_b64, KeyFormatError, "verifier key")
        if not payload or payload[0] != ED25519_SIGNATURE_TYPE:
            kind = f"0x{payload[0]:02x}" if payload else "missing"
            raise KeyFormatError(
                f"verifier key {name}: signature type {kind} is not Ed25519 (0x01)"
            )
        key = cls(name=name, public_key=payload[1:])
        if key.key_id_hex != id_hex.lower():
            raise KeyFormatError(
                f"verifier key {name}: key id is {id_hex}, but name and key give {key.key_id_hex}"
            )
        return key

    def to_pem(self) -> bytes:
        """The public key as PEM SubjectPublicKeyInfo (for ``openssl pkeyutl``)."""
        return Ed25519PublicKey.from_public_bytes(self.public_key).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_pem(cls, data: bytes, *, name: str) -> VerifierKey:
        """Read a PEM SubjectPublicKeyInfo Ed25519 public key and give it ``name``."""
        try:
            public = serialization.load_pem_public_key(data)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyFormatError(f"not a PEM public key: {exc}") from None
        if not isinstance(public, Ed25519PublicKey):
            raise KeyFormatError(f"PEM public key is {type(public).__name__}, not Ed25519")
        return cls(name=name, public_key=public.public_bytes_raw())


def _b64decode(text: str, error: type[Exception], what: str) -> bytes:
    """Strict standard base64 (RFC 4648 section 4, padded, canonical)."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise error(f"{what}: {text[:60]!r} is not valid base64") from None
    if base64.b64encode(data).decode("ascii") != text:
        raise error(f"{what}: {text[:60]!r} is not canonical padded base64")
    return data


class SigningKey:
    """A named Ed25519 private key."""

    __slots__ = ("_key_id", "_key_id_hex", "_name", "_private", "_public")

    def __init__(self, private_key: Ed25519PrivateKey, *, name: str) -> None:
        self._name = check_key_name(name)
        self._private = private_key
        self._public = private_key.public_key().public_bytes_raw()
        self._key_id = key_id(self._name, self._public)
        self._key_id_hex = self._key_id.hex()

    @classmethod
    def generate(cls, name: str) -> SigningKey:
        """A fresh random key (from the operating system's CSPRNG)."""
        return cls(Ed25519PrivateKey.generate(), name=name)

    @classmethod
    def from_seed(cls, seed: bytes, *, name: str) -> SigningKey:
        """The key with this 32-byte RFC 8032 secret (for test vectors and recovery)."""
        if not isinstance(seed, bytes) or len(seed) != 32:
            raise KeyFormatError("an Ed25519 private key seed is 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed), name=name)

    @property
    def name(self) -> str:
        return self._name

    @property
    def public_key_bytes(self) -> bytes:
        """The raw 32-byte public key."""
        return self._public

    @property
    def key_id(self) -> bytes:
        return self._key_id

    @property
    def key_id_hex(self) -> str:
        return self._key_id_hex

    def sign(self, message: bytes) -> bytes:
        """RFC 8032 Ed25519 signature (64 bytes) over ``message``."""
        return self._private.sign(message)

    def verifier(self) -> VerifierKey:
        return VerifierKey(name=self._name, public_key=self._public)

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        """PKCS #8 PEM; encrypted with the best available scheme when given a passphrase."""
        encryption: serialization.KeySerializationEncryption
        if passphrase is None:
            encryption = serialization.NoEncryption()
        elif not passphrase:
            raise KeyFormatError("an empty passphrase would not protect the key")
        else:
            encryption = serialization.BestAvailableEncryption(passphrase)
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    @classmethod
    def from_pem(cls, data: bytes, *, name: str, passphrase: bytes | None = None) -> SigningKey:
        """Read a PKCS #8 PEM Ed25519 private key, decrypting it with ``passphrase``."""
        try:
            private = serialization.load_pem_private_key(data, password=passphrase or None)
        except TypeError as exc:  # passphrase given for a clear key, or missing
            raise KeyFormatError(f"key passphrase problem: {exc}") from None
        except (ValueError, UnsupportedAlgorithm):
            raise KeyFormatError(
                "cannot read the private key: not a PKCS #8 PEM key, or wrong passphrase"
            ) from None
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyFormatError(f"private key is {type(private).__name__}, not Ed25519")
        return cls(private, name=name)

    def __repr__(self) -> str:
        return f"SigningKey(name={self._name!r}, key_id={self.key_id_hex})"


# ---------------------------------------------------------------- many signatures at once

#: Below this many signatures, handing them to threads costs more than it saves.
PARALLEL_FROM: Final = 64

_pool_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None  # (the process id it belongs to, pool)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _signing_pool(workers: int) -> ThreadPoolExecutor:
    """One pool per process: a pool made before a fork has no threads in the child."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(workers, thread_name_prefix="ed25519"))
        return _pool[1]


def _sign_part(requests: Sequence[tuple[SigningKey, bytes]]) -> list[bytes]:
    return [key.sign(message) for key, message in requests]


#: Signatures per share of the work: small enough that the threads finish together.
_SHARE = 32


class _Signing:
    """Signatures made by whoever takes the next share: the pool's threads from the start,
    the caller too once it asks for them."""

    def __init__(self, requests: Sequence[tuple[SigningKey, bytes]]) -> None:
        self._shares = [requests[i : i + _SHARE] for i in range(0, len(requests), _SHARE)]
        self._signatures: list[list[bytes] | None] = [None] * len(self._shares)
        self._next = itertools.count()  # next() on it is atomic: each share is taken once

    def work(self) -> None:
        shares, signatures = self._shares, self._signatures
        while (i := next(self._next)) < len(shares):
            signatures[i] = _sign_part(shares[i])

    def result(self) -> list[bytes]:
        done: list[bytes] = []
        for part in self._signatures:
            if part is None:  # pragma: no cover - a worker failed: its error is raised first
                raise RuntimeError("a share of the signatures was not made")
            done.extend(part)
        return done


def start_signing(requests: Sequence[tuple[SigningKey, bytes]]) -> Callable[[], list[bytes]]:
    """Start making the Ed25519 signature of each ``(key, message)``; the function returned
    gives them in order (or raises what signing raised).

    ``cryptography`` signs without holding the GIL, so a long list is signed by one thread
    per core but one while the caller does other work; the caller then signs what is left
    beside them. A short one (or a single core) is signed here and now."""
    workers = _cores()
    if len(requests) < PARALLEL_FROM or workers < 2:
        done = _sign_part(requests)
        return lambda: done
    job = _Signing(requests)
    pool = _signing_pool(workers - 1)
    helpers = [pool.submit(job.work) for _ in range(workers - 1)]

    def collect() -> list[bytes]:
        job.work()
        for helper in helpers:
            helper.result()  # raises what a helper's signing raised
        return job.result()

    return collect


def sign_many(requests: Sequence[tuple[SigningKey, bytes]]) -> list[bytes]:
    """The signature of each ``(key, message)``, in order, made on every core."""
    return start_signing(requests)()


def write_key_file(
    path: str | os.PathLike[str],
    key: SigningKey,
    passphrase: bytes | None = None,
    *,
    overwrite: bool = False,
) -> None:
    """Write ``key`` as PEM, atomically, readable by the owner only (mode 0o600).

    The key goes to a temporary file in the same directory, is flushed and fsynced, and
    is then moved into place: with ``os.replace`` when ``overwrite`` is true, otherwise
    with ``os.link``, which fails with ``FileExistsError`` if the file exists (no race).
    """
    target = Path(path)
    data = key.to_pem(passphrase)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp_name, target)
        else:
            os.link(tmp_name, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_key_file(
    path: str | os.PathLike[str], *, name: str, passphrase: bytes | None = None
) -> SigningKey:
    """Read a key written by :func:`write_key_file`; KeyFormatError names the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise KeyFormatError(f"cannot read key file {os.fspath(path)}: {exc.strerror}") from None
    try:
        return SigningKey.from_pem(data, name=name, passphrase=passphrase)
    except KeyFormatError as exc:
        raise KeyFormatError(f"key file {os.fspath(path)}: {exc}") from None
