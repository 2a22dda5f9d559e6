"""The close-out report and the deposit slip: the PDFs open and carry the figures (pypdfium2
text); the slip's CSV; checks of a drawer still open are listed apart."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from console.domain.money import format_money
from console.services.drawer_reports import closeout_pdf, deposit_slip
from tests.cash_env import account_with_due, pdf_text


def test_closeout_pdf_carries_every_figure(env, tmp_path):
    e = env()
    svc = e.counter()
    e.drawers.open_drawer("cashier1", "75.00")
    a, b = account_with_due(svc), account_with_due(svc)
    svc.take_other_payment(a, a.amount_due, "CASH", "cashier1")
    svc.take_other_payment(b, b.amount_due, "CHECK", "cashier1", check_number="4455")
    out = e.drawers.close_drawer("cashier1", svc, cash=str(Decimal("75.00") + a.amount_due - Decimal("0.75")),
                                 checks=str(b.amount_due), reason="coin roll miscounted")
    text = pdf_text(closeout_pdf(out, tmp_path / "close.pdf", operator_name="Casey Cashier", training=True))
    for expected in ("Drawer close-out", "TRAINING", "Casey Cashier (cashier1)", out.session_id, "$75.00",
                     format_money(Decimal("75.00") + a.amount_due), format_money(b.amount_due), "-$0.75",
                     "SHORT", "coin roll miscounted", "Cashier:", "Supervisor:", out.audit_hash[:16],
                     "Cards confirmed by the gateway: $0.00"):
        assert expected in text, expected


def test_deposit_slip_lists_cash_checks_and_open_drawers_apart(env, tmp_path):
    e = env(cash_cash_bank_account="Operating 1234", cash_check_bank_account="Checks 5678")
    svc, other = e.counter("cashier1"), e.counter("clerk1")
    e.drawers.open_drawer("cashier1", "100.00")
    e.drawers.open_drawer("clerk1", "0")
    a, b, c = account_with_due(svc), account_with_due(svc), account_with_due(svc)
    svc.take_other_payment(a, a.amount_due, "CASH", "cashier1")
    svc.take_other_payment(b, b.amount_due, "CHECK", "cashier1", check_number="7001")
    other.take_other_payment(c, c.amount_due, "CHECK", "clerk1", check_number="9009")
    e.drawers.close_drawer("cashier1", svc, cash_count={"100": 1, "0.01": int(a.amount_due * 100)},
                           checks=str(b.amount_due))
    slip = deposit_slip(e.drawers, svc, e.clock.today())
    assert slip.cash_total == a.amount_due and slip.checks_total == b.amount_due
    assert slip.cash_count == {"100": 1, "0.01": int(a.amount_due * 100)}
    assert [x.check_number for x in slip.checks] == ["7001"]
    assert [x.check_number for x in slip.open_checks] == ["9009"]
    assert slip.by_account() == {"Operating 1234": {"cash": a.amount_due, "checks": Decimal("0.00")},
                                 "Checks 5678": {"cash": Decimal("0.00"), "checks": b.amount_due}}
    rows = list(csv.DictReader(io.StringIO(slip.to_csv())))
    assert {"Section": "check", "BankAccount": "Checks 5678", "CheckNumber": "7001", "Account": b.account_number,
            "Payer": b.name, "Amount": str(b.amount_due)} in rows
    assert [r["CheckNumber"] for r in rows if r["Section"] == "check_in_open_drawer"] == ["9009"]
    from console.services.cash_pdf import write_pdf

    text = pdf_text(write_pdf(slip.document(), tmp_path / "slip.pdf"))
    for expected in ("Deposit slip", "Operating 1234", "Checks 5678", "7001", b.account_number,
                     format_money(b.amount_due), format_money(a.amount_due), "NOT in this deposit", "9009"):
        assert expected in text, expected
