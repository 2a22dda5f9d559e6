"""``biller-console invoices send FILE``: check the invoice export, then deliver it exactly once.

    biller-console [--profile NAME] invoices send FILE [--layout NAME] [--json]
                   [--wait SECONDS] [--operator ID] [--override --supervisor ID]
                   [--trust-host-key SHA256:...]

The file is checked first (every rule of its layout); an invalid file is never sent. Then it
goes through the profile's transfer (the sandbox's SFTP server with the sandbox profile):
temporary name, size verified, renamed; journaled, so running the same command again after a
lost connection reconciles and never creates a second file.

The operator acting is ``--operator``, else ``$BILLER_CONSOLE_OPERATOR``, else the profile's
automation operator; their PIN is ``$BILLER_CONSOLE_PIN``, else asked on a terminal (as for every
command that acts: ``console/cli/acting.py``). A role that may not send the invoice file exits 77;
a wrong or missing PIN exits 1.

A file already delivered is refused unless a supervisor overrides: ``--override --supervisor
super1`` (``--override super1`` also names the supervisor). The supervisor's PIN comes from
``$BILLER_CONSOLE_SUPERVISOR_PIN``, else it is asked for on a terminal, else it is read from
the first line of standard input. The PIN is asked for only when the file really was sent
before; the approval, the new journal entry (``override_by``) and a ``file.override`` audit
row all name the supervisor and the operator who asked.

An SFTP server the console has never seen is refused with its SHA-256 fingerprint; compare
it with the provider's and pass it back with ``--trust-host-key`` to pin it.

Prints the remote name and the delivery status ("awaiting pickup" until Stratus renames the
file to ``.snt``, then "delivered"); ``--wait`` polls up to that many seconds for delivery.

Exit codes:
  0  sent (or found already delivered by an earlier attempt)
  1  the file breaks rules; nothing was sent
  66 the file cannot be read, or the layout does not exist
  3  refused: already sent (needs a supervisor), unknown or changed host key, credentials,
     or the server refused; nothing was sent
  4  the connection was lost; the outcome is unknown — run the same command again (it
     reconciles first, it never sends twice)
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from console.cli.acting import acting, add_operator_argument
from console.cli.confirm import add_yes_option, confirm_or_exit
from console.cli.progress import progress_bar
from console.errors import Cancelled, NetworkError, NotPermitted, UserFacingError
from console.services.confirm import invoice_file_outbound

EXIT_SENT, EXIT_INVALID, EXIT_UNREADABLE, EXIT_REFUSED, EXIT_UNKNOWN = 0, 1, 66, 3, 4


def register(actions) -> None:
    p = actions.add_parser(
        "send", help="check an invoice file, then send it to Invoice Cloud (SFTP/Stratus or FTP) exactly once",
        description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=Path, help="the invoice TXT/CSV file")
    p.add_argument("--layout", default="ic-invoice-v1", help="layout name or .toml path (default ic-invoice-v1)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="poll the delivery status up to SECONDS until Stratus picked the file up")
    add_operator_argument(p)
    p.add_argument("--override", nargs="?", const="", default=None, metavar="SUPERVISOR_ID",
                   help="send a file that was already sent (needs --supervisor ID and that supervisor's PIN)")
    p.add_argument("--supervisor", metavar="ID", default=None,
                   help="supervisor approving --override (PIN from $BILLER_CONSOLE_SUPERVISOR_PIN, "
                        "else asked for, else the first line of standard input)")
    p.add_argument("--trust-host-key", metavar="FINGERPRINT", default=None,
                   help="pin an unknown SFTP server whose SHA-256 fingerprint you compared with the provider's")
    add_yes_option(p)
    p.set_defaults(func=acting("send_invoices")(cmd_send), input_files=("file",))


OVERRIDE_ACTION = "transfer.override"  # what the supervisor approves (as in the Invoice Import tab)


def _operator_id(args) -> str:
    if (args.operator or "").strip():
        return args.operator.strip()
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name on this system
        return "cli"


def _supervisor_id(args) -> str | None:
    """The supervisor named for ``--override`` (``--supervisor ID`` or ``--override ID``);
    None without ``--override``. Refuses an override that names nobody, or two different people."""
    if args.override is None:
        if args.supervisor:
            raise NotPermitted("--supervisor only approves an --override",
                               hint="add --override to send a file that was already sent")
        return None
    named = {x.strip() for x in (args.override, args.supervisor) if x and x.strip()}
    if not named:
        raise NotPermitted("--override needs --supervisor ID (and that supervisor's PIN)")
    if len(named) > 1:
        raise NotPermitted(f"--override {args.override} and --supervisor {args.supervisor} name two "
                           "different supervisors", hint="name the approving supervisor once")
    return named.pop()


def _read_pin(supervisor: str) -> str:
    pin = os.environ.get("BILLER_CONSOLE_SUPERVISOR_PIN")
    if pin is not None:
        return pin
    if sys.stdin.isatty():
        return getpass.getpass(f"PIN for {supervisor}: ")
    return sys.stdin.readline().rstrip("\r\n")


def _approve(services, supervisor: str, operator: str):
    """The supervisor's countersignature (ID + PIN, audited either way by the operator service)."""
    if not services.profile.operators:
        raise NotPermitted("--override needs a supervisor, and this profile has no operators yet: "
                           "add them in Settings first")
    return services.operators.approve(supervisor, _read_pin(supervisor), for_action=OVERRIDE_ACTION,
                                      by=operator, path="override")


def _emit(args, data: dict[str, Any], human: list[str], *, err: bool = False) -> None:
    if args.json:
        print(json.dumps(data, indent=1))
    stream = sys.stderr if (err or args.json) else sys.stdout
    for line in human:
        print(line, file=stream)


def _error(exc: BaseException) -> dict[str, Any]:
    return {"type": type(exc).__name__, "message": getattr(exc, "message", str(exc)),
            "hint": getattr(exc, "hint", None)}


def cmd_send(args) -> int:
    from console.files.layouts import LayoutError
    from console.files.reader import UnreadableFileError
    from console.services.invoices import check_invoices

    base: dict[str, Any] = {"file": str(args.file), "sent": False, "operator": _operator_id(args)}
    try:
        _supervisor_id(args)  # a malformed override is refused before anything is read
    except NotPermitted as exc:
        _emit(args, {**base, "error": _error(exc)}, [f"error: {exc}"], err=True)
        return EXIT_REFUSED
    try:
        with progress_bar(args) as progress:
            check = check_invoices(args.file, args.layout, progress)
    except (UnreadableFileError, LayoutError, Cancelled, UserFacingError) as exc:
        _emit(args, {**base, "valid": False, "error": _error(exc)}, [f"error: {exc}"], err=True)
        return EXIT_UNREADABLE
    base.update(checked_sha256=check.fingerprint, valid=check.ok, records=check.record_count,
                total_amount_due=f"{check.total_amount_due:.2f}",
                errors=[p.as_dict() for p in check.errors], warnings=[p.as_dict() for p in check.warnings])
    if not check.ok:
        lines = [f"ERROR    {p}" for p in check.errors[:50]]
        if len(check.errors) > 50:
            lines.append(f"… {len(check.errors) - 50:,} more errors")
        n = len(check.errors)
        lines.append(f"INVALID: {n:,} error{'' if n == 1 else 's'}; nothing was sent")
        _emit(args, base, lines, err=True)
        return EXIT_INVALID
    return _send(args, base)


def _send(args, base: dict[str, Any]) -> int:
    from console.adapters.transfer import HostKeyChanged, HostKeyUnknown
    from console.app import build_services
    from console.services.transfer import AlreadySent

    operator = _operator_id(args)
    supervisor = _supervisor_id(args)
    services = build_services(args.profile, operator_id=operator)
    try:
        transfer = services.transfer
        confirm_or_exit(args, invoice_file_outbound(services, args.file.name, int(base.get("records") or 0),
                                                    Decimal(str(base.get("total_amount_due") or "0"))),
                        services.profile)
        override_by = None
        trusted = False
        while True:
            try:
                with progress_bar(args) as progress:
                    result = transfer.send_file(args.file, kind="invoices", operator=operator,
                                                override=override_by is not None, override_by=override_by,
                                                expected_sha256=base.get("checked_sha256"), progress=progress)
                break
            except AlreadySent as exc:
                # the supervisor is asked only when the file really was sent before
                if supervisor is None or override_by is not None:
                    raise
                prev = exc.previous
                base["previous_send"] = {"at": prev.updated_at, "operator": prev.operator,
                                         "remote_path": prev.payload.get("remote_path")}
                override_by = _approve(services, supervisor, operator)
            except HostKeyUnknown as exc:
                given = (args.trust_host_key or "").strip()
                if not trusted and given and given == exc.fingerprint:
                    transfer.trust_host_key(exc, operator=operator)
                    trusted = True
                    continue
                base["host_key_fingerprint"] = exc.fingerprint
                lines = [f"error: {exc}"]
                if given and given != exc.fingerprint:
                    lines.append(f"The fingerprint given ({given}) does NOT match the server's; nothing was pinned.")
                else:
                    lines.append(f"To trust it: add --trust-host-key {exc.fingerprint}")
                _emit(args, {**base, "error": _error(exc)}, lines, err=True)
                return EXIT_REFUSED
        status = str(result.status)
        deadline = time.monotonic() + max(0.0, args.wait)
        while status != "delivered" and time.monotonic() < deadline:
            time.sleep(min(0.25, max(0.05, deadline - time.monotonic())))
            status = str(transfer.delivery_status(result))
        data = {**base, **result.as_dict(), "sent": True, "status": status,
                "override_by": override_by.operator_id if result.override and override_by else None}
        how = "was already on the server (an earlier attempt delivered it; not sent again)" if result.reconciled \
            else f"sent ({result.size:,} bytes, {'checksum' if result.checksum else 'size'} verified)"
        lines = [f"{result.remote_name} {how}", f"remote: {result.remote_path}", f"status: {status}",
                 f"operator: {operator}"]
        if result.override and override_by is not None:
            lines.append(f"sent again with the override of supervisor {override_by.name} ({override_by.operator_id}), "
                         "journaled and audited")
        lines.extend(f"WARNING: {w}" for w in result.warnings)
        _emit(args, data, lines)
        return EXIT_SENT
    except NetworkError as exc:
        _emit(args, {**base, "error": _error(exc), "outcome": "unknown"},
              [f"error: {exc}", "Run the same command again: it checks the server first and never sends twice."],
              err=True)
        return EXIT_UNKNOWN
    except HostKeyChanged as exc:
        _emit(args, {**base, "error": _error(exc)}, [f"error: {exc}"], err=True)
        return EXIT_REFUSED
    except Cancelled:
        return EXIT_REFUSED
    except UserFacingError as exc:
        lines = [f"error: {exc}"]
        if isinstance(exc, AlreadySent) and supervisor is None:
            lines.append("To send it again, a supervisor approves: add --override --supervisor ID")
        _emit(args, {**base, "error": _error(exc)}, lines, err=True)
        return EXIT_REFUSED
    finally:
        services.close()

