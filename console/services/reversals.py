"""Returned counter checks and card refunds after settlement: a supervisor reverses the receipt
in Caselle, exactly once.

A check taken at the counter that bounces days later (the batch long closed) is reversed
through the same journaled path as an Invoice Cloud ACH reject: an ``ach_reject`` entry keyed
``reject:<the counter payment's key>`` (return code, reason, the profile's NSF fee) written
**before** anything is sent, executed by the posting service's claim loop, which looks the
receipt up in Caselle first (already reversed → done, never twice). Supervisors only
(``reverse_payment``); audited. The Day Close counts it on the day it happens.

A counter card charge refunded after settlement (a same-day void is the counter's void): a
``card_refund`` entry ``refund:<transaction ID>`` is journaled before the gateway is asked; a lost
answer is looked up by the same idempotency key (never refunded twice); once the gateway has
refunded, the Caselle receipt is reversed (``ach_reject`` entry ``reject:<transaction ID>``,
return code ``RFD``) through the same claim loop. Calling it again finishes what is left.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from console.adapters.journal import DONE, IN_FLIGHT, NEEDS_REVIEW, PENDING, NewEntry, lease_owner_id
from console.domain.money import money
from console.errors import NetworkError, Problem, RemoteError, UserFacingError, ValidationError
from console.services.drawer import require_role

ACH_REJECT = "ach_reject"
CARD_REFUND = "card_refund"
REFUND_CODE = "RFD"
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


@dataclass(frozen=True)
class CardRefund:
    key: str
    receipt_number: str
    account: str
    amount: Decimal
    transaction_id: str
    gateway_state: str
    caselle_state: str
    refund_id: str = ""
    detail: str = ""

    @property
    def done(self) -> bool:
        return self.gateway_state == DONE and self.caselle_state == DONE


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
        require_role(self.profile, self.operators, operator, "reverse_payment")
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

    # ------------------------------------------------------------------ card refunds
    def find_card(self, receipt_number: str):
        today = self._today()
        for back in range(LOOKBACK_DAYS):
            for p in self.counter.todays_payments(today - dt.timedelta(days=back)):
                if p.receipt_number == receipt_number and p.tender == "CARD":
                    return p
        return None

    def refund_card(self, receipt_number: str, reason: str, operator: str) -> CardRefund:
        """Refund a settled counter card charge in full and reverse its Caselle receipt."""
        require_role(self.profile, self.operators, operator, "reverse_payment")
        if len((reason or "").strip()) < 3:
            raise ValidationError("Say why the card is refunded", [Problem(None, "reason", "required", "empty")])
        p = self.find_card((receipt_number or "").strip())
        if p is None:
            raise UserFacingError(f"No counter card payment has receipt {receipt_number} (last {LOOKBACK_DAYS} days)")
        key = f"refund:{p.transaction_id}"
        if self.journal.get(key) is None and p.state != "posted":
            raise UserFacingError(f"Receipt {receipt_number} is {p.state_label.lower()}: only a posted card "
                                  "payment is refunded")
        payload = {"transaction_id": p.transaction_id, "receipt_number": p.receipt_number, "account": p.account_number,
                   "amount": str(p.amount), "masked_pan": p.masked_pan, "reason": reason.strip(),
                   "refund_date": self._today().isoformat(), "operator": operator}
        if self.journal.add_entry(NewEntry(key, CARD_REFUND, payload), operator=operator):
            self._audit(operator, "counter.card_refund", p.receipt_number, account=p.account_number,
                        amount=str(p.amount), transaction_id=p.transaction_id, reason=reason.strip())
        gateway_state = self._gateway_refund(key)
        caselle_state = PENDING
        if gateway_state == DONE:
            caselle_state = self._reverse_card_receipt(self.journal.get(key), operator)
        e = self.journal.get(key)
        return CardRefund(key, p.receipt_number, p.account_number, p.amount, p.transaction_id, gateway_state,
                          caselle_state, e.remote_ref, e.detail)

    def _gateway_refund(self, key: str) -> str:
        e = self.journal.get(key)
        if e.state not in (PENDING, IN_FLIGHT):
            return e.state
        owner = lease_owner_id()
        claimed = self.journal.claim(owner, [CARD_REFUND], keys=[key], lease_s=120)
        if not claimed:
            return self.journal.get(key).state
        gw = self.counter.gateway
        idem = key.replace(":", "-")
        p = e.payload
        try:
            if claimed[0].needs_reconcile:  # it may have reached the gateway before: ask by key first
                found = gw.find_refund(idem)
                if found is not None:
                    self.journal.finish(key, owner, DONE, outcome="refunded", remote_ref=found.refund_id)
                    return DONE
            r = gw.refund(p["transaction_id"], idem, Decimal(p["amount"]), reason=p.get("reason", ""))
        except (NetworkError, RemoteError) as exc:
            if isinstance(exc, NetworkError) or getattr(exc, "retryable", False) or \
                    getattr(exc, "outcome_unknown", False):
                self.journal.release(key, owner, delay_s=0.0, detail=f"no answer: {exc}")
                return PENDING
            self.journal.finish(key, owner, NEEDS_REVIEW, outcome="refund_refused", detail=str(exc))
            return NEEDS_REVIEW
        self.journal.finish(key, owner, DONE, outcome="refunded", remote_ref=r.refund_id)
        return DONE

    def _reverse_card_receipt(self, refund, operator: str) -> str:
        p = refund.payload
        key = f"reject:{p['transaction_id']}"
        self.journal.add_entry(NewEntry(key, ACH_REJECT, {
            "payment_id": p["transaction_id"], "account": p["account"], "amount": p["amount"],
            "return_code": REFUND_CODE, "return_date": p["refund_date"], "reason": f"Card refunded: {p['reason']}",
            "nsf_fee": "", "tender": "CARD", "receipt_number": p["receipt_number"], "source": "counter_refund",
            "operator": operator}), operator=operator)
        self.posting.post_pending(operator=operator, kinds=[ACH_REJECT], keys=[key])
        return self.journal.get(key).state

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


def refunds_on(journal, day: dt.date) -> list[dict]:
    """Counter card charges refunded at the gateway on ``day`` (entered that day)."""
    return [{**e.payload, "key": e.key, "refund_id": e.remote_ref}
            for e in journal.entries(kinds=[CARD_REFUND], states=[DONE])
            if e.payload.get("refund_date") == day.isoformat()]
