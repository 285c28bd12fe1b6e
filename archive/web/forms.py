"""The web forms (Flask-WTF): each carries a CSRF token, and reports errors per field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from archive.services.signin import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

_REQUIRED = "this field is required"


class SignInForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(_REQUIRED), Length(max=120)])
    password = PasswordField(
        "Password", validators=[DataRequired(_REQUIRED), Length(max=MAX_PASSWORD_LENGTH)]
    )
    next = HiddenField()


def _new_password_fields() -> tuple[PasswordField, PasswordField]:
    return (
        PasswordField(
            "New password",
            validators=[
                DataRequired(_REQUIRED),
                Length(
                    min=MIN_PASSWORD_LENGTH,
                    max=MAX_PASSWORD_LENGTH,
                    message=f"use at least {MIN_PASSWORD_LENGTH} characters",
                ),
            ],
        ),
        PasswordField(
            "New password again",
            validators=[
                DataRequired(_REQUIRED),
                EqualTo("password", message="the two passwords are not the same"),
            ],
        ),
    )


class NewPasswordForm(FlaskForm):
    password, confirm = _new_password_fields()


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(_REQUIRED)])
    password, confirm = _new_password_fields()


class CodeForm(FlaskForm):
    code = StringField(
        "Code", validators=[DataRequired(_REQUIRED), Length(max=40, message="too long")]
    )


class SignOutForm(FlaskForm):
    """Nothing but the CSRF token: signing out is a POST a foreign page cannot forge."""
