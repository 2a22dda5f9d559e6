"""Sandbox extension (lockbox): the SMTP sink's mailbox and training CloudStore payments.

    biller-console sandbox --mail [--json]
    biller-console sandbox --export-cloudstore FILE [--count N]

``--mail`` lists the messages the sandbox SMTP sink kept (e-mailed lockbox files), newest
last; the ``--report`` section ``sandbox_lockbox`` shows the count and the latest ones.
``--export-cloudstore`` writes a payments file of CloudStore items for the sandbox profile's
item codes (plus a few utility payments and a void) to try the Lockbox tab or
``biller-console lockbox build`` with.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from console.domain.wording import counted


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Lockbox (CloudStore)")
    g.add_argument("--mail", action="store_true", help="list the e-mails the sandbox SMTP sink received")
    g.add_argument("--export-cloudstore", type=Path, metavar="FILE",
                   help="write a training ic-payments-v1 file of CloudStore payments (--count rows, default 48)")
    if "--count" not in p._option_string_actions:  # another extension may share --count
        g.add_argument("--count", type=int, default=None, help="rows to export")


def _messages(data_dir: Path) -> list[dict]:
    from console.sandbox.smtp_sink import list_messages

    return [{"received_at": m.received_at, "from": m.sender, "to": list(m.recipients), "subject": m.subject,
             "message_id": m.message_id, "attachments": list(m.attachments), "file": str(m.path)}
            for m in list_messages(data_dir)]


def handle(args: argparse.Namespace) -> int | None:
    if getattr(args, "export_cloudstore", None) is not None:
        from console.config import sandbox_profile
        from console.services.lockbox import write_sandbox_payments

        count = args.count if args.count is not None else 48
        if count < 1:
            print("sandbox: --count must be at least 1", file=sys.stderr)
            return 2
        path = write_sandbox_payments(args.export_cloudstore, sandbox_profile(), count=count)
        print(f"Wrote {count} payments (CloudStore items, a few utility payments, one void) to {path}")
        return 0
    if getattr(args, "mail", False):
        from console.paths import Paths

        rows = _messages(Paths.default().sandbox_dir)
        if getattr(args, "json", False):
            print(json.dumps(rows, indent=2, ensure_ascii=False))
        elif not rows:
            print("The sandbox SMTP sink has received no e-mail yet.")
        else:
            for r in rows:
                print(f"{r['received_at']}  to {', '.join(r['to'])}  {r['subject']}"
                      + (f"  [{', '.join(r['attachments'])}]" if r["attachments"] else ""))
            print(f"{counted(len(rows), 'message')} in {Path(rows[0]['file']).parent}")
        return 0
    return None


def report(data_dir: Path) -> dict:
    rows = _messages(data_dir)
    return {"smtp_messages": len(rows),
            "latest": [f"{r['received_at']} {r['subject']} → {', '.join(r['to'])}" for r in rows[-5:]]}
