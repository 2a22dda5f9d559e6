"""``biller-console transfer``: the file-transfer connection, for support and set-up.

    biller-console [--profile NAME] transfer test [--json]
        sign in, show the server's host key and what waits in each remote folder
        exit 0 connected and every folder usable; 1 connected but a folder is missing;
        3 host key unknown or changed, credentials refused; 4 unreachable
    biller-console transfer trust FINGERPRINT
        pin the server's host key, only if its SHA-256 fingerprint is exactly FINGERPRINT
        (compare it with the provider's first); exit 0 pinned, 3 mismatch or refused, 4 unreachable
    biller-console transfer hosts [--json]
        the pinned host keys in the console's own known_hosts
    biller-console transfer forget HOST [--port N]
        remove a pinned key after the provider confirmed a key change (audited)
    biller-console transfer ls [FOLDER] [--json]
        files in a remote folder (default: the invoice folder) with their delivery state
    biller-console transfer status REMOTE_PATH
        "awaiting pickup", "delivered" (renamed to .snt) or "missing"; exit 0, or 4 unreachable
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

from console.domain.wording import counted
from console.errors import NetworkError, UserFacingError

EXIT_OK, EXIT_PROBLEM, EXIT_REFUSED, EXIT_UNREACHABLE = 0, 1, 3, 4


def register(sub) -> None:
    p = sub.add_parser("transfer", help="file transfer: connection test, host keys, remote folders",
                       description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="transfer_command", metavar="ACTION", required=True)
    t = actions.add_parser("test", help="sign in and look at the remote folders")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_test)
    tr = actions.add_parser("trust", help="pin the server's host key if its fingerprint matches")
    tr.add_argument("fingerprint", help="SHA256:… as given by the provider")
    tr.set_defaults(func=cmd_trust)
    h = actions.add_parser("hosts", help="list the pinned host keys")
    h.add_argument("--json", action="store_true")
    h.set_defaults(func=cmd_hosts)
    f = actions.add_parser("forget", help="remove a pinned host key (after a confirmed key change)")
    f.add_argument("host")
    f.add_argument("--port", type=int, default=None, help="default: the profile's port")
    f.set_defaults(func=cmd_forget)
    ls = actions.add_parser("ls", help="list a remote folder")
    ls.add_argument("folder", nargs="?", default=None, help="remote folder or kind (invoices, bills, lockbox, balances)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_ls)
    st = actions.add_parser("status", help="delivery status of a remote file")
    st.add_argument("remote_path")
    st.set_defaults(func=cmd_status)


def _operator() -> str:
    """Who pins / forgets a host key in the audit log: $BILLER_CONSOLE_OPERATOR (as ``post`` and
    ``invoices send``), else ``cli:<login name>``."""
    named = os.environ.get("BILLER_CONSOLE_OPERATOR", "").strip()
    if named:
        return named
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001
        return "cli"


def _services(args):
    from console.app import build_services

    return build_services(args.profile, operator_id=_operator())


def cmd_test(args) -> int:
    from console.services import transfer as svc

    services = _services(args)
    try:
        report = services.transfer.test_connection()
    finally:
        services.close()
    if args.json:
        print(json.dumps(report.as_dict(), indent=1))
    else:
        print(f"{report.destination}: {report.state}")
        if report.fingerprint:
            print(f"  host key {report.fingerprint}")
        print(f"  {report.message}")
        for f in report.folders:
            if f.exists:
                extra = f", {f.temporary} stale temporary" if f.temporary else ""
                print(f"  {f.kind:<9} {f.folder}: {f.awaiting_pickup} awaiting pickup, {f.delivered} delivered{extra}")
            else:
                print(f"  {f.kind:<9} {f.folder}: NOT USABLE ({f.error})")
        if report.insecure:
            print("  WARNING: plain FTP — the password and files travel unencrypted")
        if report.hint:
            print(f"  hint: {report.hint}")
        if report.state == svc.HOST_KEY_UNKNOWN:
            print(f"  to trust it: biller-console transfer trust {report.fingerprint}")
    if report.state == svc.CONNECTED:
        return EXIT_OK if report.ok else EXIT_PROBLEM
    return EXIT_UNREACHABLE if report.state == svc.UNREACHABLE else EXIT_REFUSED


def cmd_trust(args) -> int:
    from console.adapters.transfer import HostKeyUnknown

    services = _services(args)
    try:
        transfer = services.transfer
        try:
            with transfer.transfer_factory():
                pass
        except HostKeyUnknown as exc:
            if exc.fingerprint != args.fingerprint.strip():
                print(f"The server offers {exc.fingerprint}, not {args.fingerprint}: nothing was pinned.",
                      file=sys.stderr)
                return EXIT_REFUSED
            transfer.trust_host_key(exc, operator=_operator())
            print(f"Pinned {exc.key_type} {exc.fingerprint} for {exc.host}:{exc.port}")
            return EXIT_OK
        print("The server's host key is already pinned; nothing to do.")
        return EXIT_OK
    except NetworkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except UserFacingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        services.close()


def cmd_hosts(args) -> int:
    services = _services(args)
    try:
        hosts = services.transfer.pinned_hosts()
    finally:
        services.close()
    if args.json:
        print(json.dumps([{"host": h, "key_type": k, "fingerprint": f} for h, k, f in hosts], indent=1))
    elif not hosts:
        print("No host keys pinned yet.")
    else:
        for h, k, f in hosts:
            print(f"{h}  {k}  {f}")
    return EXIT_OK


def cmd_forget(args) -> int:
    services = _services(args)
    try:
        port = args.port if args.port is not None else services.transfer.settings.port
        removed = services.transfer.forget_host_key(args.host, port, operator=_operator())
    finally:
        services.close()
    if not removed:
        print(f"No key is pinned for {args.host}:{port}.", file=sys.stderr)
        return EXIT_PROBLEM
    print(f"Forgot the pinned key of {args.host}:{port}; the next connection asks to trust the new one.")
    return EXIT_OK


def cmd_ls(args) -> int:
    from console.adapters.transfer import SNT

    services = _services(args)
    try:
        transfer = services.transfer
        folder = args.folder or transfer.folders.get("invoices", "/")
        folder = transfer.folders.get(folder, folder)
        files = transfer.list_folder(folder)
    except NetworkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except UserFacingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        services.close()
    rows = [{"name": f.name, "size": f.size, "state": "delivered" if f.name.endswith(SNT) else "awaiting pickup"}
            for f in files]
    if args.json:
        print(json.dumps({"folder": folder, "files": rows}, indent=1))
    else:
        print(f"{folder}: {counted(len(rows), 'file')}")
        for r in rows:
            print(f"  {r['name']:<40} {r['size']:>12,}  {r['state']}")
    return EXIT_OK


def cmd_status(args) -> int:
    services = _services(args)
    try:
        status = services.transfer.remote_status(args.remote_path)
    except NetworkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except UserFacingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        services.close()
    print(status)
    return EXIT_OK
