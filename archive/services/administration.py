"""Access administration: users, grants and tokens, each change a signed custody event.

Every change of who may see what (a user added or disabled, a grant given or taken away,
a token issued or revoked) appends one `access_changed` event, with the acting
administrator and an optional reason, to the archive's record of access administration:
a system item of the reserved `_archive` case, in the same custody log as everything else,
never listed, indexed or public. The CLI (`temoin users`) and the API (`/api/v1/users`)
both go through here. Nothing here deletes: a revoked grant leaves its events, a revoked
token keeps its row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.errors import Conflict, InvalidInput, NotFound
from archive.models import ApiToken, Case, CaseGrant, Item, User, utcnow
from archive.services import users
from archive.services.accountability import ACCESS_ADMIN
from archive.services.custody import AppendedEvent, append_event
from archive.services.keys import system_case, system_item
from archive.services.runtime import Archive

NAME_MAX = 120
TOKEN_DAYS_DEFAULT = 90
TOKEN_DAYS_MAX = 1825


def admin_record(arc: Archive, session: Session) -> Item:
    return system_item(
        arc,
        session,
        system_case(session),
        key=ACCESS_ADMIN,
        title="Users, grants and tokens",
        charter={"purpose": "changes of who may see what: users, grants on cases, API tokens"},
    )


def record_change(
    arc: Archive,
    session: Session,
    change: str,
    *,
    actor: str,
    reason: str | None,
    **details: Any,
) -> AppendedEvent:
    """One `access_changed` event in the archive's record of access administration."""
    return append_event(
        arc,
        session,
        admin_record(arc, session),
        "access_changed",
        actor=actor,
        details={"change": change, **details, "reason": reason},
    )


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives back naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def get_user(session: Session, name: str) -> User:
    return users.get_user(session, name)


def list_users(session: Session) -> list[User]:
    return users.list_users(session)


def add_user(
    arc: Archive,
    session: Session,
    *,
    name: str,
    role: str,
    actor: str,
    password: str | None = None,
    reason: str | None = None,
) -> User:
    name = name.strip()
    if len(name) > NAME_MAX or "/" in name or not name.isprintable():
        raise InvalidInput(
            f"a user name is 1 to {NAME_MAX} printable characters, without '/'",
            errors={"name": ["invalid name"]},
        )
    user = users.add_user(session, name=name, role=role, password=password)
    record_change(arc, session, "user_added", actor=actor, reason=reason, user=user.name, role=role)
    return user


def _active_admins(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == "admin", User.disabled_at.is_(None))
        )
        or 0
    )


def disable_user(
    arc: Archive, session: Session, user: User, *, actor: str, reason: str | None = None
) -> User:
    """Disable the user and revoke their tokens. The last active admin can't be disabled."""
    if user.disabled_at is not None:
        return user
    if user.role == "admin" and _active_admins(session) <= 1:
        raise Conflict(
            "this is the last active administrator: add another one before disabling it",
            errors={"name": ["last active administrator"]},
        )
    live = [t for t in tokens_of(session, user) if token_state(t) == "active"]
    users.disable_user(session, user)
    record_change(
        arc,
        session,
        "user_disabled",
        actor=actor,
        reason=reason,
        user=user.name,
        tokens_revoked=[t.id for t in live],
    )
    return user


def grant_case(
    arc: Archive, session: Session, user: User, case: Case, *, actor: str, reason: str | None = None
) -> bool:
    """Grant the case; False (and nothing recorded) if the user already held it."""
    if users.has_grant(session, user.id, case.id):
        return False
    if user.disabled_at is not None:
        raise Conflict(f"user {user.name!r} is disabled", errors={"name": ["disabled"]})
    users.grant(session, user, case)
    record_change(
        arc, session, "grant_added", actor=actor, reason=reason, user=user.name, case=case.slug
    )
    return True


def record_new_case_grants(arc: Archive, session: Session, case: Case, *, actor: str) -> None:
    """A new case's first grants (to its creator, or to every admin when made at the
    console) are changes of access like any other: one signed event each."""
    holders = session.scalars(
        select(User)
        .join(CaseGrant, CaseGrant.user_id == User.id)
        .where(CaseGrant.case_id == case.id)
        .order_by(User.id)
    )
    for user in holders:
        record_change(
            arc,
            session,
            "grant_added",
            actor=actor,
            reason="the case was created",
            user=user.name,
            case=case.slug,
        )


def revoke_case(
    arc: Archive, session: Session, user: User, case: Case, *, actor: str, reason: str | None = None
) -> bool:
    """Take the grant away; False (and nothing recorded) if the user did not hold it."""
    if not users.has_grant(session, user.id, case.id):
        return False
    users.revoke(session, user, case)
    record_change(
        arc, session, "grant_revoked", actor=actor, reason=reason, user=user.name, case=case.slug
    )
    return True


def expiry(
    *,
    expires_at: dt.datetime | None = None,
    days: int | None = None,
    now: dt.datetime | None = None,
) -> dt.datetime:
    """When a token issued now expires: at ``expires_at``, in ``days``, or by default in
    TOKEN_DAYS_DEFAULT days; never in the past, never beyond TOKEN_DAYS_MAX days."""
    now = now or utcnow()
    if expires_at is not None and days is not None:
        raise InvalidInput(
            "give expires_at or expires_in_days, not both",
            errors={"expires_in_days": ["not with expires_at"]},
        )
    if expires_at is None:
        expires_at = now + dt.timedelta(days=TOKEN_DAYS_DEFAULT if days is None else days)
    if expires_at.tzinfo is None:
        raise InvalidInput("expires_at needs a time zone", errors={"expires_at": ["naive"]})
    if expires_at <= now:
        raise InvalidInput("the expiry is in the past", errors={"expires_at": ["in the past"]})
    if expires_at > now + dt.timedelta(days=TOKEN_DAYS_MAX):
        raise InvalidInput(
            f"a token expires within {TOKEN_DAYS_MAX} days",
            errors={"expires_at": ["too far"]},
        )
    return expires_at


def issue_token(
    arc: Archive,
    session: Session,
    user: User,
    *,
    name: str,
    expires_at: dt.datetime | None,
    actor: str,
    reason: str | None = None,
) -> tuple[ApiToken, str]:
    """A named token for the user: its row and its secret, which is shown once and stored
    only as a hash. ``expires_at`` None makes a token that lasts until revoked."""
    if user.disabled_at is not None:
        raise Conflict(f"user {user.name!r} is disabled", errors={"name": ["disabled"]})
    token, secret = users.new_token(session, user, name=name, expires_at=expires_at)
    record_change(
        arc,
        session,
        "token_issued",
        actor=actor,
        reason=reason,
        user=user.name,
        token={"id": token.id, "name": token.name, "expires_at": _iso(expires_at)},
    )
    return token, secret


def get_token(session: Session, user: User, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"user {user.name!r} has no token {token_id}")
    return token


def revoke_token(
    arc: Archive,
    session: Session,
    user: User,
    token_id: int,
    *,
    actor: str,
    reason: str | None = None,
) -> ApiToken:
    """Revoke one of the user's tokens (kept, marked revoked); again is harmless."""
    token = get_token(session, user, token_id)
    if token.revoked_at is not None:
        return token
    token.revoked_at = utcnow()
    session.flush()
    record_change(
        arc,
        session,
        "token_revoked",
        actor=actor,
        reason=reason,
        user=user.name,
        token={"id": token.id, "name": token.name},
    )
    return token


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    )


def token_state(token: ApiToken, now: dt.datetime | None = None) -> str:
    """active, expired or revoked."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None:
        expires = token.expires_at
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=dt.UTC)
        if expires <= (now or utcnow()):
            return "expired"
    return "active"


def user_cases(session: Session, user: User) -> list[str]:
    """The slugs of the cases the user holds a grant on."""
    return list(
        session.scalars(
            select(Case.slug)
            .join(CaseGrant, CaseGrant.case_id == Case.id)
            .where(CaseGrant.user_id == user.id)
            .order_by(Case.slug)
        )
    )


def find_case(session: Session, slug: str) -> Case:
    """A case an administrator may grant: any but the archive's own."""
    case = session.scalar(select(Case).where(Case.slug == slug))
    if case is None or case.slug.startswith("_"):
        raise NotFound(f"no case {slug!r}")
    return case
