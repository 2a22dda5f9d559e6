"""The Lockbox tab's right-hand pane: totals per GL account, batches, problems and notes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHeaderView,
    QListWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.ui.lockbox_models import TotalsModel


class LockboxTotalsPane(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.gl_model = TotalsModel(("GL account", "Items", "Amount"), (1, 2), self)
        self.gl_table = self._small_table(self.gl_model, "lockbox-gl-totals")
        self.batch_model = TotalsModel(("Batch", "Deposit date", "Items", "Amount"), (2, 3), self)
        self.batch_table = self._small_table(self.batch_model, "lockbox-batches")
        self.problems = QListWidget(self)
        self.problems.setObjectName("lockbox-problems")
        self.problems.setWordWrap(True)
        rv = QVBoxLayout(self)
        rv.setContentsMargins(0, 0, 0, 0)
        for title, w, stretch in (("Totals per GL account", self.gl_table, 2), ("Batches", self.batch_table, 1),
                                  ("Problems and notes", self.problems, 2)):
            box = QGroupBox(title, self)
            bl = QVBoxLayout(box)
            bl.addWidget(w)
            rv.addWidget(box, stretch)

    def _small_table(self, model: TotalsModel, name: str) -> QTableView:
        t = QTableView(self)
        t.setObjectName(name)
        t.setModel(model)
        t.verticalHeader().setVisible(False)
        t.verticalHeader().setDefaultSectionSize(22)
        # the first column takes the spare room; figures are never cut ("$1,223,081.…")
        t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        t.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        t.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        return t

    def fit(self) -> None:
        """Widen the pane until every figure shows in full, and let the totals tables show their
        rows and total (up to six) without scrolling — not cut off at 1024×768."""
        needed = 0
        for t in (self.gl_table, self.batch_table):
            h = t.horizontalHeader()
            first = max(t.sizeHintForColumn(0), h.sectionSizeHint(0))
            rest = sum(h.sectionSize(c) for c in range(1, h.count()))
            scroll = t.verticalScrollBar().sizeHint().width()
            needed = max(needed, first + rest + scroll + 2 * t.frameWidth() + 24)  # + group box margins
        self.setMinimumWidth(min(needed, 520))
        for t, model in ((self.batch_table, self.batch_model), (self.gl_table, self.gl_model)):
            rows = min(max(model.rowCount(), 2), 6)
            t.setMinimumHeight(t.horizontalHeader().sizeHint().height()
                               + rows * t.verticalHeader().defaultSectionSize() + 2 * t.frameWidth())
