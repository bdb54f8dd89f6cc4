"""The one error module of the domain: every refusal a verb raises carries the HTTP status, a code,
a message for people (already translated) and, for bad input, the fields and their problems.

The request lifecycle (`webapp.lifecycle`) renders them in one place: the friendly page for HTML,
`{"error": {"code", "message", "fields", …}}` for the API.
"""

from __future__ import annotations

from typing import Any

from models.i18n import lazy_gettext as _l

# The refusal every process-managing verb gives to everyone but the office (and admins).
MANAGERS_ONLY = _l("Only the performance office can manage processes.")


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None, **details: Any):
        super().__init__(message)
        self.message = str(message)
        self.fields: dict[str, list[str]] = fields or {}
        self.details = details


class NotFound(DomainError):
    status, code = 404, "not_found"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class Conflict(DomainError):
    """The object is not in a state that allows this (done already, claimed by someone else, …)."""

    status, code = 409, "conflict"


class Invalid(DomainError):
    """Input that breaks a rule; `fields` names each field (flat form names) and what is wrong."""

    status, code = 422, "invalid"

    @classmethod
    def on(cls, field: str, message: Any) -> Invalid:
        """One field's problem: the message is the refusal's and the field's."""
        return cls(str(message), fields={field: [str(message)]})


class BadRequest(DomainError):
    """A request that cannot be understood (an unknown filter, a missing choice)."""

    status, code = 400, "bad_request"


class TooLarge(DomainError):
    status, code = 413, "too_large"


class Throttled(DomainError):
    """Too many attempts (wrong passwords for an account or from an address): wait `retry_after` seconds."""

    status, code = 429, "throttled"

    def __init__(self, retry_after: int, message: str = "", **details: Any):
        super().__init__(message or f"retry after {retry_after} s", retry_after=retry_after, **details)
        self.retry_after = retry_after


REPORTED_PROBLEMS = 100  # a refused workbook reports its first problems and counts the rest


class WorkbookInvalid(Invalid):
    """An uploaded workbook that cannot be taken: its first REPORTED_PROBLEMS problems, by sheet, row
    and column (`rows`), and how many more there are (`more`)."""

    def __init__(self, rows: list[Any]):
        super().__init__("; ".join(f"{e.sheet}!{e.row} {e.column}: {e.reason}" for e in rows[:5]))
        self.rows = rows[:REPORTED_PROBLEMS]
        self.more = max(0, len(rows) - REPORTED_PROBLEMS)
        # the import's callers and its tests read the problems as `errors`
        self.errors = self.rows


def reject(problems: dict[str, list[str]]) -> None:
    """Raise Invalid naming each field and its problems, unless there are none (a verb's validation)."""
    if problems:
        raise Invalid(str(_l("Some fields need attention.")), fields=problems)


def forbid_unless(allowed: bool, message: Any = MANAGERS_ONLY) -> None:
    """Raise Forbidden with the message unless the object's check (`user.can_…()`) allowed it."""
    if not allowed:
        raise Forbidden(str(message))
