"""``biller-console bills``: index a bill batch PDF, split it into one PDF per bill, send the bills.

``bills send`` (``console/cli/bills_send.py``) has its own exit codes (77: not permitted).

Exit codes (the README's table): 0 all good; 2 done, but something needs a look (unmatched
pages, duplicate accounts, held bills, invoices without an image or images without an invoice);
1 invalid input (a template or invoice file that breaks rules); 66 a missing or unreadable PDF.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from console.cli.exit_codes import ATTENTION, INVALID, NO_INPUT, OK
from console.cli.progress import progress_bar
from console.errors import Cancelled, UserFacingError, ValidationError


def register(sub) -> None:
    p = sub.add_parser("bills", help="bill images: index and split bill batch PDFs")
    bsub = p.add_subparsers(dest="bills_command", metavar="ACTION", required=True)

    ix = bsub.add_parser("index", help="find every bill (account and pages) in a batch PDF")
    ix.add_argument("pdf", type=Path, help="the bill batch PDF")
    ix.add_argument("--template", type=Path, help="template TOML (default: the profile's, else the sandbox's)")
    ix.add_argument("--json", action="store_true", help="print JSON")
    ix.add_argument("--workers", type=int, default=None, help="reader processes (default: one per core)")
    ix.set_defaults(func=cmd_index, input_files=("pdf", "template"))

    sp = bsub.add_parser("split", help="write one PDF per bill")
    sp.add_argument("pdf", type=Path, help="the bill batch PDF")
    sp.add_argument("--template", type=Path, help="template TOML (default: the profile's, else the sandbox's)")
    sp.add_argument("--out", type=Path, required=True, help="folder for the bill PDFs")
    sp.add_argument("--invoices", type=Path, help="invoice file (ic-invoice-v1) to name and cross-check bills")
    sp.add_argument("--naming", help="file name pattern, e.g. '{account}_{invoice}.pdf' (default: the profile's)")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.set_defaults(func=cmd_split, input_files=("pdf", "template", "invoices"))

    sb = bsub.add_parser("sandbox-batch", help="print a bill batch PDF for the sandbox's demo customers")
    sb.add_argument("--out", type=Path, required=True, help="the PDF to write")
    sb.add_argument("--count", type=int, default=None, help="demo customers (default: the sandbox's 600)")
    sb.add_argument("--seed", type=int, default=0, help="seed for the batch's choices (same seed, same bytes)")
    sb.add_argument("--usage-months", type=int, choices=(12, 24), default=12, help="months in the usage chart")
    sb.add_argument("--invoices", type=Path, help="also write the matching invoice file (ic-invoice-v1)")
    sb.set_defaults(func=cmd_sandbox_batch)

    from console.cli import bills_send

    bills_send.register(bsub)

    tp = bsub.add_parser("template-check", help="validate a template file")
    tp.add_argument("template", type=Path)
    tp.set_defaults(func=cmd_template_check, input_files=("template",))


def _profile(args):
    from console.config import ProfileStore
    from console.paths import Paths

    return ProfileStore(Paths.default()).load(getattr(args, "profile", None))


def _template(args, refs=None):
    """``--template``, else the template of the batch's invoice type, else the profile's (or the sandbox's)."""
    from console.bills.service import template_for_batch

    return template_for_batch(args.pdf, args.template, _profile_or_none(args), refs)


def _profile_or_none(args):
    try:
        return _profile(args)
    except UserFacingError:
        if args.template is None and getattr(args, "naming", None) is None:
            raise
        return None


def _fail(exc: Exception, as_json: bool) -> int:
    if isinstance(exc, Cancelled):
        print("cancelled", file=sys.stderr)
        return 130
    problems = getattr(exc, "problems", [])
    if as_json:
        print(json.dumps({"error": str(exc), "problems": [p.as_dict() for p in problems]}, indent=1))
    print(f"error: {exc}", file=sys.stderr)
    for p in problems:
        print(f"  - {p}", file=sys.stderr)
    from console.bills.pdf import BadPdfError

    return NO_INPUT if isinstance(exc, BadPdfError) else INVALID


def _quiet_broken_pipe(fn):
    """``biller-console bills index x.pdf | head`` must not end in a traceback."""
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except BrokenPipeError:
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0

    return wrapper


@_quiet_broken_pipe
def cmd_index(args: argparse.Namespace) -> int:
    from console.bills.indexer import index_batch

    try:
        template = _template(args)
        with progress_bar(args) as progress:
            index = index_batch(args.pdf, template, workers=args.workers, progress=progress)
    except (UserFacingError, Cancelled) as exc:
        return _fail(exc, args.json)
    if args.json:
        print(json.dumps(index.as_dict(), indent=1))
    else:
        print(f"{index.path.name}: {index.pages} pages, {len(index.bills)} bills")
        for b in index.bills:
            flag = "  DUPLICATE" if b.account in index.duplicate_accounts else ""
            print(f"  {b.account:<20} {'page' if len(b.pages) == 1 else 'pages'} {_ranges(b.pages)}{flag}")
        for issue in index.issues:
            print(f"  ! {issue.message}")
        if index.unmatched_pages:
            print(f"unmatched pages: {_ranges(index.unmatched_pages)}")
    return OK if index.clean else ATTENTION


@_quiet_broken_pipe
def cmd_split(args: argparse.Namespace) -> int:
    from console.bills.indexer import index_batch
    from console.bills.service import load_invoice_refs, naming_for
    from console.bills.split import split_batch

    try:
        profile = _profile_or_none(args)
        naming = naming_for(profile, args.naming)
        invoices = load_invoice_refs(args.invoices) if args.invoices else None
        template = _template(args, invoices)
        with progress_bar(args) as progress:
            index = index_batch(args.pdf, template, progress=progress)
            result = split_batch(args.pdf, index, args.out, invoices=invoices, naming=naming, progress=progress)
    except (UserFacingError, Cancelled) as exc:
        return _fail(exc, args.json)
    check = result.cross_check
    if args.json:
        out = result.as_dict()
        out["unmatched_pages"] = index.unmatched_pages
        out["issues"] = [i.as_dict() for i in index.issues]
        print(json.dumps(out, indent=1))
    else:
        print(f"wrote {len(result.written)} bill PDFs to {result.out_dir}")
        for f in result.written:
            if f.status != "ok" or f.message:
                print(f"  ! {f.file_name}: {f.message}")
        for f in result.held:
            print(f"  held {f.account} ({'page' if len(f.pages) == 1 else 'pages'} {_ranges(f.pages)}): {f.message}")
        if index.unmatched_pages:
            print(f"unmatched pages (in no bill): {_ranges(index.unmatched_pages)}")
        if check is not None:
            for r in check.invoices_without_image:
                print(f"  invoice {r.invoice} (account {r.account}) has no bill image")
            for acc in check.images_without_invoice:
                print(f"  bill for account {acc} has no invoice")
    needs_look = bool(result.held or index.unmatched_pages or (check is not None and not check.clean))
    return ATTENTION if needs_look else OK


def cmd_sandbox_batch(args: argparse.Namespace) -> int:
    from console.sandbox.bill_pdf import bill_page_count, build_bill_batch
    from console.sandbox.seed import DEFAULT_COUNT, demo_customers

    count = args.count or DEFAULT_COUNT
    if count < 1:
        print("error: --count must be at least 1", file=sys.stderr)
        return 2
    customers = demo_customers(count)
    build_bill_batch(customers, args.out, seed=args.seed, usage_months=args.usage_months)
    pages = sum(bill_page_count(c, args.seed) for c in customers)
    print(f"wrote {args.out}: {len(customers)} bills on {pages} pages")
    if args.invoices:
        from console.sandbox.invoice_export import write_invoice_export

        info = write_invoice_export(args.invoices, count)
        print(f"wrote {args.invoices}: {info['records']} invoices")
    return 0


def cmd_template_check(args: argparse.Namespace) -> int:
    from console.bills.template import load_template

    try:
        t = load_template(args.template)
    except ValidationError as exc:
        return _fail(exc, False)
    print(f"{args.template}: OK — region {list(t.region)}, continuation {t.continuation}")
    return 0


def _ranges(pages) -> str:
    pages = list(pages)
    if not pages:
        return "-"
    out, start, prev = [], pages[0], pages[0]
    for p in pages[1:]:
        if p == prev + 1:
            prev = p
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        start = prev = p
    out.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ", ".join(out)
