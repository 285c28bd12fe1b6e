"""Typed SQLAlchemy 2 models. One ``DeclarativeBase``; all timestamps timezone-aware."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_uid() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
    }


ITEM_KINDS = ("testimony", "source_excerpt", "file_exhibit")
#: Items the archive keeps about itself (the signing-key history); never public, never indexed.
SYSTEM_KINDS = ("log_record",)
ITEM_STATUSES = ("draft", "sealed", "published")
PERSON_ROLES = ("witness", "victim", "source")


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    persons: Mapped[list[ProtectedPerson]] = relationship(
        back_populates="case", order_by="ProtectedPerson.id"
    )
    items: Mapped[list[Item]] = relationship(back_populates="case", order_by="Item.id")


class ProtectedPerson(Base):
    """A witness, victim or source: a pseudonym in the clear, the identity only encrypted."""

    __tablename__ = "protected_persons"
    __table_args__ = (UniqueConstraint("case_id", "pseudonym"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uid)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    pseudonym: Mapped[str] = mapped_column(String(80))
    identity_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    identity_nonce: Mapped[bytes] = mapped_column(LargeBinary)
    identity_key_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="persons")

    def __repr__(self) -> str:  # never the identity
        return f"<ProtectedPerson {self.pseudonym} of case {self.case_id}>"


class Blob(Base):
    """Original bytes, stored once on disk under their SHA-256 digest."""

    __tablename__ = "blobs"

    digest: Mapped[str] = mapped_column(String(71), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uid)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="sealed")
    title: Mapped[str] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(12))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("protected_persons.id"))
    digest: Mapped[str] = mapped_column(ForeignKey("blobs.digest"))
    filename: Mapped[str | None] = mapped_column(String(255))
    event_date: Mapped[dt.date | None] = mapped_column(Date)
    collected_at: Mapped[dt.datetime | None] = mapped_column()
    collected_by: Mapped[str | None] = mapped_column(String(200))
    place: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    citation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    public_text: Mapped[str | None] = mapped_column(Text)
    public_title: Mapped[str | None] = mapped_column(String(400))
    redaction_basis: Mapped[str | None] = mapped_column(String(71))
    redacted_at: Mapped[dt.datetime | None] = mapped_column()
    review_basis: Mapped[str | None] = mapped_column(String(71))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column()
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    # Disclosure commitment (text items): the salts' secret, sealed by the vault.
    secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    secret_nonce: Mapped[bytes | None] = mapped_column(LargeBinary)
    secret_key_id: Mapped[str | None] = mapped_column(String(40))
    commitment_root: Mapped[bytes | None] = mapped_column(LargeBinary)
    segment_count: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[dt.datetime | None] = mapped_column()
    seed_key: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="items")
    person: Mapped[ProtectedPerson | None] = relationship()
    blob: Mapped[Blob] = relationship()
    redactions: Mapped[list[Redaction]] = relationship(
        back_populates="item", order_by="Redaction.start", cascade="all, delete-orphan"
    )
    events: Mapped[list[CustodyEvent]] = relationship(
        back_populates="item", order_by="CustodyEvent.seq", viewonly=True
    )

    __allow_unmapped__ = True  # for text_view, a plain attribute
    #: The original text, set by a view that is allowed to show it (never persisted).
    text_view: str | None = None

    @property
    def is_text(self) -> bool:
        return self.kind in ("testimony", "source_excerpt")


class Redaction(Base):
    """A span of an item's original that the public must not see."""

    __tablename__ = "redactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(200))

    item: Mapped[Item] = relationship(back_populates="redactions")


class RedactionDecision(Base):
    """An investigator's review decision: a span added by hand, or a proposed span removed.

    Offsets index the original, which never changes, so decisions survive recomputation."""

    __tablename__ = "redaction_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    action: Mapped[str] = mapped_column(String(10))  # "add" | "remove"
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(500))
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SigningKeyRecord(Base):
    """Public half of every key that ever signed for the archive (never the private key)."""

    __tablename__ = "signing_keys"

    key_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column()


class CustodyEvent(Base):
    """One append-only record of something that happened to an item.

    ``canonical`` holds the RFC 8785 bytes that were signed; the other columns are
    indexes into it. Rows are never updated or deleted (guarded here and by a trigger).
    """

    __tablename__ = "custody_events"
    # (item_id, seq) also serves every look-up by item: no index of item_id alone.
    __table_args__ = (UniqueConstraint("item_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    seq: Mapped[int] = mapped_column(Integer)
    log_index: Mapped[int] = mapped_column(Integer, unique=True)
    type: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(200))
    canonical: Mapped[bytes] = mapped_column(LargeBinary)
    event_hash: Mapped[str] = mapped_column(String(71))
    key_id: Mapped[str] = mapped_column(ForeignKey("signing_keys.key_id"))
    signature: Mapped[bytes] = mapped_column(LargeBinary)

    item: Mapped[Item] = relationship(back_populates="events")


class LogState(Base):
    """The right edge of the custody log's Merkle tree: one row, locked by each append,
    so that the log stays one gap-free sequence under concurrent writers."""

    __tablename__ = "log_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    edge: Mapped[bytes] = mapped_column(LargeBinary, default=b"")


class LogNode(Base):
    """Hash of a complete subtree: leaves [index * 2**level, (index + 1) * 2**level)."""

    __tablename__ = "log_nodes"
    # On SQLite the rows live in the key's B-tree alone (one write per node, not two).
    __table_args__ = ({"sqlite_with_rowid": False},)

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class Checkpoint(Base):
    """Every checkpoint the archive signed (C2SP tlog-checkpoint note, verbatim)."""

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(Integer, unique=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OutboxEntry(Base):
    """A pending index change, written in the same transaction as the change itself."""

    __tablename__ = "index_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_uid: Mapped[str] = mapped_column(String(36), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(index=True)


USER_ROLES = ("admin", "investigator", "legal")


class User(Base):
    """Someone who signs in: a role (archive.services.access) and grants on cases."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column()
    #: A one-time password (from `temoin init` or an administrator) must be replaced at sign-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column()
    #: The TOTP secret, AES-256-GCM sealed (nonce || ciphertext) under a key derived from
    #: the archive's secret key; None while no second factor is enrolled.
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column()
    #: The time step of the last accepted code: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    grants: Mapped[list[CaseGrant]] = relationship(back_populates="user", order_by="CaseGrant.id")


class WebSession(Base):
    """A signed-in browser. The cookie holds a random id; only its SHA-256 is stored, so a
    database read cannot be replayed as a cookie. Deleting the row ends the session."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    #: When this session proved the second factor (None: not yet, or none enrolled).
    second_factor_at: Mapped[dt.datetime | None] = mapped_column()
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship()


class RecoveryCode(Base):
    """A one-use code that stands in for a TOTP code; stored as its SHA-256 only."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column()


class LoginFailure(Base):
    """Consecutive failed sign-ins for one account name, whether or not it exists.

    Keyed by the SHA-256 of the folded name (a name typed by mistake, or a password typed
    in the name field, is not kept). In the database, so a lock holds across workers."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_hash: Mapped[str] = mapped_column(String(64), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[dt.datetime | None] = mapped_column()


class CaseGrant(Base):
    """A user's access to one case: without it, the case's content does not exist for them."""

    __tablename__ = "case_grants"
    __table_args__ = (UniqueConstraint("user_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="grants")
    case: Mapped[Case] = relationship()


class ApiToken(Base):
    """A bearer token, stored as its SHA-256 only; it acts as its user."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="admin")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()

    user: Mapped[User | None] = relationship()


class AppendOnlyViolation(RuntimeError):
    """Raised when code tries to change or remove a custody event."""


@event.listens_for(Session, "before_flush")
def _refuse_custody_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in session.dirty:
        if isinstance(obj, CustodyEvent) and session.is_modified(obj):
            raise AppendOnlyViolation("custody events are append-only: update refused")
    for obj in session.deleted:
        if isinstance(obj, CustodyEvent):
            raise AppendOnlyViolation("custody events are append-only: delete refused")


__all__ = [
    "ITEM_KINDS",
    "ITEM_STATUSES",
    "PERSON_ROLES",
    "USER_ROLES",
    "ApiToken",
    "AppendOnlyViolation",
    "Base",
    "Blob",
    "Case",
    "CaseGrant",
    "Checkpoint",
    "CustodyEvent",
    "Item",
    "LogNode",
    "LogState",
    "LoginFailure",
    "OutboxEntry",
    "ProtectedPerson",
    "RecoveryCode",
    "Redaction",
    "RedactionDecision",
    "SigningKeyRecord",
    "User",
    "WebSession",
    "utcnow",
]
