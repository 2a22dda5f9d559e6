"""Drawer sessions against the sandbox (Caselle and the IC gateway over real sockets), one fixed
clock: float, cash with change, checks, cards, voids, over/short thresholds, countersignature,
blind count, reopen, one open drawer per operator and workstation, the sealed close-out."""

from __future__ import annotations

from decimal import Decimal

import pytest

from console.errors import NotPermitted, ValidationError
from console.services.drawer import DrawerRefused, NoOpenDrawer, count_total, parse_count
from tests.cash_env import PINS, account_with_due, card_amount, swipe


def test_cash_and_checks_need_an_open_drawer(env):
    e = env()
    svc = e.counter()
    account = account_with_due(svc)
    with pytest.raises(NoOpenDrawer, match="Open a cash drawer"):
        svc.take_other_payment(account, account.amount_due, "CASH", "cashier1")
    with pytest.raises(NoOpenDrawer, match="a check"):
        svc.take_other_payment(account, account.amount_due, "CHECK", "cashier1", check_number="1001")
    assert e.journal.entries(kinds=["receipt"]) == []  # nothing half-done


def test_one_open_drawer_per_operator_and_workstation(env):
    e = env()
    s = e.drawers.open_drawer("cashier1", "150.00")
    assert s.float_total == Decimal("150.00") and s.opened_day == "2026-12-07"
    with pytest.raises(DrawerRefused, match="already has a drawer open"):
        e.drawers.open_drawer("cashier1", "100.00")
    e.drawers.open_drawer("clerk1", float_count={"20": 5, "1": 10})
    assert [d.operator for d in e.drawers.open_drawers("super1")] == ["cashier1", "clerk1"]
    assert [d.operator for d in e.drawers.open_drawers("cashier1")] == ["cashier1"]
    with pytest.raises(NotPermitted):
        e.drawers.open_drawer("support1", "10.00")


def test_float_counted_by_denomination():
    assert count_total({"20": 5, "0.25": 8, "0.01": 3}) == Decimal("102.03")
    assert parse_count("20=5, .25=8,1=2") == {"20": 5, "0.25": 8, "1": 2}
    with pytest.raises(ValidationError, match="Unknown denomination"):
        count_total({"3": 1})
    with pytest.raises(ValidationError, match="DENOMINATION=PIECES"):
        parse_count("20:5")


def test_expected_figures_float_cash_change_checks_cards_and_voids(env):
    e = env()
    svc = e.counter()
    e.drawers.open_drawer("cashier1", "100.00")
    a1, a2, a3, a4 = (account_with_due(svc) for _ in range(4))
    cash = svc.take_other_payment(a1, a1.amount_due, "CASH", "cashier1", tendered=a1.amount_due + Decimal("10"))
    assert cash.status == "posted" and cash.payment.change == Decimal("10.00")
    svc.take_other_payment(a2, a2.amount_due, "CHECK", "cashier1", check_number="2001")
    voided = svc.take_other_payment(a3, a3.amount_due, "CASH", "cashier1")
    svc.void_counter_payment(voided.key, "CUSTOMER_REQUEST", "changed mind", "cashier1")
    card = svc.take_payment(a4, card_amount(a4), swipe(), "cashier1", confirmed=True)
    assert card.status == "posted"
    fig = e.drawers.figures(e.drawers.current("cashier1"), svc)
    assert fig.expected_cash == Decimal("100.00") + a1.amount_due  # net of change, voided cash out
    assert fig.expected_checks == a2.amount_due
    assert fig.expected_cards == card.amount
    assert fig.receipts["CASH"].count == 2 and fig.voids["CASH"].amount == a3.amount_due
    assert fig.change_given == Decimal("10.00")
    assert [p.check_number for p in fig.checks] == ["2001"]
    assert e.drawers.gateway_cards(fig, svc) == str(card.amount)  # the gateway confirms the card total


def test_balanced_close_is_sealed_in_the_audit_chain(env):
    e = env()
    svc = e.counter()
    e.drawers.open_drawer("cashier1", "50.00")
    a = account_with_due(svc)
    svc.take_other_payment(a, a.amount_due, "CASH", "cashier1")
    e.clock.advance(hours=8)
    out = e.drawers.close_drawer("cashier1", svc, cash=str(Decimal("50.00") + a.amount_due), checks="0",
                                 checks_count=0)
    assert out.status == "balanced" and out.over_short == {"cash": Decimal("0.00"), "checks": Decimal("0.00")}
    assert out.closed_at.startswith("2026-12-07T17:00")
    row = [r for r in e.audit.rows(action="drawer.close")][-1]
    assert row.subject == out.session_id and row.details["close"]["expected"]["cash"] == str(out.expected["cash"])
    assert out.audit_hash == row.hash and e.audit.verify().ok
    assert e.drawers.current("cashier1") is None
    with pytest.raises(DrawerRefused, match="no open drawer"):
        e.drawers.close_drawer("cashier1", svc, cash="0", checks="0")
    assert [c.session_id for c in e.drawers.closeouts(e.clock.today())] == [out.session_id]


def test_short_needs_a_reason_and_over_the_second_threshold_a_supervisor(env):
    e = env(cash_reason_threshold=Decimal("1.00"), cash_countersign_threshold=Decimal("20.00"))
    svc = e.counter()
    e.drawers.open_drawer("cashier1", "100.00")
    with pytest.raises(DrawerRefused, match="short by \\$5.00.*a reason is required"):
        e.drawers.close_drawer("cashier1", svc, cash="95.00", checks="0")
    with pytest.raises(DrawerRefused, match="supervisor must countersign"):
        e.drawers.close_drawer("cashier1", svc, cash="70.00", checks="0", reason="miscount")
    with pytest.raises(DrawerRefused, match="another person"):
        e.drawers.close_drawer("super1", svc, cash="70.00", checks="0", reason="x", supervisor_id="super1",
                               supervisor_pin="9999", session_id=e.drawers.current("cashier1").session_id)
    with pytest.raises(DrawerRefused, match="not a supervisor"):
        e.drawers.close_drawer("cashier1", svc, cash="70.00", checks="0", reason="x", supervisor_id="clerk1",
                               supervisor_pin=PINS["clerk1"])
    assert e.drawers.current("cashier1") is not None  # every refusal left the drawer open
    out = e.drawers.close_drawer("cashier1", svc, cash="70.00", checks="0", reason="gave wrong change",
                                 supervisor_id="super1", supervisor_pin=PINS["super1"])
    assert out.status == "short" and out.over_short["cash"] == Decimal("-30.00")
    assert out.supervisor == "super1" and out.reason == "gave wrong change"


def test_small_over_within_threshold_needs_nothing(env):
    e = env(cash_reason_threshold=Decimal("1.00"))
    svc = e.counter()
    e.drawers.open_drawer("cashier1", "100.00")
    out = e.drawers.close_drawer("cashier1", svc, cash_count={"100": 1, "0.25": 2}, checks="0")
    assert out.status == "over" and out.over_short["cash"] == Decimal("0.50")
    assert out.counted["cash"] == Decimal("100.50") and out.cash_count == {"100": 1, "0.25": 2}


def test_checks_count_must_match_the_list(env):
    e = env()
    svc = e.counter()
    e.drawers.open_drawer("cashier1", "0")
    a = account_with_due(svc)
    svc.take_other_payment(a, a.amount_due, "CHECK", "cashier1", check_number="3001")
    with pytest.raises(DrawerRefused, match="2 checks counted but the drawer took 1"):
        e.drawers.close_drawer("cashier1", svc, cash="0", checks=str(a.amount_due), checks_count=2)


def test_blind_count_comes_from_the_profile(env):
    assert env(cash_blind_count=True).drawers.blind() is True
    assert env().drawers.blind() is False


def test_reopen_only_by_a_supervisor_and_audited(env):
    e = env()
    svc = e.counter()
    s = e.drawers.open_drawer("cashier1", "20.00")
    e.drawers.close_drawer("cashier1", svc, cash="20.00", checks="0")
    with pytest.raises(NotPermitted):
        e.drawers.reopen_drawer(s.session_id, "cashier1", PINS["cashier1"], "recount")
    with pytest.raises(ValidationError, match="why"):
        e.drawers.reopen_drawer(s.session_id, "super1", PINS["super1"], " ")
    again = e.drawers.reopen_drawer(s.session_id, "super1", PINS["super1"], "recount the checks")
    assert again.is_open and again.history[0]["by"] == "super1"
    assert again.history[0]["previous_close"]["status"] == "balanced"
    assert e.audit.rows(action="drawer.reopen")[-1].details["reason"] == "recount the checks"
    assert e.drawers.current("cashier1").session_id == s.session_id
