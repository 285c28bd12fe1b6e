"""Custody events are append-only, and `temoin audit` names any record that was changed."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from archive.models import AppendOnlyViolation, Case, Checkpoint, CustodyEvent, Item
from archive.services.audit import CHUNK_SIZE, AuditReport, audit
from archive.services.runtime import Archive
from evidence.digest import Digest

Check = Callable[[Archive], AuditReport]


@pytest.fixture(
    params=[(1, CHUNK_SIZE), (1, 4), (1, 1), (2, 8)],
    ids=["one-chunk", "chunks-of-4", "chunks-of-1", "two-workers"],
)
def check(request: pytest.FixtureRequest) -> Check:
    """The audit as it runs on a small archive, and cut in chunks, in this process or in
    worker processes: every tampering must be named the same way."""
    workers, chunk_size = request.param
    return lambda arc: audit(arc, workers=workers, chunk_size=chunk_size)


def _first_event(arc: Archive) -> CustodyEvent:
    with arc.db.sessions() as session:
        return session.scalars(select(CustodyEvent).order_by(CustodyEvent.id)).first()


def _item_uid(arc: Archive, item_id: int) -> str:
    with arc.db.sessions() as session:
        return session.get(Item, item_id).uid


def _without_guard(arc: Archive, statement: str, **params: object) -> None:
    """What an attacker with write access to the database could do: lift the trigger."""
    with arc.db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS custody_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS custody_events_no_delete"))
        else:
            conn.execute(text("ALTER TABLE custody_events DISABLE TRIGGER USER"))
        conn.execute(text(statement), params)


def test_the_orm_refuses_to_update_or_delete_an_event(seeded: Archive) -> None:
    with seeded.db.sessions() as session:
        event = session.scalars(select(CustodyEvent)).first()
        event.actor = "someone else"
        with pytest.raises(AppendOnlyViolation):
            session.flush()
        session.rollback()
        session.delete(session.scalars(select(CustodyEvent)).first())
        with pytest.raises(AppendOnlyViolation):
            session.flush()


@pytest.mark.parametrize(
    "statement", ["UPDATE custody_events SET actor = 'x'", "DELETE FROM custody_events"]
)
def test_the_database_refuses_to_update_or_delete_an_event(seeded: Archive, statement: str) -> None:
    with pytest.raises(DatabaseError, match="append-only"), seeded.db.engine.begin() as conn:
        conn.execute(text(statement))


def test_audit_passes_on_an_untouched_archive(seeded: Archive, check: Check) -> None:
    report = check(seeded)
    assert report.ok, report.findings
    # the founding case's 8 items, and the archive's own signing-key history
    assert report.blobs == 9 and report.items == 9 and report.events == 49
    assert report.checkpoints == 2  # after init, after the seed


def test_one_changed_byte_in_an_event_is_named(seeded: Archive, check: Check) -> None:
    event = _first_event(seeded)
    tampered = bytearray(event.canonical)
    position = tampered.index(b'"actor":"') + len(b'"actor":"')
    tampered[position] ^= 0x01
    _without_guard(
        seeded,
        "UPDATE custody_events SET canonical = :c WHERE id = :i",
        c=bytes(tampered),
        i=event.id,
    )
    report = check(seeded)
    uid = _item_uid(seeded, event.item_id)
    assert not report.ok
    records = {f.record for f in report.findings}
    assert f"custody event {uid}#0 (row {event.id})" in records
    assert any("hash" in f.problem for f in report.findings)


def test_a_replaced_signature_is_named(seeded: Archive, check: Check) -> None:
    event = _first_event(seeded)
    forged = bytes(64)
    _without_guard(
        seeded, "UPDATE custody_events SET signature = :s WHERE id = :i", s=forged, i=event.id
    )
    findings = check(seeded).findings
    assert len(findings) == 1
    assert findings[0].record.startswith(f"custody event {_item_uid(seeded, event.item_id)}#0")
    assert "signature" in findings[0].problem.lower()


def test_a_deleted_event_breaks_the_chain_and_the_log(seeded: Archive, check: Check) -> None:
    with seeded.db.sessions() as session:
        second = session.scalars(select(CustodyEvent).where(CustodyEvent.seq == 1)).first()
        uid = session.get(Item, second.item_id).uid
    _without_guard(seeded, "DELETE FROM custody_events WHERE id = :i", i=second.id)
    records = [f.record for f in check(seeded).findings]
    assert records == [f"custody chain of item {uid}", f"custody log at index {second.log_index}"]


def test_two_swapped_events_are_named(seeded: Archive, check: Check) -> None:
    with seeded.db.sessions() as session:
        a, b = session.scalars(select(CustodyEvent).order_by(CustodyEvent.log_index).limit(2))
        a_id, b_id, a_index, b_index = a.id, b.id, a.log_index, b.log_index
    _without_guard(seeded, "UPDATE custody_events SET log_index = -1 WHERE id = :i", i=a_id)
    _without_guard(
        seeded, "UPDATE custody_events SET log_index = :x WHERE id = :i", x=a_index, i=b_id
    )
    _without_guard(
        seeded, "UPDATE custody_events SET log_index = :x WHERE id = :i", x=b_index, i=a_id
    )
    records = {f.record for f in check(seeded).findings}
    assert "custody log node (0, 0)" in records and "custody log node (0, 1)" in records


def test_a_forged_checkpoint_is_named(seeded: Archive, check: Check) -> None:
    from evidence.checkpoint import Checkpoint as CheckpointText
    from evidence.checkpoint import sign_checkpoint
    from evidence.signing import SigningKey

    intruder = SigningKey.generate(seeded.settings.log_origin)
    root = bytes(32)
    note = sign_checkpoint(
        CheckpointText(origin=seeded.settings.log_origin, size=5, root_hash=root), [intruder]
    )
    with seeded.db.transaction() as session:
        session.add(Checkpoint(size=5, root_hash=root, note=note, key_id=intruder.key_id_hex))
    findings = check(seeded).findings
    assert [f.record.split(" (row")[0] for f in findings] == ["checkpoint at size 5"]
    assert "signature" in findings[0].problem


def test_a_checkpoint_of_another_history_is_named(seeded: Archive, check: Check) -> None:
    """Signed by the archive's own key, but over a tree the events do not make."""
    from evidence.checkpoint import Checkpoint as CheckpointText
    from evidence.checkpoint import sign_checkpoint

    note = sign_checkpoint(
        CheckpointText(origin=seeded.settings.log_origin, size=5, root_hash=bytes(32)),
        [seeded.signing_key],
    )
    with seeded.db.transaction() as session:
        session.add(
            Checkpoint(size=5, root_hash=bytes(32), note=note, key_id=seeded.signing_key.key_id_hex)
        )
    findings = check(seeded).findings
    assert len(findings) == 1 and "inconsistent with the log" in findings[0].problem


def test_a_tampered_log_node_is_named(seeded: Archive, check: Check) -> None:
    _without_guard(
        seeded, 'UPDATE log_nodes SET hash = :h WHERE level = 1 AND "index" = 0', h=bytes(32)
    )
    records = [f.record for f in check(seeded).findings]
    assert records == ["custody log node (1, 0)"]


def test_one_changed_byte_in_a_blob_is_named(seeded: Archive, check: Check) -> None:
    with seeded.db.sessions() as session:
        item = session.scalars(select(Item).order_by(Item.id)).first()
    path = seeded.blobs.path_for(Digest.parse(item.digest))
    os.chmod(path, 0o640)
    data = bytearray(path.read_bytes())
    data[10] ^= 0x20
    path.write_bytes(bytes(data))
    findings = check(seeded).findings
    assert [f.record for f in findings] == [f"blob {item.digest}"]
    assert "hashes to sha256:" in findings[0].problem


def test_a_missing_blob_is_named(seeded: Archive, check: Check) -> None:
    with seeded.db.sessions() as session:
        item = session.scalars(select(Item).order_by(Item.id)).first()
    seeded.blobs.path_for(Digest.parse(item.digest)).unlink()
    findings = check(seeded).findings
    assert findings[0].record == f"blob {item.digest}" and "missing" in findings[0].problem


def _events_of_one_item(arc: Archive) -> list[CustodyEvent]:
    """The events of the founding case's first testimony, in seq order."""
    with arc.db.sessions() as session:
        item = session.scalars(
            select(Item).where(Item.kind == "testimony").order_by(Item.id)
        ).first()
        return list(
            session.scalars(
                select(CustodyEvent)
                .where(CustodyEvent.item_id == item.id)
                .order_by(CustodyEvent.seq)
            )
        )


def test_an_items_events_out_of_log_order_break_its_chain(seeded: Archive, check: Check) -> None:
    """Each event is intact and signed, seq and prev still link up: but the log must hold
    an item's events in the order of its chain, which moving one up breaks."""
    events = _events_of_one_item(seeded)
    first, last = events[0], events[-1]
    assert last.log_index - first.log_index >= 3  # in different chunks when cut in 1s and 4s
    uid = _item_uid(seeded, first.item_id)
    for statement, params in [
        ("UPDATE custody_events SET log_index = -1 WHERE id = :i", {"i": first.id}),
        (
            "UPDATE custody_events SET log_index = :x WHERE id = :i",
            {"x": first.log_index, "i": last.id},
        ),
        (
            "UPDATE custody_events SET log_index = :x WHERE id = :i",
            {"x": last.log_index, "i": first.id},
        ),
    ]:
        _without_guard(seeded, statement, **params)
    findings = check(seeded).findings
    chain = [f for f in findings if f.record == f"custody chain of item {uid}"]
    assert len(chain) == 1 and "expected seq 0" in chain[0].problem
    assert f"custody log node (0, {first.log_index})" in {f.record for f in findings}


def test_an_item_moved_to_another_case_is_named(seeded: Archive, check: Check) -> None:
    events = _events_of_one_item(seeded)
    uid = _item_uid(seeded, events[0].item_id)
    with seeded.db.transaction() as session:
        other = Case(slug="other-case", title="Other")
        session.add(other)
        session.flush()
        session.get(Item, events[0].item_id).case_id = other.id
    findings = check(seeded).findings
    assert [f.record for f in findings] == [
        f"custody event {uid}#{e.seq} (row {e.id})" for e in events
    ]
    assert all("is not the item's case 'other-case'" in f.problem for f in findings)


def test_the_default_runs_a_large_log_on_every_core(
    seeded: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archive.services.audit as audit_module

    started: list[int] = []
    real = audit_module.ProcessPoolExecutor

    def counting(workers: int, **kwargs: object) -> object:
        started.append(workers)
        return real(workers, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(audit_module, "PARALLEL_FROM", 10)
    monkeypatch.setattr(audit_module, "ProcessPoolExecutor", counting)
    monkeypatch.setattr(audit_module.os, "cpu_count", lambda: 2)
    seen: list[int] = []
    report = audit(seeded, chunk_size=16, progress=seen.append)
    assert report.ok, report.findings
    assert started == [2] and report.workers == 2 and sum(seen) == report.events == 49
    with pytest.raises(ValueError, match="power of two"):
        audit(seeded, chunk_size=12)


def test_events_appended_while_the_audit_runs_raise_no_false_alarm(
    seeded: Archive, check: Check, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit holds the log to its size when it began; later events are left for the
    next audit, not reported as nodes or state that match nothing."""
    import archive.services.audit as audit_module
    from archive.services import cases, items

    real = audit_module._chunk_tasks

    def append_then_cut(events: int, size: int, wanted: list[int]) -> object:
        with seeded.unit_of_work() as session:
            items.ingest_text(
                seeded,
                session,
                cases.get_case(session, "moura-2022"),
                kind="source_excerpt",
                text="a passage logged during the audit",
                title="late",
                language="en",
                actor="tester",
                citation={"publication": "P"},
            )
        return real(events, size, wanted)

    monkeypatch.setattr(audit_module, "_chunk_tasks", append_then_cut)
    report = check(seeded)
    assert report.ok, report.findings
    monkeypatch.undo()
    assert check(seeded).ok
