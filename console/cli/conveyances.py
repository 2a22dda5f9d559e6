"""``biller-console conveyances``: a property changed hands — end the old owner's Invoice Cloud enrollment.

    biller-console conveyances sync [--dry-run] [--json] [--yes] [--operator ID]
    biller-console conveyances release KEY... [--json] [--operator ID]
    biller-console conveyances history [--json]

``sync`` reads Caselle's account events since the last sync (a final-billed account, a new
account at a location), lists the conveyances found and, once confirmed (``--yes``,
``$BILLER_CONSOLE_ASSUME_YES=1`` or a ``y`` on the terminal), sends Invoice Cloud each one exactly
once: AutoPay and paperless off, registration released, final bill flagged for the old account.
``--dry-run`` prints the review list and sends nothing. A conveyance whose old account has a
journaled but unposted payment waits for review (``needs_review``); ``release KEY`` sends it once
the payment is posted. The operator signs in with a PIN (``$BILLER_CONSOLE_PIN``) and needs the
``account_sync`` permission.

JSON: ``found`` (conveyances new in Caselle), ``outcomes`` (what this run sent, per outcome),
``pending`` (dry run: what would be sent; else what is left), ``needs_review``, ``sent`` (the
report: conveyances finished in this run, with what Invoice Cloud turned off).

Exit codes (the README's table): 0 done (or a dry run); 1 could not run or not confirmed;
2 conveyances remain (waiting for review, not finished: run again); 77 not permitted.
"""

from __future__ import annotations

import argparse
import json
import sys

from console.cli.acting import EXIT_NOT_PERMITTED, confirmed, operator_id, sign_in
from console.errors import Cancelled, NotPermitted, UserFacingError

EXIT_OK, EXIT_FAILED, EXIT_UNFINISHED = 0, 1, 2


def register(sub) -> None:
    p = sub.add_parser("conveyances", help="conveyances: end the old owner's Invoice Cloud enrollment, exactly once",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    s = actions.add_parser("sync", help="find Caselle's conveyances and send them to Invoice Cloud, exactly once")
    s.add_argument("--dry-run", action="store_true", help="print the review list; journal and send nothing")
    s.add_argument("--yes", action="store_true", help="send without asking (also $BILLER_CONSOLE_ASSUME_YES=1)")
    s.set_defaults(func=cmd_sync)
    r = actions.add_parser("release", help="send conveyances that waited for review (their payments are posted)")
    r.add_argument("keys", nargs="+", metavar="KEY", help="journal key, e.g. conveyance:100102-01")
    r.set_defaults(func=cmd_release)
    h = actions.add_parser("history", help="every conveyance journaled, newest first")
    h.set_defaults(func=cmd_history)
    for sp in (s, r, h):
        sp.add_argument("--json", action="store_true", help="print the result as JSON")
        sp.add_argument("--operator", default="", help="operator ID (default: $BILLER_CONSOLE_OPERATOR)")


def cmd_sync(args) -> int:
    from console.app import build_services

    services = build_services(args.profile, operator_id=operator_id(args))
    try:
        service = services.conveyances
        preview = service.sync(dry_run=True)
        if args.dry_run:
            return _emit(args, preview.as_dict(), EXIT_OK)
        if not preview.pending and not preview.review and not preview.found:
            operator = sign_in(services, args, "account_sync")
            return _report(args, service.sync(operator=operator))
        if not args.json:
            _print_list(preview.as_dict())
        if preview.pending and not confirmed(args, f"Send {_n(len(preview.pending), 'conveyance')} to Invoice Cloud?"):
            return _emit(args, {"status": "error", "message": "not confirmed: nothing was sent (pass --yes to send)"},
                         EXIT_FAILED)
        operator = sign_in(services, args, "account_sync")
        return _report(args, service.sync(operator=operator))
    except NotPermitted as exc:
        return _emit(args, {"status": "not_permitted", "message": str(exc)}, EXIT_NOT_PERMITTED)
    except Cancelled:
        return _emit(args, {"status": "cancelled"}, EXIT_UNFINISHED)
    except UserFacingError as exc:
        return _emit(args, {"status": "error", "message": str(exc)}, EXIT_FAILED)
    finally:
        services.close()


def cmd_release(args) -> int:
    from console.app import build_services

    services = build_services(args.profile, operator_id=operator_id(args))
    try:
        operator = sign_in(services, args, "account_sync")
        return _report(args, services.conveyances.release(args.keys, operator))
    except NotPermitted as exc:
        return _emit(args, {"status": "not_permitted", "message": str(exc)}, EXIT_NOT_PERMITTED)
    except UserFacingError as exc:
        return _emit(args, {"status": "error", "message": str(exc)}, EXIT_FAILED)
    finally:
        services.close()


def cmd_history(args) -> int:
    from console.app import build_services

    services = build_services(args.profile)
    try:
        rows = [c.as_dict() for c in services.conveyances.history()]
    finally:
        services.close()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT_OK
    for r in rows:
        print(f"{r['old_account']:<12} → {r['new_account'] or '(none)':<12} {r['state']:<12} {r['outcome']:<16} "
              f"{r['detail']}")
    return EXIT_OK


def _report(args, result) -> int:
    out = result.as_dict()
    return _emit(args, out, EXIT_OK if result.complete else EXIT_UNFINISHED)


def _n(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _line(c: dict) -> str:
    enrolled = [name for name in ("autopay", "paperless") if c.get(name)]
    return (f"  {c['old_account']:<12} → {c['new_account'] or '(no new account yet)':<12} "
            f"{c['new_owner'][:30]:<30} {'AutoPay' if 'autopay' in enrolled else '':<8}"
            f"{'paperless' if 'paperless' in enrolled else ''}")


def _print_list(out: dict) -> None:
    print(f"{_n(len(out['pending']), 'conveyance')} to send to Invoice Cloud "
          f"(AutoPay and paperless off, registration released, final bill):")
    for c in out["pending"][:200]:
        print(_line(c))
    if out["needs_review"]:
        print(f"{_n(len(out['needs_review']), 'conveyance')} waiting for review (a payment is not posted yet):")
        for c in out["needs_review"][:200]:
            print(_line(c) + f"  — {c['detail'] or ', '.join(c['waiting_for'])}")


def _emit(args, out: dict, code: int) -> int:
    out["exit"] = code
    if args.json:
        print(json.dumps(out, indent=2, default=str, ensure_ascii=False))
        return code
    if out.get("status") in ("error", "not_permitted"):
        print(f"conveyances: {out['message']}", file=sys.stderr)
        return code
    if out.get("dry_run"):
        print(f"Dry run: {_n(out['found'], 'new conveyance')} in Caselle; nothing was journaled or sent")
        _print_list(out)
        return code
    print(f"Conveyance sync: {out.get('status')}; {_n(out.get('found', 0), 'new conveyance')} in Caselle")
    for outcome, n in sorted(out.get("outcomes", {}).items()):
        print(f"  {outcome}: {n}")
    for c in out.get("sent", [])[:200]:
        print(f"  {c['old_account']} → {c['new_account'] or '(none)'}: {c['outcome']} — {c['detail']}")
    for c in out.get("needs_review", [])[:200]:
        print(f"  waiting for review {c['old_account']}: {c['detail']}")
    if out.get("pending"):
        print(f"  {_n(len(out['pending']), 'conveyance')} not finished: run again")
    if out.get("aborted"):
        print(f"  stopped: {out['aborted']}")
    return code
