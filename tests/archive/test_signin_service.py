"""archive.services.signin without the web: counting failures, TOTP steps, recovery codes."""

from __future__ import annotations

import datetime as dt
import threading

import pyotp
import pytest
from sqlalchemy import select

from archive.errors import ArchiveError, InvalidInput
from archive.models import LoginFailure
from archive.services import signin, users
from archive.services.runtime import Archive
from archive.web.signin import safe_next


def test_two_workers_counting_the_same_new_name_both_count(arc: Archive) -> None:
    policy = signin.SignInPolicy()
    first = arc.db.writer_session()
    signin.record_failure(first, "amina", policy)  # inserted, not yet committed
    errors: list[BaseException] = []

    def second_worker() -> None:
        try:
            with arc.db.transaction() as session:
                signin.record_failure(session, "amina", policy)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=second_worker)
    thread.start()
    thread.join(timeout=0.5)  # it waits on the first one's row (or write lock)
    first.commit()
    first.close()
    thread.join(timeout=30)
    assert not thread.is_alive() and errors == []
    with arc.db.sessions() as session:
        assert session.scalar(select(LoginFailure.failures)) == 2


def test_failures_long_ago_do_not_add_up(arc: Archive) -> None:
    policy = signin.SignInPolicy(lockout_failures=3)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with arc.db.transaction() as session:
        signin.record_failure(session, "Amina ", policy, long_ago)
        signin.record_failure(session, "amina", policy, long_ago)
        assert signin.record_failure(session, "AMINA", policy) is None  # starts again at 1
        signin.record_failure(session, "amina", policy)
        until = signin.record_failure(session, "amina", policy)
        assert until is not None
        assert signin.locked_until(session, "Amina") == until


def test_totp_codes_are_one_use_and_drift_tolerant(arc: Archive) -> None:
    secret = signin.new_totp_secret()
    totp = pyotp.TOTP(secret)
    with arc.db.transaction() as session:
        user = users.add_user(session, name="root", role="admin", password="x" * 12)
        with pytest.raises(InvalidInput, match="does not match"):
            signin.enable_totp(session, arc.settings, user, secret, "000000")
        codes = signin.enable_totp(session, arc.settings, user, secret, totp.now())
        assert len(set(codes)) == signin.RECOVERY_CODES
        assert not signin.check_second_factor(session, arc.settings, user, totp.now())  # reused
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
        assert signin.check_second_factor(session, arc.settings, user, totp.at(later))
        too_late = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
        assert not signin.check_second_factor(session, arc.settings, user, totp.at(too_late))
        assert signin.check_second_factor(session, arc.settings, user, codes[3].replace("-", " "))
        assert not signin.check_second_factor(session, arc.settings, user, codes[3])
        assert signin.recovery_codes_left(session, user) == signin.RECOVERY_CODES - 1
        assert user.totp_secret is not None and secret.encode() not in user.totp_secret


def test_a_changed_secret_key_is_reported_not_crashed(arc: Archive) -> None:
    secret = signin.new_totp_secret()
    with arc.db.transaction() as session:
        user = users.add_user(session, name="root", role="admin", password="x" * 12)
        signin.enable_totp(session, arc.settings, user, secret, pyotp.TOTP(secret).now())
        other = arc.settings.with_changes(secret_key="a different secret key")
        with pytest.raises(ArchiveError, match="reset-totp"):
            signin.open_totp_secret(other, user)


def test_passwords_must_be_long_and_not_the_name(arc: Archive) -> None:
    with arc.db.transaction() as session:
        user = users.add_user(session, name="Amina Diallo", role="legal")
        for bad in ("short", " amina diallo ", "x" * (signin.MAX_PASSWORD_LENGTH + 1)):
            with pytest.raises(InvalidInput):
                signin.set_password(session, user, bad)
        signin.set_password(session, user, "short", one_time=True)  # generated ones: as given
        assert user.must_change_password
        assert len(signin.one_time_password()) == 23


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/desk", "/desk"),
        ("/search?q=x", "/search?q=x"),
        ("https://evil.example/", None),
        ("//evil.example", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("desk", None),
        ("/x\nSet-Cookie: a", None),
        ("", None),
    ],
)
def test_safe_next(target: str, kept: str | None) -> None:
    assert safe_next(target) == kept
