"""``biller-console post FILE --kind payments|rejects|changes``: import a file and post it to Caselle.

The same service as the Posting tab: the file is checked (a file with any error journals and
posts nothing), journaled in one transaction, then every pending entry in the journal is posted
exactly once. Running it again with the same file does not import it twice (the fingerprint
registry refuses it): it resumes, finishing whatever a killed or interrupted run left.

Exit codes: 0 every entry of the file is done or reported (no-op, superseded, void of a payment
never posted, queued for the lockbox); 1 the file is invalid or cannot be used (nothing was
posted); 2 entries remain (rejected, waiting for review, or not finished: run again); 66 the
file does not exist (the README's table).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections import Counter
from pathlib import Path

from console.cli.acting import acting, add_operator_argument
from console.cli.confirm import add_yes_option, confirm_or_exit
from console.cli.progress import progress_bar
from console.errors import Cancelled, NotPermitted, Problem, UserFacingError, ValidationError
from console.services.confirm import posting_outbound

EXIT_OK, EXIT_INVALID, EXIT_UNFINISHED = 0, 1, 2


def register(sub) -> None:
    p = sub.add_parser("post", help="import an Invoice Cloud file and post it to Caselle, exactly once",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=Path, nargs="?", help="payments, ACH rejects or change-log file")
    p.add_argument("--fetch", action="store_true",
                   help="instead of a file, fetch the data from the Invoice Cloud API (kept in the inbox folder)")
    p.add_argument("--kind", required=True, choices=("payments", "rejects", "changes"), help="what the file holds")
    p.add_argument("--dry-run", action="store_true", help="check and show what would happen; journal nothing")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_yes_option(p)
    p.add_argument("--override", action="store_true",
                   help="import a file that was imported before (needs --supervisor and their PIN)")
    add_operator_argument(p)
    p.add_argument("--supervisor", help="supervisor ID approving --override (PIN from "
                                        "$BILLER_CONSOLE_SUPERVISOR_PIN or asked for)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel Caselle calls (default: the profile's caselle workers setting, 4)")
    p.set_defaults(func=acting(lambda args: None if args.dry_run else ("import", "post"))(cmd_post),
                   input_files=("file",))


def _operator(args) -> str:
    if args.operator:
        return args.operator
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name on this system
        return "cli"


def _supervisor(args, services) -> str | None:
    if not args.override:
        return None
    if not services.profile.operators:
        raise NotPermitted("--override needs a supervisor, and this profile has no operators yet: "
                           "add them in Settings first")
    if not args.supervisor:
        raise NotPermitted("--override needs --supervisor ID (and that supervisor's PIN)")
    pin = os.environ.get("BILLER_CONSOLE_SUPERVISOR_PIN")
    if pin is None:
        if not sys.stdin.isatty():
            raise NotPermitted("no supervisor PIN: set BILLER_CONSOLE_SUPERVISOR_PIN or run interactively")
        pin = getpass.getpass(f"PIN for {args.supervisor}: ")
    op = services.operators.approve(args.supervisor, pin, for_action="file.override", by=_operator(args),
                                    path="override")
    return op.operator_id


def _problems(problems) -> list[dict]:
    return [p.as_dict() for p in problems]


def cmd_post(args) -> int:
    from console.app import build_services

    operator = _operator(args)
    out: dict = {"file": str(args.file) if args.file else "(Invoice Cloud API)", "kind": args.kind}
    services = build_services(args.profile, operator_id=operator)
    try:
        return _run(args, services, operator, out)
    except ValidationError as exc:
        out.update(status="invalid", message=exc.message, errors=_problems(exc.problems))
        return _emit(args, out, EXIT_INVALID)
    except Cancelled:
        out.update(status="cancelled")
        return _emit(args, out, EXIT_UNFINISHED)
    except UserFacingError as exc:
        out.update(status="error", message=str(exc), errors=[])
        return _emit(args, out, EXIT_INVALID if "import" not in out else EXIT_UNFINISHED)
    finally:
        services.close()


def _run(args, services, operator: str, out: dict) -> int:
    posting = services.posting
    if args.fetch == (args.file is not None):
        raise ValidationError("Give a FILE or --fetch (one of them)",
                              [Problem(None, "file", "source", "name a file to post, or --fetch from Invoice Cloud")])
    if args.fetch:
        from console.adapters.invoicecloud import client_from_services

        client = client_from_services(services)
        try:
            with progress_bar(args) as progress:
                plan = posting.fetch_and_preview(args.kind, client, progress=progress)
        finally:
            client.close()
        out["file"] = plan.name
    else:
        with progress_bar(args) as progress:
            plan = posting.preview_file(args.file, args.kind, progress=progress)
    out.update(fingerprint=plan.fingerprint, records=plan.records, control_total=str(plan.control_total),
               warnings=_problems(plan.warnings))
    planned = Counter(r.action for r in plan.rows)
    if args.dry_run:
        out.update(status="dry_run", planned=dict(planned), errors=[],
                   previously_imported=plan.already_imported.imported_at if plan.already_imported else None)
        return _emit(args, out, EXIT_OK)
    confirm_or_exit(args, posting_outbound(services, out["file"] if args.fetch else Path(args.file).name, args.kind,
                                           plan.records, plan.control_total), services.profile)
    if plan.already_imported is not None and not args.override:
        rec = plan.already_imported
        out["import"] = {"status": "already_imported", "first_imported_at": rec.imported_at,
                         "first_imported_by": rec.operator, "added": 0,
                         "message": "this file was imported before: nothing new is journaled; "
                                    "its pending entries are finished now"}
    else:
        from console.adapters.journal import DuplicateFileError

        approver = _supervisor(args, services)
        try:
            res = posting.import_plan(plan, operator, override=args.override, approver=approver)
            out["import"] = {"status": "override" if res.override and plan.already_imported else "imported",
                             "added": res.added, "already_journaled": len(res.already_journaled)}
        except DuplicateFileError as exc:  # another console imported it a moment ago
            out["import"] = {"status": "already_imported", "added": 0, "message": str(exc)}
    if args.workers is not None:
        posting.workers = max(1, args.workers)
    with progress_bar(args) as progress:
        run = posting.post_pending(progress, operator=operator)
    entries = services.journal.entries(fingerprint=plan.fingerprint)
    from console.services.posting import LOCKBOX_ITEM

    by_state = Counter(e.state for e in entries)
    by_outcome = Counter((e.outcome or e.state) if e.kind != LOCKBOX_ITEM or e.state != "pending" else "lockbox_queued"
                         for e in entries)
    open_entries = [e for e in entries if e.state in ("rejected", "needs_review") or
                    (e.state in ("pending", "in_flight") and e.kind != LOCKBOX_ITEM)]
    out.update(
        status="complete" if not open_entries else "unfinished",
        entries=dict(by_state), outcomes=dict(by_outcome), run=dict(run.outcomes),
        batches_closed=run.batches_closed, aborted=run.aborted or None, errors=[],
        open=[{"key": e.key, "line": e.line, "state": e.state, "outcome": e.outcome, "detail": e.detail[:300]}
              for e in open_entries[:200]],
    )
    return _emit(args, out, EXIT_OK if not open_entries else EXIT_UNFINISHED)


def _emit(args, out: dict, code: int) -> int:
    out["exit"] = code
    if args.json:
        print(json.dumps(out, indent=2, default=str))
        return code
    status = out.get("status")
    if status == "error" and "import" not in out:  # could not start (the journal, a remote …): one line
        print(f"{out['file']} ({out['kind']}): error: {out.get('message', '')}")
        return code
    print(f"{out['file']} ({out['kind']}): {status}")
    if out.get("message"):
        print(f"  {out['message']}")
    for e in out.get("errors", [])[:50]:
        where = ", ".join(x for x in (f"line {e['line']}" if e.get("line") else "", e.get("column") or "") if x)
        print(f"  {where}: {e['message']} [{e['rule']}]" if where else f"  {e['message']} [{e['rule']}]")
    if "import" in out:
        print(f"  import: {out['import']['status']} ({out['import'].get('added', 0)} new entries)")
    if "planned" in out:
        for action, n in sorted(out["planned"].items()):
            print(f"  would {action}: {n}")
    for outcome, n in sorted(out.get("outcomes", {}).items()):
        print(f"  {outcome}: {n}")
    for e in out.get("open", [])[:20]:
        print(f"  line {e['line']} {e['key']}: {e['state']} {e['outcome']} {e['detail']}")
    if out.get("aborted"):
        print(f"  stopped: {out['aborted']}")
    return code
