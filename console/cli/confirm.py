"""The command line's confirmation before anything leaves the office — the same text as the
GUI's (``console.services.confirm``).

On a terminal it asks (and, in production above the profile's threshold, asks for the total
or the count to be typed) unless ``--yes``. With no terminal (a script, a scheduled job) it
goes ahead only with ``--yes`` or ``BILLER_CONSOLE_ASSUME_YES=1``; otherwise the command
exits 1 saying so, and nothing was sent.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from console.services.confirm import ASSUME_YES_ENV, Outbound, confirmation_text, typed_check, typed_matches


class NotConfirmed(SystemExit):
    """The operator (or the lack of a terminal) did not confirm: exit 1, nothing sent."""

    def __init__(self, message: str):
        print(message, file=sys.stderr)
        super().__init__(1)


def add_yes_option(parser: argparse.ArgumentParser) -> None:
    """``--yes`` on a sending command (also accepted before the command)."""
    parser.add_argument("--yes", "-y", action="store_true", default=argparse.SUPPRESS,
                        help=f"send without asking (scripts; or set {ASSUME_YES_ENV}=1)")


def assumed_yes(args: Any) -> bool:
    return bool(getattr(args, "yes", False)) or os.environ.get(ASSUME_YES_ENV, "").strip() in ("1", "yes", "true")


def confirm_or_exit(args: Any, outbound: Outbound, profile: Any, *, stdin=None, stderr=None) -> None:
    """Return when the send may go ahead; else raise ``NotConfirmed`` (exit 1)."""
    stdin, stderr = stdin or sys.stdin, stderr or sys.stderr
    text = confirmation_text(outbound)
    if assumed_yes(args):
        return  # the script said yes: stderr stays for errors (piped and --json runs print nothing else)
    if not (hasattr(stdin, "isatty") and stdin.isatty()):
        raise NotConfirmed(f"not confirmed: {outbound.action.lower()} needs confirmation; no terminal to ask on. "
                           f"Run with --yes or set {ASSUME_YES_ENV}=1 to send without asking.")
    print(text, file=stderr)
    check = typed_check(outbound, profile)
    if check is not None:
        print(check.prompt + ": ", end="", file=stderr, flush=True)
        if not typed_matches(check, stdin.readline()):
            raise NotConfirmed(f"not confirmed: the {check.field} typed does not match; nothing was sent.")
        return
    print("Send it? [y/N] ", end="", file=stderr, flush=True)
    if stdin.readline().strip().lower() not in ("y", "yes"):
        raise NotConfirmed("cancelled; nothing was sent.")
