"""The archive's runtime: settings, database, keys, blobs, vault and search indexes.

Services receive an ``Archive`` and a SQLAlchemy ``Session``; they know nothing of Flask.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from archive.config import Settings
from archive.db import Database, migrate
from archive.models import ApiToken, SigningKeyRecord, User
from archive.services.blobs import BlobStore
from archive.services.vault import Vault
from evidence.signing import SigningKey, read_key_file, write_key_file
from search_index import IndexOutdated, SearchIndex, WhooshIndex

if TYPE_CHECKING:
    from archive.services.indexing import OutboxWorker

log = logging.getLogger(__name__)

BOOTSTRAP_TOKEN_FILE = "bootstrap-admin-token"  # noqa: S105 -- a file name, not a secret
BOOTSTRAP_PASSWORD_FILE = "bootstrap-admin-password"  # noqa: S105 -- a file name, not a secret


class Archive:
    """Everything a use case needs, opened lazily from one ``Settings``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.database_url)
        self.blobs = BlobStore(settings.blob_dir)

    @cached_property
    def signing_key(self) -> SigningKey:
        return read_key_file(
            self.settings.signing_key_file,
            name=self.settings.log_origin,
            passphrase=self.settings.signing_key_passphrase,
        )

    @cached_property
    def vault(self) -> Vault:
        return Vault.load(self.settings.vault_key_file)

    def _open_index(self, name: str) -> SearchIndex:
        """The public and the restricted index are physically separate: two directories,
        or two tables."""
        backend = self.settings.search_backend
        if backend == "whoosh":
            from archive.services.indexing import ensure_index_link

            return WhooshIndex(ensure_index_link(self.settings.index_dir, name))
        if backend == "postgres":
            if self.settings.is_sqlite:
                raise ValueError(
                    "TEMOIN_SEARCH_BACKEND=postgres needs a PostgreSQL TEMOIN_DATABASE_URL"
                )
            from search_index.postgres_backend import PostgresIndex

            return PostgresIndex(self.db.engine, table=f"search_{name}")
        raise ValueError(f"TEMOIN_SEARCH_BACKEND must be whoosh or postgres, not {backend!r}")

    @cached_property
    def public_index(self) -> SearchIndex:
        return self._open_index("public")

    @cached_property
    def restricted_index(self) -> SearchIndex:
        return self._open_index("restricted")

    @cached_property
    def indexer(self) -> OutboxWorker:
        from archive.services.indexing import OutboxWorker

        return OutboxWorker(self)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction; index changes it queued are applied once it has committed."""
        from archive.services.indexing import process_outbox
        from archive.services.log import seal_batch

        with self.db.transaction() as session:
            yield session
            seal_batch(self, session)

        process_outbox(self)

    def after_fork(self) -> None:
        """In a freshly forked worker: never share the parent's connections, index handles
        or indexer thread."""
        self.db.engine.dispose(close=False)
        for name in ("public_index", "restricted_index", "indexer"):
            self.__dict__.pop(name, None)

    def close(self) -> None:
        worker = self.__dict__.pop("indexer", None)
        if worker is not None:
            worker.stop()
        for name in ("public_index", "restricted_index"):
            index = self.__dict__.pop(name, None)
            if index is not None:
                index.close()
        self.db.dispose()


@dataclass(frozen=True, kw_only=True)
class InitReport:
    data_dir: Path
    database_url: str
    signing_key_id: str
    created_signing_key: bool
    created_vault: bool
    admin_token: str | None
    admin_token_file: Path
    #: The first administrator's one-time web password, while it has not been replaced.
    admin_password: str | None = None
    admin_password_file: Path | None = None
    #: The indexes rebuilt from the database because another version had built them.
    rebuilt_indexes: tuple[str, ...] = ()


def rebuild_outdated_indexes(
    arc: Archive, progress: Callable[[int, int], None] | None = None
) -> tuple[str, ...]:
    """Open both indexes (which creates them), rebuilding from the database each one that
    another version of Témoin built with another schema (upgrading is running ``temoin
    init``); the names of those rebuilt. ``progress`` follows a rebuild, as in
    ``indexing.reindex``."""
    outdated = []
    for name in ("public", "restricted"):
        try:
            getattr(arc, f"{name}_index")
        except IndexOutdated as exc:
            log.warning("%s; rebuilding it", exc)
            outdated.append(name)
    if outdated:
        from archive.services.indexing import reindex

        reindex(
            arc,
            public="public" in outdated,
            restricted="restricted" in outdated,
            progress=progress,
        )
    return tuple(outdated)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def init_archive(
    settings: Settings, *, progress: Callable[[int, int], None] | None = None
) -> InitReport:
    """Create (or complete) an archive: data dir, schema, keys, vault, indexes, admin token.

    Safe to run again: nothing that exists is replaced. ``progress`` follows the rebuild
    of an index another version built (see ``rebuild_outdated_indexes``), if any.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _ensure_secret_key(settings)
    created_key = False
    if not settings.signing_key_file.exists():
        key = SigningKey.generate(settings.log_origin)
        settings.signing_key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_key_file(settings.signing_key_file, key, passphrase=settings.signing_key_passphrase)
        created_key = True
    created_vault = False
    if not settings.vault_key_file.exists():
        Vault.create(settings.vault_key_file)
        created_vault = True
    arc = Archive(settings)
    try:
        migrate(arc.db.engine)
        arc.blobs.ensure()
        rebuilt = rebuild_outdated_indexes(arc, progress)
        key = arc.signing_key
        token: str | None = None
        token_file = settings.signing_key_file.parent / BOOTSTRAP_TOKEN_FILE
        password_file = settings.signing_key_file.parent / BOOTSTRAP_PASSWORD_FILE
        password: str | None = None
        from archive.services.keys import ensure_key_history
        from archive.services.signin import one_time_password
        from archive.services.users import check_password, hash_password

        with arc.unit_of_work() as session:
            register_signing_key(session, key)
            ensure_key_history(arc, session)
            if (
                session.scalar(select(ApiToken).where(ApiToken.revoked_at.is_(None)).limit(1))
                is None
            ):
                # The first administrator; the bootstrap token is theirs, and a one-time
                # password for the web, replaced at their first sign-in.
                password = one_time_password()
                admin = User(
                    name="admin",
                    role="admin",
                    password_hash=hash_password(password),
                    must_change_password=True,
                )
                session.add(admin)
                session.flush()
                token = "tmn_" + secrets.token_urlsafe(32)
                session.add(
                    ApiToken(
                        name="bootstrap admin",
                        token_hash=token_hash(token),
                        role="admin",
                        user_id=admin.id,
                    )
                )
                _write_private(token_file, token + "\n")
                _write_private(password_file, password + "\n")
            elif password_file.exists():
                password = _unused_bootstrap_password(session, password_file, check_password)
        if token is None and token_file.exists():
            token = token_file.read_text().strip()
        return InitReport(
            data_dir=settings.data_dir,
            database_url=settings.database_url,
            signing_key_id=key.key_id_hex,
            created_signing_key=created_key,
            created_vault=created_vault,
            admin_token=token,
            admin_token_file=token_file,
            admin_password=password,
            admin_password_file=password_file,
            rebuilt_indexes=rebuilt,
        )
    finally:
        arc.close()


def _unused_bootstrap_password(
    session: Session, path: Path, check_password: Callable[[str, str | None], bool]
) -> str | None:
    """The one-time password in `path` while the administrator still has it; once they
    have replaced it the file is of no use, and is removed."""
    password = path.read_text().strip()
    admin = session.scalar(select(User).where(User.name == "admin"))
    if (
        admin is not None
        and admin.must_change_password
        and check_password(password, admin.password_hash)
    ):
        return password
    path.unlink(missing_ok=True)
    return None


_KNOWN_KEYS = "temoin.known_keys"


@event.listens_for(Session, "after_transaction_end")
def _forget_known_keys(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_KNOWN_KEYS, None)


def register_signing_key(session: Session, key: SigningKey) -> None:
    """Record the public half of a key that signs (once per transaction, not per event)."""
    known: set[str] = session.info.setdefault(_KNOWN_KEYS, set())
    if key.key_id_hex in known:
        return
    known.add(key.key_id_hex)
    if session.get(SigningKeyRecord, key.key_id_hex) is None:
        session.add(
            SigningKeyRecord(key_id=key.key_id_hex, name=key.name, public_key=key.public_key_bytes)
        )
        session.flush()  # custody rows referring to it are written outside the ORM's flush


def _ensure_secret_key(settings: Settings) -> None:
    if settings.secret_key is None and not settings.secret_key_file.exists():
        _write_private(settings.secret_key_file, secrets.token_hex(32))


def secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    if settings.secret_key_file.exists():
        return settings.secret_key_file.read_text().strip()
    return secrets.token_hex(32)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
