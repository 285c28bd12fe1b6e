"""leaner custody-log rows: no duplicate item index, log_nodes without rowid on SQLite

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Every custody event wrote eight B-tree entries on SQLite; appending is the archive's
hottest write. ``custody_events.item_id`` had an index of its own beside the unique
``(item_id, seq)`` index, which already serves every look-up by item (a leftmost prefix),
so it is dropped. ``log_nodes`` is keyed by ``(level, index)``: on SQLite it becomes a
WITHOUT ROWID table, stored in its primary key's B-tree alone instead of a rowid table
plus a separate key index (its rows are 40 bytes, the case SQLite recommends it for).
PostgreSQL has no rowid: only the index is dropped there.
"""

from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("custody_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custody_events_item_id"))
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_log_nodes(with_rowid=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_log_nodes(with_rowid=True)
    with op.batch_alter_table("custody_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custody_events_item_id"), ["item_id"], unique=False)


def _rebuild_log_nodes(*, with_rowid: bool) -> None:
    """SQLite can't change a table's rowid in place: copy the rows into a new table."""
    op.create_table(
        "log_nodes_rebuilt",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "index", name=op.f("pk_log_nodes")),
        sqlite_with_rowid=with_rowid,
    )
    op.execute(
        'INSERT INTO log_nodes_rebuilt (level, "index", hash) '
        'SELECT level, "index", hash FROM log_nodes ORDER BY level, "index"'
    )
    op.drop_table("log_nodes")
    op.rename_table("log_nodes_rebuilt", "log_nodes")
