"""Sandbox extension (conveyances): ``--convey ACCOUNT "NEW OWNER NAME" [--json]`` final-bills a demo
account and opens the new owner's at the same location (prints the new account number); the
``--report`` section ``conveyance`` lists the conveyances made and what Invoice Cloud was sent."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any


def add_arguments(parser) -> None:
    parser.add_argument("--convey", nargs=2, metavar=("ACCOUNT", "NEW_OWNER_NAME"),
                        help="convey a demo account to a new owner (final bill; the new account is printed)")


def handle(args) -> int | None:
    if not getattr(args, "convey", None):
        return None
    from console.cli.sandbox import _data_dir
    from console.sandbox.caselle_conveyance import convey
    from console.sandbox.caselle_server import DB_NAME, ApiError, CaselleStore

    account, owner = args.convey
    store = CaselleStore(_data_dir() / DB_NAME)
    try:
        row = convey(store, account.strip(), owner, "sandbox-cli")
    except ApiError as exc:
        print(f"sandbox --convey: {exc.message}", file=sys.stderr)
        return 1
    finally:
        store.close()
    result = {"old_account": row["related_account"], "new_account": row["account_number"], "new_owner": row["name"],
              "location": row["location"], "sequence": row["sequence"], "conveyed_at": row["occurred_at"]}
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(result["new_account"])
        print(f"{result['old_account']} final-billed; {result['new_owner']} has {result['new_account']} at location "
              f"{result['location']}", file=sys.stderr)
    return 0


def report(data_dir: Path) -> dict[str, Any]:
    path = Path(data_dir) / "caselle.sqlite3"
    out: dict[str, Any] = {"conveyances": [], "sent_to_invoice_cloud": 0, "sent_more_than_once": []}
    if path.exists():
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            out["conveyances"] = [f"{a} → {b} ({n})" for a, b, n in db.execute(
                "SELECT related_account, account_number, name FROM account_events WHERE kind = 'OPENED' "
                "ORDER BY sequence")]
        except sqlite3.OperationalError:  # made before conveyances existed
            pass
        finally:
            db.close()
    ic = Path(data_dir) / "ic_balances.sqlite3"
    if ic.exists():
        db = sqlite3.connect(f"file:{ic}?mode=ro", uri=True)
        try:
            out["sent_to_invoice_cloud"] = db.execute("SELECT COUNT(*) FROM ic_conveyances").fetchone()[0]
            out["sent_more_than_once"] = [r[0] for r in db.execute(
                "SELECT idempotency_key FROM ic_conveyances WHERE sends > 1 ORDER BY id LIMIT 100")]
        except sqlite3.OperationalError:
            pass
        finally:
            db.close()
    return out
