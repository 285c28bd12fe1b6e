"""Who may do what: the one authorisation table (role x action).

Every route of the web application names one action here (see `archive.web.access`);
a route that names none is refused, and a test walks the URL map to find it.
No Flask here: the CLI and the services ask the same table.
"""

from __future__ import annotations

from typing import Final

ROLES: Final = ("admin", "investigator", "legal")
"""Roles of authenticated callers; the anonymous public has no role."""

PUBLIC: Final = "public"
"""The action of routes anyone may call, anonymously included."""

SIGNED_IN: Final = "signed_in"
"""The action of a signed-in user's own pages (their desk, their account): every role."""

# Actions on a case's content. They will need a grant on the case (per-case grants are
# the next step of the access work); until then a role's actions hold for every case.
CONTENT_READ: Final = frozenset(
    {
        "person.list",  # pseudonyms only
        "item.read_original",  # an unredacted view: needs a reason, recorded as `accessed`
        "item.custody",
        "item.bundle",  # needs a reason, recorded as `exported`
        "item.similar",
        "redaction.read",
        "search.restricted",  # recorded: who, the cases, the query
        "access.report",  # who read or exported what, when and why
    }
)
CONTENT_WRITE: Final = frozenset(
    {
        "case.create",
        "person.register",
        "person.alias",
        "person.reveal",  # recorded, with its reason, in the case's access record
        "item.ingest",
        "item.publish",
        "redaction.review",
    }
)
ADMINISTRATION: Final = frozenset({"user.manage", "grant.manage", "key.manage"})

ACTIONS: Final = frozenset({PUBLIC, SIGNED_IN}) | CONTENT_READ | CONTENT_WRITE | ADMINISTRATION

PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    # Investigators collect, protect, review and publish.
    "investigator": CONTENT_READ | CONTENT_WRITE,
    # Legal teams read originals, custody records and bundles, and verify; they edit nothing.
    "legal": CONTENT_READ,
    # Administrators manage users, grants and keys. Content is theirs only through a grant;
    # until grants exist, the bootstrap administrator keeps the content actions it had.
    "admin": ADMINISTRATION | CONTENT_READ | CONTENT_WRITE,
}


def allowed(role: str | None, action: str) -> bool:
    """May a caller with this role (None: anonymous) perform the action?"""
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}")
    if action == PUBLIC:
        return True
    if action == SIGNED_IN:
        return role in ROLES
    return role is not None and action in PERMISSIONS.get(role, frozenset())
