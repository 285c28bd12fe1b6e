"""Intake of a testimony, a source excerpt or a file exhibit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from marshmallow import Schema, ValidationError
from werkzeug.datastructures import FileStorage
from wtforms.fields.choices import SelectChoice

from archive.errors import InvalidInput, NotFound
from archive.models import Case, Item
from archive.schemas import ExcerptCreateSchema, ExhibitFormSchema, TestimonyCreateSchema
from archive.services import cases as case_service
from archive.services import items as item_service
from archive.web.auth import actor_name, request_info
from archive.web.context import archive, read_session, writing
from archive.web.desk import desk
from archive.web.desk.common import principal, remember_opened, set_errors, typed_text
from archive.web.desk.forms import ExcerptForm, ExhibitForm, TestimonyForm, text_of
from archive.web.i18n import current_language
from archive.web.messages import field_errors, translate

LANGUAGE_SUGGESTIONS = ("fr", "en", "bm", "ff", "son", "tmh", "ar")

# ---- intake ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intake:
    kind: str  # the item kind
    form: type[Any]
    schema: type[Schema]
    heading: Any
    done: Any


INTAKES = {
    "testimony": Intake(
        "testimony",
        TestimonyForm,
        TestimonyCreateSchema,
        lazy_gettext("New testimony"),
        lazy_gettext(
            "The testimony is sealed: its text can no longer change. Review its redaction next."
        ),
    ),
    "excerpt": Intake(
        "source_excerpt",
        ExcerptForm,
        ExcerptCreateSchema,
        lazy_gettext("New source excerpt"),
        lazy_gettext(
            "The excerpt is sealed: its text can no longer change. Review its redaction next."
        ),
    ),
    "exhibit": Intake(
        "file_exhibit",
        ExhibitForm,
        ExhibitFormSchema,
        lazy_gettext("New file exhibit"),
        lazy_gettext(
            "The file is stored and sealed under its SHA-256 digest. Review its redaction next."
        ),
    ),
}

_OFFSET = re.compile(r"(Z|[+-]\d\d:?\d\d)$")


def _utc(value: str) -> str:
    """A browser's date and time (no zone) is taken as UTC, as the form says."""
    return value if _OFFSET.search(value) else value + "Z"


def _common_payload(form: Any, *, tags_as_text: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if text_of(form.language):
        data["language"] = text_of(form.language)
    for name in ("event_date", "collected_by", "place"):
        data[name] = text_of(getattr(form, name)) or None
    collected = text_of(form.collected_at)
    data["collected_at"] = _utc(collected) if collected else None
    tags = [t.strip() for t in text_of(form.tags).split(",") if t.strip()]
    data["tags"] = ", ".join(tags) if tags_as_text else tags
    return data


def _payload(name: str, form: Any) -> dict[str, Any]:
    if name == "exhibit":
        data = _common_payload(form, tags_as_text=True)
        data["description"] = text_of(form.description) or None
    else:
        data = _common_payload(form)
        data["text"] = typed_text(form.text)
    if text_of(form.title):
        data["title"] = text_of(form.title)
    elif name == "testimony":
        data["title"] = None
    if name == "testimony" and form.person.data:
        data["person"] = form.person.data
    if name == "excerpt":
        citation: dict[str, Any] = {}
        for part in ("author", "title", "url", "published"):
            citation[part] = text_of(getattr(form, f"citation_{part}")) or None
        if text_of(form.citation_publication):
            citation["publication"] = text_of(form.citation_publication)
        data["citation"] = citation
    return data


def _ingest(name: str, session: Any, the_case: Case, data: dict[str, Any]) -> Item:
    arc = archive()
    actor = actor_name(principal())
    keys = ("language", "event_date", "collected_at", "collected_by", "place", "tags")
    fields = {k: data[k] for k in keys}
    if name == "exhibit":
        upload = request.files.get("file")
        assert isinstance(upload, FileStorage)
        fields["tags"] = [t.strip() for t in data["tags"].split(",") if t.strip()]
        return item_service.ingest_exhibit(
            arc,
            session,
            the_case,
            stream=cast(BinaryIO, upload.stream),
            filename=upload.filename or "upload",
            media_type=upload.mimetype or "application/octet-stream",
            title=data["title"],
            description=data["description"],
            actor=actor,
            request_info=request_info(),
            via="web",
            **fields,
        )
    if name == "testimony":
        person = case_service.get_person(session, the_case, data["person"])
        return item_service.ingest_text(
            arc,
            session,
            the_case,
            kind="testimony",
            text=data["text"],
            title=data["title"] or f"Testimony of {person.pseudonym}",
            person=person,
            actor=actor,
            via="web",
            request_info=request_info(),
            **fields,
        )
    citation = {
        k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data["citation"].items()
    }
    return item_service.ingest_text(
        arc,
        session,
        the_case,
        kind="source_excerpt",
        text=data["text"],
        title=data["title"],
        citation=citation,
        actor=actor,
        via="web",
        request_info=request_info(),
        **fields,
    )


def _intake(slug: str, name: str) -> Any:
    intake = INTAKES[name]
    the_case = case_service.get_case(read_session(), slug)
    form = intake.form()
    if name == "testimony":
        form.person.choices = [SelectChoice("", gettext("Choose the witness…"))] + [
            SelectChoice(p.uid, p.pseudonym) for p in the_case.persons
        ]
    loose: list[str] = []
    status = 200
    if request.method == "GET":
        form.language.data = form.language.data or current_language()
    else:
        uid, errors = _submit_intake(name, slug, form)
        if uid is not None:
            remember_opened(uid, None)  # its author has just seen it: no reason asked
            flash(str(intake.done), "done")
            flash(f"{slug}:{name}", "draft-sent")  # desk.js forgets the browser's draft
            return redirect(url_for(".review", uid=uid), 303)
        loose = set_errors(form, errors)
        status = 422
    return render_template(
        "desk_intake.html",
        case=the_case,
        form=form,
        form_name=name,
        heading=intake.heading,
        errors=loose,
        fresh=request.method == "GET",
        languages=LANGUAGE_SUGGESTIONS,
        multipart=name == "exhibit",
    ), status


def _submit_intake(name: str, slug: str, form: Any) -> tuple[str | None, dict[str, list[str]]]:
    """Check and store a submission: the new item's id, or the errors per field."""
    intake = INTAKES[name]
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {}
    try:
        data = intake.schema().load(_payload(name, form))
    except ValidationError as exc:
        errors = field_errors(exc.messages_dict)
    if name == "exhibit":
        upload = request.files.get("file")
        if not isinstance(upload, FileStorage) or not upload.filename:
            errors.setdefault("file", []).append(gettext("Choose the file to store."))
        elif errors:  # a browser cannot fill a file field in again
            errors.setdefault("file", []).append(
                gettext("Choose the file again: it is not kept while the form has errors.")
            )
    if errors:
        return None, errors
    try:
        with writing() as session:
            the_case = case_service.get_case(session, slug)
            uid = _ingest(name, session, the_case, data).uid
    except NotFound:
        return None, {"person": [gettext("Not a protected person of this case.")]}
    except InvalidInput as exc:
        return None, field_errors(exc.errors) or {"text": [translate(exc.message)]}
    return uid, {}


@desk.route("/cases/<slug>/testimonies/new", methods=["GET", "POST"])
def new_testimony(slug: str) -> Any:
    return _intake(slug, "testimony")


@desk.route("/cases/<slug>/excerpts/new", methods=["GET", "POST"])
def new_excerpt(slug: str) -> Any:
    return _intake(slug, "excerpt")


@desk.route("/cases/<slug>/exhibits/new", methods=["GET", "POST"])
def new_exhibit(slug: str) -> Any:
    return _intake(slug, "exhibit")
