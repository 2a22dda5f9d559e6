"""The command line's exit codes: one table for every command (the README shows it).

Every ``biller-console`` command ends with one of these. A command that reads files declares
them with ``set_defaults(input_files=("file", "gl_map", ...))``: :func:`missing_input` checks
them before the command runs, so a missing input file is 66 for every command alike.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OK = 0
INVALID = 1  # the input breaks rules, or the command was refused / could not run; nothing half-done
ATTENTION = 2  # something is left or waits for a person: run again (nothing is sent twice) or look
REFUSED_REMOTE = 3  # the other side refused: already sent, host key, credentials
UNKNOWN_OUTCOME = 4  # the connection was lost: the outcome is unknown; run the same command again
NO_INPUT = 66  # a file named on the command line is missing or cannot be read (sysexits EX_NOINPUT)
NOT_PERMITTED = 77  # the operator's role does not allow it (sysexits EX_NOPERM); a wrong PIN is 1
CANCELLED = 130  # Ctrl-C

TABLE: tuple[tuple[int, str, str], ...] = (
    (OK, "done", "everything was done or reported; a dry run"),
    (INVALID, "refused or invalid: nothing was done",
     "the input breaks rules (errors name line, field and rule); configuration or credentials missing; "
     "no operator, a missing or wrong PIN, a locked operator ID; not confirmed; a refused `drawer close`; "
     "a damaged journal, a full disk, or a journal check that stopped posting and payments"),
    (ATTENTION, "needs attention",
     "entries left or waiting for review (run again: nothing is sent twice); `counter` payments that need "
     "attention; a card read rejected (swipe again); bills held or unmatched"),
    (REFUSED_REMOTE, "refused by the other side", "already sent (needs a supervisor's override); unknown or "
     "changed host key; the server refused (`invoices send`, `transfer`)"),
    (UNKNOWN_OUTCOME, "outcome unknown", "the connection was lost: run the same command again (it reconciles "
     "first, it never sends twice)"),
    (NO_INPUT, "input missing", "a file named on the command line does not exist or cannot be read; the "
     "named layout or template does not exist"),
    (NOT_PERMITTED, "not permitted", "the operator's role does not allow it (`not permitted: <role> may not "
     "<action>`)"),
    (CANCELLED, "cancelled", "Ctrl-C"),
)


def missing_input(args) -> str | None:
    """The first declared input file that is not a readable file, as a message; None when all are."""
    for name in getattr(args, "input_files", ()) or ():
        value = getattr(args, name, None)
        if value is None:
            continue
        path = Path(value)
        if not path.is_file():
            what = "does not exist" if not path.exists() else "is not a file"
            return f"{path} {what} ({'--' + name.replace('_', '-') if name not in ('file', 'pdf') else name})"
    return None


def report_missing(args, message: str) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"error": message, "exit": NO_INPUT}, indent=2))
    print(f"biller-console {getattr(args, 'command', '')}: {message}", file=sys.stderr)
    return NO_INPUT
