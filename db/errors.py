"""Errors of the database layer.

Every error the services raise derives from `DbError` and carries a message that can be
shown to the user as is: it names the database file (or URL, without its password) and
says what is wrong.
"""

from __future__ import annotations


class DbError(Exception):
    """Base class of every database-layer error."""


class DatabaseLocationError(DbError):
    """The database cannot be used where it is (missing or read-only folder/file)."""


class DatabaseReadOnlyError(DatabaseLocationError):
    """The database file (or its folder) cannot be written."""


class DatabaseUnavailableError(DbError):
    """The database server cannot be reached or refused the login."""


class DatabaseLockedError(DbError):
    """Another program kept the database locked longer than we are willing to wait."""


class DatabaseFullError(DbError):
    """The disk holding the database is full."""


class SchemaTooNewError(DbError):
    """The database was written by a newer version of the application."""


class MigrationError(DbError):
    """The schema could not be brought up to date (or the file is not ours)."""


class AuthenticationError(DbError):
    """Wrong user name or PIN, or the user is inactive."""


class PermissionDeniedError(DbError):
    """The acting user's role does not allow the operation."""


class NotFoundError(DbError):
    """A row that the caller referred to by id does not exist."""


class VerdictConflictError(DbError):
    """The joint's verdict changed under the caller (another station was faster)."""


class AppendOnlyError(DbError):
    """Code tried to change or delete an append-only row (verdicts, audit log)."""


class ReworkOpenError(DbError):
    """A board cannot be completed while it still has open rework items."""


# Errors after which the very same write may succeed later, unchanged: the database
# could not take a write at that moment (read-only, full disk, server gone, locked too
# long, file not openable). Callers may keep such a write and retry it (the review
# outbox); every other error refuses the write itself (a conflict, a role, a row).
WRITE_LATER_ERRORS: tuple[type[DbError], ...] = (
    DatabaseReadOnlyError,
    DatabaseFullError,
    DatabaseUnavailableError,
    DatabaseLockedError,
    DatabaseLocationError,
)
# The same, by class name (what crosses a thread boundary in an `ErrorInfo`).
WRITE_LATER_KINDS = frozenset(error.__name__ for error in WRITE_LATER_ERRORS)


def write_may_succeed_later(error: BaseException | str) -> bool:
    """Whether a write refused with `error` (an exception or its class name) may be
    kept and retried unchanged once the database can be written again."""
    kind = error if isinstance(error, str) else type(error).__name__
    return kind in WRITE_LATER_KINDS


__all__ = [
    "AppendOnlyError",
    "AuthenticationError",
    "DatabaseFullError",
    "DatabaseLocationError",
    "DatabaseLockedError",
    "DatabaseReadOnlyError",
    "DatabaseUnavailableError",
    "DbError",
    "MigrationError",
    "NotFoundError",
    "PermissionDeniedError",
    "ReworkOpenError",
    "SchemaTooNewError",
    "VerdictConflictError",
]
