"""Users, their per-case grants and their API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from archive.errors import Conflict, InvalidInput, NotFound
from archive.models import USER_ROLES, ApiToken, Case, CaseGrant, User, WebSession, utcnow
from archive.services.runtime import token_hash

# scrypt: memory-hard (n * r * 128 bytes = 16 MiB per guess).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    derived = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 * 2**20
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${derived.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        derived = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 2**20,
        )
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(derived.hex(), expected)


def add_user(session: Session, *, name: str, role: str, password: str | None = None) -> User:
    if role not in USER_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(USER_ROLES)}", errors={"role": [role]})
    if not name.strip():
        raise InvalidInput("a user needs a name", errors={"name": ["empty"]})
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise Conflict(f"user {name!r} already exists", errors={"name": ["already exists"]})
    user = User(
        name=name.strip(), role=role, password_hash=hash_password(password) if password else None
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"no user {name!r}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def disable_user(session: Session, user: User) -> None:
    """Disable the user, revoke every token and end every web session: nothing of theirs
    works any more."""
    now = utcnow()
    user.disabled_at = user.disabled_at or now
    for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
        token.revoked_at = token.revoked_at or now
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))


def grant(session: Session, user: User, case: Case) -> CaseGrant:
    found = session.scalar(
        select(CaseGrant).where(CaseGrant.user_id == user.id, CaseGrant.case_id == case.id)
    )
    if found is not None:
        return found
    granted = CaseGrant(user_id=user.id, case_id=case.id)
    session.add(granted)
    session.flush()
    return granted


def revoke(session: Session, user: User, case: Case) -> None:
    found = session.scalar(
        select(CaseGrant).where(CaseGrant.user_id == user.id, CaseGrant.case_id == case.id)
    )
    if found is not None:
        session.delete(found)
        session.flush()


def grant_to_admins(session: Session, case: Case) -> None:
    """A case made at the console (seed, import) is the operator's: every active admin."""
    for admin in session.scalars(
        select(User).where(User.role == "admin", User.disabled_at.is_(None))
    ):
        grant(session, admin, case)


def has_grant(session: Session, user_id: int, case_id: int) -> bool:
    return (
        session.scalar(
            select(CaseGrant.id).where(CaseGrant.user_id == user_id, CaseGrant.case_id == case_id)
        )
        is not None
    )


def issue_token(
    session: Session, user: User, *, name: str, expires_at: dt.datetime | None = None
) -> str:
    """A new bearer token for the user; the secret is returned once and stored hashed."""
    secret = "tmn_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            name=name,
            token_hash=token_hash(secret),
            role=user.role,
            user_id=user.id,
            expires_at=expires_at,
        )
    )
    session.flush()
    return secret


TOKEN_NAME_MAX = 120


def new_token(
    session: Session, user: User, *, name: str, expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """A new bearer token for the user: its row, and its secret (shown once, stored hashed)."""
    name = name.strip()
    if not name or len(name) > TOKEN_NAME_MAX:
        raise InvalidInput(
            f"a token needs a name of 1 to {TOKEN_NAME_MAX} characters",
            errors={"name": ["invalid name"]},
        )
    secret = "tmn_" + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        token_hash=token_hash(secret),
        role=user.role,
        user_id=user.id,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return token, secret
