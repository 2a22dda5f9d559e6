"""The small service layer of bill images: which template and naming a profile uses, and
the invoice file as the split needs it."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import shutil
from pathlib import Path

from console.bills.split import DEFAULT_NAMING, InvoiceRef, check_naming
from console.bills.template import BillTemplate, load_template
from console.domain.wording import counted
from console.errors import ValidationError
from console.paths import resource

INVOICE_LAYOUT = "ic-invoice-v1"


def sandbox_template_path() -> Path:
    return resource("templates", "sandbox-bills.toml")


def resolve_template(path: Path | str | None, profile=None) -> BillTemplate:
    """The template given, else the profile's ``bills.template``, else the sandbox's."""
    if path:
        return load_template(path)
    configured = profile.get("bills_template") if profile is not None else ""
    if configured:
        return load_template(Path(str(configured)).expanduser())
    return load_template(sandbox_template_path())


def template_for_batch(pdf: Path | str, path: Path | str | None, profile=None, refs=None) -> BillTemplate:
    """The template given, else the one of the batch's invoice type (``bills_templates_by_type``,
    :mod:`console.bills.by_type`), else the profile's single template, else the sandbox's."""
    default = resolve_template(path, profile)
    if path:
        return default
    from console.bills.by_type import choose_template, templates_by_type

    mapping = templates_by_type(profile)
    return choose_template(pdf, refs, mapping, default).template if mapping else default


def naming_for(profile=None, option: str | None = None) -> str:
    """The naming pattern to use, checked: the command line's ``--naming`` when given, else the
    profile's setting, else the default."""
    if option:
        return check_naming(option, option="--naming")
    naming = (profile.get("bills_naming") if profile is not None else "") or DEFAULT_NAMING
    return check_naming(str(naming), option=NAMING_SETTING)


NAMING_SETTING = "The profile's bill image file name (Settings › Bill images, bills.naming)"


def images_sent(profile=None) -> bool:
    """False in the "Invoice Cloud template" mode: Invoice Cloud draws the bills itself."""
    return profile is None or profile.get("bills_mode") != "ic_template"


def load_invoice_refs(path: Path | str, *, progress=None, cancel=None) -> list[InvoiceRef]:
    """Read an invoice file (``ic-invoice-v1``) with the file reader; a file with errors is refused."""
    from console.files.layouts import load_layout
    from console.files.reader import read_file

    result = read_file(Path(path), load_layout(INVOICE_LAYOUT), progress=progress, cancel=cancel)
    if result.errors:
        first = "; ".join(str(p) for p in result.errors[:3])
        raise ValidationError(f"Invoice file {Path(path).name} has {counted(len(result.errors), 'error')}, so bill "
                              f"images cannot be matched to it: {first}", list(result.errors))
    return invoice_refs(result.records)


def invoice_refs(records) -> list[InvoiceRef]:
    refs = []
    for rec in records:
        values = getattr(rec, "values", rec)
        account = str(values.get("AccountNumber") or "").strip()
        invoice = str(values.get("InvoiceNumber") or "").strip()
        if not account or not invoice:
            continue
        refs.append(InvoiceRef(
            account=account,
            invoice=invoice,
            bill_image=str(values.get("BillImage") or "").strip(),
            bill_date=_sortable_date(values.get("BillDate")),
            line=getattr(rec, "line", None),
            invoice_type=values.get("InvoiceType") if isinstance(values.get("InvoiceType"), int) else None,
        ))
    return refs


def _sortable_date(value) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value or "").strip()
    try:
        return dt.datetime.strptime(text, "%m/%d/%Y").date().isoformat()
    except ValueError:
        return text


def _sandbox_bills_folder(paths, day: dt.date) -> Path:
    """``<sandbox>/bills/YYYYMMDD/``: the sandbox's cached bill files of ``day``. Other days'
    folders (and the undated files of older versions) are removed: the demo data follows the
    date, so they no longer match what the sandbox serves."""
    root = Path(paths.sandbox_dir) / "bills"
    folder = root / f"{day:%Y%m%d}"
    folder.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():
        if old == folder:
            continue
        if old.is_dir() and re.fullmatch(r"\d{8}", old.name):
            shutil.rmtree(old, ignore_errors=True)  # a file still open (Windows) stays until next time
        elif old.is_file() and re.fullmatch(r"(bill-batch-\d+-v\d+\.pdf|invoices-\d+\.txt)", old.name):
            with contextlib.suppress(OSError):
                old.unlink()
    return folder


def sandbox_batch(paths, *, count: int | None = None, as_of: dt.date | None = None,
                  progress=None, cancel=None) -> Path:
    """The sandbox's bill batch PDF for its demo customers, dated ``as_of`` (default: the
    sandbox's today): printed once a day, then reused that day."""
    from console.sandbox.bill_pdf import LAYOUT_VERSION, build_bill_batch
    from console.sandbox.seed import DEFAULT_COUNT, demo_customers, demo_today

    count = count or DEFAULT_COUNT
    day = as_of or demo_today()
    target = _sandbox_bills_folder(paths, day) / f"bill-batch-{count}-v{LAYOUT_VERSION}.pdf"
    if not target.exists():
        if cancel is not None and cancel.is_set():
            from console.errors import Cancelled

            raise Cancelled("cancelled")
        build_bill_batch(demo_customers(count, as_of=day), target, progress=progress)
    return target


def sandbox_invoice_file(paths, *, count: int | None = None, as_of: dt.date | None = None) -> Path:
    """The sandbox's invoice file for the same demo customers and day (to cross-check the batch):
    written once a day, then reused that day."""
    from console.sandbox.invoice_export import write_invoice_export
    from console.sandbox.seed import DEFAULT_COUNT, demo_today

    count = count or DEFAULT_COUNT
    day = as_of or demo_today()
    target = _sandbox_bills_folder(paths, day) / f"invoices-{count}.txt"
    if not target.exists():
        write_invoice_export(target, count, as_of=day)
    return target


def save_template(template: BillTemplate, path: Path, *, profile, operator, audit=None) -> Path:
    """Write a bill template (TOML, atomically): ``operator`` must be allowed
    ``edit_bill_templates`` under ``profile``; audited."""
    from console.services.operators import require

    require(profile, operator, "edit_bill_templates", audit)
    template.save(Path(path))
    if audit is not None:
        who = getattr(operator, "operator_id", str(operator))
        audit.record(who, "bills.template_saved", Path(path).name, name=template.name)
    return Path(path)
