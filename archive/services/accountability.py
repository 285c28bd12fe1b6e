"""Who saw what: every look at protected material is a signed custody event.

A read of an original, an evidence-bundle export, a restricted search and an identity
reveal each append one event (who, what, when, why) to the same custody log as every
other event; one event per request, never one per result. Reads of an item go into the
item's own chain (`accessed`, `exported`); searches and reveals into the case's access
record, a system item of the case that is never listed, indexed or published. A search
over several cases goes into the archive-wide access record of the system case and
names every case it covered.

The reason and a search's query may hold a protected name: they live only in these
restricted records, never in anything public (tests/functional/test_leaks.py).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.errors import ArchiveError, NotFound
from archive.models import SYSTEM_KINDS, Case, CustodyEvent, Item
from archive.services.custody import AppendedEvent, append_event
from archive.services.keys import system_case, system_item
from archive.services.runtime import Archive

REASON_MIN = 10
REASON_MAX = 1000
#: The event types that record a look at protected material.
ACCESS_TYPES = ("accessed", "exported")
#: Where a search over several cases is recorded (an item of the system case).
ARCHIVE_ACCESS = "_archive/access"
#: Where changes of who may see what are recorded (see archive.services.administration).
ACCESS_ADMIN = "_archive/access-admin"
#: Changes of access that concern one case, shown in that case's report.
CASE_CHANGES = ("grant_added", "grant_revoked")


class ReasonRequired(ArchiveError):
    """A look at protected material needs a reason, which the custody log keeps."""

    status = 400


def _normalise(reason: str | None) -> str:
    return " ".join((reason or "").split())  # one line: whitespace runs become one space


def check_reason(reason: str | None, *, field: str, what: str) -> str:
    """The reason, on one line, between REASON_MIN and REASON_MAX characters.

    ``field`` names where the caller gives it (a header, an option) in the error."""
    text = _normalise(reason)
    if not text:
        raise ReasonRequired(
            f"say why you need {what}: give a reason in {field} "
            f"({REASON_MIN} to {REASON_MAX} characters); it is signed into the custody log",
            errors={field: ["required"]},
        )
    return _bounded(text, field=field)


def optional_reason(reason: str | None, *, field: str) -> str | None:
    """A reason where one is not required: None when none is given, else as check_reason."""
    text = _normalise(reason)
    return _bounded(text, field=field) if text else None


def _bounded(text: str, *, field: str) -> str:
    if len(text) < REASON_MIN:
        raise ReasonRequired(
            f"the reason in {field} is too short: {REASON_MIN} characters at least",
            errors={field: [f"too short: {REASON_MIN} characters at least"]},
        )
    if len(text) > REASON_MAX:
        raise ReasonRequired(
            f"the reason in {field} is too long: {REASON_MAX} characters at most",
            errors={field: [f"too long: {REASON_MAX} characters at most"]},
        )
    return text


# ---- recording ----------------------------------------------------------------------------


def case_record(arc: Archive, session: Session, case: Case) -> Item:
    """The case's access record: searches of the case and reveals of its identities.

    ``case`` must belong to ``session``."""
    return system_item(
        arc,
        session,
        case,
        key=f"_access/{case.slug}",
        title="Access record of the case",
        charter={
            "purpose": "restricted searches of the case and reveals of its protected identities",
            "case": case.slug,
        },
    )


def archive_record(arc: Archive, session: Session) -> Item:
    """The archive-wide access record: searches that covered several cases at once."""
    return system_item(
        arc,
        session,
        system_case(session),
        key=ARCHIVE_ACCESS,
        title="Archive-wide access record",
        charter={"purpose": "restricted searches over several cases"},
    )


def record_original_read(
    arc: Archive, session: Session, item: Item, *, actor: str, reason: str, via: str
) -> AppendedEvent:
    """A full view of an item (its original, unredacted): an `accessed` event in its chain."""
    return append_event(
        arc,
        session,
        item,
        "accessed",
        actor=actor,
        details={"what": "original", "via": via, "reason": reason},
    )


def record_search(
    arc: Archive,
    session: Session,
    *,
    actor: str,
    cases: list[str],
    reason: str | None,
    via: str,
    query: str | None = None,
    filters: dict[str, Any] | None = None,
    similar_to: str | None = None,
) -> AppendedEvent:
    """One `accessed` event for one restricted search (however many results it had).

    The query goes into the event: the access record is restricted, like the index."""
    slugs = sorted(set(cases))
    details: dict[str, Any] = {
        "what": "similar items" if similar_to else "restricted search",
        "via": via,
        "cases": slugs,
    }
    if similar_to:
        details["item"] = similar_to
    else:
        details["query"] = query
        details["filters"] = filters or {}
    details["reason"] = reason
    if len(slugs) == 1:
        case = session.scalar(select(Case).where(Case.slug == slugs[0]))
        if case is None:
            raise NotFound(f"no case {slugs[0]!r}")
        record = case_record(arc, session, case)
    else:
        record = archive_record(arc, session)
    return append_event(arc, session, record, "accessed", actor=actor, details=details)


# ---- reading the record -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AccessEntry:
    """One recorded look at protected material (or change of access), as a report shows it."""

    log_index: int
    at: str
    actor: str
    action: str
    what: str
    case: str
    item: str | None
    reason: str | None
    details: dict[str, Any]
    event_hash: str
    key_id: str
    signature: bytes
    canonical: bytes


def describe(event: dict[str, Any]) -> str:
    """What was seen, in plain words (the details hold the rest)."""
    details = event["details"]
    what = details.get("what")
    if event["type"] == "exported":
        return f"evidence bundle of item {event['item']} (to {details.get('to', '?')})"
    if event["type"] == "access_changed":
        change = details.get("change", "?")
        target = f"user {details.get('user', '?')}"
        if "case" in details:
            return f"{change}: {target} on case {details['case']}"
        if "token" in details:
            return f"{change}: {target}, token {details['token'].get('name', '?')!r}"
        return f"{change}: {target}"
    if what == "original":
        return f"original of item {event['item']}"
    if what == "protected identity":
        person = f" ({details['person']})" if "person" in details else ""
        return f"identity of {details.get('pseudonym', '?')}{person}"
    if what == "similar items":
        return f"items similar to {details.get('item')} in {', '.join(details.get('cases', []))}"
    if what == "restricted search":
        return (
            f"restricted search of {', '.join(details.get('cases', []))}: "
            f"{json.dumps(details.get('query'), ensure_ascii=False)}"
        )
    return str(what or event["type"])


def _entry(row: CustodyEvent, kind: str, event: dict[str, Any] | None = None) -> AccessEntry:
    event = event if event is not None else json.loads(row.canonical)
    details = event["details"]
    item = None if kind in SYSTEM_KINDS else event["item"]
    return AccessEntry(
        log_index=row.log_index,
        at=event["at"],
        actor=event["actor"],
        action=details.get("change", event["type"]),
        what=describe(event),
        case=event["case"],
        item=item or details.get("item"),
        reason=details.get("reason"),
        details=details,
        event_hash=row.event_hash,
        key_id=row.key_id,
        signature=row.signature,
        canonical=row.canonical,
    )


def item_access(session: Session, item: Item) -> list[AccessEntry]:
    """Every read and export of the item, oldest first."""
    rows = session.scalars(
        select(CustodyEvent)
        .where(CustodyEvent.item_id == item.id, CustodyEvent.type.in_(ACCESS_TYPES))
        .order_by(CustodyEvent.log_index)
    )
    return [_entry(row, item.kind) for row in rows]


def parse_moment(text: str, *, end_of_day: bool = False) -> dt.datetime:
    """A report bound: ``YYYY-MM-DD`` (the day's start, or with ``end_of_day`` the next day's,
    so that a date as an upper bound includes that day) or an ISO 8601 date and time (UTC
    when it names no offset). Raises ValueError on anything else."""
    text = text.strip()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        return start + dt.timedelta(days=1) if end_of_day else start
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO 8601 time") from None
    return _utc(moment)


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def case_access(
    session: Session,
    case: Case,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[AccessEntry]:
    """The case's access report, in log order: reads and exports of its items, searches of
    it (alone or with other cases), reveals of its identities, and grants on it given or
    taken away. ``since`` is inclusive, ``until`` exclusive; ``after`` a log index."""
    if since is not None:
        since = _utc(since)
    if until is not None:
        until = _utc(until)

    def bounded(query: Any) -> Any:
        if since is not None:
            query = query.where(CustodyEvent.at >= since)
        if until is not None:
            query = query.where(CustodyEvent.at < until)
        if after is not None:
            query = query.where(CustodyEvent.log_index > after)
        return query.order_by(CustodyEvent.log_index)

    own = bounded(
        select(CustodyEvent, Item.kind)
        .join(Item, Item.id == CustodyEvent.item_id)
        .where(Item.case_id == case.id, CustodyEvent.type.in_(ACCESS_TYPES))
    )
    if limit is not None:
        own = own.limit(limit)
    entries = [_entry(row, kind) for row, kind in session.execute(own)]
    # Records of the system case that name this case (a search of several cases, a grant).
    shared = bounded(
        select(CustodyEvent, Item.kind)
        .join(Item, Item.id == CustodyEvent.item_id)
        .where(Item.seed_key.in_((ARCHIVE_ACCESS, ACCESS_ADMIN)))
    )
    found = 0
    for row, kind in session.execute(shared):
        if limit is not None and found >= limit:
            break
        event = json.loads(row.canonical)
        details = event["details"]
        if case.slug in details.get("cases", ()) or (
            details.get("change") in CASE_CHANGES and details.get("case") == case.slug
        ):
            entries.append(_entry(row, kind, event))
            found += 1
    entries.sort(key=lambda e: e.log_index)
    return entries[:limit] if limit is not None else entries
