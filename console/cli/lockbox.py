"""``biller-console lockbox``: build, check, send and summarise CloudStore lockbox files.

    biller-console lockbox build --payments FILE --out FILE [--gl-map CSV] [--json]
    biller-console lockbox check FILE [--json]
    biller-console lockbox send FILE [--via stratus|email] [--json]
    biller-console lockbox summary FILE [--pdf OUT]
    biller-console lockbox handed-over FILE [--note TEXT]
    biller-console lockbox files

Only CloudStore payments go into the file: every payment whose InvoiceType is not the utility
bill type (42) is a CloudStore item whose InvoiceType is its item code; it needs a GL account
in the ``--gl-map`` CSV (else the profile's map). See console/services/lockbox.py.

Exit codes (the README's table): 0 done; 1 any error (and nothing was written); 66 an input file
(payments, GL map, the lockbox file) does not exist.
JSON amounts are strings; errors are ``{line, column, rule, message}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from pathlib import Path

from console.cli.acting import acting, add_operator_argument
from console.cli.confirm import add_yes_option, confirm_or_exit
from console.cli.progress import progress_bar
from console.domain.wording import agree, counted
from console.errors import Cancelled, Problem, UserFacingError, ValidationError
from console.services.confirm import lockbox_outbound


def register(sub) -> None:
    p = sub.add_parser("lockbox", help="CloudStore lockbox: build, check, send and summarise lockbox files")
    lsub = p.add_subparsers(dest="lockbox_command", metavar="ACTION", required=True)

    b = lsub.add_parser("build", help="build a lockbox file from a payments file (verified before it is kept)")
    b.add_argument("--payments", type=Path, required=True, help="payments file (ic-payments-v1)")
    b.add_argument("--out", type=Path, required=True, help="the lockbox file to write")
    b.add_argument("--gl-map", type=Path, help="CSV ItemCode,GLAccount (default: the profile's GL mapping)")
    b.add_argument("--from", dest="date_from", type=_date, help="only payments on or after MM/DD/YYYY")
    b.add_argument("--to", dest="date_to", type=_date, help="only payments on or before MM/DD/YYYY")
    b.add_argument("--overwrite", action="store_true", help="replace an existing file at --out")
    b.add_argument("--summary-pdf", type=Path, help="also write the summary sheet as PDF")
    b.add_argument("--override-duplicates", action="store_true",
                   help="include items already in a released lockbox file (needs --supervisor and PIN)")
    b.add_argument("--supervisor", help="supervisor operator ID for an override (PIN asked on the terminal)")
    b.add_argument("--json", action="store_true", help="print JSON")
    add_operator_argument(b)
    b.set_defaults(func=acting("build_lockbox")(cmd_build), input_files=("payments", "gl_map"))

    c = lsub.add_parser("check", help="read a lockbox file back and check every rule and total")
    c.add_argument("file", type=Path)
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=cmd_check, input_files=("file",))

    s = lsub.add_parser("send", help="send a built lockbox file through Stratus or by e-mail (once)")
    s.add_argument("file", type=Path)
    s.add_argument("--via", choices=("stratus", "email"), help="default: the profile's setting")
    s.add_argument("--supervisor", help="supervisor operator ID for an override (PIN asked on the terminal)")
    s.add_argument("--json", action="store_true", help="print JSON")
    add_yes_option(s)
    add_operator_argument(s)
    s.set_defaults(func=acting("send_lockbox")(cmd_send), input_files=("file",))

    m = lsub.add_parser("summary", help="print the summary sheet (totals per GL and batch, fingerprint)")
    m.add_argument("file", type=Path)
    m.add_argument("--pdf", type=Path, help="write it as PDF instead")
    m.set_defaults(func=cmd_summary, input_files=("file",))

    h = lsub.add_parser("handed-over", help="record that a file left the console another way")
    h.add_argument("file", type=Path)
    h.add_argument("--note", default="", help="how it was delivered")
    h.add_argument("--supervisor", help="supervisor operator ID for an override (PIN asked on the terminal)")
    add_operator_argument(h)
    h.set_defaults(func=acting("send_lockbox")(cmd_handed_over), input_files=("file",))

    f = lsub.add_parser("files", help="lockbox files built and released")
    f.add_argument("--json", action="store_true", help="print JSON")
    f.set_defaults(func=cmd_files)


def _date(text: str) -> date:
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"{text!r} is not a date (MM/DD/YYYY)")


def _services(args):
    from console.app import build_services

    return build_services(getattr(args, "profile", None))


def _service(args, services, gl_map_path: Path | None = None):
    svc = services.lockbox
    if gl_map_path is not None:
        svc.use_gl_map(svc.load_gl_map(gl_map_path))
    return svc


def _supervisor(args, services):
    """The supervisor named on the command line, after their PIN ($BILLER_CONSOLE_SUPERVISOR_PIN,
    else asked on the terminal) — the one PIN check, so wrong PINs count toward the lockout."""
    if not getattr(args, "supervisor", None):
        return None
    import getpass
    import os

    pin = os.environ.get("BILLER_CONSOLE_SUPERVISOR_PIN")
    if pin is None:
        if not sys.stdin.isatty():
            raise UserFacingError("No supervisor PIN: set BILLER_CONSOLE_SUPERVISOR_PIN or run on a terminal")
        pin = getpass.getpass(f"PIN for {args.supervisor}: ")
    return services.operators.approve(args.supervisor, pin, for_action="lockbox.override",
                                      by=getattr(args, "operator", "") or "", path="override")


def _problems(problems: list[Problem]) -> list[dict]:
    return [p.as_dict() for p in problems]


def _emit(as_json: bool, payload: dict, text: str) -> None:
    if as_json:
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text)


def _fail(exc: Exception, as_json: bool, extra: dict | None = None) -> int:
    if isinstance(exc, Cancelled):
        print("cancelled", file=sys.stderr)
        return 1
    problems = exc.problems if isinstance(exc, ValidationError) else [Problem(None, None, "error", str(exc))]
    if as_json:
        _emit(True, {"ok": False, **(extra or {}), "errors": _problems(problems), "message": str(exc)}, "")
    else:
        print(f"error: {exc}", file=sys.stderr)
        for p in problems[:200] if isinstance(exc, ValidationError) else ():  # else: the message is all
            print(f"  {p}", file=sys.stderr)
        if len(problems) > 200:
            print(f"  … and {len(problems) - 200} more", file=sys.stderr)
    return 1


def _file_json(f) -> dict:
    return {
        "layout": f.layout, "destination": f.destination, "origin": f.origin,
        "created": f.created.isoformat(timespec="minutes") if f.created else None,
        "records": f.record_count, "item_count": len(f.items), "total": str(f.total),
        "fingerprint": f.fingerprint,
        "batches": [b.as_dict() for b in f.batches],
        "items": [i.as_dict() for i in f.items],
    }


def cmd_build(args) -> int:
    out = args.out
    preview = None
    try:
        services = _services(args)
        svc = _service(args, services, args.gl_map)
        override_by = None
        if args.override_duplicates:
            override_by = _supervisor(args, services)
            if override_by is None:
                raise UserFacingError("--override-duplicates needs --supervisor")
        from console.services.lockbox import load_payments_file

        with progress_bar(args) as progress:
            source = load_payments_file(args.payments, progress=progress)
            preview = svc.preview(source, date_from=args.date_from, date_to=args.date_to,
                                  override_duplicates_by=override_by, progress=progress)
            if preview.errors or not preview.items:
                raise ValidationError(f"No lockbox file was written: {counted(len(preview.errors), 'problem')}",
                                      preview.errors)
            result = svc.build(preview, out, overwrite=args.overwrite, progress=progress, operator=args.operator)
    except (UserFacingError, OSError) as exc:
        extra = {"file": None, "source": args.payments.name}
        if preview is not None:
            extra.update({"excluded": preview.as_dict()["excluded"],
                          "warnings": _problems(preview.warnings)})
        return _fail(exc, args.json, extra)
    if args.summary_pdf:
        from console.lockbox.summary import write_summary_pdf

        write_summary_pdf(result.summary, args.summary_pdf)
    by_conf = {i.confirmation: i for i in preview.items}
    payload = {
        "ok": True, "file": str(result.path), "source": source.name,
        **_file_json(result.file),
        "gl_totals": [{"gl_account": g.gl_account, "items": g.items, "total": str(g.total)}
                      for g in result.summary.gl_totals],
        "excluded": preview.as_dict()["excluded"],
        "errors": [], "warnings": _problems(result.warnings),
    }
    for item in payload["items"]:
        src = by_conf.get(item["confirmation"])
        item["payment_id"] = src.payment_id if src else ""
        item["source_line"] = src.source_line if src else None
    from console.lockbox.summary import summary_text

    text = summary_text(result.summary)
    if result.warnings:
        text += f"\n{counted(len(result.warnings), 'warning')}:\n" + "".join(f"  {w}\n" for w in result.warnings[:50])
    _emit(args.json, payload, text)
    return 0


def cmd_check(args) -> int:
    try:
        services = _services(args)
        svc = _service(args, services)
        res = svc.check(args.file)
    except (UserFacingError, OSError) as exc:
        return _fail(exc, args.json, {"file": str(args.file)})
    f = res.file
    payload = {
        "ok": f.ok, "file": str(args.file), **_file_json(f),
        "registered": None if res.registered is None else {
            "status": res.registered.status, "built_at": res.registered.built_at,
            "released_at": res.registered.released_at, "released_via": res.registered.released_via},
        "released_elsewhere": [{"confirmation": p.confirmation, "where": p.describe()}
                               for p in res.released_elsewhere],
        "errors": _problems(f.errors), "warnings": _problems(f.warnings),
    }
    if f.ok:
        from console.lockbox.summary import summary_text

        text = summary_text(svc.summary(f, args.file.name))
    else:
        text = f"{args.file.name}: {counted(len(f.errors), 'error')}\n" + "".join(f"  {p}\n" for p in f.errors[:200])
    if res.released_elsewhere:
        text += (f"\n{counted(len(res.released_elsewhere), 'item')} {agree(len(res.released_elsewhere), 'is')} already in another released lockbox file:\n"
                 + "".join(f"  {p.confirmation} {p.describe()}\n" for p in res.released_elsewhere[:50]))
    _emit(args.json, payload, text)
    return 0 if f.ok else 1


def cmd_send(args) -> int:
    try:
        services = _services(args)
        svc = _service(args, services)
        via = args.via or svc.settings.send_via
        c = svc.check(args.file)
        if c.ok:  # an invalid file is refused by send itself, with its problems
            confirm_or_exit(args, lockbox_outbound(services, Path(args.file).name, len(c.file.items), c.file.total,
                                                   via), services.profile)
        override_by = _supervisor(args, services)
        with progress_bar(args) as progress:
            outcome = svc.send(args.file, via=via, override_by=override_by, progress=progress,
                               operator=args.operator)
    except (UserFacingError, OSError) as exc:
        return _fail(exc, args.json, {"file": str(args.file)})
    payload = {"ok": True, "file": str(outcome.path), "via": outcome.via, "fingerprint": outcome.fingerprint,
               "destination": outcome.destination, "status": outcome.status, "key": outcome.reference,
               "reconciled": outcome.reconciled, "override": outcome.override, "warnings": list(outcome.warnings)}
    text = f"{outcome.path.name}: {outcome.status} ({outcome.via} → {outcome.destination})\n"
    text += "".join(f"warning: {w}\n" for w in outcome.warnings)
    _emit(args.json, payload, text)
    return 0


def cmd_summary(args) -> int:
    try:
        svc = _service(args, _services(args))
        if args.pdf:
            svc.summary_pdf(args.file, args.pdf)
            print(f"summary written to {args.pdf}")
        else:
            sys.stdout.write(svc.summary_text(args.file))
    except (UserFacingError, OSError) as exc:
        return _fail(exc, False)
    return 0


def cmd_handed_over(args) -> int:
    try:
        services = _services(args)
        svc = _service(args, services)
        reg = svc.mark_handed_over(args.file, note=args.note, override_by=_supervisor(args, services),
                                   operator=args.operator)
    except (UserFacingError, OSError) as exc:
        return _fail(exc, False)
    print(f"{reg.name}: recorded as handed over ({reg.released_at})")
    return 0


def cmd_files(args) -> int:
    try:
        svc = _service(args, _services(args))
        files = svc.files()
    except (UserFacingError, OSError) as exc:
        return _fail(exc, args.json)
    rows = [{"name": f.name, "fingerprint": f.fingerprint, "built_at": f.built_at, "operator": f.operator,
             "items": f.items, "batches": f.batches, "total": f.total, "status": f.status,
             "released_at": f.released_at, "released_via": f.released_via} for f in files]
    text = "".join(f"{f.built_at[:16]}  {f.status:<11} {f.items:>7,} items  {f.total:>16}  {f.name}\n" for f in files)
    _emit(args.json, {"files": rows}, text or "no lockbox files yet\n")
    return 0
