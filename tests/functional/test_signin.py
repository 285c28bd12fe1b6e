"""Web sign-in through HTTP: the form, its steps, the second factor, sign-out, sessions that
end, lock-out and rate limits, CSRF, and the API that ignores the session cookie."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from archive.config import Settings
from archive.models import CustodyEvent, Item, LoginFailure, User, WebSession
from archive.services import cases, signin, users
from archive.services.accountability import ACCESS_ADMIN
from archive.services.runtime import Archive, InitReport, init_archive
from archive.web import create_app
from archive.web.auth import SESSION_KEY
from tests.functional.test_api import make_case, make_testimony, make_witness
from tests.functional.web_session import PASSWORD, csrf_token, signed_in_client

NOT_RIGHT = "The name, password or code is not right"


def add_user(
    arc: Archive, name: str, role: str = "investigator", *, granted: tuple[str, ...] = ()
) -> None:
    with arc.db.transaction() as session:
        user = users.add_user(session, name=name, role=role, password=PASSWORD)
        for slug in granted:
            users.grant(session, user, cases.get_case(session, slug))


def post_form(client: FlaskClient, path: str, data: dict[str, str], *, page: str | None = None):
    """GET the form's page for its CSRF token, then POST the form with it."""
    token = csrf_token(client.get(page or path))
    return client.post(path, data={"csrf_token": token, **data})


def sign_in(client: FlaskClient, name: str, password: str = PASSWORD, **extra: str):
    return post_form(client, "/login", {"name": name, "password": password, **extra})


def cookie_value(client: FlaskClient, app: Flask) -> str | None:
    found = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return found.value if found is not None else None


def session_secret(client: FlaskClient) -> str | None:
    with client.session_transaction() as cookie:
        value = cookie.get(SESSION_KEY)
    return value if isinstance(value, str) else None


def code_for(arc: Archive, name: str, *, at: dt.datetime | None = None) -> str:
    with arc.db.sessions() as session:
        secret = signin.open_totp_secret(arc.settings, users.get_user(session, name))
    assert secret is not None
    return pyotp.TOTP(secret).at(at or dt.datetime.now(dt.UTC))


def enrol_through_the_page(client: FlaskClient) -> list[str]:
    page = client.get("/login/second-factor/setup")
    assert page.status_code == 200
    key = re.search(r'<code class="secret"[^>]*>([A-Z2-7 ]+)</code>', page.text)
    assert key, "the set-up key is shown"
    assert "otpauth://totp/" in page.text and 'src="data:image/svg+xml' in page.text
    secret = key.group(1).replace(" ", "")
    done = client.post(
        "/login/second-factor/setup",
        data={"csrf_token": csrf_token(page), "code": pyotp.TOTP(secret).now()},
    )
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.text)
    assert len(codes) == signin.RECOVERY_CODES
    return codes


@pytest.fixture
def investigator(arc: Archive, client: FlaskClient, auth: dict[str, str]) -> str:
    make_case(client, auth)
    make_case(client, auth, slug="case-two")
    add_user(arc, "amina", granted=("case-one",))
    return "amina"


# ---- signing in and out ----------------------------------------------------------------------


def test_sign_in_lands_on_the_desk_with_the_granted_cases_only(
    app: Flask, client: FlaskClient, investigator: str
) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert '<label for="name">Name</label>' in page.text
    assert '<label for="password">Password</label>' in page.text
    response = sign_in(client, investigator)
    assert response.status_code == 303 and response.headers["Location"] == "/desk"
    desk = client.get("/desk")
    assert desk.status_code == 200
    assert "case-one" in desk.text and "case-two" not in desk.text
    # the header names who is signed in, on the public pages too, with a sign-out button
    home = client.get("/")
    assert f"Desk · {investigator}" in home.text
    assert 'action="/logout"' in home.text and ">Sign out</button>" in home.text


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(
    client: FlaskClient, investigator: str
) -> None:
    wrong = sign_in(client, investigator, "not the password")
    unknown = sign_in(client, "nobody at all", "not the password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert NOT_RIGHT in response.text
        assert session_secret(client) is None
    assert f'value="{investigator}"' in wrong.text  # the name is kept, the password is not
    assert "not the password" not in wrong.text
    assert client.get("/desk").status_code == 303


def test_empty_fields_are_reported_next_to_each_field(client: FlaskClient) -> None:
    response = post_form(client, "/login", {"name": "", "password": ""})
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text
    assert '<p class="field-error" id="name-error">This field is required</p>' in response.text
    assert 'aria-describedby="password-error"' in response.text


def test_sign_out_ends_the_session_for_good(
    app: Flask, client: FlaskClient, investigator: str
) -> None:
    sign_in(client, investigator)
    stolen = cookie_value(client, app)
    assert stolen
    desk = client.get("/desk")
    out = client.post("/logout", data={"csrf_token": csrf_token(desk)})
    assert out.status_code == 303 and out.headers["Location"] == "/login?signed_out=1"
    assert "You are signed out" in client.get(out.headers["Location"]).text
    assert client.get("/desk").status_code == 303
    # the cookie as it was before signing out opens nothing: the session row is gone
    replay = app.test_client()
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    answer = replay.get("/desk")
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/login")


def test_the_session_is_rotated_at_sign_in(
    app: Flask, arc: Archive, client: FlaskClient, investigator: str
) -> None:
    # a session id planted before sign-in (session fixation) is not the one signed in
    with client.session_transaction() as cookie:
        cookie[SESSION_KEY] = "planted-by-someone-else"
        cookie["csrf_token"] = "x" * 40
    before = cookie_value(client, app)
    sign_in(client, investigator)
    after = session_secret(client)
    assert after and after != "planted-by-someone-else"
    assert cookie_value(client, app) != before
    with client.session_transaction() as cookie:
        assert cookie.get("csrf_token") != "x" * 40  # a fresh CSRF token too
    # signing in again (say, as someone else on a shared computer) replaces the session
    again = post_form(client, "/login", {"name": investigator, "password": PASSWORD}, page="/desk")
    assert again.status_code == 303
    assert session_secret(client) != after
    with arc.db.sessions() as session:
        assert len(session.scalars(select(WebSession)).all()) == 1


def test_next_leads_back_but_never_to_another_site(client: FlaskClient, investigator: str) -> None:
    asked = client.get("/account")
    assert asked.status_code == 303 and asked.headers["Location"] == "/login?next=/account"
    form = client.get(asked.headers["Location"])
    assert 'name="next" type="hidden" value="/account"' in form.text
    back = sign_in(client, investigator, next="/account")
    assert back.headers["Location"] == "/account"
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        other = FlaskClient(client.application, client.response_wrapper, use_cookies=True)
        landed = sign_in(other, investigator, next=target)
        assert landed.headers["Location"] == "/desk", target


def test_cookie_flags(settings: Settings, initialized: InitReport) -> None:
    for base, secure in (("http://127.0.0.1:5000", False), ("https://temoin.example", True)):
        app = create_app(settings.with_changes(public_base_url=base))
        try:
            client = app.test_client()
            page = client.get("/login")
            header = page.headers["Set-Cookie"]
            assert "HttpOnly" in header and "SameSite=Lax" in header
            assert ("Secure" in header) is secure
            assert header.startswith("__Host-temoin=" if secure else "temoin_session="), header
            assert "Domain=" not in header and "Path=/" in header
            assert ("Strict-Transport-Security" in page.headers) is secure
        finally:
            app.extensions["temoin"].close()
    forced = create_app(
        settings.with_changes(public_base_url="http://x", session_cookie_secure=True)
    )
    try:
        assert "Secure" in forced.test_client().get("/login").headers["Set-Cookie"]
    finally:
        forced.extensions["temoin"].close()


def test_signing_in_over_https(arc: Archive, settings: Settings, initialized: InitReport) -> None:
    """Behind TLS: a Secure cookie, and forms accepted though browsers send no Referer."""
    add_user(arc, "amina")
    app = create_app(settings.with_changes(public_base_url="https://temoin.example"))
    try:
        client = app.test_client()
        base = {"base_url": "https://temoin.example"}
        token = csrf_token(client.get("/login", **base))
        answer = client.post(
            "/login", data={"csrf_token": token, "name": "amina", "password": PASSWORD}, **base
        )
        assert answer.status_code == 303 and answer.headers["Location"] == "/desk"
        assert client.get("/desk", **base).status_code == 200
    finally:
        app.extensions["temoin"].close()


def test_public_pages_set_no_cookie(client: FlaskClient) -> None:
    for path in ("/", "/search?q=moura"):
        assert "Set-Cookie" not in client.get(path).headers, path


# ---- sessions that end ---------------------------------------------------------------------


def test_a_disabled_users_session_ends(
    arc: Archive, client: FlaskClient, investigator: str
) -> None:
    sign_in(client, investigator)
    assert client.get("/desk").status_code == 200
    with arc.db.transaction() as session:
        users.disable_user(session, users.get_user(session, investigator))
    assert client.get("/desk").status_code == 303
    assert sign_in(client, investigator).status_code == 403  # and cannot sign in again


def test_a_disabled_user_is_refused_even_if_the_row_survives(
    arc: Archive, client: FlaskClient, investigator: str
) -> None:
    """Disabled some other way (not through disable_user): the session still ends."""
    sign_in(client, investigator)
    with arc.db.transaction() as session:
        session.execute(
            update(User)
            .where(User.name == investigator)
            .values(disabled_at=dt.datetime.now(dt.UTC))
        )
    assert client.get("/desk").status_code == 303


def test_a_password_change_ends_every_other_session(
    app: Flask, arc: Archive, client: FlaskClient, investigator: str
) -> None:
    sign_in(client, investigator)
    laptop = app.test_client()
    sign_in(laptop, investigator)
    page = client.get("/account")
    changed = client.post(
        "/account",
        data={
            "csrf_token": csrf_token(page),
            "current": PASSWORD,
            "password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert changed.status_code == 303
    assert "Your password is changed" in client.get(changed.headers["Location"]).text
    assert client.get("/desk").status_code == 200  # this browser goes on
    assert laptop.get("/desk").status_code == 303  # the other one is signed out
    assert sign_in(laptop, investigator).status_code == 401
    assert sign_in(laptop, investigator, "a brand new passphrase").status_code == 303
    # A change of how someone signs in is a change of access: signed, in the log.
    with arc.db.sessions() as session:
        record = session.scalars(select(Item).where(Item.seed_key == ACCESS_ADMIN)).one()
        changes = [
            json.loads(canonical)
            for canonical in session.scalars(
                select(CustodyEvent.canonical)
                .where(CustodyEvent.item_id == record.id)
                .order_by(CustodyEvent.seq)
            )
        ]
    last = changes[-1]
    assert last["type"] == "access_changed"
    assert last["actor"] == f"user:{investigator} (web)"
    assert last["details"] == {
        "change": "password_set",
        "user": investigator,
        "replaced_one_time": False,
        "reason": None,
    }
    assert "a brand new passphrase" not in json.dumps(changes)


def test_the_account_page_checks_the_current_and_the_new_password(
    client: FlaskClient, investigator: str
) -> None:
    sign_in(client, investigator)
    token = csrf_token(client.get("/account"))
    wrong = client.post(
        "/account",
        data={"csrf_token": token, "current": "nope", "password": "x" * 12, "confirm": "x" * 12},
    )
    assert wrong.status_code == 422 and "This is not your current password" in wrong.text
    short = client.post(
        "/account",
        data={"csrf_token": token, "current": PASSWORD, "password": "short", "confirm": "short"},
    )
    assert short.status_code == 422 and "Use at least 10 characters" in short.text
    differ = client.post(
        "/account",
        data={
            "csrf_token": token,
            "current": PASSWORD,
            "password": "one long password",
            "confirm": "another long one",
        },
    )
    assert differ.status_code == 422 and "The two passwords are not the same" in differ.text


def test_set_password_from_the_console_ends_sessions(
    arc: Archive, client: FlaskClient, investigator: str
) -> None:
    sign_in(client, investigator)
    with arc.db.transaction() as session:
        signin.set_password(session, users.get_user(session, investigator), "set by the admin")
    assert client.get("/desk").status_code == 303


def test_idle_and_old_sessions_end(arc: Archive, client: FlaskClient, investigator: str) -> None:
    sign_in(client, investigator)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
    with arc.db.transaction() as session:
        session.execute(update(WebSession).values(last_seen_at=long_ago))
    assert client.get("/desk").status_code == 303  # idle for longer than 30 minutes
    sign_in(client, investigator)
    with arc.db.transaction() as session:
        session.execute(update(WebSession).values(expires_at=dt.datetime.now(dt.UTC)))
    assert client.get("/desk").status_code == 303  # past its lifetime, however active


def test_activity_keeps_a_session_alive(
    arc: Archive, client: FlaskClient, investigator: str
) -> None:
    sign_in(client, investigator)
    a_while_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)
    with arc.db.transaction() as session:
        session.execute(update(WebSession).values(last_seen_at=a_while_ago))
    assert client.get("/desk").status_code == 200
    with arc.db.sessions() as session:
        seen = session.scalar(select(WebSession.last_seen_at))
    assert seen is not None
    assert signin._aware(seen) > a_while_ago + dt.timedelta(minutes=19)


# ---- the one-time password of `temoin init`, and the second factor ---------------------------


def test_first_sign_in_with_the_one_time_password_of_init(
    app: Flask, arc: Archive, client: FlaskClient, initialized: InitReport, settings: Settings
) -> None:
    one_time = initialized.admin_password
    assert one_time and initialized.admin_password_file is not None
    assert initialized.admin_password_file.read_text().strip() == one_time
    first = sign_in(client, "admin", one_time)
    assert first.headers["Location"] == "/login/password"
    # nothing else is reachable before the one-time password is replaced
    assert client.get("/").headers["Location"] == "/login/password"
    assert client.get("/desk").status_code == 303
    page = client.get("/login/password")
    assert "Choose your password" in page.text
    chosen = client.post(
        "/login/password",
        data={"csrf_token": csrf_token(page), "password": "admin", "confirm": "admin"},
    )
    assert chosen.status_code == 422  # too short, and the name
    chosen = client.post(
        "/login/password",
        data={
            "csrf_token": csrf_token(page),
            "password": "the admin's own words",
            "confirm": "the admin's own words",
        },
    )
    # an administrator must then set up a second factor before anything else
    assert chosen.headers["Location"] == "/login/second-factor/setup"
    assert client.get("/").headers["Location"] == "/login/second-factor/setup"
    assert client.get("/api/v1/cases").status_code == 200  # the API ignores the cookie
    enrol_through_the_page(client)
    assert client.get("/desk").status_code == 200
    # the one-time password is spent; init no longer shows it, and removes its file
    assert sign_in(app.test_client(), "admin", one_time).status_code == 401
    again = init_archive(settings)
    assert again.admin_password is None
    assert not initialized.admin_password_file.exists()


def test_an_admin_must_enrol_then_give_a_code_each_time(
    app: Flask, arc: Archive, client: FlaskClient
) -> None:
    add_user(arc, "root", "admin")
    assert sign_in(client, "root").headers["Location"] == "/login/second-factor/setup"
    for path in ("/", "/desk", "/account", "/search?q=x"):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["Location"] in ("/login/second-factor/setup", f"/login?next={path}")
    page = client.get("/login/second-factor/setup")
    assert "Administrators sign in with a code" in page.text
    wrong = client.post(
        "/login/second-factor/setup", data={"csrf_token": csrf_token(page), "code": "000000"}
    )
    assert wrong.status_code == 422 and "That code does not match" in wrong.text
    recovery = enrol_through_the_page(client)
    assert client.get("/desk").status_code == 200

    browser = app.test_client()
    assert sign_in(browser, "root").headers["Location"] == "/login/code"
    assert browser.get("/desk").status_code == 303
    form = browser.get("/login/code")
    assert '<label for="code">Code</label>' in form.text
    bad = browser.post("/login/code", data={"csrf_token": csrf_token(form), "code": "123456"})
    assert bad.status_code == 401 and NOT_RIGHT in bad.text
    before = session_secret(browser)
    # the code of the step before: the one enrolment used is refused (no code twice)
    good = browser.post(
        "/login/code", data={"csrf_token": csrf_token(form), "code": code_for(arc, "root")}
    )
    if good.status_code == 401:  # enrolment used this step's code: wait for the next one
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
        good = browser.post(
            "/login/code",
            data={"csrf_token": csrf_token(form), "code": code_for(arc, "root", at=later)},
        )
    assert good.status_code == 303 and good.headers["Location"] == "/desk"
    assert session_secret(browser) != before  # rotated once the second factor is proven
    assert browser.get("/desk").status_code == 200

    # the same code cannot sign in a third browser; a recovery code can, once
    used = code_for(arc, "root")
    third = app.test_client()
    sign_in(third, "root")
    form = third.get("/login/code")
    assert (
        third.post("/login/code", data={"csrf_token": csrf_token(form), "code": used}).status_code
        == 401
    )
    ok = third.post(
        "/login/code", data={"csrf_token": csrf_token(form), "code": recovery[0].upper()}
    )
    assert ok.status_code == 303
    fourth = app.test_client()
    sign_in(fourth, "root")
    form = fourth.get("/login/code")
    replayed = fourth.post(
        "/login/code", data={"csrf_token": csrf_token(form), "code": recovery[0]}
    )
    assert replayed.status_code == 401
    assert "9 unused recovery codes left" in third.get("/account").text


def test_code_failures_count_towards_the_lock(
    app: Flask, arc: Archive, client: FlaskClient
) -> None:
    add_user(arc, "root", "admin")
    sign_in(client, "root")
    enrol_through_the_page(client)
    browser = app.test_client()
    sign_in(browser, "root")
    form = browser.get("/login/code")
    statuses = [
        browser.post(
            "/login/code", data={"csrf_token": csrf_token(form), "code": "000000"}
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 429]
    locked = browser.post(
        "/login/code", data={"csrf_token": csrf_token(form), "code": code_for(arc, "root")}
    )
    assert locked.status_code == 429 and "paused" in locked.text


def test_a_non_admin_may_enrol_from_the_account_page(
    app: Flask, client: FlaskClient, investigator: str
) -> None:
    sign_in(client, investigator)
    account = client.get("/account")
    assert "Set up a second factor" in account.text
    enrol_through_the_page(client)
    assert "unused recovery codes left" in client.get("/account").text
    other = app.test_client()
    assert sign_in(other, investigator).headers["Location"] == "/login/code"


def test_reset_totp_ends_sessions_and_asks_an_admin_to_enrol_again(
    arc: Archive, client: FlaskClient
) -> None:
    add_user(arc, "root", "admin")
    sign_in(client, "root")
    enrol_through_the_page(client)
    with arc.db.transaction() as session:
        signin.reset_totp(session, users.get_user(session, "root"))
    assert client.get("/desk").status_code == 303
    assert sign_in(client, "root").headers["Location"] == "/login/second-factor/setup"


# ---- lock-out and rate limits ---------------------------------------------------------------


@pytest.fixture
def tuned(settings: Settings, initialized: InitReport) -> Iterator[Callable[..., Flask]]:
    """Apps with other sign-in limits, on the same archive."""
    made: list[Flask] = []

    def make(**changes: object) -> Flask:
        app = create_app(settings.with_changes(**changes))
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["temoin"].close()


def test_repeated_failures_lock_the_name_whether_or_not_it_exists(
    arc: Archive, tuned: Callable[..., Flask]
) -> None:
    add_user(arc, "amina")
    app = tuned(login_ip_limit="1000 per minute", login_account_limit="1000 per minute")
    client = app.test_client()
    for name in ("amina", "nobody here"):
        answers = [sign_in(client, name, f"guess {i}") for i in range(5)]
        assert [a.status_code for a in answers] == [401, 401, 401, 401, 429], name
        locked = answers[-1]
        assert "too many failed sign-in attempts for this name" in locked.text.lower()
        assert "paused for 15 minutes" in locked.text
        assert locked.headers["Retry-After"] == "900"
    # while locked, even the right password is refused, with the same words as for no one
    right = sign_in(client, "amina")
    nobody = sign_in(client, "nobody here", PASSWORD)
    assert right.status_code == nobody.status_code == 429
    assert right.text.replace('value="amina"', "") == nobody.text.replace('value="nobody here"', "")
    # the lock is in the database: another server process sees it too
    other = tuned(login_ip_limit="1000 per minute")
    assert sign_in(other.test_client(), "amina").status_code == 429
    with arc.db.transaction() as session:
        session.execute(
            update(LoginFailure).values(locked_until=dt.datetime.now(dt.UTC) - dt.timedelta(1))
        )
    assert sign_in(client, "amina").status_code == 303
    with arc.db.sessions() as session:  # a success clears the name's failures
        assert (
            session.scalar(
                select(LoginFailure).where(LoginFailure.name_hash == signin.name_key("amina"))
            )
            is None
        )
        # names are kept only as hashes
        assert "nobody" not in str(session.scalars(select(LoginFailure.name_hash)).all())


def test_failures_per_address_are_rate_limited(arc: Archive, tuned: Callable[..., Flask]) -> None:
    add_user(arc, "amina")
    app = tuned(login_ip_limit="3 per minute", login_lockout_failures=100)
    client = app.test_client()
    for name in ("a", "b", "c"):
        assert sign_in(client, name, "wrong").status_code == 401
    limited = sign_in(client, "amina")  # even the right password, from this address
    assert limited.status_code == 429
    assert "Too many failed sign-in attempts: wait 1 minute" in limited.text
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    # another address is not slowed down
    elsewhere = app.test_client()
    token = csrf_token(elsewhere.get("/login"))
    answer = elsewhere.post(
        "/login",
        data={"csrf_token": token, "name": "amina", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert answer.status_code == 303


def test_successful_sign_ins_are_not_counted(arc: Archive, tuned: Callable[..., Flask]) -> None:
    add_user(arc, "amina")
    app = tuned(login_ip_limit="2 per minute")
    for _ in range(4):
        assert sign_in(app.test_client(), "amina").status_code == 303


def test_failures_per_account_are_rate_limited_from_any_address(
    arc: Archive, tuned: Callable[..., Flask]
) -> None:
    add_user(arc, "amina")
    add_user(arc, "bakary")
    app = tuned(login_account_limit="2 per minute", login_lockout_failures=100)
    client = app.test_client()
    for address in ("192.0.2.1", "192.0.2.2"):
        token = csrf_token(client.get("/login"))
        answer = client.post(
            "/login",
            data={"csrf_token": token, "name": "amina", "password": "wrong"},
            environ_base={"REMOTE_ADDR": address},
        )
        assert answer.status_code == 401
    assert sign_in(client, "amina").status_code == 429
    assert sign_in(client, "bakary").status_code == 303  # another account is not slowed


def test_the_rate_limit_storage_is_configurable(settings: Settings) -> None:
    assert Settings.from_env(environ={}).ratelimit_storage_uri == "memory://"
    configured = Settings.from_env(environ={"TEMOIN_RATELIMIT_STORAGE_URI": "redis://cache:6379/2"})
    assert configured.ratelimit_storage_uri == "redis://cache:6379/2"
    with pytest.raises(ValueError, match="TEMOIN_LOGIN_LOCKOUT_FAILURES"):
        Settings.from_env(environ={"TEMOIN_LOGIN_LOCKOUT_FAILURES": "none"})
    with pytest.raises(ValueError, match="TEMOIN_SESSION_COOKIE_SECURE"):
        Settings.from_env(environ={"TEMOIN_SESSION_COOKIE_SECURE": "perhaps"})


# ---- CSRF --------------------------------------------------------------------------------------


def test_forms_without_the_right_csrf_token_are_refused(
    app: Flask, client: FlaskClient, investigator: str
) -> None:
    missing = client.post("/login", data={"name": investigator, "password": PASSWORD})
    assert missing.status_code == 400
    assert "The CSRF token is missing" in missing.text
    assert "Go back, reload the page and send the form again" in missing.text
    assert session_secret(client) is None
    client.get("/login")
    wrong = client.post(
        "/login", data={"csrf_token": "forged", "name": investigator, "password": PASSWORD}
    )
    assert wrong.status_code == 400 and "CSRF token is invalid" in wrong.text
    assert session_secret(client) is None
    # a token from another browser's session does not fit this one
    theirs = csrf_token(app.test_client().get("/login"))
    foreign = client.post(
        "/login", data={"csrf_token": theirs, "name": investigator, "password": PASSWORD}
    )
    assert foreign.status_code == 400
    assert sign_in(client, investigator).status_code == 303  # the right token is accepted
    # signing out is a form too: a forged sign-out is refused and the session goes on
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/desk").status_code == 200
    # and so is every signed-in form
    change = client.post(
        "/account", data={"current": PASSWORD, "password": "x" * 20, "confirm": "x" * 20}
    )
    assert change.status_code == 400


def test_csrf_errors_answer_json_on_the_api(client: FlaskClient) -> None:
    # the API takes no cookie, so it needs no CSRF token: it answers as to anyone
    response = client.post("/api/v1/cases", json={"slug": "x", "title": "X"})
    assert response.status_code == 401 and response.json["message"].startswith("this route")


def test_the_api_ignores_the_session_cookie(
    app: Flask, arc: Archive, client: FlaskClient, auth: dict[str, str]
) -> None:
    """The API authenticates bearer tokens only: a signed-in browser (and so a page on
    another site that makes it send requests) has no more power there than anyone."""
    make_case(client, auth)
    person = make_witness(client, auth)
    item = make_testimony(client, auth, person["id"])["id"]
    browser = signed_in_client(app, arc, "investigator", granted=("case-one",))
    assert browser.get("/desk").status_code == 200  # signed in on the web
    assert browser.get(f"/api/v1/items/{item}").status_code == 404  # not published: none
    assert browser.get("/api/v1/cases/case-one/persons").status_code == 401
    made = browser.post(
        "/api/v1/cases/case-one/testimonies",
        json={"text": "x", "person": person["id"], "language": "en"},
    )
    assert made.status_code == 401


# ---- the headers of every page ------------------------------------------------------------


def test_security_headers_on_every_page_and_error(
    app: Flask, arc: Archive, client: FlaskClient, investigator: str
) -> None:
    signed_in = app.test_client()
    sign_in(signed_in, investigator)
    pages = [
        (client, "/"),
        (client, "/search?q=moura"),
        (client, "/login"),
        (client, "/records/no-such-record"),  # 404 page
        (client, "/no/such/page"),  # 404 from the router
        (client, "/api/v1/openapi.json"),
        (client, "/api/v1/items/nope/custody"),  # 401 JSON
        (signed_in, "/desk"),
        (signed_in, "/account"),
        (signed_in, "/login/second-factor/setup"),
    ]
    responses = [(path, who.get(path)) for who, path in pages]
    responses.append(("POST /login (CSRF)", client.post("/login", data={})))
    responses.append(("POST /logout (CSRF)", signed_in.post("/logout")))
    seen = {response.status_code for _, response in responses}
    assert {200, 400, 401, 404} <= seen
    for path, response in responses:
        csp = response.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, path
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        assert "http:" not in csp and "https:" not in csp and "*" not in csp, path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path
        if response.mimetype == "text/html":
            html = response.text
            assert not re.search(r"<script(?![^>]*\bsrc=)", html), path  # no inline script
            assert not re.search(r"\sstyle=", html) and "<style" not in html, path
            assert not re.search(r"\son[a-z]+=", html), path  # no inline handlers
            assert not re.search(r"(src|href)=\"(https?:)?//", html), path  # nothing external
            assert 'lang="en"' in html and '<main id="main">' in html, path
    for path in ("/desk", "/account", "/login"):
        assert signed_in.get(path).headers["Cache-Control"] == "no-store", path
    assert "Cookie" in client.get("/").headers.get("Vary", "")


def test_every_form_carries_a_csrf_token(
    app: Flask, client: FlaskClient, investigator: str
) -> None:
    sign_in(client, investigator)
    for path in ("/", "/desk", "/account", "/login/second-factor/setup"):
        html = client.get(path).text
        for form in re.findall(r"<form\b[^>]*>.*?</form>", html, flags=re.S):
            if 'method="get"' in form:
                continue
            assert 'name="csrf_token"' in form, (path, form[:80])
