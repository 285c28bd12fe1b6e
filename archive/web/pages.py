"""Server-rendered public pages: home, search, record, verify a file, and the custody log.

Every page works without JavaScript; two scripts (static files, as the CSP requires) add
what only a browser can do: checking a record's public bundle on the page, and hashing a
file that never leaves the reader's machine.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from babel import Locale, UnknownLocaleError
from flask import Blueprint, render_template, request, url_for
from flask_babel import format_decimal, gettext, lazy_gettext
from markupsafe import Markup, escape

from archive.errors import ArchiveError
from archive.services import items as item_service
from archive.services import public_site
from archive.services.search import Filters
from archive.services.search import search as run_search
from archive.web.context import archive, read_session
from archive.web.i18n import current_language
from search_index import SearchResults

pages = Blueprint(
    "pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

PAGE_SIZE = 10

KIND_LABELS = {
    "testimony": lazy_gettext("Testimony"),
    "source_excerpt": lazy_gettext("Source excerpt"),
    "file_exhibit": lazy_gettext("File exhibit"),
}
KIND_PLURALS = {
    "testimony": lazy_gettext("Testimonies"),
    "source_excerpt": lazy_gettext("Source excerpts"),
    "file_exhibit": lazy_gettext("File exhibits"),
}
EVENT_LABELS = {
    "sealed": lazy_gettext("Sealed: the original was committed, so no word of it can change"),
    "published": lazy_gettext("Published: this redacted text was made public"),
}
SORT_LABELS = {
    "relevance": lazy_gettext("Relevance"),
    "date": lazy_gettext("Date of events, newest first"),
    "date_asc": lazy_gettext("Date of events, oldest first"),
}


@pages.app_template_filter("kind_label")
def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


@pages.app_template_filter("language_name")
def language_name(code: str) -> str:
    """``fr`` -> ``French`` (or ``français`` in French); an unknown code stays as it is."""
    try:
        name = Locale.parse(code).get_language_name(current_language())
    except (ValueError, UnknownLocaleError):
        return code
    return (name[:1].upper() + name[1:]) if name else code


@pages.app_template_filter("number")
def number(value: int) -> str:
    return str(format_decimal(value))


@pages.app_template_filter("b64")
def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


LABEL = re.compile(r"\[([^\[\]<>&\"']{1,80})\]")


def _mark_labels(escaped: str) -> Markup:
    """Wrap each ``[label]`` of escaped text: shown distinctly, announced as withheld."""
    announce = str(escape(gettext("withheld passage:")))
    # Safe: the input is already escaped HTML, and a label admits no markup characters.
    return Markup(  # noqa: S704
        LABEL.sub(
            rf'<span class="label"><span class="visually-hidden">{announce} </span>[\1]</span>',
            escaped,
        )
    )


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


# ---- home -------------------------------------------------------------------------------


@pages.get("/")
def home() -> str:
    session = read_session()
    arc = archive()
    recent = item_service.list_published(session, limit=8)
    return render_template(
        "home.html",
        overview=public_site.overview(session),
        kinds=KIND_PLURALS,
        recent=[item_service.public_projection(arc, i) for i in recent],
    )


# ---- search -----------------------------------------------------------------------------


@dataclass
class SearchState:
    """Everything a results page shows, read from (and written back to) the URL."""

    q: str = ""
    case: str | None = None
    kind: str | None = None
    language: str | None = None
    year: int | None = None
    tags: list[str] = field(default_factory=list)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: str = "relevance"
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict)

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        """The query string of this state with ``changes``; any change goes back to page 1."""
        values: dict[str, Any] = {
            "q": self.q,
            "case": self.case,
            "kind": self.kind,
            "language": self.language,
            "year": self.year,
            "tag": list(self.tags),
            "from": self.date_from,
            "to": self.date_to,
            "sort": None if self.sort == "relevance" else self.sort,
            "page": self.page if self.page > 1 else None,
        }
        if changes and "page" not in changes:
            values["page"] = None
        values.update(changes)
        pairs: list[tuple[str, str]] = []
        for name, value in values.items():
            for one in value if isinstance(value, list) else [value]:
                if one not in (None, ""):
                    pairs.append((name, str(one)))
        return pairs

    def url(self, **changes: Any) -> str:
        return url_for("pages.search_page") + "?" + urlencode(self.params(**changes))

    def toggle(self, facet: str, value: str) -> str:
        """The URL with a facet value added, or removed when it is already chosen."""
        if facet == "tags":
            tags = [t for t in self.tags if t != value]
            return self.url(tag=tags if value in self.tags else [*self.tags, value])
        name = {"case": "case", "kind": "kind", "language": "language", "year": "year"}[facet]
        current = getattr(self, name)
        return self.url(**{name: None if str(current) == value else value})

    def active(self, facet: str, value: str) -> bool:
        if facet == "tags":
            return value in self.tags
        return str(getattr(self, facet)) == value

    @property
    def filtered(self) -> bool:
        return bool(
            self.case
            or self.kind
            or self.language
            or self.year
            or self.tags
            or self.date_from
            or self.date_to
        )

    def filters(self) -> Filters:
        low, high = self.date_from, self.date_to
        if self.year is not None:
            first, last = dt.date(self.year, 1, 1), dt.date(self.year, 12, 31)
            low = max(low, first) if low else first
            high = min(high, last) if high else last
        return Filters(
            case=self.case,
            kind=self.kind,
            language=self.language,
            event_from=low,
            event_to=high,
            tags=tuple(self.tags),
        )


def _date_arg(state: SearchState, name: str) -> dt.date | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        state.errors[name] = gettext("Not a date: write it as YYYY-MM-DD, e.g. 2022-03-27.")
        return None


def read_search_state() -> SearchState:
    args = request.args
    state = SearchState(q=args.get("q", "").strip())
    for name in ("case", "kind", "language"):
        setattr(state, name, args.get(name, "").strip() or None)
    year = args.get("year", "").strip()
    if year:
        if re.fullmatch(r"[0-9]{4}", year) and year != "0000":
            state.year = int(year)
        else:
            state.errors["year"] = gettext("A year is four digits, e.g. 2022.")
    state.tags = list(dict.fromkeys(t.strip() for t in args.getlist("tag") if t.strip()))[:10]
    state.date_from = _date_arg(state, "from")
    state.date_to = _date_arg(state, "to")
    if state.date_from and state.date_to and state.date_from > state.date_to:
        state.errors["to"] = gettext("The end of the date range is before its start.")
    sort = args.get("sort", "relevance")
    state.sort = sort if sort in SORT_LABELS else "relevance"
    try:
        state.page = max(1, min(int(args.get("page", "1")), 10_000))
    except ValueError:
        state.page = 1
    return state


def _case_titles() -> dict[str, str]:
    return {c.slug: c.title for c in public_site.overview(read_session()).cases}


def _page_numbers(page: int, last: int) -> list[int | None]:
    """1 … 4 5 [6] 7 8 … 20: the first, the last, and two on each side (None is a gap)."""
    shown = sorted({1, last, *range(max(1, page - 2), min(last, page + 2) + 1)})
    numbers: list[int | None] = []
    for n in shown:
        if numbers and n - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(n)
    return numbers


@pages.get("/search")
def search_page() -> Any:
    state = read_search_state()
    results: SearchResults | None = None
    error: str | None = None
    if state.q and not state.errors:
        try:
            results = run_search(
                archive(),
                state.q,
                restricted=False,
                page=state.page,
                page_size=PAGE_SIZE,
                filters=state.filters(),
                sort=state.sort,
            )
        except ArchiveError as exc:
            error = exc.message
    last = 1
    if results is not None:
        last = max(1, (results.total + PAGE_SIZE - 1) // PAGE_SIZE)
    status = 400 if (error or state.errors) else 200
    return render_template(
        "search.html",
        query=state.q,
        state=state,
        results=results,
        error=error,
        last=last,
        page_numbers=_page_numbers(min(state.page, last), last),
        sorts=SORT_LABELS,
        case_titles=_case_titles(),
        facet_names={
            "case": gettext("Case"),
            "kind": gettext("Kind"),
            "language": gettext("Language"),
            "year": gettext("Year of events"),
            "tags": gettext("Tags"),
        },
    ), status


# ---- record -----------------------------------------------------------------------------


@pages.get("/records/<uid>")
def record(uid: str) -> str:
    session = read_session()
    item = item_service.get_public_item(session, uid)
    projection = item_service.public_projection(archive(), item)
    if projection["published_at"] is not None:
        projection["published_at"] = public_site.as_utc(projection["published_at"])
    return render_template(
        "record.html",
        record=projection,
        timeline=public_site.public_timeline(session, item),
        event_labels=EVENT_LABELS,
        is_text=item.is_text,
        base_url=request.host_url.rstrip("/"),
    )


# ---- verify a file ----------------------------------------------------------------------


@pages.get("/verify")
def verify() -> Any:
    """Is this file a published exhibit? The browser hashes it; without JavaScript, the
    reader pastes what ``sha256sum`` printed and the server looks it up."""
    text = request.args.get("digest", "").strip()
    lookup: dict[str, Any] | None = None
    error: str | None = None
    if text:
        try:
            digest = public_site.parse_digest(text)
        except ArchiveError:
            error = gettext(
                "This is not a SHA-256 digest: it is 64 characters 0-9 and a-f, "
                "as sha256sum prints them (a leading sha256: is fine)."
            )
        else:
            lookup = public_site.exhibit_lookup(archive(), read_session(), digest)
    return render_template(
        "verify.html",
        digest_text=text,
        lookup=lookup,
        error=error,
        base_url=request.host_url.rstrip("/"),
    ), (400 if error else 200)


# ---- the custody log --------------------------------------------------------------------


@pages.get("/log")
def log() -> str:
    session = read_session()
    return render_template(
        "log.html",
        latest=public_site.latest_log(session),
        keys=public_site.published_keys(session),
        base_url=request.host_url.rstrip("/"),
    )
