"""``biller-console invoices send FILE``: check the invoice export, then deliver it exactly once.

    biller-console [--profile NAME] invoices send FILE [--layout NAME] [--json]
                   [--wait SECONDS] [--operator ID] [--override SUPERVISOR_ID]
                   [--trust-host-key SHA256:...]

The file is checked first (every rule of its layout); an invalid file is never sent. Then it
goes through the profile's transfer (the sandbox's SFTP server with the sandbox profile):
temporary name, size verified, renamed; journaled, so running the same command again after a
lost connection reconciles and never creates a second file. A file already delivered is
refused unless a supervisor overrides (``--override super1``; the PIN is asked for, or read
from standard input when it is not a terminal).

An SFTP server the console has never seen is refused with its SHA-256 fingerprint; compare
it with the provider's and pass it back with ``--trust-host-key`` to pin it.

Prints the remote name and the delivery status ("awaiting pickup" until Stratus renames the
file to ``.snt``, then "delivered"); ``--wait`` polls up to that many seconds for delivery.

Exit codes:
  0  sent (or found already delivered by an earlier attempt)
  1  the file breaks rules; nothing was sent
  2  the file cannot be read, or the layout does not exist
  3  refused: already sent (needs a supervisor), unknown or changed host key, credentials,
     or the server refused; nothing was sent
  4  the connection was lost; the outcome is unknown — run the same command again (it
     reconciles first, it never sends twice)
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from pathlib import Path
from typing import Any

from console.errors import Cancelled, NetworkError, UserFacingError

EXIT_SENT, EXIT_INVALID, EXIT_UNREADABLE, EXIT_REFUSED, EXIT_UNKNOWN = 0, 1, 2, 3, 4


def register(actions) -> None:
    p = actions.add_parser(
        "send", help="check an invoice file, then send it to Invoice Cloud (SFTP/Stratus or FTP) exactly once",
        description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=Path, help="the invoice TXT/CSV file")
    p.add_argument("--layout", default="ic-invoice-v1", help="layout name or .toml path (default ic-invoice-v1)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="poll the delivery status up to SECONDS until Stratus picked the file up")
    p.add_argument("--operator", default=None, help="operator ID recorded in the journal (default: cli:<user>)")
    p.add_argument("--override", metavar="SUPERVISOR_ID", default=None,
                   help="send a file that was already sent, approved by this supervisor (PIN asked for)")
    p.add_argument("--trust-host-key", metavar="FINGERPRINT", default=None,
                   help="pin an unknown SFTP server whose SHA-256 fingerprint you compared with the provider's")
    p.set_defaults(func=cmd_send)


def _operator_id(args) -> str:
    if args.operator:
        return args.operator
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name on this system
        return "cli"


def _read_pin(supervisor: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(f"PIN for {supervisor}: ")
    return sys.stdin.readline().rstrip("\r\n")


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

    base: dict[str, Any] = {"file": str(args.file), "sent": False}
    try:
        check = check_invoices(args.file, args.layout)
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
        lines.append(f"INVALID: {len(check.errors):,} error(s); nothing was sent")
        _emit(args, base, lines, err=True)
        return EXIT_INVALID
    return _send(args, base)


def _send(args, base: dict[str, Any]) -> int:
    from console.adapters.transfer import HostKeyChanged, HostKeyUnknown
    from console.app import build_services

    operator = _operator_id(args)
    services = build_services(args.profile, operator_id=operator)
    try:
        transfer = services.transfer
        override_by = None
        if args.override:
            pin = _read_pin(args.override)
            override_by = services.operators.approve(args.override, pin, for_action="transfer.override", by=operator)
        for attempt in range(2):
            try:
                result = transfer.send_file(args.file, kind="invoices", operator=operator,
                                            override=override_by is not None, override_by=override_by,
                                            expected_sha256=base.get("checked_sha256"))
                break
            except HostKeyUnknown as exc:
                given = (args.trust_host_key or "").strip()
                if attempt == 0 and given and given == exc.fingerprint:
                    transfer.trust_host_key(exc, operator=operator)
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
        data = {**base, **result.as_dict(), "sent": True, "status": status}
        how = "was already on the server (an earlier attempt delivered it; not sent again)" if result.reconciled \
            else f"sent ({result.size:,} bytes, {'checksum' if result.checksum else 'size'} verified)"
        lines = [f"{result.remote_name} {how}", f"remote: {result.remote_path}", f"status: {status}"]
        if result.override:
            lines.append("sent again with a supervisor's override (journaled and audited)")
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
        _emit(args, {**base, "error": _error(exc)}, [f"error: {exc}"], err=True)
        return EXIT_REFUSED
    finally:
        services.close()

