"""Build and read fixed-width lockbox files, driven by a ``FixedLayout``.

``build_lockbox`` turns CloudStore items into the file's bytes (batches of at most
``max_items_per_batch`` items, a detail always followed by its overflow, exact totals);
``read_lockbox`` parses a file back and checks every rule (record width, printable ASCII,
line ends, record order, sequences, batch and file totals, record count);
``write_lockbox`` writes atomically (temp file + rename) and only after the written bytes,
read back from disk, give the very same items and totals.

Text rules (see the layout file): letters that do not decompose get their usual ASCII
spelling (``Ø`` -> ``O``, ``ß`` -> ``SS``, ``Æ`` -> ``AE``, typographic quotes and dashes ->
``'`` ``"`` ``-``), other non-ASCII letters are transliterated with Unicode NFKD (accents
dropped, e.g. ``NGUYỄN`` -> ``NGUYEN``); characters still without an ASCII form (e.g. CJK)
are dropped and the item gets an ``unrepresentable`` warning naming them (a payer name left
empty says so); control characters become spaces, values are trimmed. A value longer than its
field is an error, except in fields marked ``overflow = "truncate"`` (payer name, memo),
where it is cut at the field width and the item gets a ``truncated`` warning.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from console.domain.money import from_cents
from console.errors import Cancelled, Problem, ValidationError
from console.lockbox.layout import FieldSpec, FixedLayout, RecordSpec

# ---- values ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LockboxItem:
    """One CloudStore payment as it goes into a lockbox file."""

    payment_id: str
    confirmation: str
    reference: str  # customer / AR account number
    item_code: str  # CloudStore item code (the payment's InvoiceType)
    gl_account: str
    amount: Decimal
    payer_name: str = ""
    invoice_number: str = ""
    memo: str | None = None  # None: the invoice number
    deposit_date: date | None = None
    source_line: int | None = None


@dataclass(frozen=True)
class FileHeader:
    destination: str
    lockbox_number: int
    created: datetime
    origin: str = "INVCLOUD"


@dataclass(slots=True)
class FileItem:
    """An item as written in (or read from) a file: the field values after formatting."""

    batch: int
    item: int
    amount: Decimal
    confirmation: str
    gl_account: str
    item_code: str
    reference: str = ""
    payer_name: str = ""
    memo: str = ""
    invoice_number: str = ""
    payment_id: str = ""
    line: int | None = field(default=None, compare=False)

    def as_dict(self) -> dict:
        return {
            "batch": self.batch, "item": self.item, "amount": str(self.amount),
            "reference": self.reference, "gl_account": self.gl_account, "item_code": self.item_code,
            "confirmation": self.confirmation, "payer_name": self.payer_name, "memo": self.memo,
            "line": self.line,
        }


@dataclass(frozen=True)
class FileBatch:
    number: int
    item_count: int
    total: Decimal
    deposit_date: date | None = None
    lockbox_number: int | None = None
    line: int | None = field(default=None, compare=False)

    def as_dict(self) -> dict:
        return {
            "batch": self.number, "items": self.item_count, "total": str(self.total),
            "deposit_date": self.deposit_date.isoformat() if self.deposit_date else None,
            "lockbox_number": self.lockbox_number,
        }


# The field values of an item as written / read, in this order (amount in integer cents):
# comparing these tuples is the round-trip check; FileItem objects are made only when asked for.
ROW_FIELDS = ("batch", "item", "amount", "confirmation", "gl_account", "item_code", "reference", "payer_name",
              "memo", "invoice_number", "payment_id")


def _row_item(row: tuple, line: int | None) -> FileItem:
    b, i, cents, conf, gl, code, ref, payer, memo, inv, pid = row
    return FileItem(batch=b, item=i, amount=Decimal(cents).scaleb(-2), confirmation=conf, gl_account=gl,
                    item_code=code, reference=ref, payer_name=payer, memo=memo, invoice_number=inv, payment_id=pid,
                    line=line)


@dataclass
class LockboxFile:
    """A built or read lockbox file: header, batches, items, totals and what is wrong with it."""

    layout: str
    batches: list[FileBatch] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)  # one ROW_FIELDS tuple per item
    item_lines: list[int | None] = field(default_factory=list)  # the detail record's line of each item
    destination: str = ""
    origin: str = ""
    created: datetime | None = None
    record_count: int = 0
    total: Decimal = Decimal("0.00")
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    data: bytes = b""
    _items: list[FileItem] | None = field(default=None, repr=False, compare=False)

    @property
    def items(self) -> list[FileItem]:
        if self._items is None or len(self._items) != len(self.rows):
            self._items = [_row_item(r, line) for r, line in zip(self.rows, self.item_lines, strict=True)]
        return self._items

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def item_count(self) -> int:
        return len(self.rows)

    def same_content(self, other: LockboxFile) -> bool:
        """Round-trip identity: same items, batches, totals, record count and header."""
        return (self.rows == other.rows and self.batches == other.batches and self.total == other.total
                and self.record_count == other.record_count and self.destination == other.destination
                and self.origin == other.origin and self.created == other.created)


# ---- text -----------------------------------------------------------------------------

# Letters NFKD does not decompose (they would be lost), and typographic punctuation.
_SPELLING = str.maketrans({
    "Ø": "O", "ø": "o", "Ł": "L", "ł": "l", "ß": "SS", "ẞ": "SS", "Æ": "AE", "æ": "ae",
    "Œ": "OE", "œ": "oe", "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "TH", "þ": "th",
    "ı": "i", "Ħ": "H", "ħ": "h", "Ŧ": "T", "ŧ": "t", "Ŋ": "NG", "ŋ": "ng",
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"', "‹": "'", "›": "'",
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
})


@lru_cache(maxsize=1024)  # payer names repeat; plain ASCII values never get here from the writers
def fold_ascii(text: str) -> tuple[str, str]:
    """``(printable ASCII, characters that had no ASCII form)`` for ``text``.

    Letters that do not decompose get their usual spelling (``_SPELLING``), the rest goes
    through NFKD (accents dropped); what still has no ASCII form is dropped and returned
    as the second value, so the caller can warn. Controls and separators -> space; trimmed.
    """
    if text.isascii() and text.isprintable():
        return text.strip(), ""
    lost: list[str] = []
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", text.translate(_SPELLING)):
        if " " <= ch <= "~":
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if ch.isascii() or cat[0] == "Z":  # controls, line/paragraph separators, odd spaces
            out.append(" ")
        elif cat not in ("Mn", "Me", "Cf") and ch not in lost:  # accents and invisibles go quietly
            lost.append(ch)
    return "".join(out).strip(), "".join(lost)


def to_ascii(text: str) -> str:
    """Printable ASCII (see :func:`fold_ascii`); characters without an ASCII form dropped."""
    return fold_ascii(text)[0]


@dataclass(frozen=True)
class _Lost:
    """A text field that lost characters without an ASCII form (noted next to truncations)."""

    spec: FieldSpec
    chars: str
    emptied: bool


class _FieldError(Exception):
    def __init__(self, spec: FieldSpec, rule: str, message: str):
        super().__init__(message)
        self.spec = spec
        self.rule = rule
        self.message = message


# ---- compiled records -----------------------------------------------------------------

# Each record role is compiled once per layout into a small generated function with the
# positions unrolled (like collections.namedtuple does): the layout stays data, and the
# per-record work is one %-format on the way out and a few slices on the way in.

def _too_long(f: FieldSpec, s: str, truncated: list | None) -> str:
    if f.overflow != "truncate":
        raise _FieldError(f, "width", f"{f.name} {s!r} is longer than {f.width} characters")
    if truncated is not None:
        truncated.append(f)
    return s[: f.width].rstrip()


def _out_of_range(f: FieldSpec, n: int) -> None:
    if n < 0:
        raise _FieldError(f, f.kind, f"{f.name} {n} is negative")
    raise _FieldError(f, "range", f"{f.name} {n} does not fit in {f.width} digits")


def _missing(f: FieldSpec) -> None:
    raise _FieldError(f, "date", f"{f.name} is missing")


def _text(v) -> str:
    return "" if v is None else str(v)


class _Writer:
    """One record role compiled to a %-format template and a generated ``encode``."""

    def __init__(self, spec: RecordSpec, length: int):
        self.spec = spec
        parts: list[str] = []
        self.fields: list[FieldSpec] = []
        pos = 0
        for f in spec.fields:
            if f.start - 1 > pos:
                parts.append(" " * (f.start - 1 - pos))
            if f.kind == "const":
                parts.append(f.value.replace("%", "%%"))
            else:
                self.fields.append(f)
                if f.kind == "alpha":
                    parts.append(f"%-{f.width}.{f.width}s")
                elif f.kind in ("number", "amount"):
                    parts.append(f"%0{f.width}d")
                else:
                    parts.append("%s")
            pos = f.end
        if pos < length:
            parts.append(" " * (length - pos))
        self.template = "".join(parts)
        self.names = tuple(f.name for f in self.fields)
        self.encode = self._compile()

    def has(self, name: str) -> bool:
        return name in self.names

    def _compile(self) -> Callable[..., tuple[str, dict]]:
        """``encode(values, truncated=None) -> (record text, values as written)``; amounts in cents."""
        src = ["def encode(values, truncated=None):", "    get = values.get"]
        for i, f in enumerate(self.fields):
            if f.kind == "alpha":
                src += [f"    v = get({f.name!r})",
                        "    if v.__class__ is not str:",
                        "        v = _text(v)",
                        f"    x{i} = v.strip() if v.isascii() and v.isprintable() else _ascii(v)",
                        f"    if len(x{i}) > {f.width}:",
                        f"        x{i} = _too_long(F[{i}], x{i}, truncated)"]
            elif f.kind in ("number", "amount"):
                src += [f"    x{i} = get({f.name!r}) or 0",
                        f"    if not 0 <= x{i} < {10 ** f.width}:",
                        f"        _out_of_range(F[{i}], x{i})"]
            else:
                src += [f"    v = get({f.name!r})",
                        "    if v is None:",
                        f"        _missing(F[{i}])",
                        f"    x{i} = v.strftime({f.format!r})"]
        xs = ", ".join(f"x{i}" for i in range(len(self.fields)))
        written = ", ".join(f"{f.name!r}: x{i}" for i, f in enumerate(self.fields))
        src.append(f"    return T % ({xs}{',' if len(self.fields) == 1 else ''}), {{{written}}}")
        ns = {"F": tuple(self.fields), "T": self.template, "_ascii": to_ascii, "_text": _text,
              "_too_long": _too_long, "_out_of_range": _out_of_range, "_missing": _missing}
        exec("\n".join(src), ns)  # noqa: S102 - code generated from the checked layout only
        return ns["encode"]


_ITEM_SOURCES = {
    "batch": "bno", "item": "ino", "amount": "cents", "reference": "it.reference", "gl_account": "it.gl_account",
    "item_code": "it.item_code", "confirmation": "it.confirmation", "payer_name": "it.payer_name",
    "memo": "(it.invoice_number if it.memo is None else it.memo)", "invoice_number": "it.invoice_number",
    "payment_id": "it.payment_id",
}


def _clean_text(v, spec: FieldSpec | None = None, notes: list | None = None) -> str:
    if v.__class__ is not str:
        v = _text(v)
    if v.isascii() and v.isprintable():
        return v.strip()
    text, lost = fold_ascii(v)
    if lost and notes is not None:
        notes.append(_Lost(spec, lost, not text))
    return text


def _compile_item_writer(detail: _Writer, overflow: _Writer, max_batches: int, max_items: int) -> Callable:
    """``encode_item(it, bno, ino, cents, truncated) -> (detail, overflow, row)`` for one item.

    Both records are written straight from the LockboxItem; the row (``ROW_FIELDS``) holds the
    values as written (the detail's when a name is in both records), exactly what a reader
    gets back.
    All text values are checked for plain printable ASCII in one go; only when that fails is
    each one transliterated. Batch and item numbers are range-checked only when the layout's
    fields could be too narrow for ``max_batches`` / ``max_items``.
    """
    limits = {"batch": max_batches, "item": max_items}
    src = ["def encode_item(it, bno, ino, cents, truncated):"]
    written: dict[str, str] = {}
    texts = []
    alpha: list[tuple[str, str]] = []  # (variable, source expression)
    checks: list[str] = []
    for r, w in enumerate((overflow, detail)):
        xs = []
        for i, f in enumerate(w.fields):
            var = f"x{r}_{i}"
            expr = _ITEM_SOURCES[f.name]
            fref = f"F{r}[{i}]"
            if f.kind == "alpha":
                alpha.append((var, expr, fref))
                checks += [f"    if len({var}) > {f.width}:",
                           f"        {var} = _too_long({fref}, {var}, truncated)"]
            elif f.kind in ("number", "amount"):
                src.append(f"    {var} = {expr}")
                if f.name not in limits or limits[f.name] >= 10 ** f.width:
                    checks += [f"    if not 0 <= {var} < {10 ** f.width}:",
                               f"        _out_of_range({fref}, {var})"]
            else:
                raise ValueError(f"{f.name}: an item record cannot hold a {f.kind} field")
            xs.append(var)
            written[f.name] = var
        texts.append(f"T{r} % ({', '.join(xs)}{',' if len(xs) == 1 else ''})")
    if alpha:
        src += [f"    {var}_raw = {expr}" for var, expr, _ in alpha]
        src += ["    try:",
                f"        s = {' + '.join(f'{var}_raw' for var, _, _ in alpha)}",
                "    except TypeError:",
                "        s = None",
                "    if s is not None and s.isascii() and s.isprintable():"]
        src += [f"        {var} = {var}_raw.strip()" for var, _, _ in alpha]
        src.append("    else:")
        for var, _, fref in alpha:
            src += [f"        v = {var}_raw",
                    f"        {var} = v.strip() if v.__class__ is str and v.isascii() and v.isprintable() "
                    f"else _clean(v, {fref}, truncated)"]
    src += checks
    written["amount"] = "cents"
    row = ", ".join(written.get(name, '""') for name in ROW_FIELDS)
    src.append(f"    return {texts[1]}, {texts[0]}, ({row})")
    ns = {"F0": tuple(overflow.fields), "F1": tuple(detail.fields), "T0": overflow.template,
          "T1": detail.template, "_clean": _clean_text, "_too_long": _too_long,
          "_out_of_range": _out_of_range}
    exec("\n".join(src), ns)  # noqa: S102 - code generated from the checked layout only
    return ns["encode_item"]


def _bad_number(f: FieldSpec, raw: str, lineno: int, errors: list[Problem]) -> None:
    errors.append(Problem(lineno, f.column, "numeric", f"{f.name} {raw!r} is not {f.width} digits (zero-padded)"))


def _bad_const(f: FieldSpec, raw: str, lineno: int, errors: list[Problem]) -> None:
    errors.append(Problem(lineno, f.column, "const", f"{f.name} is {raw!r}, must be {f.value!r}"))


def _bad_filler(a: int, b: int, lineno: int, errors: list[Problem]) -> None:
    errors.append(Problem(lineno, f"filler ({a + 1}-{b})", "filler", "positions not used by the layout must be spaces"))


def _date_value(f: FieldSpec, raw: str, lineno: int, errors: list[Problem]):
    try:
        parsed = datetime.strptime(raw, f.format)
    except ValueError:
        errors.append(Problem(lineno, f.column, "date", f"{f.name} {raw!r} is not a {f.format} value"))
        return None
    return parsed.date() if f.kind == "date" else parsed.time()


def _cents_text(raw: str | int) -> Decimal:
    """Implied-cents digits (or integer cents) to an exact two-place Decimal."""
    return Decimal(raw).scaleb(-2)


class _Reader:
    """One record role compiled to a generated ``decode(line, lineno, errors) -> dict``.

    Alpha values are right-trimmed, numbers int, amounts Decimal (two places), dates date/time;
    a field that cannot be read is None and its problem is appended to ``errors``.
    """

    def __init__(self, spec: RecordSpec):
        self.spec = spec
        self.decode = self._compile()

    def _compile(self) -> Callable[[str, int, list[Problem]], dict]:
        src = ["def decode(line, lineno, errors):"]
        out = []
        for i, f in enumerate(self.spec.fields):
            a, b = f.start - 1, f.end
            if f.kind == "const":
                src += [f"    if line[{a}:{b}] != {f.value!r}:",
                        f"        _bad_const(F[{i}], line[{a}:{b}], lineno, errors)"]
                continue
            out.append(f"{f.name!r}: x{i}")
            if f.kind == "alpha":
                src.append(f"    x{i} = line[{a}:{b}].rstrip()")
            elif f.kind in ("number", "amount"):
                conv = "int" if f.kind == "number" else "_cents_text"
                src += [f"    r = line[{a}:{b}]",
                        "    if r.isdigit() and r.isascii():",
                        f"        x{i} = {conv}(r)",
                        "    else:",
                        f"        x{i} = None",
                        f"        _bad_number(F[{i}], r, lineno, errors)"]
            else:
                src.append(f"    x{i} = _date_value(F[{i}], line[{a}:{b}], lineno, errors)")
        for a, b in self.spec.gaps:
            src += [f"    if line[{a}:{b}].strip():", f"        _bad_filler({a}, {b}, lineno, errors)"]
        src.append(f"    return {{{', '.join(out)}}}")
        ns = {"F": self.spec.fields, "_bad_const": _bad_const, "_bad_number": _bad_number,
              "_bad_filler": _bad_filler, "_date_value": _date_value, "_cents_text": _cents_text}
        exec("\n".join(src), ns)  # noqa: S102 - code generated from the checked layout only
        return ns["decode"]


def _compile_item_reader(detail: RecordSpec, overflow: RecordSpec) -> Callable:
    """``read_item(d, o, lineno, errors) -> (row, cents | None, overflow batch, overflow item)``.

    Reads a detail line and the overflow line after it in one generated function (the hot
    path of every check); problems name line ``lineno`` (detail) or ``lineno + 1`` (overflow).
    Adjacent numeric fields are checked with one ``isdigit`` over their whole run; only a run
    that fails is checked field by field (to name the field). The text is ASCII here (the
    reader replaces anything else), so ``isdigit`` means 0-9.
    """
    src = ["def read_item(d, o, lineno, errors):", "    cents = None"]
    values: dict[str, str] = {}
    extra: dict[str, str] = {}
    for r, (spec, var, line_expr) in enumerate(((overflow, "o", "lineno + 1"), (detail, "d", "lineno"))):
        fields = list(enumerate(spec.fields))
        k = 0
        while k < len(fields):
            i, f = fields[k]
            a, b = f.start - 1, f.end
            fref = f"F{r}[{i}]"
            x = f"x{r}_{i}"
            if f.kind == "const":
                if not (f.start == 1 and f.end == 1):  # the record type was matched already
                    src += [f"    if {var}[{a}:{b}] != {f.value!r}:",
                            f"        _bad_const({fref}, {var}[{a}:{b}], {line_expr}, errors)"]
                k += 1
                continue
            if f.kind == "alpha":
                src.append(f"    {x} = {var}[{a}:{b}].rstrip()")
                values[f.name] = x
                k += 1
                continue
            if f.kind not in ("number", "amount"):
                raise ValueError(f"{f.name}: an item record cannot hold a {f.kind} field")
            run = [(i, f)]
            while k + len(run) < len(fields):
                j, g = fields[k + len(run)]
                if g.kind in ("number", "amount") and g.start == run[-1][1].end + 1:
                    run.append((j, g))
                else:
                    break
            ra, rb = run[0][1].start - 1, run[-1][1].end
            src.append(f"    if {var}[{ra}:{rb}].isdigit():")
            src += [f"        x{r}_{j} = int({var}[{g.start - 1}:{g.end}])" for j, g in run]
            src.append("    else:")
            for j, g in run:
                src += [f"        r = {var}[{g.start - 1}:{g.end}]",
                        "        if r.isdigit():",
                        f"            x{r}_{j} = int(r)",
                        "        else:",
                        f"            x{r}_{j} = None",
                        f"            _bad_number(F{r}[{j}], r, {line_expr}, errors)"]
            for j, g in run:
                xj = f"x{r}_{j}"
                if g.kind == "amount" and var == "d":
                    src.append(f"    cents = {xj}")
                values[g.name] = xj
                if var == "o" and g.name in ("batch", "item"):
                    extra[g.name] = xj
            k += len(run)
        for a, b in spec.gaps:
            src += [f"    if {var}[{a}:{b}].strip():", f"        _bad_filler({a}, {b}, {line_expr}, errors)"]
    values["amount"] = "cents"
    row = ", ".join(values.get(name, '""') for name in ROW_FIELDS)
    src.append(f"    return ({row}), cents, {extra.get('batch', 'None')}, {extra.get('item', 'None')}")
    ns = {"F0": overflow.fields, "F1": detail.fields, "_bad_const": _bad_const,
          "_bad_number": _bad_number, "_bad_filler": _bad_filler}
    exec("\n".join(src), ns)  # noqa: S102 - code generated from the checked layout only
    return ns["read_item"]


@lru_cache(maxsize=8)
def _writers(layout: FixedLayout) -> dict[str, _Writer]:
    return {role: _Writer(spec, layout.record_length) for role, spec in layout.records.items()}


@lru_cache(maxsize=8)
def _item_writer(layout: FixedLayout) -> Callable:
    w = _writers(layout)
    return _compile_item_writer(w["detail"], w["overflow"], layout.max_batches, layout.max_items_per_batch)


@lru_cache(maxsize=8)
def _item_reader(layout: FixedLayout) -> Callable:
    return _compile_item_reader(layout.record("detail"), layout.record("overflow"))


@lru_cache(maxsize=8)
def _readers(layout: FixedLayout) -> dict[str, _Reader]:
    return {spec.type: _Reader(spec) for spec in layout.records.values()}


# ---- building -------------------------------------------------------------------------

def plan_batches(items: Sequence[LockboxItem], max_items: int) -> list[list[LockboxItem]]:
    """Batches in deposit-date order (file order within a date), at most ``max_items`` each."""
    by_date: dict[date | None, list[LockboxItem]] = {}
    for it in items:
        by_date.setdefault(it.deposit_date, []).append(it)
    batches: list[list[LockboxItem]] = []
    for d in sorted(by_date, key=lambda x: (x is None, x or date.min)):
        group = by_date[d]
        batches.extend(group[i: i + max_items] for i in range(0, len(group), max_items))
    return batches


def build_lockbox(items: Sequence[LockboxItem], header: FileHeader, layout: FixedLayout,
                  *, progress: Callable[..., None] | None = None, cancel=None) -> LockboxFile:
    """The file for ``items``; ``errors`` lists every item/field that cannot be written (then no data)."""
    w = _writers(layout)
    eol = layout.line_ending
    result = LockboxFile(layout=layout.name, destination="", origin="", created=header.created)
    if not items:
        result.errors.append(Problem(None, None, "empty", "there are no items to put in a lockbox file"))
        return result
    batches = plan_batches(items, layout.max_items_per_batch)
    if len(batches) > layout.max_batches:
        result.errors.append(Problem(None, None, "batch-count",
                                     f"{len(batches)} batches do not fit the {layout.max_batches} the layout counts"))
        return result
    lines: list[str] = []
    errors = result.errors

    def emit(role: str, values: dict, *, source_line: int | None = None,
             truncated: list[FieldSpec] | None = None) -> dict | None:
        try:
            text, written = w[role].encode(values, truncated)
        except _FieldError as exc:
            errors.append(Problem(source_line, exc.spec.column, exc.rule, exc.message))
            return None
        lines.append(text)
        return written

    head = emit("file_header", {"destination": header.destination, "origin": header.origin,
                                "created_date": header.created, "created_time": header.created})
    if head:
        result.destination = head.get("destination", "")
        result.origin = head.get("origin", "")
    done, total_items = 0, len(items)
    file_cents = 0
    rows_out, lines_out = result.rows, result.item_lines
    encode_item = _item_writer(layout)
    append = lines.append
    truncated: list[FieldSpec] = []
    for bno, batch in enumerate(batches, start=1):
        deposit = batch[0].deposit_date
        emit("batch_header", {"batch": bno, "lockbox_number": header.lockbox_number, "deposit_date": deposit})
        batch_cents = 0
        for ino, it in enumerate(batch, start=1):
            cents = _cents(it.amount)
            if cents is None or cents <= 0:
                errors.append(Problem(it.source_line, "Amount", "amount",
                                      f"amount {it.amount} of {it.payment_id} must be above 0 in whole cents"))
                continue
            truncated.clear()
            try:
                d, o, row = encode_item(it, bno, ino, cents, truncated)
            except _FieldError as exc:
                errors.append(Problem(it.source_line, exc.spec.column, exc.rule, f"{it.payment_id}: {exc.message}"))
                continue
            append(d)
            append(o)
            rows_out.append(row)
            lines_out.append(len(lines) - 1)
            if truncated:
                for f in truncated:
                    if isinstance(f, _Lost):
                        result.warnings.append(_lost_warning(f, it))
                        continue
                    result.warnings.append(Problem(it.source_line, f.column, "truncated",
                                                   f"{f.name} of {it.payment_id} cut to {f.width} characters"))
            batch_cents += cents
            done += 1
            if done % 5000 == 0:
                if progress:
                    progress(done, total_items, "formatting items")
                if cancel is not None and cancel.is_set():
                    raise Cancelled("lockbox build cancelled")
        batch_total = from_cents(batch_cents)
        emit("batch_trailer", {"batch": bno, "item_count": len(batch), "batch_total": batch_cents,
                               "lockbox_number": header.lockbox_number, "deposit_date": deposit})
        result.batches.append(FileBatch(bno, len(batch), batch_total, deposit if _has(w, "batch_header", "deposit_date")
                                        else None, header.lockbox_number if _has(w, "batch_header", "lockbox_number")
                                        else None))
        file_cents += batch_cents
    result.total = from_cents(file_cents)
    result.record_count = len(lines) + 1
    emit("file_trailer", {"batch_count": len(batches), "record_count": result.record_count,
                          "file_total": file_cents, "item_count": total_items})
    if errors:
        result.rows, result.item_lines, result.batches = [], [], []
        return result
    result.data = (eol.join(lines) + eol).encode("ascii")
    if progress:
        progress(total_items, total_items, "formatted")
    return result


def _lost_warning(lost: _Lost, it: LockboxItem) -> Problem:
    f = lost.spec
    chars = ", ".join(repr(c) for c in lost.chars)
    if lost.emptied:
        message = (f"{f.name} of {it.payment_id} is empty in the file: none of its characters ({chars}) "
                   "has an ASCII form")
    else:
        message = f"{f.name} of {it.payment_id}: {chars} have no ASCII form and were left out"
    return Problem(it.source_line, f.column, "unrepresentable", message)


def _cents(amount: Decimal) -> int | None:
    """Exact integer cents, or None when the amount has fractions of a cent."""
    c = amount * 100
    i = int(c)
    return i if i == c else None


def _has(w: dict[str, _Writer], role: str, name: str) -> bool:
    return w[role].has(name)


# ---- reading --------------------------------------------------------------------------

def read_lockbox(data: bytes, layout: FixedLayout) -> LockboxFile:
    """Parse and check a lockbox file. Every broken rule is in ``errors`` with line and column."""
    result = LockboxFile(layout=layout.name)
    result.data = data
    errors = result.errors
    if not data:
        errors.append(Problem(None, None, "empty", "the file is empty"))
        return result
    eol = layout.line_ending
    length = layout.record_length
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        lineno = data.count(b"\n", 0, exc.start) + 1
        errors.append(Problem(lineno, None, "ascii", f"byte 0x{data[exc.start]:02x} is not ASCII"))
        text = data.decode("ascii", errors="replace")  # U+FFFD: never a digit, never printable ASCII
    if not text.endswith(eol):
        errors.append(Problem(text.count("\n") + 1, None, "line-ending",
                              f"the last record does not end with {'CRLF' if eol == chr(13) + chr(10) else 'LF'}"))
    else:
        text = text[: -len(eol)]
    lines = text.split(eol)
    readers = _readers(layout)
    roles = {spec.type: spec.role for spec in layout.records.values()}
    max_items = layout.max_items_per_batch

    state = "start"  # start -> batches -> in_batch -> need_overflow -> in_batch ... -> ended
    batch_no = 0
    batch_hdr: dict | None = None
    batch_items = 0
    batch_cents = 0
    file_cents = 0
    last_detail: dict | None = None
    last_detail_line = 0
    seen_conf: dict[str, int] = {}
    trailer_seen = False

    n = len(lines)
    # Whole-file checks first: when every record has the right width and only printable ASCII,
    # the per-record checks below are skipped (they run, and name the line, only when needed).
    fast = (not errors and len(text) == n * length + (n - 1) * len(eol) and all(len(x) == length for x in lines)
            and "".join(lines).isprintable())
    read_item = _item_reader(layout)
    dtype, otype = layout.record("detail").type, layout.record("overflow").type
    dspec = layout.record("detail")
    idx = 0
    while idx < n:
        line = lines[idx]
        idx += 1
        lineno = idx
        if (line[:1] == dtype and idx < n and lines[idx][:1] == otype and not trailer_seen
                and (fast or (len(line) == length and len(lines[idx]) == length))):
            # the hot path: a detail and its overflow, read together
            if state == "need_overflow":
                errors.append(Problem(lineno, None, "order",
                                      f"detail on line {last_detail_line} has no overflow record"))
            elif state != "in_batch":
                errors.append(Problem(lineno, None, "order", "a detail record outside a batch"))
            if not fast:
                for k in (0, 1):
                    x = lines[idx - 1 + k]
                    if not (x.isascii() and x.isprintable()):
                        errors.append(Problem(lineno + k, None, "ascii",
                                              "record has characters that are not printable ASCII"))
            row, cents, ob, oi = read_item(line, lines[idx], lineno, errors)
            idx += 1
            batch_items += 1
            fb, fn, conf = row[0], row[1], row[3]
            if fb != batch_no and fb is not None:
                errors.append(Problem(lineno, dspec.field("batch").column, "sequence",
                                      f"item in batch {fb} inside batch {batch_no}"))
            if fn != batch_items and fn is not None:
                errors.append(Problem(lineno, dspec.field("item").column, "sequence",
                                      f"item number {fn}, expected {batch_items}"))
            if ob != fb or oi != fn:
                ospec = layout.record("overflow")
                key, got, want = ("batch", ob, fb) if ob != fb else ("item", oi, fn)
                errors.append(Problem(lineno + 1, ospec.field(key).column, "overflow-match",
                                      f"overflow {key} {got} differs from its detail's {want}"))
            if batch_items == max_items + 1:
                errors.append(Problem(lineno, None, "batch-size", f"batch {batch_no} has more than {max_items} items"))
            if conf in seen_conf:
                errors.append(Problem(lineno, dspec.field("confirmation").column, "duplicate",
                                      f"confirmation {conf} is also on line {seen_conf[conf]}"))
            elif conf:
                seen_conf[conf] = lineno
            else:
                errors.append(Problem(lineno, dspec.field("confirmation").column, "required",
                                      "confirmation number is blank"))
            if cents is not None:
                batch_cents += cents
                if cents == 0:
                    result.warnings.append(Problem(lineno, dspec.field("amount").column, "amount",
                                                   "item amount is zero"))
                result.rows.append(row)
                result.item_lines.append(lineno)
            state = "in_batch"
            continue
        if not fast and len(line) != length:
            if "\r" in line or "\n" in line:
                errors.append(Problem(lineno, None, "line-ending", "records must end with the layout's line ending"))
            else:
                errors.append(Problem(lineno, None, "record-length",
                                      f"record is {len(line)} characters, must be {length}"))
            if len(line) < length:
                line = line.ljust(length)
        if not fast and not (line.isascii() and line.isprintable()):
            errors.append(Problem(lineno, None, "ascii", "record has characters that are not printable ASCII"))
        rtype = line[:1]
        role = roles.get(rtype)
        if role is None:
            errors.append(Problem(lineno, "record_type (1-1)", "record-type", f"unknown record type {rtype!r}"))
            continue
        v = readers[rtype].decode(line, lineno, errors)
        if trailer_seen:
            errors.append(Problem(lineno, None, "order", "records after the file trailer"))
            continue
        if state == "need_overflow" and role != "overflow":
            errors.append(Problem(lineno, None, "order", f"detail on line {last_detail_line} has no overflow record"))
            state = "in_batch"
        if role == "detail":
            if state not in ("in_batch",):
                errors.append(Problem(lineno, None, "order", "a detail record outside a batch"))
            batch_items += 1
            _check_seq(v, batch_no, batch_items, lineno, readers[rtype].spec, errors)
            if batch_items == max_items + 1:
                errors.append(Problem(lineno, None, "batch-size", f"batch {batch_no} has more than {max_items} items"))
            amount = v.get("amount")
            if amount is not None:
                batch_cents += int(amount * 100)
                if amount == 0:
                    result.warnings.append(Problem(lineno, readers[rtype].spec.field("amount").column, "amount",
                                                   "item amount is zero"))
            conf = v.get("confirmation", "")
            if conf in seen_conf:
                errors.append(Problem(lineno, readers[rtype].spec.field("confirmation").column, "duplicate",
                                      f"confirmation {conf} is also on line {seen_conf[conf]}"))
            elif conf:
                seen_conf[conf] = lineno
            if not conf:
                errors.append(Problem(lineno, readers[rtype].spec.field("confirmation").column, "required",
                                      "confirmation number is blank"))
            last_detail, last_detail_line = v, lineno
            state = "need_overflow"
        elif role == "overflow":
            if state != "need_overflow" or last_detail is None:
                errors.append(Problem(lineno, None, "order", "an overflow record not right after a detail"))
            else:
                for key in ("batch", "item"):
                    if v.get(key) != last_detail.get(key) and v.get(key) is not None:
                        errors.append(Problem(lineno, readers[rtype].spec.field(key).column, "overflow-match",
                                              f"overflow {key} {v.get(key)} differs from its detail's "
                                              f"{last_detail.get(key)}"))
                v.update(last_detail)
                if v.get("amount") is not None:
                    v["amount"] = int(v["amount"] * 100)
                    result.rows.append(tuple(v.get(name, "") for name in ROW_FIELDS))
                    result.item_lines.append(last_detail_line)
                last_detail = None
            state = "in_batch"
        elif role == "file_header":
            if state != "start":
                errors.append(Problem(lineno, None, "order", "a second file header"))
            result.destination = v.get("destination", "")
            result.origin = v.get("origin", "")
            d, t = v.get("created_date"), v.get("created_time")
            if d is not None:
                result.created = datetime.combine(d, t) if t is not None else datetime.combine(d, datetime.min.time())
            state = "batches"
        elif role == "batch_header":
            if state == "start":
                errors.append(Problem(lineno, None, "order", "the file does not start with a file header"))
            elif state != "batches":
                errors.append(Problem(lineno, None, "order", f"batch {batch_no} has no batch trailer"))
            batch_no += 1
            if v.get("batch") is not None and v["batch"] != batch_no:
                errors.append(Problem(lineno, readers[rtype].spec.field("batch").column, "sequence",
                                      f"batch number {v['batch']}, expected {batch_no}"))
            batch_hdr = {**v, "line": lineno}
            batch_items = 0
            batch_cents = 0
            state = "in_batch"
        elif role == "batch_trailer":
            if state not in ("in_batch",):
                errors.append(Problem(lineno, None, "order", "a batch trailer outside a batch"))
            spec = readers[rtype].spec
            if v.get("batch") is not None and v["batch"] != batch_no:
                errors.append(Problem(lineno, spec.field("batch").column, "sequence",
                                      f"batch trailer for batch {v['batch']} closes batch {batch_no}"))
            if batch_items == 0:
                errors.append(Problem(lineno, None, "empty", f"batch {batch_no} has no items"))
            if v.get("item_count") is not None and v["item_count"] != batch_items:
                errors.append(Problem(lineno, spec.field("item_count").column, "item-count",
                                      f"batch {batch_no} says {v['item_count']} items, has {batch_items}"))
            total = from_cents(batch_cents)
            if v.get("batch_total") is not None and v["batch_total"] != total:
                errors.append(Problem(lineno, spec.field("batch_total").column, "batch-total",
                                      f"batch {batch_no} total says {v['batch_total']}, items add up to {total}"))
            hdr = batch_hdr or {}
            result.batches.append(FileBatch(batch_no, batch_items, total, hdr.get("deposit_date"),
                                            hdr.get("lockbox_number"), line=hdr.get("line")))
            file_cents += batch_cents
            batch_hdr = None
            state = "batches"
        elif role == "file_trailer":
            if state == "in_batch":
                errors.append(Problem(lineno, None, "order", f"batch {batch_no} has no batch trailer"))
            spec = readers[rtype].spec
            result.total = from_cents(file_cents)
            result.record_count = len(lines)
            if v.get("batch_count") is not None and v["batch_count"] != len(result.batches):
                errors.append(Problem(lineno, spec.field("batch_count").column, "batch-count",
                                      f"file trailer says {v['batch_count']} batches, file has {len(result.batches)}"))
            if v.get("record_count") is not None and v["record_count"] != len(lines):
                errors.append(Problem(lineno, spec.field("record_count").column, "record-count",
                                      f"file trailer says {v['record_count']} records, file has {len(lines)}"))
            if v.get("file_total") is not None and v["file_total"] != result.total:
                errors.append(Problem(lineno, spec.field("file_total").column, "file-total",
                                      f"file trailer total {v['file_total']}, batches add up to {result.total}"))
            if v.get("item_count") is not None and v["item_count"] != len(result.rows):
                errors.append(Problem(lineno, spec.field("item_count").column, "item-count",
                                      f"file trailer says {v['item_count']} items, file has {len(result.rows)}"))
            trailer_seen = True
            state = "ended"
    if not trailer_seen:
        errors.append(Problem(len(lines), None, "order", "the file ends without a file trailer"))
        result.total = from_cents(file_cents)
        result.record_count = len(lines)
    return result


def _check_seq(v: dict, batch_no: int, item_no: int, lineno: int, spec: RecordSpec, errors: list[Problem]) -> None:
    if v.get("batch") is not None and v["batch"] != batch_no:
        errors.append(Problem(lineno, spec.field("batch").column, "sequence",
                              f"item in batch {v['batch']} inside batch {batch_no}"))
    if v.get("item") is not None and v["item"] != item_no:
        errors.append(Problem(lineno, spec.field("item").column, "sequence",
                              f"item number {v['item']}, expected {item_no}"))


# ---- verified atomic write ------------------------------------------------------------

def verify_roundtrip(built: LockboxFile, read_back: LockboxFile) -> list[Problem]:
    """What differs between the file as built and as read back (empty = identical)."""
    problems = list(read_back.errors)
    if problems:
        return problems
    if len(built.rows) != len(read_back.rows):
        return [Problem(None, None, "roundtrip", f"built {len(built.rows)} items, read back {len(read_back.rows)}")]
    if built.rows != read_back.rows:
        k = next(k for k, (a, b) in enumerate(zip(built.rows, read_back.rows, strict=True)) if a != b)
        a, b = built.items[k], read_back.items[k]
        return [Problem(b.line, None, "roundtrip", f"item {a.batch}/{a.item} reads back differently: {b}")]
    if built.batches != read_back.batches:
        return [Problem(None, None, "roundtrip", "batch numbers, counts or totals read back differently")]
    if (built.total, built.record_count) != (read_back.total, read_back.record_count):
        return [Problem(None, None, "roundtrip", f"totals read back as {read_back.total} in "
                                                 f"{read_back.record_count} records")]
    if (built.destination, built.origin, built.created) != (read_back.destination, read_back.origin,
                                                            read_back.created):
        return [Problem(1, None, "roundtrip", "the file header reads back differently")]
    return []


def write_lockbox(path: Path, built: LockboxFile, layout: FixedLayout, *, overwrite: bool = False) -> LockboxFile:
    """Write atomically, then read the written bytes back; only an identical file is kept.

    Returns the file as read back from disk. On any problem nothing is left at ``path``
    (an existing file there is untouched) and ValidationError is raised.
    """
    if not built.ok or not built.data:
        raise ValidationError("The lockbox file was not built", built.errors)
    path = Path(path)
    if path.exists() and not overwrite:
        raise ValidationError(f"{path} already exists; choose another name",
                              [Problem(None, None, "exists", f"{path} already exists")])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(built.data)
            fh.flush()
            os.fsync(fh.fileno())
        back = read_lockbox(tmp.read_bytes(), layout)
        problems = verify_roundtrip(built, back)
        if problems:
            raise ValidationError("The lockbox file did not read back identically; nothing was written", problems)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    _fsync_dir(path.parent)
    return back


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def items_by_confirmation(files: Iterable[LockboxFile]) -> dict[str, FileItem]:
    return {it.confirmation: it for f in files for it in f.items}
