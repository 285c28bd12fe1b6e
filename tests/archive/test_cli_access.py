"""`temoin access-report` and the audit trace of `temoin users`, through click's runner."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from archive.cli import main
from archive.config import Settings
from tests.functional.test_api import make_case, make_testimony, make_witness


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TEMOIN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TEMOIN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TEMOIN_LOG_ORIGIN", settings.log_origin)
    return CliRunner()


@pytest.fixture
def looked_at(client: FlaskClient, auth: dict[str, str]) -> dict[str, str]:
    """case-one, read twice, exported once and searched once; case-two read once."""
    uids = {}
    for slug in ("case-one", "case-two"):
        make_case(client, auth, slug=slug)
        uids[slug] = make_testimony(
            client, auth, make_witness(client, auth, slug=slug)["id"], slug=slug
        )["id"]
    one = uids["case-one"]
    for reason in ("first read for the brief", "=HYPERLINK(cmd) second read"):
        client.get(f"/api/v1/items/{one}", headers={**auth, "X-Temoin-Reason": reason})
    client.get(
        f"/api/v1/items/{one}/bundle", headers={**auth, "X-Temoin-Reason": "exhibit for court"}
    )
    client.get("/api/v1/search?q=tailor&case=case-one", headers=auth)
    client.get(
        f"/api/v1/items/{uids['case-two']}",
        headers={**auth, "X-Temoin-Reason": "another case entirely"},
    )
    return uids


def test_the_report_lists_who_saw_what_when_and_why(
    runner: CliRunner, looked_at: dict[str, str]
) -> None:
    uid = looked_at["case-one"]
    result = runner.invoke(main, ["access-report", "--case", "case-one", "--since", "2000-01-01"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["index", "at", "who", "action", "what", "reason"]
    created, *body = lines[1:-1]
    assert len(body) == 4 and lines[-1] == "5 entries."
    assert "grant_added: user admin on case case-one" in created
    assert created.endswith("the case was created")
    assert f"original of item {uid}" in body[0] and body[0].endswith("first read for the brief")
    assert "user:admin (token:bootstrap admin)" in body[0]
    assert "exported" in body[2] and body[2].endswith("exhibit for court")
    assert 'restricted search of case-one: "tailor"' in body[3]
    assert body[3].endswith("(none given)")
    assert "another case entirely" not in result.output


def test_json_and_csv_carry_the_log_index_and_the_event_hash(
    runner: CliRunner, looked_at: dict[str, str], client: FlaskClient, auth: dict[str, str]
) -> None:
    args = ["access-report", "--case", "case-one", "--since", "2000-01-01"]
    as_json = runner.invoke(main, [*args, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    entries = json.loads(as_json.output)
    api = client.get("/api/v1/cases/case-one/access", headers=auth).json
    assert [e["log_index"] for e in entries] == [e["log_index"] for e in api]
    assert [e["event_hash"] for e in entries] == [e["event_hash"] for e in api]
    assert entries[0]["details"]["reason"] == "the case was created"
    assert entries[1]["details"]["reason"] == "first read for the brief"
    assert set(entries[0]) >= {"log_index", "at", "actor", "action", "what", "item", "reason"}

    as_csv = runner.invoke(main, [*args, "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert [int(r["log_index"]) for r in rows] == [e["log_index"] for e in entries]
    assert rows[1]["reason"] == "first read for the brief"
    # A reason a spreadsheet would run as a formula is defused.
    assert rows[2]["reason"] == "'=HYPERLINK(cmd) second read"
    assert rows[4]["reason"] == ""


def test_since_and_until_bound_the_report(runner: CliRunner, looked_at: dict[str, str]) -> None:
    base = ["access-report", "--case", "case-one", "--format", "json"]
    everything = json.loads(runner.invoke(main, [*base, "--since", "2000-01-01"]).output)
    third = everything[2]["at"]
    later = json.loads(runner.invoke(main, [*base, "--since", third]).output)
    assert later == everything[2:]
    earlier = json.loads(
        runner.invoke(main, [*base, "--since", "2000-01-01", "--until", third]).output
    )
    assert earlier == everything[:2]
    today = everything[0]["at"][:10]
    whole_day = runner.invoke(main, [*base, "--since", today, "--until", today])
    assert json.loads(whole_day.output) == everything
    none = runner.invoke(
        main,
        ["access-report", "--case", "case-one", "--since", "2000-01-01", "--until", "2000-02-01"],
    )
    assert none.exit_code == 0 and "No recorded access" in none.output


def test_bad_arguments_are_refused_clearly(runner: CliRunner, looked_at: dict[str, str]) -> None:
    missing = runner.invoke(main, ["access-report", "--case", "case-one"])
    assert missing.exit_code == 2 and "--since" in missing.output
    bad_date = runner.invoke(main, ["access-report", "--case", "case-one", "--since", "last week"])
    assert bad_date.exit_code == 2 and "'last week' is not a date" in bad_date.output
    backwards = runner.invoke(
        main,
        ["access-report", "--case", "case-one", "--since", "2024-02-02", "--until", "2024-02-01"],
    )
    assert backwards.exit_code == 2 and "--until must come after --since" in backwards.output
    unknown = runner.invoke(main, ["access-report", "--case", "nope", "--since", "2024-01-01"])
    assert unknown.exit_code == 1 and "no case 'nope'" in unknown.output
    system = runner.invoke(main, ["access-report", "--case", "_archive", "--since", "2024-01-01"])
    assert system.exit_code == 1


def test_users_commands_leave_a_signed_trace_with_their_reason(
    runner: CliRunner, client: FlaskClient, auth: dict[str, str]
) -> None:
    make_case(client, auth)
    added = runner.invoke(main, ["users", "add", "amina", "--role", "legal"])
    assert added.exit_code == 0, added.output
    granted = runner.invoke(
        main, ["users", "grant", "amina", "case-one", "--reason", "joined the legal team"]
    )
    assert granted.exit_code == 0, granted.output
    short = runner.invoke(main, ["users", "grant", "amina", "case-one", "--reason", "x"])
    assert short.exit_code == 1 and "--reason is too short" in short.output

    issued = runner.invoke(
        main, ["users", "issue-token", "amina", "--token-name", "laptop", "--expires-in-days", "30"]
    )
    assert issued.exit_code == 0, issued.output
    match = re.search(r"Token (\d+) for 'amina': (tmn_\S+)", issued.output)
    assert match
    token_id, secret = match.groups()
    listed = runner.invoke(main, ["users", "tokens", "amina"]).output
    assert f"{token_id}\tactive\tlaptop\texpires " in listed and secret not in listed
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/cases/case-one/persons", headers=headers).status_code == 200
    revoked = runner.invoke(main, ["users", "revoke-token", "amina", token_id])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/cases/case-one/persons", headers=headers).status_code == 401
    assert (
        f"{token_id}\trevoked\tlaptop" in runner.invoke(main, ["users", "tokens", "amina"]).output
    )
    wrong = runner.invoke(main, ["users", "revoke-token", "amina", "999"])
    assert wrong.exit_code == 1 and "has no token 999" in wrong.output
    last = runner.invoke(main, ["users", "disable", "admin"])
    assert last.exit_code == 1 and "last active administrator" in last.output

    report = runner.invoke(
        main, ["access-report", "--case", "case-one", "--since", "2000-01-01", "--format", "json"]
    )
    entries = json.loads(report.output)
    assert [(e["action"], e["actor"], e["reason"]) for e in entries] == [
        ("grant_added", "user:admin (token:bootstrap admin)", "the case was created"),
        ("grant_added", "cli", "joined the legal team"),
    ]


def test_password_and_second_factor_resets_leave_a_trace(
    runner: CliRunner, arc, client: FlaskClient, auth: dict[str, str]
) -> None:
    from sqlalchemy import select

    from archive.models import CustodyEvent, Item
    from archive.services.accountability import ACCESS_ADMIN

    assert runner.invoke(main, ["users", "add", "omar", "--role", "investigator"]).exit_code == 0
    reset = runner.invoke(main, ["users", "set-password", "omar", "--one-time"])
    assert reset.exit_code == 0, reset.output
    secret = reset.output.split(": ", 1)[1].splitlines()[0]
    assert runner.invoke(main, ["users", "reset-totp", "omar"]).exit_code == 0
    with arc.db.sessions() as session:
        record = session.scalars(select(Item).where(Item.seed_key == ACCESS_ADMIN)).one()
        rows = session.scalars(
            select(CustodyEvent).where(CustodyEvent.item_id == record.id).order_by(CustodyEvent.seq)
        ).all()
    details = [json.loads(r.canonical)["details"] for r in rows]
    assert [d["change"] for d in details] == [
        "user_added",
        "token_issued",
        "password_set",
        "second_factor_reset",
    ]
    assert details[2] == {
        "change": "password_set",
        "user": "omar",
        "one_time": True,
        "reason": None,
    }
    assert all(secret not in r.canonical.decode() for r in rows)
