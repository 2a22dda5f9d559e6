"""Layout-driven reading of delimited (CSV, RFC 4180) and fixed-width files.

    result = read_file(path, load_layout("ic-invoice-v1"), progress=cb, cancel=event)
    result.ok, result.errors, result.warnings, result.trailer
    for rec in result.records: rec.line, rec.values["TotalAmountDue"]

Everything in the layout is checked: header columns (any order, any case; unknown ones are a
warning, missing required ones an error), each cell's type and rule, ``unique`` columns, the
layout's cross-field rules and warnings, and the optional ``TRAILER`` line (record count and
control total must both match). Every Problem names the physical line (1-based), the column
and the rule. Blank lines are ignored; LF, CRLF and CR line ends are accepted; UTF-8 with or
without BOM is read silently, Windows-1252 with a warning.

Value conventions (see console.files.convert): absent text is ``""``; an absent typed value
is the column default, else ``None``; a typed cell that broke its rule is ``None`` and its
raw text is in ``result.bad_cells``.

Speed: the file is read in chunks; each chunk is transposed to columns and converted column
by column at C speed (see convert.Converter); rows are stored column-wise, and ``records`` is
a light sequence that builds a Record only when you ask for it.

Unreadable input (missing file, a directory, binary data) raises ``UnreadableFileError``;
everything else is reported as problems on the result — the reader does not raise for bad
content.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gc
import hashlib
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain, islice, repeat
from operator import is_, itemgetter, lt
from pathlib import Path
from typing import BinaryIO

from console.domain.wording import agree, counted
from console.errors import Cancelled, Problem, ValidationError
from console.files import rules as _rules
from console.files.convert import CellError, Converter, _show
from console.files.encoding import SAMPLE, binary_reason, line_of_offset, sniff
from console.files.layouts import Column, Layout, load_layout
from console.files.packed import PackedAmounts, PackedText

CHUNK = 1024  # rows per chunk: small enough to stay in the CPU caches
MAX_PROBLEMS = 10_000
csv.field_size_limit(1 << 20)  # a cell over 1 MB is a runaway quote, reported as such

Progress = Callable[..., None]


class UnreadableFileError(ValidationError):
    """The file could not be read at all (missing, not a file, binary data)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}",
                         [Problem(None, None, "unreadable", reason)])
        self.path = path
        self.reason = reason


class Record:
    """One data row: its physical line and its typed values by column name."""

    __slots__ = ("line", "values")

    def __init__(self, line: int, values: dict):
        self.line = line
        self.values = values

    def __getitem__(self, column: str):
        return self.values[column]

    def __repr__(self) -> str:
        return f"Record(line={self.line}, values={self.values!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Record) and (self.line, self.values) == (other.line, other.values)


class RecordList(Sequence):
    """The records of a result, built on demand from the column store."""

    def __init__(self, names: tuple[str, ...], columns: dict[str, list], lines: list[int]):
        self._names = names
        self._cols = [columns[n] for n in names]
        self._lines = lines

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return Record(self._lines[i], dict(zip(self._names, [c[i] for c in self._cols], strict=False)))

    def __iter__(self) -> Iterator[Record]:
        names = self._names
        for line, row in zip(self._lines, zip(*self._cols, strict=False), strict=False):
            yield Record(line, dict(zip(names, row, strict=False)))


@dataclass
class ReadResult:
    layout: Layout
    path: str
    encoding: str
    fingerprint: str
    size: int
    header: list[str]
    columns: dict[str, Sequence]  # layout column name -> typed values, one per record (a list, or PackedText)
    lines: list[int]  # physical line of each record
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    trailer: tuple[int, Decimal] | None = None
    bad_cells: dict[tuple[int, str], str] = field(default_factory=dict)  # (record index, column) -> raw text
    problems_not_listed: int = 0  # problems past MAX_PROBLEMS (counted, not kept)
    sums: dict[str, Decimal] = field(default_factory=dict)  # column totals already computed
    # what the reader learnt on the way (see _State._facts): "distinct" values of some columns
    # (a superset: None and the default included), "never_negative" and "no_repeats" columns
    facts: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def records(self) -> RecordList:
        return RecordList(self.layout.names, self.columns, self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    def column(self, name: str) -> list:
        return self.columns[self.layout.column(name).name]

    def index_of_line(self, line: int) -> int | None:
        """Record index of a physical line (None for the header, trailer, blank lines)."""
        from bisect import bisect_left

        i = bisect_left(self.lines, line)
        return i if i < len(self.lines) and self.lines[i] == line else None

    def total(self, column: str) -> Decimal:
        """Sum of an amount column (absent and unreadable cells count as nothing)."""
        name = self.layout.column(column).name
        if name not in self.sums:
            self.sums[name] = _sum(self.columns[name]).quantize(Decimal("0.01"))
        return self.sums[name]


class _Sink:
    """Collects problems up to a limit; counts the rest."""

    def __init__(self, limit: int):
        self.limit = limit
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.dropped = 0
        self.dropped_warnings = 0

    def add(self, line, column, rule, message, severity="error") -> None:
        target = self.errors if severity == "error" else self.warnings
        if len(target) >= self.limit:
            if severity == "error":
                self.dropped += 1
            else:
                self.dropped_warnings += 1
            return
        target.append(Problem(line, column, rule, str(message), severity))


def _layout(layout: Layout | str) -> Layout:
    return layout if isinstance(layout, Layout) else load_layout(layout)


def read_file(path: str | Path, layout: Layout | str, *, progress: Progress | None = None, cancel=None,
              today: dt.date | None = None, max_problems: int = MAX_PROBLEMS, pack_text: bool = False,
              pack_amounts: bool = False) -> ReadResult:
    """Read and check a file against a layout. Raises UnreadableFileError / Cancelled only.
    ``pack_text``: keep the text columns no rule tracks while reading as PackedText (compact,
    see console.files.packed) instead of lists — for big files shown a page at a time;
    ``pack_amounts``: keep amount columns as PackedAmounts (integer cents, Decimal on access)."""
    layout = _layout(layout)
    p = Path(path)
    try:
        stream = open(p, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise UnreadableFileError(str(p), "the file does not exist") from None
    except IsADirectoryError:
        raise UnreadableFileError(str(p), "this is a folder, not a file") from None
    except OSError as exc:
        raise UnreadableFileError(str(p), f"the file cannot be opened ({exc.strerror or exc})") from None
    with stream:
        try:
            return _read(stream, str(p), layout, progress, cancel, today, max_problems, (pack_text, pack_amounts))
        except IsADirectoryError:
            raise UnreadableFileError(str(p), "this is a folder, not a file") from None
        except OSError as exc:
            raise UnreadableFileError(str(p), f"the file cannot be read ({exc.strerror or exc})") from None


def read_bytes(data: bytes, layout: Layout | str, *, name: str = "<data>", progress: Progress | None = None,
               cancel=None, today: dt.date | None = None, max_problems: int = MAX_PROBLEMS,
               pack_text: bool = False, pack_amounts: bool = False) -> ReadResult:
    """Same as read_file, for bytes in memory."""
    return _read(io.BytesIO(data), name, _layout(layout), progress, cancel, today, max_problems,
                 (pack_text, pack_amounts))


def _read(stream: BinaryIO, name: str, layout: Layout, progress, cancel, today, max_problems,
          pack: tuple[bool, bool] = (False, False)) -> ReadResult:
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    sample = stream.read(SAMPLE)
    stream.seek(0)
    reason = binary_reason(sample)
    if reason:
        raise UnreadableFileError(name, reason)
    # Most files are UTF-8: read them in one pass, hashing the bytes on the way. Bytes that
    # are not UTF-8 stop that pass; the file is then sniffed and read again as Windows-1252.
    encoding = "utf-8-sig" if sample.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        return _read_text(stream, name, layout, encoding, "strict", size, [], progress, cancel, today, max_problems,
                          pack=pack)
    except UnicodeDecodeError:
        pass
    stream.seek(0)
    sniffed = sniff(stream)
    notes: list[tuple] = []
    if sniffed.encoding == "cp1252":
        bom = (" It starts with a UTF-8 byte-order mark, but its content is Windows-1252; the mark was "
               "skipped." if sniffed.bom else "")
        if sniffed.bad_byte_offset is not None:
            line = line_of_offset(stream, sniffed.bad_byte_offset)
            notes.append((line, None, "encoding",
                          f"{counted(sniffed.bad_byte_count, 'byte')} {agree(sniffed.bad_byte_count, 'is')} valid in neither UTF-8 nor Windows-1252 "
                          f"(first on line {line}); they are shown as \N{REPLACEMENT CHARACTER}{'.' + bom if bom else ''}"))
        else:
            notes.append((None, None, "encoding",
                          f"The file is not UTF-8; it was read as Windows-1252 (cp1252).{bom} "
                          "Check accented names, and ask for UTF-8 exports.", "warning"))
    return _read_text(stream, name, layout, sniffed.encoding, "replace", size, notes, progress, cancel, today,
                      max_problems, skip=len(codecs.BOM_UTF8) if sniffed.bom and sniffed.encoding == "cp1252" else 0,
                      pack=pack)


BLOCK = 1 << 20  # bytes read, hashed and decoded at a time
# str.splitlines also breaks at these; csv and the files' own line ends are \r, \n, \r\n only
_OTHER_BREAKS = ("\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


class _Lines:
    """The physical lines of a byte stream, ends kept (what ``TextIOWrapper(newline="")``
    yields), decoded a block at a time and split at C speed; every byte read is added to the
    SHA-256 fingerprint. Iterate it once: ``for line in lines.iterate()``."""

    def __init__(self, raw: BinaryIO, encoding: str, errors: str, skip: int = 0):
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0  # bytes read so far
        self.decoder = codecs.getincrementaldecoder(encoding)(errors)
        if skip:
            self._hash(raw.read(skip))

    def _hash(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)

    def iterate(self) -> Iterator[str]:
        return chain.from_iterable(self._blocks())

    def _blocks(self) -> Iterator[list[str]]:
        pending: list[str] = []  # the start of a line whose end has not been read yet
        while True:
            data = self.raw.read(BLOCK)
            final = not data
            if data:
                self._hash(data)
            text = self.decoder.decode(data, final)
            if not final and "\n" not in text and "\r" not in text:
                pending.append(text)  # still inside one long line: join it once, at its end
                continue
            if pending:
                pending.append(text)
                text = "".join(pending)
                pending = []
            if not text:
                return  # final
            if any(c in text for c in _OTHER_BREAKS):
                lines = list(io.StringIO(text, newline=""))
            else:
                lines = text.splitlines(True)
            # a line without its end (or a "\r" whose "\n" may open the next block) waits
            if not final and not lines[-1].endswith("\n"):
                pending.append(lines.pop())
            if lines:
                yield lines
            if final:
                return

    def drain(self) -> None:
        """Hash the bytes nobody read (the fingerprint covers the whole file)."""
        while data := self.raw.read(BLOCK):
            self._hash(data)


def _read_text(stream: BinaryIO, name: str, layout: Layout, encoding: str, errors: str, size: int, notes: list,
               progress, cancel, today, max_problems, skip: int = 0,
               pack: tuple[bool, bool] = (False, False)) -> ReadResult:
    """``skip``: leading bytes (a UTF-8 byte-order mark before Windows-1252 text) hashed, not read."""
    stream.seek(0)
    sink = _Sink(max_problems)
    for note in notes:
        sink.add(*note)
    hashing = _Lines(stream, encoding, errors, skip)
    text = hashing.iterate()
    state = _State(layout, sink, size, progress, cancel, lambda: hashing.size, pack)
    was_enabled = gc.isenabled()
    gc.disable()  # millions of small objects, no cycles: the collector would only slow us down
    try:
        if layout.is_fixed:
            _read_fixed(text, state)
        else:
            _read_delimited(text, state)
        hashing.drain()  # the fingerprint covers every byte, read or not
        state.finish(today)
    finally:
        if was_enabled:
            gc.enable()
    problems_errors = sorted(sink.errors, key=_order)
    problems_warnings = sorted(sink.warnings, key=_order)
    if sink.dropped:
        problems_errors.append(Problem(None, None, "too_many_problems",
                                       f"{sink.dropped:,} more errors were found but not listed"))
    if sink.dropped_warnings:
        problems_warnings.append(Problem(None, None, "too_many_problems",
                                         f"{sink.dropped_warnings:,} more warnings were found but not listed",
                                         "warning"))
    return ReadResult(
        layout=layout, path=name, encoding=encoding, fingerprint=hashing.digest.hexdigest(), size=size,
        header=state.header, columns=state.columns, lines=state.lines, errors=problems_errors,
        warnings=problems_warnings, trailer=state.trailer_values, bad_cells=state.bad_cells,
        problems_not_listed=sink.dropped, sums=state.sums, facts=state.facts,
    )


def _sum(values) -> Decimal:
    """Sum of an amount column, absent and unreadable cells counting as nothing."""
    cents = getattr(values, "cents", None)
    if cents is not None:  # PackedAmounts: add the integers
        if any(map(is_, cents, repeat(None))):
            cents = [v for v in cents if v is not None]
        return Decimal(sum(cents)).scaleb(-2)
    if any(map(is_, values, repeat(None))):
        values = [v for v in values if v is not None]
    return sum(values, Decimal("0.00"))


def _order(p: Problem):
    return (p.line if p.line is not None else -1, )


class _Distinct:
    """Whether the present (non-empty) values of a text column are all distinct, learnt chunk
    by chunk while each chunk is fresh. Exports come sorted (by account, by invoice number):
    while the values keep strictly increasing they are distinct without hashing any of them
    (a comparison of neighbours); the first chunk out of order switches to a set of every
    value so far, taken from the column store."""

    __slots__ = ("last", "values", "present")

    def __init__(self):
        self.last: str | None = None  # the last value, while the column is strictly increasing
        self.values: set | None = None  # every value so far, once it is not
        self.present = 0  # non-empty cells so far

    def add(self, chunk: Sequence[str], store: list) -> None:
        """``chunk``: this chunk's values; ``store``: the column so far, this chunk included."""
        if not chunk:
            return
        if self.values is None:
            if "" not in chunk and (self.last is None or chunk[0] > self.last) \
                    and all(map(lt, chunk, chunk[1:])):
                self.last = chunk[-1]
                self.present += len(chunk)
                return
            self.values = set(store) if "" not in store else {v for v in store if v}
            self.present = len(store) - store.count("")
            return
        self.values.update(chunk)
        self.present += len(chunk) - chunk.count("")

    @property
    def all_distinct(self) -> bool:
        if self.values is None:
            return True
        return len(self.values) - ("" in self.values) == self.present


class _State:
    """What a read accumulates: column store, lines, trailer, problems."""

    def __init__(self, layout: Layout, sink: _Sink, size: int, progress, cancel, position,
                 pack: tuple[bool, bool] = (False, False)):
        pack_text, pack_amounts = pack
        self.layout = layout
        self.sink = sink
        self.size = size
        self.progress = progress
        self.cancel = cancel
        self.position = position  # bytes consumed so far
        self.converters = {c.name: Converter(c) for c in layout.columns}
        self.columns: dict[str, list] = {c.name: [] for c in layout.columns}
        self.lines: list[int] = []
        self.header: list[str] = []
        self.header_seen = False
        self.present: dict[str, int] = {}  # layout column name -> position in the file's rows
        self.missing: set[str] = set()
        self.trailers: list[tuple[int, list[str]]] = []
        self.trailer_values: tuple[int, Decimal] | None = None
        self.bad_cells: dict[tuple[int, str], str] = {}
        self.sums: dict[str, Decimal] = {}
        self.facts: dict = {}
        self.unreadable = False  # the file cannot be read past some line (a runaway quoted field)
        self.width = len(layout.columns)
        # unique text columns: the values seen so far, added while each chunk is fresh in the
        # CPU caches; the full duplicate scan at the end runs only when this finds one
        tracked = {c.name for c in layout.columns if c.unique and c.type == "text"}
        for check in layout.checks:
            for param in getattr(_rules.RULES.get(check.rule), "distinct_params", ()):
                try:
                    col = layout.column(str(check.params.get(param)))
                except KeyError:
                    continue
                if col.type == "text":
                    tracked.add(col.name)
        self.seen: dict[str, _Distinct] = {name: _Distinct() for name in tracked}
        # text columns no rule tracks while reading are kept packed when asked (see packed.py)
        self.packed = {c.name for c in layout.columns if c.type == "text" and c.name not in tracked} \
            if pack_text else set()
        for name in self.packed:
            self.columns[name] = PackedText()
        self.packed_amounts = {c.name for c in layout.columns if c.type == "amount"} if pack_amounts else set()
        for name in self.packed_amounts:
            self.columns[name] = PackedAmounts()

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("Reading the file was cancelled")

    def report(self) -> None:
        if self.progress is not None:
            self.progress(min(self.position(), self.size), self.size, f"{len(self.lines):,} records read")

    # -- header -----------------------------------------------------------------
    def set_header(self, cells: list[str], line: int) -> None:
        self.header_seen = True
        self.header = list(cells)
        by_key = {c.key: c for c in self.layout.columns}
        seen: dict[str, int] = {}
        for pos, raw in enumerate(cells):
            name = raw.strip()
            col = by_key.get(name.casefold())
            if col is None:
                label = name or f"(column {pos + 1} has no name)"
                self.sink.add(line, name or None, "unknown_column",
                              f"Column {label!r} is not in layout {self.layout.name}; it is ignored", "warning")
                continue
            if col.name in seen:
                self.sink.add(line, col.name, "duplicate_column",
                              f"Column {col.name} appears twice in the header (positions {seen[col.name] + 1} and {pos + 1})")
                continue
            seen[col.name] = pos
        self.present = seen
        for col in self.layout.columns:
            if col.name not in seen:
                self.missing.add(col.name)
                if col.required:
                    self.sink.add(line, col.name, "missing_column", f"Required column {col.name} is missing from the header")
        self.width = len(cells)

    # -- a chunk of data rows ----------------------------------------------------
    def add_rows(self, rows: list, lines: Sequence[int]) -> None:
        """rows: lists of cell texts (in the file's column order); lines: physical line of each."""
        n = len(rows)
        if not n:
            return
        base = len(self.lines)
        if self.layout.is_fixed:
            cols = list(zip(*rows, strict=False))
        else:
            width = self.width
            lengths = set(map(len, rows))
            if len(lengths) != 1 or width not in lengths:
                fixed = []
                for r, line in zip(rows, lines, strict=False):
                    if len(r) != width:
                        self.sink.add(line, None, "field_count",
                                      f"The record has {len(r)} field{'s' if len(r) != 1 else ''}, {width} expected"
                                      + (" (a quote may be unbalanced)" if len(r) > width else ""))
                        r = (r + [""] * width)[:width]
                    fixed.append(r)
                rows = fixed
            cols = list(zip(*rows, strict=False))
        self.lines.extend(lines)
        packed, amounts = self.packed, self.packed_amounts
        for name, conv in self.converters.items():
            store = self.columns[name]
            pos = self.present.get(name)
            if pos is None:  # not in the file: the column's default on every row
                d = conv.default
                values, bad = [int(d.scaleb(2)) if name in amounts and d is not None else d] * n, ()
            elif name in amounts:
                values, bad = conv.cents_column(cols[pos])
            else:
                values, bad = conv.column(cols[pos])
            if name in amounts:
                store.cents.extend(values)
            elif name in packed:
                store.add_chunk(values, conv.joined_of(values))
            else:
                store.extend(values)
            seen = self.seen.get(name)
            if seen is not None and pos is not None:
                seen.add(values, store)
            for i, err in bad:
                self.sink.add(lines[i], name, err.rule, err.message)
                self.bad_cells[(base + i, name)] = cols[pos][i]

    # -- end of file ---------------------------------------------------------------
    def finish(self, today) -> None:
        self.check_cancel()
        layout = self.layout
        n = len(self.lines)
        if not n and not self.trailers and (not layout.header or not self.header_seen):
            if self.unreadable:
                return  # not empty: unreadable from its first lines (the quoting error says where)
            self.sink.add(None, None, "empty_file",
                          "The file is empty (no header line)" if layout.header else "The file is empty")
            return
        if n == 0:
            self.sink.add(None, None, "no_records", "The file has no records", "warning")
        self._unique()
        self.facts = self._facts()
        table = _rules.Table(self.columns, self.lines, today=today,
                             text_columns=[c.name for c in layout.columns if c.type == "text"],
                             **self.facts)
        missing_required = {c.key for c in layout.columns if c.required and c.name in self.missing}
        for check in layout.checks:
            if any(isinstance(v, str) and v.casefold() in missing_required for v in check.params.values()):
                continue  # a required column the rule needs is missing: reported once, at the header
            fn = _rules.RULES[check.rule]
            for i, column, message in fn(table, check):
                self.sink.add(self.lines[i], column, check.rule, message, check.severity)
        self._trailer()
        if self.progress is not None:
            self.progress(self.size, self.size, f"{n:,} records read")

    def _facts(self) -> dict:
        """What the converters learnt while reading, for the rules (see rules.Table)."""
        distinct: dict[str, set] = {}
        never_negative: list[str] = []
        for name, conv in self.converters.items():
            if name in self.missing:
                d = conv.default
                distinct[name] = {d}
                if conv.type in ("amount", "int") and not (d is not None and d < 0):
                    never_negative.append(name)
                continue
            values = conv.distinct_values()
            if values is not None:
                distinct[name] = values
            if conv.type in ("amount", "int") and not conv.may_be_negative:
                never_negative.append(name)
        no_repeats = [name for name, seen in self.seen.items() if name not in self.missing and seen.all_distinct]
        return {"distinct": distinct, "never_negative": never_negative, "no_repeats": no_repeats}

    def _unique(self) -> None:
        for col in self.layout.columns:
            if not col.unique or col.name in self.missing:
                continue
            values = self.columns[col.name]
            seen = self.seen.get(col.name)
            if seen is not None:
                if seen.all_distinct:
                    continue  # every present value is distinct
                present = [v for v in values if v] if "" in values else values
            elif col.type == "text":
                present = [v for v in values if v] if "" in values else values
            else:
                present = [v for v in values if v is not None]
            if len(set(present)) == len(present):
                continue
            first: dict = {}
            for i, v in enumerate(values):
                if v is None or v == "":
                    continue
                j = first.get(v)
                if j is None:
                    first[v] = i
                else:
                    self.sink.add(self.lines[i], col.name, "unique",
                                  f"{col.name} {v} is a duplicate (first on line {self.lines[j]})")

    def _trailer(self) -> None:
        t = self.layout.trailer
        last_data = self.lines[-1] if self.lines else 0
        if t is None:
            for line, _ in self.trailers:
                self.sink.add(line, None, "trailer", "This layout has no trailer line")
            return
        if not self.trailers:
            if t.required:
                self.sink.add(None, None, "trailer_missing", f"The {t.marker} line (record count and control total) is missing")
            return
        for line, _ in self.trailers[:-1]:
            self.sink.add(line, None, "trailer_not_last", f"A second {t.marker} line; only one, as the last line, is allowed")
        line, cells = self.trailers[-1]
        if line < last_data:
            self.sink.add(line, None, "trailer_not_last", f"The {t.marker} line must be the last line (records follow it)")
        # some exports pad every line to the header's width: empty cells after the total are fine
        while len(cells) > 3 and not cells[-1].strip():
            cells = cells[:-1]
        if len(cells) != 3:
            self.sink.add(line, None, "trailer_format",
                          f"The {t.marker} line must be {t.marker},<record count>,<control total>")
            return
        count_text, total_text = cells[1].strip(), cells[2].strip()
        if not (count_text.isascii() and count_text.isdigit()) or len(count_text) > 18:
            self.sink.add(line, "count", "trailer_format", f"Trailer record count {_show(count_text)} is not a whole number")
            return
        count = int(count_text)
        total = None
        if total_text or t.control == "sum":
            try:
                total = Converter(Column(name="Trailer control total", type="amount", required=True,
                                         implied_decimals=t.implied_decimals)).cell(total_text)
            except CellError as exc:
                self.sink.add(line, "control total", "trailer_format", exc.message)
                return
        self.trailer_values = (count, total if total is not None else Decimal("0.00"))
        n = len(self.lines)
        if count != n:
            self.sink.add(line, "count", "trailer_count",
                          f"Trailer record count is {count:,} but the file has {n:,} records; the file is rejected")
        if t.control == "sum":
            unreadable = sum(col == t.column for _, col in self.bad_cells)
            if total is None:
                return
            if unreadable:
                # the bad amounts are already errors; a sum over the rest proves nothing
                self.sink.add(line, "control total", "trailer_total",
                              f"Trailer control total {total} was not checked: {unreadable:,} {t.column} "
                              f"value{'s' if unreadable != 1 else ''} cannot be read (see the errors)", "warning")
                return
            actual = _sum(self.columns[t.column])
            self.sums[t.column] = actual.quantize(Decimal("0.01"))
            if actual != total:
                self.sink.add(line, "control total", "trailer_total",
                              f"Trailer control total is {total} but {t.column} adds up to {actual}; the file is rejected")
        elif total is not None and total not in (0, count):
            self.sink.add(line, "control total", "trailer_total",
                          f"Trailer control total must be 0 (or the record count) for this layout, not {total}")


def _row_lines(rows: list, start: int) -> list[int]:
    """Physical line of each row when some rows span lines (quoted line breaks)."""
    out = []
    line = start
    for r in rows:
        out.append(line)
        extra = 0
        for f in r:
            if "\n" in f or "\r" in f:
                extra += f.count("\n") + f.count("\r") - f.count("\r\n")
        line += 1 + extra
    return out


_first = itemgetter(0)


def _read_delimited(text: Iterator[str], st: _State) -> None:
    layout = st.layout
    reader = csv.reader(text, delimiter=layout.delimiter, quotechar=layout.quote, strict=False)
    failure: list[tuple[int, str]] = []
    marker = layout.trailer.marker if layout.trailer else "TRAILER"
    consumed = 0  # physical lines consumed so far
    tail = None
    header_pending = layout.header
    if not layout.header:  # columns by position, in the layout's order
        st.present = {c.name: i for i, c in enumerate(layout.columns)}
        st.width = len(layout.columns)
        st.header = list(layout.names)
    while True:
        st.check_cancel()
        try:
            chunk = list(islice(reader, CHUNK))
        except csv.Error as exc:
            # Only a runaway quoted field (over 1 MB) gets here; the rows of this chunk
            # are lost, which is fine: the file is rejected as unreadable past this line.
            failure.append((reader.line_num, str(exc)))
            break
        if not chunk:
            break
        after = reader.line_num
        if after - consumed == len(chunk):
            lines: Sequence[int] = range(consumed + 1, after + 1)
        else:
            lines = _row_lines(chunk, consumed + 1)
        consumed = after
        tail = (chunk[-1], lines[-1], after)  # the last record so far: an unclosed quote ends there
        # blank lines
        if min(map(len, chunk)) <= 1:
            keep = [bool(r) and (len(r) > 1 or not r[0].isspace() and r[0] != "") for r in chunk]
            chunk = [r for r, k in zip(chunk, keep, strict=False) if k]
            lines = [ln for ln, k in zip(lines, keep, strict=False) if k]
            if not chunk:
                continue
        if header_pending:
            st.set_header(chunk[0], lines[0])
            chunk, lines = chunk[1:], lines[1:]
            header_pending = False
        # trailer line(s)
        if marker in map(_first, chunk):
            keep = [r[0] != marker for r in chunk]
            for r, ln, k in zip(chunk, lines, keep, strict=False):
                if not k:
                    st.trailers.append((ln, r))
            chunk = [r for r, k in zip(chunk, keep, strict=False) if k]
            lines = [ln for ln, k in zip(lines, keep, strict=False) if k]
        st.add_rows(chunk, lines)
        st.report()
    if tail is not None and not failure:
        row, line, last = tail
        if len(row) != st.width and any("\n" in f or "\r" in f for f in row):
            # csv (not strict) read from an opening quote to the end of the file, line ends and
            # all: RFC 4180 says a quoted field ends with a quote, so the quote was never closed
            swallowed = f": lines {line:,} to {last:,} were read as one record" if last > line else ""
            st.sink.add(line, None, "quoting",
                        f"A quoted field on line {line} is never closed{swallowed} (a quote is missing)")
    if failure:
        line, msg = failure[0]
        st.unreadable = True
        st.sink.add(line, None, "quoting",
                    f"The file cannot be read past this line: {msg} (a quoted field is probably not closed)")


def _read_fixed(text: Iterator[str], st: _State) -> None:
    layout = st.layout
    cols = layout.columns
    getter = itemgetter(*[slice(c.start - 1, c.end) for c in cols])
    single = len(cols) == 1
    st.present = {c.name: i for i, c in enumerate(cols)}
    st.width = len(cols)
    length = layout.record_length
    marker = layout.trailer.marker if layout.trailer else None
    line_no = 0
    while True:
        st.check_cancel()
        raw = list(islice(text, CHUNK))
        if not raw:
            break
        stripped = [s.rstrip("\r\n") for s in raw]
        lines = range(line_no + 1, line_no + 1 + len(stripped))
        line_no += len(stripped)
        keep = [bool(s.strip()) for s in stripped]
        if not all(keep):
            stripped = [s for s, k in zip(stripped, keep, strict=False) if k]
            lines = [ln for ln, k in zip(lines, keep, strict=False) if k]
        if marker and any(s.startswith(marker) for s in stripped):
            keep = [not s.startswith(marker) for s in stripped]
            for s, ln, k in zip(stripped, lines, keep, strict=False):
                if not k:
                    st.trailers.append((ln, _fixed_trailer(s, layout)))
            stripped = [s for s, k in zip(stripped, keep, strict=False) if k]
            lines = [ln for ln, k in zip(lines, keep, strict=False) if k]
        if length:
            for s, ln in zip(stripped, lines, strict=False):
                if len(s) != length:
                    st.sink.add(ln, None, "record_length", f"The record is {len(s)} characters long, the layout says {length}")
        rows = [tuple(f.strip() for f in ((getter(s),) if single else getter(s))) for s in stripped]
        st.header = [c.name for c in cols]
        st.add_rows(rows, lines)
        st.report()


def _fixed_trailer(s: str, layout: Layout) -> list[str]:
    t = layout.trailer
    return [t.marker, s[t.count_start - 1:t.count_end], s[t.total_start - 1:t.total_end]]
