"""Content-addressed storage of original bytes under the data directory.

A blob is written to a temporary file in the same directory tree while it is hashed,
flushed to disk, then renamed into place: a crash never leaves a half-written blob under
a real digest, and the same bytes are stored once.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from evidence.digest import Digest, DigestWriter

CHUNK = 1 << 16


@dataclass(frozen=True, kw_only=True)
class StoredBlob:
    digest: Digest
    size: int
    path: Path


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._root_text = os.fspath(root)

    def path_for(self, digest: Digest) -> Path:
        return Path(self.file_for(digest))

    def file_for(self, digest: Digest) -> str:
        """:meth:`path_for` as text, made without pathlib (an audit asks for every blob's)."""
        hexd = digest.hex
        return os.path.join(self._root_text, digest.algorithm, hexd[:2], hexd[2:4], hexd)

    def ensure(self) -> None:
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    def write_bytes(self, data: bytes) -> StoredBlob:
        return self.write_chunks([data])

    def write_stream(self, stream: BinaryIO, *, limit: int | None = None) -> StoredBlob:
        def chunks() -> Iterable[bytes]:
            while chunk := stream.read(CHUNK):
                yield chunk

        return self.write_chunks(chunks(), limit=limit)

    def write_chunks(self, chunks: Iterable[bytes], *, limit: int | None = None) -> StoredBlob:
        self.ensure()
        hasher = DigestWriter()
        fd, tmp_name = tempfile.mkstemp(dir=self.root / "tmp", prefix="incoming-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    hasher.update(chunk)
                    if limit is not None and hasher.size > limit:
                        raise ValueError(f"upload is larger than the limit of {limit} bytes")
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = hasher.digest()
            final = self.path_for(digest)
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                tmp.unlink()
            else:
                os.chmod(tmp, 0o440)
                os.replace(tmp, final)
                _fsync_dir(final.parent)
            return StoredBlob(digest=digest, size=hasher.size, path=final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def read_bytes(self, digest: Digest) -> bytes:
        return self.path_for(digest).read_bytes()

    def open(self, digest: Digest) -> BinaryIO:
        return self.path_for(digest).open("rb")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
