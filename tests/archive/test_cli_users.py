"""`temoin users`: add, grant, revoke, list, disable, and the token it prints works."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from archive.cli import main
from archive.config import Settings
from tests.functional.test_api import make_case


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
