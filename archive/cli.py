"""The `temoin` command line."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from archive.config import Settings
from archive.services.runtime import Archive, init_archive


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


def _archive(ctx: click.Context) -> Archive:
    settings = _settings(ctx)
    if not (settings.signing_key_file.exists() and settings.vault_key_file.exists()):
        raise click.ClickException(f"no archive in {settings.data_dir}: run `temoin init` first")
    return Archive(settings)


class _Progress:
    """A progress bar for work that says how much there is only once it starts: called
    with ``(done, total)``, it shows the bar at the first call (if output is a terminal)."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.bar: tqdm[Any] | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = tqdm(total=total, unit="item", desc=self.desc, disable=None)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="TEMOIN_DATA_DIR",
    help="Archive data directory [env TEMOIN_DATA_DIR; default ./data].",
)
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None) -> None:
    """Témoin: an archive for human rights investigations."""
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    settings = Settings.from_env(**overrides)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    ctx.obj = settings


@main.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the data directory, database, keys and indexes (safe to run again)."""
    rebuilding = _Progress("rebuilding search index")
    try:
        report = init_archive(_settings(ctx), progress=rebuilding)
    finally:
        rebuilding.close()
    click.echo(f"Data directory: {report.data_dir}")
    click.echo(f"Database:       {report.database_url}")
    click.echo(
        f"Signing key:    {report.signing_key_id}{' (new)' if report.created_signing_key else ''}"
    )
    click.echo(f"Identity vault: {'created' if report.created_vault else 'present'}")
    if report.rebuilt_indexes:
        click.echo(
            f"Search index:   {' and '.join(report.rebuilt_indexes)} rebuilt "
            "(built by another version of Témoin)"
        )
    if report.admin_token:
        click.echo(f"Admin token:    {report.admin_token}")
        click.echo(f"                (kept in {report.admin_token_file};")
        click.echo("                 delete that file once you have stored the token elsewhere)")
    else:
        click.echo("Admin token:    shown when it was created (its file was removed)")
    if report.admin_password:
        click.echo(f"Web sign-in:    name admin, one-time password {report.admin_password}")
        click.echo("                (you choose your own password and set up a second factor")
        click.echo("                 at the first sign-in, on /login)")
    else:
        click.echo("Web sign-in:    no one-time password to show (already replaced at first")
        click.echo(
            "                sign-in; `temoin users set-password admin --one-time` makes one)"
        )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int) -> None:
    """Serve the archive with gunicorn."""
    from gunicorn.app.base import BaseApplication

    from archive.web import create_app

    settings = _settings(ctx)
    _archive(ctx).close()
    app = create_app(settings)
    archive: Archive = app.extensions["temoin"]

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            self.cfg.set("post_fork", lambda _server, _worker: archive.after_fork())

        def load(self) -> Any:
            return app

    click.echo(f"Témoin is serving {settings.data_dir} on http://{host}:{port}/")
    click.echo(f"  public search:  http://{host}:{port}/search?q=Moura")
    click.echo(f"  API document:   http://{host}:{port}/api/v1/openapi.json")
    click.echo(f"  sign in:        http://{host}:{port}/login")
    Server().run()


@main.command()
@click.option(
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A case file in the seeds format (default: the founding case).",
)
@click.option("--no-publish", is_flag=True, help="Load the items without publishing them.")
@click.pass_context
def seed(ctx: click.Context, path: Path | None, no_publish: bool) -> None:
    """Load the founding case (Moura, Mali, 2022) through the services; idempotent."""
    from seeds.loader import load_seed

    arc = _archive(ctx)
    try:
        report = load_seed(arc, path, publish=not no_publish)
    finally:
        arc.close()
    click.echo(
        f"Case {report.case}: {report.persons_added} protected person(s) added, "
        f"{report.items_added} item(s) added, {report.items_published} published."
    )


@main.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch-size", default=200, show_default=True, type=int)
@click.pass_context
def import_(ctx: click.Context, path: Path, batch_size: int) -> None:
    """Import items from a JSON Lines file (one testimony or excerpt per line).

    Each line: {"case", "kind": "testimony"|"source_excerpt", "text", "title", "language",
    optional "person" (id), "event_date", "collected_at", "collected_by", "place", "tags",
    "citation", "publish"}. The whole file is checked first; nothing is imported if any
    line is wrong.
    """
    from archive.services.importer import import_jsonl, read_records

    arc = _archive(ctx)
    try:
        total = len(read_records(path)[0])
        with tqdm(total=total, unit="item", desc="import", disable=None) as bar:
            report = import_jsonl(arc, path, batch_size=batch_size, progress=bar.update)
    finally:
        arc.close()
    if report.errors:
        for error in report.errors:
            click.echo(error, err=True)
        raise click.ClickException(f"{len(report.errors)} problem(s) found; nothing was imported")
    click.echo(f"Imported {report.imported} item(s), published {report.published}.")


@main.command()
@click.option("--public", "only_public", is_flag=True, help="Rebuild only the public index.")
@click.option(
    "--restricted", "only_restricted", is_flag=True, help="Rebuild only the restricted index."
)
@click.pass_context
def reindex(ctx: click.Context, only_public: bool, only_restricted: bool) -> None:
    """Rebuild the search indexes from the database."""
    from archive.services.indexing import reindex as rebuild

    both = not (only_public or only_restricted)
    arc = _archive(ctx)
    bar = _Progress("reindex")
    try:
        count = rebuild(
            arc, public=both or only_public, restricted=both or only_restricted, progress=bar
        )
    finally:
        bar.close()
        arc.close()
    click.echo(f"Reindexed {count} item(s).")


@main.command()
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes checking the log (default: every core for a large archive, 1 for a small).",
)
@click.pass_context
def audit(ctx: click.Context, workers: int | None) -> None:
    """Recompute every digest, signature and chain link; exit 1 naming what fails."""
    from archive.services.audit import audit as run_audit

    arc = _archive(ctx)
    try:
        report = run_audit(arc, workers=workers)
    finally:
        arc.close()
    click.echo(
        f"Checked {report.blobs} blob(s), {report.items} item(s), {report.events} custody event(s)"
        f" with {report.workers} process(es)."
    )
    if report.ok:
        click.echo("Audit passed: every record matches.")
        return
    for finding in report.findings:
        click.echo(f"FAIL {finding}", err=True)
    click.echo(f"Audit failed: {len(report.findings)} problem(s).", err=True)
    sys.exit(1)


@main.command()
@click.argument("item_id")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write.",
)
@click.option(
    "--actor", default="cli", show_default=True, help="Who exports (recorded in custody)."
)
@click.option(
    "--reason",
    required=True,
    help="Why you export it (10 characters at least; recorded in custody).",
)
@click.option(
    "--since",
    type=int,
    default=None,
    help="Size of an earlier checkpoint the recipient holds: include a consistency proof from it.",
)
@click.pass_context
def export(
    ctx: click.Context, item_id: str, output: Path, actor: str, reason: str, since: int | None
) -> None:
    """Write the item's evidence bundle, which `temoin-verify` checks offline.

    The bundle holds the item's digest, every custody event with its signature, the public
    keys, an inclusion proof of each event and the signed checkpoint they prove against.
    The export is recorded, with its reason, as an `exported` custody event.
    """
    from archive.errors import ArchiveError
    from archive.services.export import export_bundle

    arc = _archive(ctx)
    try:
        bundle = export_bundle(
            arc,
            item_id,
            actor=actor,
            via="file",
            reason=reason,
            since=since,
            reason_field="--reason",
        )
    except ArchiveError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        arc.close()
    output.write_text(bundle.to_json(), encoding="utf-8")
    click.echo(
        f"Wrote {output}: {len(bundle.events)} events, "
        f"proven in a checkpoint of {bundle.checkpoint.splitlines()[1]} leaves."
    )
    click.echo(f"Check it with: temoin-verify {output}")


@main.group("log")
def log_group() -> None:
    """The custody log (checkpoints)."""


@log_group.command("checkpoint")
@click.pass_context
def log_checkpoint(ctx: click.Context) -> None:
    """Sign a checkpoint of the log now (if the last one does not cover it) and print it."""
    from archive.services.log import checkpoint_now

    arc = _archive(ctx)
    try:
        checkpoint = checkpoint_now(arc)
    finally:
        arc.close()
    if checkpoint is None:
        raise click.ClickException("the log is empty")
    click.echo(checkpoint.note, nl=False)


@main.group()
def keys() -> None:
    """The archive's signing keys."""


@keys.command("list")
@click.pass_context
def keys_list(ctx: click.Context) -> None:
    """List every key that has signed for the archive, as C2SP verifier keys."""
    from sqlalchemy import select

    from archive.models import SigningKeyRecord
    from evidence.signing import VerifierKey

    arc = _archive(ctx)
    try:
        with arc.db.sessions() as session:
            for record in session.scalars(
                select(SigningKeyRecord).order_by(SigningKeyRecord.created_at)
            ):
                vkey = VerifierKey(name=record.name, public_key=record.public_key).to_vkey()
                state = "retired" if record.retired_at else "active"
                click.echo(f"{record.key_id}  {state:7}  {vkey}")
    finally:
        arc.close()


@keys.command("rotate")
@click.confirmation_option(
    prompt="Start signing with a new key? The old one is kept under keys/retired/."
)
@click.pass_context
def keys_rotate(ctx: click.Context) -> None:
    """Add a new signing key, endorsed in the log by the outgoing one.

    Old signatures stay valid: the old public key stays published.
    """
    from archive.services.keys import rotate_signing_key

    arc = _archive(ctx)
    try:
        rotation = rotate_signing_key(arc)
    finally:
        arc.close()
    click.echo(f"New signing key {rotation.new_key_id} (replaces {rotation.old_key_id}).")
    click.echo(f"  verifier key: {rotation.new_vkey}")
    click.echo(f"  old private key kept at {rotation.retired_file}")


@keys.command("rotate-vault")
@click.option("--batch-size", default=200, show_default=True, type=int)
@click.pass_context
def keys_rotate_vault(ctx: click.Context, batch_size: int) -> None:
    """Re-encrypt every protected identity under a new vault key (resumable).

    If an earlier run stopped part-way, this run finishes it. Afterwards retire the old
    key with `temoin keys retire-vault KEY_ID`.
    """
    from sqlalchemy import func, select

    from archive.models import Item, ProtectedPerson
    from archive.services.keys import rotate_vault

    arc = _archive(ctx)
    try:
        with arc.db.sessions() as session:
            total = (session.scalar(select(func.count()).select_from(ProtectedPerson)) or 0) + (
                session.scalar(
                    select(func.count()).select_from(Item).where(Item.secret_key_id.is_not(None))
                )
                or 0
            )
        with tqdm(total=total, unit="record", desc="re-encrypt", disable=None) as bar:
            result = rotate_vault(arc, batch_size=batch_size, progress=bar.update)
    finally:
        arc.close()
    verb = "Finished the rotation to" if result.resumed else "Rotated to"
    click.echo(
        f"{verb} vault key {result.key_id}: "
        f"{result.persons} identities, {result.items} item secrets re-encrypted."
    )


@keys.command("retire-vault")
@click.argument("key_id")
@click.pass_context
def keys_retire_vault(ctx: click.Context, key_id: str) -> None:
    """Remove an old vault key from the key file once nothing is sealed under it."""
    from archive.errors import ArchiveError
    from archive.services.keys import retire_vault_key

    arc = _archive(ctx)
    try:
        retire_vault_key(arc, key_id)
    except ArchiveError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        arc.close()
    click.echo(f"Vault key {key_id} retired.")


@keys.command("public-pem")
@click.pass_context
def keys_public_pem(ctx: click.Context) -> None:
    """Print the current signing key's public key as PEM (for openssl)."""
    arc = _archive(ctx)
    try:
        click.echo(arc.signing_key.verifier().to_pem().decode("ascii"), nl=False)
    finally:
        arc.close()


if __name__ == "__main__":  # pragma: no cover
    main()


# ---- users and grants -------------------------------------------------------------------


@main.group()
def users() -> None:
    """Users, their roles and their grants on cases."""


def _user_errors(action: Any) -> Any:
    from archive.errors import ArchiveError

    try:
        return action()
    except ArchiveError as exc:
        raise click.ClickException(exc.message) from exc


REASON_OPTION = click.option(
    "--reason", default=None, help="Why (recorded with the change in the custody log)."
)


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["admin", "investigator", "legal"]))
@click.option("--password", is_flag=True, help="Prompt for a web login password.")
@click.option("--token/--no-token", default=True, show_default=True, help="Print an API token.")
@REASON_OPTION
@click.pass_context
def users_add(
    ctx: click.Context, name: str, role: str, password: bool, token: bool, reason: str | None
) -> None:
    """Add a user; prints a bearer token for them once (it is stored hashed)."""
    from archive.services import administration as admin

    secret = (
        click.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    )
    arc = _archive(ctx)
    try:
        with arc.unit_of_work() as session:
            user = _user_errors(
                lambda: admin.add_user(
                    arc,
                    session,
                    name=name,
                    role=role,
                    password=secret,
                    actor=CLI_ACTOR,
                    reason=_reason(reason),
                )
            )
            issued = (
                admin.issue_token(
                    arc, session, user, name="cli", expires_at=None, actor=CLI_ACTOR, reason=None
                )[1]
                if token
                else None
            )
    finally:
        arc.close()
    click.echo(f"Added {role} {name!r}.")
    if issued:
        click.echo(f"API token: {issued}  (shown once)")


@users.command("grant")
@click.argument("name")
@click.argument("case")
@REASON_OPTION
@click.pass_context
def users_grant(ctx: click.Context, name: str, case: str, reason: str | None) -> None:
    """Grant a user access to a case."""
    from archive.services import administration as admin

    arc = _archive(ctx)
    try:
        with arc.unit_of_work() as session:
            user = _user_errors(lambda: admin.get_user(session, name))
            found = _user_errors(lambda: admin.find_case(session, case))
            _user_errors(
                lambda: admin.grant_case(
                    arc, session, user, found, actor=CLI_ACTOR, reason=_reason(reason)
                )
            )
    finally:
        arc.close()
    click.echo(f"Granted {name!r} on {case!r}.")


@users.command("revoke")
@click.argument("name")
@click.argument("case")
@REASON_OPTION
@click.pass_context
def users_revoke(ctx: click.Context, name: str, case: str, reason: str | None) -> None:
    """Take a user's grant on a case away."""
    from archive.services import administration as admin

    arc = _archive(ctx)
    try:
        with arc.unit_of_work() as session:
            user = _user_errors(lambda: admin.get_user(session, name))
            found = _user_errors(lambda: admin.find_case(session, case))
            admin.revoke_case(arc, session, user, found, actor=CLI_ACTOR, reason=_reason(reason))
    finally:
        arc.close()
    click.echo(f"Revoked {name!r} on {case!r}.")


@users.command("disable")
@click.argument("name")
@REASON_OPTION
@click.pass_context
def users_disable(ctx: click.Context, name: str, reason: str | None) -> None:
    """Disable a user and revoke all their tokens."""
    from archive.services import administration as admin

    arc = _archive(ctx)
    try:
        with arc.unit_of_work() as session:
            user = _user_errors(lambda: admin.get_user(session, name))
            _user_errors(
                lambda: admin.disable_user(
                    arc, session, user, actor=CLI_ACTOR, reason=_reason(reason)
                )
            )
    finally:
        arc.close()
    click.echo(f"Disabled {name!r}; their tokens are revoked.")


@users.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """List users, roles, state and granted cases."""
    from archive.services import administration as admin

    arc = _archive(ctx)
    try:
        with arc.db.sessions() as session:
            for user in admin.list_users(session):
                state = "disabled" if user.disabled_at else "active"
                granted = ",".join(admin.user_cases(session, user)) or "-"
                click.echo(f"{user.name}\t{user.role}\t{state}\t{granted}")
    finally:
        arc.close()


@users.command("set-password")
@click.argument("name")
@click.option(
    "--one-time",
    is_flag=True,
    help="Generate and print a password the user must replace when they next sign in.",
)
@click.pass_context
def users_set_password(ctx: click.Context, name: str, one_time: bool) -> None:
    """Set a user's web password (prompted), or a one-time one; ends their web sessions."""
    from archive.services import signin
    from archive.services import users as user_service
    from archive.services.administration import record_change

    secret = (
        signin.one_time_password()
        if one_time
        else click.prompt("New password", hide_input=True, confirmation_prompt=True)
    )
    arc = _archive(ctx)
    try:
        with arc.unit_of_work() as session:
            user = _user_errors(lambda: user_service.get_user(session, name))
            _user_errors(lambda: signin.set_password(session, user, secret, one_time=one_time))
            record_change(
                arc,
                session,
                "password_set",
                actor=CLI_ACTOR,
                reason=None,
                user=user.name,
                one_time=one_time,
            )
    finally:
        arc.close()
    if one_time:
        click.echo(f"One-time password for {name!r}: {secret}")
        click.echo("(they choose their own at their next sign-in; their web sessions are ended)")
    else:
        click.echo(f"Password of {name!r} changed; their web sessions are ended.")


@users.command("reset-totp")
@click.argument("name")
@click.pass_context
def users_reset_totp(ctx: click.Context, name: str) -> None:
    """Remove a user's second factor (a lost phone); an admin must enrol again at sign-in."""
    from archive.services import signin
    from archive.services import users as user_service
    from archive.services.administration import record_change

    arc = _archive(ctx)
    try:
        with arc.unit_of_work() as session:
            user = _user_errors(lambda: user_service.get_user(session, name))
            signin.reset_totp(session, user)
            record_change(
                arc, session, "second_factor_reset", actor=CLI_ACTOR, reason=None, user=user.name
            )
            role = user.role
    finally:
        arc.close()
    then = "must set up a new one" if role == "admin" else "may set up a new one"
    click.echo(
        f"Second factor of {name!r} removed, with its recovery codes; their web sessions are "
        f"ended. They {then} at their next sign-in."
    )


@users.command("tokens")
@click.argument("name")
@click.pass_context
def users_tokens(ctx: click.Context, name: str) -> None:
    """List a user's tokens: id, state, name and expiry (never the secret)."""
    from archive.services import administration as admin

    arc = _archive(ctx)
    try:
        with arc.db.sessions() as session:
            user = _user_errors(lambda: admin.get_user(session, name))
            for t in admin.tokens_of(session, user):
                expires = t.expires_at.date().isoformat() if t.expires_at else "never"
                click.echo(f"{t.id}\t{admin.token_state(t)}\t{t.name}\texpires {expires}")
    finally:
        arc.close()


@users.command("issue-token")
@click.argument("name")
@click.option("--token-name", required=True, help="What the token is for.")
@click.option(
    "--expires-in-days",
    type=click.IntRange(1, 1825),
    default=90,
    show_default=True,
    help="Days until it stops working.",
)
@REASON_OPTION
@click.pass_context
def users_issue_token(
    ctx: click.Context, name: str, token_name: str, expires_in_days: int, reason: str | None
) -> None:
    """Issue a named, expiring token for a user; prints the secret once."""
    from archive.services import administration as admin

    arc = _archive(ctx)
    try:
        with arc.unit_of_work() as session:
            user = _user_errors(lambda: admin.get_user(session, name))
            token, secret = _user_errors(
                lambda: admin.issue_token(
                    arc,
                    session,
                    user,
                    name=token_name,
                    expires_at=admin.expiry(days=expires_in_days),
                    actor=CLI_ACTOR,
                    reason=_reason(reason),
                )
            )
            token_id = token.id
    finally:
        arc.close()
    click.echo(f"Token {token_id} for {name!r}: {secret}  (shown once)")


@users.command("revoke-token")
@click.argument("name")
@click.argument("token_id", type=int)
@REASON_OPTION
@click.pass_context
def users_revoke_token(ctx: click.Context, name: str, token_id: int, reason: str | None) -> None:
    """Revoke one of a user's tokens; it stops working at once."""
    from archive.services import administration as admin

    arc = _archive(ctx)
    try:
        with arc.unit_of_work() as session:
            user = _user_errors(lambda: admin.get_user(session, name))
            _user_errors(
                lambda: admin.revoke_token(
                    arc, session, user, token_id, actor=CLI_ACTOR, reason=_reason(reason)
                )
            )
    finally:
        arc.close()
    click.echo(f"Revoked token {token_id} of {name!r}.")


CLI_ACTOR = "cli"


def _reason(reason: str | None) -> str | None:
    from archive.services.accountability import optional_reason

    checked: str | None = _user_errors(lambda: optional_reason(reason, field="--reason"))
    return checked


# ---- the access report --------------------------------------------------------------------


class _Moment(click.ParamType):  # type: ignore[type-arg]
    name = "DATE"

    def __init__(self, *, end_of_day: bool = False) -> None:
        self.end_of_day = end_of_day

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from archive.services.accountability import parse_moment

        if not isinstance(value, str):
            return value
        try:
            return parse_moment(value, end_of_day=self.end_of_day)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


REPORT_COLUMNS = ("log_index", "at", "actor", "action", "what", "item", "reason")
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


@main.command("access-report")
@click.option("--case", "slug", required=True, help="The case (its slug).")
@click.option(
    "--since", required=True, type=_Moment(), help="From this date (YYYY-MM-DD) or time on."
)
@click.option(
    "--until",
    type=_Moment(end_of_day=True),
    default=None,
    help="Up to the end of this date, or up to this time.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@click.pass_context
def access_report(ctx: click.Context, slug: str, since: Any, until: Any, fmt: str) -> None:
    """Who read, exported, searched or revealed what in a case, when and why.

    Lists every recorded look at the case's protected material (reads of originals,
    evidence-bundle exports, restricted searches with their query, identity reveals) and
    every grant on the case given or taken away, in log order, with the log index of each
    signed event. Nothing can erase these entries. The report itself may hold protected
    names (in reasons and queries): keep it as restricted as the case.
    """
    import csv
    import io
    import json

    from archive.errors import ArchiveError
    from archive.services import accountability
    from archive.services import cases as case_service

    if until is not None and until <= since:
        raise click.BadParameter("--until must come after --since", param_hint="--until")
    arc = _archive(ctx)
    try:
        with arc.db.sessions() as session:
            try:
                case = case_service.get_case(session, slug)
            except ArchiveError as exc:
                raise click.ClickException(exc.message) from None
            entries = accountability.case_access(session, case, since=since, until=until)
    finally:
        arc.close()
    if fmt == "json":
        rows = [
            {
                "log_index": e.log_index,
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "what": e.what,
                "case": e.case,
                "item": e.item,
                "reason": e.reason,
                "details": e.details,
                "event_hash": e.event_hash,
                "key_id": e.key_id,
            }
            for e in entries
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*REPORT_COLUMNS, "event_hash"])
        for e in entries:
            writer.writerow(
                [_csv_cell(getattr(e, c)) for c in REPORT_COLUMNS] + [_csv_cell(e.event_hash)]
            )
        click.echo(out.getvalue(), nl=False)
        return
    if not entries:
        click.echo(f"No recorded access to case {slug!r} in that period.")
        return
    header = ("index", "at", "who", "action", "what", "reason")
    rows_text = [
        (str(e.log_index), e.at, e.actor, e.action, e.what, e.reason or "(none given)")
        for e in entries
    ]
    widths = [max(len(r[i]) for r in [header, *rows_text]) for i in range(len(header) - 1)]
    for row in [header, *rows_text]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]))
    click.echo(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}.")
