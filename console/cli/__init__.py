"""``biller-console``: the GUI by default, subcommands for every service.

Each area lives in its own module ``console.cli.<area>`` with ``register(subparsers)``;
modules are imported only when their command is used or help is asked for, so the GUI
start stays fast.

Errors are sorted once, here (exit codes: ``console.cli.exit_codes``): a user-facing error (and
a SQLite failure that escaped the journal adapter: a damaged, foreign or full database) prints
one line on stderr and exits 1 (77 when the role is not permitted; a wrong PIN is 1, never 77); a
cancel exits 130.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from console import __version__

# area name -> one-line help. Each has a module console/cli/<area>.py with register().
AREAS: dict[str, str] = {
    "swipe": "IDTech SRED card reader: parse and check a swiped frame",
    "bills": "bill images: index and split bill batch PDFs",
    "sandbox": "run the embedded sandbox in the foreground; --report, --reset, --adjust",
    "diagnose": "check profile, keyring, Caselle, token, API features, clock, disk, journal",
    "post": "import an Invoice Cloud payments / rejects / changes file and post it to Caselle, exactly once",
    "lockbox": "CloudStore lockbox files: build, check, send, summary sheet",
    "invoices": "invoice export: check it against its layout (and send it) to Invoice Cloud",
    "transfer": "file transfer: connection test, pinned host keys, remote folders, delivery status",
    "adjustments": "account sync: send Caselle adjustments to Invoice Cloud as balance updates, exactly once",
    "conveyances": "conveyances: end the old owner's Invoice Cloud AutoPay, paperless and registration, exactly once",
    "conversions": "data conversion file (paperless, AutoPay, registration) for Invoice Cloud",
    "posting": "end-of-day / reconciliation report: posting report --date D [--csv] [--pdf] [--json]",
    "audit": "audit log: audit export --out FILE.csv (hash chain checked)",
    "counter": "counter payments: take, void, list a day's payments, resolve unconfirmed card payments",
    "drawer": "cash drawer: open with a float, close out with a count, deposit slip, reopen",
    "day": "the daily close: every channel of a day side by side, sealed by a supervisor",
    "journal": "the journal: identity and audit check, backup, restore, acknowledge a finding",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="biller-console", description="Invoice Cloud <-> Caselle operator console")
    parser.add_argument("--version", action="version", version=f"biller-console {__version__}")
    parser.add_argument("--profile", help="profile name (default: the configured default, else 'sandbox')")
    parser.add_argument("--secrets-fd", type=int, metavar="N",
                        help="read this session's secrets (NAME=VALUE lines) from file descriptor N; "
                             "kept in memory only (also $BILLER_CONSOLE_SECRETS_FD). Without it a "
                             "command asks on the terminal for a secret the keyring does not hold")
    parser.add_argument("--self-test", action="store_true", help="open every tab offscreen and exit 0")
    parser.add_argument("--timing", action="store_true", help="with --self-test: print start-up timing")
    parser.add_argument("--yes", "-y", action="store_true",
                        help="send without asking for confirmation (scripts; or BILLER_CONSOLE_ASSUME_YES=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for area, help_text in AREAS.items():
        if only is not None and area != only:
            sub.add_parser(area, help=help_text)
            continue
        module = importlib.import_module(f"console.cli.{area.replace('-', '_')}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    if getattr(sys, "frozen", False):  # in a PyInstaller build, worker processes (bill indexer) start here
        import multiprocessing

        multiprocessing.freeze_support()
    argv = list(sys.argv[1:] if argv is None else argv)
    # the first area name that is not the value of --profile (``--profile sandbox invoices …``)
    command = next((a for i, a in enumerate(argv)
                    if a in AREAS and (i == 0 or argv[i - 1] not in ("--profile", "--secrets-fd"))), None)
    wants_help = any(a in ("-h", "--help") for a in argv)
    parser = build_parser(only=command if command else (None if wants_help else ""))
    args = parser.parse_args(argv)
    if args.command is None:
        from console.ui.app import run_gui  # the only import of the GUI

        return run_gui(args)
    from console import secrets
    from console.cli import session_secrets
    from console.cli.exit_codes import INVALID, NO_INPUT, missing_input, report_missing
    from console.errors import ValidationError

    problem = missing_input(args)
    if problem is not None:
        return report_missing(args, problem)
    try:
        source = session_secrets.build_source(session_secrets.fd_from(args.secrets_fd),
                                              prompt=args.command in session_secrets.PROMPTING)
    except ValidationError as exc:  # the descriptor cannot be read (66) or its lines break rules (1)
        print(f"error: {exc}", file=sys.stderr)
        for p in exc.problems:
            print(f"  {p}", file=sys.stderr)
        return NO_INPUT if any(p.rule == "secrets_fd" for p in exc.problems) else INVALID
    restore = secrets.use_session_source(source)
    try:
        return run_command(args)
    finally:
        restore()


def run_command(args) -> int:
    """Run a subcommand; sort what it raises (see the module docstring)."""
    import sqlite3

    from console.cli import exit_codes
    from console.errors import Cancelled, NotPermitted, UserFacingError

    try:
        return int(args.func(args) or 0)
    except UserFacingError as exc:  # a wrong PIN (SignInError) is 1 like any refusal of who is acting
        return _one_line(exc, exit_codes.NOT_PERMITTED if isinstance(exc, NotPermitted) else exit_codes.INVALID)
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError)):
            raise  # a bug, not a damaged file
        from console.adapters.sqlite_errors import unavailable

        return _one_line(unavailable(exc, None), exit_codes.INVALID)
    except (Cancelled, KeyboardInterrupt):
        print("cancelled", file=sys.stderr)
        return exit_codes.CANCELLED


def _one_line(exc: Exception, code: int) -> int:
    text = " ".join(str(exc).split())
    problems = getattr(exc, "problems", None)
    if problems:
        text += ": " + "; ".join(" ".join(str(p).split()) for p in problems[:3])
    print(f"error: {text}", file=sys.stderr)
    return code
