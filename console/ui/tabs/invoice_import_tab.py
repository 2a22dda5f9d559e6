"""Invoice Import tab: open (or drop) Caselle's invoice export, see what it holds, fix what is
wrong, then send it.

    open / drop a file  ->  summary (records, total due, per invoice type, accounts with
    several invoices, credit balances)  ->  table of every invoice (sort, filter)  ->
    problems list (click: jump to the row and cell)  ->  Send (disabled while errors exist)

Reading happens off the GUI thread through ``Operation``: a quick preview of the first rows
is shown at once, then the whole file is checked by ``console.services.invoices``
(``check_invoices``) with progress and Cancel.

Sending belongs to the transfer side: the Send button emits ``send_requested(check)`` with
the ``InvoiceCheck`` (path, fingerprint, totals); the tab hands it to the transfer helper's
``TransferSender`` (journaled, exactly once, supervisor override for a file already sent,
host-key trust) and shows its ``TransferPanel`` (progress, Cancel, how the upload was
checked) under the table via ``add_send_widget``. Where the file went and its delivery
("awaiting pickup" / "delivered") are said once, in the banner at the top, which follows the
send. Send stays disabled while the file has errors, while it is being read or sent, and when
nothing is loaded.

The table model keeps no per-row Python objects: it reads the reader's column store and
sorts / filters by rearranging one list of record indexes, so 200,000 rows scroll, sort and
filter smoothly.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.domain.bif import BifRules
from console.domain.money import format_money
from console.errors import Problem, UserFacingError
from console.files.layouts import list_layouts, load_layout
from console.files.reader import ReadResult, UnreadableFileError
from console.services.invoices import DEFAULT_LAYOUT, InvoiceCheck, check_invoices, preview_invoices
from console.ui.context import UiContext
from console.ui.errors import show_error
from console.ui.operations import Operation
from console.ui.role_gate import RoleGate
from console.ui.table_model import ListTableModel

log = logging.getLogger(__name__)

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
    if isinstance(value, dt.datetime):
        return value.strftime("%m/%d/%Y %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%m/%d/%Y")
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
        rows.append(("Bill dates", " – ".join(d.strftime("%m/%d/%Y") for d in sorted(set(s.bill_dates)))))
    if s.due_dates:
        rows.append(("Due dates", " – ".join(d.strftime("%m/%d/%Y") for d in sorted(set(s.due_dates)))))
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


@dataclass
class SentState:
    """What the clerk needs to know about an earlier send of the open file."""

    when: str  # ISO 8601 (journal time) or "" for "just now"
    operator: str
    remote_path: str
    key: str = ""
    status: str | None = None  # "awaiting pickup" | "delivered" | "missing" | "unknown" | None (not asked yet)
    this_session: bool = False
    override_by: str = ""


class InvoiceImportTab(QWidget):
    """The Invoice Import tab (see the module docstring)."""

    send_requested = Signal(object)  # InvoiceCheck of a valid file; the transfer side sends it
    check_did_finish = Signal(object)  # InvoiceCheck

    def __init__(self, ctx: UiContext):
        super().__init__()
        self.ctx = ctx
        self.check: InvoiceCheck | None = None
        self.path: Path | None = None
        self.loading = False
        self._op: Operation | None = None
        self._generation = 0
        self.sent: SentState | None = None  # the open file was sent (earlier, or from here)
        self._sending_path: Path | None = None
        self.setAcceptDrops(True)

        # ---- top bar
        self.open_button = QPushButton("&Open invoice file…")
        self.open_button.setToolTip("Open the invoice export (Ctrl+O)")
        open_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Open), self)
        # window-wide, but only while this tab is on screen (Qt skips shortcuts of hidden widgets):
        # it works right after the tab is chosen, when the tab bar has the focus
        open_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        open_shortcut.activated.connect(lambda: self.open_button.isEnabled() and self._on_open_clicked())
        self.open_button.clicked.connect(self._on_open_clicked)
        self.layout_box = QComboBox()
        self.layout_box.setToolTip("The layout the file is checked against (resources/layouts)")
        for name in self._invoice_layouts():
            self.layout_box.addItem(name, name)
        preferred = self._profile_layout()
        if self.layout_box.findData(preferred) >= 0:
            self.layout_box.setCurrentIndex(self.layout_box.findData(preferred))
        self.layout_box.currentIndexChanged.connect(self._on_layout_changed)
        self.recheck_button = QPushButton("Check &again")
        self.recheck_button.setEnabled(False)
        self.recheck_button.clicked.connect(self.recheck)
        self.send_button = QPushButton("&Send to Invoice Cloud")
        self.send_button.setObjectName("invoice-send")
        self.send_button.setEnabled(False)
        self.send_button.clicked.connect(self._on_send_clicked)
        # TRAINING only (the sandbox profile): a realistic export of the demo customers, one click
        self.training_button: QPushButton | None = None
        if self.ctx.profile.is_sandbox:
            self.training_button = QPushButton("Open a &training invoice file")
            self.training_button.setObjectName("invoice-training-file")
            paths = getattr(self.ctx.services, "paths", None)
            where = str(training_invoice_path(paths).parent) if paths is not None else "the sandbox data folder"
            self.training_button.setToolTip(
                "TRAINING (sandbox profile only): write a realistic invoice export for the sandbox's demo "
                f"customers into {where} and open it")
            self.training_button.setStyleSheet(TRAINING_BUTTON_STYLE)
            self.training_button.clicked.connect(self.open_training_file)
        top = QHBoxLayout()
        top.addWidget(self.open_button)
        if self.training_button is not None:
            top.addWidget(self.training_button)
        layout_label = QLabel("La&yout")
        layout_label.setBuddy(self.layout_box)
        top.addWidget(layout_label)
        top.addWidget(self.layout_box)
        top.addWidget(self.recheck_button)
        top.addStretch(1)
        top.addWidget(self.send_button)

        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        prog = QHBoxLayout()
        prog.addWidget(self.progress, 1)
        prog.addWidget(self.cancel_button)

        self.banner = QLabel()
        self.banner.setObjectName("invoice-banner")
        self.banner.setWordWrap(True)
        self.set_banner("Open the invoice file Caselle's “Invoice Cloud Export” wrote, or drop it here.")

        # ---- summary
        self.summary = QLabel(SUMMARY_HINT)
        self.summary.setObjectName("invoice-summary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        summary_scroll = QScrollArea()
        summary_scroll.setWidgetResizable(True)
        summary_scroll.setWidget(self.summary)
        summary_scroll.setMinimumWidth(280)

        # ---- table
        self.model = InvoiceTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("invoice-table")
        self.table.setModel(self.model)
        # file order (Line ascending) until the clerk clicks a header
        self.table.horizontalHeader().setSortIndicator(InvoiceTableModel.LINE, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setDefaultSectionSize(110)
        self.table.horizontalHeader().setResizeContentsPrecision(200)  # column widths from 200 rows
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: account, invoice, name, address or e-mail")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setToolTip("Ctrl+F")
        find_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        find_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        find_shortcut.activated.connect(lambda: (self.filter_edit.setFocus(), self.filter_edit.selectAll()))
        self.filter_edit.textChanged.connect(self._on_filter_changed)
        self.show_box = QComboBox()
        self.show_box.setToolTip("Which rows the table shows")
        for label, key in (("All rows", "all"), ("Rows with errors", "errors"), ("Rows with warnings", "warnings"),
                           ("Credit balances", "credits"), ("Accounts with several invoices", "several")):
            self.show_box.addItem(label, key)
        self.show_box.currentIndexChanged.connect(self._on_filter_changed)
        self.count_label = QLabel("")
        filt = QHBoxLayout()
        filt.addWidget(self.filter_edit, 1)
        show_label = QLabel("S&how")
        show_label.setBuddy(self.show_box)
        filt.addWidget(show_label)
        filt.addWidget(self.show_box)
        filt.addWidget(self.count_label)
        table_box = QWidget()
        tb = QVBoxLayout(table_box)
        tb.setContentsMargins(0, 0, 0, 0)
        tb.addLayout(filt)
        tb.addWidget(self.table, 1)
        # the current row in words (which account, whose bill, what is wrong with it): a jump to
        # a far-right cell scrolls the account and name out of sight
        self.row_details = QLabel(ROW_HINT)
        self.row_details.setObjectName("invoice-row-details")
        self.row_details.setTextFormat(Qt.TextFormat.RichText)
        self.row_details.setWordWrap(True)
        self.row_details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.row_details.setStyleSheet("color:#1f2937; padding:2px 2px;")
        tb.addWidget(self.row_details)
        self.table.selectionModel().currentChanged.connect(self._on_current_row_changed)

        # ---- problems
        self.problems_model = ProblemsModel(self)
        self.problems = QTableView()
        self.problems.setObjectName("invoice-problems")
        self.problems.setModel(self.problems_model)
        self.problems.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.problems.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.problems.verticalHeader().setVisible(False)
        self.problems.verticalHeader().setDefaultSectionSize(22)
        self.problems.horizontalHeader().setStretchLastSection(True)
        for col, width in ((ProblemsModel.SEVERITY, 70), (ProblemsModel.LINE, 60), (ProblemsModel.COLUMN, 130),
                           (ProblemsModel.RULE, 150)):
            self.problems.setColumnWidth(col, width)
        self.problems.clicked.connect(self._on_problem_clicked)
        self.problems.activated.connect(self._on_problem_clicked)
        self.problems_label = QLabel("Problems")
        self.problems_label.setObjectName("invoice-problems-label")
        problems_box = QWidget()
        pb = QVBoxLayout(problems_box)
        pb.setContentsMargins(0, 0, 0, 0)
        pb.addWidget(self.problems_label)
        pb.addWidget(self.problems, 1)

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(table_box)
        right.addWidget(problems_box)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(summary_scroll)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([320, 900])

        # the transfer side puts its panel (progress, Cancel, upload details) here
        self.send_area = QVBoxLayout()
        self.send_area.setContentsMargins(0, 0, 0, 0)

        self.gate = RoleGate(ctx, self)
        self.gate.guard(self.send_button, "send_invoices")
        layout = QVBoxLayout(self)
        layout.addWidget(self.gate.banner)
        layout.addLayout(top)
        layout.addLayout(prog)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(self.send_area)
        self.sender = None
        self.transfer_panel = None
        self._attach_sender()
        self._update_send_button()

    def _attach_sender(self) -> None:
        """Send through the transfer side's controller and panel (console/ui/transfer_sender.py):
        the checked file's fingerprint goes along, so a file changed since the check is refused."""
        services = self.ctx.services
        # look, don't touch: building the transfer service starts the sandbox in training
        if not (hasattr(type(services), "transfer") or "transfer" in getattr(services, "__dict__", {})):
            return
        from console.ui.transfer_panel import TransferPanel
        from console.ui.transfer_sender import TransferSender

        self.sender = TransferSender(self, self.ctx.services, self.ctx.operator, kind="invoices")
        # the banner says where the file went and follows its delivery: the panel keeps progress,
        # Cancel, messages and how the upload was checked, without saying it all a second time
        self.transfer_panel = TransferPanel(self.sender, details_only=True)
        self.add_send_widget(self.transfer_panel)
        self.send_requested.connect(self._send_checked_file)
        self.sender.started.connect(self._on_send_started)
        self.sender.finished.connect(self._on_send_finished)
        self.sender.sent.connect(self._on_sent_now)
        self.sender.delivery_changed.connect(self._on_delivery_status)

    def _send_checked_file(self, check: InvoiceCheck) -> None:
        self._sending_path = check.path
        self.sender.send(check.path, expected_sha256=check.fingerprint)
        self._update_send_button()

    def _on_send_started(self, name: str) -> None:
        if self._sending_path == self.path:
            self.set_banner(f"Sending {name} to {self._destination()}…", "busy")
        self._update_send_button()

    def _on_send_finished(self, ok: bool) -> None:
        if not ok and self._sending_path == self.path:
            self._refresh_banner()  # not sent: back to what the file is (the panel says why)
        self._update_send_button()

    def _on_sent_now(self, result) -> None:
        if self._sending_path != self.path or self.check is None:
            return
        self.sent = SentState("", self.ctx.operator_id, result.remote_path, key=result.key,
                              status=str(result.status), this_session=True,
                              override_by="supervisor" if result.override else "")
        self._refresh_banner()
        self._update_send_button()
        self.ctx.status(f"Sent {result.remote_name} as {result.remote_path}")

    def _on_delivery_status(self, status: str) -> None:
        if self.sent is not None and self.sent.this_session and self._sending_path == self.path:
            self.sent.status = status
            self._refresh_banner()
        elif self._sending_path is not None:  # another file is open now: the status bar says it
            self.ctx.status(f"{self._sending_path.name}: {DELIVERY_WORDS.get(status, status)}")

    # ---- earlier sends of the open file ---------------------------------------------------
    def _journal(self):
        """The journal, without building the transfer service (that starts the sandbox)."""
        services = self.ctx.services
        journal = getattr(services, "journal", None)
        if journal is None and "transfer" in getattr(services, "__dict__", {}):
            journal = getattr(services.transfer, "journal", None)
        return journal

    def _look_up_earlier_send(self, gen: int, check: InvoiceCheck) -> None:
        """After a valid file is checked: was this exact file (same SHA-256) sent before? Then
        say when, by whom and where, ask the server whether it was picked up, and make Send a
        "Send again…" that needs a supervisor."""
        journal = self._journal() if self.sender is not None else None
        if journal is None or not check.ok:
            return
        sha = check.fingerprint

        def look(_op):
            from console.services.transfer import last_delivery

            return last_delivery(journal, sha)

        Operation(self, look, label="Looking up earlier sends of this file…") \
            .success(lambda entry: self._on_earlier_send(gen, entry)) \
            .failure(lambda exc: log.warning("could not look up earlier sends: %s", exc)) \
            .run()

    def _on_earlier_send(self, gen: int, entry) -> None:
        if gen != self._generation or entry is None or (self.sent is not None and self.sent.this_session):
            return
        payload = entry.payload
        self.sent = SentState(entry.updated_at or entry.created_at, entry.operator,
                              payload.get("remote_path") or entry.remote_ref, key=entry.key,
                              override_by=payload.get("override_by", ""))
        self._refresh_banner()
        self._update_send_button()
        services, key = self.ctx.services, entry.key
        Operation(self, lambda _op: services.transfer.delivery_status(key), label="Asking whether it was picked up…") \
            .success(lambda status: self._on_earlier_status(gen, str(status))) \
            .failure(lambda exc: self._on_earlier_status(gen, "unknown")) \
            .run()

    def _on_earlier_status(self, gen: int, status: str) -> None:
        if gen != self._generation or self.sent is None or self.sent.this_session:
            return
        self.sent.status = status
        self._refresh_banner()

    # ---- hooks for the transfer side ----------------------------------------------------------
    def add_send_widget(self, widget: QWidget) -> None:
        """Show the transfer panel (progress, Cancel, how the upload was checked) under the table."""
        self.send_area.addWidget(widget)

    @property
    def can_send(self) -> bool:
        sending = self.sender is not None and self.sender.busy
        return (self.check is not None and self.check.ok and self.check.record_count > 0 and not self.loading
                and not sending)

    # ---- helpers -----------------------------------------------------------------------
    @staticmethod
    def _invoice_layouts() -> list[str]:
        names = []
        for name in list_layouts():
            try:
                layout = load_layout(name)
            except Exception:  # noqa: BLE001 - a broken administrator copy must not break the tab
                continue
            if {"accountnumber", "totalamountdue"} <= {c.key for c in layout.columns}:
                names.append(name)
        return names or [DEFAULT_LAYOUT]

    def _profile_layout(self) -> str:
        return str(self.ctx.profile.invoicecloud_invoice_layout or DEFAULT_LAYOUT)

    @property
    def layout_name(self) -> str:
        return self.layout_box.currentData() or DEFAULT_LAYOUT

    def _set_loading(self, loading: bool) -> None:
        self.loading = loading
        self.progress.setVisible(loading)
        self.cancel_button.setVisible(loading)
        self.open_button.setEnabled(not loading)
        if self.training_button is not None:
            self.training_button.setEnabled(not loading)
        self.recheck_button.setEnabled(not loading and self.path is not None)
        self.layout_box.setEnabled(not loading)
        if loading:
            self.progress.setRange(0, 0)
        self._update_send_button()

    def _update_send_button(self) -> None:
        self.gate.enable(self.send_button, self.can_send)
        sending = self.sender is not None and self.sender.busy
        if sending:
            self.send_button.setText("Sending…")
        elif self.sent is not None and self.check is not None:
            self.send_button.setText("&Send again…")
        else:
            self.send_button.setText("&Send to Invoice Cloud")
        if self.check is None:
            self.send_button.setToolTip("Open a checked invoice file first")
        elif not self.check.ok:
            self.send_button.setToolTip("Fix the errors (in Caselle, then export again) before sending")
        elif self.check.record_count == 0:
            self.send_button.setToolTip("The file holds no invoices: there is nothing to send")
        elif sending:
            self.send_button.setToolTip("The file is being sent (see the progress below)")
        elif self.sent is not None:
            self.send_button.setToolTip("This file was already sent: sending it again loads the same invoices "
                                        "twice, so a supervisor must approve with their PIN")
        else:
            self.send_button.setToolTip("Send the checked file to Invoice Cloud (exactly once)")
        self.gate.apply()

    def set_banner(self, text: str, state: str = "info") -> None:
        """The line under the buttons: what the file is, and what the clerk can do next."""
        self.banner.setText(text)
        self.banner.setProperty("state", state)
        self.banner.setStyleSheet(BANNER_STYLES.get(state, BANNER_STYLES["info"]))

    def _refresh_banner(self) -> None:
        check = self.check
        if check is None:
            return
        name = check.path.name
        if not check.ok:
            self.set_banner(f"{name} has {plural(len(check.errors), 'error')}. Nothing can be sent until they "
                            "are fixed in Caselle and the file is exported again. Click a problem to see its row.",
                            "error")
        elif check.record_count == 0:
            self.set_banner(f"{name} holds no invoices (only a header), so there is nothing to send. Run "
                            "Caselle's \u201cInvoice Cloud Export\u201d again for the billing cycle.", "warn")
        elif self.sent is not None:
            self.set_banner(*self._sent_banner(name))
        else:
            warned = f", with {plural(len(check.warnings), 'warning')} (see Problems)" if check.warnings else ""
            self.set_banner(f"{name}: {plural(check.record_count, 'invoice')}, "
                            f"{format_money(check.total_amount_due)} due — valid{warned}. Ready to send.", "ok")

    def _destination(self) -> str:
        return ("the sandbox (TRAINING: nothing reaches Invoice Cloud)" if self.ctx.profile.is_sandbox
                else "Invoice Cloud")

    def _sent_banner(self, name: str) -> tuple[str, str]:
        sent = self.sent
        assert sent is not None
        status = DELIVERY_WORDS.get(sent.status or "", sent.status or "")
        if sent.this_session:
            how = " with a supervisor's override" if sent.override_by else ""
            text = f"{name} was sent to {self._destination()}{how} as {sent.remote_path}"
            text += f": {status}." if status else "."
            return text, "ok" if sent.status == "delivered" else ("warn" if sent.status in ("missing", "unknown")
                                                                   else "busy")
        from console.ui.transfer_override_dialog import local_time

        op = self.ctx.profile.operator(sent.operator) if sent.operator else None
        who = f"{op.name} ({op.operator_id})" if op is not None else (sent.operator or "someone")
        text = f"{name} was already sent {local_time(sent.when)} by {who} to {sent.remote_path}"
        text += f" — {status}." if status else " — asking the server whether it was picked up…"
        return text + " Sending it again needs a supervisor.", "warn"

    def _update_count(self) -> None:
        shown, total = self.model.rowCount(), self.model.total_rows
        self.count_label.setText(f"{shown:,} of {total:,} rows" if shown != total else f"{total:,} rows")

    # ---- loading ----------------------------------------------------------------------
    def _on_open_clicked(self) -> None:
        start = str(self.path.parent) if self.path else str(self.ctx.ui_state("invoice_import").value("folder", ""))
        path, _ = QFileDialog.getOpenFileName(self, "Open the invoice export", start, FILE_FILTER)
        if path:
            self.ctx.ui_state("invoice_import").set_value("folder", str(Path(path).parent))
            self.load_file(Path(path))

    def open_training_file(self) -> Operation | None:
        """TRAINING only: write the sandbox's invoice export for its demo customers (on a worker)
        and open it. Never on a production profile: there it does nothing and returns None."""
        if not self.ctx.profile.is_sandbox or self.loading:
            return None
        from console.sandbox.seed import demo_today

        today = demo_today()  # dated for today: its bills are current, none due in the past
        target = training_invoice_path(self.ctx.services.paths, today)

        rules = BifRules.from_profile(self.ctx.profile)  # the export is built with the profile's BIF rules

        def write(_op):
            from console.sandbox.invoice_export import write_invoice_export

            return Path(write_invoice_export(target, as_of=today, rules=rules)["path"])

        if self.training_button is not None:
            self.training_button.setEnabled(False)
        self.set_banner("Writing a training invoice file for the sandbox's demo customers…", "busy")
        op = Operation(self, write, label="Writing a training invoice file…")
        op.success(self._on_training_file_written).failure(self._on_training_file_failed)
        return op.run()

    def _on_training_file_written(self, path: Path) -> None:
        if self.training_button is not None:
            self.training_button.setEnabled(True)
        self.load_file(path, DEFAULT_LAYOUT)  # the sandbox writes ic-invoice-v1

    def _on_training_file_failed(self, exc: BaseException) -> None:
        if self.training_button is not None:
            self.training_button.setEnabled(True)
        self.set_banner(f"The training invoice file could not be written: {failure_reason(exc)}", "error")
        show_error(self, exc)

    def _on_layout_changed(self, _index: int) -> None:
        if self.path is not None and not self.loading:
            self.recheck()  # a file checked against another layout is checked again

    def recheck(self) -> Operation | None:
        return self.load_file(self.path) if self.path is not None else None

    def load_file(self, path: Path, layout_name: str | None = None) -> Operation:
        """Preview the first rows at once, then check the whole file (off the GUI thread)."""
        if layout_name and self.layout_box.findData(layout_name) >= 0:
            self.layout_box.setCurrentIndex(self.layout_box.findData(layout_name))
        layout = layout_name or self.layout_name
        self.cancel()
        self._generation += 1
        gen = self._generation
        if self.transfer_panel is not None and self.path != Path(path) and not self.sender.busy:
            self.transfer_panel.clear()  # the last send was another file's: don't show it under this one
        if self.path != Path(path):  # another file opens at its first column, not where the last one's error was
            self.table.horizontalScrollBar().setValue(0)
        self.path = Path(path)
        self.check = None
        self.sent = None
        self.summary.setText('<span style="color:#6b7280">Checking…</span>')
        self.row_details.setText(ROW_HINT)
        self.problems_model.set_problems([], [])
        self.problems_label.setText("Problems")
        self.set_banner(f"Checking {self.path.name}…", "busy")
        self._set_loading(True)

        # the whole-file check starts once the preview is on screen: alone on the CPU, the
        # preview takes a few milliseconds instead of sharing the interpreter with the check
        op = Operation(self, lambda op: check_invoices(path, layout, progress=op.progress, cancel=op.cancel_event),
                       label=f"Checking {self.path.name}…", cancellable=True)
        op.on_progress(lambda done, total, message: self._on_progress(gen, done, total, message))
        op.success(lambda check: self._show_check(gen, check)).failure(lambda exc: self._on_failed(gen, exc))
        self._op = op

        def then_check(preview):
            self._show_preview(gen, preview)
            if gen == self._generation and not op.cancelled:
                op.run()

        Operation(self, lambda _op: preview_invoices(path, layout), label="Previewing invoices…") \
            .success(then_check) \
            .failure(lambda exc: then_check(None)) \
            .run()
        return op

    def cancel(self) -> None:
        if self._op is not None and not self._op.done:
            self._op.cancel()  # not started yet (preview running): it never starts
        self._op = None
        if self.loading:
            self._generation += 1  # whatever is still running is dropped when it arrives
            self._set_loading(False)
            self.summary.setText('<span style="color:#6b7280">Not checked (cancelled).</span>')
            self.set_banner("Cancelled: the file was not checked, so it cannot be sent. Check it again to go on.",
                            "warn")

    def _on_progress(self, gen: int, done: int, total: int | None, message: str) -> None:
        if gen != self._generation:
            return
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(done * 1000 / total))
        self.progress.setFormat(message or "Checking…")

    def _show_preview(self, gen: int, result: ReadResult | None) -> None:
        if gen != self._generation or result is None or self.check is not None or not self.loading:
            return
        self.model.set_result(result, preview=True)
        self.table.resizeColumnsToContents()
        self._update_count()
        self.set_banner(f"First {len(result):,} invoices of {self.path.name} — checking the whole file…", "busy")

    def _show_check(self, gen: int, check: InvoiceCheck) -> None:
        if gen != self._generation:
            return
        self._op = None
        self.check = check
        first_time = self.model.result is None or self.model.result.layout is not check.result.layout
        self.model.set_result(check.result)
        if first_time:
            self.table.resizeColumnsToContents()  # samples the first 200 rows only
        self.problems_model.set_problems(check.errors, check.warnings)
        if self.show_box.currentData() != "all":
            self._on_filter_changed()
        counts = problem_counts(len(check.errors), len(check.warnings))
        if check.result.problems_not_listed:
            counts += f" ({check.result.problems_not_listed:,} more not listed)"
        self.problems_label.setText(f"<b>Problems:</b> {counts}"
                                    + (" — click one to see its row" if check.errors or check.warnings else ""))
        self.summary.setText(summary_html(check))
        self._update_count()
        self._set_loading(False)
        self._refresh_banner()
        if check.errors:  # show the first broken invoice at once (the strip says what is wrong)
            self.problems.setCurrentIndex(self.problems_model.index(0, ProblemsModel.MESSAGE))
            self.jump_to(check.errors[0])
        self.ctx.status(f"Checked {check.path.name}: {plural(check.record_count, 'invoice')}, "
                        f"{plural(len(check.errors), 'error')}")
        self._look_up_earlier_send(gen, check)
        self.check_did_finish.emit(check)

    def _on_failed(self, gen: int, exc: BaseException) -> None:
        if gen != self._generation:
            return
        self._op = None
        self.model.set_result(None)
        self._update_count()
        self._set_loading(False)
        self.summary.setText(SUMMARY_HINT)
        self.set_banner(f"{self.path.name if self.path else 'The file'} could not be read: {failure_reason(exc)}",
                        "error")
        show_error(self, exc)

    # ---- filter / jump ---------------------------------------------------------------
    def _on_filter_changed(self, *_args) -> None:
        self.model.set_filter(self.filter_edit.text(), subset=self.model.rows_where(self.show_box.currentData()))
        self._update_count()

    def _on_problem_clicked(self, index: QModelIndex) -> None:
        p = self.problems_model.data(index, ProblemRole)
        if p is not None:
            self.jump_to(p)

    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        r = self.model.result
        if r is None or not current.isValid() or not 0 <= current.row() < self.model.rowCount():
            self.row_details.setText(ROW_HINT)
            return
        i = self.model.record_index(current.row())
        self.row_details.setText(row_details_html(r, i, self.model.row_problems.get(i, [])))

    def jump_to(self, problem: Problem) -> bool:
        """Select the row (and cell) of a problem; False when it has no row (header, trailer) —
        then the strip under the table says where it is."""
        r = self.model.result
        i = r.index_of_line(problem.line) if r is not None and problem.line is not None else None
        if i is None:
            self.table.clearSelection()
            self.row_details.setText(outside_row_html(problem))
            return False
        row = self.model.view_row(i)
        if row is None:  # filtered out: show everything again
            self.filter_edit.clear()
            self.show_box.setCurrentIndex(0)
            row = self.model.view_row(i)
            if row is None:
                return False
        index = self.model.index(row, self.model.column_of(problem.column))
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.row_details.setText(row_details_html(r, i, self.model.row_problems.get(i, [])))
        return True

    # ---- send -------------------------------------------------------------------------
    def _on_send_clicked(self) -> None:
        if self.can_send:
            self.send_requested.emit(self.check)

    # ---- drag and drop ----------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._dropped_path(event.mimeData()) is not None and not self.loading:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        path = self._dropped_path(event.mimeData())
        if path is not None and not self.loading:
            event.acceptProposedAction()
            self.load_file(path)

    @staticmethod
    def _dropped_path(mime) -> Path | None:
        if mime is None or not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile():
                p = Path(url.toLocalFile())
                if p.is_file():
                    return p
        return None
