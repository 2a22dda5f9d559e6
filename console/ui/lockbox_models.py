"""Table models of the Lockbox tab: items (preview or file), totals per GL account, batches.

Rows are plain view rows built from the service's results (``rows_from_preview`` /
``rows_from_file``), so the models never reach into services. ``ROW_ROLE`` returns the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor

from console.domain.money import format_money
from console.formatting import format_date
from console.lockbox.format import LockboxFile
from console.services.lockbox import DUPLICATE, INCLUDED, INVALID, UNMAPPED, VOIDED, LockboxPreview

ROW_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2

# items table columns
LINE, PAYMENT, CONFIRMATION, ACCOUNT, ITEM_CODE, GL_ACCOUNT, PAYER, AMOUNT, DEPOSIT, BATCH, STATUS, NOTE = range(12)
HEADERS = ("Line", "Payment ID", "Confirmation", "Account", "Item code", "GL account", "Payer", "Amount",
           "Deposit date", "Batch/item", "Status", "Note")

STATUS_TEXT = {INCLUDED: "In the file", DUPLICATE: "Left out: duplicate", VOIDED: "Left out: voided",
               UNMAPPED: "No GL account", INVALID: "Cannot be written", "file": "In the file"}
PROBLEM_STATUSES = (UNMAPPED, INVALID)
LEFT_OUT_STATUSES = (DUPLICATE, VOIDED)

_RED = QBrush(QColor("#b91c1c"))
_AMBER = QBrush(QColor("#92400e"))


@dataclass(frozen=True)
class ItemRow:
    line: int | None
    payment_id: str
    confirmation: str
    account: str
    item_code: str
    gl_account: str
    payer: str
    amount: Decimal
    deposit: str
    batch_item: str
    status: str
    note: str = ""

    def text(self, column: int) -> str:
        return {
            LINE: "" if self.line is None else str(self.line), PAYMENT: self.payment_id,
            CONFIRMATION: self.confirmation, ACCOUNT: self.account, ITEM_CODE: self.item_code,
            GL_ACCOUNT: self.gl_account or "—", PAYER: self.payer, AMOUNT: format_money(self.amount),
            DEPOSIT: self.deposit, BATCH: self.batch_item, STATUS: STATUS_TEXT.get(self.status, self.status),
            NOTE: self.note,
        }[column]

    def sort_key(self, column: int):
        if column == LINE:
            return self.line or 0
        if column == AMOUNT:
            return int(self.amount * 100)  # exact cents
        return self.text(column).casefold()


def rows_from_preview(preview: LockboxPreview) -> list[ItemRow]:
    return [ItemRow(
        line=x.payment.line, payment_id=x.payment.payment_id, confirmation=x.payment.confirmation,
        account=x.payment.account, item_code=x.payment.invoice_type, gl_account=x.gl_account,
        payer=x.payment.payer_name, amount=x.payment.amount,
        deposit=format_date(x.payment.deposit_date) if x.payment.deposit_date else "",
        batch_item=_position(preview, x), status=x.status, note=x.note,
    ) for x in preview.lines]


def _position(preview: LockboxPreview, line) -> str:
    if line.status != INCLUDED:
        return ""
    pos = preview.positions.get(line.payment.confirmation)
    return f"{pos[0]}/{pos[1]}" if pos else ""


def rows_from_file(file: LockboxFile) -> list[ItemRow]:
    dates = {b.number: b.deposit_date for b in file.batches}
    return [ItemRow(
        line=i.line, payment_id=i.payment_id, confirmation=i.confirmation, account=i.reference,
        item_code=i.item_code, gl_account=i.gl_account, payer=i.payer_name, amount=i.amount,
        deposit=format_date(dates[i.batch]) if dates.get(i.batch) else "",
        batch_item=f"{i.batch}/{i.item}", status="file", note=i.memo,
    ) for i in file.items]


class LockboxItemsModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[ItemRow] = []

    def set_rows(self, rows: list[ItemRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, r: int) -> ItemRow:
        return self._rows[r]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(HEADERS):
            return HEADERS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row, col = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.text(col)
        if role == ROW_ROLE:
            return row
        if role == SORT_ROLE:
            return row.sort_key(col)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (LINE, AMOUNT):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and col in (STATUS, GL_ACCOUNT, NOTE):
            if row.status in PROBLEM_STATUSES:
                return _RED
            if row.status in LEFT_OUT_STATUSES:
                return _AMBER
        if role == Qt.ItemDataRole.ToolTipRole and row.note:
            return row.note
        return None


class LockboxFilterModel(QSortFilterProxyModel):
    """Filters by a status group and a search text (payment, confirmation, account, payer, GL)."""

    ALL, IN_FILE, NEEDS_LOOK, LEFT_OUT = range(4)
    GROUPS = ("All payments", "In the file", "Needs a look", "Left out")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._group = self.ALL
        self._text = ""
        self.setSortRole(SORT_ROLE)

    def set_group(self, group: int) -> None:
        self.beginFilterChange()
        self._group = group
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self._text = text.strip().casefold()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:  # noqa: N802
        model = self.sourceModel()
        row: ItemRow = model.row(source_row)
        g = self._group
        if g == self.IN_FILE and row.status not in (INCLUDED, "file"):
            return False
        if g == self.NEEDS_LOOK and row.status not in PROBLEM_STATUSES:
            return False
        if g == self.LEFT_OUT and row.status not in LEFT_OUT_STATUSES:
            return False
        if self._text:
            hay = " ".join((row.payment_id, row.confirmation, row.account, row.payer, row.gl_account,
                            row.item_code)).casefold()
            return self._text in hay
        return True


class TotalsModel(QAbstractTableModel):
    """A small read-only table: headers and rows of text; the last row may be a bold total."""

    def __init__(self, headers: tuple[str, ...], right_aligned: tuple[int, ...] = (), parent=None):
        super().__init__(parent)
        self._headers = headers
        self._right = right_aligned
        self._rows: list[tuple[str, ...]] = []
        self._total_row = False

    def set_rows(self, rows: list[tuple[str, ...]], *, total: tuple[str, ...] | None = None) -> None:
        self.beginResetModel()
        self._rows = list(rows) + ([total] if total else [])
        self._total_row = total is not None
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._headers)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self._headers):
            return self._headers[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in self._right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and self._total_row and index.row() == len(self._rows) - 1:
            from PySide6.QtGui import QFont

            f = QFont()
            f.setBold(True)
            return f
        return None


def gl_rows(gl_totals) -> tuple[list[tuple[str, ...]], tuple[str, ...]]:
    rows = [(g.gl_account, f"{g.items:,}", format_money(g.total)) for g in gl_totals]
    total = ("Total", f"{sum(g.items for g in gl_totals):,}",
             format_money(sum((g.total for g in gl_totals), Decimal("0.00"))))
    return rows, total


def batch_rows(batches) -> tuple[list[tuple[str, ...]], tuple[str, ...]]:
    """Batches as (number, deposit date, items, total) from a preview's BatchPlans or a file's FileBatches."""
    rows = []
    for b in batches:
        count = getattr(b, "items", None)
        count = b.item_count if not isinstance(count, int) else count
        rows.append((str(b.number), format_date(b.deposit_date) if b.deposit_date else "",
                     f"{count:,}", format_money(b.total)))
    total_items = sum(int(r[2].replace(",", "")) for r in rows)
    return rows, ("Total", "", f"{total_items:,}", format_money(sum((b.total for b in batches), Decimal("0.00"))))
