"""Write rows in a layout's notation: CSV (RFC 4180, CRLF) or fixed width.

    text = write_delimited(rows, load_layout("ic-invoice-v1"))      # header, rows, TRAILER line
    Path(out).write_text(text, encoding="utf-8", newline="")

``rows`` are mappings column name -> typed value (Decimal, date, datetime, bool, int, str or
None), exactly what ``read_file`` returns in ``Record.values``; names match the layout
case-insensitively and missing ones are written empty. What is written reads back to the same
values (a property test checks it).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from decimal import Decimal

from console.domain.money import CENT
from console.files.layouts import Column, Layout, load_layout


def format_value(column: Column, value) -> str:
    """One value in the file notation of its column."""
    if value is None:
        return ""
    t = column.type
    if t == "amount":
        if isinstance(value, float):
            raise TypeError(f"{column.name}: amounts must be Decimal or int, never float")
        d = Decimal(value).quantize(CENT)
        if column.implied_decimals:
            return str(int(d.scaleb(column.implied_decimals)))
        return f"{d:.2f}"
    if t == "flag":
        if isinstance(value, str):
            return value
        return column.true_value if value else column.false_value
    if t == "date":
        if isinstance(value, str):
            return value
        f = column.date_format
        if f == "MM/DD/YYYY":
            return f"{value.month:02d}/{value.day:02d}/{value.year:04d}"
        if f == "MMDDYYYY":
            return f"{value.month:02d}{value.day:02d}{value.year:04d}"
        if f == "YYYYMMDD":
            return f"{value.year:04d}{value.month:02d}{value.day:02d}"
        if f == "YYYY-MM-DD":
            return value.isoformat()
        return f"{value.year % 100:02d}{value.month:02d}{value.day:02d}"
    if t == "timestamp":
        if isinstance(value, str):
            return value
        if isinstance(value, dt.datetime):
            return f"{value.month:02d}/{value.day:02d}/{value.year:04d} {value:%H:%M:%S}"
        return f"{value.month:02d}/{value.day:02d}/{value.year:04d} 00:00:00"
    return str(value)


def _layout(layout: Layout | str) -> Layout:
    return layout if isinstance(layout, Layout) else load_layout(layout)


def _get(row: Mapping, column: Column):
    if column.name in row:
        return row[column.name]
    for k, v in row.items():
        if k.casefold() == column.key:
            return v
    return None


def _control(layout: Layout, rows: list[Mapping]) -> tuple[int, Decimal]:
    t = layout.trailer
    if t is None or t.control == "count":
        return len(rows), Decimal(0)
    col = layout.column(t.column)
    total = sum((Decimal(_get(r, col)) for r in rows if _get(r, col) not in (None, "")), Decimal("0.00"))
    return len(rows), total.quantize(CENT)


def write_delimited(rows: Iterable[Mapping], layout: Layout | str, *, trailer: bool = True,
                    line_ending: str = "\r\n") -> str:
    """The whole file as text: header, one line per row, and the TRAILER line (if the layout has one)."""
    layout = _layout(layout)
    rows = list(rows)
    out = io.StringIO()
    # "\r\n" as the writer's terminator makes it quote any cell holding \r or \n (with "\n"
    # alone a lone \r would go out unquoted); other line ends are swapped in afterwards.
    w = csv.writer(out, delimiter=layout.delimiter, quotechar=layout.quote, lineterminator="\r\n")
    cols = layout.columns
    table = [[c.name for c in cols]]
    table.extend([format_value(c, _get(r, c)) for c in cols] for r in rows)
    if trailer and layout.trailer is not None:
        n, total = _control(layout, rows)
        table.append([layout.trailer.marker, n, f"{total:.2f}" if layout.trailer.control == "sum" else "0"])
    if line_ending == "\r\n":
        w.writerows(table)
        return out.getvalue()
    lines = []
    for r in table:
        w.writerow(r)
        lines.append(out.getvalue()[:-2])
        out.seek(0)
        out.truncate()
    return "".join(line + line_ending for line in lines)


def write_fixed(rows: Iterable[Mapping], layout: Layout | str, *, trailer: bool = True,
                line_ending: str = "\r\n") -> str:
    """A fixed-width file: text left-aligned, numbers right-aligned zero-padded (amounts in the
    layout's notation). A value wider than its field raises ValueError (never silently cut)."""
    layout = _layout(layout)
    rows = list(rows)
    width = layout.record_length or max(c.end for c in layout.columns)
    lines = []
    for r in rows:
        buf = [" "] * width
        for c in layout.columns:
            text = format_value(c, _get(r, c))
            size = c.end - c.start + 1
            if len(text) > size:
                raise ValueError(f"{c.name}: {text!r} is wider than its {size} characters")
            numeric = c.type in ("amount", "int") and text
            if numeric:
                neg = text.startswith("-")
                digits = text.lstrip("-")
                text = ("-" if neg else "") + digits.rjust(size - neg, "0")
            else:
                text = text.ljust(size)
            buf[c.start - 1:c.end] = text
        lines.append("".join(buf))
    t = layout.trailer
    if trailer and t is not None:
        n, total = _control(layout, rows)
        buf = [" "] * width
        buf[0:len(t.marker)] = t.marker
        cs = t.count_end - t.count_start + 1
        buf[t.count_start - 1:t.count_end] = str(n).rjust(cs, "0")
        amount = str(int(total.scaleb(t.implied_decimals))) if t.implied_decimals else f"{total:.2f}"
        ts = t.total_end - t.total_start + 1
        neg = amount.startswith("-")
        amount = ("-" if neg else "") + amount.lstrip("-").rjust(ts - neg, "0")
        buf[t.total_start - 1:t.total_end] = amount
        lines.append("".join(buf))
    return "".join(line + line_ending for line in lines)
