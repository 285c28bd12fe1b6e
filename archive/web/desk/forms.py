"""The desk's forms (Flask-WTF): they render the fields, carry the CSRF token and give a
failed submission back filled. Checking is not theirs: the API's marshmallow schemas and
the services check what is sent (`archive.web.desk`), so a page and the API refuse the
same things with the same rules.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import Field, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from archive.models import PERSON_ROLES

ROLE_LABELS = {
    "witness": lazy_gettext("Witness"),
    "victim": lazy_gettext("Victim"),
    "source": lazy_gettext("Source"),
}


def _date(label: Any) -> StringField:
    return StringField(label, render_kw={"type": "date"})


class _ItemFields(FlaskForm):
    """What every item records besides its content."""

    language = StringField(
        lazy_gettext("Language"), render_kw={"list": "languages", "autocomplete": "off", "size": 8}
    )
    event_date = _date(lazy_gettext("Date of events"))
    collected_at = StringField(
        lazy_gettext("Collected (date and time, UTC)"), render_kw={"type": "datetime-local"}
    )
    collected_by = StringField(lazy_gettext("Collected by"))
    place = StringField(lazy_gettext("Place (coarse, public)"))
    tags = StringField(lazy_gettext("Tags"))


class TestimonyForm(_ItemFields):
    person = SelectField(lazy_gettext("Witness"), choices=[], validate_choice=False)
    title = StringField(lazy_gettext("Title"))
    text = TextAreaField(lazy_gettext("Testimony"), render_kw={"rows": 18, "spellcheck": "true"})


class ExcerptForm(_ItemFields):
    title = StringField(lazy_gettext("Title"))
    text = TextAreaField(lazy_gettext("Quoted passage"), render_kw={"rows": 12})
    citation_publication = StringField(lazy_gettext("Publication"))
    citation_author = StringField(lazy_gettext("Author"))
    citation_title = StringField(lazy_gettext("Title of the article or document"))
    citation_published = _date(lazy_gettext("Date of publication"))
    citation_url = StringField(
        lazy_gettext("Web address"), render_kw={"type": "url", "inputmode": "url"}
    )


class ExhibitForm(_ItemFields):
    file = FileField(lazy_gettext("File"))
    title = StringField(lazy_gettext("Title"))
    description = TextAreaField(lazy_gettext("Description"), render_kw={"rows": 5})


class PersonForm(FlaskForm):
    role = SelectField(
        lazy_gettext("Role"),
        choices=[SelectChoice(r, ROLE_LABELS[r]) for r in PERSON_ROLES],
        default="witness",
    )
    names = TextAreaField(lazy_gettext("Names"), render_kw={"rows": 3, "autocomplete": "off"})
    aliases = TextAreaField(lazy_gettext("Aliases"), render_kw={"rows": 3, "autocomplete": "off"})
    contact = StringField(lazy_gettext("Contact"), render_kw={"autocomplete": "off"})
    location = StringField(lazy_gettext("Exact location"), render_kw={"autocomplete": "off"})
    notes = TextAreaField(lazy_gettext("Notes"), render_kw={"rows": 4})


class AliasesForm(FlaskForm):
    aliases = TextAreaField(
        lazy_gettext("New aliases"), render_kw={"rows": 4, "autocomplete": "off"}
    )


class ReasonForm(FlaskForm):
    """Why the user needs to see protected material: signed into the custody log."""

    reason = TextAreaField(lazy_gettext("Reason"), render_kw={"rows": 3, "maxlength": 1000})
    next = HiddenField()


class ReviewForm(FlaskForm):
    """Proposed spans to show after all (``remove``), and one span to hide by hand: by its
    position in the original (set by selecting text, with JavaScript) or by its exact
    text and which occurrence of it."""

    add_text = TextAreaField(lazy_gettext("Exact text to hide"), render_kw={"rows": 2})
    add_occurrence = StringField(
        lazy_gettext("Occurrence"), default="1", render_kw={"inputmode": "numeric", "size": 4}
    )
    add_start = StringField(
        lazy_gettext("From character"), render_kw={"inputmode": "numeric", "size": 7}
    )
    add_end = StringField(
        lazy_gettext("To character"), render_kw={"inputmode": "numeric", "size": 7}
    )
    add_label = StringField(lazy_gettext("Label shown instead"), default="withheld")
    add_reason = StringField(lazy_gettext("Reason"))


class PublishForm(FlaskForm):
    """Nothing but the CSRF token."""


def text_of(field: Field) -> str:
    """A field's submitted text, stripped (empty when absent)."""
    value = field.data
    return value.strip() if isinstance(value, str) else ""


def lines_of(field: Field) -> list[str]:
    """One entry per non-empty line of a text area."""
    return [line.strip() for line in text_of(field).splitlines() if line.strip()]
