"""Cross-field and whole-file rules, referenced by name from a layout's [[checks]] / [[warnings]].

A rule is a small function registered with ``@rule("name")``. It receives the whole file as
typed columns (a ``Table``) and the layout's entry (``Check``, whose ``params`` name the
columns it works on) and yields ``(row_index, column, message)`` for every row that breaks
it. The reader turns those into ``Problem(line, column, rule, message)`` with the entry's
severity, so the same rule can be an error in one layout and a warning in another.

Rules see ``None`` for typed cells that were absent or already broke their column rule;
``Table.complete(...)`` gives the rows where all the named columns have a value, so rules
only judge what could be read (one error per cell, not a cascade). Rules are written over
whole columns with ``map`` so 200,000 rows take milliseconds.

To add a rule: write the function here (or in any module imported before the layout is
loaded), decorate it, document its parameters, and reference it from a layout.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from itertools import compress, count, repeat
from operator import add, eq, gt, is_, le, lt, ne

from console.files.layouts import Check
from console.files.packed import PackedAmounts

ZERO = Decimal(0)
Finding = tuple[int, str, "str | Msg"]  # (row index, column, message)
RuleFn = Callable[["Table", Check], Iterable[Finding]]
RULES: dict[str, RuleFn] = {}


def rule(name: str, *, distinct_params: tuple[str, ...] = ()) -> Callable[[RuleFn], RuleFn]:
    """Register a rule function under ``name`` (the name layouts use). ``distinct_params``
    names the parameters whose (text) column the rule needs to know is free of repeats; the
    reader then tracks those while reading (``Table.no_repeats``)."""

    def deco(fn: RuleFn) -> RuleFn:
        fn.distinct_params = distinct_params
        RULES[name] = fn
        return fn

    return deco


class Table:
    """The typed columns of a whole file, as the rules see them."""

    def __init__(self, columns: dict[str, list], lines: list[int], *, today: dt.date | None = None,
                 text_columns: Iterable[str] = (), distinct: dict[str, set] | None = None,
                 never_negative: Iterable[str] = (), no_repeats: Iterable[str] = ()):
        self._columns = columns
        self._text = {c.casefold() for c in text_columns}
        self._keys = {k.casefold(): k for k in columns}
        self._distinct = {k.casefold(): v for k, v in (distinct or {}).items()}
        self._never_negative = {c.casefold() for c in never_negative}
        self._no_repeats = {c.casefold() for c in no_repeats}
        self._holes: dict[str, bool] = {}
        self._lists: dict[str, list] = {}
        self.lines = lines
        self.n = len(lines)
        self.today = today or dt.date.today()

    def distinct(self, column: str) -> set | None:
        """Every value the column may hold (None included) when the reader knows it without a
        pass over the column (columns with few distinct values); else None. A rule may use it
        to see at once that no row can break it."""
        return self._distinct.get(column.casefold())

    def no_repeats(self, column: str) -> bool:
        """True when the reader saw that no present value of this text column appears twice."""
        return column.casefold() in self._no_repeats

    def never_negative(self, column: str) -> bool:
        """True when the reader saw that no value of this (amount or int) column is negative."""
        return column.casefold() in self._never_negative

    def name(self, column: str) -> str:
        """The layout's spelling of a column name."""
        return self._keys[column.casefold()]

    def col(self, column: str) -> list:
        name = self.name(column)
        values = self._columns[name]
        if type(values) is not list:  # a packed column (text, or amounts as Decimals): a list once
            values = self._lists.get(name)
            if values is None:
                values = self._lists[name] = list(self._columns[name])
        return values

    def has_holes(self, column: str) -> bool:
        """Whether some row has no value in this column (absent, or broke its rule)."""
        key = column.casefold()
        holes = self._holes.get(key)
        if holes is None:
            c = self.col(column)
            if key in self._text:
                holes = "" in c
            else:
                # identity test: `None in c` would compare Decimals with None the slow way
                holes = any(map(is_, c, repeat(None)))
            self._holes[key] = holes
        return holes

    def value(self, column: str, i: int):
        """The value of one row (a Decimal for an amount, whatever the column's storage)."""
        return self._columns[self.name(column)][i]

    def zero(self, column: str):
        """Zero in the storage of ``amounts()`` for this column (0 for cents, else 0.00): an
        int compared with a Decimal is converted first, the slow way."""
        return 0 if type(self._columns[self.name(column)]) is PackedAmounts else ZERO

    def amounts(self, *names: str) -> tuple[Iterable[int], list[list]]:
        """``complete()`` for amount columns that a rule adds up and compares with each other
        and with zero: integer cents when the reader kept every one of them packed (no Decimal
        is made for 200,000 rows), else Decimals. Never compare them with another Decimal;
        show a row's amounts with ``value()``."""
        raw = [self._columns[self.name(n)] for n in names]
        if not all(type(c) is PackedAmounts for c in raw):
            return self.complete(*names)
        cols = [c.cents for c in raw]
        if not any(any(map(is_, c, repeat(None))) for c in cols):
            return range(self.n), cols
        keep = [all(v is not None for v in row) for row in zip(*cols, strict=False)]
        return list(compress(count(), keep)), [list(compress(c, keep)) for c in cols]

    def complete(self, *names: str) -> tuple[Iterable[int], list[list]]:
        """Row indexes where every named column has a value, and those columns restricted to them."""
        cols = [self.col(n) for n in names]
        if not any(self.has_holes(n) for n in names):
            return range(self.n), cols
        keep = [all(v is not None and v != "" for v in row) for row in zip(*cols, strict=False)]
        idx = list(compress(count(), keep))
        return idx, [list(compress(c, keep)) for c in cols]


def _present(values: set | None) -> list | None:
    return None if values is None else [v for v in values if v is not None]


def _p(check: Check, key: str, default: str) -> str:
    return str(check.params.get(key, default))


class Msg:
    """A message formatted only when it is kept (a file can break a rule on every row)."""

    __slots__ = ("template", "values")

    def __init__(self, template: str, values: dict):
        self.template = template
        self.values = values

    def __str__(self) -> str:
        try:
            return self.template.format_map(_Keep(self.values))
        except (ValueError, IndexError, AttributeError):  # a layout's message with a broken {...}
            return self.template


class _Keep(dict):
    """format_map mapping that leaves unknown {names} as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fmt(check: Check, default: str, **values) -> Msg:
    return Msg(check.message or default, values)


@rule("balance_forward")
def balance_forward(t: Table, check: Check) -> Iterator[Finding]:
    """``total`` = ``previous`` + ``current``, exactly (balance-forward billing)."""
    total, prev, cur = (t.name(_p(check, k, d)) for k, d in
                        (("total", "TotalAmountDue"), ("previous", "PreviousBalance"), ("current", "CurrentCharges")))
    idx, (tv, pv, cv) = t.amounts(total, prev, cur)
    for i in compress(idx, map(ne, tv, map(add, pv, cv))):
        tt, pp, cc = t.value(total, i), t.value(prev, i), t.value(cur, i)
        yield i, total, _fmt(check, "{total} {t} is not {previous} {p} + {current} {c} (= {s})",
                             total=total, previous=prev, current=cur, t=tt, p=pp, c=cc, s=pp + cc)


@rule("minimum_within_total")
def minimum_within_total(t: Table, check: Check) -> Iterator[Finding]:
    """``minimum`` is between 0 and ``total`` when ``total`` > 0. With ``only_when_due = true``
    (the invoice file: "between 0 and TotalAmountDue when TotalAmountDue > 0") rows with
    nothing due are left alone (see ``minimum_when_nothing_due``); otherwise a minimum above a
    zero or credit total, or a negative minimum, breaks the rule too."""
    mn, tot = t.name(_p(check, "minimum", "MinimumAmountDue")), t.name(_p(check, "total", "TotalAmountDue"))
    only_when_due = check.params.get("only_when_due") is True
    idx, (mv, tv) = t.amounts(mn, tot)
    zero = t.zero(mn)
    # suspect: above the total (but not a zero minimum on a credit), or negative
    suspect = {i for i in compress(idx, map(gt, mv, tv)) if t.value(mn, i) > 0}
    if mv and not t.never_negative(mn) and min(mv) < zero:
        suspect.update(compress(idx, map(lt, mv, repeat(zero))))
    for i in sorted(suspect):
        m, total = t.value(mn, i), t.value(tot, i)
        if only_when_due and total <= 0:
            continue
        if m < 0:
            yield i, mn, _fmt(check, "{minimum} {m} is negative", minimum=mn, m=m, total=tot, t=total)
        elif total > 0:
            yield i, mn, _fmt(check, "{minimum} {m} is above {total} {t}", minimum=mn, m=m, total=tot, t=total)
        else:
            yield i, mn, _fmt(check, "{minimum} {m} is set but {total} is {t} (nothing due)",
                              minimum=mn, m=m, total=tot, t=total)


@rule("minimum_when_nothing_due")
def minimum_when_nothing_due(t: Table, check: Check) -> Iterator[Finding]:
    """A ``minimum`` other than 0 on a row whose ``total`` is 0 or a credit (a warning in the
    invoice layouts: the description leaves such rows unconstrained, but it is worth a look)."""
    mn, tot = t.name(_p(check, "minimum", "MinimumAmountDue")), t.name(_p(check, "total", "TotalAmountDue"))
    idx, (mv, tv) = t.amounts(mn, tot)
    zero = t.zero(tot)
    if not tv or (t.never_negative(tot) and zero not in tv):
        return  # something is due on every row
    for i in compress(idx, map(le, tv, repeat(zero))):
        m = t.value(mn, i)
        if m != 0:
            yield i, mn, _fmt(check, "{minimum} {m} is set but {total} is {t} (nothing due)",
                              minimum=mn, m=m, total=tot, t=t.value(tot, i))


@rule("due_on_or_after_bill")
def due_on_or_after_bill(t: Table, check: Check) -> Iterator[Finding]:
    """``due_date`` is on or after ``bill_date``."""
    bill, due = t.name(_p(check, "bill_date", "BillDate")), t.name(_p(check, "due_date", "DueDate"))
    bills, dues = _present(t.distinct(bill)), _present(t.distinct(due))
    if bills is not None and dues is not None and (not bills or not dues or max(bills) <= min(dues)):
        return  # every due date is on or after every bill date
    idx, (bv, dv) = t.complete(bill, due)
    for i in compress(idx, map(lt, dv, bv)):
        yield i, due, _fmt(check, "{due} {d:%m/%d/%Y} is before {bill} {b:%m/%d/%Y}",
                           due=due, bill=bill, d=t.col(due)[i], b=t.col(bill)[i])


@rule("card_last4_only_for_card")
def card_last4_only_for_card(t: Table, check: Check) -> Iterator[Finding]:
    """``last4`` is present for card tenders (``card`` value, default CARD) and absent otherwise."""
    tender, last4 = t.name(_p(check, "tender", "Tender")), t.name(_p(check, "last4", "CardLast4"))
    card = _p(check, "card", "CARD")
    tv, lv = t.col(tender), t.col(last4)
    for i in compress(count(), map(ne, map(eq, tv, repeat(card)), map(bool, lv))):
        if tv[i] is None:
            continue
        if tv[i] == card:
            yield i, last4, _fmt(check, "{last4} is required when {tender} is {card}", last4=last4, tender=tender, card=card)
        else:
            yield i, last4, _fmt(check, "{last4} is only for {card} payments ({tender} is {value})",
                                 last4=last4, tender=tender, card=card, value=tv[i])


@rule("required_when_flag")
def required_when_flag(t: Table, check: Check) -> Iterator[Finding]:
    """``column`` is required where the flag column ``flag`` is true (e.g. Email where Paperless is Y)."""
    flag, column = t.name(_p(check, "flag", "Paperless")), t.name(_p(check, "column", "Email"))
    fv, cv = t.col(flag), t.col(column)
    for i in compress(count(), map(eq, fv, repeat(True))):
        if cv[i] is None or cv[i] == "":
            yield i, column, _fmt(check, "{column} is required when {flag} is Y", column=column, flag=flag)


@rule("value_by_field")
def value_by_field(t: Table, check: Check) -> Iterator[Finding]:
    """``value`` must match the pattern given for the row's ``field`` in ``patterns`` (a table);
    a field not in ``patterns`` accepts anything. ``help`` (a table) describes each pattern."""
    field, value = t.name(_p(check, "field", "Field")), t.name(_p(check, "value", "NewValue"))
    patterns = {k: re.compile(v, re.DOTALL | re.ASCII) for k, v in dict(check.params.get("patterns", {})).items()}
    helps = dict(check.params.get("help", {}))
    fv, vv = t.col(field), t.col(value)
    for i, (f, v) in enumerate(zip(fv, vv, strict=False)):
        rx = patterns.get(f)
        if rx is not None and not rx.fullmatch(v or ""):
            yield i, value, _fmt(check, "{value} {v!r} is not valid for {field} {f}{expected}", value=value, v=v,
                                 field=field, f=f, expected=f" (expected {helps[f]})" if f in helps else "")


@rule("repeated_value", distinct_params=("column",))
def repeated_value(t: Table, check: Check) -> Iterator[Finding]:
    """Rows whose ``column`` value appeared on an earlier row (e.g. an account with several invoices)."""
    column = t.name(_p(check, "column", "AccountNumber"))
    if t.no_repeats(column):
        return
    values = t.col(column)
    if len(set(values)) == len(values):
        return
    counts = Counter(values)
    repeated = {v for v, n in counts.items() if n > 1 and v not in (None, "")}
    if not repeated:
        return
    first: dict = {}
    for i in compress(count(), map(repeated.__contains__, values)):
        v = values[i]
        if v in first:
            yield i, column, _fmt(check, "{column} {value} appears {n} times in this file (first on line {first})",
                                  column=column, value=v, n=counts[v], first=t.lines[first[v]])
        else:
            first[v] = i


@rule("negative_value")
def negative_value(t: Table, check: Check) -> Iterator[Finding]:
    """``column`` below zero (e.g. a credit balance)."""
    column = t.name(_p(check, "column", "TotalAmountDue"))
    if t.never_negative(column):
        return
    idx, (cv,) = t.amounts(column)
    for i in compress(idx, map(lt, cv, repeat(t.zero(column)))):
        yield i, column, _fmt(check, "{column} {value} is a credit balance", column=column, value=t.value(column, i))


@rule("date_in_past")
def date_in_past(t: Table, check: Check) -> Iterator[Finding]:
    """``column`` (a date or timestamp) before today."""
    column = t.name(_p(check, "column", "DueDate"))
    today = t.today
    known = _present(t.distinct(column))
    if known is not None:
        if not known:
            return
        if isinstance(known[0], dt.datetime):
            today = dt.datetime.combine(today, dt.time())
        if min(known) >= today:
            return  # no value is in the past
    idx, (cv,) = t.complete(column)
    if cv and isinstance(cv[0], dt.datetime):
        today = dt.datetime.combine(t.today, dt.time())
    for i in compress(idx, map(lt, cv, repeat(today))):
        yield i, column, _fmt(check, "{column} {value:%m/%d/%Y} is in the past", column=column, value=t.col(column)[i])


@rule("latest_wins")
def latest_wins(t: Table, check: Check) -> Iterator[Finding]:
    """Rows superseded by a later row (by ``at``) with the same ``key`` columns (a list)."""
    keys = [t.name(k) for k in check.params.get("key", ["AccountNumber", "Field"])]
    at = t.name(_p(check, "at", "ChangedAt"))
    kcols = [t.col(k) for k in keys]
    atv = t.col(at)
    latest: dict = {}
    for i, key in enumerate(zip(*kcols, strict=False)):
        if atv[i] is None:
            continue
        j = latest.get(key)
        if j is None or atv[i] >= atv[j]:
            latest[key] = i
    for i, key in enumerate(zip(*kcols, strict=False)):
        j = latest.get(key)
        if j is not None and j != i and atv[i] is not None:
            yield i, at, _fmt(check, "{at} {value} is superseded by the later row on line {line} (same {keys})",
                              at=at, value=atv[i], line=t.lines[j], keys=" and ".join(keys))


@rule("date_order")
def date_order(t: Table, check: Check) -> Iterator[Finding]:
    """The dates of ``columns`` (a list, in order) follow each other: each on or after the one
    before (``strict = true``: after it). Empty cells are skipped (the BIF columns are optional).
    The later date of the first pair out of order is named — unless it is the ``reference``
    column (the due date), then the other one is. Message values: ``column`` and ``value`` (the
    date named), ``other`` and ``other_value``, ``word`` ("after" / "on or after")."""
    names = [t.name(str(c)) for c in check.params.get("columns", ()) if str(c).casefold() in t._keys]
    names = [n for n in names if _present(t.distinct(n)) != []]  # a column empty in the whole file
    if len(names) < 2:
        return
    strict = bool(check.params.get("strict", False))
    reference = str(check.params.get("reference", "")).casefold()
    word = "after" if strict else "on or after"
    for i, row in enumerate(zip(*(t.col(n) for n in names), strict=True)):
        prev = None
        for name, value in zip(names, row, strict=True):
            if value is None:
                continue
            if prev is not None and (value <= prev[1] if strict else value < prev[1]):
                (col, v), (other, ov) = ((name, value), prev) if name.casefold() != reference else (prev, (name, value))
                yield i, col, _fmt(check, "{column} {value:%m/%d/%Y} and {other} {other_value:%m/%d/%Y} are out of "
                                          "order (each date must be {word} the one before)",
                                   column=col, value=v, other=other, other_value=ov, word=word)
                break
            prev = (name, value)
