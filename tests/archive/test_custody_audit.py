"""Custody events are append-only, and `temoin audit` names any record that was changed."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from archive.models import AppendOnlyViolation, Checkpoint, CustodyEvent, Item
from archive.services.audit import audit
from archive.services.runtime import Archive
from evidence.digest import Digest


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


def test_audit_passes_on_an_untouched_archive(seeded: Archive) -> None:
    report = audit(seeded)
    assert report.ok, report.findings
    # the founding case's 8 items, and the archive's own signing-key history
    assert report.blobs == 9 and report.items == 9 and report.events == 49
    assert report.checkpoints == 2  # after init, after the seed


def test_one_changed_byte_in_an_event_is_named(seeded: Archive) -> None:
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
    report = audit(seeded)
    uid = _item_uid(seeded, event.item_id)
    assert not report.ok
    records = {f.record for f in report.findings}
    assert f"custody event {uid}#0 (row {event.id})" in records
    assert any("hash" in f.problem for f in report.findings)


def test_a_replaced_signature_is_named(seeded: Archive) -> None:
    event = _first_event(seeded)
    forged = bytes(64)
    _without_guard(
        seeded, "UPDATE custody_events SET signature = :s WHERE id = :i", s=forged, i=event.id
    )
    findings = audit(seeded).findings
    assert len(findings) == 1
    assert findings[0].record.startswith(f"custody event {_item_uid(seeded, event.item_id)}#0")
    assert "signature" in findings[0].problem.lower()


def test_a_deleted_event_breaks_the_chain_and_the_log(seeded: Archive) -> None:
    with seeded.db.sessions() as session:
        second = session.scalars(select(CustodyEvent).where(CustodyEvent.seq == 1)).first()
        uid = session.get(Item, second.item_id).uid
    _without_guard(seeded, "DELETE FROM custody_events WHERE id = :i", i=second.id)
    records = [f.record for f in audit(seeded).findings]
    assert records == [f"custody chain of item {uid}", f"custody log at index {second.log_index}"]


def test_two_swapped_events_are_named(seeded: Archive) -> None:
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
    records = {f.record for f in audit(seeded).findings}
    assert "custody log node (0, 0)" in records and "custody log node (0, 1)" in records


def test_a_forged_checkpoint_is_named(seeded: Archive) -> None:
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
    findings = audit(seeded).findings
    assert [f.record.split(" (row")[0] for f in findings] == ["checkpoint at size 5"]
    assert "signature" in findings[0].problem


def test_a_checkpoint_of_another_history_is_named(seeded: Archive) -> None:
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
    findings = audit(seeded).findings
    assert len(findings) == 1 and "inconsistent with the log" in findings[0].problem


def test_a_tampered_log_node_is_named(seeded: Archive) -> None:
    _without_guard(
        seeded, 'UPDATE log_nodes SET hash = :h WHERE level = 1 AND "index" = 0', h=bytes(32)
    )
    records = [f.record for f in audit(seeded).findings]
    assert records == ["custody log node (1, 0)"]


def test_one_changed_byte_in_a_blob_is_named(seeded: Archive) -> None:
    with seeded.db.sessions() as session:
        item = session.scalars(select(Item).order_by(Item.id)).first()
    path = seeded.blobs.path_for(Digest.parse(item.digest))
    os.chmod(path, 0o640)
    data = bytearray(path.read_bytes())
    data[10] ^= 0x20
    path.write_bytes(bytes(data))
    findings = audit(seeded).findings
    assert [f.record for f in findings] == [f"blob {item.digest}"]
    assert "hashes to sha256:" in findings[0].problem


def test_a_missing_blob_is_named(seeded: Archive) -> None:
    with seeded.db.sessions() as session:
        item = session.scalars(select(Item).order_by(Item.id)).first()
    seeded.blobs.path_for(Digest.parse(item.digest)).unlink()
    findings = audit(seeded).findings
    assert findings[0].record == f"blob {item.digest}" and "missing" in findings[0].problem
