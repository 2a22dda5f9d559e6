"""Bill templates: where the account number is printed on a bill page.

A template is a small TOML file (see docs/bill-templates.md)::

    name = "Springville utility bill"          # optional
    region = [60, 75, 330, 100]                # x0, top, x1, bottom in points, top-left origin
    pattern = 'Account Number:\\s*(?P<account>\\d{6}-\\d{2})'
    continuation = "no-match"                  # a page without a match continues the bill

Loading validates everything and raises :class:`ValidationError` with one
:class:`Problem` per broken rule (line of the key, the key, the rule).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from console.domain.wording import counted
from console.errors import Problem, ValidationError

CONTINUATIONS = {
    "no-match": "a page without a match belongs to the bill before it",
    "same-account": "a page without a match, or with the same account as the page before, "
                    "belongs to the bill before it",
    "none": "every bill is one page; a page without a match is reported",
}
KEYS = ("name", "region", "pattern", "continuation")
MAX_POINTS = 14400.0  # the largest page PDF allows (200 inches)


@dataclass(frozen=True)
class BillTemplate:
    region: tuple[float, float, float, float]  # x0, top, x1, bottom (points, top-left origin)
    pattern: str
    continuation: str = "no-match"
    name: str = ""

    @property
    def regex(self) -> re.Pattern[str]:
        return _compile(self.pattern)

    def find_account(self, text: str) -> str | None:
        """The account number in a region's text, or None when the pattern does not match."""
        m = self.regex.search(normalise_text(text))
        if not m:
            return None
        account = (m.group("account") or "").strip()
        return account or None

    def to_toml(self) -> str:
        data: dict = {}
        if self.name:
            data["name"] = self.name
        data["region"] = [_num(v) for v in self.region]
        data["pattern"] = self.pattern
        data["continuation"] = self.continuation
        return tomli_w.dumps(data)

    def save(self, path: Path) -> None:
        """Write the template atomically (validated first, so a bad one never reaches disk)."""
        parse_template(self.to_toml(), source=str(path))
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(self.to_toml(), encoding="utf-8")
        tmp.replace(path)


def normalise_text(text: str) -> str:
    """PDFium separates lines with CR LF and may leave NULs; patterns see plain ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").replace("\ufffe", "")


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else float(v)


_CACHE: dict[str, re.Pattern[str]] = {}


def _compile(pattern: str) -> re.Pattern[str]:
    rx = _CACHE.get(pattern)
    if rx is None:
        rx = re.compile(pattern)
        _CACHE[pattern] = rx
    return rx


def load_template(path: Path | str) -> BillTemplate:
    """Read and validate a template file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ValidationError(f"Template {path} does not exist.",
                              [Problem(None, None, "file", f"no such file: {path}")]) from None
    except OSError as exc:
        raise ValidationError(f"Template {path} cannot be read: {exc.strerror or exc}.",
                              [Problem(None, None, "file", str(exc))]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"Template {path} is not UTF-8 text.",
                              [Problem(None, None, "encoding", f"byte {exc.start} is not UTF-8")]) from None
    return parse_template(text, source=str(path))


def parse_template(text: str, source: str = "template") -> BillTemplate:
    """Validate template TOML text; every problem is reported at once."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+), column (\d+)", str(exc))
        line = int(m.group(1)) if m else None
        raise ValidationError(f"Template {source} is not valid TOML: {exc}",
                              [Problem(line, None, "toml", str(exc))]) from None

    problems: list[Problem] = []

    def add(key: str | None, rule: str, message: str) -> None:
        problems.append(Problem(_line_of(text, key) if key else None, key, rule, message))

    for key in data:
        if key not in KEYS:
            add(key, "unknown-key", f"unknown key {key!r}; a template has {', '.join(KEYS)}")

    name = data.get("name", "")
    if not isinstance(name, str):
        add("name", "type", "name must be a string")
        name = ""

    region = _check_region(data.get("region"), add)
    pattern = _check_pattern(data.get("pattern"), add)

    continuation = data.get("continuation", "no-match")
    if not isinstance(continuation, str) or continuation not in CONTINUATIONS:
        add("continuation", "continuation",
            f"continuation {continuation!r} is not known; use one of: "
            + "; ".join(f'"{k}" ({v})' for k, v in CONTINUATIONS.items()))

    if problems:
        raise ValidationError(f"Template {source} has {counted(len(problems), 'problem')}: "
                              + "; ".join(str(p) for p in problems), problems)
    assert region is not None and pattern is not None
    return BillTemplate(region=region, pattern=pattern, continuation=continuation, name=name)


def _check_region(value, add) -> tuple[float, float, float, float] | None:
    if value is None:
        add(None, "required", "region is missing: region = [x0, top, x1, bottom] in points")
        return None
    if (not isinstance(value, list) or len(value) != 4
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
        add("region", "region", "region must be four numbers: [x0, top, x1, bottom] in points")
        return None
    x0, top, x1, bottom = (float(v) for v in value)
    bad = False
    if min(x0, top, x1, bottom) < 0 or max(x0, top, x1, bottom) > MAX_POINTS:
        add("region", "region-range", f"region values must be between 0 and {MAX_POINTS:g} points "
            "(measured from the page's top-left corner)")
        bad = True
    if x1 <= x0:
        add("region", "region-order", f"region x1 ({x1:g}) must be greater than x0 ({x0:g})")
        bad = True
    if bottom <= top:
        add("region", "region-order", f"region bottom ({bottom:g}) must be greater than top ({top:g}); "
            "top is measured downwards from the top of the page")
        bad = True
    return None if bad else (x0, top, x1, bottom)


def _check_pattern(value, add) -> str | None:
    if value is None:
        add(None, "required", "pattern is missing: a regular expression with a group (?P<account>...)")
        return None
    if not isinstance(value, str) or not value.strip():
        add("pattern", "type", "pattern must be a non-empty string")
        return None
    try:
        rx = _compile(value)
    except re.error as exc:
        add("pattern", "regex", f"pattern is not a valid regular expression: {exc}")
        return None
    if "account" not in rx.groupindex:
        add("pattern", "account-group", "pattern needs a named group for the account number, "
            "e.g. 'Account:\\s*(?P<account>\\d+)'")
        return None
    if rx.fullmatch("") is not None or rx.search("") is not None:
        add("pattern", "matches-empty", "pattern matches empty text, so every page would match")
        return None
    return value


def _line_of(text: str, key: str) -> int | None:
    rx = re.compile(rf"^\s*{re.escape(key)}\s*=", re.M)
    m = rx.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None
