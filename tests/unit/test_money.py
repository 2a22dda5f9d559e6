from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain.money import (
    MAX_AMOUNT,
    AmountError,
    format_money,
    from_cents,
    money,
    parse_amount,
    to_cents,
)


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


def test_amounts_are_held_to_twelve_digits_before_the_point():
    assert parse_amount("999999999999.99") == MAX_AMOUNT
    assert parse_amount("-999999999999.99") == -MAX_AMOUNT
    for text in ("1000000000000", "1" * 29 + ".00", "-" + "9" * 40):
        with pytest.raises(AmountError, match="more than 12 digits before the decimal point"):
            parse_amount(text)


@given(st.one_of(st.text(max_size=60), st.from_regex(r"-?[0-9]{0,45}(\.[0-9]{0,4})?", fullmatch=True)))
def test_any_text_is_an_amount_or_an_amount_error(text):
    for fn in (parse_amount, money):
        try:
            value = fn(text)
        except AmountError:
            continue
        assert abs(value) <= MAX_AMOUNT or fn is money
        assert value == value.quantize(Decimal("0.01"))
