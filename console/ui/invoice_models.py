"""The Invoice Import tab's table and problem models and the text it shows (summary, row details).

The table model keeps no per-row Python objects: it reads the reader's column store and
sorts / filters by rearranging one list of record indexes, so 200,000 rows scroll, sort and
filter smoothly.
"""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from console.domain.money import format_money
from console.errors import Problem, UserFacingError
from console.files.reader import ReadResult, UnreadableFileError
from console.formatting import format_date
from console.services.invoices import InvoiceCheck
from console.ui.table_model import ListTableModel

RecordRole = Qt.ItemDataRole.UserRole + 1  # the record index of a table row
ProblemRole = Qt.ItemDataRole.UserRole + 2  # the Problem of a problems row

ERROR_ROW = QColor("#fee2e2")
ERROR_CELL = QColor("#fca5a5")
WARNING_ROW = QColor("#fef3c7")
WARNING_LABELS = {"date_in_past": "Due date in the past", "repeated_value": "Account with several invoices",
                  "negative_value": "Credit balance", "encoding": "Not UTF-8 (read as Windows-1252)",
                  "unknown_column": "Column not in the layout", "no_records": "No invoices"}
FILE_FILTER = "Invoice files (*.txt *.csv *.dat *.bif);;All files (*)"
TRAINING_BUTTON_STYLE = ("QPushButton { background:#fef3c7; color:#92400e; border:1px solid #f59e0b; "
                         "border-radius:3px; padding:3px 10px; } QPushButton:disabled { color:#b8a27a; }")


#: Banner look per state: what the clerk should take from it at a glance.
BANNER_STYLES = {
    "info": "color:#1f2937; padding:4px 6px;",
    "busy": "color:#1f2937; background:#e5e7eb; padding:4px 6px; border-radius:3px;",
    "ok": "color:#166534; background:#dcfce7; padding:4px 6px; border-radius:3px;",
    "warn": "color:#92400e; background:#fef3c7; padding:4px 6px; border-radius:3px;",
    "error": "color:#991b1b; background:#fee2e2; padding:4px 6px; border-radius:3px;",
}


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 error``, ``5 errors``, ``1,234 invoices`` — never ``error(s)``."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def problem_counts(errors: int, warnings: int) -> str:
    """``No problems`` / ``5 errors, 199 warnings`` / ``No errors, 199 warnings``."""
    if not errors and not warnings:
        return "No problems"
    return f"{plural(errors, 'error') if errors else 'No errors'}, {plural(warnings, 'warning')}"


def training_invoice_path(paths, as_of: dt.date | None = None) -> Path:
    """Where the sandbox's training invoice export goes: ``<data>/sandbox/invoices/``, named like
    the export Caselle writes for the billing month (``ICExport-Nov2026.txt``); ``as_of`` is the
    day it is written for (default: today, the sandbox's day)."""
    from console.sandbox.seed import demo_today

    return Path(paths.sandbox_dir) / "invoices" / f"ICExport-{as_of or demo_today():%b%Y}.txt"


def display(value) -> str:
    """A value as the clerk reads it (money with separators, dates as MM/DD/YYYY, flags Y/N)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, dt.datetime):  # the file's own (local) time, not converted
        return f"{format_date(value.date())} {value.strftime('%H:%M:%S')}"
    if isinstance(value, dt.date):
        return format_date(value)
    return str(value)


def _sort_keys(values: list) -> list:
    """Keys that sort a typed column with absent values first (no None comparisons)."""
    cents = getattr(values, "cents", None)
    if cents is not None:  # amounts kept as integer cents: sort the integers, not Decimals
        present = [c for c in cents if c is not None]
        low = min(present, default=0) - 1
        return [low if c is None else c for c in cents]
    present = next((v for v in values if v is not None and v != ""), None)
    if present is None or isinstance(present, str):
        return [v if v is not None else "" for v in values]
    if isinstance(present, dt.datetime):
        low = dt.datetime.min
    elif isinstance(present, dt.date):
        low = dt.date.min
    elif isinstance(present, bool):
        return [-1 if v is None else int(v) for v in values]
    else:
        low = Decimal("-Infinity")
    return [low if v is None else v for v in values]


class InvoiceTableModel(QAbstractTableModel):
    """Every record of a ReadResult; column LINE then the layout's columns in order."""

    LINE = 0
    FILTER_COLUMNS = ("AccountNumber", "InvoiceNumber", "CustomerName", "ServiceAddress", "Email")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: ReadResult | None = None
        self.headers: list[str] = ["Line"]
        self._cols: list[list] = []
        self._numeric: set[int] = set()
        self._order: list[int] = []  # view row -> record index
        self._sorted: list[int] = []  # all record indexes in the current sort order
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._filter_text = ""
        self._only_problems = False
        self._subset: set[int] | None = None
        self._haystack: list[str] | None = None
        self.row_problems: dict[int, list[Problem]] = {}
        self.cell_problems: dict[tuple[int, str], list[Problem]] = {}
        self.preview = False
        self._brushes = {"error": QBrush(ERROR_ROW), "cell": QBrush(ERROR_CELL), "warning": QBrush(WARNING_ROW)}

    # ---- loading ----------------------------------------------------------------------
    def set_result(self, result: ReadResult | None, *, preview: bool = False) -> None:
        self.beginResetModel()
        self.result = result
        self.preview = preview
        self.row_problems, self.cell_problems = {}, {}
        self._haystack = None
        if result is None:
            self.headers, self._cols, self._numeric = ["Line"], [], set()
            self._sorted = []
        else:
            names = list(result.layout.names)
            self.headers = ["Line", *names]
            self._cols = [result.lines, *(result.columns[n] for n in names)]
            self._numeric = {0} | {i + 1 for i, c in enumerate(result.layout.columns) if c.type in ("amount", "int")}
            for p in [*result.errors, *result.warnings]:
                i = result.index_of_line(p.line) if p.line is not None else None
                if i is None:
                    continue
                self.row_problems.setdefault(i, []).append(p)
                if p.column:
                    self.cell_problems.setdefault((i, p.column), []).append(p)
            self._sorted = list(range(len(result.lines)))
            if self._sort is not None and self._sort[0] < len(self.headers):
                self._sorted = self._sorted_indexes(*self._sort)
        self._order = self._apply_filter(self._sorted)
        self.endResetModel()

    # ---- Qt model ---------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 - Qt override
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 - Qt override
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt override
        if role == Qt.ItemDataRole.DisplayRole:
            if orientation == Qt.Orientation.Horizontal:
                return self.headers[section] if 0 <= section < len(self.headers) else None
            return None
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.result is None or not (0 <= index.row() < len(self._order)):
            return None
        col = index.column()
        if not 0 <= col < len(self._cols):
            return None
        i = self._order[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            value = self._cols[col][i]
            if value is None and col > 0:
                raw = self.result.bad_cells.get((i, self.headers[col]))
                return raw if raw is not None else ""
            return display(value)
        if role == RecordRole:
            return i
        if role == Qt.ItemDataRole.TextAlignmentRole and col in self._numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            # errors: the row light red, the broken cell darker; warnings: the line number
            # and the cell concerned only (a file may warn on every row)
            probs = self.row_problems.get(i)
            if not probs:
                return None
            cell = self.cell_problems.get((i, self.headers[col]), ()) if col > 0 else ()
            if any(p.severity == "error" for p in cell):
                return self._brushes["cell"]
            if any(p.severity == "error" for p in probs):
                return self._brushes["error"]
            if col == self.LINE or cell:
                return self._brushes["warning"]
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            probs = self.cell_problems.get((i, self.headers[col])) if col > 0 else None
            probs = probs or self.row_problems.get(i)
            if probs:
                return "\n".join(f"{p.severity}: {p.message} [{p.rule}]" for p in probs)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.headers):
            return
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order)
        self._sorted = self._sorted_indexes(column, order) if self.result is not None else []
        self._order = self._apply_filter(self._sorted)
        self.layoutChanged.emit()

    # ---- sort / filter by index lists ----------------------------------------------------
    def _sorted_indexes(self, column: int, order: Qt.SortOrder) -> list[int]:
        keys = _sort_keys(self._cols[column])
        idx = sorted(range(len(keys)), key=keys.__getitem__)  # stable: ties keep file order
        if order == Qt.SortOrder.DescendingOrder:
            idx.reverse()
        return idx

    def set_filter(self, text: str = "", only_problems: bool = False, subset: set[int] | None = None) -> None:
        """Show rows containing ``text`` (account, invoice, name, address, e-mail), only rows
        with problems, and / or only the record indexes in ``subset``."""
        self.beginResetModel()
        self._filter_text = text.strip().casefold()
        self._only_problems = only_problems
        self._subset = subset
        self._order = self._apply_filter(self._sorted)
        self.endResetModel()

    def rows_where(self, show: str) -> set[int] | None:
        """Record indexes for a "Show" choice: errors, warnings, credits, several (None: all)."""
        r = self.result
        if r is None or show == "all":
            return None
        if show == "errors":
            return {i for i, ps in self.row_problems.items() if any(p.severity == "error" for p in ps)}
        if show == "warnings":
            return {i for i, ps in self.row_problems.items() if any(p.severity == "warning" for p in ps)}
        if show == "credits" and "TotalAmountDue" in r.columns:
            return {i for i, v in enumerate(r.columns["TotalAmountDue"]) if v is not None and v < 0}
        if show == "several" and "AccountNumber" in r.columns:
            accounts = r.columns["AccountNumber"]
            seen: dict[str, int] = {}
            for a in accounts:
                seen[a] = seen.get(a, 0) + 1
            return {i for i, a in enumerate(accounts) if a and seen[a] > 1}
        return None

    def _apply_filter(self, order: list[int]) -> list[int]:
        if self.result is None:
            return []
        out = order
        if self._only_problems:
            rows = self.row_problems
            out = [i for i in out if i in rows]
        if self._subset is not None:
            subset = self._subset
            out = [i for i in out if i in subset]
        if self._filter_text:
            hay = self._haystack_list()
            needle = self._filter_text
            out = [i for i in out if needle in hay[i]]
        return out if out is not order else list(order)

    def _haystack_list(self) -> list[str]:
        if self._haystack is None:
            r = self.result
            cols = [r.columns[c] for c in self.FILTER_COLUMNS if c in r.columns]
            # one casefolded string per row, built at C speed (text columns hold str only)
            self._haystack = list(map(str.casefold, map("\x1f".join, zip(*cols, strict=True)))) \
                if cols else [""] * len(r.lines)
        return self._haystack

    # ---- lookups -------------------------------------------------------------------------
    def record_index(self, view_row: int) -> int:
        return self._order[view_row]

    def view_row(self, record_index: int) -> int | None:
        try:
            return self._order.index(record_index)
        except ValueError:
            return None

    def column_of(self, name: str | None) -> int:
        if not name:
            return 0
        for k, h in enumerate(self.headers):
            if h.casefold() == name.casefold():
                return k
        return 0

    @property
    def total_rows(self) -> int:
        return len(self.result.lines) if self.result is not None else 0


class ProblemsModel(ListTableModel):
    """Errors first, then warnings; ProblemRole gives the Problem."""

    SEVERITY, LINE, COLUMN, RULE, MESSAGE = range(5)
    HEADERS = ("", "Line", "Column", "Rule", "Problem")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.problems: list[Problem] = []
        self._brushes = {"error": QBrush(ERROR_ROW), "warning": QBrush(WARNING_ROW)}

    def set_problems(self, errors: list[Problem], warnings: list[Problem]) -> None:
        self.beginResetModel()
        self.problems = [*errors, *warnings]
        self.endResetModel()

    def _items(self):
        return self.problems

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self.problems)):
            return None
        p = self.problems[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (("Error" if p.severity == "error" else "Warning"),
                    "" if p.line is None else str(p.line), p.column or "", p.rule, p.message)[col] \
                if 0 <= col < len(self.HEADERS) else None
        if role == ProblemRole:
            return p
        if role == Qt.ItemDataRole.BackgroundRole and col == self.SEVERITY:
            return self._brushes.get(p.severity)
        if role == Qt.ItemDataRole.ToolTipRole and col == self.MESSAGE:
            return p.message
        if role == Qt.ItemDataRole.TextAlignmentRole and col == self.LINE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def failure_reason(exc: BaseException) -> str:
    """Why a file could not be checked, for the banner: the reason of an unreadable file, the
    message of another error the clerk can act on, never the text of an unexpected exception
    (the error box shows its support reference)."""
    if isinstance(exc, UnreadableFileError):
        return exc.reason[:1].upper() + exc.reason[1:] + ("" if exc.reason.endswith(".") else ".")
    if isinstance(exc, UserFacingError):
        return exc.message + ("" if exc.message.endswith(".") else ".")
    return "something went wrong inside the console (see the message)."


def summary_html(check: InvoiceCheck) -> str:
    """The summary the clerk reads before sending (plain HTML for a QLabel)."""
    r, s = check.result, check.summary
    e = html.escape
    rows = [
        ("File", e(check.path.name)),
        ("Layout", e(r.layout.name)),
        ("Encoding", e(r.encoding) + (" (not UTF-8)" if r.encoding == "cp1252" else "")),
        ("Invoices", f"{len(r):,}"),
        ("Total amount due", f"<b>{format_money(check.total_amount_due)}</b>"),
    ]
    if r.trailer:
        trailer = f"{r.trailer[0]:,} records, {format_money(r.trailer[1])}"
        if any(p.rule.startswith("trailer") for p in r.errors):  # the trailer disagrees with the invoices
            trailer = f'<span style="color:#991b1b"><b>{trailer}</b> — does not match</span>'
        rows.append(("Trailer", trailer))
    if s.bill_dates:
        rows.append(("Bill dates", " – ".join(format_date(d) for d in sorted(set(s.bill_dates)))))
    if s.due_dates:
        rows.append(("Due dates", " – ".join(format_date(d) for d in sorted(set(s.due_dates)))))
    for t in s.by_type:
        label = "Invoice type " + ("(none)" if t.invoice_type is None else str(t.invoice_type))
        rows.append((e(label), f"{plural(t.count, 'invoice')}, {format_money(t.total)}"))
    several = f"{s.accounts_with_several_count:,}"
    if s.accounts_with_several:
        several += ": " + ", ".join(e(a.account) for a in s.accounts_with_several[:5]) + \
            (" …" if s.accounts_with_several_count > 5 else "")
    rows.append(("Accounts with several invoices", several))
    rows.append(("Credit balances", f"{s.credit_balance_count:,}"
                 + (f" ({format_money(s.credit_balance_total)})" if s.credit_balance_count else "")))
    if r.warnings:
        by_rule: dict[str, int] = {}
        for w in r.warnings:
            by_rule[w.rule] = by_rule.get(w.rule, 0) + 1
        rows.append(("Warnings", "<br>".join(f"{WARNING_LABELS.get(k, e(k))}: {n:,}" for k, n in by_rule.items())))
    verdict = ('<span style="color:#166534"><b>Valid</b></span>' if r.ok
               else f'<span style="color:#991b1b"><b>{plural(len(r.errors), "error")}</b></span>')
    rows.append(("Check", verdict + f", {plural(len(r.warnings), 'warning')}"))
    body = "".join(f"<tr><td style='padding:1px 12px 1px 0; color:#4b5563'>{k}</td><td>{v}</td></tr>"
                   for k, v in rows)
    return (f"<table>{body}</table><p style='color:#6b7280'>Fingerprint (SHA-256) "
            f"{r.fingerprint[:16]}…</p>")


SUMMARY_HINT = ('<span style="color:#6b7280">No file open.<br><br>Once a file is checked, this shows what it '
                'holds before it is sent: invoices, total amount due, per invoice type, accounts with several '
                'invoices and credit balances.</span>')
ROW_PROBLEMS_SHOWN = 3  # problems of one invoice listed under the table


def row_details_html(result: ReadResult, i: int, problems: list[Problem]) -> str:
    """One invoice in words for the strip under the table: line, account, customer, invoice,
    amount due, then what is wrong with it (errors first)."""
    e = html.escape

    def cell(name: str) -> str:
        col = result.columns.get(name)
        if col is None:
            return ""
        value = col[i]
        if value is None or value == "":
            raw = result.bad_cells.get((i, name))
            return f'<span style="color:#991b1b">{e(raw)}</span>' if raw else '<i style="color:#991b1b">missing</i>'
        return e(format_money(value) if isinstance(value, Decimal) else display(value))

    total = result.columns.get("TotalAmountDue", [None] * (i + 1))[i]
    due = (f"credit balance {e(format_money(-total))}" if isinstance(total, Decimal) and total < 0
           else f"{cell('TotalAmountDue')} due")
    parts = [f"<b>Line {result.lines[i]}</b>", f"Account {cell('AccountNumber')}", cell("CustomerName"),
             f"Invoice {cell('InvoiceNumber')}", due]
    text = " · ".join(p for p in parts if p)
    ordered = sorted(problems, key=lambda p: p.severity != "error")
    for p in ordered[:ROW_PROBLEMS_SHOWN]:
        color, mark = ("#991b1b", "Error") if p.severity == "error" else ("#92400e", "Warning")
        text += f'<br><span style="color:{color}"><b>{mark}:</b> {e(p.message)}</span>'
    if len(ordered) > ROW_PROBLEMS_SHOWN:  # the strip stays small; the list below has them all
        text += f"<br>… and {len(ordered) - ROW_PROBLEMS_SHOWN} more on this line (see Problems)"
    return text


def outside_row_html(problem: Problem) -> str:
    """A problem with no invoice row (the header, the trailer, the whole file) for the strip."""
    e = html.escape
    where = f"Line {problem.line}" if problem.line is not None else "The whole file"
    if problem.rule.startswith("trailer"):
        where += " (the trailer: record count and control total, not an invoice)"
    elif problem.line == 1:
        where += " (the header)"
    color = "#991b1b" if problem.severity == "error" else "#92400e"
    return f'<b>{e(where)}</b><br><span style="color:{color}">{e(problem.message)}</span>'


ROW_HINT = '<span style="color:#6b7280">Click a row, or a problem below, to see that invoice here.</span>'

#: The delivery status of a sent file, as the banner says it.
DELIVERY_WORDS = {
    "awaiting pickup": "awaiting pickup (the file is on the server, not yet collected)",
    "delivered": "delivered — picked up from the server",
    "missing": "no longer on the server, and its pickup was not confirmed",
    "unknown": "delivery status unknown: the server could not be reached",
}
