"""Apply queued index changes after commit, in batches; rebuild both indexes on demand.

The outbox row is written in the same transaction as the change it stands for. It is
marked done only after both index commits, so a crash between the two loses nothing:
the next run applies it again (upserts are idempotent).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from archive.models import SYSTEM_KINDS, Item, OutboxEntry, utcnow
from archive.services.items import case_redactor, original_text, public_projection
from archive.services.runtime import Archive
from search_index import SearchDocument, SearchIndex, WhooshIndex

log = logging.getLogger(__name__)


def restricted_document(arc: Archive, item: Item) -> SearchDocument:
    body = original_text(arc, item) if item.is_text else (item.description or "")
    return SearchDocument(
        doc_id=item.uid,
        case_id=item.case.slug,
        kind=item.kind,
        language=item.language,
        title=item.title,
        body=body,
        place=item.place,
        tags=tuple(item.tags),
        event_date=item.event_date,
        collected_date=item.collected_at.date() if item.collected_at else None,
    )


def public_document(
    arc: Archive, item: Item, redactor: Callable[[str], str] | None = None
) -> SearchDocument | None:
    """The redacted document, or None when the item is not public. ``redactor``: see
    ``public_projection``."""
    if item.status != "published" or item.public_title is None:
        return None
    view = public_projection(arc, item, redactor=redactor)
    return SearchDocument(
        doc_id=item.uid,
        case_id=item.case.slug,
        kind=item.kind,
        language=item.language,
        title=view["title"],
        body=view["text"] or "",
        place=view["place"],
        tags=tuple(t for t in view["tags"] if t),
        event_date=item.event_date,
    )


def public_documents(arc: Archive, items: Iterable[Item]) -> tuple[list[SearchDocument], list[str]]:
    """The public documents of ``items``, and the uids of those that are not public. The
    protected names of each case are decrypted once for all its items."""
    docs: list[SearchDocument] = []
    not_public: list[str] = []
    redactors: dict[int, Callable[[str], str]] = {}
    for item in items:
        if item.status == "published" and item.case_id not in redactors:
            redactors[item.case_id] = case_redactor(arc, item.case)
        doc = public_document(arc, item, redactors.get(item.case_id))
        if doc is None:
            not_public.append(item.uid)
        else:
            docs.append(doc)
    return docs, not_public


def apply_items(arc: Archive, items: Iterable[Item], missing: Iterable[str] = ()) -> None:
    indexed = [item for item in items if item.kind not in SYSTEM_KINDS]
    restricted = [restricted_document(arc, item) for item in indexed]
    public, not_public = public_documents(arc, indexed)
    arc.restricted_index.apply(upserts=restricted, deletes=list(missing))
    arc.public_index.apply(upserts=public, deletes=[*missing, *not_public])


_FOR_INDEXING = (selectinload(Item.redactions), selectinload(Item.case))


def process_outbox(arc: Archive, *, batch_size: int = 500) -> int:
    """Apply every pending outbox entry; returns how many entries were done."""
    done = 0
    while True:
        with arc.db.sessions() as session:
            entries = list(
                session.scalars(
                    select(OutboxEntry)
                    .where(OutboxEntry.done_at.is_(None))
                    .order_by(OutboxEntry.id)
                    .limit(batch_size)
                )
            )
            if not entries:
                return done
            uids = sorted({e.item_uid for e in entries})
            items = list(
                session.scalars(select(Item).where(Item.uid.in_(uids)).options(*_FOR_INDEXING))
            )
            found = {i.uid for i in items}
            apply_items(arc, items, missing=[u for u in uids if u not in found])
            ids = [e.id for e in entries]
        with arc.db.transaction() as session:
            session.execute(
                update(OutboxEntry).where(OutboxEntry.id.in_(ids)).values(done_at=utcnow())
            )
        done += len(ids)


def pending_count(arc: Archive) -> int:
    with arc.db.sessions() as session:
        return (
            session.scalar(
                select(func.count()).select_from(OutboxEntry).where(OutboxEntry.done_at.is_(None))
            )
            or 0
        )


def reindex(
    arc: Archive,
    *,
    public: bool = True,
    restricted: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Rebuild the chosen indexes from the database, the source of truth. ``progress``
    is told ``(items indexed, items in all)`` before the first and after each batch.

    With Whoosh, each index is built in a fresh directory and swapped in atomically (the
    index path is a symbolic link), so search keeps serving the old one meanwhile. Changes
    committed while the rebuild ran are applied again to the new index afterwards, so none
    is lost to the swap. (With PostgreSQL the tables are cleared and refilled.)
    """
    chosen = [name for name, wanted in (("public", public), ("restricted", restricted)) if wanted]
    with arc.db.sessions() as session:
        start_mark = session.scalar(select(func.max(OutboxEntry.id))) or 0
    targets: dict[str, SearchIndex] = {}
    for name in chosen:
        if arc.settings.search_backend == "whoosh":
            targets[name] = WhooshIndex(fresh_index_dir(arc.settings.index_dir, name))
        else:
            targets[name] = getattr(arc, f"{name}_index")
            targets[name].clear()
    count = 0
    with arc.db.sessions() as session:
        total_ids = list(
            session.scalars(select(Item.id).where(Item.kind.not_in(SYSTEM_KINDS)).order_by(Item.id))
        )
        if progress:
            progress(0, len(total_ids))
        for start in range(0, len(total_ids), 500):
            chunk = list(
                session.scalars(
                    select(Item)
                    .where(Item.id.in_(total_ids[start : start + 500]))
                    .options(*_FOR_INDEXING)
                )
            )
            if "restricted" in targets:
                targets["restricted"].apply(upserts=[restricted_document(arc, i) for i in chunk])
            if "public" in targets:
                targets["public"].apply(upserts=public_documents(arc, chunk)[0])
            count += len(chunk)
            if progress:
                progress(count, len(total_ids))
    if arc.settings.search_backend == "whoosh":
        for name, built in targets.items():
            built.close()
            swap_index_dir(arc.settings.index_dir, name, Path(built.path))  # type: ignore[attr-defined]
            old = arc.__dict__.pop(f"{name}_index", None)
            if old is not None:
                old.close()
    with arc.db.transaction() as session:
        # What was committed during the rebuild may have gone to the old index: again.
        session.execute(update(OutboxEntry).where(OutboxEntry.id > start_mark).values(done_at=None))
    process_outbox(arc)
    return count


def fresh_index_dir(index_dir: Path, name: str) -> Path:
    return index_dir / f".{name}-{uuid.uuid4().hex[:12]}"


def ensure_index_link(index_dir: Path, name: str) -> Path:
    """The index path is a link to the directory that holds the index, so that a rebuilt
    one can be swapped in with one atomic rename. A plain directory (older layout) is
    used as it is until the first rebuild."""
    link = index_dir / name
    if not link.exists() and not link.is_symlink():
        index_dir.mkdir(parents=True, exist_ok=True)
        target = fresh_index_dir(index_dir, name)
        target.mkdir()
        temp = index_dir / f".{name}.link-{uuid.uuid4().hex[:8]}"
        temp.symlink_to(target.name)
        os.replace(temp, link)
    return link


def swap_index_dir(index_dir: Path, name: str, built: Path) -> None:
    link = index_dir / name
    previous = link.resolve() if link.exists() else None
    temp = index_dir / f".{name}.link-{uuid.uuid4().hex[:8]}"
    temp.symlink_to(built.name)
    if link.exists() and not link.is_symlink():  # older layout: a plain directory
        link.rename(index_dir / f".{name}-retired-{uuid.uuid4().hex[:8]}")
        previous = None
    os.replace(temp, link)
    if previous is not None and previous != built.resolve():
        # Readers that opened the old files keep them until they close (POSIX semantics).
        shutil.rmtree(previous, ignore_errors=True)


class OutboxWorker:
    """Applies the outbox in the background, so that a request never waits for the index.

    One per process, started on first use (after gunicorn has forked). Woken after each
    commit; it also looks every few seconds, so work left by another process, or by one
    that died mid-batch, is picked up. Whoosh allows one writer: workers of several
    processes queue on its lock, and a change stays in the outbox until it is applied.
    """

    def __init__(self, arc: Archive, *, interval: float = 5.0) -> None:
        self.arc = arc
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def wake(self) -> None:
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="temoin-indexer", daemon=True
                )
                self._thread.start()
        self._idle.clear()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                process_outbox(self.arc)
            except Exception as exc:  # the outbox keeps the work; say only what kind of failure
                log.warning("index update deferred (%s); the outbox keeps it", type(exc).__name__)
            if not self._wake.is_set():
                self._idle.set()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """For tests and shutdown: block until the worker has caught up."""
        return self._idle.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=10)
