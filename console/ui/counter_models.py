"""Table models of the Counter Payments tab: account search results and today's payments.

Both hold plain records (``AccountSummary`` / ``CounterPayment``) and answer ``data()`` from
them; ``RowRole`` returns the backing record. Only masked card data ever reaches them.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from console.domain.models import AccountSummary
from console.domain.money import format_money
from console.services.counter import CounterPayment
from console.ui.table_model import ListTableModel

RowRole = Qt.ItemDataRole.UserRole + 1

_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
STATE_COLORS = {"posted": "#dcfce7", "voided": "#e5e7eb", "declined": "#fee2e2", "queued": "#fef3c7",
                "review": "#fde68a", "unconfirmed": "#fde68a", "not_charged": "#f3f4f6", "void_pending": "#e0f2fe",
                "receipt_voided": "#fde68a"}


class _RecordsModel(ListTableModel):
    HEADERS: tuple[str, ...] = ()
    RIGHT_COLUMNS: tuple[int, ...] = ()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list = []

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def row(self, i: int):
        return self.rows[i] if 0 <= i < len(self.rows) else None

    def _items(self):
        return self.rows

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self.rows)):
            return None
        r = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(r, index.column())
        if role == RowRole:
            return r
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in self.RIGHT_COLUMNS:
            return _RIGHT
        return self._extra(r, index.column(), role)

    def _text(self, r, col: int) -> str:
        raise NotImplementedError

    def _extra(self, r, col: int, role: int):
        return None


class AccountResultsModel(_RecordsModel):
    ACCOUNT, NAME, ADDRESS, PHONE, BALANCE = range(5)
    HEADERS = ("Account", "Name", "Address", "Phone", "Balance")
    RIGHT_COLUMNS = (BALANCE,)

    def _text(self, r: AccountSummary, col: int) -> str:
        return (r.account_number, r.name, r.service_address, r.phone, format_money(r.balance))[col]


class TodayPaymentsModel(_RecordsModel):
    TIME, ACCOUNT, NAME, AMOUNT, CARD, AUTH, RECEIPT, STATUS, CASHIER = range(9)
    HEADERS = ("Time", "Account", "Name", "Amount", "Paid by", "Auth", "Receipt", "Status", "Cashier")
    RIGHT_COLUMNS = (AMOUNT,)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._brushes = {k: QBrush(QColor(v)) for k, v in STATE_COLORS.items()}

    def _text(self, p: CounterPayment, col: int) -> str:
        return (p.taken_at.strftime("%I:%M %p").lstrip("0"), p.account_number, p.name, format_money(p.amount),
                p.paid_by, p.auth_code, p.receipt_number, p.state_label, p.operator)[col]

    def _extra(self, p: CounterPayment, col: int, role: int):
        if role == Qt.ItemDataRole.BackgroundRole and col == self.STATUS:
            return self._brushes.get(p.state)
        if role == Qt.ItemDataRole.ToolTipRole and p.detail:
            return p.detail
        return None
