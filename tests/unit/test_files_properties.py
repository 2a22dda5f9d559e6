"""Property tests (hypothesis) for the reader and writer.

- valid rows of every layout written by write_delimited read back to the same values;
- the vectorised fast path of every column converter agrees with the cell-by-cell rule book;
- random corruption (byte flips, deletions, truncation, garbage) never crashes the reader:
  it returns problems or refuses the file as unreadable; corruption that changes an amount
  of a file with a trailer is always caught.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from console.files.convert import CellError, Converter
from console.files.layouts import Column, load_layout
from console.files.reader import ReadResult, UnreadableFileError, read_bytes
from console.files.writer import write_delimited

TODAY = dt.date(2026, 11, 1)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- value strategies -----------------------------------------------------------
cents = st.integers(min_value=-10**9, max_value=10**9).map(lambda c: Decimal(c).scaleb(-2))
pos_cents = st.integers(min_value=1, max_value=10**9).map(lambda c: Decimal(c).scaleb(-2))
dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2099, 12, 31))
stamps = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0))
account = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,19}", fullmatch=True)
key = st.from_regex(r"[A-Z0-9]{1,12}", fullmatch=True)
# any printable text, including commas, quotes, accents and line breaks (RFC 4180 quoting)
free_text = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00")
                    | st.sampled_from([",", '"', "\r", "\n"]), max_size=30).filter(lambda s: s.strip() == s)
name_text = free_text.filter(lambda s: s.strip() != "" and s != "TRAILER")
email = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,5})?@[a-z0-9]{1,10}\.(org|com|net)", fullmatch=True)
phone = st.from_regex(r"\([0-9]{3}\) [0-9]{3}-[0-9]{4}|[0-9]{3}\.[0-9]{3}\.[0-9]{4}|[0-9]{10}", fullmatch=True)
opt = st.none  # shorthand


@st.composite
def invoice(draw, n):
    prev, cur = draw(cents), draw(cents)
    total = prev + cur
    bill = draw(dates)
    due = bill + dt.timedelta(days=draw(st.integers(0, 60)))
    minimum = (total / 4).quantize(Decimal("0.01")) if total > 0 else Decimal("0.00")
    acct = draw(account)
    return {
        "AccountNumber": acct, "InvoiceNumber": f"INV{n}", "InvoiceType": draw(st.integers(1, 999)),
        "CustomerName": draw(name_text), "ServiceAddress": draw(free_text), "MailAddress1": draw(free_text),
        "MailAddress2": draw(free_text), "MailCity": draw(free_text),
        "MailState": draw(st.from_regex(r"[A-Z]{2}", fullmatch=True)),
        "MailZip": draw(st.from_regex(r"[0-9]{5}(-[0-9]{4})?", fullmatch=True)),
        "Email": draw(email | st.just("")), "Phone": draw(phone | st.just("")),
        "BillDate": bill, "DueDate": due, "PreviousBalance": prev, "CurrentCharges": cur,
        "TotalAmountDue": total, "MinimumAmountDue": minimum,
        "AllowPartialPayments": draw(st.booleans() | opt()), "Paperless": draw(st.booleans() | opt()),
        "AutoPay": draw(st.booleans() | opt()), "BillImage": f"{acct}.pdf",
    }


@st.composite
def payment(draw, n):
    card = draw(st.booleans())
    return {
        "PaymentId": f"P{n}", "ConfirmationNumber": draw(key), "AccountNumber": draw(account),
        "InvoiceNumber": draw(key | st.just("")), "InvoiceType": draw(st.integers(1, 999)),
        "PayerName": draw(free_text), "Tender": "CARD" if card else "ACH",
        "CardLast4": draw(st.from_regex(r"[0-9]{4}", fullmatch=True)) if card else "",
        "Amount": draw(pos_cents), "ConvenienceFee": draw(pos_cents | st.just(Decimal("0.00"))),
        "PaymentDate": draw(stamps), "SettlementDate": draw(dates | opt()),
        "Status": draw(st.sampled_from(["APPROVED", "VOIDED"])),
    }


@st.composite
def change(draw, n):
    field = draw(st.sampled_from(["AUTOPAY", "PAPERLESS", "PHONE", "EMAIL"]))
    value = {"AUTOPAY": st.sampled_from(["ENROLLED", "UNENROLLED"]), "PAPERLESS": st.sampled_from(["Y", "N"]),
             "PHONE": phone, "EMAIL": email}[field]
    return {"ChangeId": f"C{n}", "AccountNumber": f"A-{n}", "ChangedAt": draw(stamps), "Field": field,
            "OldValue": draw(free_text), "NewValue": draw(value)}


@st.composite
def reject(draw, n):
    return {"PaymentId": f"P{n}", "AccountNumber": draw(account), "Amount": draw(pos_cents),
            "ReturnCode": f"R{draw(st.integers(1, 99)):02d}", "ReturnDate": draw(dates), "Reason": draw(free_text)}


@st.composite
def balance(draw, n):
    due = draw(cents)
    return {"AdjustmentId": f"A{n}", "AccountNumber": draw(account), "InvoiceNumber": draw(key | st.just("")),
            "AdjustedAt": draw(stamps), "AdjustmentAmount": draw(cents), "BalanceDue": due,
            "MinimumAmountDue": (due / 2).quantize(Decimal("0.01")) if due > 0 else Decimal("0.00"),
            "Reason": draw(free_text)}


@st.composite
def conversion(draw, n):
    paperless = draw(st.booleans())
    return {"AccountNumber": f"A-{n}", "CustomerName": draw(free_text),
            "Email": draw(email) if paperless else draw(email | st.just("")), "Phone": draw(phone | st.just("")),
            "Paperless": paperless, "AutoPay": draw(st.booleans()), "Registered": draw(st.booleans()),
            "EffectiveDate": draw(dates | opt())}


ROWS = {"ic-invoice-v1": invoice, "ic-payments-v1": payment, "ic-changes-v1": change,
        "ic-ach-rejects-v1": reject, "ic-balance-v1": balance, "ic-conversion-v1": conversion}


def rows_of(kind, size=6):
    return st.integers(1, size).flatmap(lambda k: st.tuples(*[kind(i) for i in range(k)]).map(list))


def _normal(layout, rows):
    """What the reader must return for rows written by the writer (absent text is "")."""
    out = []
    for r in rows:
        v = {}
        for c in layout.columns:
            x = r.get(c.name)
            if c.type == "text":
                x = x or ""
            elif x is None and c.default is not None:
                x = Decimal(c.default) if c.type == "amount" else x
            v[c.name] = x
        out.append(v)
    return out


def _round_trip(name, rows, eol="\r\n", encoding="utf-8"):
    layout = load_layout(name)
    text = write_delimited(rows, layout, line_ending=eol)
    r = read_bytes(text.encode(encoding), layout, today=TODAY)
    assert r.errors == [], r.errors
    assert [rec.values for rec in r.records] == _normal(layout, rows)
    assert r.trailer is not None and r.trailer[0] == len(rows)
    return r


@SETTINGS
@given(rows_of(invoice), st.sampled_from(["\r\n", "\n"]))
def test_invoices_round_trip(rows, eol):
    r = _round_trip("ic-invoice-v1", rows, eol)
    assert r.trailer[1] == sum(x["TotalAmountDue"] for x in rows)


@SETTINGS
@given(rows_of(payment))
def test_payments_round_trip(rows):
    _round_trip("ic-payments-v1", rows)


@SETTINGS
@given(rows_of(change))
def test_changes_round_trip(rows):
    _round_trip("ic-changes-v1", rows)


@SETTINGS
@given(rows_of(reject))
def test_rejects_round_trip(rows):
    _round_trip("ic-ach-rejects-v1", rows)


@SETTINGS
@given(rows_of(balance))
def test_balance_round_trip(rows):
    _round_trip("ic-balance-v1", rows)


@SETTINGS
@given(rows_of(conversion))
def test_conversion_round_trip(rows):
    _round_trip("ic-conversion-v1", rows)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(invoice(0), min_size=3, max_size=12), st.integers(20, 60))
def test_round_trip_across_chunks(base, copies):
    """Enough rows (small chunks) for the converters' chunked and cached paths."""
    from console.files import convert, reader

    rows = [{**r, "InvoiceNumber": f"INV{i}"} for i, r in enumerate(base * copies)]
    old = reader.CHUNK, convert.ADAPT_MIN
    reader.CHUNK, convert.ADAPT_MIN = 97, 50
    try:
        _round_trip("ic-invoice-v1", rows)
    finally:
        reader.CHUNK, convert.ADAPT_MIN = old


# -- fast path == rule book --------------------------------------------------------
CELL = st.one_of(
    st.text(alphabet="0123456789.-+ eE,$/:T", max_size=12),
    st.from_regex(r"-?\d{1,6}\.\d{2}", fullmatch=True),
    st.from_regex(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9-]{0,22}", fullmatch=True),
    st.sampled_from(["", " ", "Y", "N", "CARD", "ACH", "0.00", "NaN", "1e5", "15.", ".5", "٣.٠٠", "12.345",
                     "-0.00", "000.00", ".00", "-.00", "84663", "84663-1234", "846631234", "8466", "a\x00b", "\x00", "12345\x0012345",
                     "(801) 555-0101", "801.555.0101\n", "a.b@example.org", "a@b", "x.pdf", "x/y.pdf", "٣٣٣٣٣"]),
    st.from_regex(r"[\d \x00()-]{0,14}", fullmatch=True),
)
COLUMNS = [Column(name="A", type="amount"), Column(name="A", type="amount", required=True),
           Column(name="A", type="amount", default="1", exclusive_minimum=Decimal(0)),
           Column(name="T", type="timestamp"), Column(name="D", type="date"),
           Column(name="X", type="text", pattern=r"[A-Za-z0-9-]{1,20}", required=True),
           Column(name="X", type="text", pattern=r"\d{4}"), Column(name="X", type="text", required=True),
           Column(name="F", type="flag"), Column(name="E", type="enum", values=("CARD", "ACH")),
           Column(name="I", type="int", minimum=Decimal(0)),
           # whole-chunk pattern checks (column_matcher) and zero bounds read off the text
           Column(name="Z", type="text", pattern=r"\d{5}(?:-?\d{4})?"),
           Column(name="P", type="text", pattern=r"[\s().-]*(?:\d[\s().-]*){10}"),
           Column(name="M", type="text", pattern=r"[^@\s]+@[^@\s]+\.[a-z]{2,}", required=True),
           Column(name="B", type="text", pattern=r'[^/\\:*?"<>|\x00-\x1f]+\.[Pp][Dd][Ff]'),
           Column(name="A", type="amount", required=True, exclusive_minimum=Decimal(0)),
           Column(name="A", type="amount", minimum=Decimal(0)),
           Column(name="A", type="amount", minimum=Decimal(-5), maximum=Decimal(100))]


def _rule_book(conv, cells):
    values, rules = [], []
    for s in cells:
        try:
            values.append(conv.cell(s))
            rules.append(None)
        except CellError as exc:
            if conv.type == "text":
                values.append("" if exc.rule == "required" else s)
            else:
                values.append(None)
            rules.append(exc.rule)
    return values, rules


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(COLUMNS), st.lists(CELL, min_size=1, max_size=40), st.integers(1, 3))
def test_fast_paths_agree_with_the_rule_book(column, cells, repeat):
    cells = tuple(cells * repeat)  # repeats exercise the distinct-value cache
    conv = Converter(column)
    values, bad = conv.column(cells)
    values = list(values)  # text columns may hand back the cells themselves
    want_values, want_rules = _rule_book(Converter(column), cells)
    assert values == want_values
    assert [type(v) for v in values] == [type(v) for v in want_values]
    got_rules = [None] * len(cells)
    for i, err in bad:
        got_rules[i] = err.rule
    assert got_rules == want_rules


# -- corruption ---------------------------------------------------------------------
def _check_result(r: ReadResult, data: bytes) -> None:
    lines = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n") + 1
    for p in r.errors + r.warnings:
        assert p.rule and p.message
        assert p.line is None or 1 <= p.line <= lines + 1


def _read_or_refuse(data: bytes):
    try:
        r = read_bytes(data, "ic-invoice-v1", today=TODAY)
    except UnreadableFileError as exc:
        assert exc.problems and exc.problems[0].rule == "unreadable"
        return None
    _check_result(r, data)
    return r


corruption = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 40)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("garbage"), st.integers(0, 10**6), st.binary(min_size=1, max_size=60)),
)


def _corrupt(data: bytes, how) -> bytes:
    kind, at, arg = how
    at %= len(data)
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ arg]) + data[at + 1:]
    if kind == "delete":
        return data[:at] + data[at + arg:]
    if kind == "truncate":
        return data[:at]
    return data[:at] + arg + data[at:]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows_of(invoice, 4), st.lists(corruption, min_size=1, max_size=4))
def test_corruption_never_crashes(rows, hows):
    data = write_delimited(rows, load_layout("ic-invoice-v1")).encode("utf-8")
    for how in hows:
        data = _corrupt(data, how) if data else data
    _read_or_refuse(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows_of(invoice, 5), st.data())
def test_a_changed_amount_is_always_caught(rows, data):
    """A digit of an amount changed in a file with a trailer: balance forward or control total fails."""
    layout = load_layout("ic-invoice-v1")
    rows = [{k: v.replace("\r", " ").replace("\n", " ") if isinstance(v, str) else v for k, v in r.items()}
            for r in rows]
    text = write_delimited(rows, layout)
    lines = text.split("\r\n")
    i = data.draw(st.integers(1, len(rows)), label="row")
    col = data.draw(st.sampled_from(["PreviousBalance", "CurrentCharges", "TotalAmountDue"]), label="column")
    import csv
    import io

    cells = next(csv.reader([lines[i]]))
    pos = layout.names.index(col)
    old = cells[pos]
    digits = [k for k, ch in enumerate(old) if ch.isdigit()]
    k = data.draw(st.sampled_from(digits), label="digit")
    new_digit = data.draw(st.sampled_from([d for d in "0123456789" if d != old[k]]), label="new")
    cells[pos] = old[:k] + new_digit + old[k + 1:]
    assume(Decimal(cells[pos]) != Decimal(old))
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    lines[i] = out.getvalue()
    r = read_bytes("\r\n".join(lines).encode(), layout, today=TODAY)
    assert not r.ok
    assert {p.rule for p in r.errors} & {"balance_forward", "trailer_total", "minimum_within_total"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows_of(payment, 4), st.lists(corruption, min_size=1, max_size=3))
def test_payment_file_corruption_never_crashes(rows, hows):
    data = write_delimited(rows, load_layout("ic-payments-v1")).encode("utf-8")
    for how in hows:
        data = _corrupt(data, how) if data else data
    try:
        r = read_bytes(data, "ic-payments-v1", today=TODAY)
    except UnreadableFileError:
        return
    _check_result(r, data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(corruption, min_size=1, max_size=3))
def test_fixed_width_corruption_never_crashes(hows):
    from console.files.writer import write_fixed

    rows = [{"AccountNumber": f"12-3456-{i:02d}", "InvoiceNumber": f"INV{i}", "InvoiceType": 42,
             "CustomerName": "NUÑEZ, ZOË", "BillDate": dt.date(2026, 11, 1), "DueDate": dt.date(2026, 11, 25),
             "PreviousBalance": Decimal("1.00"), "CurrentCharges": Decimal(i), "TotalAmountDue": Decimal(i + 1)}
            for i in range(4)]
    data = write_fixed(rows, "ic-invoice-fixed-v1").encode("utf-8")
    for how in hows:
        data = _corrupt(data, how) if data else data
    try:
        r = read_bytes(data, "ic-invoice-fixed-v1", today=TODAY)
    except UnreadableFileError:
        return
    _check_result(r, data)
