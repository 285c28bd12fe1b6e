"""Load the founding case through the services, idempotently.

Running it twice changes nothing: the case is found by its slug, persons by their names
(decrypted in memory), items by their seed key.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from archive.errors import NotFound
from archive.services import cases as case_service
from archive.services import items as item_service
from archive.services.redacting import review_redaction
from archive.services.runtime import Archive
from archive.services.vault import Identity

ACTOR = "seed:founding-case"


@dataclass(frozen=True, kw_only=True)
class SeedReport:
    case: str
    persons_added: int
    items_added: int
    items_published: int


def founding_case_path() -> Path:
    return Path(str(files("seeds") / "moura.json"))


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def load_seed(arc: Archive, path: Path | None = None, *, publish: bool = True) -> SeedReport:
    data: dict[str, Any] = json.loads((path or founding_case_path()).read_text(encoding="utf-8"))
    persons_added = items_added = items_published = 0
    with arc.unit_of_work() as session:
        spec = data["case"]
        try:
            case = case_service.get_case(session, spec["slug"])
        except NotFound:
            case = case_service.create_case(
                session,
                slug=spec["slug"],
                title=spec["title"],
                summary=spec.get("summary", ""),
                place=spec.get("place"),
            )
        known = {frozenset(case_service.open_identity(arc, p).names): p for p in case.persons}
        persons = {}
        for entry in data["persons"]:
            names = frozenset(entry["names"])
            person = known.get(names)
            if person is None:
                identity = Identity(
                    names=tuple(entry["names"]),
                    aliases=tuple(entry.get("aliases", ())),
                    notes=entry.get("description"),
                )
                person = case_service.register_person(
                    arc, session, case, role=entry["role"], identity=identity
                )
                persons_added += 1
            persons[entry["key"]] = person
        for entry in data["items"]:
            seed_key = f"{spec['slug']}/{entry['key']}"
            item = item_service.find_seeded(session, seed_key)
            if item is None:
                collected = _date(entry.get("collected_date"))
                item = item_service.ingest_text(
                    arc,
                    session,
                    case,
                    kind=entry["kind"],
                    text=entry["text"],
                    title=entry["title"],
                    language=entry["language"],
                    person=persons[entry["person"]] if entry.get("person") else None,
                    event_date=_date(entry.get("event_date")),
                    collected_at=dt.datetime.combine(collected, dt.time(), dt.UTC)
                    if collected
                    else None,
                    collected_by=(entry.get("citation") or {}).get("publication"),
                    place=entry.get("place"),
                    tags=entry.get("tags", []),
                    citation=entry.get("citation"),
                    actor=ACTOR,
                    via="seed",
                    seed_key=seed_key,
                )
                items_added += 1
            if publish and item.status != "published":
                # The founding case is published as transcribed: its review accepts the
                # engine's proposal, and that acceptance is recorded in custody.
                review_redaction(arc, session, item, actor=ACTOR)
                item_service.publish_item(arc, session, item, actor=ACTOR)
                items_published += 1
    return SeedReport(
        case=data["case"]["slug"],
        persons_added=persons_added,
        items_added=items_added,
        items_published=items_published,
    )
