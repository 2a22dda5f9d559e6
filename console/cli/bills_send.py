"""``biller-console bills send PDF --out DIR``: split a bill batch and send the bill images to Invoice Cloud.

The same work as the Bill Images tab's **Send**: index the batch, write one PDF per bill into
``--out`` (named by the profile's pattern, cross-checked with ``--invoices``), then send each
through the transfer service, journaled exactly once (a bill already delivered is reported as
"already sent", never sent twice). The operator signs in (``--operator`` /
``$BILLER_CONSOLE_OPERATOR``, PIN ``$BILLER_CONSOLE_PIN``) and needs the ``send_bills`` permission.

Exit codes (the README's table): 0 every bill sent or already sent; 2 something needs a look
(a bill failed or was not sent, held bills, unmatched pages); 1 invalid input (a template or
invoice file that breaks rules) or the send could not start; 66 a missing or unreadable file;
77 not permitted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from console.cli.acting import EXIT_NOT_PERMITTED, operator_id, sign_in
from console.cli.confirm import add_yes_option, confirm_or_exit
from console.cli.exit_codes import ATTENTION as EXIT_LOOK
from console.cli.exit_codes import INVALID as EXIT_FAILED
from console.cli.exit_codes import NO_INPUT
from console.cli.exit_codes import OK as EXIT_OK
from console.errors import Cancelled, NotPermitted, UserFacingError
from console.services.confirm import bills_outbound


def register(bsub) -> None:
    sd = bsub.add_parser("send", help="split a bill batch and send the bill images to Invoice Cloud, exactly once",
                         description=__doc__)
    sd.add_argument("pdf", type=Path, help="the bill batch PDF")
    sd.add_argument("--out", type=Path, required=True, help="folder for the bill PDFs")
    sd.add_argument("--template", type=Path, help="template TOML (default: the profile's, else the sandbox's)")
    sd.add_argument("--invoices", type=Path, help="invoice file (ic-invoice-v1) to name and cross-check bills")
    sd.add_argument("--naming", help="file name pattern (default: the profile's)")
    sd.add_argument("--operator", default="", help="operator ID (default: $BILLER_CONSOLE_OPERATOR)")
    sd.add_argument("--json", action="store_true", help="print JSON")
    add_yes_option(sd)
    sd.set_defaults(func=cmd_send, input_files=("pdf", "template", "invoices"))


def cmd_send(args) -> int:
    from console.app import build_services
    from console.bills.indexer import index_batch
    from console.bills.send import FAILED, NOT_SENT, bills_to_send, send_bills, transfer_service_for
    from console.bills.service import load_invoice_refs, naming_for, template_for_batch
    from console.bills.split import split_batch

    services = build_services(args.profile, operator_id=operator_id(args))
    try:
        operator = sign_in(services, args, "send_bills")
        profile = services.profile
        try:
            naming = naming_for(profile, args.naming)
            invoices = load_invoice_refs(args.invoices) if args.invoices else None
            template = template_for_batch(args.pdf, args.template, profile, invoices)
            index = index_batch(args.pdf, template)
            result = split_batch(args.pdf, index, args.out, invoices=invoices, naming=naming)
        except (UserFacingError, Cancelled) as exc:
            from console.bills.pdf import BadPdfError

            return _emit(args, {"error": str(exc)}, NO_INPUT if isinstance(exc, BadPdfError) else EXIT_FAILED)
        confirm_or_exit(args, bills_outbound(services, f"bill images split from {args.pdf.name}",
                                             len(bills_to_send(result))), profile)
        report = send_bills(result, transfer_service_for(services), operator=operator, profile=profile)
    except NotPermitted as exc:
        return _emit(args, {"error": str(exc), "status": "not_permitted"}, EXIT_NOT_PERMITTED)
    except UserFacingError as exc:
        return _emit(args, {"error": str(exc)}, EXIT_FAILED)
    finally:
        services.close()
    out = {"pdf": str(args.pdf), "bills": len(result.written), "held": len(result.held),
           "unmatched_pages": index.unmatched_pages, "summary": report.summary,
           "counts": {s: report.count(s) for s in ("sent", "already sent", "failed", "not sent")},
           "outcomes": [{"account": o.account, "file": o.file_name, "status": o.status, "message": o.message,
                         "remote_path": o.remote_path} for o in report.outcomes]}
    look = report.count(FAILED) or report.count(NOT_SENT) or result.held or index.unmatched_pages
    return _emit(args, out, EXIT_LOOK if look else EXIT_OK)


def _emit(args, out: dict, code: int) -> int:
    out["exit"] = code
    if args.json:
        print(json.dumps(out, indent=1, ensure_ascii=False))
        return code
    if "error" in out:
        print(f"bills send: {out['error']}", file=sys.stderr)
        return code
    print(f"{out['pdf']}: {out['bills']} bills; {out['summary']}")
    for o in out["outcomes"]:
        if o["status"] not in ("sent",):
            print(f"  {o['status']:<13} {o['file']}  {o['message']}")
    if out["held"]:
        print(f"  {out['held']} held (not sent): see `bills split`")
    return code
