"""Counter payments' view models: what the tab, the CLI and the drawer close-out show.

Split out of :mod:`console.services.counter` (which re-exports every name), GUI-free.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from console.adapters.journal import DONE
from console.domain.money import format_money


# --------------------------------------------------------------------------- view models
@dataclass(frozen=True)
class UsageBar:
    period: str  # YYYY-MM
    consumption: Decimal
    unit: str
    billed: Decimal | None = None


@dataclass(frozen=True)
class AccountView:
    """What the counter shows about an account, with the biller's rules applied."""

    account_number: str
    name: str
    service_address: str
    mail_address: str
    phone: str
    email: str
    balance: Decimal
    amount_due: Decimal
    minimum_due: Decimal
    due_date: dt.date | None
    bill_expires: dt.date | None
    bill_expired: bool  # expired AND the profile expires bills for payment
    partial_allowed: bool  # the profile AND the account allow partial payments
    autopay: bool
    paperless: bool
    adjustments: tuple = ()
    usage: tuple[UsageBar, ...] = ()
    status: str = ""
    notices: tuple[str, ...] = ()

    @property
    def payable_due(self) -> Decimal:
        """What a full payment is: the bill's amount due, or the balance once the bill expired."""
        return self.balance if self.bill_expired else self.amount_due

    @property
    def suggested_amount(self) -> Decimal:
        return max(self.payable_due, Decimal("0.00"))


@dataclass(frozen=True)
class AmountProblem:
    rule: str
    message: str
    severity: str = "error"  # error | confirm | info


@dataclass(frozen=True)
class AmountCheck:
    """The amount the cashier typed, judged by the biller's rules."""

    text: str
    amount: Decimal | None
    kind: str = ""  # full | partial | overpayment | ""
    problems: tuple[AmountProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return self.amount is not None and not any(p.severity == "error" for p in self.problems)

    @property
    def error(self) -> str:
        return next((p.message for p in self.problems if p.severity == "error"), "")

    @property
    def needs_confirmation(self) -> str:
        """A question to confirm before charging ("" when none)."""
        return next((p.message for p in self.problems if p.severity == "confirm"), "") if self.ok else ""

    @property
    def message(self) -> str:
        """The one line to show under the amount."""
        for sev in ("error", "confirm", "info"):
            for p in self.problems:
                if p.severity == sev:
                    return p.message
        return ""


@dataclass(frozen=True)
class ReceiptDocument:
    """Everything a printed counter receipt shows (masked card only)."""

    biller: str
    receipt_number: str  # Caselle's, "" while the receipt is queued
    account_number: str
    name: str
    amount: Decimal
    masked_pan: str
    brand: str
    auth_code: str
    transaction_id: str
    taken_at: dt.datetime  # local time
    operator: str
    operator_name: str
    training: bool
    status: str  # "Paid" | "Paid — receipt number to follow" | "VOIDED"
    card_name: str = ""
    tender: str = "CARD"
    check_number: str = ""
    tendered: Decimal | None = None
    change: Decimal | None = None
    virtual_site: str = ""  # the Invoice Cloud site the customer pays at (Settings → Invoice Cloud)

    def lines(self) -> list[tuple[str, str]]:
        rows = [("Receipt", self.receipt_number or "to follow (queued for Caselle)"),
                ("Date", self.taken_at.strftime("%m/%d/%Y %I:%M %p")),
                ("Account", self.account_number), ("Name", self.name),
                ("Amount", format_money(self.amount))]
        if self.tender == "CASH":
            rows.append(("Paid by", "Cash"))
            if self.tendered is not None:
                rows.append(("Tendered", format_money(self.tendered)))
                rows.append(("Change", format_money(self.change or Decimal("0.00"))))
        elif self.tender == "CHECK":
            rows.append(("Paid by", f"Check {self.check_number}".strip()))
        else:
            rows.append(("Card", f"{self.brand} {self.masked_pan}".strip()))
            if self.card_name:
                rows.append(("Cardholder", self.card_name))
            rows += [("Auth code", self.auth_code), ("Transaction", self.transaction_id)]
        rows.append(("Cashier", f"{self.operator_name} ({self.operator})" if self.operator_name else self.operator))
        return rows


@dataclass(frozen=True)
class CounterPayment:
    """One card payment taken at the counter (a row of today's list)."""

    key: str
    taken_at: dt.datetime  # local
    account_number: str
    name: str
    amount: Decimal
    masked_pan: str
    brand: str
    auth_code: str
    transaction_id: str
    receipt_number: str
    operator: str
    state: str  # posted | queued | review | declined | unconfirmed | not_charged | voided | void_pending
    #             | receipt_voided (voided in Caselle by hand, the card charge stands)
    detail: str = ""
    card_name: str = ""
    tender: str = "CARD"  # CARD | CASH | CHECK
    check_number: str = ""
    tendered: Decimal | None = None  # cash handed over
    change: Decimal | None = None  # cash given back

    STATE_LABELS = {"posted": "Posted", "queued": "Charged — receipt queued", "review": "Charged — needs review",
                    "declined": "Declined", "unconfirmed": "Unconfirmed — checking", "not_charged": "Not charged",
                    "voided": "Voided", "void_pending": "Void in progress",
                    "receipt_voided": "Receipt voided — card charge stands"}

    @property
    def state_label(self) -> str:
        return self.STATE_LABELS.get(self.state, self.state)

    @property
    def voidable(self) -> bool:
        return self.state == "posted"

    @property
    def paid_by(self) -> str:
        """How it was paid, masked: "Visa 4111********1111", "Cash", "Check 1042"."""
        if self.tender == "CASH":
            return "Cash"
        if self.tender == "CHECK":
            return f"Check {self.check_number}".strip()
        return f"{self.brand} {self.masked_pan}".strip()


@dataclass(frozen=True)
class PaymentResult:
    status: str  # posted | declined | queued | review
    key: str
    amount: Decimal
    account_number: str
    transaction_id: str = ""
    auth_code: str = ""
    masked_pan: str = ""
    brand: str = ""
    receipt_number: str = ""
    reason: str = ""  # a decline's reason
    message: str = ""  # what the cashier must know
    payment: CounterPayment | None = None

    @property
    def charged(self) -> bool:
        return self.status in ("posted", "queued", "review")


@dataclass(frozen=True)
class VoidOutcome:
    receipt_number: str
    transaction_id: str
    caselle_state: str
    card_state: str
    message: str

    @property
    def complete(self) -> bool:
        return self.caselle_state == DONE and self.card_state == DONE


@dataclass
class ReconcileResult:
    resolved: dict[str, str] = field(default_factory=dict)  # key -> posted / declined / not_charged / voided
    still_unconfirmed: list[str] = field(default_factory=list)
