"""File layouts: what columns a file has, their types and rules — read from TOML layout files.

A layout lives in ``resources/layouts/<name>.toml`` (shipped) or in
``<config dir>/layouts/<name>.toml`` (an administrator's copy, which wins over the shipped one).
The format is documented in ``docs/layouts.md`` and in the header comment of every shipped
layout. The code reads the layout; it never hard-codes a column.

    layout = load_layout("ic-invoice-v1")
    layout.columns[0].name          # "AccountNumber"
    layout.column("TotalAmountDue") # case-insensitive lookup
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from console.errors import UserFacingError
from console.paths import Paths, resource

TYPES = ("text", "int", "amount", "date", "timestamp", "flag", "enum")
KINDS = ("delimited", "fixed")
DATE_FORMATS = ("MM/DD/YYYY", "YYYYMMDD", "YYMMDD", "MMDDYYYY", "YYYY-MM-DD")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class LayoutError(UserFacingError):
    """A layout file that is missing or does not follow the layout format."""


@dataclass(frozen=True)
class Column:
    """One column of a layout.

    ``default`` is written in file notation (e.g. ``"0"``, ``"N"``) and converted by the
    column's type; ``default_value`` is the converted value (filled by the reader's
    converter module when the layout is loaded).
    """

    name: str
    type: str = "text"
    required: bool = False
    unique: bool = False
    default: str | None = None
    pattern: str | None = None
    pattern_help: str | None = None
    values: tuple[str, ...] = ()
    case_sensitive: bool = True
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    exclusive_minimum: Decimal | None = None
    max_length: int | None = None
    date_format: str = "MM/DD/YYYY"
    true_value: str = "Y"
    false_value: str = "N"
    implied_decimals: int = 0
    start: int | None = None  # fixed width: 1-based, inclusive
    end: int | None = None
    description: str = ""

    @property
    def key(self) -> str:
        return self.name.casefold()


@dataclass(frozen=True)
class Trailer:
    """The optional last line ``TRAILER,<record count>,<control total>``.

    ``control`` is ``"sum"`` (the control total is the sum of ``column``) or ``"count"``
    (record count only; the control total field is then ``0``, empty or the count).
    Fixed-width layouts give the positions of the count and the total.
    """

    marker: str = "TRAILER"
    control: str = "sum"
    column: str | None = None
    required: bool = False
    count_start: int | None = None
    count_end: int | None = None
    total_start: int | None = None
    total_end: int | None = None
    implied_decimals: int = 0


@dataclass(frozen=True)
class Check:
    """A cross-field or whole-file rule, implemented by a registered function (console.files.rules)."""

    rule: str
    severity: str = "error"  # "error" | "warning"
    params: dict = field(default_factory=dict)
    message: str | None = None


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    kind: str
    columns: tuple[Column, ...]
    delimiter: str = ","
    quote: str = '"'
    header: bool = True
    record_length: int | None = None
    trailer: Trailer | None = None
    checks: tuple[Check, ...] = ()
    description: str = ""
    source: Path | None = None
    version: int = 1  # a layout grows optional columns by version (docs/layouts.md)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.key == name.casefold():
                return c
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def is_fixed(self) -> bool:
        return self.kind == "fixed"


def layout_dirs() -> list[Path]:
    """Where layouts are looked up, first match wins: the administrator's copies, then the shipped ones."""
    return [Paths.default().config_dir / "layouts", resource("layouts")]


def find_layout_file(name: str) -> Path:
    p = Path(name)
    if p.suffix == ".toml" and p.exists():
        return p
    if not _NAME_RE.fullmatch(name):
        raise LayoutError(f"{name!r} is not a layout name")
    for d in layout_dirs():
        candidate = d / f"{name}.toml"
        if candidate.is_file():
            return candidate
    raise LayoutError(f"No layout named {name!r}", hint=f"looked in {', '.join(str(d) for d in layout_dirs())}")


_CACHE: dict[tuple[str, float], Layout] = {}


def load_layout(name: str) -> Layout:
    """Load a layout by name (``"ic-payments-v1"``) or by the path of a ``.toml`` file."""
    path = find_layout_file(name)
    key = (str(path.resolve()), path.stat().st_mtime)
    cached = _CACHE.get(key)
    if cached is None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise LayoutError(f"Layout file {path} cannot be read: {exc}") from exc
        cached = parse_layout(data, source=path)
        _CACHE[key] = cached
    return cached


def list_layouts(kind: str | None = None) -> list[str]:
    """Names of the reader layouts available (administrator copies and shipped), sorted."""
    names: set[str] = set()
    for d in layout_dirs():
        if not d.is_dir():
            continue
        for p in d.glob("*.toml"):
            try:
                layout = load_layout(str(p))
            except LayoutError:
                continue  # another format (e.g. the lockbox builder's layout)
            if kind is None or layout.kind == kind:
                names.add(layout.name)
    return sorted(names)


def _dec(value, where: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float):
        raise LayoutError(f"{where}: write numbers as strings (\"0.01\"), not floats")
    try:
        return Decimal(str(value))
    except ArithmeticError as exc:
        raise LayoutError(f"{where}: {value!r} is not a number") from exc


_COLUMN_KEYS = {
    "name", "type", "required", "unique", "default", "pattern", "pattern_help", "values",
    "case_sensitive", "minimum", "maximum", "exclusive_minimum", "max_length", "format",
    "true", "false", "implied_decimals", "start", "end", "description",
}


def _column(raw: dict, index: int, kind: str) -> Column:
    where = f"column {index + 1}"
    if not isinstance(raw, dict) or not raw.get("name"):
        raise LayoutError(f"{where}: every column needs a name")
    name = str(raw["name"])
    where = f"column {name!r}"
    unknown = set(raw) - _COLUMN_KEYS
    if unknown:
        raise LayoutError(f"{where}: unknown keys {sorted(unknown)}")
    ctype = raw.get("type", "text")
    if ctype not in TYPES:
        raise LayoutError(f"{where}: type {ctype!r} is not one of {', '.join(TYPES)}")
    pattern = raw.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise LayoutError(f"{where}: pattern does not compile: {exc}") from exc
    values = tuple(str(v) for v in raw.get("values", ()))
    if ctype == "enum" and not values:
        raise LayoutError(f"{where}: an enum column needs `values`")
    date_format = raw.get("format", "MM/DD/YYYY")
    if ctype == "date" and date_format not in DATE_FORMATS:
        raise LayoutError(f"{where}: date format {date_format!r} is not one of {', '.join(DATE_FORMATS)}")
    start, end = raw.get("start"), raw.get("end")
    if kind == "fixed":
        if not (isinstance(start, int) and isinstance(end, int) and 1 <= start <= end):
            raise LayoutError(f"{where}: fixed-width columns need 1-based `start` <= `end`")
    default = raw.get("default")
    return Column(
        name=name,
        type=ctype,
        required=bool(raw.get("required", False)),
        unique=bool(raw.get("unique", False)),
        default=None if default is None else str(default),
        pattern=pattern,
        pattern_help=raw.get("pattern_help"),
        values=values,
        case_sensitive=bool(raw.get("case_sensitive", True)),
        minimum=_dec(raw.get("minimum"), where),
        maximum=_dec(raw.get("maximum"), where),
        exclusive_minimum=_dec(raw.get("exclusive_minimum"), where),
        max_length=raw.get("max_length"),
        date_format=date_format,
        true_value=str(raw.get("true", "Y")),
        false_value=str(raw.get("false", "N")),
        implied_decimals=int(raw.get("implied_decimals", 0)),
        start=start,
        end=end,
        description=str(raw.get("description", "")),
    )


def _check(raw: dict, severity: str, names: set[str]) -> Check:
    if not isinstance(raw, dict) or not raw.get("rule"):
        raise LayoutError(f"every [[{'checks' if severity == 'error' else 'warnings'}]] entry needs a `rule`")
    params = {k: v for k, v in raw.items() if k not in ("rule", "message", "severity")}
    for k, v in params.items():
        if (k == "column" or k.endswith("_column") or k in _COLUMN_PARAMS) and isinstance(v, str) \
                and v.casefold() not in names:
            raise LayoutError(f"rule {raw['rule']!r}: {k} = {v!r} is not a column of this layout")
    return Check(rule=str(raw["rule"]), severity=str(raw.get("severity", severity)), params=params,
                 message=raw.get("message"))


# Rule parameters that name columns (checked when the layout loads).
_COLUMN_PARAMS = {"total", "previous", "current", "minimum", "bill_date", "due_date", "tender",
                  "last4", "email", "flag", "field", "value", "key", "account", "at", "balance"}


def parse_layout(data: dict, *, source: Path | None = None) -> Layout:
    """Build a Layout from the parsed TOML (raises LayoutError with the reason)."""
    if "columns" not in data:
        raise LayoutError(f"{source or 'layout'}: no [[columns]] (not a reader layout)")
    name = str(data.get("name") or (source.stem if source else ""))
    kind = data.get("kind", "delimited")
    if kind not in KINDS:
        raise LayoutError(f"layout {name!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
    columns = tuple(_column(c, i, kind) for i, c in enumerate(data["columns"]))
    keys = [c.key for c in columns]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise LayoutError(f"layout {name!r}: columns named twice: {sorted(dupes)}")
    names = set(keys)
    trailer = None
    if "trailer" in data:
        t = data["trailer"]
        control = t.get("control", "sum")
        if control not in ("sum", "count"):
            raise LayoutError(f"layout {name!r}: trailer control must be 'sum' or 'count'")
        column = t.get("column")
        if control == "sum":
            if not column or column.casefold() not in names:
                raise LayoutError(f"layout {name!r}: trailer control 'sum' needs an amount `column` of the layout")
            column = columns[keys.index(column.casefold())].name
        cpos, tpos = t.get("count_position"), t.get("total_position")
        if kind == "fixed" and not (cpos and tpos):
            raise LayoutError(f"layout {name!r}: a fixed-width trailer needs count_position and total_position")
        trailer = Trailer(
            marker=str(t.get("marker", "TRAILER")), control=control, column=column,
            required=bool(t.get("required", False)),
            count_start=cpos[0] if cpos else None, count_end=cpos[1] if cpos else None,
            total_start=tpos[0] if tpos else None, total_end=tpos[1] if tpos else None,
            implied_decimals=int(t.get("implied_decimals", 0)),
        )
    checks = tuple(_check(c, "error", names) for c in data.get("checks", ())) + \
        tuple(_check(c, "warning", names) for c in data.get("warnings", ()))
    layout = Layout(
        name=name,
        title=str(data.get("title", name)),
        kind=kind,
        columns=columns,
        delimiter=str(data.get("delimiter", ",")),
        quote=str(data.get("quote", '"')),
        header=bool(data.get("header", kind == "delimited")),
        record_length=data.get("record_length"),
        trailer=trailer,
        checks=checks,
        description=str(data.get("description", "")),
        source=source,
        version=int(data.get("version", 1)),
    )
    from console.files import rules  # registered rule functions
    from console.files.convert import Converter

    for col in columns:
        try:
            Converter(col)  # checks the default against the column's own rules
        except ValueError as exc:
            raise LayoutError(f"layout {name!r}: {exc}") from None

    for check in layout.checks:
        if check.rule not in rules.RULES:
            raise LayoutError(f"layout {name!r}: unknown rule {check.rule!r}",
                              hint=f"known rules: {', '.join(sorted(rules.RULES))}")
    return layout
