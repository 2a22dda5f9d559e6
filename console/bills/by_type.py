"""Bill templates per invoice type: utility bills and CloudStore / Accounts Receivable invoices are laid out
differently, so the profile may name a template per invoice type (``bills_templates_by_type``:
``42=utility.toml``, ``801=ar-invoice.toml``). A batch is indexed with the template chosen by the
invoice type of the matching invoice: each configured template reads the first pages, and the
first whose account number belongs to an invoice of its type (in the invoice file) wins. Without
an invoice file, the first template that finds an account number on the first pages wins; when
none does, the profile's single template (``bills_template``) is used as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from console.bills.split import InvoiceRef
from console.bills.template import BillTemplate, load_template
from console.domain.invoice_types import parse_type_map

PROBE_PAGES = 3


@dataclass(frozen=True)
class Choice:
    template: BillTemplate
    invoice_type: int | None  # None: the default template (no per-type template matched)
    path: Path | None
    reason: str


def templates_by_type(profile) -> dict[int, Path]:
    if profile is None:
        return {}
    return {t: Path(p).expanduser() for t, p in parse_type_map(profile.get("bills_templates_by_type")).items()}


def choose_template(pdf: Path | str, refs: Sequence[InvoiceRef] | None, mapping: dict[int, Path],
                    default: BillTemplate) -> Choice:
    """The template for the batch ``pdf`` (see the module text)."""
    from console.bills.indexer import PageReader

    type_of = {r.account: r.invoice_type for r in refs or () if r.invoice_type is not None}
    for invoice_type, path in mapping.items():
        template = load_template(path)
        reader = PageReader(pdf, template.region, template.pattern)
        try:
            for i in range(min(PROBE_PAGES, len(reader))):
                account = template.find_account(reader.read(i).text or "")
                if account is None:
                    continue
                if not type_of or type_of.get(account) == invoice_type:
                    why = (f"page {i + 1}: account {account} has a type {invoice_type} invoice" if type_of
                           else f"page {i + 1}: account {account} found by the type {invoice_type} template")
                    return Choice(template, invoice_type, path, why)
        finally:
            reader.close()
    return Choice(default, None, None, "no per-type template matched the first pages: the default template")
