"""User administration for admins: users, grants and tokens (`/api/v1/users`).

The same use cases as `temoin users`; every change of access is a signed custody event in
the archive's record of access administration, with the reason given in `X-Temoin-Reason`
if any. Nothing here deletes a record: revoking marks, disabling marks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from archive.models import ApiToken, User
from archive.schemas import (
    IssuedTokenSchema,
    TokenCreateSchema,
    TokenSchema,
    UserCreateSchema,
    UserSchema,
)
from archive.services import administration as admin
from archive.web.auth import actor_name, require_token
from archive.web.context import archive, read_session, writing
from archive.web.reasons import given_reason, reason_parameter

BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
RECORDED = [reason_parameter(required=False, when="optional; recorded with the change")]

users_blp = Blueprint(
    "users",
    __name__,
    url_prefix="/api/v1/users",
    description="Users, their grants on cases and their API tokens (administrators)",
)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite gives back naive UTC
        return value.replace(tzinfo=dt.UTC)
    return value


def _user_view(session: Session, user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role,
        "state": "disabled" if user.disabled_at else "active",
        "cases": admin.user_cases(session, user),
        "created_at": _aware(user.created_at),
        "disabled_at": _aware(user.disabled_at),
    }


def _token_view(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "state": admin.token_state(token),
        "created_at": _aware(token.created_at),
        "expires_at": _aware(token.expires_at),
        "revoked_at": _aware(token.revoked_at),
    }


def _actor() -> str:
    return actor_name(require_token())


@users_blp.route("", parameters=RECORDED)
class Users(MethodView):
    @users_blp.response(200, UserSchema(many=True))
    @users_blp.doc(security=BEARER)
    def get(self) -> Any:
        """Every user: role, state and granted cases."""
        session = read_session()
        return [_user_view(session, u) for u in admin.list_users(session)]

    @users_blp.arguments(UserCreateSchema)
    @users_blp.response(201, UserSchema)
    @users_blp.doc(security=BEARER)
    def post(self, data: dict[str, Any]) -> Any:
        """Add a user (no grant, no token yet: give them with the routes below)."""
        actor, reason = _actor(), given_reason()
        with writing() as session:
            user = admin.add_user(
                archive(), session, name=data["name"], role=data["role"], actor=actor, reason=reason
            )
            return _user_view(session, user)


@users_blp.route("/<name>")
class UserDetail(MethodView):
    @users_blp.response(200, UserSchema)
    @users_blp.doc(security=BEARER)
    def get(self, name: str) -> Any:
        """One user."""
        session = read_session()
        return _user_view(session, admin.get_user(session, name))


@users_blp.route("/<name>/disable", parameters=RECORDED)
class UserDisable(MethodView):
    @users_blp.response(200, UserSchema)
    @users_blp.alt_response(409, description="The last active administrator")
    @users_blp.doc(security=BEARER)
    def post(self, name: str) -> Any:
        """Disable a user: every token of theirs stops working at once. Their grants and
        their record stay."""
        actor, reason = _actor(), given_reason()
        with writing() as session:
            user = admin.get_user(session, name)
            admin.disable_user(archive(), session, user, actor=actor, reason=reason)
            return _user_view(session, user)


@users_blp.route("/<name>/grants/<slug>", parameters=RECORDED)
class UserGrant(MethodView):
    @users_blp.response(200, UserSchema)
    @users_blp.doc(security=BEARER)
    def put(self, name: str, slug: str) -> Any:
        """Grant the user a case (again is harmless)."""
        actor, reason = _actor(), given_reason()
        with writing() as session:
            user = admin.get_user(session, name)
            case = admin.find_case(session, slug)
            admin.grant_case(archive(), session, user, case, actor=actor, reason=reason)
            return _user_view(session, user)

    @users_blp.response(200, UserSchema)
    @users_blp.doc(security=BEARER)
    def delete(self, name: str, slug: str) -> Any:
        """Take the user's grant on a case away (the record of it stays)."""
        actor, reason = _actor(), given_reason()
        with writing() as session:
            user = admin.get_user(session, name)
            case = admin.find_case(session, slug)
            admin.revoke_case(archive(), session, user, case, actor=actor, reason=reason)
            return _user_view(session, user)


@users_blp.route("/<name>/tokens", parameters=RECORDED)
class UserTokens(MethodView):
    @users_blp.response(200, TokenSchema(many=True))
    @users_blp.doc(security=BEARER)
    def get(self, name: str) -> Any:
        """The user's tokens: name, state and dates, never the secret."""
        session = read_session()
        return [_token_view(t) for t in admin.tokens_of(session, admin.get_user(session, name))]

    @users_blp.arguments(TokenCreateSchema)
    @users_blp.response(201, IssuedTokenSchema)
    @users_blp.doc(security=BEARER)
    def post(self, data: dict[str, Any], name: str) -> Any:
        """Issue a named token that expires (in 90 days unless said otherwise). The secret is
        in this response only; the archive keeps its SHA-256."""
        actor, reason = _actor(), given_reason()
        expires_at = admin.expiry(expires_at=data["expires_at"], days=data["expires_in_days"])
        with writing() as session:
            user = admin.get_user(session, name)
            token, secret = admin.issue_token(
                archive(),
                session,
                user,
                name=data["name"],
                expires_at=expires_at,
                actor=actor,
                reason=reason,
            )
            return {**_token_view(token), "token": secret}


@users_blp.route("/<name>/tokens/<int:token_id>", parameters=RECORDED)
class UserToken(MethodView):
    @users_blp.response(200, TokenSchema)
    @users_blp.doc(security=BEARER)
    def delete(self, name: str, token_id: int) -> Any:
        """Revoke a token: it stops working at once. It stays listed, as revoked."""
        actor, reason = _actor(), given_reason()
        with writing() as session:
            user = admin.get_user(session, name)
            token = admin.revoke_token(
                archive(), session, user, token_id, actor=actor, reason=reason
            )
            return _token_view(token)
