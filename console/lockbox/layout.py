"""Fixed-width lockbox layouts as data (``resources/layouts/lockbox-*.toml``).

A layout names six record roles (file header, batch header, detail, overflow, batch trailer,
file trailer), the character that marks each in column 1, and each field's 1-based inclusive
positions and kind. ``load_lockbox_layout`` reads and checks such a file and compiles it into
``FixedLayout`` — slices and encoders the builder and reader use; no position lives in code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from console.errors import Problem, ValidationError
from console.paths import resource

DEFAULT_LAYOUT = "lockbox-bai80"

ROLES = ("file_header", "batch_header", "detail", "overflow", "batch_trailer", "file_trailer")
KINDS = ("const", "alpha", "number", "amount", "date", "time")

# Values the builder can put into each role (besides any "const" field).
_ITEM_FIELDS = frozenset({"batch", "item", "amount", "reference", "gl_account", "item_code", "confirmation",
                          "payer_name", "memo", "invoice_number", "payment_id"})
KNOWN_FIELDS: dict[str, frozenset[str]] = {
    "file_header": frozenset({"destination", "origin", "created_date", "created_time"}),
    "batch_header": frozenset({"batch", "lockbox_number", "deposit_date"}),
    "detail": _ITEM_FIELDS,
    "overflow": _ITEM_FIELDS,
    "batch_trailer": frozenset({"batch", "item_count", "batch_total", "lockbox_number", "deposit_date"}),
    "file_trailer": frozenset({"batch_count", "record_count", "file_total", "item_count"}),
}
# What must be there for a file to be checkable and an item to be identifiable.
REQUIRED_FIELDS: dict[str, frozenset[str]] = {
    "file_header": frozenset(),
    "batch_header": frozenset({"batch"}),
    "detail": frozenset({"batch", "item", "amount", "confirmation", "gl_account", "item_code"}),
    "overflow": frozenset({"batch", "item"}),
    "batch_trailer": frozenset({"batch", "item_count", "batch_total"}),
    "file_trailer": frozenset({"record_count", "file_total"}),
}
_LINE_ENDINGS = {"CRLF": "\r\n", "LF": "\n"}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    start: int  # 1-based, inclusive
    end: int  # 1-based, inclusive
    kind: str
    value: str = ""  # const
    format: str = ""  # date / time
    overflow: str = "error"  # alpha: "error" | "truncate"
    label: str = ""

    @property
    def width(self) -> int:
        return self.end - self.start + 1

    @property
    def column(self) -> str:
        """How errors name the field: ``amount (8-17)``."""
        return f"{self.name} ({self.start}-{self.end})"


@dataclass(frozen=True)
class RecordSpec:
    role: str
    type: str
    fields: tuple[FieldSpec, ...]
    # compiled: (start0, end0) slices, gaps between fields (filled with spaces)
    slices: tuple[tuple[int, int], ...] = ()
    gaps: tuple[tuple[int, int], ...] = ()

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity (it is cached per layout)
class FixedLayout:
    name: str
    description: str
    record_length: int
    line_ending: str
    max_items_per_batch: int
    records: dict[str, RecordSpec]
    source: Path | None = None
    by_type: dict[str, RecordSpec] = field(default_factory=dict)

    def record(self, role: str) -> RecordSpec:
        return self.records[role]

    @property
    def max_batches(self) -> int:
        """How many batches the batch-number field can count."""
        f = self.records["batch_header"].field("batch")
        return 10 ** f.width - 1 if f else 1


def _problem(where: str, rule: str, message: str) -> Problem:
    return Problem(None, where, rule, message)


def _parse_field(role: str, raw: dict, problems: list[Problem]) -> FieldSpec | None:
    where = f"records.{role}.{raw.get('name', '?')}"
    try:
        spec = FieldSpec(
            name=str(raw["name"]), start=int(raw["start"]), end=int(raw["end"]), kind=str(raw["kind"]),
            value=str(raw.get("value", "")), format=str(raw.get("format", "")),
            overflow=str(raw.get("overflow", "error")), label=str(raw.get("label", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        problems.append(_problem(where, "field", f"a field needs name, start, end and kind ({exc})"))
        return None
    if spec.kind not in KINDS:
        problems.append(_problem(where, "kind", f"unknown kind {spec.kind!r}; one of {', '.join(KINDS)}"))
    if spec.start < 1 or spec.end < spec.start:
        problems.append(_problem(where, "positions", f"positions {spec.start}-{spec.end} are not a range"))
    if spec.kind == "const" and len(spec.value) != spec.width:
        problems.append(_problem(where, "const", f"constant {spec.value!r} is not {spec.width} characters"))
    if spec.kind in ("const",) and not (spec.value.isascii() and spec.value.isprintable()):
        problems.append(_problem(where, "ascii", "constant must be printable ASCII"))
    if spec.kind in ("date", "time"):
        try:
            sample = datetime(2026, 12, 31, 23, 59).strftime(spec.format)
        except ValueError:
            sample = ""
        if not spec.format or len(sample) != spec.width:
            problems.append(_problem(where, "format",
                                     f"format {spec.format!r} does not give exactly {spec.width} characters"))
    if spec.overflow not in ("error", "truncate"):
        problems.append(_problem(where, "overflow", "overflow is 'error' or 'truncate'"))
    return spec


def parse_layout(data: dict, *, source: Path | None = None) -> FixedLayout:
    """Check and compile a layout dict (the parsed TOML). Raises ValidationError listing every problem."""
    problems: list[Problem] = []
    length = int(data.get("record_length", 0) or 0)
    if length < 10:
        problems.append(_problem("record_length", "record_length", "record_length must be at least 10"))
    ending = str(data.get("line_ending", "CRLF")).upper()
    if ending not in _LINE_ENDINGS:
        problems.append(_problem("line_ending", "line_ending", "line_ending is CRLF or LF"))
    max_items = int(data.get("max_items_per_batch", 0) or 0)
    if max_items < 1:
        problems.append(_problem("max_items_per_batch", "max_items", "max_items_per_batch must be at least 1"))
    raw_records = data.get("records", {})
    records: dict[str, RecordSpec] = {}
    types: dict[str, str] = {}
    for role in ROLES:
        raw = raw_records.get(role)
        if not isinstance(raw, dict):
            problems.append(_problem(f"records.{role}", "role", f"the layout has no [records.{role}]"))
            continue
        rtype = str(raw.get("type", ""))
        if len(rtype) != 1:
            problems.append(_problem(f"records.{role}.type", "type", "the record type is one character"))
        elif rtype in types:
            problems.append(_problem(f"records.{role}.type", "type", f"type {rtype!r} is also {types[rtype]}"))
        types[rtype] = role
        specs = [s for s in (_parse_field(role, f, problems) for f in raw.get("fields", [])) if s]
        specs.sort(key=lambda s: s.start)
        names = [s.name for s in specs]
        for dup in {n for n in names if names.count(n) > 1}:
            problems.append(_problem(f"records.{role}.{dup}", "unique", "field named twice"))
        for s in specs:
            if s.kind != "const" and s.name not in KNOWN_FIELDS[role]:
                problems.append(_problem(f"records.{role}.{s.name}", "name",
                                         f"unknown field; {role} can hold {', '.join(sorted(KNOWN_FIELDS[role]))}"))
            if s.end > length:
                problems.append(_problem(f"records.{role}.{s.name}", "positions",
                                         f"ends at {s.end}, past the record length {length}"))
        for a, b in zip(specs, specs[1:], strict=False):
            if b.start <= a.end:
                problems.append(_problem(f"records.{role}.{b.name}", "overlap", f"overlaps {a.name}"))
        for missing in sorted(REQUIRED_FIELDS[role] - set(names)):
            problems.append(_problem(f"records.{role}", "required", f"{role} needs a field {missing!r}"))
        first = specs[0] if specs else None
        if not first or first.start != 1 or first.kind != "const" or first.value != rtype:
            problems.append(_problem(f"records.{role}", "record_type",
                                     f"position 1 must be a const field holding the type {rtype!r}"))
        gaps, pos = [], 1
        for s in specs:
            if s.start > pos:
                gaps.append((pos - 1, s.start - 1))
            pos = max(pos, s.end + 1)
        if pos <= length:
            gaps.append((pos - 1, length))
        records[role] = RecordSpec(role, rtype, tuple(specs), tuple((s.start - 1, s.end) for s in specs), tuple(gaps))
    if problems:
        raise ValidationError(f"Lockbox layout {data.get('name', source)!s} is not valid", problems)
    return FixedLayout(
        name=str(data.get("name", source.stem if source else "")),
        description=str(data.get("description", "")),
        record_length=length,
        line_ending=_LINE_ENDINGS[ending],
        max_items_per_batch=max_items,
        records=records,
        source=source,
        by_type={r.type: r for r in records.values()},
    )


def layout_file(name: str) -> Path:
    """``<config dir>/layouts/<name>.toml`` (an administrator's copy) wins over the shipped one."""
    from console.paths import Paths

    own = Paths.default().config_dir / "layouts" / f"{name}.toml"
    return own if own.is_file() else resource("layouts", f"{name}.toml")


def load_lockbox_layout(name_or_path: str | Path = DEFAULT_LAYOUT) -> FixedLayout:
    """Load a layout by name (administrator copy first, then ``resources/layouts``) or by path."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = layout_file(str(name_or_path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValidationError(f"Lockbox layout {path} not found",
                              [Problem(None, None, "layout", f"no layout file {path}")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"Lockbox layout {path} is not valid TOML",
                              [Problem(None, None, "toml", str(exc))]) from exc
    return parse_layout(data, source=path)
