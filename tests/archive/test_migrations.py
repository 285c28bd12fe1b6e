"""The migrations build exactly the models' schema, on SQLite and on PostgreSQL, and the
newest one can be undone and redone."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

from archive.db import alembic_config
from archive.models import Base, User
from archive.services.audit import audit
from archive.services.runtime import Archive


def _ours(name: str | None, kind: str, parents: dict[str, str | None]) -> bool:
    """Only the models' tables: the PostgreSQL search backend keeps its own beside them."""
    table = name if kind == "table" else parents.get("table_name")
    return table is None or table in Base.metadata.tables


def test_migrations_match_the_models(arc: Archive) -> None:
    with arc.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": _ours})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_web_sign_in_migration_down_and_up_keeps_users(arc: Archive) -> None:
    cfg = alembic_config(arc.db.engine)
    command.downgrade(cfg, "0001")
    tables = inspect(arc.db.engine).get_table_names()
    assert "web_sessions" not in tables and "users" in tables
    command.upgrade(cfg, "head")
    arc.db.engine.dispose()  # forget cached table layouts
    with arc.db.sessions() as session:
        admin = session.scalar(select(User).where(User.name == "admin"))
    assert admin is not None and admin.must_change_password is False  # the column's default
    assert {"web_sessions", "recovery_codes", "login_failures"} <= set(
        inspect(arc.db.engine).get_table_names()
    )


def _log_rows(arc: Archive) -> tuple[list[tuple[int, int, bytes]], list[tuple[int, int]]]:
    with arc.db.engine.connect() as conn:
        nodes = conn.execute(
            text('SELECT level, "index", hash FROM log_nodes ORDER BY level, "index"')
        ).all()
        events = conn.execute(
            text("SELECT item_id, seq FROM custody_events ORDER BY item_id, seq")
        ).all()
    return [tuple(n) for n in nodes], [tuple(e) for e in events]


def test_leaner_log_rows_migration_down_and_up_keeps_the_log(arc: Archive) -> None:
    before = _log_rows(arc)
    assert before[0] and before[1]
    index_names = {i["name"] for i in inspect(arc.db.engine).get_indexes("custody_events")}
    assert "ix_custody_events_item_id" not in index_names
    sqlite = arc.db.engine.dialect.name == "sqlite"
    if sqlite:
        with arc.db.engine.connect() as conn:
            sql = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'log_nodes'")
            ).scalar_one()
        assert "WITHOUT ROWID" in sql
    cfg = alembic_config(arc.db.engine)
    command.downgrade(cfg, "0002")
    arc.db.engine.dispose()
    index_names = {i["name"] for i in inspect(arc.db.engine).get_indexes("custody_events")}
    assert "ix_custody_events_item_id" in index_names
    assert _log_rows(arc) == before
    command.upgrade(cfg, "head")
    arc.db.engine.dispose()
    assert _log_rows(arc) == before
    report = audit(arc)
    assert report.ok, report.findings
