from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain.money import AmountError, format_money, from_cents, money, parse_amount, to_cents


@pytest.mark.parametrize("text,value", [("12.30", "12.30"), ("-5", "-5.00"), ("7.5", "7.50"), ("0", "0.00"), (" 1.01 ", "1.01")])
def test_parse_amount_accepts_layout_amounts(text, value):
    assert parse_amount(text) == Decimal(value)


@pytest.mark.parametrize("text", ["1,000.00", "$5", "1.234", "abc", "", "1e3", "+5", "--1"])
def test_parse_amount_refuses_other_text(text):
    with pytest.raises(AmountError):
        parse_amount(text)


def test_money_refuses_floats_and_fractions_of_cents():
    with pytest.raises(TypeError):
        money(1.5)
    with pytest.raises(AmountError):
        money(Decimal("1.005"))


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_cents_round_trip(cents):
    assert to_cents(from_cents(cents)) == cents


def test_format_money():
    assert format_money(Decimal("1234.5")) == "$1,234.50"
    assert format_money(Decimal("-5")) == "-$5.00"
