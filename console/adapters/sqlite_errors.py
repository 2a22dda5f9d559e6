"""SQLite's own failures as one user-facing line: what happened, to which file, what to do.

The journal adapter (and everything on the journal's file: the audit log, the lockbox registry)
wraps its SQLite calls in :func:`journal_errors`; the command line's error sorting uses
:func:`unavailable` for a SQLite error that escaped an adapter.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from console.errors import UserFacingError


class JournalUnavailable(UserFacingError):
    """SQLite could not use the journal file: ``kind`` is ``damaged`` (malformed, truncated, not
    an SQLite file), ``full`` (the disk or the database size limit is reached) or ``unusable``
    (cannot be opened, read-only, locked too long)."""

    def __init__(self, message: str, *, kind: str, path: Path | None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.kind = kind
        self.path = path


_DAMAGED_MARKS = ("malformed", "not a database", "file is encrypted", "disk i/o error", "corrupt")


def unavailable(exc: sqlite3.Error, path: Path | None) -> JournalUnavailable:
    """The user-facing form of a SQLite failure on ``path`` (one line: what, where, what to do)."""
    text = str(exc)
    low = text.lower()
    where = str(path) if path is not None else "a console database (the journal or the card-read memory)"
    if "database or disk is full" in low or "disk is full" in low:
        return JournalUnavailable(
            f"The disk holding {where} is full: nothing was half-done (the change was rolled back); "
            "free disk space and run it again", kind="full", path=path)
    if any(mark in low for mark in _DAMAGED_MARKS) or type(exc) is sqlite3.DatabaseError:
        return JournalUnavailable(
            f"{where} is damaged or not a journal ({text}): stop posting and restore the last backup "
            "with 'biller-console journal restore --from FILE'", kind="damaged", path=path)
    return JournalUnavailable(f"{where} cannot be used ({text})", kind="unusable", path=path)


@contextmanager
def journal_errors(path: Path | None) -> Iterator[None]:
    """Turn SQLite's failures on ``path`` into :class:`JournalUnavailable`. Constraint and
    programming errors (IntegrityError, ProgrammingError…) are the caller's business and pass."""
    try:
        yield
    except (sqlite3.OperationalError, sqlite3.InternalError) as exc:
        raise unavailable(exc, path) from exc
    except sqlite3.DatabaseError as exc:
        if type(exc) is not sqlite3.DatabaseError:
            raise
        raise unavailable(exc, path) from exc
