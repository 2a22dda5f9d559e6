"""Cash drawer sessions: open with a float, take payments into it, close out with a count.

GUI-free; the Counter tab, the drawer dialogs and ``biller-console drawer …`` use it.

- ``open_drawer`` — one open drawer per operator and workstation (the store's unique index),
  with a float given as a total or counted by denomination. Audited.
- Counter payments carry the session ID of the operator's open drawer (``drawer`` in their
  journal payload); cash and checks need one (:meth:`DrawerService.session_for_payment`).
- ``figures`` — what the session expects, from the journal: cash = float + cash taken (net of
  change) − cash voided; checks = checks taken − checks voided (itemized to tick off); cards
  = card charges approved − card charges voided.
- ``close_drawer`` — counted cash (total or denominations) and checks against the expected:
  over/short per tender; a reason above the profile's ``cash_reason_threshold``, a
  supervisor's countersignature above ``cash_countersign_threshold``. Sealed in the audit
  log's hash chain with every figure; the close-out keeps the audit row's hash.
- ``reopen_drawer`` — a supervisor only, audited; the earlier close stays in the history.

Every figure is a Decimal; nothing here talks to a remote system.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from console.domain.money import AmountError, format_money, money, parse_amount
from console.errors import NotPermitted, Problem, UserFacingError, ValidationError
from console.services.drawer_store import OPEN, DrawerSession, DrawerStore, DuplicateOpenDrawer

log = logging.getLogger(__name__)
ZERO = Decimal("0.00")
#: Denominations a drawer is counted in (notes, then coins), as written on the slip.
DENOMINATIONS: tuple[str, ...] = ("100", "50", "20", "10", "5", "2", "1", "0.50", "0.25", "0.10", "0.05", "0.01")
TAKEN_STATES = ("posted", "queued", "review", "voided", "void_pending", "receipt_voided")
VOIDED_STATES = ("voided", "void_pending")
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def require_role(profile, operators, operator, action: str) -> None:
    """The operator service's role rule — except in a profile without operators yet (a new
    production profile), where there are no roles to check and the operator ID is only recorded."""
    if profile.operators:
        operators.require(operator, action)


class DrawerRefused(UserFacingError):
    """The drawer action was refused (no open drawer, a reason or countersignature missing…)."""


class NoOpenDrawer(DrawerRefused):
    """Cash and checks need an open drawer."""


def parse_money(text, field_name: str) -> Decimal:
    try:
        return parse_amount(str(text).strip().replace("$", "").replace(",", ""))
    except (AmountError, AttributeError):
        raise ValidationError(f"{field_name}: enter an amount such as 150.00",
                              [Problem(None, field_name, "amount", f"{text!r} is not an amount")]) from None


def count_total(count: dict[str, int]) -> Decimal:
    """The total of a count by denomination ({"20": 5, "0.25": 8} -> 102.00); bad input is refused."""
    total = ZERO
    for denom, pieces in count.items():
        if denom not in DENOMINATIONS:
            raise ValidationError(f"Unknown denomination {denom!r}",
                                  [Problem(None, "denomination", "denomination", f"one of {', '.join(DENOMINATIONS)}")])
        if not isinstance(pieces, int) or pieces < 0:
            raise ValidationError(f"The count of {denom} must be a whole number of pieces",
                                  [Problem(None, denom, "pieces", "0 or more")])
        total += Decimal(denom) * pieces
    return money(total)


def parse_count(text: str) -> dict[str, int]:
    """``"20=5,1=3,0.25=8"`` -> {"20": 5, "1": 3, "0.25": 8} (the CLI's form of a count)."""
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        denom, _, pieces = part.partition("=")
        denom = denom.strip().lstrip("$")
        if denom in ("0.5", ".5", ".50"):
            denom = "0.50"
        denom = {".25": "0.25", ".10": "0.10", ".1": "0.10", "0.1": "0.10", ".05": "0.05", ".01": "0.01"}.get(
            denom, denom)
        if not pieces.strip().isdigit():
            raise ValidationError(f"{part!r}: write a count as DENOMINATION=PIECES, such as 20=5",
                                  [Problem(None, "count", "count", part)])
        out[denom] = out.get(denom, 0) + int(pieces)
    count_total(out)
    return out


@dataclass(frozen=True)
class TenderLine:
    count: int = 0
    amount: Decimal = ZERO

    def plus(self, amount: Decimal) -> TenderLine:
        return TenderLine(self.count + 1, self.amount + amount)


@dataclass(frozen=True)
class SessionFigures:
    """What a session took and expects (from the journal), with the checks to tick off."""

    session: DrawerSession
    receipts: dict[str, TenderLine]  # CASH / CHECK / CARD: everything taken, voided or not
    voids: dict[str, TenderLine]
    change_given: Decimal
    checks: tuple  # CounterPayment of checks not voided
    payments: tuple  # every CounterPayment of the session

    @property
    def expected_cash(self) -> Decimal:
        return self.session.float_total + self.receipts["CASH"].amount - self.voids["CASH"].amount

    @property
    def expected_checks(self) -> Decimal:
        return self.receipts["CHECK"].amount - self.voids["CHECK"].amount

    @property
    def expected_cards(self) -> Decimal:
        return self.receipts["CARD"].amount - self.voids["CARD"].amount

    def expected(self) -> dict[str, Decimal]:
        return {"cash": self.expected_cash, "checks": self.expected_checks, "cards": self.expected_cards}


@dataclass(frozen=True)
class CloseOut:
    session_id: str
    operator: str
    workstation: str
    opened_at: str
    closed_at: str
    float_total: Decimal
    expected: dict[str, Decimal]
    counted: dict[str, Decimal]
    over_short: dict[str, Decimal]
    status: str  # balanced | over | short
    checks_count: int
    cash_count: dict[str, int] = field(default_factory=dict)
    receipts: dict[str, dict[str, str]] = field(default_factory=dict)
    voids: dict[str, dict[str, str]] = field(default_factory=dict)
    reason: str = ""
    supervisor: str = ""
    audit_seq: int = 0
    audit_hash: str = ""
    cards_gateway: str = ""  # the card total the gateway confirms ("" when it could not be asked)
    anchor: str = ""  # the audit anchor after the close was sealed ("Audit anchor: N entries, head …")

    def as_dict(self) -> dict:
        def amounts(d: dict[str, Decimal]) -> dict[str, str]:
            return {k: str(money(v)) for k, v in d.items()}

        return {"session": self.session_id, "operator": self.operator, "workstation": self.workstation,
                "opened_at": self.opened_at, "closed_at": self.closed_at, "float": str(self.float_total),
                "expected": amounts(self.expected), "counted": amounts(self.counted),
                "over_short": amounts(self.over_short), "status": self.status, "checks_count": self.checks_count,
                "cash_count": dict(self.cash_count), "receipts": self.receipts, "voids": self.voids,
                "reason": self.reason, "supervisor": self.supervisor, "audit_seq": self.audit_seq,
                "audit_hash": self.audit_hash, "cards_gateway": self.cards_gateway, "anchor": self.anchor}

    @classmethod
    def from_dict(cls, d: dict) -> CloseOut:
        dec = {k: {t: Decimal(v) for t, v in d.get(k, {}).items()} for k in ("expected", "counted", "over_short")}
        return cls(d["session"], d["operator"], d["workstation"], d["opened_at"], d["closed_at"],
                   Decimal(d["float"]), dec["expected"], dec["counted"], dec["over_short"], d["status"],
                   int(d.get("checks_count", 0)), dict(d.get("cash_count", {})), d.get("receipts", {}),
                   d.get("voids", {}), d.get("reason", ""), d.get("supervisor", ""), int(d.get("audit_seq", 0)),
                   d.get("audit_hash", ""), d.get("cards_gateway", ""), d.get("anchor", ""))


def status_of(over_short: dict[str, Decimal]) -> str:
    if any(v < 0 for v in over_short.values()):
        return "short"
    if any(v > 0 for v in over_short.values()):
        return "over"
    return "balanced"


class DrawerService:
    def __init__(self, *, store: DrawerStore, journal, profile, operators, audit=None,
                 clock: Callable[[], dt.datetime] | None = None, workstation: str | None = None,
                 anchor: Callable[[], str] | None = None):
        self.store = store
        self._anchor = anchor  # the audit anchor's one line, printed on the close-out report
        self.journal = journal
        self.profile = profile
        self.operators = operators
        self.audit = audit
        self._clock = clock or (lambda: dt.datetime.now().astimezone())
        self.workstation = workstation or socket.gethostname() or "workstation"

    def close(self) -> None:
        self.store.close()

    def now(self) -> dt.datetime:
        return self._clock()

    def today(self) -> dt.date:
        return self.now().date()

    # ================================================================== open
    def open_drawer(self, operator: str, float_amount: Decimal | str | None = None, *,
                    float_count: dict[str, int] | None = None) -> DrawerSession:
        require_role(self.profile, self.operators, operator, "drawer")
        if float_count:
            total = count_total(float_count)
            if float_amount not in (None, "") and parse_money(float_amount, "float") != total:
                raise ValidationError(f"The float counted ({format_money(total)}) is not the float given "
                                      f"({format_money(parse_money(float_amount, 'float'))})",
                                      [Problem(None, "float", "float_count", "count and total differ")])
        else:
            total = parse_money(float_amount if float_amount is not None else "", "float")
        if total < 0:
            raise ValidationError("The float cannot be negative", [Problem(None, "float", "positive", str(total))])
        existing = self.current(operator)
        if existing is not None:
            raise DrawerRefused(f"{operator} already has a drawer open on {self.workstation} since "
                                f"{existing.opened_at[:16].replace('T', ' ')}", hint="close it first")
        now = self.now()
        sid = f"drw:{now:%Y%m%d}:" + "".join(secrets.choice(_LETTERS) for _ in range(10))
        session = DrawerSession(sid, operator, self.workstation, now.isoformat(timespec="seconds"),
                                now.date().isoformat(), money(total), dict(float_count or {}), OPEN)
        try:
            self.store.insert(session)
        except DuplicateOpenDrawer:
            raise DrawerRefused(f"{operator} already has a drawer open on {self.workstation}") from None
        self._audit(operator, "drawer.open", sid, workstation=self.workstation, float=str(session.float_total),
                    float_count=session.float_count)
        return session

    def current(self, operator: str) -> DrawerSession | None:
        found = self.store.open_for(operator, self.workstation)
        return found[0] if found else None

    def session(self, session_id: str) -> DrawerSession | None:
        return self.store.get(session_id)

    def open_drawers(self, viewer: str) -> list[DrawerSession]:
        """Every open drawer of the office (a supervisor), or the viewer's own."""
        if not self.profile.operators or self.operators.can(viewer, "view_all_drawers"):
            return self.store.all_open()
        return self.store.open_for(viewer)

    def session_for_payment(self, operator: str, tender: str) -> str:
        """The session ID a payment belongs to; cash and checks need an open drawer."""
        s = self.current(operator)
        if s is None and tender in ("CASH", "CHECK"):
            raise NoOpenDrawer(f"Open a cash drawer before taking {'cash' if tender == 'CASH' else 'a check'}",
                               hint="Drawer → Open drawer (count the float), or biller-console drawer open")
        return s.session_id if s is not None else ""

    # ================================================================== figures
    def session_payments(self, session: DrawerSession, counter) -> list:
        """The counter payments (CounterPayment) taken into ``session``, oldest first."""
        start = dt.date.fromisoformat(session.opened_day)
        last = dt.date.fromisoformat(session.closed_day) if session.closed_day else self.today()
        days = [start + dt.timedelta(days=i) for i in range(max(0, (last - start).days) + 1)]
        prefixes = [f"{p}:{d:%Y%m%d}:" for d in days for p in ("ctr", "ctr-cash", "ctr-check", "ctr-split")]
        entries = self.journal.entries(kinds=["card_auth", "receipt"], key_prefixes=prefixes)
        mine = [e for e in entries if e.payload.get("drawer") == session.session_id]
        return [p for p in (counter.payment(e.key) for e in mine) if p is not None]

    def figures(self, session: DrawerSession, counter) -> SessionFigures:
        payments = self.session_payments(session, counter)
        receipts = {t: TenderLine() for t in ("CASH", "CHECK", "CARD")}
        voids = {t: TenderLine() for t in ("CASH", "CHECK", "CARD")}
        change = ZERO
        checks = []
        for p in payments:
            if p.state not in TAKEN_STATES:
                continue  # declined, not charged, unconfirmed: no money
            receipts[p.tender] = receipts[p.tender].plus(p.amount)
            change += p.change or ZERO
            if p.state in VOIDED_STATES:
                voids[p.tender] = voids[p.tender].plus(p.amount)
            elif p.tender == "CHECK":
                checks.append(p)
        return SessionFigures(session, receipts, voids, change, tuple(self._one_per_check(checks)), tuple(payments))

    def _one_per_check(self, checks: list) -> list:
        """One item per paper check: a check split over several accounts (one split transaction)
        is one check to tick off, for its whole amount."""
        out: list = []
        seen: dict[tuple[str, str], int] = {}
        for p in checks:
            e = self.journal.get(p.key)
            group = str(e.payload.get("split", "")) if e is not None else ""
            if not group:
                out.append(p)
                continue
            at = seen.get((group, p.check_number))
            if at is None:
                seen[(group, p.check_number)] = len(out)
                out.append(p)
            else:
                first = out[at]
                out[at] = replace(first, amount=first.amount + p.amount,
                                  account_number=f"{first.account_number} +")
        return out

    @staticmethod
    def gateway_cards(fig: SessionFigures, counter) -> str:
        """The session's card total as the gateway reports it (approved, not voided), as a decimal
        string; "" when there is no gateway or it could not be asked (the close never waits on it)."""
        gateway = getattr(counter, "gateway", None)
        cards = [p for p in fig.payments if p.tender == "CARD" and p.state in TAKEN_STATES and p.transaction_id]
        if gateway is None or not hasattr(gateway, "transaction"):
            return ""
        total = ZERO
        try:
            for p in cards:
                t = gateway.transaction(p.transaction_id)
                if t is not None and t.status == "approved" and not t.voided:
                    total += t.amount
        except Exception as exc:  # noqa: BLE001 - the gateway's side is a check, never a blocker
            log.warning("card totals from the gateway: %s", exc)
            return ""
        return str(money(total))

    def blind(self) -> bool:
        """The profile's blind count: the expected figures are shown only after the count."""
        return bool(self.profile.get("cash_blind_count"))

    # ================================================================== close
    def close_drawer(self, operator: str, counter, *, cash: Decimal | str | None = None,
                     cash_count: dict[str, int] | None = None, checks: Decimal | str = "0",
                     checks_count: int | None = None, reason: str = "", supervisor_id: str = "",
                     supervisor_pin: str | None = None, session_id: str = "") -> CloseOut:
        """Close ``operator``'s open drawer on this workstation (or ``session_id``: a supervisor
        closing another's). Raises DrawerRefused / ValidationError / NotPermitted; nothing is
        written then."""
        session = self._closable(operator, session_id)
        counted_cash = self._counted_cash(cash, cash_count)
        counted_checks = parse_money(checks, "checks")
        fig = self.figures(session, counter)
        if checks_count is not None and checks_count != len(fig.checks):
            raise DrawerRefused(f"{checks_count} checks counted but the drawer took {len(fig.checks)}: "
                                "tick them off against the list", hint="recount the checks")
        expected = fig.expected()
        counted = {"cash": counted_cash, "checks": counted_checks}
        over_short = {k: counted[k] - expected[k] for k in counted}
        worst = max(abs(v) for v in over_short.values())
        reason = (reason or "").strip()
        reason_limit = money(self.profile.get("cash_reason_threshold") or 0)
        sign_limit = money(self.profile.get("cash_countersign_threshold") or 0)
        if worst > reason_limit and not reason:
            raise DrawerRefused(f"The drawer is {status_of(over_short)} by {format_money(worst)} (more than "
                                f"{format_money(reason_limit)}): a reason is required", hint="give --reason TEXT")
        approver = ""
        if worst > sign_limit:
            approver = self._countersign(operator, session, supervisor_id, supervisor_pin, worst, sign_limit)
        now = self.now()
        out = CloseOut(session.session_id, session.operator, session.workstation, session.opened_at,
                       now.isoformat(timespec="seconds"), session.float_total, expected, counted, over_short,
                       status_of(over_short), len(fig.checks), dict(cash_count or {}),
                       {t: {"count": str(v.count), "amount": str(money(v.amount))} for t, v in fig.receipts.items()},
                       {t: {"count": str(v.count), "amount": str(money(v.amount))} for t, v in fig.voids.items()},
                       reason, approver, cards_gateway=self.gateway_cards(fig, counter))
        row = self._audit(operator, "drawer.close", session.session_id, close=out.as_dict())
        if row is not None:
            anchor = self._anchor() if self._anchor is not None else ""
            out = CloseOut(**{**out.__dict__, "audit_seq": row.seq, "audit_hash": row.hash, "anchor": anchor})
        if not self.store.set_closed(session.session_id, out.closed_at, now.date().isoformat(), out.as_dict()):
            raise DrawerRefused("The drawer was closed meanwhile (another window or console)")
        return out

    def _closable(self, operator: str, session_id: str) -> DrawerSession:
        require_role(self.profile, self.operators, operator, "drawer")
        if session_id:
            session = self.store.get(session_id)
            if session is None or not session.is_open:
                raise DrawerRefused(f"No open drawer {session_id}")
            if session.operator != operator:
                require_role(self.profile, self.operators, operator, "view_all_drawers")
            return session
        session = self.current(operator)
        if session is None:
            raise DrawerRefused(f"{operator} has no open drawer on {self.workstation}",
                                hint="open one with biller-console drawer open --float AMOUNT")
        return session

    @staticmethod
    def _counted_cash(cash, cash_count) -> Decimal:
        if cash_count:
            total = count_total(cash_count)
            if cash not in (None, "") and parse_money(cash, "cash") != total:
                raise ValidationError(f"The cash counted by denomination ({format_money(total)}) is not the "
                                      f"total given ({format_money(parse_money(cash, 'cash'))})",
                                      [Problem(None, "cash", "cash_count", "count and total differ")])
            return total
        if cash in (None, ""):
            raise ValidationError("Enter the cash counted", [Problem(None, "cash", "required", "no count")])
        return parse_money(cash, "cash")

    def _countersign(self, operator, session, supervisor_id, supervisor_pin, worst, limit) -> str:
        if not supervisor_id:
            raise DrawerRefused(f"Over/short of {format_money(worst)} is more than {format_money(limit)}: "
                                "a supervisor must countersign", hint="give --supervisor ID (and their PIN)")
        if supervisor_id == operator:
            raise DrawerRefused("The countersignature must be another person's (a supervisor)")
        try:
            op = self.operators.approve(supervisor_id, supervisor_pin or "", for_action="drawer.close",
                                        by=operator)
        except NotPermitted as exc:
            raise DrawerRefused(str(exc)) from exc
        return op.operator_id

    # ================================================================== reopen
    def reopen_drawer(self, session_id: str, supervisor_id: str, supervisor_pin: str, reason: str) -> DrawerSession:
        op = self.operators.approve(supervisor_id, supervisor_pin or "", for_action="drawer.reopen")
        require_role(self.profile, self.operators, op, "reopen_drawer")
        if not (reason or "").strip():
            raise ValidationError("Say why the drawer is reopened", [Problem(None, "reason", "required", "empty")])
        session = self.store.get(session_id)
        if session is None or session.is_open:
            raise DrawerRefused(f"No closed drawer {session_id}")
        try:
            done = self.store.set_reopened(session_id, {"by": op.operator_id, "reason": reason.strip(),
                                                        "at": self.now().isoformat(timespec="seconds")})
        except DuplicateOpenDrawer:
            raise DrawerRefused(f"{session.operator} has opened another drawer on {session.workstation}: "
                                "close that one first") from None
        if not done:
            raise DrawerRefused(f"The drawer {session_id} was reopened meanwhile")
        self._audit(op.operator_id, "drawer.reopen", session_id, cashier=session.operator, reason=reason.strip(),
                    previous_status=session.close.get("status", ""))
        return self.store.get(session_id)

    # ================================================================== reading close-outs
    def closeouts(self, day: dt.date) -> list[CloseOut]:
        return [CloseOut.from_dict(s.close) for s in self.store.closed_on(day.isoformat()) if s.close]

    def open_on(self, day: dt.date) -> list[DrawerSession]:
        return [s for s in self.store.opened_until(day.isoformat()) if s.is_open]

    def _audit(self, operator: str, action: str, subject: str, **details):
        if self.audit is None:
            return None
        return self.audit.record(operator or "system", action, subject, **details)


def build_drawer_service(services, *, clock=None) -> DrawerService:
    store = services.drawer_store if hasattr(type(services), "drawer_store") else DrawerStore(services.paths.journal_file)
    return DrawerService(store=store, journal=services.journal,
                         profile=services.profile, operators=services.operators, audit=services.audit,
                         clock=clock, anchor=getattr(services, "audit_anchor", None))
