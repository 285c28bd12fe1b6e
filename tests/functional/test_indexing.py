"""Indexing that loses nothing: in the background, across processes, and after a crash."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from archive.config import Settings
from archive.models import OutboxEntry
from archive.services import cases, items
from archive.services.indexing import pending_count, process_outbox
from archive.services.runtime import Archive, init_archive
from archive.web import create_app
from tests.search_index._versions import built_by_an_earlier_version


def test_requests_do_not_wait_for_the_index(
    settings: Settings, initialized, auth: dict[str, str]
) -> None:
    app = create_app(settings.with_changes(index_mode="async"))
    client: FlaskClient = app.test_client()
    arc: Archive = app.extensions["temoin"]
    try:
        client.post("/api/v1/cases", json={"slug": "later", "title": "Later"}, headers=auth)
        body = {
            "text": "The ferry at Konna.",
            "title": "Ferry",
            "language": "en",
            "citation": {"publication": "P"},
        }
        created = client.post("/api/v1/cases/later/excerpts", json=body, headers=auth)
        assert created.status_code == 201
        assert arc.indexer.wait_idle(30)
        assert pending_count(arc) == 0
        assert client.get("/api/v1/search?q=ferry", headers=auth).json["total"] == 1
    finally:
        arc.close()


def _ingest(settings: Settings, n: int, count: int) -> None:
    arc = Archive(settings)
    try:
        for k in range(count):
            with arc.unit_of_work() as session:
                items.ingest_text(
                    arc,
                    session,
                    cases.get_case(session, "busy"),
                    kind="source_excerpt",
                    text=f"writer {n} passage {k} about the market",
                    title=f"p{n}-{k}",
                    language="en",
                    actor=f"writer-{n}",
                    citation={"publication": "P"},
                )
    finally:
        arc.close()


def test_several_processes_share_the_indexes(settings: Settings, arc: Archive) -> None:
    with arc.unit_of_work() as session:
        cases.create_case(session, slug="busy", title="Busy")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_ingest, args=(settings, n, 6)) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    process_outbox(arc)
    assert pending_count(arc) == 0
    assert arc.restricted_index.search("market", page_size=50, case_id="busy").total == 18


def _index_forever(settings: Settings) -> None:
    arc = Archive(settings)
    while True:  # killed from outside
        process_outbox(arc, batch_size=5)
        with arc.db.transaction() as session:
            session.execute(update(OutboxEntry).values(done_at=None))


def test_a_process_killed_mid_indexing_loses_nothing(settings: Settings, seeded: Archive) -> None:
    with seeded.db.transaction() as session:
        session.execute(update(OutboxEntry).values(done_at=None))
    seeded.restricted_index.clear()
    seeded.public_index.clear()
    process = multiprocessing.get_context("spawn").Process(target=_index_forever, args=(settings,))
    process.start()
    time.sleep(3)
    os.kill(process.pid, signal.SIGKILL)
    process.join(10)
    assert process.exitcode == -signal.SIGKILL
    fresh = Archive(settings)  # the next start catches up
    try:
        process_outbox(fresh)
        with fresh.db.sessions() as session:
            assert session.scalar(select(func.count()).where(OutboxEntry.done_at.is_(None))) == 0
        assert fresh.restricted_index.doc_count() == 8
        assert fresh.public_index.doc_count() == 8
        assert fresh.public_index.search("Moura").total == 8
    finally:
        fresh.close()


def test_reindex_swaps_in_a_fresh_index_and_loses_nothing(
    settings: Settings, seeded: Archive
) -> None:
    from archive.services.indexing import reindex

    seen_during: list[int] = []

    said: list[tuple[int, int]] = []

    def meanwhile(done: int, total: int) -> None:
        said.append((done, total))
        if not done:
            return
        # Search keeps serving from the old index while the new one is built...
        seen_during.append(seeded.public_index.search("Moura").total)
        # ...and a change committed now must survive the swap.
        with seeded.unit_of_work() as session:
            items.ingest_text(
                seeded,
                session,
                cases.get_case(session, "moura-2022"),
                kind="source_excerpt",
                text="A later report from Diafarabé.",
                title="later",
                language="en",
                actor="test",
                citation={"publication": "P"},
            )

    whoosh = settings.search_backend == "whoosh"
    before = (settings.index_dir / "restricted").resolve()
    assert (settings.index_dir / "restricted").is_symlink() or not whoosh
    assert reindex(seeded, progress=meanwhile) == 8
    assert said == [(0, 8), (8, 8)]
    if whoosh:  # PostgreSQL tables are refilled in place
        assert seen_during == [8]
        assert (settings.index_dir / "restricted").resolve() != before
        assert not before.exists()  # the old directory is gone, with whatever it held
    assert seeded.restricted_index.search("Diafarabé").total == 1
    assert seeded.public_index.search("Moura").total == 8
    assert pending_count(seeded) == 0


def test_init_rebuilds_an_index_another_version_built(settings: Settings, seeded: Archive) -> None:
    if settings.search_backend != "whoosh":
        pytest.skip("about a Whoosh index on disk")
    seeded.close()
    built_by_an_earlier_version((settings.index_dir / "public").resolve())
    app = create_app(settings)  # starts: the outdated index is reported, not fatal
    try:
        answer = app.test_client().get("/api/v1/search?q=Moura")
        assert answer.status_code == 503
        assert "another version of Témoin" in answer.json["message"]
        assert "temoin reindex" in answer.json["message"]
    finally:
        app.extensions["temoin"].close()

    said: list[tuple[int, int]] = []
    report = init_archive(settings, progress=lambda done, total: said.append((done, total)))

    assert report.rebuilt_indexes == ("public",)
    assert said == [(0, 8), (8, 8)]
    arc = Archive(settings)
    try:
        assert arc.public_index.search("Moura").total == 8
        assert arc.restricted_index.search("Moura").total == 8
        assert pending_count(arc) == 0
    finally:
        arc.close()
    said.clear()
    assert init_archive(settings, progress=lambda *p: said.append(p)).rebuilt_indexes == ()
    assert said == []
