"""Table model of the bills in a batch (Bill Images tab): account, pages, invoice, status."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor

from console.bills.review import BillRow

ACCOUNT, PAGES, INVOICE, FILE, STATUS = range(5)
HEADERS = {ACCOUNT: "Account", PAGES: "Pages", INVOICE: "Invoice", FILE: "File", STATUS: "Status"}
ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the BillRow behind a table row
SORT_ROLE = Qt.ItemDataRole.UserRole + 2

_ATTENTION = QColor(180, 40, 30)
_DONE = QColor(20, 110, 50)


class BillTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[BillRow] = []

    # ---- data
    def set_rows(self, rows: list[BillRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[BillRow]:
        return list(self._rows)

    def row_at(self, i: int) -> BillRow | None:
        return self._rows[i] if 0 <= i < len(self._rows) else None

    def row_of_page(self, page: int) -> int | None:
        for i, r in enumerate(self._rows):
            if page in r.pages:
                return i
        return None

    # ---- Qt
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS.get(section)
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.DisplayRole:
            return {ACCOUNT: row.account, PAGES: row.pages_text, INVOICE: row.invoice, FILE: row.file_name,
                    STATUS: row.status_text}.get(col)
        if role == SORT_ROLE:
            return {ACCOUNT: row.account, PAGES: row.first_page, INVOICE: row.invoice, FILE: row.file_name,
                    STATUS: row.status_text}.get(col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == FILE and row.file_name:  # the column may show it shortened
                return "\n".join(t for t in (row.file_name, row.detail) if t)
            return row.detail or None
        if role == Qt.ItemDataRole.ForegroundRole and col == STATUS:
            if row.needs_attention:
                return QBrush(_ATTENTION)
            if row.sent == "sent":
                return QBrush(_DONE)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == PAGES:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class BillFilterModel(QSortFilterProxyModel):
    """Search over account, invoice, file name and status; sorts pages numerically."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._needle = ""
        self._attention_only = False
        self.setSortRole(SORT_ROLE)

    def set_search(self, text: str) -> None:
        self.beginFilterChange()
        self._needle = text
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_attention_only(self, on: bool) -> None:
        self.beginFilterChange()
        self._attention_only = on
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row, source_parent) -> bool:
        source = self.sourceModel()
        row = source.row_at(source_row) if isinstance(source, BillTableModel) else \
            source.index(source_row, 0, source_parent).data(ROW_ROLE)
        if row is None:
            return False
        if self._attention_only and not row.needs_attention:
            return False
        return row.matches(self._needle)
