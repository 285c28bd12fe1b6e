"""The desk: the pages investigators and legal teams work in, behind sign-in.

- a case: its protected persons (pseudonyms only; an identity is revealed by a deliberate,
  recorded action that asks why) and its items, with their status and review state;
- intake of a testimony, a source excerpt or a file exhibit;
- an item: its original (opened with a reason, which the custody log keeps), metadata,
  custody timeline, evidence bundle and access report;
- the redaction review: proposed spans by source, accept or remove them, hide more text,
  preview the public text, save the review, publish.

Views are thin: the route rules (`archive.web.access`) check role and grant first; input is
checked by the API's marshmallow schemas and by the services, which do the work. Legal
teams see the same pages without the controls their role does not allow (and the route
rules refuse those actions anyway).

Opening an original is one `accessed` event with its reason; the original then stays open
to that user for the rest of the signed-in session (so a review's round trips do not ask
again). The author of an item needs no reason to see what they have just entered.
"""

from __future__ import annotations

from flask import Blueprint, request, url_for

desk = Blueprint("desk", __name__, url_prefix="/desk")

# ---- back after signing in -----------------------------------------------------------------

RESUME = {
    "desk.open_original": "desk.item",
    "desk.bundle": "desk.item",
    "desk.publish": "desk.review",
}


def resume_path() -> str:
    """Where to send a browser back to once signed in again, after a form was sent
    with an ended session: the page the form was on."""
    endpoint = request.endpoint or ""
    args = request.view_args or {}
    if endpoint in RESUME:
        return url_for(RESUME[endpoint], **args)
    if endpoint.startswith("desk."):
        return request.path  # the form's own page answers GET at the same address
    return url_for("signin.desk")


# The pages register their routes on `desk` when imported.
from archive.web.desk import cases, intake, items, review  # noqa: E402

__all__ = ["cases", "desk", "intake", "items", "resume_path", "review"]
