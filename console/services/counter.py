"""Counter payments: find the account, check the amount, charge the swiped card, post the receipt.

GUI-free. The flow, exactly once end to end:

1. ``search`` / ``account`` — Caselle's account search and ``CustomerDetail`` as an
   :class:`AccountView` (what the cashier sees, with the profile's rules applied).
2. ``check_amount`` — the biller's rules (profile: partial payments, minimum payment, bill
   expiry, overpayment limit; account: amount due, minimum due, partial allowed) as a typed
   :class:`AmountCheck` the UI shows while the cashier types.
3. ``take_payment`` — a ``card_auth`` journal entry (idempotency key, masked PAN, last 4,
   brand, KSN, reader serial: the journal refuses card data) is written **before** the
   gateway is asked. When the gateway's answer is lost, the gateway is asked by the same key
   before anything is sent again: never a double charge. An approval becomes a ``receipt``
   journal entry keyed by the gateway's transaction ID, posted to Caselle by the posting
   service's own claim loop (``PostingService.post_pending``) — the same machinery as Invoice
   Cloud payments, reconciled by reference before any re-send. If Caselle fails after the card
   was charged, the receipt stays queued (pending) or in review; the result says so — the
   money was taken and is never lost.
4. ``void_counter_payment`` — Caselle void through ``PostingService.void_receipt_manually``
   (its permission rules: a cashier's own same-day receipt per profile, else a supervisor's
   PIN), then the gateway void, journaled as ``card_void`` (idempotent, retried until done).
5. ``reconcile`` — resolves card payments left unconfirmed (the console stopped, the network
   failed): asks the gateway by key, records and posts what was charged, retries card voids.

The encrypted card read is used for one authorization attempt and then dropped; it is never
journaled, logged or kept on any object of this module.

Journal entries (kinds and payloads)::

    card_auth  <key: "ctr:YYYYMMDD:<letters>">  {account, name, amount, masked_pan, last4, brand,
               card_name, ksn (grouped), serial, operator, training, taken_at,
               transaction_id, auth_code, reason_code, reason}
    receipt    <gateway transaction ID>  the posting service's receipt payload (tender CARD)
    card_void  "card_void:<transaction ID>"  {transaction_id, receipt_number, account, amount, reason}
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from console.adapters.journal import (
    DONE,
    IN_FLIGHT,
    NEEDS_REVIEW,
    PENDING,
    REJECTED,
    REPORTED,
    Entry,
    NewEntry,
    lease_owner_id,
)
from console.domain.models import AccountSummary, CustomerDetail, Receipt
from console.domain.money import AmountError, format_money, money, parse_amount
from console.domain.wording import counted
from console.errors import (
    Cancelled,
    NetworkError,
    Problem,
    RemoteError,
    UserFacingError,
    ValidationError,
)
from console.services.counter_models import (  # noqa: F401 - re-exported: callers import them from here
    AccountView,
    AmountCheck,
    AmountProblem,
    CounterPayment,
    PaymentResult,
    ReceiptDocument,
    ReconcileResult,
    UsageBar,
    VoidOutcome,
)
from console.services.operators import require

log = logging.getLogger(__name__)

CARD_AUTH = "card_auth"
CARD_VOID = "card_void"
RECEIPT = "receipt"  # the posting service's kind
MANUAL_VOID = "manual_void"
MAX_AMOUNT = Decimal("99999.99")
SEARCH_BY = {"ANY": "Anything", "ACCOUNT_NUMBER": "Account number", "NAME": "Name",
             "SERVICE_ADDRESS": "Service address", "PHONE": "Phone"}
_KEY_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"

ProgressFn = Callable[..., None]


class PaymentUnconfirmed(RemoteError):
    """The gateway's answer was lost and could not be learned yet: the card MAY have been charged.

    The ``card_auth`` entry stays unconfirmed in the journal; :meth:`CounterService.reconcile`
    asks the gateway again. Never take the payment again before it is resolved."""

    def __init__(self, message: str, key: str, *, hint: str | None = None):
        super().__init__(message, system="card gateway", retryable=False, hint=hint)
        self.key = key




# --------------------------------------------------------------------------- helpers
def ksn_text(ksn: str) -> str:
    """A KSN as kept in the journal: in groups of 5 (no long digit run a card guard could mistake)."""
    k = (ksn or "").upper()
    return ".".join(k[i:i + 5] for i in range(0, len(k), 5))


def new_key(today: dt.date | None = None) -> str:
    day = today or dt.date.today()
    return f"ctr:{day:%Y%m%d}:" + "".join(secrets.choice(_KEY_LETTERS) for _ in range(16))


class _Deadline:
    """A cancel flag that also trips after ``seconds`` (bounds how long a cashier waits)."""

    def __init__(self, seconds: float, cancel=None):
        self._until = time.monotonic() + seconds
        self._cancel = cancel
        self._event = threading.Event()

    def is_set(self) -> bool:
        return time.monotonic() >= self._until or bool(self._cancel is not None and self._cancel.is_set())

    def wait(self, seconds: float) -> bool:
        end = min(time.monotonic() + seconds, self._until)
        while time.monotonic() < end:
            if self._cancel is not None and self._cancel.is_set():
                return True
            self._event.wait(min(0.05, max(0.0, end - time.monotonic())))
        return self.is_set()


def _money_or_none(value) -> Decimal | None:
    return Decimal(value) if value not in (None, "") else None


def _local(iso: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(iso)
    except ValueError:
        return dt.datetime.now()
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone().replace(tzinfo=None)


# --------------------------------------------------------------------------- the service
class CounterService:
    def __init__(self, *, caselle, gateway, journal, posting, profile, audit=None, operators=None, drawers=None,
                 today: Callable[[], dt.date] | None = None, post_wait_s: float = 20.0,
                 find_attempts: int = 3, find_pause_s: float = 0.5, max_sends: int = 2):
        self._caselle = caselle
        self._gateway = gateway
        self.journal = journal
        self.posting = posting
        self.profile = profile
        self.audit = audit
        self.operators = operators
        self.drawers = drawers  # DrawerService: which open drawer a payment goes into (cash/check need one)
        self._today = today or dt.date.today
        self.post_wait_s = post_wait_s
        self.find_attempts = find_attempts
        self.find_pause_s = find_pause_s
        self.max_sends = max_sends
        self._lock = threading.Lock()

    @property
    def caselle(self):
        if callable(self._caselle) and not hasattr(self._caselle, "search_accounts"):
            self._caselle = self._caselle()
        return self._caselle

    @property
    def gateway(self):
        if callable(self._gateway) and not hasattr(self._gateway, "authorize"):
            self._gateway = self._gateway()
        return self._gateway

    # ================================================================== accounts
    def search(self, text: str, by: str = "ANY", *, limit: int = 100) -> list[AccountSummary]:
        text = (text or "").strip()
        if not text:
            raise ValidationError("Type an account number, a name, an address or a phone number",
                                  [Problem(None, "search", "required", "the search text is empty")])
        if by not in SEARCH_BY:
            raise ValidationError(f"Unknown search field {by!r}")
        return list(self.caselle.search_accounts(text, by=by, limit=limit))

    def account(self, account_number: str) -> AccountView:
        detail = self.caselle.customer_detail(account_number)
        if detail is None:
            raise UserFacingError(f"Caselle has no account {account_number}")
        return self.account_view(detail)

    def account_view(self, d: CustomerDetail) -> AccountView:
        today = self._today()
        expired = bool(self.profile.get("biller_expire_bill")) and d.bill_expired(today)
        partial = bool(self.profile.get("biller_partial_payments")) and bool(d.partial_payments_allowed)
        notices = []
        if expired:
            notices.append(f"The bill expired on {d.bill_expires:%m/%d/%Y}: a payment goes to the account "
                           f"balance ({format_money(d.balance)}).")
        elif d.due_date is not None and d.amount_due > 0 and d.due_date < today:
            notices.append(f"Past due since {d.due_date:%m/%d/%Y}.")
        if d.autopay:
            notices.append("AutoPay is on: the customer's bank or card is charged automatically.")
        if getattr(d, "status", "") and str(getattr(d, "status", "")).upper() not in ("ACTIVE", ""):
            notices.append(f"Account status: {d.status}.")  # type: ignore[attr-defined]
        usage = tuple(UsageBar(u.period, u.consumption, u.unit, getattr(u, "billed", None)) for u in d.usage)
        return AccountView(
            account_number=d.account_number, name=d.name, service_address=d.service_address,
            mail_address=d.mail_address, phone=d.phone, email=d.email, balance=d.balance, amount_due=d.amount_due,
            minimum_due=d.minimum_due, due_date=d.due_date, bill_expires=d.bill_expires, bill_expired=expired,
            partial_allowed=partial, autopay=d.autopay, paperless=d.paperless, adjustments=tuple(d.adjustments),
            usage=usage, status=str(getattr(d, "status", "") or ""), notices=tuple(notices))

    # ================================================================== amount rules
    def check_amount(self, account: AccountView, text: str | Decimal) -> AmountCheck:
        raw = str(text).strip().replace("$", "").replace(",", "") if text is not None else ""
        if not raw:
            return AmountCheck("", None, problems=(AmountProblem("required", "Enter the amount to pay"),))
        try:
            amount = parse_amount(raw)
        except AmountError:
            return AmountCheck(raw, None, problems=(AmountProblem("amount", "Enter an amount such as 45.20"),))
        problems: list[AmountProblem] = []
        if amount <= 0:
            return AmountCheck(raw, amount, problems=(AmountProblem("positive", "The amount must be more than $0.00"),))
        if amount > MAX_AMOUNT:
            return AmountCheck(raw, amount, problems=(
                AmountProblem("too_large", f"A card payment cannot be more than {format_money(MAX_AMOUNT)}"),))
        minimum = money(self.profile.get("biller_minimum_payment") or 0)
        if minimum > 0 and amount < minimum:
            problems.append(AmountProblem("minimum_payment", f"The smallest payment taken is {format_money(minimum)}"))
        due = max(account.payable_due, Decimal("0.00"))
        kind = "full"
        if amount < due:
            kind = "partial"
            if not account.partial_allowed:
                problems.append(AmountProblem(
                    "partial_not_allowed",
                    f"Partial payments are not accepted for this account: pay the full {format_money(due)}"))
            elif not account.bill_expired and account.minimum_due > 0 and amount < account.minimum_due:
                problems.append(AmountProblem(
                    "minimum_due", f"The minimum due is {format_money(account.minimum_due)}"))
            else:
                problems.append(AmountProblem("partial", f"Partial payment: {format_money(due - amount)} stays due",
                                              "info"))
        elif amount == due:
            problems.append(AmountProblem("full", "Pays the amount due in full", "info"))
        else:
            kind = "overpayment"
            extra = amount - due
            limit = money(self.profile.get("biller_overpayment_limit") or 0)
            what = f"{format_money(extra)} more than the amount due ({format_money(due)})" if due > 0 \
                else f"{format_money(extra)} with nothing due"
            if extra > limit:
                problems.append(AmountProblem("overpayment", f"This is {what}; the extra stays on the account "
                                                             f"as a credit. Take {format_money(amount)}?", "confirm"))
            else:
                problems.append(AmountProblem("overpayment", f"Overpayment: {format_money(extra)} credit", "info"))
        if account.bill_expired:
            problems.append(AmountProblem("bill_expired", account.notices[0] if account.notices else "Bill expired",
                                          "info"))
        return AmountCheck(raw, amount, kind, tuple(problems))

    # ================================================================== taking a payment
    def take_payment(self, account: AccountView, amount: Decimal | str, card, operator: str, *,
                     confirmed: bool = False, progress: ProgressFn | None = None, cancel=None) -> PaymentResult:
        """Charge ``card`` (a SwipedCard with its encrypted payload) and post the receipt.

        Raises ValidationError (amount rules; an overpayment not ``confirmed``), RemoteError
        (the gateway refused the request; nothing charged) or :class:`PaymentUnconfirmed` (the
        outcome is not known yet: do not take the payment again)."""
        require(self.profile, operator, "take_payment", self.audit)
        def step(done: int, message: str) -> None:
            if progress is not None:
                progress(done, 4, message)

        self._journal_ready()
        check = self.check_amount(account, amount)
        if not check.ok:
            raise ValidationError(check.error, [Problem(None, "amount", p.rule, p.message)
                                                for p in check.problems if p.severity == "error"])
        if check.needs_confirmation and not confirmed:
            raise ValidationError(check.needs_confirmation,
                                  [Problem(None, "amount", "overpayment", "the overpayment was not confirmed")])
        if card is None or getattr(card, "payload", None) is None:
            raise ValidationError("Swipe the card first", [Problem(None, "card", "card", "no card read")])
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        amount = check.amount
        step(0, "checking earlier payments…")
        drawer = self.drawer_for(operator, "CARD")
        self._resolve_earlier(account.account_number)
        key = new_key(self._today())
        payload = {
            "account": account.account_number, "name": account.name, "amount": str(amount),
            "masked_pan": card.masked_pan or "", "last4": card.last4 or "", "brand": card.brand or "",
            "card_name": card.name or "", "ksn": ksn_text(card.ksn), "serial": card.serial or "",
            "format": card.format, "operator": operator, "training": bool(self.profile.training),
            "taken_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "drawer": drawer,
        }
        self.journal.add_entry(NewEntry(key, CARD_AUTH, payload), operator=operator)
        owner = lease_owner_id()
        if not self.journal.claim(owner, [CARD_AUTH], keys=[key], lease_s=600):
            raise UserFacingError("The card payment could not be started (journal busy); try again")
        step(1, "authorizing the card…")
        try:
            auth = self._authorize(card, amount, key, account.account_number, operator, owner)
        finally:
            card = None  # the encrypted read is used once, then dropped
        if not auth.approved:
            self.journal.finish(key, owner, REJECTED, outcome="declined", remote_ref=auth.transaction_id,
                                detail=auth.reason, payload_update={"transaction_id": auth.transaction_id,
                                                                    "reason_code": auth.reason_code,
                                                                    "reason": auth.reason})
            self._audit(operator, "counter.declined", account.account_number, amount=str(amount),
                        masked_pan=auth.masked_pan or payload["masked_pan"], reason=auth.reason,
                        transaction_id=auth.transaction_id)
            return PaymentResult("declined", key, amount, account.account_number, auth.transaction_id,
                                 masked_pan=auth.masked_pan, brand=auth.brand, reason=auth.reason,
                                 message=f"Declined: {auth.reason}. Ask for another card or another way to pay.")
        step(2, "recording the approval…")
        self._record_approved(key, owner, auth)
        self._audit(operator, "counter.approved", account.account_number, amount=str(amount),
                    masked_pan=auth.masked_pan, auth_code=auth.auth_code, transaction_id=auth.transaction_id)
        step(3, "posting the receipt to Caselle…")
        self._post(auth.transaction_id, operator, cancel)
        step(4, "done")
        payment = self.payment(key)
        return self._result_of(payment)

    def _journal_ready(self) -> None:
        """The journal guard's check before a payment is taken (the posting service carries it)."""
        preflight = getattr(self.posting, "preflight", None)
        if preflight is not None:
            preflight()

    def take_other_payment(self, account: AccountView, amount: Decimal | str, tender: str, operator: str, *,
                           tendered: Decimal | str | None = None, check_number: str = "", confirmed: bool = False,
                           progress: ProgressFn | None = None, cancel=None) -> PaymentResult:
        """Cash or check at the counter: a receipt journal entry posted by the posting machinery
        (no gateway). Cash: ``tendered`` (when given) must cover the amount; the change is kept on
        the receipt. Check: the check number is required."""
        require(self.profile, operator, "take_payment", self.audit)
        self._journal_ready()
        tender = (tender or "").upper()
        if tender not in ("CASH", "CHECK"):
            raise ValidationError(f"Unknown tender {tender!r}", [Problem(None, "tender", "tender", "CASH or CHECK")])
        check = self.check_amount(account, amount)
        if not check.ok:
            raise ValidationError(check.error, [Problem(None, "amount", p.rule, p.message)
                                                for p in check.problems if p.severity == "error"])
        if check.needs_confirmation and not confirmed:
            raise ValidationError(check.needs_confirmation,
                                  [Problem(None, "amount", "overpayment", "the overpayment was not confirmed")])
        amount = check.amount
        extra: dict[str, str] = {}
        if tender == "CASH" and tendered not in (None, ""):
            given = self.check_tendered(amount, tendered)
            extra = {"tendered": str(given), "change": str(given - amount)}
        if tender == "CHECK":
            number = self.check_check_number(check_number)
            extra = {"check_number": number}
        drawer = self.drawer_for(operator, tender)
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        if progress is not None:
            progress(1, 3, "recording the payment…")
        key = f"ctr-{tender.lower()}:{self._today():%Y%m%d}:" + "".join(secrets.choice(_KEY_LETTERS)
                                                                     for _ in range(16))
        taken = dt.datetime.now(dt.UTC)
        payload = {"payment_id": key, "confirmation": extra.get("check_number", ""),
                   "account": account.account_number, "invoice_number": "", "invoice_type": "",
                   "payer_name": account.name, "tender": tender, "card_last4": "", "amount": str(amount),
                   "convenience_fee": "0.00", "payment_date": taken.astimezone().date().isoformat(),
                   "settlement_date": "", "source": "counter", "name": account.name, "operator": operator,
                   "training": bool(self.profile.training), "taken_at": taken.isoformat(timespec="seconds"),
                   "drawer": drawer, **extra}
        self.journal.add_entry(NewEntry(key, RECEIPT, payload), operator=operator)
        self._audit(operator, f"counter.{tender.lower()}", account.account_number, amount=str(amount), key=key)
        if progress is not None:
            progress(2, 3, "posting the receipt to Caselle…")
        self._post(key, operator, cancel)
        if progress is not None:
            progress(3, 3, "done")
        return self._result_of(self.payment(key))

    def drawer_for(self, operator: str, tender: str) -> str:
        """The open drawer session a payment goes into ("" without a drawer service or, for a
        card, without an open drawer). Cash and checks need one: NoOpenDrawer says so."""
        return self.drawers.session_for_payment(operator, tender) if self.drawers is not None else ""

    @staticmethod
    def check_tendered(amount: Decimal, tendered: Decimal | str) -> Decimal:
        try:
            given = parse_amount(str(tendered).replace("$", "").replace(",", ""))
        except AmountError:
            raise ValidationError("Enter the cash handed over, such as 100.00",
                                  [Problem(None, "tendered", "amount", "not an amount")]) from None
        if given < amount:
            raise ValidationError(f"The cash handed over ({format_money(given)}) is less than "
                                  f"{format_money(amount)}", [Problem(None, "tendered", "short", "not enough cash")])
        return given

    @staticmethod
    def check_check_number(text: str) -> str:
        number = (text or "").strip()
        if not (number.isdigit() and 1 <= len(number) <= 10):
            raise ValidationError("Enter the check number (1 to 10 digits)",
                                  [Problem(None, "check_number", "check_number", "digits only")])
        return number

    def _resolve_earlier(self, account_number: str) -> None:
        open_ = [e for e in self.journal.entries(kinds=[CARD_AUTH], states=[PENDING, IN_FLIGHT])
                 if e.payload.get("account") == account_number]
        if not open_:
            return
        self.reconcile(keys=[e.key for e in open_])
        still = [e for e in self.journal.entries(keys=[e.key for e in open_]) if e.state in (PENDING, IN_FLIGHT)]
        if still:
            e = still[0]
            raise PaymentUnconfirmed(
                f"An earlier card payment of {format_money(Decimal(e.payload['amount']))} for this account is "
                "still unconfirmed with the gateway", e.key,
                hint="check it again (Today's payments) before taking another card payment")

    def _authorize(self, card, amount: Decimal, key: str, account: str, operator: str, owner: str):
        sends = 0
        while True:
            sends += 1
            try:
                return self.gateway.authorize(card, amount, key, account=account, operator=operator)
            except RemoteError as exc:
                unknown = bool(getattr(exc, "outcome_unknown", False))
                if not unknown:
                    self.journal.finish(key, owner, REPORTED, outcome="not_charged", detail=str(exc))
                    raise
                log.warning("card authorization %s: outcome unknown (%s); asking the gateway by key", key,
                            type(exc).__name__)
                known, found = self._find(key)
                if known and found is not None:
                    return found
                if known and sends < self.max_sends:
                    continue  # definitely not there: send again under the same key
                if known:
                    self.journal.finish(key, owner, REPORTED, outcome="not_charged",
                                        detail=f"the gateway has no transaction after {counted(sends, 'attempt')}: {exc}")
                    raise RemoteError("The card gateway did not take the payment: the card was NOT charged",
                                      system="card gateway", hint="try again in a moment, or take another tender") \
                        from exc
                self.journal.release(key, owner, delay_s=0.0, detail=f"outcome unknown: {exc}")
                raise PaymentUnconfirmed(
                    "The card gateway did not answer: it is not known yet whether the card was charged", key,
                    hint="do NOT swipe again; the console checks with the gateway (Today's payments → Check "
                         "again)") from exc

    def _find(self, key: str):
        """(known, transaction or None): known = the gateway answered the lookup."""
        for attempt in range(self.find_attempts):
            try:
                return True, self.gateway.find(key)
            except RemoteError as exc:
                log.info("lookup of %s failed (%s), attempt %d", key, type(exc).__name__, attempt + 1)
                if attempt + 1 < self.find_attempts:
                    time.sleep(self.find_pause_s * (attempt + 1))
        return False, None

    def _receipt_payload(self, entry_payload: dict, auth) -> dict:
        p = entry_payload
        taken = _local(p.get("taken_at", "")) if p.get("taken_at") else dt.datetime.now()
        return {"payment_id": auth.transaction_id, "confirmation": auth.auth_code, "account": p["account"],
                "invoice_number": "", "invoice_type": "", "payer_name": p.get("card_name") or p.get("name", ""),
                "tender": "CARD", "card_last4": auth.last4 or p.get("last4", ""), "amount": str(auth.amount),
                "convenience_fee": "0.00", "payment_date": taken.date().isoformat(), "settlement_date": "",
                "source": "counter", "card_auth": p.get("key", "")}

    def _record_approved(self, key: str, owner: str, auth) -> None:
        entry = self.journal.get(key)
        payload = dict(entry.payload) if entry else {}
        payload["key"] = key
        self.journal.add_entry(NewEntry(auth.transaction_id, RECEIPT, self._receipt_payload(payload, auth)),
                               operator=payload.get("operator", ""))
        self.journal.finish(key, owner, DONE, outcome="approved", remote_ref=auth.transaction_id,
                            payload_update={"transaction_id": auth.transaction_id, "auth_code": auth.auth_code,
                                            "masked_pan": auth.masked_pan or payload.get("masked_pan", ""),
                                            "brand": auth.brand or payload.get("brand", "")})

    def _post(self, transaction_id: str, operator: str, cancel=None) -> None:
        deadline = _Deadline(self.post_wait_s, cancel)
        try:
            self.posting.run_entries(operator=operator, kinds=[RECEIPT], keys=[transaction_id], cancel=deadline)
        except RemoteError as exc:  # the run could not even start (token…): the receipt stays queued
            log.warning("posting counter receipt %s: %s", transaction_id, exc)

    def _result_of(self, p: CounterPayment) -> PaymentResult:
        if p.tender != "CARD":
            change = f" Change due: {format_money(p.change)}." if p.change else ""
            msg = {"posted": f"Posted: receipt {p.receipt_number}.{change}",
                   "review": f"Caselle refused the receipt: it waits in the Posting tab's review queue. {p.detail}"
                   }.get(p.state, f"Caselle did not take the receipt yet: it is queued and posted automatically.{change}")
            return PaymentResult(p.state if p.state in ("posted", "review") else "queued", p.key, p.amount,
                                 p.account_number, receipt_number=p.receipt_number, message=msg.strip(), payment=p)
        messages = {
            "posted": f"Approved and posted: receipt {p.receipt_number}.",
            "queued": "The card WAS charged (approved). Caselle did not take the receipt yet: it is queued and "
                      "will be posted automatically — give the customer this receipt; the receipt number follows.",
            "review": "The card WAS charged (approved), but Caselle refused the receipt: it waits in the Posting "
                      f"tab's review queue for a supervisor. {p.detail}".strip(),
        }
        return PaymentResult(p.state if p.state in messages else "queued", p.key, p.amount, p.account_number,
                             p.transaction_id, p.auth_code, p.masked_pan, p.brand, p.receipt_number,
                             message=messages.get(p.state, messages["queued"]), payment=p)

    # ================================================================== reconciliation
    def reconcile(self, keys: Sequence[str] | None = None, *, operator: str = "") -> ReconcileResult:
        """Resolve unconfirmed card payments (ask the gateway by key), record and post what was
        charged, add receipts missing after a crash, and retry pending card voids."""
        out = ReconcileResult()
        self.journal.recover_dead_leases()
        owner = lease_owner_id()
        while True:
            # released entries are due again at once: one pass per call, never a spin on them
            claimed = self.journal.claim(owner, [CARD_AUTH], keys=keys, limit=200, lease_s=120)
            for e in claimed:
                known, found = self._find(e.key)
                if not known:
                    self.journal.release(e.key, owner, delay_s=0.0, detail="gateway lookup failed")
                    out.still_unconfirmed.append(e.key)
                elif found is None:
                    self.journal.finish(e.key, owner, REPORTED, outcome="not_charged",
                                        detail="the gateway has no transaction under this key")
                    out.resolved[e.key] = "not_charged"
                elif not found.approved:
                    self.journal.finish(e.key, owner, REJECTED, outcome="declined", remote_ref=found.transaction_id,
                                        detail=found.reason, payload_update={"transaction_id": found.transaction_id,
                                                                             "reason": found.reason})
                    out.resolved[e.key] = "declined"
                else:
                    self._record_approved(e.key, owner, found)
                    self._post(found.transaction_id, operator or e.operator)
                    out.resolved[e.key] = "approved"
            if len(claimed) < 200 or out.still_unconfirmed:
                break
        # approvals whose receipt entry is missing (a crash between the two writes)
        for e in self.journal.entries(kinds=[CARD_AUTH], states=[DONE], keys=keys):
            tid = e.remote_ref
            if tid and self.journal.get(tid) is None:
                payload = {**e.payload, "key": e.key}
                auth = _AuthLike(tid, e.payload.get("auth_code", ""), e.payload.get("last4", ""),
                                 Decimal(e.payload["amount"]))
                self.journal.add_entry(NewEntry(tid, RECEIPT, self._receipt_payload(payload, auth)),
                                       operator=e.operator)
                self._post(tid, operator or e.operator)
        # receipts of counter payments still queued for Caselle (the posting machinery, reconciled first)
        queued = [e.remote_ref for e in self.journal.entries(kinds=[CARD_AUTH], states=[DONE], keys=keys)
                  if e.remote_ref]
        waiting = [r.key for r in self.journal.entries(kinds=[RECEIPT], states=[PENDING], keys=queued)] \
            if queued else []
        if waiting:
            deadline = _Deadline(self.post_wait_s)
            try:
                self.posting.run_entries(operator=operator or "system", kinds=[RECEIPT], keys=waiting,
                                          cancel=deadline)
            except RemoteError as exc:
                log.warning("posting queued counter receipts: %s", exc)
            for key in waiting:
                e = self.journal.get(key)
                if e is not None and e.state == DONE:
                    out.resolved[key] = "posted"
        # card voids not yet done at the gateway
        void_keys = None if keys is None else [f"card_void:{self._txn_of(k)}" for k in keys]
        for e in self.journal.entries(kinds=[CARD_VOID], states=[PENDING], keys=void_keys):
            self._gateway_void(e.key, operator or e.operator)
        return out

    def _txn_of(self, key: str) -> str:
        e = self.journal.get(key)
        return e.remote_ref if e else ""

    # ================================================================== voids
    def void_counter_payment(self, payment: CounterPayment | str, reason_code: str, comment: str, operator: str, *,
                             supervisor_pin: str | None = None, supervisor_id: str | None = None) -> VoidOutcome:
        """Void a counter payment: the Caselle receipt (posting's permission rules) and the card
        charge at the gateway, both journaled. Raises NotPermitted / ValidationError first."""
        p = self.payment(payment) if isinstance(payment, str) else self.payment(payment.key)
        if p is None:
            raise ValidationError("No such counter payment")
        if p.state == "voided":
            raise ValidationError(f"Receipt {p.receipt_number} is already voided")
        if p.state != "posted" or not p.receipt_number:
            raise ValidationError("Only a posted receipt can be voided here",
                                  [Problem(None, "receipt", "not_posted", p.state_label)],
                                  hint="a queued receipt is voided after it is posted")
        entry = self.posting.void_receipt_manually(p.receipt_number, reason_code, comment, operator,
                                                   supervisor_pin, supervisor_id=supervisor_id,
                                                   operators=self.operators)
        caselle_state = entry.state if entry else PENDING
        if caselle_state in (REJECTED, NEEDS_REVIEW):
            raise RemoteError(f"Caselle did not void receipt {p.receipt_number}: {entry.detail or entry.outcome}",
                              system="Caselle", hint="nothing was refunded; see the Posting tab's queue")
        if p.tender != "CARD":
            self._audit(operator, "counter.void", p.receipt_number, account=p.account_number, amount=str(p.amount),
                        tender=p.tender, reason=reason_code, caselle=caselle_state)
            what = "cash" if p.tender == "CASH" else f"check {p.check_number}"
            msg = (f"Receipt {p.receipt_number} voided; give back the {what} ({format_money(p.amount)})."
                   if caselle_state == DONE else f"The void of receipt {p.receipt_number} is queued for Caselle.")
            return VoidOutcome(p.receipt_number, "", caselle_state, DONE, msg)
        void_key = f"card_void:{p.transaction_id}"
        self.journal.add_entry(NewEntry(void_key, CARD_VOID, {
            "transaction_id": p.transaction_id, "receipt_number": p.receipt_number, "account": p.account_number,
            "amount": str(p.amount), "reason_code": reason_code, "after": f"manual_void:{p.receipt_number}"}),
            operator=operator)
        card_state = PENDING
        if caselle_state == DONE:
            card_state = self._gateway_void(void_key, operator)
        self._audit(operator, "counter.void", p.receipt_number, transaction_id=p.transaction_id,
                    account=p.account_number, amount=str(p.amount), reason=reason_code, caselle=caselle_state,
                    card=card_state)
        if caselle_state == DONE and card_state == DONE:
            msg = f"Receipt {p.receipt_number} voided and the card charge of {format_money(p.amount)} reversed."
        elif caselle_state == DONE:
            msg = (f"Receipt {p.receipt_number} voided in Caselle; the card reversal is queued and is retried "
                   "automatically (Check again).")
        else:
            msg = (f"The void of receipt {p.receipt_number} is queued for Caselle; the card charge is reversed "
                   "once Caselle has voided it.")
        return VoidOutcome(p.receipt_number, p.transaction_id, caselle_state, card_state, msg)

    def _gateway_void(self, void_key: str, operator: str) -> str:
        e = self.journal.get(void_key)
        if e is None or e.state not in (PENDING, IN_FLIGHT):
            return e.state if e else ""
        after = self.journal.get(e.payload.get("after", "")) if e.payload.get("after") else None
        if after is not None and after.state != DONE:
            return PENDING  # Caselle's void first
        owner = lease_owner_id()
        if not self.journal.claim(owner, [CARD_VOID], keys=[void_key], lease_s=120):
            return self.journal.get(void_key).state
        try:
            v = self.gateway.void(e.payload["transaction_id"], void_key.replace(":", "-"),
                                  reason=e.payload.get("reason_code", ""))
        except NetworkError as exc:
            self.journal.release(void_key, owner, delay_s=5.0, detail=f"no answer: {exc}")
            return PENDING
        except RemoteError as exc:
            if getattr(exc, "retryable", False) or getattr(exc, "outcome_unknown", False):
                self.journal.release(void_key, owner, delay_s=5.0, detail=str(exc))
                return PENDING
            self.journal.finish(void_key, owner, NEEDS_REVIEW, outcome="void_refused", detail=str(exc))
            return NEEDS_REVIEW
        self.journal.finish(void_key, owner, DONE, outcome="already_voided" if v.already_voided else "voided",
                            remote_ref=v.transaction_id)
        return DONE

    def void_permission(self, payment: CounterPayment, operator: str) -> str:
        """"" when ``operator`` may void ``payment`` alone, else why a supervisor is needed."""
        r = Receipt(payment.receipt_number, payment.transaction_id, payment.account_number, payment.amount, "",
                    payment.taken_at.date(), "CARD", extra={"createdBy": payment.operator})
        return self.posting.void_permission(r, operator)

    # ================================================================== today's payments
    def payment(self, key: str) -> CounterPayment | None:
        e = self.journal.get(key)
        if e is None or not (e.kind == CARD_AUTH or (e.kind == RECEIPT and e.key.startswith("ctr-"))):
            return None
        return self._payment_of(e)

    def _other_payment_of(self, e: Entry) -> CounterPayment:
        """A cash or check payment (its receipt entry is the payment)."""
        p = e.payload
        receipt_number = (p.get("receipt_number") or e.remote_ref) if e.state == DONE else ""
        state, detail = {PENDING: ("queued", e.detail), IN_FLIGHT: ("queued", e.detail),
                         REJECTED: ("review", e.detail), NEEDS_REVIEW: ("review", e.detail)}.get(e.state, ("posted", ""))
        if state == "posted" and receipt_number:
            mv = self.journal.get(f"manual_void:{receipt_number}")
            if mv is not None:
                state = "voided" if mv.state == DONE else "void_pending"
        return CounterPayment(
            key=e.key, taken_at=_local(p.get("taken_at") or e.created_at), account_number=p.get("account", ""),
            name=p.get("name") or p.get("payer_name", ""), amount=Decimal(p.get("amount", "0")), masked_pan="",
            brand="", auth_code="", transaction_id="", receipt_number=receipt_number,
            operator=p.get("operator") or e.operator, state=state, detail=detail, tender=p.get("tender", "CASH"),
            check_number=p.get("check_number", ""), tendered=_money_or_none(p.get("tendered")),
            change=_money_or_none(p.get("change")))

    def todays_payments(self, day: dt.date | None = None, *, operator: str | None = None) -> list[CounterPayment]:
        day = day or self._today()
        prefixes = (f"ctr:{day:%Y%m%d}:", f"ctr-cash:{day:%Y%m%d}:", f"ctr-check:{day:%Y%m%d}:")
        # a range read on the key index: only this day's counter entries, however big the journal
        entries = [e for e in self.journal.entries(kinds=[CARD_AUTH, RECEIPT], key_prefixes=prefixes)
                   if e.key.startswith(prefixes) and (operator is None or e.operator == operator)]
        entries.sort(key=lambda e: e.id, reverse=True)  # newest first (the order they were taken)
        return [self._payment_of(e) for e in entries]

    def _payment_of(self, e: Entry) -> CounterPayment:
        if e.kind == RECEIPT:
            return self._other_payment_of(e)
        p = e.payload
        tid = p.get("transaction_id") or e.remote_ref
        receipt = self.journal.get(tid) if tid and e.state == DONE else None
        receipt_number = (receipt.payload.get("receipt_number") or receipt.remote_ref) if receipt else ""
        detail = ""
        if e.state in (PENDING, IN_FLIGHT):
            state = "unconfirmed"
        elif e.state == REJECTED:
            state, detail = "declined", p.get("reason") or e.detail
        elif e.state == REPORTED:
            state, detail = "not_charged", e.detail
        elif e.state == NEEDS_REVIEW:
            state, detail = "review", e.detail
        elif receipt is None or receipt.state in (PENDING, IN_FLIGHT):
            state, detail = "queued", receipt.detail if receipt else ""
        elif receipt.state in (REJECTED, NEEDS_REVIEW):
            state, detail = "review", receipt.detail
        else:
            state = "posted"
            cv = self.journal.get(f"card_void:{tid}")
            mv = self.journal.get(f"manual_void:{receipt_number}") if receipt_number else None
            if cv is not None:
                state = "voided" if cv.state == DONE and mv is not None and mv.state == DONE else "void_pending"
                if cv.state == NEEDS_REVIEW:
                    detail = f"the gateway refused the card reversal: {cv.detail}"
            elif mv is not None and mv.state == DONE:
                # voided in Caselle by hand (the Posting tab): the card charge stands until someone reverses it
                state, detail = "receipt_voided", "voided in Caselle only; the card charge was not reversed"
            elif mv is not None and mv.state in (PENDING, IN_FLIGHT):
                state = "void_pending"
        return CounterPayment(
            key=e.key, taken_at=_local(p.get("taken_at") or e.created_at), account_number=p.get("account", ""),
            name=p.get("name", ""), amount=Decimal(p.get("amount", "0")), masked_pan=p.get("masked_pan", ""),
            brand=p.get("brand", ""), auth_code=p.get("auth_code", ""), transaction_id=tid or "",
            receipt_number=receipt_number, operator=p.get("operator") or e.operator, state=state, detail=detail,
            card_name=p.get("card_name", ""))

    def receipt_document(self, payment: CounterPayment | str) -> ReceiptDocument:
        p = self.payment(payment) if isinstance(payment, str) else payment
        if p is None:
            raise ValidationError("No such counter payment")
        if p.state in ("declined", "not_charged", "unconfirmed"):
            raise ValidationError(f"There is no receipt for a payment that is {p.state_label.lower()}")
        op = self.profile.operator(p.operator)
        status = {"posted": "PAID", "voided": "VOIDED", "void_pending": "VOID IN PROGRESS",
                  "receipt_voided": "RECEIPT VOIDED"}.get(
            p.state, "PAID — receipt number to follow")
        biller = str(self.profile.get("invoicecloud_biller_id") or "")
        return ReceiptDocument(biller=biller, receipt_number=p.receipt_number, account_number=p.account_number,
                               name=p.name, amount=p.amount, masked_pan=p.masked_pan, brand=p.brand,
                               auth_code=p.auth_code, transaction_id=p.transaction_id, taken_at=p.taken_at,
                               operator=p.operator, operator_name=op.name if op else "",
                               training=bool(self.profile.training), status=status, card_name=p.card_name,
                               tender=p.tender, check_number=p.check_number, tendered=p.tendered, change=p.change,
                               virtual_site=str(self.profile.get("invoicecloud_virtual_site") or ""))

    # ================================================================== misc
    def _audit(self, operator: str, action: str, subject: str, **details: Any) -> None:
        if self.audit is not None:
            try:
                self.audit.record(operator or "system", action, subject, **details)
            except Exception:  # noqa: BLE001 - the audit must never undo a payment already taken
                log.exception("audit %s failed", action)


@dataclass(frozen=True)
class _AuthLike:
    transaction_id: str
    auth_code: str
    last4: str
    amount: Decimal


def build_counter_service(services) -> CounterService:
    """The composition root's counter service (gateway, journal and posting shared)."""
    return CounterService(caselle=lambda: services.caselle, gateway=lambda: services.gateway,
                          journal=services.journal, posting=services.posting, profile=services.profile,
                          audit=services.audit, operators=services.operators, drawers=services.drawers)
