"""Returned counter checks: a supervisor reverses the receipt in Caselle, exactly once.

A check taken at the counter that bounces days later (the batch long closed) is reversed
through the same journaled path as an Invoice Cloud ACH reject: an ``ach_reject`` entry keyed
``reject:<the counter payment's key>`` (return code, reason, the profile's NSF fee) written
**before** anything is sent, executed by the posting service's claim loop, which looks the
receipt up in Caselle first (already reversed → done, never twice). Supervisors only
(``reverse_payment``); audited. The Day Close counts it on the day it happens.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from console.adapters.journal import DONE, NewEntry
from console.domain.money import money
from console.errors import Problem, UserFacingError, ValidationError

ACH_REJECT = "ach_reject"
RETURN_CODES = {"R01": "Insufficient funds (NSF)", "R02": "Account closed", "R03": "No account / unable to locate",
                "R08": "Payment stopped", "R10": "Not authorized / forged", "R16": "Account frozen"}
LOOKBACK_DAYS = 120


@dataclass(frozen=True)
class ReturnedCheck:
    key: str
    receipt_number: str
    account: str
    amount: Decimal
    check_number: str
    return_code: str
    state: str
    outcome: str
    nsf_fee: str
    detail: str = ""

    @property
    def done(self) -> bool:
        return self.state == DONE


class ReversalService:
    def __init__(self, *, journal, posting, counter, operators, profile, audit=None, today=None):
        self.journal = journal
        self.posting = posting
        self.counter = counter
        self.operators = operators
        self.profile = profile
        self.audit = audit
        self._today = today or dt.date.today

    def find_check(self, receipt_number: str):
        """The counter check payment with Caselle receipt ``receipt_number`` (last 120 days)."""
        today = self._today()
        for back in range(LOOKBACK_DAYS):
            for p in self.counter.todays_payments(today - dt.timedelta(days=back)):
                if p.receipt_number == receipt_number and p.tender == "CHECK":
                    return p
        return None

    def return_check(self, receipt_number: str, return_code: str, reason: str, operator: str) -> ReturnedCheck:
        self.operators.require(operator, "reverse_payment")
        code = (return_code or "").strip().upper()
        if code not in RETURN_CODES:
            raise ValidationError(f"Unknown return code {return_code!r}",
                                  [Problem(None, "return_code", "return_code", ", ".join(RETURN_CODES))])
        p = self.find_check((receipt_number or "").strip())
        if p is None:
            raise UserFacingError(f"No counter check has receipt {receipt_number} (last {LOOKBACK_DAYS} days)")
        if p.state != "posted":
            raise UserFacingError(f"Receipt {receipt_number} is {p.state_label.lower()}: only a posted check is "
                                  "reversed")
        fee = money(self.profile.get("biller_nsf_fee") or 0)
        key = f"reject:{p.key}"
        payload = {"payment_id": p.key, "account": p.account_number, "amount": str(p.amount), "return_code": code,
                   "return_date": self._today().isoformat(), "reason": (reason or "").strip() or RETURN_CODES[code],
                   "nsf_fee": str(fee) if fee > 0 else "", "tender": "CHECK", "check_number": p.check_number,
                   "receipt_number": p.receipt_number, "source": "counter_return", "operator": operator}
        added = self.journal.add_entry(NewEntry(key, ACH_REJECT, payload), operator=operator)
        if added:
            self._audit(operator, "counter.check_returned", p.receipt_number, account=p.account_number,
                        amount=str(p.amount), return_code=code, check_number=p.check_number)
        self.posting.post_pending(operator=operator, kinds=[ACH_REJECT], keys=[key])
        e = self.journal.get(key)
        return ReturnedCheck(key, p.receipt_number, p.account_number, p.amount, p.check_number, code, e.state,
                             e.outcome, e.payload.get("nsf_fee", ""), e.detail)

    def _audit(self, operator: str, action: str, subject: str, **details) -> None:
        if self.audit is not None:
            self.audit.record(operator, action, subject, **details)


def returned_checks_on(journal, day: dt.date) -> list[ReturnedCheck]:
    """Counter checks reversed in Caselle (journal state done) that were returned on ``day``."""
    out = []
    for e in journal.entries(kinds=[ACH_REJECT], key_prefixes=["reject:ctr-check:"]):
        p = e.payload
        if e.state == DONE and p.get("return_date") == day.isoformat():
            out.append(ReturnedCheck(e.key, p.get("receipt_number", ""), p.get("account", ""),
                                     Decimal(p.get("amount", "0")), p.get("check_number", ""),
                                     p.get("return_code", ""), e.state, e.outcome, p.get("nsf_fee", "")))
    return out


def build_reversal_service(services) -> ReversalService:
    return ReversalService(journal=services.journal, posting=services.posting, counter=services.counter,
                           operators=services.operators, profile=services.profile, audit=services.audit)
