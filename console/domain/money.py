"""Exact money. Amounts are ``decimal.Decimal`` quantized to cents; never floats.

``parse_amount`` implements the file-layout rule: decimal with at most two places,
optional leading ``-``, no thousands separator, no currency sign, and at most
``MAX_INTEGER_DIGITS`` digits before the point.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# The widest amount field any file carries is the lockbox file total: 14 digits of implied
# cents, so 12 before the point (999,999,999,999.99). Every amount read is held to that, which
# also keeps sums of any file far inside Decimal's 28 digits (a 29-digit amount made
# quantize() raise InvalidOperation).
MAX_INTEGER_DIGITS = 12
_AMOUNT_RE = re.compile(rf"-?(?:\d{{1,{MAX_INTEGER_DIGITS}}}(?:\.\d{{1,2}})?|\.\d{{1,2}})",
                        re.ASCII)  # 0-9 only, not other scripts' digits
_TOO_LONG_RE = re.compile(rf"-?\d{{{MAX_INTEGER_DIGITS + 1},}}(?:\.\d*)?", re.ASCII)


class AmountError(ValueError):
    """Text that is not an amount under the layout rules."""


def parse_amount(text: str) -> Decimal:
    """Parse ``"12.30"`` / ``"-5"`` / ``"7.5"`` to an exact Decimal with two places."""
    s = text.strip()
    if not _AMOUNT_RE.fullmatch(s):
        if re.fullmatch(r"-?\d+\.\d{3,}", s, re.ASCII):
            raise AmountError(f"{_short(text)} has more than two decimal places")
        if _TOO_LONG_RE.fullmatch(s):
            raise AmountError(f"{_short(text)} has more than {MAX_INTEGER_DIGITS} digits before the decimal point "
                              f"(at most {MAX_AMOUNT:,})")
        raise AmountError(f"{_short(text)} is not an amount (digits, optional '-' and up to two decimals)")
    return Decimal(s).quantize(CENT)


MAX_AMOUNT = Decimal(10 ** MAX_INTEGER_DIGITS) - CENT


def _short(text: str) -> str:
    """The text for a message: its start and its length when it is long."""
    return repr(text) if len(text) <= 40 else f"{text[:24]!r}… ({len(text):,} characters)"


def money(value: Decimal | int | str) -> Decimal:
    """Normalize a Decimal, int or string to cents. Floats are refused."""
    if isinstance(value, float):
        raise TypeError("money must never be a float")
    try:
        d = value if isinstance(value, Decimal) else Decimal(value)
    except InvalidOperation as exc:
        raise AmountError(f"{value!r} is not an amount") from exc
    if not d.is_finite():
        raise AmountError(f"{_short(str(value))} is not an amount")
    try:
        cents = d.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than Decimal's 28
        raise AmountError(f"{_short(str(value))} is not an amount that fits") from None
    if d != cents:
        raise AmountError(f"{_short(str(value))} has fractions of a cent")
    return cents


def to_cents(amount: Decimal) -> int:
    """Exact integer cents of a two-place Decimal."""
    return int((money(amount) * 100).to_integral_value())


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def format_money(amount: Decimal, *, symbol: str = "$") -> str:
    """``1234.5`` -> ``$1,234.50``; negatives as ``-$5.00``."""
    a = money(amount)
    sign = "-" if a < 0 else ""
    return f"{sign}{symbol}{abs(a):,.2f}"
