"""An item: its original (opened with a recorded reason), metadata, custody timeline,
evidence bundle and access report."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from flask import Response, redirect, render_template, send_file, url_for
from flask_babel import lazy_gettext

from archive.models import Item
from archive.services import accountability
from archive.services.custody import events_of
from archive.services.export import export_bundle
from archive.services.originals import original_text
from archive.services.redacting import review_state
from archive.web.auth import actor_name
from archive.web.context import archive, read_session, writing
from archive.web.desk import desk
from archive.web.desk.common import (
    aware,
    desk_item,
    opened,
    principal,
    reason_message,
    remember_opened,
)
from archive.web.desk.forms import ReasonForm
from archive.web.desk.review import review_page
from evidence.digest import Digest

EVENT_LABELS = {
    "collected": lazy_gettext("Collected"),
    "ingested": lazy_gettext("Ingested"),
    "sealed": lazy_gettext("Sealed"),
    "redacted": lazy_gettext("Redacted"),
    "published": lazy_gettext("Published"),
    "accessed": lazy_gettext("Accessed"),
    "exported": lazy_gettext("Exported"),
    "transferred": lazy_gettext("Transferred"),
    "verified": lazy_gettext("Verified"),
    "access_changed": lazy_gettext("Access changed"),
}
ACCESS_LABELS = {
    "accessed": lazy_gettext("Read"),
    "exported": lazy_gettext("Exported"),
    "grant_added": lazy_gettext("Grant added"),
    "grant_revoked": lazy_gettext("Grant revoked"),
}

# ---- an item -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TimelineEvent:
    seq: int
    type: str
    at: dt.datetime
    actor: str
    key_id: str
    log_index: int
    event_hash: str
    signature: str
    details: dict[str, Any]
    signed: str  # the signed event, pretty-printed


def timeline(item: Item) -> list[TimelineEvent]:
    rows = []
    for row in events_of(read_session(), item):
        event = json.loads(row.canonical)
        rows.append(
            TimelineEvent(
                seq=row.seq,
                type=row.type,
                at=aware(row.at) or row.at,
                actor=row.actor,
                key_id=row.key_id,
                log_index=row.log_index,
                event_hash=row.event_hash,
                signature=base64.b64encode(row.signature).decode("ascii"),
                details=event.get("details", {}),
                signed=json.dumps(event, ensure_ascii=False, indent=2, sort_keys=True),
            )
        )
    return rows


def item_page(
    uid: str,
    *,
    original_form: ReasonForm | None = None,
    bundle_form: ReasonForm | None = None,
    status: int = 200,
) -> Any:
    session = read_session()
    arc = archive()
    item = desk_item(session, uid)
    opened_now = opened(uid)
    text = original_text(arc, item) if opened_now is not None and item.is_text else None
    return render_template(
        "desk_item.html",
        item=item,
        case=item.case,
        state=review_state(arc, item),
        opened=opened_now,
        text=text,
        original_form=original_form or ReasonForm(formdata=None, prefix="original", next="item"),
        bundle_form=bundle_form or ReasonForm(formdata=None, prefix="bundle"),
        events=timeline(item),
        event_labels=EVENT_LABELS,
        access=accountability.item_access(session, item),
        access_labels=ACCESS_LABELS,
    ), status


@desk.get("/items/<uid>")
def item(uid: str) -> Any:
    return item_page(uid)


@desk.post("/items/<uid>/original")
def open_original(uid: str) -> Any:
    form = ReasonForm(prefix="original")
    back = "review" if form.next.data == "review" else "item"
    try:
        reason = accountability.check_reason(
            form.reason.data, field="reason", what="the original of this item"
        )
    except accountability.ReasonRequired as exc:
        form.reason.errors = [reason_message(exc)]
        if back == "review":
            return review_page(uid, original_form=form, status=422)
        return item_page(uid, original_form=form, status=422)
    with writing() as session:
        event = accountability.record_original_read(
            archive(),
            session,
            desk_item(session, uid),
            actor=actor_name(principal()),
            reason=reason,
            via="web",
        )
        log_index = event.log_index
    remember_opened(uid, log_index)
    if back == "review":
        return redirect(url_for(".review", uid=uid) + "#original", 303)
    return redirect(url_for(".item", uid=uid) + "#original", 303)


@desk.get("/items/<uid>/original/file")
def original_file(uid: str) -> Any:
    """A file exhibit's original bytes, for a session that opened it with a reason."""
    item = desk_item(read_session(), uid)
    if item.is_text or opened(uid) is None:
        return redirect(url_for(".item", uid=uid) + "#original", 303)
    response = send_file(
        archive().blobs.path_for(Digest.parse(item.digest)),
        mimetype=item.blob.media_type,
        as_attachment=True,
        download_name=item.filename or uid,
        conditional=False,
        etag=False,
    )
    return response


@desk.post("/items/<uid>/bundle")
def bundle(uid: str) -> Any:
    """The evidence bundle: an `exported` custody event with its reason, then the file."""
    form = ReasonForm(prefix="bundle")
    desk_item(read_session(), uid)
    try:
        made = export_bundle(
            archive(),
            uid,
            actor=actor_name(principal()),
            via="web",
            reason=form.reason.data or "",
            reason_field="reason",
        )
    except accountability.ReasonRequired as exc:
        form.reason.errors = [reason_message(exc)]
        return item_page(uid, bundle_form=form, status=422)
    response = Response(made.to_json(), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{uid}.bundle.json"'
    return response
