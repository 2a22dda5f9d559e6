"""The demo data: deterministic, plentiful and internally consistent; its bills are dated by
the sandbox's day (today unless given), the customers themselves are the same on every day."""

import datetime as dt
import hashlib
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from console.sandbox import seed

DAY = dt.date(2026, 11, 25)  # a Wednesday
# month and year ends, a leap day, a Monday and a Sunday (a cycle's own weekday and none)
DAYS = [DAY, dt.date(2026, 11, 30), dt.date(2026, 12, 31), dt.date(2027, 1, 1), dt.date(2028, 2, 29),
        dt.date(2028, 3, 1), dt.date(2027, 6, 6)]


def test_same_seed_same_customers_other_seed_other_customers():
    a = seed._generate.__wrapped__(50, 7, DAY)
    b = seed._generate.__wrapped__(50, 7, DAY)
    c = seed._generate.__wrapped__(50, 8, DAY)
    assert a == b
    assert a != c


def test_the_default_day_is_today():
    assert seed.demo_today() == dt.date.today()
    assert seed.demo_customers(30) == seed.demo_customers(30, as_of=seed.demo_today())


def _identity(c: seed.DemoCustomer) -> tuple:
    return (c.account_number, c.name, c.sort_name, c.service_address, c.mail_address, c.phone, c.email, c.cycle,
            c.status, c.services, c.direct_pay_status, c.paperless, c.partial_payments_allowed,
            [a.adjustment_id for a in c.adjustments])


def test_the_customers_are_the_same_on_every_day_only_their_latest_bill_moves():
    base = seed.demo_customers(600, as_of=DAY)
    for day in DAYS[1:]:
        other = seed.demo_customers(600, as_of=day)
        assert [_identity(c) for c in other] == [_identity(c) for c in base], day
        assert [c.bill_date for c in other] != [c.bill_date for c in base]


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_latest_bills_are_from_the_week_before_and_due_three_weeks_later(day):
    customers = seed.demo_customers(600, as_of=day)
    for c in customers:
        assert 1 <= (day - c.bill_date).days <= 7, (c.account_number, c.bill_date)
        assert c.bill_date.weekday() == seed.CYCLE_WEEKDAYS[c.cycle]
        assert c.due_date == c.bill_date + dt.timedelta(days=21) and c.due_date >= day + dt.timedelta(days=14)
        assert c.bill_expires > c.due_date
        assert c.invoice_number.startswith(f"{c.bill_date:%y%m}")
        last = dt.date(c.bill_date.year, c.bill_date.month, 1) - dt.timedelta(days=1)
        assert c.usage[-1].period == f"{last:%Y-%m}"  # the last full month before the bill
        for a in c.adjustments:
            assert a.adjusted_at.date() < c.bill_date
    assert {c.cycle for c in customers} == {1, 2, 3, 4}


def test_a_months_usage_is_the_same_whichever_day_it_is_seen_from():
    nov = {c.account_number: dict((u.period, u) for u in c.usage) for c in seed.demo_customers(60, as_of=DAY)}
    later = seed.demo_customers(60, as_of=dt.date(2027, 2, 10))
    shared = 0
    for c in later:
        for u in c.usage:
            if u.period in nov[c.account_number]:
                assert nov[c.account_number][u.period] == u
                shared += 1
    assert shared > 60 * 18


def test_at_least_500_customers_with_the_expected_variety():
    customers = seed.demo_customers()
    assert len(customers) >= 500
    numbers = [c.account_number for c in customers]
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"\d{6}-\d{2}", n) for n in numbers)
    assert any(not c.name.isascii() for c in customers)
    assert any(c.balance < 0 for c in customers), "some credit balances"
    assert any(c.balance == 0 for c in customers), "some zero balances"
    assert any(c.autopay for c in customers) and not all(c.autopay for c in customers)
    assert any(c.paperless for c in customers) and not all(c.paperless for c in customers)
    assert any(c.email == "" for c in customers) and any(c.phone == "" for c in customers)
    assert any(c.adjustments for c in customers)
    assert any(c.partial_payments_allowed for c in customers) and not all(c.partial_payments_allowed for c in customers)


def test_balance_forward_arithmetic_holds_for_every_customer():
    for c in seed.demo_customers():
        assert c.balance == c.previous_balance - c.payments_received + c.adjustments_total + c.current_charges
        assert c.amount_due == max(c.balance, Decimal("0.00"))
        assert Decimal("0.00") <= c.minimum_due <= c.amount_due
        assert c.current_charges == sum(line.amount for line in c.charges)
        assert c.due_date > c.bill_date and c.bill_expires > c.due_date
        assert not c.paperless or c.email, "paperless needs an e-mail"
        for money in (c.balance, c.amount_due, c.minimum_due, c.current_charges):
            assert isinstance(money, Decimal) and money == money.quantize(Decimal("0.01"))
        if c.adjustments:
            running = c.previous_balance - c.payments_received
            for adj in c.adjustments:
                running += adj.amount
                assert adj.balance_after == running


def test_usage_is_24_months_and_seasonal():
    customers = seed.demo_customers()
    summer_higher = 0
    for c in customers:
        assert len(c.usage) == 24
        periods = [u.period for u in c.usage]
        assert periods == sorted(periods) and len(set(periods)) == 24
        july = [u.consumption for u in c.usage if u.period.endswith("-07")]
        january = [u.consumption for u in c.usage if u.period.endswith("-01")]
        summer_higher += sum(july) > sum(january)
    assert summer_higher > 0.9 * len(customers)


def test_lookup_by_account_and_domain_conversion():
    first = seed.demo_customers()[0]
    assert seed.demo_customer(first.account_number) is first
    detail = seed.to_customer_detail(first)
    assert detail.account_number == first.account_number and detail.amount_due == first.amount_due
    assert len(detail.usage) == 24
    adjustments = seed.demo_adjustments()
    assert adjustments == sorted(adjustments, key=lambda a: (a.adjusted_at, a.adjustment_id))



def test_demo_data_does_not_depend_on_hash_randomisation():
    root = Path(__file__).resolve().parents[2]
    code = ("import datetime, hashlib; from console.sandbox.seed import demo_customers; "
            "print(hashlib.sha256(repr(demo_customers(40, as_of=datetime.date(2026, 11, 25))).encode()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={"PYTHONHASHSEED": str(h)}, cwd=root).stdout.strip() for h in (1, 2)}
    assert digests == {hashlib.sha256(repr(seed.demo_customers(40, as_of=DAY)).encode()).hexdigest()}


def test_no_demo_bill_asks_for_an_amount_the_card_gateway_reads_as_a_test_rule():
    from console.sandbox import ic_gateway

    rules = {*ic_gateway.DECLINE_RULES, ic_gateway.TIMEOUT_CENTS, ic_gateway.UNAVAILABLE_CENTS}
    assert seed.GATEWAY_TEST_CENTS == rules
    carried_some = 0
    for day in DAYS:
        for c in seed.demo_customers(600, as_of=day):
            for amount in (c.amount_due, c.minimum_due):
                assert amount <= 0 or int(amount * 100) % 100 not in rules, (day, c.account_number, amount)
            carried_some += c.previous_balance != c.usage[-2].billed and c.payments_received == c.usage[-2].billed
    assert carried_some  # ... by carrying a few cents from before, not by never drawing such amounts
