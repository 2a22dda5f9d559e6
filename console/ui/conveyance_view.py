"""Conveyances page (Posting tab → Account sync → Conveyances): a property changed hands.

**Check Caselle** lists the conveyances found since the last sync (old account → new account,
new owner, whether the old account had AutoPay or paperless) and those waiting for review (a
payment of the old account is not posted yet); **Send to Invoice Cloud** asks for confirmation,
then ends the old owners' AutoPay, paperless and registration exactly once and shows the
report; **Release selected** sends a reviewed one once its payment is posted.

Layout only; the work is ``services.conveyances`` run through ``Operation``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.services.conveyance import OUTCOME_LABELS, Conveyance, ConveyanceResult
from console.ui.context import UiContext
from console.ui.errors import show_error
from console.ui.operations import Operation
from console.ui.role_gate import RoleGate
from console.ui.table_model import ListTableModel

RowRole = Qt.ItemDataRole.UserRole + 1
STATE_LABELS = {"": "New in Caselle", "pending": "To send", "in_flight": "Sending", "done": "Sent",
                "needs_review": "Waiting for review", "rejected": "Reported"}


def ask_confirmation(parent: QWidget, title: str, text: str) -> bool:
    """Yes / No question (module-level so tests can answer it)."""
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def _n(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class ConveyanceModel(ListTableModel):
    HEADERS = ("Old account", "New account", "New owner", "Enrolled", "State", "Detail")
    OLD, NEW, OWNER, ENROLLED, STATE, DETAIL = range(6)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[Conveyance] = []

    def _items(self):
        return self.rows

    def set_rows(self, rows: list[Conveyance]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        c = self.rows[index.row()]
        if role == RowRole:
            return c
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        col = index.column()
        enrolled = ", ".join(n for n, on in (("AutoPay", c.autopay), ("paperless", c.paperless)) if on)
        state = STATE_LABELS.get(c.state, c.state)
        if c.state in ("", "needs_review") and c.waiting_for:
            state = STATE_LABELS["needs_review"]
        elif c.state == "needs_review" and c.outcome:
            state = OUTCOME_LABELS.get(c.outcome, state)
        detail = c.detail or (f"not posted yet: {', '.join(c.waiting_for)}" if c.waiting_for else "")
        return (c.old_account, c.new_account or "(none yet)", c.new_owner, enrolled or "—", state,
                detail)[col] if 0 <= col < 6 else None


class ConveyanceView(QWidget):
    def __init__(self, ctx: UiContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.last_result: ConveyanceResult | None = None
        self.check_button = QPushButton("Check Caselle")
        self.check_button.setToolTip("List the conveyances made in Caselle since the last sync (nothing is sent)")
        self.check_button.clicked.connect(self.check)
        self.send_button = QPushButton("Send to Invoice Cloud…")
        self.send_button.setToolTip("End the old owners' AutoPay, paperless and registration, exactly once")
        self.send_button.clicked.connect(self.send)
        self.release_button = QPushButton("Release selected")
        self.release_button.setToolTip("Send a conveyance that waited for review, once its payment is posted")
        self.release_button.clicked.connect(self.release_selected)
        self.summary = QLabel("Check Caselle to see the conveyances waiting to be sent.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = ConveyanceModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        row = QHBoxLayout()
        for b in (self.check_button, self.send_button, self.release_button):
            row.addWidget(b)
        row.addStretch(1)
        self.gate = RoleGate(ctx, self)
        for b in (self.send_button, self.release_button):
            self.gate.guard(b, "account_sync")
        layout = QVBoxLayout(self)
        layout.addWidget(self.gate.banner)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.gate.apply()

    @property
    def service(self):
        return self.ctx.services.conveyances

    @property
    def operator_id(self) -> str:
        return self.ctx.operator_id or "console"

    def _run(self, fn, label: str, on_success) -> Operation:
        return (Operation(self, fn, label=label, exclusive="conveyances").success(on_success)
                .failure(lambda exc: show_error(self, exc)).run())

    def check(self) -> Operation:
        return self._run(lambda _op: self.service.sync(dry_run=True), "Reading Caselle's conveyances…",
                         self._show_preview)

    def _show_preview(self, result: ConveyanceResult) -> None:
        self.last_result = result
        self.model.set_rows(result.pending + result.review)
        self.summary.setText(f"{_n(len(result.pending), 'conveyance')} to send to Invoice Cloud (AutoPay and "
                             f"paperless off, registration released, final bill); "
                             f"{len(result.review)} waiting for review.")

    def send(self) -> Operation | None:
        pending = self.last_result.pending if self.last_result and self.last_result.dry_run else []
        if not pending:
            self.summary.setText("Check Caselle first: the list to send is confirmed before anything is sent.")
            return None
        names = "\n".join(f"{c.old_account} → {c.new_account or '(none yet)'}" for c in pending[:20])
        if not ask_confirmation(self, "Send conveyances", f"End the Invoice Cloud AutoPay, paperless and "
                                f"registration of {_n(len(pending), 'old account')}?\n\n{names}"):
            return None
        op = self.operator_id
        return self._run(lambda o: self.service.sync(operator=op, progress=o.progress, cancel=o.cancel_event),
                         "Sending conveyances to Invoice Cloud…", self._show_report)

    def _show_report(self, result: ConveyanceResult) -> None:
        self.last_result = result
        self.model.set_rows(result.done + result.pending + result.review)
        sent = ", ".join(f"{OUTCOME_LABELS.get(k, k)}: {v}" for k, v in sorted(result.outcomes.items())) or "nothing"
        text = f"Sent: {sent}. {len(result.review)} waiting for review."
        if result.aborted:
            text += f" Stopped: {result.aborted}"
        self.summary.setText(text)

    def selected(self) -> list[Conveyance]:
        rows = {i.row() for i in self.table.selectionModel().selectedRows()}
        return [self.model.rows[r] for r in sorted(rows)]

    def release_selected(self) -> Operation | None:
        keys = [c.key for c in self.selected() if c.state == "needs_review"]
        if not keys:
            self.summary.setText("Select a conveyance waiting for review.")
            return None
        op = self.operator_id
        return self._run(lambda _o: self.service.release(keys, op), "Releasing conveyances…", self._show_report)
