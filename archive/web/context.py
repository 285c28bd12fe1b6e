"""Request-scoped access to the archive and its sessions."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g
from sqlalchemy.orm import Session

from archive.services.indexing import process_outbox
from archive.services.log import seal_batch
from archive.services.runtime import Archive

log = logging.getLogger(__name__)


def archive() -> Archive:
    arc: Archive = current_app.extensions["temoin"]
    return arc


def _track(session: Session) -> Session:
    g.setdefault("temoin_sessions", []).append(session)
    return session


def read_session() -> Session:
    if "temoin_read" not in g:
        g.temoin_read = _track(archive().db.sessions())
    session: Session = g.temoin_read
    return session


@contextmanager
def writing() -> Iterator[Session]:
    """A unit of work for this request: commit at the end, then apply index changes.

    The session stays open (closed at teardown) so that the view can dump what it made.
    """
    arc = archive()
    session = _track(arc.db.writer_session())
    try:
        yield session
        seal_batch(arc, session)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    apply_index_changes(arc)


def apply_index_changes(arc: Archive) -> None:
    """Index after commit: in the background (``async``), or now (``sync``).

    A failure here loses nothing: the outbox keeps the change."""
    if arc.settings.index_mode == "async":
        arc.indexer.wake()
        return
    try:
        process_outbox(arc)
    except Exception:
        log.exception("index update deferred; the outbox keeps the pending changes")


def close_sessions(_exc: BaseException | None = None) -> None:
    for session in g.pop("temoin_sessions", []):
        session.close()
    g.pop("temoin_read", None)
