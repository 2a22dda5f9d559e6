"""``biller-console invoices``: check an invoice export before it goes to Invoice Cloud.

    biller-console invoices check FILE [--layout NAME] [--json]

Exit codes (the README's table): 0 the file is valid (warnings allowed); 1 it breaks rules
(errors listed); 66 it cannot be read at all (missing file, binary data) or the layout does not exist.
JSON: ``{records, total_amount_due, errors: [{line, column, rule, message}], warnings: [...]}``
plus layout, encoding, fingerprint, trailer and summary; amounts are strings.

More actions: ``register`` builds the ``invoices`` parser and then loads every module named in
``ACTION_MODULES`` that exists, calling its ``register(actions)`` with the ``invoices``
subparsers object — so ``invoices send`` lives in ``console/cli/invoices_send.py`` (transfer
helper) and only needs that file: ``def register(actions): p = actions.add_parser("send", ...)``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path

from console.cli.exit_codes import CANCELLED, INVALID, NO_INPUT
from console.errors import Cancelled, UserFacingError

# Modules adding actions to `biller-console invoices` (loaded when present).
ACTION_MODULES = ("console.cli.invoices_send",)


def register(sub) -> None:
    p = sub.add_parser("invoices", help="invoice export: check it (and send it) to Invoice Cloud")
    actions = p.add_subparsers(dest="invoices_command", metavar="ACTION", required=True)
    c = actions.add_parser("check", help="check an invoice file against its layout (every rule, trailer totals)")
    c.add_argument("file", type=Path, help="the invoice TXT/CSV file")
    c.add_argument("--layout", default="ic-invoice-v1", help="layout name or .toml path (default ic-invoice-v1)")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=cmd_check)
    for name in ACTION_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(actions)


def cmd_check(args) -> int:
    from console.files.layouts import LayoutError
    from console.files.reader import UnreadableFileError
    from console.services.invoices import check_invoices

    try:
        check = check_invoices(args.file, args.layout)
    except (UnreadableFileError, LayoutError) as exc:
        problems = getattr(exc, "problems", None) or []
        if args.json:
            print(json.dumps({
                "file": str(args.file), "records": 0, "total_amount_due": "0.00", "valid": False,
                "errors": [p.as_dict() for p in problems] or
                          [{"line": None, "column": None, "rule": "layout", "message": str(exc)}],
                "warnings": [],
            }, indent=1))
        print(f"error: {exc}", file=sys.stderr)
        return NO_INPUT
    except Cancelled:
        return CANCELLED
    except UserFacingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return INVALID
    try:
        if args.json:
            print(json.dumps(check.as_dict(), indent=1))
        else:
            _print_human(check)
        sys.stdout.flush()
    except BrokenPipeError:  # `... | head`: the reader went away; the exit code still tells
        sys.stderr.close()
    return 0 if check.ok else 1


def _print_human(check) -> None:
    r = check.result
    s = check.summary
    print(f"{check.path}  ({r.layout.name}, {r.encoding}, sha256 {r.fingerprint[:12]}…)")
    print(f"  records           {len(r):,}")
    print(f"  total amount due  {check.total_amount_due:,.2f}")
    if r.trailer:
        print(f"  trailer           {r.trailer[0]:,} records, {r.trailer[1]:,.2f}")
    for t in s.by_type:
        print(f"  invoice type {t.invoice_type!s:>4}  {t.count:,} invoices, {t.total:,.2f}")
    if s.accounts_with_several_count:
        print(f"  accounts with several invoices: {s.accounts_with_several_count:,}")
    if s.credit_balance_count:
        print(f"  credit balances: {s.credit_balance_count:,} ({s.credit_balance_total:,.2f})")
    print(f"  {_count(len(r.errors), 'error')}, {_count(len(r.warnings), 'warning')}")
    for p in r.errors[:200]:
        print(f"  ERROR    {p}")
    if len(r.errors) > 200:
        print(f"  … {len(r.errors) - 200:,} more errors (use --json for all)")
    shown: dict[str, int] = {}
    for p in r.warnings:  # at most 10 of each kind (a file can warn on every row)
        shown[p.rule] = shown.get(p.rule, 0) + 1
        if shown[p.rule] <= 10:
            print(f"  warning  {p}")
    for rule, n in shown.items():
        if n > 10:
            print(f"  … {n - 10:,} more [{rule}] warnings (use --json for all)")
    print("VALID" if check.ok else "INVALID: fix the errors above before sending")


def _count(n: int, word: str) -> str:
    """``1 error``, ``5 errors`` (never ``error(s)``)."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"
