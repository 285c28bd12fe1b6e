"""Bulk import of items from JSON Lines: validated whole first, so bad input loses nothing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive.errors import ArchiveError
from archive.services import cases as case_service
from archive.services import items as item_service
from archive.services.redacting import review_redaction
from archive.services.runtime import Archive

KINDS = ("testimony", "source_excerpt")
ALLOWED = {
    "case",
    "kind",
    "text",
    "title",
    "language",
    "person",
    "event_date",
    "collected_at",
    "collected_by",
    "place",
    "tags",
    "citation",
    "publish",
}


@dataclass
class ImportReport:
    records: int = 0
    imported: int = 0
    published: int = 0
    errors: list[str] = field(default_factory=list)


def _check(n: int, obj: Any) -> list[str]:
    where = f"line {n}"
    if not isinstance(obj, dict):
        return [f"{where}: not a JSON object"]
    problems = [f"{where}: unknown field {k!r}" for k in sorted(set(obj) - ALLOWED)]
    for key in ("case", "kind", "text", "title", "language"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            problems.append(f"{where}: {key!r} is required (a non-empty string)")
    if obj.get("kind") not in KINDS:
        problems.append(f"{where}: kind must be one of {', '.join(KINDS)}")
    if obj.get("kind") == "source_excerpt" and not isinstance(obj.get("citation"), dict):
        problems.append(f"{where}: a source_excerpt needs a citation object")
    for key in ("event_date",):
        if obj.get(key) is not None:
            try:
                dt.date.fromisoformat(obj[key])
            except (TypeError, ValueError):
                problems.append(f"{where}: {key} must be a date YYYY-MM-DD")
    if obj.get("collected_at") is not None:
        try:
            stamp = dt.datetime.fromisoformat(obj["collected_at"])
            if stamp.tzinfo is None:
                problems.append(f"{where}: collected_at needs a time zone")
        except (TypeError, ValueError):
            problems.append(f"{where}: collected_at must be an ISO 8601 timestamp")
    tags = obj.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append(f"{where}: tags must be a list of strings")
    return problems


def read_records(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    records: list[tuple[int, dict[str, Any]]] = []
    errors: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"line {n}: not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            problems = _check(n, obj)
            errors.extend(problems)
            if not problems:
                records.append((n, obj))
    return records, errors


def _batches(
    records: list[tuple[int, dict[str, Any]]], size: int
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def import_jsonl(
    arc: Archive,
    path: Path,
    *,
    actor: str = "import",
    batch_size: int = 200,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    records, errors = read_records(path)
    report = ImportReport(records=len(records) + len(errors), errors=errors)
    if errors:
        return report
    with arc.db.sessions() as session:  # check references before writing anything
        for n, obj in records:
            try:
                case = case_service.get_case(session, obj["case"])
                if obj.get("person"):
                    case_service.get_person(session, case, obj["person"])
            except ArchiveError as exc:
                report.errors.append(f"line {n}: {exc.message}")
    if report.errors:
        return report
    for batch in _batches(records, batch_size):
        with arc.unit_of_work() as session:
            for _n, obj in batch:
                case = case_service.get_case(session, obj["case"])
                person = (
                    case_service.get_person(session, case, obj["person"])
                    if obj.get("person")
                    else None
                )
                collected_at = (
                    dt.datetime.fromisoformat(obj["collected_at"])
                    if obj.get("collected_at")
                    else None
                )
                item = item_service.ingest_text(
                    arc,
                    session,
                    case,
                    kind=obj["kind"],
                    text=obj["text"],
                    title=obj["title"],
                    language=obj["language"],
                    person=person,
                    event_date=dt.date.fromisoformat(obj["event_date"])
                    if obj.get("event_date")
                    else None,
                    collected_at=collected_at,
                    collected_by=obj.get("collected_by"),
                    place=obj.get("place"),
                    tags=obj.get("tags", []),
                    citation=obj.get("citation"),
                    actor=actor,
                    via="import",
                )
                report.imported += 1
                if obj.get("publish"):
                    # "publish": true means the importer accepts the engine's redaction;
                    # the acceptance is a custody event signed for this actor.
                    review_redaction(arc, session, item, actor=actor)
                    item_service.publish_item(arc, session, item, actor=actor)
                    report.published += 1
        if progress:
            progress(len(batch))
    return report
