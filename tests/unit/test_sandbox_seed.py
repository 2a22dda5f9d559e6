"""The demo data: deterministic, plentiful and internally consistent."""

import hashlib
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from console.sandbox import seed


def test_same_seed_same_customers_other_seed_other_customers():
    a = seed._generate.__wrapped__(50, 7, seed.DEMO_AS_OF)
    b = seed._generate.__wrapped__(50, 7, seed.DEMO_AS_OF)
    c = seed._generate.__wrapped__(50, 8, seed.DEMO_AS_OF)
    assert a == b
    assert a != c


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
    code = ("import hashlib; from console.sandbox.seed import demo_customers; "
            "print(hashlib.sha256(repr(demo_customers(40)).encode()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={"PYTHONHASHSEED": str(h)}, cwd=root).stdout.strip() for h in (1, 2)}
    assert digests == {hashlib.sha256(repr(seed.demo_customers(40)).encode()).hexdigest()}
