"""The redaction review: proposed spans by source, accepted or removed; more text hidden by
selecting it or giving it; the public text previewed; the review saved; publication."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext, ngettext
from marshmallow import ValidationError

from archive.errors import InvalidInput, NotReady
from archive.schemas import ManualSpanSchema
from archive.services import items as item_service
from archive.services.originals import original_text
from archive.services.redacting import (
    ManualSpan,
    preview_redaction,
    redaction_view,
    review_redaction,
    review_state,
)
from archive.web.auth import actor_name
from archive.web.context import archive, read_session, writing
from archive.web.desk import desk
from archive.web.desk.common import desk_item, opened, principal, set_errors, typed_text
from archive.web.desk.forms import PublishForm, ReasonForm, ReviewForm, text_of
from archive.web.messages import field_errors, review_errors

PUBLISH_REFUSALS = {
    "not reviewed": lazy_gettext(
        "Not published: the redaction has not been reviewed. Review it (and save the review) "
        "before publishing."
    ),
    "stale": lazy_gettext(
        "Not published: the review is out of date, because protected persons or decisions "
        "changed since. Review the redaction again, then publish."
    ),
}


# ---- redaction review --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Run:
    """A piece of the original as the review page shows it: offsets for the selection
    script (``start`` counts code points, as the services do), and how it is marked."""

    text: str
    start: int
    mark: str | None = None  # "hidden" | "shown"
    source: str | None = None
    label: str | None = None
    last: bool = True  # the last piece of its mark (the one that shows the label)


def runs(text: str, hidden: list[dict[str, Any]], shown: list[dict[str, Any]]) -> list[Run]:
    """The text cut at every mark, and at every CR (which HTML turns into LF, and would
    throw the selection script's offsets off)."""
    marks = [(s["start"], s["end"], "hidden", s) for s in hidden]
    marks += [
        (s["start"], s["end"], "shown", s)
        for s in shown
        if not any(h["start"] < s["end"] and s["start"] < h["end"] for h in hidden)
    ]
    marks.sort(key=lambda m: (m[0], m[1]))
    pieces: list[Run] = []
    position = 0
    for start, end, kind, span in marks:
        if start < position:
            continue
        if start > position:
            pieces.append(Run(text=text[position:start], start=position))
        pieces.append(
            Run(
                text=text[start:end],
                start=start,
                mark=kind,
                source=span["source"],
                label=span["label"],
            )
        )
        position = end
    if position < len(text):
        pieces.append(Run(text=text[position:], start=position))
    return [part for piece in pieces for part in _without_cr(piece)]


def _without_cr(piece: Run) -> Iterator[Run]:
    if "\r" not in piece.text:
        yield piece
        return
    offset = piece.start
    parts = piece.text.split("\r")
    for n, part in enumerate(parts):
        if part:
            yield Run(
                text=part,
                start=offset,
                mark=piece.mark,
                source=piece.source,
                label=piece.label,
                last=n == len(parts) - 1,
            )
        offset += len(part) + 1


def _removals() -> list[tuple[int, int]]:
    found = []
    for value in request.form.getlist("remove"):
        start, _, end = value.partition("-")
        if start.isdigit() and end.isdigit():
            found.append((int(start), int(end)))
    return found


def _occurrence(text: str, wanted: str, nth: int) -> tuple[int, int] | None:
    """The ``nth`` (from 1) place of ``wanted`` in ``text``."""
    position = -1
    for _ in range(nth):
        position = text.find(wanted, position + 1)
        if position < 0:
            return None
    return position, position + len(wanted)


def _manual_span(form: ReviewForm, text: str) -> tuple[ManualSpan | None, dict[str, list[str]]]:
    """The span to hide by hand, if the form gives one: by position (what selecting text
    fills in) or by its exact text and occurrence."""
    exact = typed_text(form.add_text).strip()
    start_text, end_text = text_of(form.add_start), text_of(form.add_end)
    if not (exact or start_text or end_text):
        return None, {}
    start: Any = start_text
    end: Any = end_text
    where = "add_start"
    if start_text or end_text:
        if exact and start_text.isdigit() and end_text.isdigit():
            given = text[int(start_text) : int(end_text)].replace("\r\n", "\n")
            if given != exact:
                message = gettext("The text at these positions is not the text given here.")
                return None, {"add_text": [message]}
    else:
        where = "add_text"
        occurrence = text_of(form.add_occurrence) or "1"
        if not occurrence.isdigit() or int(occurrence) < 1:
            return None, {"add_occurrence": [gettext("Give a whole number, 1 for the first.")]}
        found = _occurrence(text, exact, int(occurrence))
        if found is None:
            count = text.count(exact)
            if count == 0:
                message = gettext(
                    "This text is not in the original: copy it exactly, with its accents "
                    "and capitals."
                )
                return None, {"add_text": [message]}
            message = ngettext(
                "It occurs only once in the original.",
                "It occurs only %(num)s times in the original.",
                count,
            )
            return None, {"add_occurrence": [message]}
        start, end = found
    payload = {
        "start": start,
        "end": end,
        "label": text_of(form.add_label) or "withheld",
        "reason": text_of(form.add_reason),
    }
    if not payload["reason"]:
        payload.pop("reason")
    try:
        data = ManualSpanSchema().load(payload)
    except ValidationError as exc:
        errors = field_errors(exc.messages_dict, prefix="add_")
        if where == "add_text":  # positions found from the text: their errors are the text's
            for key in ("add_start", "add_end"):
                errors.setdefault("add_text", []).extend(errors.pop(key, []))
        return None, {k: v for k, v in errors.items() if v}
    return ManualSpan(**data), {}


def review_page(
    uid: str,
    *,
    form: ReviewForm | None = None,
    original_form: ReasonForm | None = None,
    preview: Any = None,
    removing: list[tuple[int, int]] | None = None,
    errors: list[str] | None = None,
    publish_error: str | None = None,
    status: int = 200,
) -> Any:
    session = read_session()
    arc = archive()
    item = desk_item(session, uid)
    view = redaction_view(arc, session, item)
    opened_now = opened(uid)
    text = original_text(arc, item) if opened_now is not None and item.is_text else None
    removed = {(d["start"], d["end"]): d for d in view["decisions"] if d["action"] == "remove"}
    proposed = [
        {
            **p,
            "removed": removed.get((p["start"], p["end"])),
            "text": text and text[p["start"] : p["end"]],
        }
        for p in view["proposed"]
    ]
    manual = [
        {**d, "text": text and text[d["start"] : d["end"]]}
        for d in view["decisions"]
        if d["action"] == "add"
    ]
    shown = [p for p in view["proposed"] if (p["start"], p["end"]) in removed]
    return render_template(
        "desk_review.html",
        item=item,
        case=item.case,
        view=view,
        opened=opened_now,
        text=text,
        runs=runs(text, view["applied"], shown) if text is not None else [],
        proposed=proposed,
        manual=manual,
        form=form or ReviewForm(formdata=None),
        original_form=original_form or ReasonForm(formdata=None, prefix="original", next="review"),
        publish_form=PublishForm(formdata=None),
        preview=preview,
        removing=set(removing or []),
        errors=errors or [],
        publish_error=publish_error,
    ), status


@desk.route("/items/<uid>/review", methods=["GET", "POST"])
def review(uid: str) -> Any:
    if request.method == "GET":
        return review_page(uid)
    arc = archive()
    item = desk_item(read_session(), uid)
    form = ReviewForm()
    removing = _removals()
    if item.is_text and opened(uid) is None:
        # Positions and exact text only make sense with the original in view.
        message = gettext("Nothing was saved: open the original first, the review is made on it.")
        return review_page(uid, form=form, removing=removing, errors=[message], status=409)
    text = original_text(arc, item) if item.is_text else ""
    span, errors = _manual_span(form, text) if item.is_text else (None, {})
    if errors:
        loose = set_errors(form, errors)
        return review_page(uid, form=form, removing=removing, errors=loose, status=422)
    add = [span] if span is not None else []
    actor = actor_name(principal())
    try:
        if request.form.get("action") == "preview":
            preview = preview_redaction(
                arc, read_session(), item, actor=actor, add=add, remove=removing
            )
            return review_page(uid, form=form, removing=removing, preview=preview)
        with writing() as session:
            review_redaction(
                arc, session, desk_item(session, uid), actor=actor, add=add, remove=removing
            )
    except InvalidInput as exc:
        found = review_errors(exc)
        loose = set_errors(form, found)
        return review_page(uid, form=form, removing=removing, errors=loose, status=422)
    flash(gettext("The review is saved: the public text below is what publishing shows."), "done")
    return redirect(url_for(".review", uid=uid) + "#public-text", 303)


@desk.post("/items/<uid>/publish")
def publish(uid: str) -> Any:
    arc = archive()
    try:
        with writing() as session:
            item_service.publish_item(
                arc, session, desk_item(session, uid), actor=actor_name(principal())
            )
    except NotReady:
        state = review_state(arc, desk_item(read_session(), uid))
        message = str(PUBLISH_REFUSALS.get(state, PUBLISH_REFUSALS["not reviewed"]))
        return review_page(uid, publish_error=message, status=409)
    flash(
        gettext("Published: the redacted record is public and can be found in the public search."),
        "done",
    )
    return redirect(url_for(".item", uid=uid), 303)
