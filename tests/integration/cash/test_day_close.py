"""The daily close against the sandbox, one fixed clock: counter figures by tender, drawer
variances explained, the expected deposit per bank account, Caselle's batch beside the
console's, sealing (a supervisor, no drawer open, once) and the one-page summary PDF."""

from __future__ import annotations

from decimal import Decimal

import pytest

from console.domain.money import format_money
from console.errors import NotPermitted
from console.services.cash_pdf import write_pdf
from console.services.day_close import DayCloseRefused, summary_document
from tests.cash_env import account_with_due, card_amount, day_close_service, pdf_text, swipe


def test_a_day_side_by_side_then_sealed(env, tmp_path):
    e = env(cash_cash_bank_account="Cash 11", cash_check_bank_account="Checks 22", cash_ic_bank_account="IC 33")
    svc = e.counter()
    days = day_close_service(e, svc)
    e.drawers.open_drawer("cashier1", "100.00")
    a, b, c, d = (account_with_due(svc) for _ in range(4))
    svc.take_other_payment(a, a.amount_due, "CASH", "cashier1")
    svc.take_other_payment(b, b.amount_due, "CHECK", "cashier1", check_number="808")
    card = svc.take_payment(c, card_amount(c), swipe(), "cashier1", confirmed=True)
    voided = svc.take_other_payment(d, d.amount_due, "CASH", "cashier1")
    svc.void_counter_payment(voided.key, "CUSTOMER_REQUEST", "changed mind", "cashier1")
    with pytest.raises(DayCloseRefused, match="still open"):
        days.close_day("super1", e.clock.today())
    e.drawers.close_drawer("cashier1", svc, cash=str(Decimal("100.00") + a.amount_due - Decimal("2.00")),
                           checks=str(b.amount_due), reason="short two dollars")
    rep = days.report(e.clock.today(), viewer="clerk1")
    assert rep.counter["CASH"] == {"taken": a.amount_due + d.amount_due, "voided": d.amount_due, "net": a.amount_due}
    assert rep.counter["CHECK"]["net"] == b.amount_due and rep.counter["CARD"]["net"] == card.amount
    assert rep.deposits["Cash 11"]["counter_cash"] == a.amount_due - Decimal("2.00")
    assert rep.deposits["Checks 22"]["counter_checks"] == b.amount_due
    assert rep.deposits["IC 33"]["ic_settlement"] == card.amount
    short = [v for v in rep.variances if v.channel == "Counter"]
    assert [(v.tender, v.amount) for v in short] == [("cash", Decimal("-2.00"))]
    assert "short two dollars" in short[0].explanation and short[0].entries == (rep.closeouts[0].session_id,)
    for batch in rep.batches:  # Caselle's own batch of the day holds what the counter posted
        assert batch.difference == Decimal("0.00"), batch
    with pytest.raises(NotPermitted):
        days.close_day("clerk1", e.clock.today())
    with pytest.raises(NotPermitted):
        days.report(e.clock.today(), viewer="support1")
    sealed = days.close_day("super1", e.clock.today())
    row = e.audit.rows(action="day.close")[-1]
    assert sealed.sealed["hash"] == row.hash and row.details["expected_deposit_total"] == str(sealed.deposit_total)
    assert e.audit.verify().ok
    with pytest.raises(DayCloseRefused, match="was closed by super1"):
        days.close_day("super1", e.clock.today())
    text = pdf_text(write_pdf(summary_document(days.report(e.clock.today())), tmp_path / "day.pdf"))
    for expected in ("Day close", "Sealed by super1", "Cash 11", "Checks 22", "IC 33", "short two dollars",
                     format_money(card.amount), format_money(a.amount_due - Decimal("2.00"))):
        assert expected in text, expected
