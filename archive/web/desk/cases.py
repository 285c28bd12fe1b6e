"""A case: its protected persons (pseudonyms; registering, aliases, a recorded reveal)
and its items."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from marshmallow import ValidationError

from archive.errors import InvalidInput
from archive.schemas import AliasesSchema, PersonCreateSchema
from archive.services import accountability
from archive.services import cases as case_service
from archive.services import items as item_service
from archive.services.redacting import review_state
from archive.services.vault import Identity
from archive.web.auth import actor_name
from archive.web.context import archive, read_session, writing
from archive.web.desk import desk
from archive.web.desk.common import principal, reason_message, set_errors
from archive.web.desk.forms import AliasesForm, PersonForm, ReasonForm, lines_of, text_of
from archive.web.messages import field_errors, translate

PAGE_SIZE = 50

# ---- a case ----------------------------------------------------------------------------------


@desk.get("/cases/<slug>")
def case(slug: str) -> str:
    session = read_session()
    arc = archive()
    the_case = case_service.get_case(session, slug)
    items = item_service.list_items(session, the_case, published_only=False)
    last = max(1, -(-len(items) // PAGE_SIZE))
    try:
        page = max(1, min(int(request.args.get("page", "1")), last))
    except ValueError:
        page = 1
    shown = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return render_template(
        "desk_case.html",
        case=the_case,
        persons=the_case.persons,
        items=[(item, review_state(arc, item)) for item in shown],
        total=len(items),
        page=page,
        last=last,
    )


def _person_payload(form: PersonForm) -> dict[str, Any]:
    data = {
        "role": form.role.data,
        "aliases": lines_of(form.aliases),
        "contact": text_of(form.contact) or None,
        "location": text_of(form.location) or None,
        "notes": text_of(form.notes) or None,
    }
    if lines_of(form.names):  # none at all: "required", not "too few"
        data["names"] = lines_of(form.names)
    return data


@desk.route("/cases/<slug>/persons/new", methods=["GET", "POST"])
def new_person(slug: str) -> Any:
    the_case = case_service.get_case(read_session(), slug)
    form = PersonForm()
    if request.method == "GET":
        return render_template("desk_person_new.html", case=the_case, form=form, errors=[])
    errors = _register_person(slug, form)
    if errors is None:
        return redirect(url_for(".case", slug=slug) + "#persons", 303)
    loose = set_errors(form, errors)
    return render_template("desk_person_new.html", case=the_case, form=form, errors=loose), 422


def _register_person(slug: str, form: PersonForm) -> dict[str, list[str]] | None:
    lists = ("names", "aliases")
    try:
        data = PersonCreateSchema().load(_person_payload(form))
    except ValidationError as exc:
        return field_errors(exc.messages_dict, lists=lists)
    identity = Identity(
        names=tuple(data["names"]),
        aliases=tuple(data["aliases"]),
        contact=data["contact"],
        location=data["location"],
        notes=data["notes"],
    )
    try:
        with writing() as session:
            the_case = case_service.get_case(session, slug)
            person = case_service.register_person(
                archive(), session, the_case, role=data["role"], identity=identity
            )
            pseudonym = person.pseudonym
    except InvalidInput as exc:
        return field_errors(exc.errors, lists=lists) or {"names": [translate(exc.message)]}
    flash(
        gettext(
            "Registered as %(pseudonym)s. Every item of the case was redacted again, so "
            "these names are hidden from anything public.",
            pseudonym=pseudonym,
        ),
        "done",
    )
    return None


@desk.route("/cases/<slug>/persons/<person>/aliases", methods=["GET", "POST"])
def add_aliases(slug: str, person: str) -> Any:
    session = read_session()
    the_case = case_service.get_case(session, slug)
    the_person = case_service.get_person(session, the_case, person)
    form = AliasesForm()
    context = {"case": the_case, "person": the_person, "form": form}
    if request.method == "GET":
        return render_template("desk_aliases.html", **context)
    try:
        data = AliasesSchema().load(
            {"aliases": lines_of(form.aliases)} if lines_of(form.aliases) else {}
        )
    except ValidationError as exc:
        set_errors(form, field_errors(exc.messages_dict, lists=("aliases",)))
        return render_template("desk_aliases.html", **context), 422
    try:
        with writing() as writer:
            target = case_service.get_person(writer, case_service.get_case(writer, slug), person)
            case_service.add_aliases(archive(), writer, target, data["aliases"])
    except InvalidInput as exc:
        set_errors(
            form,
            field_errors(exc.errors, lists=("aliases",)) or {"aliases": [translate(exc.message)]},
        )
        return render_template("desk_aliases.html", **context), 422
    flash(
        gettext(
            "Aliases added to %(pseudonym)s. Every item of the case was redacted again: "
            "reviews of items that now hide more may need to be done again.",
            pseudonym=the_person.pseudonym,
        ),
        "done",
    )
    return redirect(url_for(".case", slug=slug) + "#persons", 303)


@desk.route("/cases/<slug>/persons/<person>/reveal", methods=["GET", "POST"])
def reveal(slug: str, person: str) -> Any:
    session = read_session()
    the_case = case_service.get_case(session, slug)
    the_person = case_service.get_person(session, the_case, person)
    form = ReasonForm()
    context = {"case": the_case, "person": the_person, "form": form}
    if request.method == "GET":
        return render_template("desk_reveal.html", **context)
    try:
        with writing() as writer:
            target = case_service.get_person(writer, case_service.get_case(writer, slug), person)
            identity = case_service.reveal_identity(
                archive(),
                writer,
                target,
                actor=actor_name(principal()),
                reason=form.reason.data,
                via="web",
                reason_field="reason",
            )
    except accountability.ReasonRequired as exc:
        form.reason.errors = [reason_message(exc)]
        return render_template("desk_reveal.html", **context), 422
    # Shown on this response only: never stored in the cookie, never cached (no-store).
    return render_template("desk_identity.html", identity=identity, **context)
