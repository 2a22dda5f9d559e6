"""Split tender and several accounts against the sandbox, one fixed clock: card + check + cash
for three accounts (each account its own receipt, each part once, change only from cash), a
declined card part (nothing taken, nothing posted), the sum rule, and the drawer's figures."""

from __future__ import annotations

from decimal import Decimal

import pytest

from console.errors import ValidationError
from console.services.split_tender import SplitTenderService, TenderPart, allocate
from tests.cash_env import account_with_due, swipe


def test_allocation_pays_accounts_in_order_from_card_then_checks_then_cash():
    parts = [TenderPart("CASH", Decimal("20")), TenderPart("CARD", Decimal("60"))]
    got = [(a, p.tender, x) for a, p, x in allocate([("A", Decimal("50")), ("B", Decimal("30"))], parts)]
    assert got == [("A", "CARD", Decimal("50")), ("B", "CARD", Decimal("10")), ("B", "CASH", Decimal("20"))]


def test_card_check_and_cash_for_three_accounts(env):
    e = env()
    svc = e.counter()
    e.drawers.open_drawer("cashier1", "100.00")
    a, b, c = (account_with_due(svc) for _ in range(3))
    total = a.amount_due + b.amount_due + c.amount_due
    third = (total * Decimal("0.3")).quantize(Decimal("0.01"))
    card_amount = third + Decimal("0.10") if third % 1 in {Decimal(f"0.0{i}") for i in range(1, 6)} else third
    check_amount = third
    cash_amount = total - card_amount - check_amount
    parts = [TenderPart("CASH", cash_amount, tendered=cash_amount + Decimal("5.00")),
             TenderPart("CHECK", check_amount, check_number="5001"), TenderPart("CARD", card_amount, card=swipe())]
    out = SplitTenderService(svc).take([(a, a.amount_due), (b, b.amount_due), (c, c.amount_due)], parts,
                                       "cashier1")
    assert out.status == "posted" and out.change == Decimal("5.00") and out.transaction_id
    assert sum(p.amount for p in out.pieces) == total
    for view in (a, b, c):
        paid = sum(p.amount for p in out.pieces if p.account == view.account_number)
        assert paid == view.amount_due  # each account gets exactly its amount
    assert all(p.receipt_number for p in out.pieces) and len({p.receipt_number for p in out.pieces}) == len(out.pieces)
    assert [p.tender for p in out.pieces][0] == "CARD" and out.pieces[0].key == out.transaction_id
    lines = dict(SplitTenderService(svc).receipt_lines(out))
    assert lines["Change"] == "$5.00" and len([k for k in lines if k.startswith("Receipt")]) == len(out.pieces)
    fig = e.drawers.figures(e.drawers.current("cashier1"), svc)
    assert fig.expected_cash == Decimal("100.00") + cash_amount  # change only from cash, net of change
    assert fig.expected_checks == check_amount and fig.expected_cards == card_amount


def test_a_declined_card_part_takes_and_posts_nothing(env):
    e = env()
    svc = e.counter()
    e.drawers.open_drawer("cashier1", "0")
    a = account_with_due(svc)
    before = len(e.journal.entries(kinds=["receipt"]))
    parts = [TenderPart("CARD", Decimal("10.01"), card=swipe()),  # .01: the sandbox declines
             TenderPart("CASH", a.amount_due - Decimal("10.01"))]
    out = SplitTenderService(svc).take([(a, a.amount_due)], parts, "cashier1")
    assert out.status == "declined" and out.pieces == [] and "Nothing was taken" in out.message
    assert len(e.journal.entries(kinds=["receipt"])) == before


def test_parts_must_add_up_and_name_the_rule(env):
    e = env()
    svc = e.counter()
    e.drawers.open_drawer("cashier1", "0")
    a = account_with_due(svc)
    with pytest.raises(ValidationError) as err:
        SplitTenderService(svc).take([(a, a.amount_due)], [TenderPart("CASH", a.amount_due - 1)], "cashier1")
    assert err.value.problems[0].rule == "sum" and err.value.problems[0].column == "tender"
    with pytest.raises(ValidationError) as err:
        SplitTenderService(svc).take([(a, a.amount_due)], [TenderPart("CHECK", a.amount_due, check_number="x")],
                                     "cashier1")
    assert err.value.problems[0].rule == "check_number" and err.value.problems[0].line == 1
    assert e.journal.entries(kinds=["receipt"]) == []


def test_a_landlords_check_for_several_accounts_is_one_check_to_tick_off(env):
    e = env()
    svc = e.counter()
    e.drawers.open_drawer("cashier1", "0")
    units = [account_with_due(svc) for _ in range(3)]
    total = sum(u.amount_due for u in units)
    out = SplitTenderService(svc).take([(u, u.amount_due) for u in units],
                                       [TenderPart("CHECK", total, check_number="9090")], "cashier1")
    assert out.status == "posted" and len(out.pieces) == 3
    assert [p.account for p in out.pieces] == [u.account_number for u in units]
    fig = e.drawers.figures(e.drawers.current("cashier1"), svc)
    assert [(c.check_number, c.amount) for c in fig.checks] == [("9090", total)]
    closed = e.drawers.close_drawer("cashier1", svc, cash="0", checks=str(total), checks_count=1)
    assert closed.status == "balanced"
