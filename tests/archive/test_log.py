"""The custody log: checkpoints, proofs from stored nodes, gap-free appends, no forks."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from archive.errors import IntegrityFailure
from archive.models import CustodyEvent, Item, LogState
from archive.services import log as log_service
from archive.services.audit import audit
from archive.services.runtime import Archive
from evidence import merkle
from evidence.canonical import parse_canonical
from evidence.checkpoint import open_checkpoint
from evidence.custody import verify_chain
from evidence.signing import SigningKey, VerifierKey


def leaves(arc: Archive) -> list[bytes]:
    with arc.db.sessions() as session:
        rows = session.scalars(select(CustodyEvent).order_by(CustodyEvent.log_index)).all()
        assert [r.log_index for r in rows] == list(range(len(rows)))
        return [merkle.leaf_hash(r.canonical) for r in rows]


def vkeys(client: FlaskClient) -> list[VerifierKey]:
    return [
        VerifierKey.parse(line)
        for line in client.get("/api/v1/log/keys").get_data(as_text=True).splitlines()
    ]


def test_checkpoint_opens_with_the_published_keys(client: FlaskClient, seeded: Archive) -> None:
    response = client.get("/api/v1/log/checkpoint")
    assert response.mimetype == "text/plain"
    assert "public" in response.headers["Cache-Control"]
    checkpoint = open_checkpoint(
        response.get_data(as_text=True), vkeys(client), origin="test.temoin/log"
    )
    hashes = leaves(seeded)
    assert checkpoint.size == len(hashes) == 49
    assert checkpoint.root_hash == merkle.root_hash(hashes)
    same = client.get(f"/api/v1/log/checkpoint/{checkpoint.size}")
    assert same.get_data(as_text=True) == response.get_data(as_text=True)
    assert "immutable" in same.headers["Cache-Control"]


def test_every_event_has_an_inclusion_proof(client: FlaskClient, seeded: Archive) -> None:
    checkpoint = open_checkpoint(
        client.get("/api/v1/log/checkpoint").get_data(as_text=True), vkeys(client)
    )
    for index, leaf in enumerate(leaves(seeded)):
        proof = client.get(f"/api/v1/log/proof/inclusion?index={index}&size={checkpoint.size}").json
        assert base64.b64decode(proof["leaf_hash"]) == leaf
        merkle.verify_inclusion(
            leaf_hash=leaf,
            index=index,
            tree_size=checkpoint.size,
            proof=[base64.b64decode(h) for h in proof["hashes"]],
            root=checkpoint.root_hash,
        )


def test_successive_checkpoints_are_consistent(
    client: FlaskClient, auth: dict[str, str], seeded: Archive
) -> None:
    first = open_checkpoint(
        client.get("/api/v1/log/checkpoint").get_data(as_text=True), vkeys(client)
    )
    client.post("/api/v1/cases", json={"slug": "second", "title": "Second"}, headers=auth)
    item = client.post(
        "/api/v1/cases/second/excerpts",
        json={
            "text": "A passage.",
            "title": "t",
            "language": "en",
            "citation": {"publication": "P"},
        },
        headers=auth,
    ).json
    client.post(f"/api/v1/items/{item['id']}/redaction", json={}, headers=auth)
    client.post(f"/api/v1/items/{item['id']}/publish", headers=auth)
    second = open_checkpoint(
        client.get("/api/v1/log/checkpoint").get_data(as_text=True), vkeys(client)
    )
    # the case's creation grant; collected, ingested, sealed, redacted; the review; published
    assert second.size == first.size + 7
    proof = client.get(f"/api/v1/log/proof/consistency?old={first.size}&new={second.size}").json
    merkle.verify_consistency(
        old_size=first.size,
        new_size=second.size,
        old_root=first.root_hash,
        new_root=second.root_hash,
        proof=[base64.b64decode(h) for h in proof["hashes"]],
    )
    assert second.root_hash == merkle.root_hash(leaves(seeded))


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/log/proof/inclusion?index=49&size=49", 400),
        ("/api/v1/log/proof/inclusion?index=0&size=50", 400),
        ("/api/v1/log/proof/inclusion?index=-1", 422),
        ("/api/v1/log/proof/consistency?old=0&new=5", 422),
        ("/api/v1/log/proof/consistency?old=6&new=5", 400),
        ("/api/v1/log/checkpoint/7", 404),
    ],
)
def test_bad_proof_requests_get_clear_errors(
    client: FlaskClient, seeded: Archive, url: str, status: int
) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert response.json["message"]


def test_a_new_archive_has_announced_its_key(client: FlaskClient) -> None:
    note = client.get("/api/v1/log/checkpoint").get_data(as_text=True)
    assert open_checkpoint(note, vkeys(client)).size == 1  # the key_added event
    assert client.get("/api/v1/cases").json == []  # the system case is not listed


def test_the_archive_refuses_to_sign_a_fork(seeded: Archive) -> None:
    """Rewrite the stored tree behind the archive's back: it must not sign the result."""
    with seeded.db.engine.begin() as conn:
        conn.execute(
            text('UPDATE log_nodes SET hash = :h WHERE level = 0 AND "index" = 0'), {"h": bytes(32)}
        )
        conn.execute(
            text('UPDATE log_nodes SET hash = :h WHERE level = 5 AND "index" = 0'), {"h": bytes(32)}
        )
        conn.execute(text("UPDATE log_state SET edge = :h"), {"h": bytes(96)})  # 49 = 32 + 16 + 1
    with seeded.db.transaction() as session:
        log_service.append_leaf(session, b"an extra leaf")
        with pytest.raises(IntegrityFailure, match="not consistent with checkpoint 49"):
            log_service.sign_latest(seeded, session)
        session.rollback()


def test_concurrent_writers_keep_one_gap_free_log(seeded: Archive) -> None:
    from archive.services import cases, items

    with seeded.unit_of_work() as session:
        case = cases.create_case(session, slug="busy", title="Busy")
    slug = case.slug
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for k in range(5):
                with seeded.unit_of_work() as session:
                    items.ingest_text(
                        seeded,
                        session,
                        cases.get_case(session, slug),
                        kind="source_excerpt",
                        text=f"passage {n}-{k}",
                        title=f"t{n}-{k}",
                        language="en",
                        actor=f"writer-{n}",
                        citation={"publication": "P"},
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    hashes = leaves(seeded)  # asserts log_index is exactly 0..n-1
    assert len(hashes) == 49 + 4 * 5 * 4  # collected, ingested, sealed, redacted
    with seeded.db.sessions() as session:
        latest = log_service.latest_checkpoint(session)
        assert latest is not None and latest.size == len(hashes)
        assert latest.root_hash == merkle.root_hash(hashes)


# -- a transaction's appends are one batch ------------------------------------------------


def size_of(arc: Archive) -> int:
    with arc.db.sessions() as session:
        return log_service.tree_size(session)


def _ingest(arc: Archive, session: Session, title: str) -> Item:
    from archive.services import cases, items

    case = cases.get_case(session, "moura-2022")
    return items.ingest_text(
        arc,
        session,
        case,
        kind="source_excerpt",
        text=f"passage {title}",
        title=title,
        language="en",
        actor="tester",
        citation={"publication": "P"},
    )


def _count_inserts(arc: Archive, table: str) -> tuple[list[str], Callable[..., None]]:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith(f"INSERT INTO {table} "):
            seen.append(statement)

    event.listen(arc.db.engine, "before_cursor_execute", count)
    return seen, count


def test_a_batch_writes_its_rows_in_one_insert_per_table(seeded: Archive) -> None:
    before = size_of(seeded)
    events, count_events = _count_inserts(seeded, "custody_events")
    nodes, count_nodes = _count_inserts(seeded, "log_nodes")
    try:
        with seeded.unit_of_work() as session:
            for n in range(10):
                _ingest(seeded, session, f"batch {n}")
    finally:
        event.remove(seeded.db.engine, "before_cursor_execute", count_events)
        event.remove(seeded.db.engine, "before_cursor_execute", count_nodes)
    assert len(events) == 1 and len(nodes) == 1
    hashes = leaves(seeded)
    assert len(hashes) == before + 10 * 4  # collected, ingested, sealed, redacted
    with seeded.db.sessions() as session:
        latest = log_service.latest_checkpoint(session)
        assert latest is not None and latest.size == len(hashes)
        assert latest.root_hash == merkle.root_hash(hashes)
    assert audit(seeded).ok


def test_a_batch_signs_its_events_together_each_with_its_own_key(seeded: Archive) -> None:
    from archive.services.custody import append_event

    other = SigningKey.generate("test.temoin/other-key")
    with seeded.unit_of_work() as session:
        made = [_ingest(seeded, session, f"signed together {n}") for n in range(20)]
        for item in made[::2]:
            append_event(seeded, session, item, "accessed", actor="tester", key=other)
    keys = {other.key_id_hex: other.verifier(), seeded.signing_key.key_id_hex: None}
    with seeded.db.sessions() as session:
        rows = session.scalars(
            select(CustodyEvent).where(CustodyEvent.item_id.in_([i.id for i in made]))
        ).all()
    assert len(rows) == 20 * 4 + 10  # more than one thread's share
    assert {r.key_id for r in rows} == set(keys)
    for row in rows:
        verifier = keys[row.key_id] or seeded.signing_key.verifier()
        verifier.verify(row.signature, row.canonical)
    assert audit(seeded).ok


def test_what_a_transaction_appended_is_visible_inside_it(seeded: Archive) -> None:
    from archive.services.custody import append_event, events_of

    before = size_of(seeded)
    with seeded.unit_of_work() as session:
        state = session.get(LogState, 1)  # an ORM copy loaded before the appends
        item = _ingest(seeded, session, "visible")
        assert [e.seq for e in events_of(session, item)] == [0, 1, 2, 3]
        assert log_service.tree_size(session) == before + 4
        assert state is not None and state.size == before + 4
        # SQL that no service wrote sees them too, and so does the next append
        count = session.scalar(
            text("SELECT count(*) FROM custody_events WHERE item_id = :i"), {"i": item.id}
        )
        assert count == 4
        appended = append_event(seeded, session, item, "accessed", actor="tester")
        assert appended.seq == 4 and appended.log_index == before + 4
        proof = log_service.inclusion_proof(session, appended.log_index, before + 5)
        merkle.verify_inclusion(
            leaf_hash=merkle.leaf_hash(appended.canonical),
            index=appended.log_index,
            tree_size=before + 5,
            proof=proof["hashes"],
            root=proof["root_hash"],
        )
    assert audit(seeded).ok


def test_a_rolled_back_batch_leaves_no_trace(seeded: Archive) -> None:
    before = size_of(seeded)

    def abandon() -> None:
        with seeded.unit_of_work() as session:
            _ingest(seeded, session, "abandoned")
            log_service.write_pending(session)  # even rows already written go with the rollback
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError, match="changed my mind"):
        abandon()
    assert size_of(seeded) == before
    with seeded.unit_of_work() as session:
        _ingest(seeded, session, "kept")
    assert len(leaves(seeded)) == before + 4
    assert audit(seeded).ok


def test_an_existing_item_continues_its_chain_in_a_later_batch(seeded: Archive) -> None:
    from archive.services.custody import append_event

    with seeded.unit_of_work() as session:
        uid = _ingest(seeded, session, "later").uid
    for _ in range(2):
        with seeded.unit_of_work() as session:
            item = session.scalar(select(Item).where(Item.uid == uid))
            assert item is not None
            first = append_event(seeded, session, item, "accessed", actor="a")
            second = append_event(seeded, session, item, "accessed", actor="b")
            assert second.seq == first.seq + 1
    with seeded.db.sessions() as session:
        item = session.scalar(select(Item).where(Item.uid == uid))
        assert item is not None
        rows = session.scalars(
            select(CustodyEvent).where(CustodyEvent.item_id == item.id).order_by(CustodyEvent.seq)
        ).all()
    verify_chain([parse_canonical(r.canonical) for r in rows])  # type: ignore[misc]
    assert [r.seq for r in rows] == list(range(8))


def test_a_batch_left_on_a_pooled_connection_is_never_written(seeded: Archive) -> None:
    """Only the connection of the transaction that made a batch may write it."""
    with seeded.db.transaction() as session:
        batch = log_service.log_batch(session)
        log_service.append_leaf(session, b"orphan leaf")
        conn = session.connection()
        stranger = log_service.LogBatch(session, conn, batch.edge)
        stranger.conn = object()  # type: ignore[assignment]
        stranger.stored = -1  # dirty
        conn.info[log_service._BATCH] = stranger
        # The next statement naming the log drops the stranger without writing it.
        session.execute(text("SELECT count(*) FROM log_nodes")).scalar()
        assert log_service._BATCH not in conn.info
        session.rollback()


def test_the_faster_sqlite_time_text_is_sqlalchemys() -> None:
    import datetime as dt

    from sqlalchemy import DateTime
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    impl = DateTime(timezone=True).dialect_impl(dialect)
    own = impl.bind_processor(dialect)
    assert own is not None
    fast = log_service._faster(impl, own)
    assert fast is not own
    plus_two = dt.timezone(dt.timedelta(hours=2))
    for value in [
        dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC),
        dt.datetime(2024, 3, 1, 8, 0, 0, 123456, tzinfo=dt.UTC),
        dt.datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=plus_two),
        dt.datetime(5, 1, 2, 3, 4, 5),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
        dt.date(2024, 3, 1),
        None,
    ]:
        assert fast(value) == own(value), value
