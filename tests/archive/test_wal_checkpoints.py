"""SQLite's WAL is checkpointed by a thread of its own, not by the writer that commits.

These tests make their own SQLite file, whatever database the suite runs on."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import text

from archive.db import SAFETY_NET_PAGES, Database, WalCheckpointer, engine_checkpointers


def _wait(condition: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def _wal_frames(path: Path) -> tuple[int, int, int]:
    """(busy, frames in the WAL, frames already copied back) as SQLite reports them."""
    conn = sqlite3.connect(path)
    try:
        busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(NOOP)").fetchone()
    except sqlite3.OperationalError:  # older SQLite has no NOOP: PASSIVE reports the same
        busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        conn.close()
    return busy, frames, copied


def test_commits_are_checkpointed_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    db = Database(f"sqlite:///{path}")
    checkpointer = engine_checkpointers[db.engine]
    assert checkpointer is not None
    try:
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x BLOB)"))
            # The writers' own automatic checkpoint is only a safety net.
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == SAFETY_NET_PAGES
        for _ in range(20):
            with db.engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (randomblob(20000))"))
        assert _wait(lambda: checkpointer.checkpoints > 0)
        # Once the burst is over, everything written has been copied back.
        assert _wait(lambda: _wal_frames(path)[1] == _wal_frames(path)[2])
        assert _wal_frames(path)[1] > 0
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 20
    finally:
        db.dispose()
    assert checkpointer._thread is None or not checkpointer._thread.is_alive()
    assert db.engine not in engine_checkpointers


def test_the_thread_ends_when_idle_and_starts_again(tmp_path: Path) -> None:
    path = tmp_path / "idle.db"
    sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").fetchall()
    checkpointer = WalCheckpointer(str(path), pause=0.01, idle=0.1)
    checkpointer.poke()
    assert _wait(lambda: checkpointer.checkpoints == 1)
    first = checkpointer._thread
    assert first is not None and _wait(lambda: not first.is_alive())
    checkpointer.poke()
    assert _wait(lambda: checkpointer.checkpoints == 2)
    assert checkpointer._thread is not first
    checkpointer.stop()
    checkpointer.poke()  # stopped: no new thread
    assert checkpointer.checkpoints == 2


def test_an_in_memory_database_has_no_checkpointer() -> None:
    db = Database("sqlite://")
    try:
        assert engine_checkpointers[db.engine] is None
    finally:
        db.dispose()
