"""Server-rendered public pages: home, search results and the record page."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, render_template, request
from markupsafe import Markup, escape
from sqlalchemy import func, select

from archive.errors import ArchiveError
from archive.models import Item
from archive.services import cases as case_service
from archive.services import items as item_service
from archive.services.search import search as run_search
from archive.web.context import archive, read_session

pages = Blueprint(
    "pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

KIND_LABELS = {
    "testimony": "Testimony",
    "source_excerpt": "Source excerpt",
    "file_exhibit": "File exhibit",
}


@pages.app_template_filter("kind_label")
def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


LABEL = re.compile(r"\[([^\[\]<>&\"']{1,80})\]")


def _mark_labels(escaped: str) -> Markup:
    # Safe: the input is already escaped HTML and a label admits no markup characters.
    return Markup(LABEL.sub(r'<span class="label">[\1]</span>', escaped))  # noqa: S704


@pages.app_template_filter("labelled")
def labelled(text: str | None) -> Markup:
    """Escape the public text and show each [label] distinctly."""
    return _mark_labels(str(escape(text or "")))


@pages.app_template_filter("snippet")
def snippet(html: str) -> Markup:
    """A search snippet is escaped HTML with <mark> around matches; style its labels too."""
    return _mark_labels(html)


@pages.app_template_filter("sentence")
def sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


@pages.get("/")
def home() -> str:
    session = read_session()
    published = (
        session.scalar(select(func.count()).select_from(Item).where(Item.status == "published"))
        or 0
    )
    cases = case_service.list_cases(session)
    recent = item_service.list_published(session, limit=8)
    arc = archive()
    return render_template(
        "home.html",
        cases=cases,
        published=published,
        recent=[item_service.public_projection(arc, i) for i in recent],
    )


@pages.get("/search")
def search_page() -> Any:
    query = request.args.get("q", "").strip()
    try:
        page = max(1, min(int(request.args.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    results, error = None, None
    if query:
        try:
            results = run_search(archive(), query, restricted=False, page=page, page_size=10)
        except ArchiveError as exc:
            error = exc.message
    status = 400 if error else 200
    return render_template(
        "search.html", query=query, results=results, error=error, page=page
    ), status


@pages.get("/records/<uid>")
def record(uid: str) -> str:
    item = item_service.get_public_item(read_session(), uid)
    return render_template("record.html", record=item_service.public_projection(archive(), item))
