"""Signing in on the web: passwords, lock-out, sessions, a TOTP second factor.

No Flask here: the web layer (`archive.web.signin`) calls these with a SQLAlchemy session.

- A failed sign-in (password or code) is counted per account *name*, whether or not such a
  user exists, in the database (`LoginFailure`), so that a lock holds across workers and its
  message says nothing about the account's existence.
- A web session is a row; the browser's cookie holds a random secret whose SHA-256 is the
  row's key. Deleting rows ends sessions at once: on sign-out, when a user is disabled, when
  a password changes or a second factor is reset.
- The TOTP secret is sealed with AES-256-GCM under a key derived (HKDF) from the archive's
  secret key, so a copy of the database alone does not yield codes.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive.config import Settings
from archive.errors import ArchiveError, Forbidden, InvalidInput
from archive.models import LoginFailure, RecoveryCode, User, WebSession, utcnow
from archive.services.users import check_password, hash_password

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
TOTP_ISSUER = "Témoin"
#: A session's last-seen time is written at most this often (not on every request).
TOUCH_EVERY = dt.timedelta(seconds=60)


class SignInRefused(ArchiveError):
    """Wrong name, password or code. One message whichever it was."""

    status = 401


class AccountLocked(ArchiveError):
    """Too many failures for this account name; no password is checked until `until`."""

    status = 429

    def __init__(self, until: dt.datetime) -> None:
        minutes = max(1, -(-int((until - utcnow()).total_seconds()) // 60))
        super().__init__(
            "too many failed sign-in attempts for this name: signing in with it is paused "
            f"for {minutes} minute{'s' if minutes != 1 else ''}. "
            "If you forgot your password, ask an administrator."
        )
        self.until = until
        self.retry_after = minutes * 60


@dataclass(frozen=True, kw_only=True)
class SignInPolicy:
    lockout_failures: int = 5
    lockout: dt.timedelta = dt.timedelta(minutes=15)
    lifetime: dt.timedelta = dt.timedelta(hours=12)
    idle: dt.timedelta = dt.timedelta(minutes=30)

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInPolicy:
        return cls(
            lockout_failures=settings.login_lockout_failures,
            lockout=dt.timedelta(minutes=settings.login_lockout_minutes),
            lifetime=dt.timedelta(minutes=settings.session_lifetime_minutes),
            idle=dt.timedelta(minutes=settings.session_idle_minutes),
        )


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands timestamps back naive; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---- failed sign-ins and lock-out ----------------------------------------------------------


def name_key(name: str) -> str:
    """The key failures are counted under: the folded name, hashed."""
    folded = unicodedata.normalize("NFKC", name).strip().casefold()
    return _sha256("temoin-login:" + folded)


def locked_until(session: Session, name: str, now: dt.datetime | None = None) -> dt.datetime | None:
    now = now or utcnow()
    until = session.scalar(
        select(LoginFailure.locked_until).where(LoginFailure.name_hash == name_key(name))
    )
    if until is None or _aware(until) <= now:
        return None
    return _aware(until)


def record_failure(
    session: Session, name: str, policy: SignInPolicy, now: dt.datetime | None = None
) -> dt.datetime | None:
    """Count a failure; returns the end of the lock if this one locked the name."""
    now = now or utcnow()
    key = name_key(name)
    row = session.scalar(select(LoginFailure).where(LoginFailure.name_hash == key))
    if row is None:
        try:
            with session.begin_nested():  # another worker may be counting the same name
                row = LoginFailure(name_hash=key, failures=0, last_failure_at=now)
                session.add(row)
        except IntegrityError:
            row = session.scalars(select(LoginFailure).where(LoginFailure.name_hash == key)).one()
    if _aware(row.last_failure_at) < now - policy.lockout:
        row.failures = 0  # failures long ago do not add up with today's
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= policy.lockout_failures:
        row.failures = 0
        row.locked_until = now + policy.lockout
        session.flush()
        return row.locked_until
    session.flush()
    return None


def clear_failures(session: Session, name: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.name_hash == name_key(name)))


@functools.cache
def _decoy_hash() -> str:
    """Checked against when no such user exists, so both cases take the same time."""
    return hash_password(secrets.token_urlsafe(16))


def authenticate(session: Session, name: str, password: str, policy: SignInPolicy) -> User:
    """The user with this name and password, or SignInRefused / AccountLocked / Forbidden.

    Failures are recorded in `session`: the caller commits even when this raises.
    """
    now = utcnow()
    until = locked_until(session, name, now)
    if until is not None:
        raise AccountLocked(until)
    user = session.scalar(select(User).where(User.name == name.strip()))
    stored = user.password_hash if user is not None and user.password_hash else _decoy_hash()
    matches = check_password(password, stored)  # always checked: the same time either way
    if user is None or not user.password_hash or not matches:
        refused(session, name, policy, now)
    assert user is not None
    if user.disabled_at is not None:
        raise Forbidden("this account is disabled; ask an administrator")
    clear_failures(session, name)
    return user


def refused(session: Session, name: str, policy: SignInPolicy, now: dt.datetime) -> None:
    """Record a failure and raise: locked if this failure locked the name."""
    until = record_failure(session, name, policy, now)
    if until is not None:
        raise AccountLocked(until)
    raise SignInRefused("the name, password or code is not right")


# ---- passwords ------------------------------------------------------------------------------


def check_new_password(user: User, password: str) -> None:
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"use at most {MAX_PASSWORD_LENGTH} characters")
    if password.strip().casefold() == user.name.strip().casefold():
        problems.append("a password must not be the account's name")
    if problems:
        raise InvalidInput("this password cannot be used", errors={"password": problems})


def set_password(session: Session, user: User, password: str, *, one_time: bool = False) -> None:
    """Set a password (checked against the rules) and end every session of the user.

    `one_time`: the user must replace it when they next sign in."""
    if not one_time:
        check_new_password(user, password)
    user.password_hash = hash_password(password)
    user.must_change_password = one_time
    user.password_changed_at = utcnow()
    end_sessions(session, user)


def one_time_password() -> str:
    """A password to hand over once (printed by `temoin init` or an administrator)."""
    return "-".join("".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(5)) for _ in range(4))


# ---- web sessions ---------------------------------------------------------------------------


def open_web_session(
    session: Session,
    user: User,
    policy: SignInPolicy,
    *,
    remote_addr: str = "",
    user_agent: str = "",
) -> str:
    """A new session for the user; returns the secret for the cookie (stored hashed)."""
    now = utcnow()
    prune_sessions(session, policy, now)
    secret = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=_sha256(secret),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + policy.lifetime,
            remote_addr=remote_addr[:64],
            user_agent=user_agent[:200],
        )
    )
    session.flush()
    return secret


def find_web_session(
    session: Session, secret: str, policy: SignInPolicy, now: dt.datetime | None = None
) -> WebSession | None:
    """The live session this secret opens: not expired, not idle, its user not disabled."""
    now = now or utcnow()
    found = session.scalar(select(WebSession).where(WebSession.token_hash == _sha256(secret)))
    if found is None:
        return None
    if _aware(found.expires_at) <= now or _aware(found.last_seen_at) + policy.idle <= now:
        return None
    if found.user.disabled_at is not None:
        return None
    return found


def needs_touch(web_session: WebSession, now: dt.datetime | None = None) -> bool:
    return _aware(web_session.last_seen_at) + TOUCH_EVERY <= (now or utcnow())


def touch_web_session(session: Session, session_id: int, now: dt.datetime | None = None) -> None:
    session.execute(
        update(WebSession).where(WebSession.id == session_id).values(last_seen_at=now or utcnow())
    )


def rotate_web_session(session: Session, web_session: WebSession) -> str:
    """A new secret for the same session (after each step up: a secret seen before the
    step, by whoever saw it, no longer opens it)."""
    secret = secrets.token_urlsafe(32)
    web_session.token_hash = _sha256(secret)
    session.flush()
    return secret


def end_web_session(session: Session, secret: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == _sha256(secret)))


def end_sessions(session: Session, user: User) -> int:
    """End every web session of the user (all browsers, every server)."""
    result = session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return int(getattr(result, "rowcount", 0) or 0)


def prune_sessions(session: Session, policy: SignInPolicy, now: dt.datetime) -> None:
    session.execute(
        delete(WebSession).where(
            or_(WebSession.expires_at <= now, WebSession.last_seen_at <= now - policy.idle)
        )
    )


def pending_step(user: User, web_session: WebSession) -> str | None:
    """What the session must still do before it acts as the user (None: nothing).

    `password`: replace a one-time password; `totp`: give a code; `enrol`: an administrator
    (for whom a second factor is required) must set one up."""
    if user.must_change_password:
        return "password"
    if user.totp_secret is not None and web_session.second_factor_at is None:
        return "totp"
    if user.role == "admin" and user.totp_secret is None:
        return "enrol"
    return None


def second_factor_proven(session: Session, web_session: WebSession) -> None:
    web_session.second_factor_at = utcnow()
    session.flush()


# ---- TOTP second factor ---------------------------------------------------------------------


def _totp_key(settings: Settings) -> bytes:
    from archive.services.runtime import secret_key

    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"temoin totp secret v1"
    ).derive(secret_key(settings).encode())


def _aad(user: User) -> bytes:
    return f"temoin-totp:{user.id}".encode()


def seal_totp_secret(settings: Settings, user: User, secret: str) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(_totp_key(settings)).encrypt(nonce, secret.encode(), _aad(user))


def open_totp_secret(settings: Settings, user: User) -> str | None:
    if user.totp_secret is None:
        return None
    sealed = bytes(user.totp_secret)
    try:
        plain = AESGCM(_totp_key(settings)).decrypt(sealed[:12], sealed[12:], _aad(user))
    except InvalidTag:
        # The secret key changed since enrolment: the factor cannot be checked any more.
        raise ArchiveError(
            "this account's second factor cannot be checked (the archive's secret key "
            "changed); an administrator can reset it with `temoin users reset-totp`"
        ) from None
    return plain.decode()


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 32 base32 characters: 160 bits


def provisioning_uri(secret: str, user: User) -> str:
    """The otpauth:// URI an authenticator app reads (from a QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.name, issuer_name=TOTP_ISSUER)


def _digits(code: str) -> str:
    return "".join(code.split())


def _match_totp(secret: str, code: str, last_step: int | None, now: dt.datetime) -> int | None:
    """The time step `code` belongs to (this one or a neighbour, for clock drift), if it is
    newer than the last accepted one; None otherwise."""
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // totp.interval
    for step in (current, current - 1, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            return step
    return None


def enable_totp(
    session: Session, settings: Settings, user: User, secret: str, code: str
) -> list[str]:
    """Enrol the factor once a first code proves the app holds `secret`; returns fresh
    recovery codes (shown once, stored hashed)."""
    step = _match_totp(secret, _digits(code), None, utcnow())
    if step is None:
        raise InvalidInput(
            "that code does not match: check the time on your device and type the code "
            "the app shows now",
            errors={"code": ["does not match"]},
        )
    user.totp_secret = seal_totp_secret(settings, user, secret)
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    return new_recovery_codes(session, user)


def check_second_factor(session: Session, settings: Settings, user: User, code: str) -> bool:
    """A current TOTP code (never one already used), or an unused recovery code."""
    secret = open_totp_secret(settings, user)
    if secret is None:
        return False
    typed = _digits(code)
    if typed.isdigit() and len(typed) == 6:
        step = _match_totp(secret, typed, user.totp_last_step, utcnow())
        if step is None:
            return False
        user.totp_last_step = step
        session.flush()
        return True
    return use_recovery_code(session, user, code)


def reset_totp(session: Session, user: User) -> None:
    """Remove the second factor and its recovery codes; end every session of the user."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    end_sessions(session, user)


def _recovery_hash(user: User, code: str) -> str:
    normal = "".join(c for c in code.casefold() if c.isalnum())
    return _sha256(f"temoin-recovery:{user.id}:{normal}")


def new_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "-".join("".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(5)) for _ in range(2))
        for _ in range(RECOVERY_CODES)
    ]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(user, c)) for c in codes)
    session.flush()
    return codes


def use_recovery_code(session: Session, user: User, code: str) -> bool:
    found = session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_hash(user, code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if found is None:
        return False
    found.used_at = utcnow()
    session.flush()
    return True


def recovery_codes_left(session: Session, user: User) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )
