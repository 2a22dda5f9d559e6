"""A read-only table of text rows (headers, cells, one backing object per row) and its view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from console.ui.table_model import ListTableModel

RowRole = Qt.ItemDataRole.UserRole + 1


class RowsModel(ListTableModel):
    """Rows of text; columns from ``right_from`` on are figures (right-aligned), but ``text_columns``."""

    def __init__(self, headers: Sequence[str], parent=None, *, right_from: int = 1, text_columns: Sequence[int] = ()):
        super().__init__(parent)
        self.HEADERS = tuple(headers)
        self.right_from = right_from
        self.text_columns = frozenset(text_columns)  # left-aligned even past right_from
        self._rows: list[list[str]] = []
        self._objects: list[Any] = []

    def _items(self):
        return self._rows

    def set_rows(self, rows: Sequence[Sequence[str]], objects: Sequence[Any] | None = None) -> None:
        self.beginResetModel()
        self._rows = [list(r) for r in rows]
        self._objects = list(objects) if objects is not None else [None] * len(self._rows)
        self.endResetModel()

    def rows(self) -> list[list[str]]:
        return [list(r) for r in self._rows]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() >= self.right_from \
                and index.column() not in self.text_columns:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == RowRole:
            return self._objects[index.row()]
        return None


def table_view(model: RowsModel, name: str, *, stretch: int | None = None) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setAccessibleName(name)
    view.setObjectName(name.lower().replace(" ", "-"))
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().hide()
    view.setWordWrap(False)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    if stretch is not None:
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    else:
        header.setStretchLastSection(True)
    return view
