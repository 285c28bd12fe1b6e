"""Web sign-in: the sign-in form, its steps (new password, second factor), sign-out, and
a signed-in user's own pages (the desk, the account).

Signing in goes: name and password -> (a one-time password is replaced) -> (a TOTP code,
or an administrator enrols a second factor) -> the desk. Until every step is done the
session is not the user's: `archive.web.auth` treats it as anonymous.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

import segno
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask import session as cookie
from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload
from werkzeug.wrappers import Response

from archive.errors import ArchiveError, Forbidden, InvalidInput
from archive.models import Case, CaseGrant, Item, User, WebSession, utcnow
from archive.services import signin as service
from archive.services.administration import record_change
from archive.services.users import check_password
from archive.web.auth import SESSION_KEY, current_principal, current_web_session
from archive.web.context import archive, read_session
from archive.web.forms import ChangePasswordForm, CodeForm, NewPasswordForm, SignInForm, SignOutForm
from archive.web.messages import signin_message
from archive.web.throttle import per_account, per_address

signin = Blueprint("signin", __name__, template_folder="templates")

STEP_ENDPOINTS = {
    "password": "signin.new_password",
    "totp": "signin.second_factor",
    "enrol": "signin.enrol",
}
NEXT_KEY = "next"
ENROL_KEY = "enrol_secret"


def _policy() -> service.SignInPolicy:
    return service.SignInPolicy.from_settings(archive().settings)


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another origin (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def _onward(web_session: WebSession) -> Response:
    """To the session's next step, or (all done) where the user was going."""
    step = service.pending_step(web_session.user, web_session)
    if step is not None:
        return redirect(url_for(STEP_ENDPOINTS[step]), 303)
    return redirect(safe_next(cookie.pop(NEXT_KEY, None)) or url_for("signin.desk"), 303)


def _start_cookie(secret: str, *, keep: tuple[str, ...] = ()) -> None:
    """A fresh cookie session (new CSRF token too) holding the web session's secret."""
    kept = {k: cookie[k] for k in keep if k in cookie}
    cookie.clear()
    cookie.update(kept)
    cookie[SESSION_KEY] = secret


def _refusal(template: str, status: int, error: ArchiveError, **context: Any) -> Any:
    response = render_template(template, error=signin_message(error.message), **context), status
    retry = getattr(error, "retry_after", None)
    if retry:
        return response[0], status, {"Retry-After": str(retry)}
    return response


def _step_session(step: str) -> WebSession:
    """The half-signed-in session that is at `step`; otherwise back to the start."""
    web_session = current_web_session()
    if web_session is None or service.pending_step(web_session.user, web_session) != step:
        abort(redirect(url_for("signin.login"), 303))
    return web_session


def _client() -> dict[str, str]:
    return {
        "remote_addr": request.remote_addr or "",
        "user_agent": request.user_agent.string or "",
    }


# ---- signing in ---------------------------------------------------------------------------


@signin.route("/login", methods=["GET", "POST"])
@per_address
@per_account
def login() -> Any:
    form = SignInForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
        web_session = current_web_session()
        if web_session is not None:
            if form.next.data:
                cookie[NEXT_KEY] = form.next.data
            return _onward(web_session)
        return render_template("login.html", form=form, error=None)
    if not form.validate():
        return render_template("login.html", form=form, error=None), 422
    name, password = form.name.data or "", form.password.data or ""
    refusal: ArchiveError | None = None
    with archive().db.transaction() as session:
        try:
            user = service.authenticate(session, name, password, _policy())
        except (service.SignInRefused, service.AccountLocked, Forbidden) as exc:
            refusal = exc  # the failure is recorded: this transaction still commits
        else:
            old = cookie.get(SESSION_KEY)
            if isinstance(old, str):
                service.end_web_session(session, old)
            secret, live = _open(session, user)
    if refusal is not None:
        form.password.data = ""
        return _refusal("login.html", refusal.status, refusal, form=form)
    _start_cookie(secret)
    target = safe_next(form.next.data)
    if target:
        cookie[NEXT_KEY] = target
    return _onward(live)


def _open(session: Session, user: User) -> tuple[str, WebSession]:
    """A new web session: its secret, and its row (loaded with its user, to read after the
    transaction has committed)."""
    secret = service.open_web_session(session, user, _policy(), **_client())
    found = service.find_web_session(session, secret, _policy())
    assert found is not None
    return secret, found


def _record_own_change(session: Session, user: User, change: str, **details: Any) -> None:
    """A user's own change of how they sign in is a change of access: a signed event in the
    archive's access-administration record, like the same change made at the console."""
    record_change(
        archive(),
        session,
        change,
        actor=f"user:{user.name} (web)",
        reason=None,
        user=user.name,
        **details,
    )


@signin.route("/login/password", methods=["GET", "POST"])
def new_password() -> Any:
    web_session = _step_session("password")
    form = NewPasswordForm()
    if request.method == "GET" or not form.validate():
        status = 422 if request.method == "POST" else 200
        return render_template("new_password.html", form=form), status
    with archive().unit_of_work() as session:
        user = session.get_one(User, web_session.user_id)
        try:
            service.check_new_password(user, form.password.data or "")
        except InvalidInput as exc:
            form.password.errors = [signin_message(m) for m in exc.errors["password"]]
            return render_template("new_password.html", form=form), 422
        service.set_password(session, user, form.password.data or "")  # ends every session
        _record_own_change(session, user, "password_set", replaced_one_time=True)
        secret, live = _open(session, user)
    _start_cookie(secret, keep=(NEXT_KEY,))
    return _onward(live)


@signin.route("/login/code", methods=["GET", "POST"])
@per_address
@per_account
def second_factor() -> Any:
    web_session = _step_session("totp")
    form = CodeForm()
    if request.method == "GET":
        return render_template("second_factor.html", form=form, error=None)
    if not form.validate():
        return render_template("second_factor.html", form=form, error=None), 422
    refusal: ArchiveError | None = None
    with archive().db.transaction() as session:
        user = session.get_one(User, web_session.user_id)
        live = session.get_one(WebSession, web_session.id, options=[joinedload(WebSession.user)])
        try:
            until = service.locked_until(session, user.name)
            if until is not None:
                raise service.AccountLocked(until)
            if not service.check_second_factor(session, archive().settings, user, form.code.data):
                service.refused(session, user.name, _policy(), utcnow())
        except (service.SignInRefused, service.AccountLocked) as exc:
            refusal = exc
        else:
            service.clear_failures(session, user.name)
            service.second_factor_proven(session, live)
            secret = service.rotate_web_session(session, live)
    if refusal is not None:
        form.code.data = ""
        return _refusal("second_factor.html", refusal.status, refusal, form=form)
    _start_cookie(secret, keep=(NEXT_KEY,))
    return _onward(live)


@signin.route("/login/second-factor/setup", methods=["GET", "POST"])
@per_address
@per_account
def enrol() -> Any:
    """Set up a TOTP second factor: required of administrators at sign-in, offered to others
    from their account page."""
    web_session = current_web_session()
    if web_session is None:
        return redirect(url_for("signin.login"), 303)
    step = service.pending_step(web_session.user, web_session)
    if step not in ("enrol", None) or web_session.user.totp_secret is not None:
        return _onward(web_session)
    form = CodeForm()
    secret = cookie.get(ENROL_KEY)
    if request.method == "GET" or not isinstance(secret, str):
        secret = service.new_totp_secret()
        cookie[ENROL_KEY] = secret  # until a first code proves the app holds it
    if request.method == "POST" and form.validate():
        try:
            with archive().unit_of_work() as session:
                user = session.get_one(User, web_session.user_id)
                codes = service.enable_totp(
                    session, archive().settings, user, secret, form.code.data or ""
                )
                _record_own_change(session, user, "second_factor_enrolled")
                live = session.get_one(WebSession, web_session.id)
                service.second_factor_proven(session, live)
                new_secret = service.rotate_web_session(session, live)
        except InvalidInput as exc:
            form.code.errors = [signin_message(exc.message)]
        else:
            _start_cookie(new_secret, keep=(NEXT_KEY,))
            onward = safe_next(cookie.pop(NEXT_KEY, None)) or url_for("signin.desk")
            return render_template("recovery_codes.html", codes=codes, onward=onward)
    uri = service.provisioning_uri(secret, web_session.user)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "enrol.html",
        form=form,
        secret=secret,
        grouped=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        uri=uri,
        qr=segno.make(uri, error="m").svg_data_uri(scale=5, border=2),
        required=step == "enrol",
    ), status


@signin.post("/logout")
def logout() -> Response:
    SignOutForm()  # CSRFProtect has checked the token before the view
    secret = cookie.get(SESSION_KEY)
    if isinstance(secret, str):
        with archive().db.transaction() as session:
            service.end_web_session(session, secret)
    cookie.clear()
    return redirect(url_for("signin.login", signed_out=1), 303)


# ---- a signed-in user's own pages ----------------------------------------------------------


@signin.get("/desk")
def desk() -> str:
    principal = current_principal()
    assert principal is not None  # the route rule admits signed-in callers only
    session = read_session()
    cases: list[Any] = []
    if principal.user_id is not None:
        items = (
            select(Item.case_id, func.count().label("n"))
            .where(Item.kind != "log_record")
            .group_by(Item.case_id)
            .subquery()
        )
        rows = session.execute(
            select(Case, func.coalesce(items.c.n, 0))
            .join(CaseGrant, CaseGrant.case_id == Case.id)
            .outerjoin(items, items.c.case_id == Case.id)
            .where(CaseGrant.user_id == principal.user_id)
            .order_by(Case.title)
        ).all()
        cases = list(rows)
    return render_template("desk.html", principal=principal, cases=cases)


@signin.route("/account", methods=["GET", "POST"])
def account() -> Any:
    principal = current_principal()
    assert principal is not None
    web_session = principal.web_session
    form = ChangePasswordForm()
    status, done = 200, False
    if request.method == "POST":
        if web_session is None:
            raise Forbidden("sign in on the web to change your password")
        status = 422
        if form.validate():
            with archive().unit_of_work() as session:
                user = session.get_one(User, web_session.user_id)
                if not check_password(form.current.data or "", user.password_hash):
                    service.record_failure(session, user.name, _policy())
                    form.current.errors = [gettext("this is not your current password")]
                else:
                    try:
                        service.check_new_password(user, form.password.data or "")
                    except InvalidInput as exc:
                        form.password.errors = [signin_message(m) for m in exc.errors["password"]]
                    else:
                        proven = web_session.second_factor_at
                        service.set_password(session, user, form.password.data or "")
                        _record_own_change(session, user, "password_set", replaced_one_time=False)
                        secret, live = _open(session, user)
                        if proven is not None:
                            service.second_factor_proven(session, live)
                        done = True
            if done:
                _start_cookie(secret)
                return redirect(url_for("signin.account", changed=1), 303)
    owner = principal.user
    return render_template(
        "account.html",
        principal=principal,
        form=form,
        changed=request.args.get("changed") == "1",
        recovery_left=(
            service.recovery_codes_left(read_session(), owner)
            if owner is not None and owner.totp_secret is not None
            else None
        ),
        now=dt.datetime.now(dt.UTC),
    ), status
