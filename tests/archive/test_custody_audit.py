"""Custody events are append-only, and `temoin audit` names any record that was changed."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from archive.models import AppendOnlyViolation, CustodyEvent, Item
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
    assert report.blobs == 8 and report.items == 8 and report.events == 32


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


def test_a_deleted_event_breaks_the_chain(seeded: Archive) -> None:
    with seeded.db.sessions() as session:
        second = session.scalars(select(CustodyEvent).where(CustodyEvent.seq == 1)).first()
        uid = session.get(Item, second.item_id).uid
    _without_guard(seeded, "DELETE FROM custody_events WHERE id = :i", i=second.id)
    findings = audit(seeded).findings
    assert [f.record for f in findings] == [f"custody chain of item {uid}"]


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
