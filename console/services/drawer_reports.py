"""Printable drawer documents: the close-out report and the deposit slip (PDF and CSV).

Both are built from the drawer service's figures (the journal) and laid out by
:mod:`console.services.cash_pdf`. Amounts are Decimals, written with two places.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from console.domain.money import format_money, money
from console.services.cash_pdf import Section, SimpleDoc, write_pdf
from console.services.drawer import DENOMINATIONS, ZERO, CloseOut

TENDER_LABELS = {"CASH": "Cash", "CHECK": "Checks", "CARD": "Cards"}


def _when(iso: str) -> str:
    try:
        return dt.datetime.fromisoformat(iso).strftime("%m/%d/%Y %I:%M %p")
    except ValueError:
        return iso


def closeout_document(out: CloseOut, *, operator_name: str = "", training: bool = False) -> SimpleDoc:
    """The close-out report: session, operator, float, receipts by tender, voids, expected,
    counted, over/short, reason and signatures."""
    header = [f"Session {out.session_id} on {out.workstation}",
              f"Cashier: {operator_name + ' (' + out.operator + ')' if operator_name else out.operator}",
              f"Opened {_when(out.opened_at)}   Closed {_when(out.closed_at)}",
              f"Float: {format_money(out.float_total)}   Status: {out.status.upper()}"]
    rows = []
    for tender in ("CASH", "CHECK", "CARD"):
        r = out.receipts.get(tender, {"count": "0", "amount": "0.00"})
        v = out.voids.get(tender, {"count": "0", "amount": "0.00"})
        rows.append([TENDER_LABELS[tender], r["count"], format_money(Decimal(r["amount"])), v["count"],
                     format_money(Decimal(v["amount"]))])
    taken = Section("Receipts by tender", ["Tender", "Receipts", "Amount", "Voids", "Voided"], rows)
    figures = []
    for key, label in (("cash", "Cash"), ("checks", "Checks"), ("cards", "Cards")):
        counted = out.counted.get(key)
        os_ = out.over_short.get(key)
        figures.append([label, format_money(out.expected[key]),
                        format_money(counted) if counted is not None else "from the gateway",
                        format_money(os_) if os_ is not None else "-"])
    gateway = (f"Cards confirmed by the gateway: {format_money(Decimal(out.cards_gateway))}"
               if out.cards_gateway else "Cards: the gateway could not be asked")
    balance = Section("Expected and counted", ["Tender", "Expected", "Counted", "Over / short"], figures,
                      lines=[f"Checks counted: {out.checks_count}", gateway])
    sections = [taken, balance]
    if out.cash_count:
        sections.append(Section("Cash counted by denomination", ["Denomination", "Pieces", "Amount"],
                                [[f"${d}", str(n), format_money(Decimal(d) * n)]
                                 for d, n in sorted(out.cash_count.items(), key=lambda x: -Decimal(x[0]))]))
    notes = [f"Reason: {out.reason or '-'}",
             f"Countersigned by: {out.supervisor or '-'}",
             f"Sealed in the audit log: row {out.audit_seq}, hash {out.audit_hash[:16]}" if out.audit_hash else "",
             out.anchor]
    sections.append(Section("Notes", lines=[n for n in notes if n]))
    return SimpleDoc("Drawer close-out", header, sections, signatures=["Cashier", "Supervisor"], training=training)


def closeout_pdf(out: CloseOut, path: Path, **kw) -> Path:
    return write_pdf(closeout_document(out, **kw), path)


# --------------------------------------------------------------------------- deposit slip
@dataclass(frozen=True)
class SlipCheck:
    check_number: str
    account: str
    payer: str
    amount: Decimal
    session_id: str
    operator: str


@dataclass
class DepositSlip:
    day: dt.date
    cash_account: str
    check_account: str
    cash_counted: Decimal = ZERO
    floats_kept: Decimal = ZERO
    cash_count: dict[str, int] = field(default_factory=dict)  # by denomination, when every drawer was so counted
    checks: list[SlipCheck] = field(default_factory=list)
    open_checks: list[SlipCheck] = field(default_factory=list)  # in drawers still open: listed apart
    sessions: list[str] = field(default_factory=list)
    open_sessions: list[str] = field(default_factory=list)

    @property
    def cash_total(self) -> Decimal:
        """The cash to deposit: what was counted out, less the floats that stay in the drawers."""
        return money(self.cash_counted - self.floats_kept)

    @property
    def checks_total(self) -> Decimal:
        return money(sum((c.amount for c in self.checks), ZERO))

    def by_account(self) -> dict[str, dict[str, Decimal]]:
        out: dict[str, dict[str, Decimal]] = {}
        out.setdefault(self.cash_account, {"cash": ZERO, "checks": ZERO})["cash"] += self.cash_total
        out.setdefault(self.check_account, {"cash": ZERO, "checks": ZERO})["checks"] += self.checks_total
        return out

    def as_dict(self) -> dict:
        def row(c: SlipCheck) -> dict:
            return {"check_number": c.check_number, "account": c.account, "payer": c.payer,
                    "amount": str(c.amount), "session": c.session_id, "operator": c.operator}

        return {"date": self.day.isoformat(), "cash": str(self.cash_total), "cash_counted": str(self.cash_counted),
                "floats_kept": str(self.floats_kept), "cash_count": self.cash_count,
                "checks_total": str(self.checks_total), "checks": [row(c) for c in self.checks],
                "checks_in_open_drawers": [row(c) for c in self.open_checks],
                "accounts": {a: {k: str(v) for k, v in t.items()} for a, t in self.by_account().items()},
                "sessions": self.sessions, "open_sessions": self.open_sessions}

    def document(self, *, training: bool = False) -> SimpleDoc:
        header = [f"Deposit for {self.day:%m/%d/%Y}", f"Drawers closed: {len(self.sessions)}"]
        sections = [Section("Deposit by bank account", ["Bank account", "Cash", "Checks", "Total"],
                            [[a, format_money(t["cash"]), format_money(t["checks"]),
                              format_money(t["cash"] + t["checks"])] for a, t in self.by_account().items()])]
        cash_lines = [f"Cash counted: {format_money(self.cash_counted)}",
                      f"Less floats kept in the drawers: {format_money(self.floats_kept)}",
                      f"Cash to deposit: {format_money(self.cash_total)}"]
        if self.cash_count:
            sections.append(Section("Cash counted by denomination", ["Denomination", "Pieces", "Amount"],
                                    [[f"${d}", str(self.cash_count[d]), format_money(Decimal(d) * self.cash_count[d])]
                                     for d in DENOMINATIONS if self.cash_count.get(d)], lines=cash_lines))
        else:
            sections.append(Section("Cash", lines=cash_lines))
        sections.append(self._checks_section(f"Checks ({len(self.checks)}, {format_money(self.checks_total)})",
                                             self.checks))
        if self.open_checks:
            sections.append(self._checks_section(
                f"Checks in drawers still open - NOT in this deposit ({len(self.open_checks)})", self.open_checks))
        return SimpleDoc("Deposit slip", header, sections, signatures=["Prepared by", "Verified by"],
                         training=training)

    @staticmethod
    def _checks_section(title: str, checks: list[SlipCheck]) -> Section:
        return Section(title, ["Check number", "Account", "Payer", "Amount"],
                       [[c.check_number, c.account, c.payer, format_money(c.amount)] for c in checks],
                       widths=[1, 1, 2, 1], align_right_from=3)

    def to_csv(self, path: Path | None = None) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(["Section", "BankAccount", "CheckNumber", "Account", "Payer", "Amount"])
        for denom in DENOMINATIONS:
            if self.cash_count.get(denom):
                w.writerow(["cash_denomination", self.cash_account, denom, "", str(self.cash_count[denom]),
                            str(money(Decimal(denom) * self.cash_count[denom]))])
        w.writerow(["cash", self.cash_account, "", "", "", str(self.cash_total)])
        for c in self.checks:
            w.writerow(["check", self.check_account, c.check_number, c.account, c.payer, str(c.amount)])
        w.writerow(["checks_total", self.check_account, "", "", "", str(self.checks_total)])
        for c in self.open_checks:
            w.writerow(["check_in_open_drawer", "", c.check_number, c.account, c.payer, str(c.amount)])
        text = buf.getvalue()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8", newline="")
        return text


def deposit_slip(drawers, counter, day: dt.date) -> DepositSlip:
    """The deposit of ``day``: drawers closed that day (cash less float, checks itemized), and
    the checks of drawers still open, listed apart."""
    profile = drawers.profile
    slip = DepositSlip(day, str(profile.get("cash_cash_bank_account") or "General fund"),
                       str(profile.get("cash_check_bank_account") or "General fund"))
    closed = drawers.store.closed_on(day.isoformat())
    by_denomination = bool(closed) and all(s.close.get("cash_count") for s in closed)
    for s in closed:
        slip.sessions.append(s.session_id)
        slip.cash_counted += Decimal(s.close["counted"]["cash"])
        slip.floats_kept += s.float_total
        if by_denomination:
            for d, n in s.close["cash_count"].items():
                slip.cash_count[d] = slip.cash_count.get(d, 0) + int(n)
        slip.checks += _checks(drawers, counter, s)
    for s in drawers.open_on(day):
        slip.open_sessions.append(s.session_id)
        slip.open_checks += _checks(drawers, counter, s)
    return slip


def _checks(drawers, counter, session) -> list[SlipCheck]:
    fig = drawers.figures(session, counter)
    return [SlipCheck(p.check_number, p.account_number, p.name, p.amount, session.session_id, session.operator)
            for p in fig.checks]
