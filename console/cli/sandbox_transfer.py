"""``biller-console sandbox`` extension for file transfer (found automatically by the sandbox CLI).

    biller-console sandbox --export-invoices FILE [--invoice-count N] [--json]
        write a valid ic-invoice-v1 file for the demo customers (the Invoice Import tab's
        sample); exit 0, or 1 when the file cannot be written
    biller-console sandbox --report
        gains a "transfer" section: files awaiting pickup / delivered (.snt) per SFTP folder
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--export-invoices", metavar="FILE", type=Path,
                        help="write an ic-invoice-v1 invoice export for the demo customers to FILE")
    parser.add_argument("--invoice-count", metavar="N", type=int, default=None,
                        help="with --export-invoices: how many demo customers (default 600)")


def handle(args: argparse.Namespace) -> int | None:
    target = getattr(args, "export_invoices", None)
    if target is None:
        return None
    from console.sandbox import seed
    from console.sandbox.invoice_export import write_invoice_export

    count = args.invoice_count if args.invoice_count is not None else seed.DEFAULT_COUNT
    if count < 1:
        print("sandbox --invoice-count: must be at least 1", file=sys.stderr)
        return 2
    try:
        summary = write_invoice_export(target, count=count)
    except OSError as exc:
        print(f"sandbox --export-invoices: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if getattr(args, "json", False):
        print(json.dumps(summary, indent=2))
    else:
        print(f"Wrote {summary['records']} invoices ({summary['layout']}), total due "
              f"{summary['total_amount_due']}, to {summary['path']}")
    return 0


def report(data_dir: Path) -> dict[str, Any]:
    from console.sandbox.sftp_server import report as sftp_report

    return sftp_report(data_dir)
