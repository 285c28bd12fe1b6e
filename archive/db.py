"""Engine and sessions. SQLite runs in WAL mode with foreign keys on.

SQLite's WAL grows with every commit until a checkpoint copies it back into the database
file (and syncs it). By default the commit that crosses 1,000 pages does that itself, so
one writer in every few waits for a copy of megabytes and an fsync: on a batch import of
custody events, most of the time of a commit. Here a thread of each process does the
checkpoints instead (:class:`WalCheckpointer`), woken by commits, and the writers' own
automatic checkpoint stays only as a safety net far above (if the thread can't keep up).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

#: Each SQLite engine's checkpointer (None: an in-memory database has no WAL).
engine_checkpointers: weakref.WeakKeyDictionary[Engine, WalCheckpointer | None] = (
    weakref.WeakKeyDictionary()
)
#: A writer checkpoints by itself only once the WAL holds this many pages (~64 MiB).
SAFETY_NET_PAGES = 16_000


class WalCheckpointer:
    """Checkpoints an SQLite database's WAL from a thread of its own, after commits.

    ``poke()`` (on every commit) wakes the thread, starting it if this process has none
    (a forked worker starts its own); it waits ``pause`` seconds, so that the commit ends
    and a burst of commits costs one checkpoint, then runs ``PRAGMA
    wal_checkpoint(PASSIVE)`` on its own connection, which copies what it can without
    waiting for readers or writers. After
    ``idle`` seconds without a commit the thread ends, closing its connection.
    """

    def __init__(self, path: str, *, pause: float = 0.05, idle: float = 5.0) -> None:
        self.path = path
        self.pause = pause
        self.idle = idle
        self.checkpoints = 0  # completed, for tests and curiosity
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def poke(self) -> None:
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            if self._stop.is_set():
                return
            thread = self._thread
            if thread is None or not thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="temoin-wal-checkpoint", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            thread.join(timeout=10)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
        try:
            while self._wake.wait(self.idle) and not self._stop.is_set():
                self._wake.clear()
                # The commit that woke us is under way: let it (and the burst) end first.
                if self._stop.wait(self.pause):
                    break
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.OperationalError:
                    pass  # busy or locked: the next commit wakes us again
                else:
                    self.checkpoints += 1
        finally:
            conn.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        database = engine.url.database
        checkpointer = (
            WalCheckpointer(os.path.abspath(database))
            if database and database != ":memory:" and not database.startswith("file:")
            else None
        )
        engine_checkpointers[engine] = checkpointer

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy manage transactions; SQLite's own BEGIN handling is disabled
            # so that we can issue BEGIN IMMEDIATE for writers.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            if checkpointer is not None:
                cur.execute(f"PRAGMA wal_autocheckpoint={SAFETY_NET_PAGES}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the write lock up front, so that two writers queue on the busy
            # timeout instead of one failing when it upgrades from a read lock.
            immediate = conn.get_execution_options().get("temoin_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        if checkpointer is not None:

            @event.listens_for(engine, "commit")
            def _after_commit(_conn: Any) -> None:
                checkpointer.poke()

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(str(files("archive") / "migrations"))))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (creates it on an empty database)."""
    command.upgrade(alembic_config(engine), "head")


def schema_is_current(engine: Engine) -> bool:
    return "alembic_version" in inspect(engine).get_table_names()


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writer_sessions = sessionmaker(
            self.engine.execution_options(temoin_write=True), expire_on_commit=False
        )

    def writer_session(self) -> Session:
        """A session whose transactions take the write lock at BEGIN (SQLite)."""
        return self._writer_sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits at the end of the block, or rolls back."""
        with self._writer_sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        checkpointer = engine_checkpointers.pop(self.engine, None)
        if checkpointer is not None:
            checkpointer.stop()
        self.engine.dispose()
