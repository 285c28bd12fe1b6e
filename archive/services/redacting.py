"""Redaction as a use case: proposals, an investigator's review, and the public text.

The engine (``redaction.py``) proposes spans: the case's protected names and patterns.
An investigator reviews them: keeps them, removes a false positive, or marks more text by
hand with a reason. Decisions are stored against offsets of the original, which never
changes. Spans are widened to whole segments of the disclosure commitment, so the public
text is exactly what the disclosure proof renders. Publishing needs a review of the
current proposal: a new protected person or alias makes an earlier review stale.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.errors import InvalidInput
from archive.models import Case, Item, Redaction, RedactionDecision, utcnow
from archive.services.cases import protected_names
from archive.services.custody import append_event
from archive.services.originals import enqueue_index, original_text
from archive.services.redaction import (
    ENGINE_VERSION,
    ProtectedName,
    Span,
    apply_spans,
    find_pattern_spans,
    find_person_spans,
    merge_spans,
    redact,
)
from archive.services.runtime import Archive
from evidence.digest import Digest
from evidence.disclosure import snap_spans

MAX_LABEL = 80


@dataclass(frozen=True, kw_only=True)
class ManualSpan:
    start: int
    end: int
    label: str
    reason: str


def _decisions(session: Session, item: Item) -> list[RedactionDecision]:
    return list(
        session.scalars(
            select(RedactionDecision)
            .where(RedactionDecision.item_id == item.id)
            .order_by(RedactionDecision.id)
        )
    )


def proposed_spans(text: str, names: Sequence[ProtectedName]) -> list[Span]:
    return merge_spans([*find_person_spans(text, names), *find_pattern_spans(text)])


def effective_spans(
    text: str, proposed: Sequence[Span], decisions: Sequence[RedactionDecision]
) -> list[Span]:
    removed = {(d.start, d.end) for d in decisions if d.action == "remove"}
    manual = [
        Span(start=d.start, end=d.end, label=d.label, source="manual", reason=d.reason)
        for d in decisions
        if d.action == "add"
    ]
    merged = merge_spans([*(s for s in proposed if (s.start, s.end) not in removed), *manual])
    snapped = snap_spans(text, [(s.start, s.end, s.label) for s in merged])
    result = []
    for start, end, label in snapped:
        origin = next((s for s in merged if s.start < end and start < s.end), None)
        result.append(
            Span(
                start=start,
                end=end,
                label=label,
                source=origin.source if origin else "manual",
                reason=origin.reason if origin else "widened to whole words",
            )
        )
    return result


def redaction_basis(
    item: Item, names: Sequence[ProtectedName], decisions: Sequence[RedactionDecision]
) -> str:
    """A fingerprint of everything a redaction depends on; a change makes it stale."""
    material = json.dumps(
        [
            ENGINE_VERSION,
            item.digest,
            item.title,
            item.place,
            item.tags,
            item.description,
            item.citation,
            sorted((n.label, sorted(n.names)) for n in names),
            [(d.action, d.start, d.end, d.label, d.reason) for d in decisions],
        ],
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    )
    return "sha256:" + hashlib.sha256(material.encode()).hexdigest()


def public_text_digest(item: Item) -> str:
    return str(Digest.sha256((item.public_text or "").encode()))


def redact_item(
    arc: Archive, session: Session, item: Item, *, actor: str, force: bool = False
) -> bool:
    """Recompute the public text; record a `redacted` event when it changed.

    A published item whose public text changes is re-published at once (a new `published`
    event), so the public record never shows text that its signed events don't cover.
    """
    names = protected_names(arc, item.case)
    decisions = _decisions(session, item)
    basis = redaction_basis(item, names, decisions)
    if item.redaction_basis == basis and not force:
        return False
    previous = item.public_text, item.public_title
    spans: list[Span] = []
    if item.is_text:
        text = original_text(arc, item)
        spans = effective_spans(text, proposed_spans(text, names), decisions)
        item.public_text = apply_spans(text, spans)
    else:
        item.public_text = redact(item.description, names).text if item.description else None
    item.public_title = redact(item.title, names).text
    item.redactions.clear()
    session.flush()
    item.redactions.extend(
        Redaction(start=s.start, end=s.end, label=s.label, source=s.source, reason=s.reason)
        for s in spans
    )
    item.redaction_basis = basis
    item.redacted_at = utcnow()
    changed = previous != (item.public_text, item.public_title)
    if changed:
        append_event(
            arc,
            session,
            item,
            "redacted",
            actor=actor,
            details={
                "engine": ENGINE_VERSION,
                "spans": len(spans),
                "labels": sorted({s.label for s in spans}),
                "public_text_digest": public_text_digest(item),
                "reviewed": False,
            },
        )
        if item.status == "published":
            from archive.services.items import record_publication

            record_publication(arc, session, item, actor=actor)
            enqueue_index(session, item)
    return changed


def redact_case_items(arc: Archive, session: Session, case: Case, *, actor: str) -> int:
    changed = 0
    for item in session.scalars(select(Item).where(Item.case_id == case.id).order_by(Item.id)):
        changed += redact_item(arc, session, item, actor=actor)
    return changed


def _check_manual(text_length: int, spans: Sequence[ManualSpan]) -> None:
    problems: dict[str, list[str]] = {}
    ordered = sorted(spans, key=lambda s: (s.start, s.end))
    for n, span in enumerate(ordered):
        where = f"span [{span.start}, {span.end})"
        if not 0 <= span.start < span.end <= text_length:
            problems.setdefault("add", []).append(
                f"{where} is outside the text (0 to {text_length})"
            )
        if not span.reason.strip():
            problems.setdefault("add", []).append(f"{where} needs a reason")
        if (
            not span.label.strip()
            or len(span.label) > MAX_LABEL
            or any(c in span.label for c in "[]")
        ):
            problems.setdefault("add", []).append(
                f"{where} needs a label of 1-{MAX_LABEL} characters, no brackets"
            )
        if n and ordered[n - 1].end > span.start:
            problems.setdefault("add", []).append(
                f"{where} overlaps the span before it; mark it once"
            )
    if problems:
        raise InvalidInput("the manual spans are not valid", errors=problems)


def _new_decisions(
    arc: Archive,
    session: Session,
    item: Item,
    *,
    actor: str,
    add: Sequence[ManualSpan],
    remove: Sequence[tuple[int, int]],
) -> list[RedactionDecision]:
    """The decisions a review would record, checked against the original (not yet stored)."""
    if not item.is_text:
        if add or remove:
            raise InvalidInput(
                "spans apply to text items; a file exhibit's description is redacted automatically"
            )
        return []
    text = original_text(arc, item)
    _check_manual(len(text), add)
    proposal = {(s.start, s.end) for s in proposed_spans(text, protected_names(arc, item.case))}
    unknown = [f"[{a}, {b})" for a, b in remove if (a, b) not in proposal]
    if unknown:
        raise InvalidInput(
            "only proposed spans can be removed",
            errors={"remove": [f"{u} is not a proposed span" for u in unknown]},
        )
    existing = _decisions(session, item)
    overlapping = [
        f"[{s.start}, {s.end})"
        for s in add
        for d in existing
        if d.action == "add" and d.start < s.end and s.start < d.end
    ]
    if overlapping:
        raise InvalidInput("a span overlaps one marked before", errors={"add": overlapping})
    decisions = [
        RedactionDecision(
            item_id=item.id,
            action="add",
            start=span.start,
            end=span.end,
            label=span.label.strip(),
            reason=span.reason.strip(),
            decided_by=actor,
        )
        for span in add
    ]
    decisions += [
        RedactionDecision(
            item_id=item.id,
            action="remove",
            start=start,
            end=end,
            label="",
            reason="removed in review",
            decided_by=actor,
        )
        for start, end in remove
    ]
    return decisions


def review_redaction(
    arc: Archive,
    session: Session,
    item: Item,
    *,
    actor: str,
    add: Sequence[ManualSpan] = (),
    remove: Sequence[tuple[int, int]] = (),
) -> Item:
    """Accept the proposal with the investigator's changes; the item may then be published."""
    decisions = _new_decisions(arc, session, item, actor=actor, add=add, remove=remove)
    if decisions:
        session.add_all(decisions)
        session.flush()
    redact_item(arc, session, item, actor=actor)
    item.review_basis = item.redaction_basis
    item.reviewed_at = utcnow()
    item.reviewed_by = actor
    append_event(
        arc,
        session,
        item,
        "redacted",
        actor=actor,
        details={
            "engine": ENGINE_VERSION,
            "reviewed": True,
            "spans": len(item.redactions),
            "labels": sorted({r.label for r in item.redactions}),
            "added": len(add),
            "removed": len(remove),
            "public_text_digest": public_text_digest(item),
        },
    )
    return item


@dataclass(frozen=True, kw_only=True)
class ReviewPreview:
    """What the public text would be after a review with these changes (nothing stored)."""

    public_text: str | None
    spans: list[Span]


def preview_redaction(
    arc: Archive,
    session: Session,
    item: Item,
    *,
    actor: str,
    add: Sequence[ManualSpan] = (),
    remove: Sequence[tuple[int, int]] = (),
) -> ReviewPreview:
    """The public text a review with these changes would give, checked exactly as
    `review_redaction` checks them; nothing is recorded."""
    decisions = _new_decisions(arc, session, item, actor=actor, add=add, remove=remove)
    if not item.is_text:
        return ReviewPreview(public_text=item.public_text, spans=[])
    text = original_text(arc, item)
    names = protected_names(arc, item.case)
    spans = effective_spans(
        text, proposed_spans(text, names), [*_decisions(session, item), *decisions]
    )
    return ReviewPreview(public_text=apply_spans(text, spans), spans=spans)


def review_state(arc: Archive, item: Item) -> str:
    if item.review_basis is None:
        return "not reviewed"
    names = protected_names(arc, item.case)
    from sqlalchemy.orm import object_session

    session = object_session(item)
    decisions = _decisions(session, item) if session is not None else []
    if item.review_basis != redaction_basis(item, names, decisions):
        return "stale"
    return "reviewed"


def redaction_view(arc: Archive, session: Session, item: Item) -> dict[str, Any]:
    """What an investigator reviews: the proposal, their decisions and the public preview."""
    names = protected_names(arc, item.case)
    decisions = _decisions(session, item)
    proposal: list[Span] = []
    if item.is_text:
        proposal = proposed_spans(original_text(arc, item), names)
    return {
        "item": item.uid,
        "state": review_state(arc, item),
        "reviewed_at": item.reviewed_at,
        "reviewed_by": item.reviewed_by,
        "proposed": [
            {
                "start": s.start,
                "end": s.end,
                "label": s.label,
                "source": s.source,
                "reason": s.reason,
            }
            for s in proposal
        ],
        "decisions": [
            {
                "action": d.action,
                "start": d.start,
                "end": d.end,
                "label": d.label,
                "reason": d.reason,
                "by": d.decided_by,
                "at": d.decided_at,
            }
            for d in decisions
        ],
        "applied": [
            {
                "start": r.start,
                "end": r.end,
                "label": r.label,
                "source": r.source,
                "reason": r.reason,
            }
            for r in item.redactions
        ],
        "public_title": item.public_title,
        "public_text": item.public_text,
    }


__all__ = [
    "ManualSpan",
    "ReviewPreview",
    "dt",
    "preview_redaction",
    "redact_case_items",
    "redact_item",
    "redaction_view",
    "review_redaction",
    "review_state",
]
