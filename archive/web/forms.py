"""The web forms (Flask-WTF): each carries a CSRF token, and reports errors per field."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from archive.services.signin import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

_REQUIRED = lazy_gettext("this field is required")


class SignInForm(FlaskForm):
    name = StringField(lazy_gettext("Name"), validators=[DataRequired(_REQUIRED), Length(max=120)])
    password = PasswordField(
        lazy_gettext("Password"),
        validators=[DataRequired(_REQUIRED), Length(max=MAX_PASSWORD_LENGTH)],
    )
    next = HiddenField()


def _new_password_fields() -> tuple[PasswordField, PasswordField]:
    return (
        PasswordField(
            lazy_gettext("New password"),
            validators=[
                DataRequired(_REQUIRED),
                Length(
                    min=MIN_PASSWORD_LENGTH,
                    max=MAX_PASSWORD_LENGTH,
                    message=lazy_gettext(
                        "use at least %(num)s characters", num=MIN_PASSWORD_LENGTH
                    ),
                ),
            ],
        ),
        PasswordField(
            lazy_gettext("New password again"),
            validators=[
                DataRequired(_REQUIRED),
                EqualTo("password", message=lazy_gettext("the two passwords are not the same")),
            ],
        ),
    )


class NewPasswordForm(FlaskForm):
    password, confirm = _new_password_fields()


class ChangePasswordForm(FlaskForm):
    current = PasswordField(lazy_gettext("Current password"), validators=[DataRequired(_REQUIRED)])
    password, confirm = _new_password_fields()


class CodeForm(FlaskForm):
    code = StringField(
        lazy_gettext("Code"),
        validators=[DataRequired(_REQUIRED), Length(max=40, message=lazy_gettext("too long"))],
    )


class SignOutForm(FlaskForm):
    """Nothing but the CSRF token: signing out is a POST a foreign page cannot forge."""
