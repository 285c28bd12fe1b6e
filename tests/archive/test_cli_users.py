"""`temoin users`: add, grant, revoke, list, disable, and the token it prints works."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from archive.cli import main
from archive.config import Settings
from archive.services import users
from archive.services.runtime import Archive, InitReport
from tests.functional.test_api import make_case
from tests.functional.test_signin import enrol_through_the_page, sign_in
from tests.functional.web_session import PASSWORD, csrf_token


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TEMOIN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TEMOIN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TEMOIN_LOG_ORIGIN", settings.log_origin)
    return CliRunner()


def test_users_lifecycle(runner: CliRunner, client: FlaskClient, auth: dict[str, str]) -> None:
    make_case(client, auth)
    added = runner.invoke(main, ["users", "add", "amina", "--role", "legal"])
    assert added.exit_code == 0, added.output
    match = re.search(r"API token: (\S+)", added.output)
    assert match
    headers = {"Authorization": f"Bearer {match.group(1)}"}
    persons = "/api/v1/cases/case-one/persons"
    assert client.get(persons, headers=headers).status_code == 404  # no grant yet
    assert runner.invoke(main, ["users", "grant", "amina", "case-one"]).exit_code == 0
    assert client.get(persons, headers=headers).status_code == 200
    listed = runner.invoke(main, ["users", "list"]).output
    assert "amina\tlegal\tactive\tcase-one" in listed
    assert "admin\tadmin\tactive\tcase-one" in listed
    assert runner.invoke(main, ["users", "revoke", "amina", "case-one"]).exit_code == 0
    assert client.get(persons, headers=headers).status_code == 404
    assert runner.invoke(main, ["users", "disable", "amina"]).exit_code == 0
    assert client.get(persons, headers=headers).status_code == 401
    assert "amina\tlegal\tdisabled" in runner.invoke(main, ["users", "list"]).output
    again = runner.invoke(main, ["users", "add", "amina", "--role", "legal"])
    assert again.exit_code == 1 and "already exists" in again.output
    unknown = runner.invoke(main, ["users", "grant", "nobody", "case-one"])
    assert unknown.exit_code == 1 and "no user" in unknown.output


def test_init_prints_a_one_time_password_until_it_is_replaced(
    runner: CliRunner, app: Flask, initialized: InitReport
) -> None:
    first = runner.invoke(main, ["init"])
    assert first.exit_code == 0, first.output
    assert f"one-time password {initialized.admin_password}" in first.output
    client = app.test_client()
    assert sign_in(client, "admin", initialized.admin_password or "").status_code == 303
    page = client.get("/login/password")
    client.post(
        "/login/password",
        data={
            "csrf_token": csrf_token(page),
            "password": "chosen by admin",
            "confirm": "chosen by admin",
        },
    )
    again = runner.invoke(main, ["init"])
    assert initialized.admin_password not in again.output
    assert "no one-time password to show" in again.output
    assert "temoin users set-password admin --one-time" in again.output


def test_set_password_prompted_and_one_time(runner: CliRunner, app: Flask) -> None:
    assert runner.invoke(main, ["users", "add", "amina", "--role", "legal"]).exit_code == 0
    browser = app.test_client()
    assert sign_in(browser, "amina", "anything at all").status_code == 401  # no password yet
    typed = runner.invoke(
        main, ["users", "set-password", "amina"], input="her own passphrase\nher own passphrase\n"
    )
    assert typed.exit_code == 0, typed.output
    assert "web sessions are ended" in typed.output
    assert sign_in(browser, "amina", "her own passphrase").status_code == 303
    assert browser.get("/desk").status_code == 200
    short = runner.invoke(main, ["users", "set-password", "amina"], input="short\nshort\n")
    assert short.exit_code == 1 and "this password cannot be used" in short.output
    one_time = runner.invoke(main, ["users", "set-password", "amina", "--one-time"])
    assert one_time.exit_code == 0, one_time.output
    password = re.search(r"One-time password for 'amina': (\S+)", one_time.output)
    assert password
    assert browser.get("/desk").status_code == 303  # her session ended
    landed = sign_in(browser, "amina", password.group(1))
    assert landed.headers["Location"] == "/login/password"  # she must choose her own
    unknown = runner.invoke(main, ["users", "set-password", "nobody", "--one-time"])
    assert unknown.exit_code == 1 and "no user" in unknown.output


def test_reset_totp(runner: CliRunner, app: Flask, arc: Archive) -> None:
    with arc.db.transaction() as session:
        users.add_user(session, name="root", role="admin", password=PASSWORD)
    browser = app.test_client()
    sign_in(browser, "root")
    enrol_through_the_page(browser)
    assert browser.get("/desk").status_code == 200
    reset = runner.invoke(main, ["users", "reset-totp", "root"])
    assert reset.exit_code == 0, reset.output
    assert "must set up a new one" in reset.output
    assert browser.get("/desk").status_code == 303
    assert sign_in(browser, "root").headers["Location"] == "/login/second-factor/setup"
    with arc.db.sessions() as session:
        assert users.get_user(session, "root").totp_secret is None
