"""A counter check returned days later, after its batch closed: a supervisor reverses it in Caselle
through the ACH-reject path (journaled first, exactly once, NSF fee per profile), audited, and
counted in the Day Close of the day it happens."""

from __future__ import annotations

from decimal import Decimal

import pytest

from console.errors import NotPermitted, ValidationError
from tests.cash_env import account_with_due, day_close_service, reversal_service


def test_returned_check_is_reversed_once_by_a_supervisor(env):
    e = env()
    svc = e.counter()
    e.drawers.open_drawer("cashier1", "0")
    a = account_with_due(svc)
    taken = svc.take_other_payment(a, a.amount_due, "CHECK", "cashier1", check_number="7777")
    e.drawers.close_drawer("cashier1", svc, cash="0", checks=str(a.amount_due))
    e.clock.advance(days=6)
    supervisor = e.counter("super1")
    reversals = reversal_service(e, supervisor)
    with pytest.raises(NotPermitted):
        reversal_service(e, svc).return_check(taken.receipt_number, "R01", "NSF", "cashier1")
    with pytest.raises(ValidationError, match="Unknown return code"):
        reversals.return_check(taken.receipt_number, "X9", "NSF", "super1")
    out = reversals.return_check(taken.receipt_number, "R01", "insufficient funds", "super1")
    assert out.done and out.outcome == "reversed" and out.amount == a.amount_due and out.nsf_fee == "25.00"
    receipt = supervisor.caselle.receipt_by_number(taken.receipt_number)
    assert str(receipt.extra.get("status", "")).upper() == "REVERSED"
    again = reversals.return_check(taken.receipt_number, "R01", "insufficient funds", "super1")
    assert again.key == out.key and again.done  # the same journal entry: never reversed twice
    assert len(e.journal.entries(kinds=["ach_reject"])) == 1
    assert e.audit.rows(action="counter.check_returned")[-1].details["check_number"] == "7777"
    rep = day_close_service(e, supervisor).report(e.clock.today())
    assert [(r.check_number, r.amount) for r in rep.returned_checks] == [("7777", a.amount_due)]
    assert rep.deposits["General fund"]["returned_checks"] == -a.amount_due
    assert any(v.tender == "checks" and v.amount == -a.amount_due and "returned" in v.explanation
               for v in rep.variances)
    assert rep.deposit_total == -a.amount_due + Decimal("0.00")
