"""The archive's error tree. One handler in ``archive.web`` renders each as JSON."""

from __future__ import annotations

from typing import Any


class ArchiveError(Exception):
    """Base of every error the archive reports to a caller on purpose."""

    status = 400

    def __init__(self, message: str, *, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotFound(ArchiveError):
    status = 404


class Conflict(ArchiveError):
    status = 409


class InvalidInput(ArchiveError):
    status = 422


class NotReady(ArchiveError):
    """The item is not in a state that allows the action (e.g. publish before redaction)."""

    status = 409


class Unauthorized(ArchiveError):
    status = 401


class Forbidden(ArchiveError):
    """Authenticated, but the caller's role does not allow the action."""

    status = 403


class IntegrityFailure(ArchiveError):
    """Stored evidence no longer matches what was recorded."""

    status = 500
