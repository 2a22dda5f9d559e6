"""Reversals after the batch closed, by a supervisor, exactly once, audited and counted in the Day
Close of the day they happen: a returned counter check (the ACH-reject path, NSF fee per profile)
and a counter card charge refunded after settlement (gateway refund, then the Caselle reversal; a
lost refund answer is found by its key)."""

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


def test_card_refund_after_settlement_once_at_the_gateway_and_in_caselle(env, ic_server):
    import console.sandbox.ic_gateway as ic_gateway
    from tests.cash_env import card_amount, swipe

    e = env()
    svc = e.counter()
    a = account_with_due(svc)
    paid = svc.take_payment(a, card_amount(a), swipe(), "cashier1", confirmed=True)
    e.clock.advance(days=3)
    supervisor = e.counter("super1")
    reversals = reversal_service(e, supervisor)
    with pytest.raises(NotPermitted):
        reversal_service(e, svc).refund_card(paid.receipt_number, "customer dispute", "cashier1")
    out = reversals.refund_card(paid.receipt_number, "customer overpaid by mistake", "super1")
    assert out.done and out.refund_id.startswith("RF") and out.amount == paid.amount
    store = ic_gateway.store_of(ic_server)
    assert Decimal(store.by_id[paid.transaction_id].refunded) == paid.amount
    receipt = supervisor.caselle.receipt_by_number(paid.receipt_number)
    assert str(receipt.extra.get("status", "")).upper() == "REVERSED"
    again = reversals.refund_card(paid.receipt_number, "customer overpaid by mistake", "super1")
    assert again.done and Decimal(store.by_id[paid.transaction_id].refunded) == paid.amount  # never twice
    assert e.audit.rows(action="counter.card_refund")[-1].details["transaction_id"] == paid.transaction_id
    rep = day_close_service(e, supervisor).report(e.clock.today())
    assert rep.deposits["General fund"]["ic_settlement"] == -paid.amount
    assert any(v.tender == "card" and v.amount == -paid.amount and "refunded" in v.explanation for v in rep.variances)


def test_a_refund_whose_answer_was_lost_is_found_by_its_key(env, ic_server, monkeypatch):
    import console.sandbox.ic_gateway as ic_gateway
    from console.errors import NetworkError
    from tests.cash_env import card_amount, swipe

    e = env()
    svc = e.counter()
    a = account_with_due(svc)
    paid = svc.take_payment(a, card_amount(a), swipe(), "cashier1", confirmed=True)
    supervisor = e.counter("super1")
    gateway = supervisor.gateway
    real = gateway.refund

    def lost(*args, **kw):
        real(*args, **kw)  # the gateway refunds, then the answer is lost
        err = NetworkError("dropped", system="card gateway")
        err.outcome_unknown = True
        raise err

    monkeypatch.setattr(gateway, "refund", lost)
    first = reversal_service(e, supervisor).refund_card(paid.receipt_number, "duplicate charge", "super1")
    assert first.gateway_state == "pending" and not first.done
    monkeypatch.setattr(gateway, "refund", real)
    second = reversal_service(e, supervisor).refund_card(paid.receipt_number, "duplicate charge", "super1")
    assert second.done
    assert Decimal(ic_gateway.store_of(ic_server).by_id[paid.transaction_id].refunded) == paid.amount
