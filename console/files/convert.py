"""Per-column converters: text cell -> typed value, with a vectorised fast path.

Each column of a layout gets one ``Converter``. ``Converter.cell(text)`` is the rule book:
it returns the typed value or raises ``CellError(rule, message)``. ``Converter.column(cells)``
converts a whole chunk of cells; it tries C-speed paths first (``map`` over precompiled
regexes, ``Decimal``, a per-column cache of distinct values) and falls back to ``cell`` for
the chunk as soon as anything is irregular, so both always agree (a test checks it).

Values: text -> ``str`` (``""`` when absent); int -> ``int``; amount -> ``Decimal`` with two
places; date -> ``datetime.date``; timestamp -> naive local ``datetime.datetime`` (an ISO 8601
value with an offset is converted to the machine's local time); flag -> ``bool``;
enum -> ``str`` (the layout's spelling). An absent typed value is the column default, else
``None``. A typed cell that breaks its rule becomes ``None``; a text cell keeps its text.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Context, Decimal, InvalidOperation
from itertools import compress, count

from console.domain.money import CENT, MAX_INTEGER_DIGITS, AmountError, parse_amount
from console.files.layouts import Column

_BLANK = re.compile(r"\s*")
# Files hold ASCII digits: re.ASCII keeps \d to 0-9 (Python's int() and Decimal() would take
# any script's digits, and so would a Unicode \d).
_A = re.ASCII
_AMOUNT_CANON_OPT = re.compile(rf"(?:-?\d{{1,{MAX_INTEGER_DIGITS}}}\.\d\d)?", _A)
_CANON_MAX_LEN = MAX_INTEGER_DIGITS + 3  # a longer canonical cell (or a negative one that long) looks closer
MAX_INT_DIGITS = 18  # whole numbers (types, counts) are far shorter; int() of 4,300+ digits raises
_INT = re.compile(r"-?\d+", _A)
_TS_US = re.compile(r"(\d\d)/(\d\d)/(\d{4}) (\d\d):(\d\d):(\d\d)", _A)
_ISO_HINT = re.compile(r"\d{4}-\d\d-\d\d", _A)
_DATE_RE = {
    "MM/DD/YYYY": (re.compile(r"(\d\d)/(\d\d)/(\d{4})", _A), (3, 1, 2)),
    "MMDDYYYY": (re.compile(r"(\d\d)(\d\d)(\d{4})", _A), (3, 1, 2)),
    "YYYYMMDD": (re.compile(r"(\d{4})(\d\d)(\d\d)", _A), (1, 2, 3)),
    "YYYY-MM-DD": (re.compile(r"(\d{4})-(\d\d)-(\d\d)", _A), (1, 2, 3)),
    "YYMMDD": (re.compile(r"(\d\d)(\d\d)(\d\d)", _A), (1, 2, 3)),
}

# create_decimal skips the thread-local context lookup of Decimal(); 60 digits keep every
# amount exact (the checks above allow only digits, '.', '-').
_EXACT = Context(prec=60, traps=[InvalidOperation])
_AMOUNT_BYTES_NL = b"0123456789.-\n"
# every digit written as 0: a cell ending in two decimals then ends in b".00\n"
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0000000000")
_ZERO_AMOUNT = re.compile(r"\n0*\.00\n")  # a zero among canonical amounts, each between line ends
_SIMPLE = re.compile(r"(\[(?:[^\]\\]|\\.)+\]|\\d)(?:\{(\d+)(?:,(\d*))?\}|(\+)|(\*))?")


def simple_class(pattern: str) -> tuple[bytes, int, int] | None:
    """For a pattern like ``[A-Za-z0-9-]{1,20}`` or ``\\d{4}``: (allowed ASCII bytes, min, max
    length), so a column can be checked with bytes.translate instead of one regex call per cell."""
    m = _SIMPLE.fullmatch(pattern)
    if not m:
        return None
    cls, lo, hi, plus, star = m.groups()
    try:
        one = re.compile(cls)
    except re.error:
        return None
    allowed = bytes(b for b in range(128) if one.fullmatch(chr(b)))
    if lo is not None:
        low = int(lo)
        high = low if hi is None else (int(hi) if hi else 1 << 30)
    elif plus:
        low, high = 1, 1 << 30
    elif star:
        low, high = 0, 1 << 30
    else:
        low = high = 1
    return allowed, low, high


# -- whole-chunk pattern checks -------------------------------------------------------
# A chunk of a text column is checked with ONE regex call over its cells joined by NUL
# instead of one call per cell (the per-call overhead is most of the cost for short cells).
# This is exact only when the column's pattern can never consume the separator and has no
# anchors, lookarounds or back references (then the pattern cannot see past its own cell):
# ``column_matcher`` proves that from the parsed pattern and otherwise returns None.
SEP = "\x00"
_SEP_CODE = 0
# A layout's patterns match whole cells; \d, \w, \s there mean their ASCII sets (a digit is 0-9).
PATTERN_FLAGS = re.DOTALL | re.ASCII


def _consumes_sep(items) -> bool | None:
    """Whether a parsed (sub)pattern may consume SEP; None when it uses anything else than
    plain characters, classes, groups, branches and repeats (then we do not reason about it)."""
    try:
        from re import _constants as k
    except ImportError:  # pragma: no cover - a Python without the parser module
        return None
    for op, av in items:
        if op is k.LITERAL:
            if av == _SEP_CODE:
                return True
        elif op is k.NOT_LITERAL:
            if av != _SEP_CODE:
                return True
        elif op is k.ANY:
            return True  # ANY matches NUL with or without DOTALL
        elif op is k.IN:
            hit = _class_has_sep(av, k)
            if hit is None or hit:
                return hit
        elif op is k.BRANCH:
            for alt in av[1]:
                sub = _consumes_sep(alt)
                if sub is None or sub:
                    return sub
        elif op is k.SUBPATTERN:
            sub = _consumes_sep(av[3])
            if sub is None or sub:
                return sub
        elif op in (k.MAX_REPEAT, k.MIN_REPEAT, k.POSSESSIVE_REPEAT):
            sub = _consumes_sep(av[2])
            if sub is None or sub:
                return sub
        elif op is k.ATOMIC_GROUP:
            sub = _consumes_sep(av)
            if sub is None or sub:
                return sub
        else:  # AT (anchors, \b), ASSERT / ASSERT_NOT, GROUPREF, GROUPREF_EXISTS, ...
            return None
    return False


def _class_has_sep(items, k) -> bool | None:
    negate = False
    found = False
    for op, av in items:
        if op is k.NEGATE:
            negate = True
        elif op is k.LITERAL:
            found |= av == _SEP_CODE
        elif op is k.RANGE:
            found |= av[0] <= _SEP_CODE <= av[1]
        elif op is k.CATEGORY:
            # NUL is no digit, no space and no word character (ASCII or Unicode)
            if av in (k.CATEGORY_NOT_DIGIT, k.CATEGORY_NOT_SPACE, k.CATEGORY_NOT_WORD,
                      k.CATEGORY_NOT_LINEBREAK, k.CATEGORY_UNI_NOT_DIGIT, k.CATEGORY_UNI_NOT_SPACE,
                      k.CATEGORY_UNI_NOT_WORD, k.CATEGORY_UNI_NOT_LINEBREAK):
                found = True
            elif av not in (k.CATEGORY_DIGIT, k.CATEGORY_SPACE, k.CATEGORY_WORD, k.CATEGORY_LINEBREAK,
                            k.CATEGORY_UNI_DIGIT, k.CATEGORY_UNI_SPACE, k.CATEGORY_UNI_WORD,
                            k.CATEGORY_UNI_LINEBREAK):
                return None
        else:
            return None
    return found != negate


def column_matcher(pattern: str, flags: int = re.DOTALL) -> re.Pattern | None:
    """A regex that fullmatches ``SEP.join(cells)`` exactly when every cell is empty or
    fullmatches ``pattern`` (cells must not contain SEP), or None when that cannot be proved.
    Each cell's match is atomic and must end at its separator, so a bad cell fails the
    chunk quickly (no backtracking into earlier cells)."""
    try:
        from re import _parser

        if _consumes_sep(_parser.parse(pattern, flags)) is not False:
            return None
        cell = rf"(?>(?:{pattern})?(?=\x00|\Z))"
        return re.compile(rf"{cell}(?:\x00{cell})*+", flags)
    except (ImportError, re.error, AttributeError, TypeError, ValueError, RecursionError):
        return None  # e.g. a global inline flag such as (?i) cannot be wrapped


def chunk_matches(matcher: re.Pattern, cells) -> bool:
    """True when every cell of the chunk is empty or matches (see column_matcher)."""
    if not cells:
        return True
    joined = SEP.join(cells)
    return joined.count(SEP) == len(cells) - 1 and matcher.fullmatch(joined) is not None


# -- shape checks ------------------------------------------------------------------------
# A regex without back references or case folding tells two characters apart only through
# the character sets ("atoms": literals, classes, categories) that it tests them against.
# ASCII characters that belong to the same atoms are interchangeable: replacing each by one
# representative of its class (a bytes.translate over the whole chunk) turns the cells into
# "shapes" ("(801) 555-0101" -> "(000) 000-0000" for a phone pattern) with the same verdict.
# A chunk then costs one translate and a set of its distinct shapes; the regex runs once per
# shape ever seen instead of once per cell (this is how DFA engines partition bytes).
SHAPE_LIMIT = 20_000  # distinct shapes remembered per column; past this, shapes stop paying


def shape_table(pattern: str, flags: int = re.DOTALL) -> bytes | None:
    """A 256-byte translate table mapping each ASCII character to the representative of its
    class for ``pattern`` (see above), or None when the pattern uses something the classes
    cannot stand for (back references, conditionals, case-insensitive matching)."""
    try:
        from re import _constants as k
        from re import _parser

        parsed = _parser.parse(pattern, flags)
    except (ImportError, re.error, AttributeError, TypeError, ValueError, RecursionError):
        return None
    if parsed.state.flags & (re.IGNORECASE | re.LOCALE):
        return None
    cat_flags = parsed.state.flags & (re.ASCII | re.UNICODE)
    atoms: list[frozenset[int]] = []
    if not _collect_atoms(parsed, atoms, k, cat_flags):
        return None
    table = bytearray(range(256))
    rep: dict[tuple, int] = {}
    for c in range(1, 128):
        if c in (10, 13):  # line ends: anchors and '.' without DOTALL treat them apart
            continue
        sig = tuple(c in a for a in atoms)
        table[c] = rep.setdefault(sig, c)
    return bytes(table)


_ASCII = range(1, 128)
_CATEGORY_RX = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
                "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W"}


def _category(av, cat_flags: int) -> frozenset[int] | None:
    rx = _CATEGORY_RX.get(str(av))
    if rx is None:
        return None
    one = re.compile(rx, cat_flags)
    return frozenset(c for c in _ASCII if one.fullmatch(chr(c)))


def _class_members(items, k, cat_flags: int) -> frozenset[int] | None:
    members: set[int] = set()
    negate = False
    for op, av in items:
        if op is k.NEGATE:
            negate = True
        elif op is k.LITERAL:
            members.add(av)
        elif op is k.RANGE:
            members.update(range(av[0], av[1] + 1))
        elif op is k.CATEGORY:
            cat = _category(av, cat_flags)
            if cat is None:
                return None
            members |= cat
        else:
            return None
    ascii_members = frozenset(c for c in members if c < 128)
    return frozenset(_ASCII).difference(ascii_members) if negate else ascii_members


def _collect_atoms(items, atoms: list, k, cat_flags: int) -> bool:
    """Add the character sets the (sub)pattern tests characters against; False when it uses
    something the shapes cannot stand for."""
    for op, av in items:
        if op is k.LITERAL:
            atoms.append(frozenset((av,)))
        elif op is k.NOT_LITERAL:
            atoms.append(frozenset(_ASCII).difference((av,)))
        elif op is k.ANY:
            atoms.append(frozenset(_ASCII))
        elif op is k.IN:
            members = _class_members(av, k, cat_flags)
            if members is None:
                return False
            atoms.append(members)
        elif op is k.SUBPATTERN:
            if av[1] & (re.IGNORECASE | re.LOCALE | re.ASCII | re.UNICODE):
                return False
            if not _collect_atoms(av[3], atoms, k, cat_flags):
                return False
        elif op is k.BRANCH:
            if not all(_collect_atoms(alt, atoms, k, cat_flags) for alt in av[1]):
                return False
        elif op in (k.MAX_REPEAT, k.MIN_REPEAT, k.POSSESSIVE_REPEAT):
            if not _collect_atoms(av[2], atoms, k, cat_flags):
                return False
        elif op is k.ATOMIC_GROUP:
            if not _collect_atoms(av, atoms, k, cat_flags):
                return False
        elif op in (k.ASSERT, k.ASSERT_NOT):
            if not _collect_atoms(av[1], atoms, k, cat_flags):
                return False
        elif op is k.AT:
            if av in (k.AT_BOUNDARY, k.AT_NON_BOUNDARY):
                word = _category("CATEGORY_WORD", cat_flags)
                if word is None:
                    return False
                atoms.append(word)
            elif av not in (k.AT_BEGINNING, k.AT_BEGINNING_LINE, k.AT_BEGINNING_STRING, k.AT_END,
                            k.AT_END_LINE, k.AT_END_STRING):
                return False
        else:  # GROUPREF, GROUPREF_EXISTS, anything newer: not reasoned about
            return False
    return True


class ShapeMatcher:
    """Checks chunks of a column against a pattern by their shapes (see shape_table)."""

    def __init__(self, rx: re.Pattern, table: bytes):
        self.rx = rx
        self.table = table
        self.good: set[bytes] = {b""}  # an empty cell is absent: the caller checks required
        self.bad: set[bytes] = set()
        self.paying = True
        self.joined: tuple = ((), "")  # the last chunk's cells and their SEP-join

    @classmethod
    def for_pattern(cls, pattern: str, rx: re.Pattern) -> ShapeMatcher | None:
        table = shape_table(pattern, rx.flags & ~re.UNICODE)
        return None if table is None else cls(rx, table)

    def matches(self, cells) -> bool | None:
        """True: every cell is empty or matches; False: some cell does not; None: this chunk
        cannot be told by shapes (non-ASCII text, a NUL in a cell, too many shapes)."""
        if not self.paying:
            return None
        if not cells:
            return True
        joined = SEP.join(cells)
        if not joined.isascii():
            return None
        data = joined.encode("ascii")
        if data.count(b"\x00") != len(cells) - 1:
            return None
        self.joined = (cells, joined)  # the column store may keep it (see Converter.joined_of)
        shapes = set(data.translate(self.table).split(b"\x00"))
        if shapes <= self.good:
            return True
        if not self.bad.isdisjoint(shapes):
            return False
        new = shapes - self.good
        too_many = len(self.good) + len(self.bad) + len(new) > SHAPE_LIMIT
        if too_many or len(new) * 2 > len(cells):
            # the shapes are nearly as many as the cells: they stop paying once a long chunk
            # shows it (short chunks prove nothing), or when too many are remembered
            self.paying = not too_many and len(cells) < ADAPT_MIN
            return None
        fullmatch = self.rx.fullmatch
        ok = True
        for s in new:
            if fullmatch(s.decode("ascii")):
                self.good.add(s)
            else:
                self.bad.add(s)
                ok = False
        return ok


# Past this many distinct values a column stops caching and converts cell by cell.
CACHE_LIMIT = 40_000
ADAPT_MIN = 512  # a chunk at least this long decides whether a column caches
AMOUNT_CACHE_LIMIT = 100_000


class CellError(ValueError):
    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule
        self.message = message


_MISS = object()  # a cache lookup that found nothing


class _Bad:
    """A cached conversion failure (kept in the distinct-value cache)."""

    __slots__ = ("error",)

    def __init__(self, error: CellError):
        self.error = error


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


class Converter:
    """Converts the cells of one column. Not thread-safe: one per read."""

    def __init__(self, column: Column):
        self.col = column
        self.name = column.name
        t = column.type
        self.type = t
        self._rx = re.compile(column.pattern, PATTERN_FLAGS) if column.pattern else None
        self._simple = simple_class(column.pattern) if column.pattern else None
        self._joined = column_matcher(column.pattern, PATTERN_FLAGS) if column.pattern and not self._simple else None
        self._shapes = ShapeMatcher.for_pattern(column.pattern, self._rx) if self._rx and not self._simple else None
        # a pattern no blank text can match already sends blank cells to the rule book
        self._blank_fails = self._rx is not None and not any(
            self._rx.fullmatch(b) for b in (" ", "  ", "\t", "\xa0", " \t ", "\u3000"))
        # Columns with few distinct values convert each distinct text once (int, date, flag,
        # enum; amounts repeat a lot in billing data too). Text with a rule and timestamps
        # decide on their first chunk; text without any rule needs no conversion at all.
        self._cache: dict | None = {} if t in ("int", "date", "flag", "enum") else None
        self._limit = AMOUNT_CACHE_LIMIT if t == "amount" else CACHE_LIMIT
        plain_text = t == "text" and not (column.pattern or column.required or column.max_length
                                          or column.default)
        self._adaptive = t in ("timestamp", "amount") or (t == "text" and not plain_text)
        self._bad_keys: set[str] = set()
        self._uniform = False  # the last chunk held one value only (see _cached)
        self._dedupe_amounts = t == "amount"  # until a long chunk shows few repeats (see _amounts)
        self._droppable = False  # an adaptive cache that may be dropped when it stops paying
        self.absent = "" if t == "text" else None
        self.default = self.absent
        if column.default is not None:
            try:
                self.default = self._parse(column.default.strip() if t != "text" else column.default)
            except CellError as exc:
                raise ValueError(f"column {column.name}: default {column.default!r}: {exc.message}") from exc
        if t == "enum":
            self._enum = {(v if column.case_sensitive else v.casefold()): v for v in column.values}
        if t == "date":
            self._date_rx, self._date_groups = _DATE_RE[column.date_format]
        self._needs_range = any(v is not None for v in (column.minimum, column.maximum, column.exclusive_minimum))
        # What the reader can tell the rules without another pass over the column:
        # every distinct value (while the cache has seen every cell) and whether any amount
        # or number may be negative (a negative is always written with '-').
        self.complete_cache = self._cache is not None
        self.may_be_negative = t in ("amount", "int") and self.default is not None and self.default < 0

    # -- the rule book -------------------------------------------------------------
    def cell(self, text: str):
        """Typed value of one cell, or CellError naming the rule broken."""
        if not text or _BLANK.fullmatch(text):
            if self.col.required:
                raise CellError("required", f"{self.name} is required")
            return self.default
        return self._parse(text if self.type == "text" else text.strip())

    def _parse(self, s: str):
        c = self.col
        t = self.type
        if t == "text":
            if self._rx is not None and not self._rx.fullmatch(s):
                help_ = f" (expected {c.pattern_help})" if c.pattern_help else ""
                raise CellError("format", f"{c.name} {_show(s)} is not valid{help_}")
            if c.max_length is not None and len(s) > c.max_length:
                raise CellError("max_length", f"{c.name} is {len(s)} characters long, at most {c.max_length} allowed")
            return s
        if t == "amount":
            if c.implied_decimals:
                if not _INT.fullmatch(s):
                    raise CellError("amount", f"{c.name} {_show(s)} is not an amount in implied cents")
                if len(s.lstrip("-")) > MAX_INTEGER_DIGITS + c.implied_decimals:
                    raise CellError("amount", f"{c.name} {_show(s)} is over {MAX_INTEGER_DIGITS} digits in dollars")
                value = Decimal(int(s)).scaleb(-c.implied_decimals).quantize(CENT)
            else:
                try:
                    value = parse_amount(s)
                except AmountError as exc:
                    raise CellError("amount", f"{c.name}: {exc}") from None
            self._check_range(value)
            return value
        if t == "int":
            if not _INT.fullmatch(s):
                raise CellError("int", f"{c.name} {_show(s)} is not a whole number")
            if len(s.lstrip("-")) > MAX_INT_DIGITS:
                raise CellError("int", f"{c.name} {_show(s)} has more than {MAX_INT_DIGITS} digits")
            value = int(s)
            self._check_range(value)
            return value
        if t == "date":
            m = self._date_rx.fullmatch(s)
            if not m:
                raise CellError("date", f"{c.name} {_show(s)} is not a date ({c.date_format})")
            y, mo, d = (int(m.group(g)) for g in self._date_groups)
            if c.date_format == "YYMMDD":
                y += 2000
            try:
                return dt.date(y, mo, d)
            except ValueError:
                raise CellError("date", f"{c.name} {_show(s)} is not a real date") from None
        if t == "timestamp":
            return self._timestamp(s)
        if t == "flag":
            if s == c.true_value:
                return True
            if s == c.false_value:
                return False
            raise CellError("flag", f"{c.name} {_show(s)} is not {c.true_value} or {c.false_value}")
        if t == "enum":
            v = self._enum.get(s if c.case_sensitive else s.casefold())
            if v is None:
                raise CellError("enum", f"{c.name} {_show(s)} is not one of {', '.join(c.values)}")
            return v
        raise AssertionError(t)

    def _timestamp(self, s: str) -> dt.datetime:
        c = self.col
        m = _TS_US.fullmatch(s)
        try:
            if m:
                mo, d, y, hh, mi, ss = map(int, m.groups())
                return dt.datetime(y, mo, d, hh, mi, ss)
            if _ISO_HINT.match(s):
                v = dt.datetime.fromisoformat(s)
                if v.tzinfo is not None:
                    v = v.astimezone().replace(tzinfo=None)
                return v
        except (ValueError, OverflowError):
            raise CellError("timestamp", f"{c.name} {_show(s)} is not a real date and time") from None
        raise CellError("timestamp", f"{c.name} {_show(s)} is not a timestamp (MM/DD/YYYY HH:MM:SS or ISO 8601)")

    def _check_range(self, value) -> None:
        c = self.col
        if c.minimum is not None and value < c.minimum:
            raise CellError("minimum", f"{c.name} {value} is below the minimum {c.minimum}")
        if c.exclusive_minimum is not None and value <= c.exclusive_minimum:
            raise CellError("minimum", f"{c.name} {value} must be greater than {c.exclusive_minimum}")
        if c.maximum is not None and value > c.maximum:
            raise CellError("maximum", f"{c.name} {value} is above the maximum {c.maximum}")

    # -- whole columns ------------------------------------------------------------
    def distinct_values(self) -> set | None:
        """Every value this column can hold so far (None included), when the cache has seen
        every cell; else None."""
        if not self.complete_cache or self._cache is None:
            return None
        values = {v for v in self._cache.values() if not isinstance(v, _Bad)}
        values.update((None, self.default))
        return values

    def joined_of(self, values) -> str | None:
        """``SEP.join(values)`` when the shape check just made it for these very cells."""
        if self._shapes is not None:
            cells, joined = self._shapes.joined
            if cells is values:
                return joined
        return None

    def column(self, cells) -> tuple[list, list[tuple[int, CellError]]]:
        """Convert a chunk of cells. Returns (values, [(index, CellError)]); for text columns
        the values may be the cells themselves (a sequence the caller copies)."""
        if not self.may_be_negative and self.type in ("amount", "int") and "-" in "".join(cells):
            self.may_be_negative = True
        if self._adaptive and len(cells) >= ADAPT_MIN:
            self._adaptive = False
            # a cache pays only when values repeat a lot (states, cities, fees, zero balances)
            if len(set(cells)) * 10 < len(cells):
                self._cache = {}
                self._droppable = True
        if self._cache is not None:
            return self._cached(cells)
        fast = self._fast(cells)
        if fast is not None:
            return fast, []
        return self._slow(cells)

    def _slow(self, cells) -> tuple[list, list[tuple[int, CellError]]]:
        out = []
        bad: list[tuple[int, CellError]] = []
        conv = self.cell
        fail = None if self.type != "text" else ""
        for i, s in enumerate(cells):
            try:
                out.append(conv(s))
            except CellError as exc:
                bad.append((i, exc))
                out.append(s if fail == "" and exc.rule != "required" else fail)
        return out, bad

    def _cached(self, cells) -> tuple[list, list[tuple[int, CellError]]]:
        cache = self._cache
        if cache and not self._bad_keys:  # warm cache, nothing bad seen: one lookup per cell
            if self._uniform and cells:
                # one billing cycle: the same bill date (type, fee) on every row; comparing
                # cells is cheaper than hashing each new string for a lookup
                first = cells[0]
                value = cache.get(first, _MISS)
                if value is not _MISS and cells.count(first) == len(cells):
                    return [value] * len(cells), []
                self._uniform = False
            try:
                return list(map(cache.__getitem__, cells)), []
            except KeyError:
                pass  # a new value: see below
        uniq = set(cells)
        self._uniform = len(uniq) == 1
        new = list(uniq.difference(cache)) if cache else list(uniq)
        if self._droppable and cache and len(new) * 4 > len(cells):
            # new values keep coming: the cache costs more than it saves; convert directly
            self._cache = None
            self.complete_cache = False
            self._bad_keys = set()
            fast = self._fast(cells)
            return (fast, []) if fast is not None else self._slow(cells)
        converted = self._fast(new) if len(new) > 8 else None
        if converted is not None:
            cache.update(zip(new, converted, strict=True))
        else:
            for u in new:
                try:
                    cache[u] = self.cell(u)
                except CellError as exc:
                    cache[u] = _Bad(exc)
                    self._bad_keys.add(u)
        values = list(map(cache.__getitem__, cells))
        bad: list[tuple[int, CellError]] = []
        if self._bad_keys and not self._bad_keys.isdisjoint(uniq):
            keys = self._bad_keys
            fail = self.absent
            for i in compress(count(), map(keys.__contains__, cells)):
                err = values[i].error
                bad.append((i, err))
                values[i] = cells[i] if self.type == "text" and err.rule != "required" else fail
        if len(cache) > self._limit:
            self._cache = None  # too many distinct values: convert directly from now on
            self.complete_cache = False
            self._bad_keys = set()
        return values, bad

    def _fast(self, cells) -> list | None:
        """The whole chunk converted at C speed, or None if anything needs a closer look."""
        t = self.type
        c = self.col
        if t == "text":
            if c.required and "" in cells:
                return None
            if not self._blank_fails and any(map(str.isspace, cells)):
                return None
            # empty cells are absent (required was checked above): filter(None) skips them
            if self._rx is not None and not self._simple_ok(cells):
                verdict = self._shapes.matches(cells) if self._shapes is not None else None
                if verdict is False:
                    return None
                if verdict is None and not (chunk_matches(self._joined, cells) if self._joined is not None
                                            else all(map(self._rx.fullmatch, filter(None, cells)))):
                    return None
            if c.max_length is not None and max(map(len, cells), default=0) > c.max_length:
                return None
            if self.default != "" and "" in cells:
                return None
            return cells  # the caller copies the cells into its column store
        if t == "amount":
            if c.implied_decimals:
                return None
            if "" not in cells:
                values = self._amounts(cells)
                if values is None:
                    return None
            elif c.required or not all(map(_AMOUNT_CANON_OPT.fullmatch, cells)):
                return None
            else:
                d = self.default
                values = [Decimal(s) if s else d for s in cells]
            if self._needs_range and not self._range_ok(cells, values):
                return None
            return values
        if t == "timestamp":
            return _us_timestamps(cells)
        return None

    def cents_column(self, cells) -> tuple[list, list[tuple[int, CellError]]]:
        """An amount chunk as integer cents (None where absent or unreadable), for a reader
        that keeps amounts packed (see console.files.packed.PackedAmounts); same rules and
        problems as ``column``."""
        c = self.col
        if cells and not (self._needs_range or c.implied_decimals or self._cache is not None) \
                and "" not in cells:
            found = _canonical_cents(cells)
            if found is not None:
                cents, negative = found
                self._adaptive = False  # int() per cell is cheaper than any cache
                if negative:
                    self.may_be_negative = True
                return cents, []
        values, bad = self.column(cells)
        return [None if v is None else int(v.scaleb(2)) for v in values], bad

    def _amounts(self, cells) -> list | None:
        """A chunk of canonical amounts; a chunk in which amounts repeat (zero balances, flat
        fees) converts each distinct text once and shares the Decimal (less to allocate)."""
        if self._dedupe_amounts:
            uniq = set(cells)
            if len(uniq) * 2 <= len(cells):
                keys = list(uniq)
                converted = _canonical_amounts(keys)  # every cell is one of these texts
                if converted is None:
                    return None
                return list(map(dict(zip(keys, converted, strict=True)).__getitem__, cells))
            if len(cells) >= ADAPT_MIN:
                self._dedupe_amounts = False  # the amounts hardly repeat in this column
        return _canonical_amounts(cells)

    def _range_ok(self, cells, values) -> bool:
        """Whether every present amount of the chunk is within the column's bounds."""
        c = self.col
        lows = [b for b in (c.minimum, c.exclusive_minimum) if b is not None]
        if c.maximum is None and all(b == 0 for b in lows):
            # the usual bounds (> 0, >= 0) read off the canonical text: no '-' and, for > 0,
            # no zero amount
            text = "\n" + "\n".join(cells) + "\n"
            if "-" not in text:
                return c.exclusive_minimum is None or not _ZERO_AMOUNT.search(text)
        present = [v for v in values if v is not None] if "" in cells else values
        if not present:
            return True
        if lows:
            lo = min(present)
            if (c.minimum is not None and lo < c.minimum) or \
                    (c.exclusive_minimum is not None and lo <= c.exclusive_minimum):
                return False
        return c.maximum is None or max(present) <= c.maximum

    def _simple_ok(self, cells) -> bool:
        """A simple-class pattern checked for the whole chunk at once (False: look closer)."""
        if self._simple is None:
            return False
        allowed, low, high = self._simple
        try:
            data = "".join(cells).encode("ascii")
        except UnicodeEncodeError:
            return False
        if data.translate(None, allowed):
            return False
        lengths = set(map(len, cells))
        lengths.discard(0)  # absent (required is checked before)
        return not lengths or (min(lengths) >= low and max(lengths) <= high)


def _canonical_data(cells) -> bytes | None:
    """The chunk as ASCII, one cell a line, when every cell is written exactly ``-?digits.dd``
    (what exports write) but for a misplaced '-'; else None."""
    try:
        data = ("\n".join(cells) + "\n").encode("ascii")
    except UnicodeEncodeError:
        return None
    # only digits, '.', '-'; as many '.' as cells, and every cell ends in '.' and two digits
    # (occurrences of ".00\n" cannot overlap: one per line end at most); so each cell has its
    # one '.' followed by exactly two digits.
    n = len(cells)
    if data.translate(None, _AMOUNT_BYTES_NL) or data.count(b".") != n or max(map(len, cells)) > _CANON_MAX_LEN \
            or data.translate(_DIGITS_AS_ZERO).count(b".00\n") != n:
        return None
    return data


def _canonical_amounts(cells) -> list | None:
    """Canonical amounts (see _canonical_data) as Decimals, or None to look closer."""
    if _canonical_data(cells) is None:
        return None
    try:  # a misplaced '-' makes create_decimal refuse
        return list(map(_EXACT.create_decimal, cells))
    except InvalidOperation:
        return None


def _canonical_cents(cells) -> tuple[list[int], bool] | None:
    """Canonical amounts (see _canonical_data) as integer cents, and whether any is
    negative; None to look closer."""
    data = _canonical_data(cells)
    if data is None:
        return None
    try:  # only digits and '-' are left: int() refuses a misplaced '-'
        return list(map(int, data.translate(None, b".").split(b"\n")[:len(cells)])), b"-" in data
    except ValueError:
        return None


# MM/DD/YYYY HH:MM:SS -> YYYY-MM-DDTHH:MM:SS by moving bytes with strided slices (20 = 19 + "\n").
_TS_MOVES = ((0, 6), (1, 7), (2, 8), (3, 9), (5, 0), (6, 1), (8, 3), (9, 4))
_TS_DIGITS = (0, 1, 3, 4, 6, 7, 8, 9, 11, 12, 14, 15, 17, 18)
_TS_FIXED = ((2, b"/"), (5, b"/"), (10, b" "), (13, b":"), (16, b":"))


def _us_timestamps(cells) -> list | None:
    """A chunk of ``MM/DD/YYYY HH:MM:SS`` timestamps at C speed, or None to look closer."""
    n = len(cells)
    if not n or set(map(len, cells)) != {19}:
        return None
    try:
        src = ("\n".join(cells) + "\n").encode("ascii")
    except UnicodeEncodeError:
        return None
    if not b"".join(src[p::20] for p in _TS_DIGITS).isdigit():
        return None
    if any(src[p::20] != ch * n for p, ch in _TS_FIXED):
        return None
    out = bytearray(src)
    for dst, at in _TS_MOVES:
        out[dst::20] = src[at::20]
    out[4::20] = b"-" * n
    out[7::20] = b"-" * n
    out[10::20] = b"T" * n
    try:
        return list(map(dt.datetime.fromisoformat, out.decode("ascii").split("\n")[:n]))
    except ValueError:
        return None  # month 13, February 30...: the slow path names the cell
