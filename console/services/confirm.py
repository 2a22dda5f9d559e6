"""What is about to leave the office, said the same way by the GUI and the CLI.

Before a file or a batch of changes goes out (the invoice file, a lockbox file, bill images,
importing and posting a file, account sync, a conversion file) the sending service's preview
becomes an ``Outbound``: what, how many, how much, to where (host and folder, or address) and
the profile (TRAINING or production). ``confirmation_text`` is the text both front ends show;
``typed_check`` says whether the operator must type the total (or the count) — in production,
above the profile's thresholds (``confirm_typed_amount_over``, ``confirm_typed_count_over``) —
and ``typed_matches`` checks what they typed. No GUI here (the dialog is
``console/ui/confirm_dialog.py``; the terminal prompt ``console/cli/confirm.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from console.domain.money import format_money

ASSUME_YES_ENV = "BILLER_CONSOLE_ASSUME_YES"


@dataclass(frozen=True)
class Outbound:
    action: str  # "Send the invoice file"
    what: str  # the file or batch: "invoices-1207.txt"
    count: int  # how many items it holds
    unit: str  # "invoices", "payments", "bill images", "balance updates"…
    destination: str  # "sftp://host/folder", "caselle-import@town.gov", "Caselle Connect at https://…"
    profile: str
    training: bool
    amount: Decimal | None = None  # the total, when the items carry money


@dataclass(frozen=True)
class TypedCheck:
    """The operator must type ``expected`` (the total or the count) before it is sent."""

    field: str  # "total" | "count"
    expected: str  # as the operator types it: "12345.67" or "742"
    prompt: str


def outbound_for(profile: Any, *, action: str, what: str, count: int, unit: str, destination: str,
                 amount: Decimal | None = None) -> Outbound:
    return Outbound(action, what, int(count), unit, destination, profile.name, bool(profile.training), amount)


def where(protocol: str, host: str, folder: str, port: int | None = None) -> str:
    """``sftp://host:port/folder`` as people read it (the port only when not the default)."""
    default = {"sftp": 22, "ftps": 21, "ftp": 21}.get(protocol)
    netloc = host + (f":{port}" if port and port != default else "")
    return f"{protocol}://{netloc}/{folder.strip('/')}".rstrip("/")


def confirmation_text(o: Outbound) -> str:
    """The lines both front ends show before sending."""
    profile = f"{o.profile} — TRAINING (sandbox: nothing reaches Caselle or Invoice Cloud)" if o.training \
        else f"{o.profile} — PRODUCTION"
    lines = [f"{o.action}?", "", f"What:     {o.what}", f"How many: {o.count:,} {o.unit}"]
    if o.amount is not None:
        lines.append(f"Total:    {format_money(o.amount)}")
    lines += [f"To:       {o.destination}", f"Profile:  {profile}"]
    return "\n".join(lines)


def typed_check(o: Outbound, profile: Any) -> TypedCheck | None:
    """In production, above the profile's threshold, the total (or count) must be typed."""
    if o.training:
        return None
    amount_over = profile.get("confirm_typed_amount_over")
    count_over = profile.get("confirm_typed_count_over")
    if o.amount is not None and amount_over is not None and o.amount > Decimal(amount_over):
        return TypedCheck("total", f"{o.amount:.2f}",
                          f"Type the total ({format_money(o.amount)}) to confirm, e.g. {o.amount:.2f}")
    if o.amount is None and count_over is not None and o.count > int(count_over):
        return TypedCheck("count", str(o.count), f"Type the number of {o.unit} ({o.count:,}) to confirm")
    return None


def typed_matches(check: TypedCheck, typed: str) -> bool:
    """``12,345.67``, ``$12345.67`` and ``12345.67`` all match a total of 12345.67."""
    text = (typed or "").strip().replace(",", "").replace("$", "").replace(" ", "")
    if not text:
        return False
    if check.field == "count":
        return text == check.expected
    try:
        return Decimal(text) == Decimal(check.expected)
    except InvalidOperation:
        return False


# ---- where things go (no I/O: read from the profile and the endpoints already known) -----------

_FOLDER_SETTING = {"invoices": "transfer_invoice_folder", "bills": "transfer_bills_folder",
                   "lockbox": "transfer_lockbox_folder", "balances": "transfer_balance_folder"}


def transfer_where(services: Any, kind: str) -> str:
    """``sftp://host/folder`` the transfer service sends ``kind`` files to."""
    profile = services.profile
    folder = str(profile.get(_FOLDER_SETTING.get(kind, "transfer_invoice_folder")) or "/")
    endpoints = services.__dict__.get("endpoints") or {}  # only when already known: never starts anything
    protocol = str(profile.get("transfer_protocol") or "sftp")
    if profile.is_sandbox and not endpoints:
        return f"the sandbox's SFTP stand-in (127.0.0.1), folder {folder}"
    host = str(endpoints.get("transfer_host") or profile.get("transfer_host") or "?")
    port = endpoints.get("transfer_port") or profile.values.get("transfer_port")
    return where(protocol, host, folder, int(port) if port else None)


def caselle_where(services: Any) -> str:
    profile = services.profile
    endpoints = services.__dict__.get("endpoints") or {}
    url = endpoints.get("caselle_url") or profile.get("caselle_url") or ""
    if profile.is_sandbox and not endpoints:
        return "Caselle Connect (the sandbox's stand-in on 127.0.0.1)"
    return f"Caselle Connect at {url}" if url else "Caselle Connect"


def invoicecloud_where(services: Any) -> str:
    profile = services.profile
    endpoints = services.__dict__.get("endpoints") or {}
    url = endpoints.get("ic_api_url") or profile.get("invoicecloud_api_url") or ""
    if profile.is_sandbox and not endpoints:
        return "Invoice Cloud (the sandbox's stand-in on 127.0.0.1)"
    return f"Invoice Cloud at {url}" if url else "Invoice Cloud"


def lockbox_where(services: Any, via: str) -> str:
    if via == "email":
        to = str(services.profile.get("lockbox_email_to") or "")
        if not to and services.profile.is_sandbox:
            to = "caselle-import@sandbox.test"
        return f"e-mail to {to or '(no recipient set)'}"
    return transfer_where(services, "lockbox")


# ---- the previews of each sending service, as one Outbound --------------------------------------

def invoice_file_outbound(services: Any, name: str, records: int, total: Decimal) -> Outbound:
    return outbound_for(services.profile, action="Send the invoice file to Invoice Cloud", what=name,
                        count=records, unit="invoices", amount=total, destination=transfer_where(services, "invoices"))


def lockbox_outbound(services: Any, name: str, items: int, total: Decimal, via: str) -> Outbound:
    how = "by e-mail" if via == "email" else "through Stratus"
    return outbound_for(services.profile, action=f"Send the lockbox file {how}", what=name, count=items,
                        unit="payments", amount=total, destination=lockbox_where(services, via))


def bills_outbound(services: Any, batch: str, files: int) -> Outbound:
    return outbound_for(services.profile, action="Send the bill images to Invoice Cloud", what=batch, count=files,
                        unit="bill images", destination=transfer_where(services, "bills"))


def posting_outbound(services: Any, name: str, kind: str, rows: int, total: Decimal | None) -> Outbound:
    unit = {"payments": "payments", "rejects": "ACH rejects", "changes": "changes"}.get(kind, "rows")
    return outbound_for(services.profile, action="Import the file and post it to Caselle", what=name, count=rows,
                        unit=unit, amount=total, destination=caselle_where(services))


def account_sync_outbound(services: Any, count: int, total: Decimal | None, via: str) -> Outbound:
    dest = transfer_where(services, "balances") if via == "file" else invoicecloud_where(services)
    return outbound_for(services.profile, action="Send the balance updates to Invoice Cloud",
                        what="Caselle adjustments since the last sync", count=count, unit="balance updates",
                        amount=total, destination=dest)


def conversion_outbound(services: Any, name: str, rows: int) -> Outbound:
    return outbound_for(services.profile, action="Send the conversion file to Invoice Cloud", what=name, count=rows,
                        unit="customers", destination=transfer_where(services, "invoices"))
