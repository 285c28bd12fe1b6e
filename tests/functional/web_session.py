"""Helpers for tests of signed-in browsers."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from archive.models import utcnow
from archive.services import cases, signin, users
from archive.services.runtime import Archive
from archive.web.auth import SESSION_KEY

PASSWORD = "correct horse battery"


def signed_in_client(
    app: Flask, arc: Archive, role: str, *, granted: tuple[str, ...] = (), name: str = ""
) -> FlaskClient:
    """A client whose cookie holds a fully signed-in web session of a new user of `role`
    (made through the services: the HTTP sign-in is tested on its own)."""
    with arc.db.transaction() as session:
        user = users.add_user(session, name=name or f"web {role}", role=role, password=PASSWORD)
        for slug in granted:
            users.grant(session, user, cases.get_case(session, slug))
        secret = signin.open_web_session(session, user, signin.SignInPolicy())
        if role == "admin":  # administrators need a second factor before anything else
            user.totp_secret = signin.seal_totp_secret(arc.settings, user, signin.new_totp_secret())
            user.totp_enabled_at = utcnow()  # as enrolment sets it (the account page shows it)
            found = signin.find_web_session(session, secret, signin.SignInPolicy())
            assert found is not None
            signin.second_factor_proven(session, found)
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie[SESSION_KEY] = secret
    return client


def csrf_token(page: TestResponse) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text) or re.search(
        r'type="hidden" name="csrf_token" value="([^"]+)"', page.text
    )
    assert found, "no CSRF token on the page"
    return found.group(1)
