"""Sandbox extension (posting): export Invoice Cloud files generated from the demo customers.

    biller-console sandbox --export-payments FILE [--count N] [--seed S] [--receipts-only]
    biller-console sandbox --export-rejects FILE [--count N] [--seed S]
    biller-console sandbox --export-changes FILE [--count N] [--seed S]

``--seed`` is the sandbox's own option (default 1 here). Rejects are for ACH payments of the
payments export with the same ``--count`` and ``--seed``. The ``--report`` section ``posting``
summarises the console's journal (entries by state) next to Caselle's receipts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Invoice Cloud exports (posting)")
    g.add_argument("--export-payments", type=Path, metavar="FILE",
                   help="write a valid ic-payments-v1 file of --count payments against demo customers")
    g.add_argument("--export-rejects", type=Path, metavar="FILE",
                   help="write an ic-ach-rejects-v1 file for ACH payments of the payments export (same --count/--seed)")
    g.add_argument("--export-changes", type=Path, metavar="FILE",
                   help="write an ic-changes-v1 change log of --count changes for demo customers")
    if "--count" not in p._option_string_actions:  # another extension may share --count
        g.add_argument("--count", type=int, default=None, help="rows to export (default 200 payments, 50 changes)")
    g.add_argument("--receipts-only", action="store_true",
                   help="with --export-payments: only utility payments to post (no CloudStore items, no voids)")


def handle(args: argparse.Namespace) -> int | None:
    targets = [(k, getattr(args, f"export_{k}", None)) for k in ("payments", "rejects", "changes")]
    targets = [(k, path) for k, path in targets if path is not None]
    if not targets:
        return None
    from console.sandbox.exports import write_export

    seed = args.seed if args.seed is not None else 1
    summaries = []
    for kind, path in targets:
        count = args.count if args.count is not None else (50 if kind == "changes" else 200)
        if count < 0:
            print("sandbox: --count cannot be negative", file=sys.stderr)
            return 2
        kw = {"receipts_only": True} if kind == "payments" and args.receipts_only else {}
        summaries.append(write_export(kind, path, count, seed, **kw))
    if getattr(args, "json", False):
        print(json.dumps(summaries if len(summaries) > 1 else summaries[0], indent=2))
    else:
        for s in summaries:
            print(f"Wrote {s['rows']} {s['kind']} rows to {s['file']} (control total {s['control_total']})")
    return 0


def report(data_dir: Path) -> dict:
    """The console journal's entries by kind and state (when there is a journal)."""
    import os

    from console.config import JOURNAL_URL_ENV
    from console.paths import Paths

    url = os.environ.get(JOURNAL_URL_ENV, "").strip()
    if url and url != "sqlite":  # the sandbox profile's journal is the file unless the variable names a server
        return _server_report(url)
    path = Paths.default().journal_file
    if not path.exists():
        return {"journal": str(path), "entries": {}}
    import sqlite3

    db = sqlite3.connect(path, timeout=30)  # not read-only: after a crash the WAL index may need recovery
    try:
        rows = db.execute("SELECT kind, state, COUNT(*) FROM entries GROUP BY kind, state").fetchall()
    except sqlite3.Error:
        rows = []
    finally:
        db.close()
    out: dict[str, dict[str, int]] = {}
    for kind, state, n in rows:
        out.setdefault(kind, {})[state] = n
    return {"journal": str(path), "entries": out}


def _server_report(url: str) -> dict:
    """The same counts from a PostgreSQL journal (``$BILLER_CONSOLE_JOURNAL_URL``)."""
    from console.adapters.journal import JournalError
    from console.adapters.pg import PgDatabase, redact_url

    try:
        db = PgDatabase(url, reconnect_s=5.0)
    except JournalError as exc:
        return {"journal": redact_url(url), "error": str(exc), "entries": {}}
    try:
        rows = db.read("SELECT kind, state, COUNT(*) FROM entries GROUP BY kind, state ORDER BY kind, state")
    except JournalError as exc:
        rows, error = [], str(exc)
    else:
        error = ""
    finally:
        db.close()
    out: dict[str, dict[str, int]] = {}
    for kind, state, n in rows:
        out.setdefault(kind, {})[state] = int(n)
    return {"journal": redact_url(url), "entries": out, **({"error": error} if error else {})}
