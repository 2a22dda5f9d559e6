"""Plain domain records shared by services, adapters and the UI."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class UsagePoint:
    period: str  # "YYYY-MM"
    consumption: Decimal
    unit: str = "kgal"


@dataclass(frozen=True)
class Adjustment:
    adjustment_id: str
    account_number: str
    adjusted_at: dt.datetime
    amount: Decimal
    reason: str


@dataclass(frozen=True)
class AccountSummary:
    """One row of an account search (the IVR's UtilitySearch2 idea)."""

    account_number: str
    name: str
    service_address: str
    phone: str = ""
    balance: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class CustomerDetail:
    """What Caselle's CustomerDetail tells about an account (balance forward)."""

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
    partial_payments_allowed: bool
    autopay: bool
    paperless: bool
    adjustments: tuple[Adjustment, ...] = ()
    usage: tuple[UsagePoint, ...] = ()

    def bill_expired(self, today: dt.date) -> bool:
        return self.bill_expires is not None and today > self.bill_expires


@dataclass(frozen=True)
class Invoice:
    account_number: str
    invoice_number: str
    invoice_type: int
    customer_name: str
    bill_date: dt.date
    due_date: dt.date
    previous_balance: Decimal
    current_charges: Decimal
    total_amount_due: Decimal
    minimum_amount_due: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class Payment:
    """One Invoice Cloud payment (a row of ``ic-payments-v1``)."""

    payment_id: str
    confirmation_number: str
    account_number: str
    invoice_number: str
    invoice_type: str
    payer_name: str
    tender: str  # CARD | ACH
    card_last4: str
    amount: Decimal
    convenience_fee: Decimal
    payment_date: dt.date
    settlement_date: dt.date | None
    status: str  # APPROVED | VOIDED


@dataclass(frozen=True)
class Receipt:
    """A Caselle cash receipt. ``reference`` is the external (Invoice Cloud) key."""

    receipt_number: str  # e.g. "5.00008"
    reference: str
    account_number: str
    amount: Decimal
    batch_id: str
    receipt_date: dt.date
    tender: str
    voided: bool = False
    void_reason: str = ""
    extra: dict = field(default_factory=dict, compare=False)
