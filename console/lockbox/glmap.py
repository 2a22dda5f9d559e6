"""CloudStore item code -> GL account, checked against the biller's GL account format.

The format is either a mask (``NN-NNNN-NNN``: ``N`` a digit, ``A`` a letter, ``X`` a letter or
digit, anything else literal) or a regular expression (``\\d{2}-\\d{4}-\\d{3}``, what the profile
stores by default). A map comes from the profile or from a CSV file with the columns
``ItemCode,GLAccount`` (header matched case-insensitively, UTF-8 with or without BOM).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from console.domain.wording import counted
from console.errors import Problem, ValidationError

DEFAULT_GL_FORMAT = r"\d{2}-\d{4}-\d{3}"
_MASK_RE = re.compile(r"[NAX]+(?:[-./ ]?[NAX]+)*")
_MASK_PARTS = {"N": r"\d", "A": "[A-Za-z]", "X": "[A-Za-z0-9]"}
ITEM_CODE_RE = re.compile(r"[A-Za-z0-9_-]{1,8}")


class GlFormat:
    """A GL account format: a mask like ``NN-NNNN-NNN`` or a regular expression."""

    def __init__(self, pattern: str = DEFAULT_GL_FORMAT):
        self.pattern = (pattern or DEFAULT_GL_FORMAT).strip()
        if _MASK_RE.fullmatch(self.pattern):
            regex = "".join(_MASK_PARTS.get(c, re.escape(c)) for c in self.pattern)
        else:
            regex = self.pattern
        try:
            self._re = re.compile(regex)
        except re.error as exc:
            raise ValidationError(f"GL account format {self.pattern!r} is not a valid pattern",
                                  [Problem(None, "lockbox_gl_format", "gl_format", str(exc))]) from exc

    def matches(self, account: str) -> bool:
        return bool(self._re.fullmatch(account))

    def describe(self) -> str:
        """The format for people: the mask (``NN-NNNN-NNN``) when the pattern is a simple one."""
        if _MASK_RE.fullmatch(self.pattern):
            return self.pattern
        out, rest = [], self.pattern
        token = re.compile(r"(\\d|\[0-9]|\[A-Z]|\[A-Za-z]|\[A-Za-z0-9]|\[A-Z0-9])(?:\{(\d+)\})?|(\\[-.]|[-./ ])")
        letters = {"\\d": "N", "[0-9]": "N", "[A-Z]": "A", "[A-Za-z]": "A", "[A-Za-z0-9]": "X", "[A-Z0-9]": "X"}
        while rest:
            m = token.match(rest)
            if not m:
                return self.pattern
            if m.group(1):
                out.append(letters[m.group(1)] * int(m.group(2) or 1))
            else:
                out.append(m.group(3)[-1])
            rest = rest[m.end():]
        return "".join(out)

    def __str__(self) -> str:
        return self.pattern


@dataclass(frozen=True)
class GlMap:
    """Item code -> GL account. ``source`` says where it came from (profile name or file)."""

    accounts: Mapping[str, str] = field(default_factory=dict)
    source: str = "profile"

    def account(self, item_code: str) -> str | None:
        return self.accounts.get(item_code.strip())

    def __contains__(self, item_code: str) -> bool:
        return item_code.strip() in self.accounts

    def __len__(self) -> int:
        return len(self.accounts)

    def problems(self, gl_format: GlFormat, *, gl_width: int = 20) -> list[Problem]:
        """Every entry that breaks the format; empty when the map is usable."""
        out: list[Problem] = []
        for code, account in sorted(self.accounts.items()):
            out.extend(check_entry(code, account, gl_format, gl_width=gl_width))
        return out

    def with_entry(self, item_code: str, account: str) -> GlMap:
        return GlMap({**self.accounts, item_code.strip(): account.strip()}, self.source)

    def without(self, item_code: str) -> GlMap:
        return GlMap({k: v for k, v in self.accounts.items() if k != item_code}, self.source)


def check_entry(code: str, account: str, gl_format: GlFormat, *, line: int | None = None,
                gl_width: int = 20) -> list[Problem]:
    out = []
    if not ITEM_CODE_RE.fullmatch(code):
        out.append(Problem(line, "ItemCode", "item_code",
                           f"item code {code!r} must be 1-8 letters, digits, '-' or '_'"))
    if not account:
        out.append(Problem(line, "GLAccount", "required", f"item {code} has no GL account"))
    elif not gl_format.matches(account):
        out.append(Problem(line, "GLAccount", "gl_format",
                           f"GL account {account!r} for item {code} does not match the format {gl_format.describe()}"))
    elif len(account) > gl_width:
        out.append(Problem(line, "GLAccount", "width", f"GL account {account!r} is longer than {gl_width}"))
    return out


def load_gl_map_csv(path: Path, gl_format: GlFormat | None = None) -> GlMap:
    """Read an ``ItemCode,GLAccount`` CSV; every broken rule is reported at once (line, column, rule)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"Cannot read the GL map {path}: {exc.strerror}",
                              [Problem(None, None, "file", str(exc))]) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[Problem] = []
    accounts: dict[str, str] = {}
    first_line: dict[str, int] = {}
    header: list[str] | None = None
    fmt = gl_format or GlFormat()
    for row in _rows(reader, path):
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if header is None:
            header = [c.strip().lower() for c in row]
            missing = [c for c in ("itemcode", "glaccount") if c not in header]
            if missing:
                raise ValidationError(f"{path.name} is not a GL map",
                                      [Problem(line, None, "header",
                                               "the header must name the columns ItemCode and GLAccount")])
            ic, ga = header.index("itemcode"), header.index("glaccount")
            continue
        code = row[ic].strip() if ic < len(row) else ""
        account = row[ga].strip() if ga < len(row) else ""
        entry_problems = check_entry(code, account, fmt, line=line)
        problems.extend(entry_problems)
        if code in accounts and accounts[code] != account:
            problems.append(Problem(line, "ItemCode", "unique",
                                    f"item {code} is mapped twice (also on line {first_line[code]})"))
        elif not entry_problems:
            accounts[code] = account
            first_line.setdefault(code, line)
    if header is None:
        problems.append(Problem(None, None, "empty", f"{path.name} is empty"))
    if problems:
        raise ValidationError(f"The GL map {path.name} has {counted(len(problems), 'problem')}", problems)
    return GlMap(accounts, source=str(path))


FIELD_LIMIT = 131_072  # the csv module's default limit; the reader of data files raises it for itself


def _rows(reader, path: Path):
    """The CSV rows; a field past 128 KiB (a quote never closed, or not a GL map at all) is
    one clear problem naming the line, not a csv traceback, whatever limit the process set."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row, reason = None, str(exc)
        else:
            reason = "" if max(map(len, row), default=0) <= FIELD_LIMIT else f"field larger than {FIELD_LIMIT:,}"
        if reason:
            raise ValidationError(f"{path.name} is not a readable GL map",
                                  [Problem(reader.line_num, None, "csv",
                                           f"cannot read this line ({reason}); a GL map line is "
                                           "ItemCode,GLAccount (at most 8 and 20 characters)")])
        yield row


def save_gl_map_csv(path: Path, gl_map: GlMap) -> None:
    """Write ``ItemCode,GLAccount`` atomically (for export / hand-editing)."""
    path = Path(path)
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["ItemCode", "GLAccount"])
    for code, account in sorted(gl_map.accounts.items()):
        w.writerow([code, account])
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8", newline="")
    os.replace(tmp, path)


def unmapped_problems(rows: Iterable[tuple[int | None, str, str]], gl_map: GlMap) -> list[Problem]:
    """One problem per payment whose item code has no GL account: rows are (line, payment id, code)."""
    return [Problem(line, "InvoiceType", "unmapped",
                    f"payment {pid}: CloudStore item code {code!r} has no GL account (source: {gl_map.source})")
            for line, pid, code in rows if code.strip() not in gl_map.accounts]
