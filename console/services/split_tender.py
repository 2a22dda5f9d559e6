"""Split tender and several accounts: one counter transaction, any mix of cash, check and card,
paying one or more accounts (a landlord's check for five units).

GUI-free, on the counter's exactly-once core:

1. Every account's amount is checked by the biller's rules (``CounterService.check_amount``)
   and the tender parts must add up to the accounts' total; checks need their numbers; cash
   handed over may exceed the cash part — the change comes only from cash. Cash and checks
   need the operator's open drawer. Bad input names the field and the rule; nothing is written.
2. The card part is authorized **first** (a ``card_auth`` entry journaled before the gateway
   is asked, keyed by idempotency key, looked up by key when the answer is lost). Declined:
   nothing is journaled for the cash and check parts and nothing is posted.
3. The accounts are paid from the parts in order (card, then checks, then cash): each
   (account, part) piece is one ``receipt`` journal entry — its own Caselle receipt, posted by
   the posting service's claim loop, reconciled by reference before any re-send. The card's
   pieces are keyed by the gateway's transaction ID (``TID``, ``TID~2`` …) so Invoice Cloud's
   export of that charge is recognised as taken at the counter.
4. :meth:`SplitTenderService.receipt_lines` is the one printed receipt listing every piece.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from console.adapters.journal import DONE, REJECTED, NewEntry, lease_owner_id
from console.domain.money import format_money, money
from console.errors import Cancelled, Problem, UserFacingError, ValidationError
from console.services.counter import CARD_AUTH, RECEIPT, ksn_text, new_key

_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
ORDER = {"CARD": 0, "CHECK": 1, "CASH": 2}


@dataclass(frozen=True)
class TenderPart:
    tender: str  # CASH | CHECK | CARD
    amount: Decimal
    check_number: str = ""
    tendered: Decimal | None = None  # cash handed over (cash)
    card: object = None  # the swiped card (card): used once, then dropped


@dataclass(frozen=True)
class Piece:
    key: str
    account: str
    tender: str
    amount: Decimal
    check_number: str = ""
    receipt_number: str = ""
    state: str = ""


@dataclass
class SplitResult:
    status: str  # posted | queued | declined
    group: str
    total: Decimal
    change: Decimal
    pieces: list[Piece] = field(default_factory=list)
    card_key: str = ""
    transaction_id: str = ""
    masked_pan: str = ""
    reason: str = ""
    message: str = ""

    def as_dict(self) -> dict:
        return {"status": self.status, "group": self.group, "amount": str(self.total), "change_due": str(self.change),
                "transaction_id": self.transaction_id, "masked_pan": self.masked_pan, "reason": self.reason,
                "receipts": [{"receipt": p.receipt_number, "account": p.account, "tender": p.tender.lower(),
                              "amount": str(p.amount), "check_number": p.check_number, "state": p.state,
                              "key": p.key} for p in self.pieces], "message": self.message}


def allocate(accounts: list[tuple[str, Decimal]], parts: list[TenderPart]) -> list[tuple[str, TenderPart, Decimal]]:
    """Pay the accounts in order from the parts in order (card, checks, cash): (account, part, amount)."""
    queue = [[p, p.amount] for p in sorted(parts, key=lambda p: ORDER[p.tender])]
    out = []
    for account, due in accounts:
        left = due
        while left > 0:
            part = queue[0]
            take = min(left, part[1])
            out.append((account, part[0], take))
            left -= take
            part[1] -= take
            if part[1] == 0:
                queue.pop(0)
    return out


class SplitTenderService:
    def __init__(self, counter):
        self.counter = counter

    def check(self, accounts: list[tuple], parts: list[TenderPart], *, confirmed: bool = False) -> None:
        problems = []
        for i, (view, amount) in enumerate(accounts, 1):
            c = self.counter.check_amount(view, amount)
            problems += [Problem(i, "amount", p.rule, f"{view.account_number}: {p.message}")
                         for p in c.problems if p.severity == "error"]
            if c.ok and c.needs_confirmation and not confirmed:
                problems.append(Problem(i, "amount", "overpayment", f"{view.account_number}: {c.needs_confirmation}"))
        if not accounts:
            problems.append(Problem(None, "account", "required", "name at least one account"))
        if sum(p.tender == "CARD" for p in parts) > 1:
            problems.append(Problem(None, "card", "one_card", "one card per transaction"))
        for i, p in enumerate(parts, 1):
            if p.tender not in ORDER:
                problems.append(Problem(i, "tender", "tender", f"{p.tender!r}: CASH, CHECK or CARD"))
            elif p.amount <= 0:
                problems.append(Problem(i, "amount", "positive", f"the {p.tender.lower()} part must be more than $0.00"))
            if p.tender == "CHECK":
                try:
                    self.counter.check_check_number(p.check_number)
                except ValidationError:
                    problems.append(Problem(i, "check_number", "check_number", "1 to 10 digits"))
            if p.tender == "CASH" and p.tendered is not None and p.tendered < p.amount:
                problems.append(Problem(i, "tendered", "short", f"{format_money(p.tendered)} handed over for a cash "
                                                                f"part of {format_money(p.amount)}"))
            if p.tender == "CARD" and getattr(p.card, "payload", None) is None:
                problems.append(Problem(i, "card", "card", "swipe the card first"))
        total = sum((money(a) for _, a in accounts), Decimal("0.00"))
        paid = sum((p.amount for p in parts), Decimal("0.00"))
        if not problems and total != paid:
            problems.append(Problem(None, "tender", "sum", f"the parts add up to {format_money(paid)}, the accounts "
                                                           f"to {format_money(total)}"))
        if problems:
            raise ValidationError(problems[0].message, problems)

    def take(self, accounts: list[tuple], parts: list[TenderPart], operator: str, *, confirmed: bool = False,
             cancel=None) -> SplitResult:
        """Take one transaction (``accounts``: (AccountView, amount) pairs). Raises ValidationError,
        NoOpenDrawer, RemoteError / PaymentUnconfirmed (the card part) before anything else."""
        c = self.counter
        accounts = [(v, money(a)) for v, a in accounts]
        self.check(accounts, parts, confirmed=confirmed)
        drawer = c.drawer_for(operator, "CASH") if any(p.tender != "CARD" for p in parts) else \
            c.drawer_for(operator, "CARD")
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        group = "".join(secrets.choice(_LETTERS) for _ in range(12))
        names = {v.account_number: v.name for v, _ in accounts}
        plan = allocate([(v.account_number, a) for v, a in accounts], parts)
        total = sum((a for _, a in accounts), Decimal("0.00"))
        card_part = next((p for p in parts if p.tender == "CARD"), None)
        result = SplitResult("posted", group, total, Decimal("0.00"))
        keys: list[str] = []
        if card_part is not None:
            auth = self._authorize(card_part, plan, names, operator, drawer, group, result)
            if auth is None:
                return result
            keys += self._card_receipts(auth, plan, names, operator, group)
        cash = next((p for p in parts if p.tender == "CASH"), None)
        if cash is not None and cash.tendered is not None:
            result.change = money(cash.tendered - cash.amount)
        keys += self._other_receipts(plan, names, operator, drawer, group, result.change)
        for key in keys:
            c._post(key, operator, cancel)
        self._fill(result, keys)
        c._audit(operator, "counter.split", group, total=str(total), accounts=sorted(names),
                 parts=[{"tender": p.tender, "amount": str(p.amount)} for p in parts], receipts=len(keys))
        return result

    # ------------------------------------------------------------------ the card part, first
    def _authorize(self, part: TenderPart, plan, names, operator, drawer, group, result: SplitResult):
        c = self.counter
        card = part.card
        first = next(a for a, p, _ in plan if p is part)
        key = new_key(c._today())
        payload = {"account": first, "name": names[first], "amount": str(part.amount),
                   "masked_pan": card.masked_pan or "", "last4": card.last4 or "", "brand": card.brand or "",
                   "card_name": card.name or "", "ksn": ksn_text(card.ksn), "serial": card.serial or "",
                   "format": card.format, "operator": operator, "training": bool(c.profile.training),
                   "taken_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "drawer": drawer, "split": group,
                   "pieces": [{"account": a, "amount": str(x)} for a, p, x in plan if p is part]}
        c.journal.add_entry(NewEntry(key, CARD_AUTH, payload), operator=operator)
        owner = lease_owner_id()
        if not c.journal.claim(owner, [CARD_AUTH], keys=[key], lease_s=600):
            raise UserFacingError("The card payment could not be started (journal busy); try again")
        try:
            auth = c._authorize(card, part.amount, key, first, operator, owner)
        finally:
            card = None  # the encrypted read is used once, then dropped
        result.card_key = key
        if not auth.approved:
            c.journal.finish(key, owner, REJECTED, outcome="declined", remote_ref=auth.transaction_id,
                             detail=auth.reason, payload_update={"transaction_id": auth.transaction_id,
                                                                 "reason": auth.reason})
            result.status, result.reason, result.transaction_id = "declined", auth.reason, auth.transaction_id
            result.message = (f"Declined: {auth.reason}. Nothing was taken or posted: ask for another card "
                              "or another way to pay.")
            return None
        c.journal.finish(key, owner, DONE, outcome="approved", remote_ref=auth.transaction_id,
                         payload_update={"transaction_id": auth.transaction_id, "auth_code": auth.auth_code,
                                         "masked_pan": auth.masked_pan or payload["masked_pan"],
                                         "brand": auth.brand or payload["brand"]})
        result.transaction_id, result.masked_pan = auth.transaction_id, auth.masked_pan or payload["masked_pan"]
        return auth

    def _card_receipts(self, auth, plan, names, operator, group) -> list[str]:
        c = self.counter
        keys = []
        pieces = [(a, x) for a, p, x in plan if p.tender == "CARD"]
        for n, (account, amount) in enumerate(pieces, 1):
            key = auth.transaction_id if n == 1 else f"{auth.transaction_id}~{n}"
            payload = c._receipt_payload({"account": account, "name": names[account], "last4": auth.last4,
                                          "taken_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")},
                                         _Piece(key, auth.auth_code, auth.last4, amount))
            payload.update(split=group, operator=operator)
            c.journal.add_entry(NewEntry(key, RECEIPT, payload), operator=operator)
            keys.append(key)
        return keys

    # ------------------------------------------------------------------ checks and cash
    def _other_receipts(self, plan, names, operator, drawer, group, change: Decimal) -> list[str]:
        c = self.counter
        keys = []
        taken = dt.datetime.now(dt.UTC)
        change_left = change
        for n, (account, part, amount) in enumerate(plan):
            if part.tender == "CARD":
                continue
            key = f"ctr-{part.tender.lower()}:{c._today():%Y%m%d}:{group}{_LETTERS[n % len(_LETTERS)]}{n:02d}"
            extra = {"check_number": part.check_number} if part.tender == "CHECK" else {}
            if part.tender == "CASH" and change_left:
                extra = {"tendered": str(amount + change_left), "change": str(change_left)}
                change_left = Decimal("0.00")
            payload = {"payment_id": key, "confirmation": part.check_number, "account": account,
                       "invoice_number": "", "invoice_type": "", "payer_name": names[account], "tender": part.tender,
                       "card_last4": "", "amount": str(amount), "convenience_fee": "0.00",
                       "payment_date": taken.astimezone().date().isoformat(), "settlement_date": "",
                       "source": "counter", "name": names[account], "operator": operator,
                       "training": bool(c.profile.training), "taken_at": taken.isoformat(timespec="seconds"),
                       "drawer": drawer, "split": group, **extra}
            c.journal.add_entry(NewEntry(key, RECEIPT, payload), operator=operator)
            keys.append(key)
        return keys

    def _fill(self, result: SplitResult, keys: list[str]) -> None:
        j = self.counter.journal
        for key in keys:
            e = j.get(key)
            p = e.payload
            number = (p.get("receipt_number") or e.remote_ref) if e.state == DONE else ""
            result.pieces.append(Piece(key, p["account"], p["tender"], Decimal(p["amount"]),
                                       p.get("check_number", ""), number, e.state))
        if any(p.state != DONE for p in result.pieces):
            result.status = "queued"
        listed = ", ".join(f"{p.receipt_number or 'to follow'} ({p.account} {p.tender.lower()} "
                           f"{format_money(p.amount)})" for p in result.pieces)
        change = f" Change due: {format_money(result.change)}." if result.change else ""
        result.message = f"Paid {format_money(result.total)}: receipts {listed}.{change}"

    def receipt_lines(self, result: SplitResult) -> list[tuple[str, str]]:
        """The one printed receipt of the transaction: every account's receipt, by tender."""
        rows = [("Transaction", result.group), ("Total", format_money(result.total))]
        for p in result.pieces:
            how = {"CASH": "Cash", "CHECK": f"Check {p.check_number}", "CARD": f"Card {result.masked_pan}"}[p.tender]
            rows.append((f"Receipt {p.receipt_number or 'to follow'}", f"{p.account} · {how} · "
                                                                        f"{format_money(p.amount)}"))
        if result.change:
            rows.append(("Change", format_money(result.change)))
        return rows


@dataclass(frozen=True)
class _Piece:
    transaction_id: str
    auth_code: str
    last4: str
    amount: Decimal
