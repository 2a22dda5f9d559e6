"""``biller-console journal status|backup|restore|acknowledge``: the journal's identity, audit anchor and backups.

- ``status [--json]`` runs the check made before posting and payments: the journal is the one
  the console used (not missing, empty, foreign or older), the audit chain verifies under its
  key, both append-only triggers exist and the anchored head is in the chain. Prints the
  anchor ("Audit anchor: 1,234 entries, head 9f3a…") and the newest backup.
- ``backup --out FILE`` copies the live journal with SQLite's online backup (consoles may keep
  working). FILE may not be named ``journal*.sqlite3``.
- ``restore --from FILE --operator ID`` puts a backup back (close every console first): the
  file is verified (integrity, this console's journal, its audit chain under the key), the
  replaced journal is kept in ``<data folder>/replaced/``, the restore is audited.
- ``acknowledge --operator ID [--note TEXT]``: a supervisor accepts what the check found and
  posting goes on (audited; the acknowledgment becomes the chain's verified base).

The supervisor's PIN comes from ``$BILLER_CONSOLE_PIN``, else it is asked for on a terminal.

Exit codes (the README's table): 0 done / the check passed; 1 the check found something, or the
command could not run (a damaged journal, a backup that does not verify); 66 the backup to restore
does not exist; 77 not a supervisor; 1 a missing or wrong PIN (counted toward the operator's lockout).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from console.errors import UserFacingError

EXIT_OK, EXIT_FAILED = 0, 1


def register(sub) -> None:
    p = sub.add_parser("journal", help="the journal: identity and audit check, backup, restore, acknowledge",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmds = p.add_subparsers(dest="journal_command", metavar="ACTION", required=True)
    status = cmds.add_parser("status", help="check the journal and its audit log; print the anchor")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=cmd_status)
    backup = cmds.add_parser("backup", help="copy the live journal (SQLite online backup)")
    backup.add_argument("--out", type=Path, required=True, metavar="FILE", help="the copy (not journal*.sqlite3)")
    backup.set_defaults(func=cmd_backup)
    restore = cmds.add_parser("restore", help="put a backup back as the live journal (a supervisor)")
    restore.add_argument("--from", dest="source", type=Path, required=True, metavar="FILE", help="the backup")
    restore.add_argument("--operator", required=True, help="the supervisor's operator ID")
    restore.set_defaults(func=cmd_restore, input_files=("source",))
    ack = cmds.add_parser("acknowledge", help="a supervisor accepts the check's findings and goes on (audited)")
    ack.add_argument("--operator", required=True, help="the supervisor's operator ID")
    ack.add_argument("--note", default="", help="why (kept in the audit log)")
    ack.set_defaults(func=cmd_acknowledge)


def _local_only(services, what: str) -> None:
    """backup, restore and acknowledge work on the local SQLite journal; a journal server is backed
    up and restored with PostgreSQL's own tools (pg_dump / pg_restore)."""
    if getattr(services, "journal_is_server", False):
        raise UserFacingError(f"The journal is on a PostgreSQL server: {what} it with pg_dump / pg_restore "
                              "(docs/journal-postgresql.md); this command works on a local journal")


def _pin(operator_id: str) -> str:
    pin = os.environ.get("BILLER_CONSOLE_PIN")
    if pin is None:
        if not sys.stdin.isatty():
            raise UserFacingError("no PIN: set BILLER_CONSOLE_PIN or run on a terminal")
        pin = getpass.getpass(f"PIN for {operator_id}: ")
    return pin


def cmd_status(args) -> int:
    from console.app import build_services
    from console.services.journal_backup import backup_folder, backups

    services = build_services(args.profile)
    try:
        status = services.journal_check()
        folder = backup_folder(services.paths, services.profile)
        newest = next(iter(backups(folder)), None)
    finally:
        services.close()
    backup_text = f"{newest.path} ({newest.age_text()})" if newest else f"none yet in {folder}"
    if args.json:
        print(json.dumps({"ok": status.ok, "findings": list(status.findings), "anchor": status.anchor,
                          "identity": status.identity, "key": status.key_storage, "newest_backup": backup_text},
                         indent=2))
    else:
        print("journal: " + ("intact" if status.ok else "NOT INTACT: posting and payments are stopped"))
        for finding in status.findings:
            print(f"  found: {finding}")
        print(f"  {status.anchor or 'Audit anchor: none yet'}")
        print(f"  identity: {status.identity}")
        print(f"  audit key: {status.key_storage}")
        print(f"  newest backup: {backup_text}")
    return EXIT_OK if status.ok else EXIT_FAILED


def cmd_backup(args) -> int:
    from console.paths import Paths
    from console.services.journal_backup import backup_journal

    info = backup_journal(Paths.default().journal_file, args.out)
    print(f"journal backed up to {info.path} ({info.size:,} bytes)")
    return EXIT_OK


def cmd_restore(args) -> int:
    from console.adapters.sqlite_errors import JournalUnavailable
    from console.app import build_services
    from console.services.operators import OperatorService

    services = build_services(args.profile, operator_id=args.operator)
    try:
        pin = _pin(args.operator)
        try:  # the one PIN check, with the lockout kept in the journal
            supervisor = services.operators.approve(args.operator, pin, for_action="journal.restore",
                                                    by=args.operator)
        except JournalUnavailable:
            # the journal is the damaged thing: the PIN is checked without its lockout table and
            # audit log; the restore itself is audited with the supervisor's ID in the restored journal
            supervisor = OperatorService(services.profile).approve(args.operator, pin, for_action="journal.restore",
                                                                   by=args.operator)
        _local_only(services, "restore")
        kept = services.journal_guard.restore(args.source, supervisor.operator_id)
        status = services.journal_guard.check()
    finally:
        services.close()
    print(f"journal restored from {args.source}; the replaced journal is kept as {kept}")
    print(f"  {status.anchor}")
    for finding in status.findings:
        print(f"  still found: {finding}")
    return EXIT_OK if status.ok else EXIT_FAILED


def cmd_acknowledge(args) -> int:
    from console.app import build_services

    services = build_services(args.profile, operator_id=args.operator)
    try:
        _local_only(services, "check and repair")
        before = services.journal_guard.check()
        supervisor = services.operators.approve(args.operator, _pin(args.operator),
                                                for_action="audit.check_acknowledged", by=args.operator)
        after = services.journal_guard.acknowledge(supervisor.operator_id, note=args.note)
    finally:
        services.close()
    for finding in before.findings:
        print(f"acknowledged: {finding}")
    print(f"  {after.anchor}")
    for finding in after.findings:
        print(f"  still found: {finding}")
    return EXIT_OK if after.ok else EXIT_FAILED
