"""Dialogs of the Lockbox tab: a supervisor's approval (ID + PIN) and the GL mapping editor.

The GL mapping editor is read-only unless the signed-in operator is a supervisor or a
supervisor approves with their PIN; every entry is checked against the profile's GL account
format as it is typed, and Save stays disabled while any entry is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.config import Operator
from console.errors import Problem, UserFacingError
from console.lockbox.glmap import GlFormat, GlMap, check_entry, load_gl_map_csv, save_gl_map_csv

ApproveFn = Callable[[str, str], Operator]


class SupervisorDialog(QDialog):
    """A supervisor enters their own ID and PIN; ``supervisor`` is set only on approval."""

    def __init__(self, approve: ApproveFn, reason: str, parent: QWidget | None = None, *,
                 title: str = "Supervisor approval"):
        super().__init__(parent)
        self.setObjectName("lockbox-supervisor-dialog")
        self.setWindowTitle(title)
        self.setModal(True)
        self._approve = approve
        self.supervisor: Operator | None = None
        intro = QLabel(reason, self)
        intro.setWordWrap(True)
        self.supervisor_id = QLineEdit(self)
        self.supervisor_id.setObjectName("supervisor-id")
        self.pin = QLineEdit(self)
        self.pin.setObjectName("supervisor-pin")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout()
        form.addRow("Supervisor ID:", self.supervisor_id)
        form.addRow("PIN:", self.pin)
        self.error = QLabel("", self)
        self.error.setObjectName("supervisor-error")
        self.error.setStyleSheet("color:#b91c1c")
        self.buttons = QDialogButtonBox(self)
        self.approve_button = QPushButton("Approve", self)
        self.buttons.addButton(self.approve_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.try_approve)
        self.buttons.rejected.connect(self.reject)

    def try_approve(self) -> bool:
        try:
            self.supervisor = self._approve(self.supervisor_id.text().strip(), self.pin.text())
        except UserFacingError as exc:
            self.error.setText(str(exc))
            self.pin.clear()
            return False
        self.pin.clear()
        self.accept()
        return True


def ask_supervisor(parent: QWidget | None, approve: ApproveFn, reason: str) -> Operator | None:
    dialog = SupervisorDialog(approve, reason, parent)
    return dialog.supervisor if dialog.exec() == QDialog.DialogCode.Accepted else None


ITEM_COL, GL_COL = 0, 1
_BAD = QBrush(QColor("#fee2e2"))


class GlMapDialog(QDialog):
    """Edit item code → GL account. ``save(gl_map, approver)`` stores it (the caller's service call)."""

    def __init__(self, gl_map: GlMap, gl_format: GlFormat, *, editable: bool,
                 save: Callable[[GlMap], None], unlock: Callable[[], bool] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("lockbox-gl-map-dialog")
        self.setWindowTitle("GL mapping — CloudStore item code → GL account")
        self.resize(520, 480)
        self._format = gl_format
        self._save = save
        self._unlock = unlock
        self.saved: GlMap | None = None
        self.format_label = QLabel(f"GL account format: <b>{gl_format.describe()}</b> "
                                   "(N a digit, A a letter, X either; e.g. 10-4100-000)", self)
        self.lock_label = QLabel("Only a supervisor can change the GL mapping.", self)
        self.lock_label.setObjectName("gl-lock-label")
        self.unlock_button = QPushButton("Unlock (supervisor)…", self)
        self.table = QTableWidget(0, 2, self)
        self.table.setObjectName("gl-map-table")
        self.table.setHorizontalHeaderLabels(["Item code", "GL account"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for code, account in sorted(gl_map.accounts.items()):
            self._append(code, account)
        self.add_button = QPushButton("Add row", self)
        self.remove_button = QPushButton("Remove row", self)
        self.import_button = QPushButton("Import CSV…", self)
        self.export_button = QPushButton("Export CSV…", self)
        self.problems_label = QLabel("", self)
        self.problems_label.setObjectName("gl-problems")
        self.problems_label.setWordWrap(True)
        self.problems_label.setStyleSheet("color:#b91c1c")
        self.notice_label = QLabel("", self)  # what an import changed (not a problem)
        self.notice_label.setObjectName("gl-notice")
        self.notice_label.setWordWrap(True)
        self.notice_label.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close,
                                        self)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        row = QHBoxLayout()
        for w in (self.add_button, self.remove_button, self.import_button, self.export_button):
            row.addWidget(w)
        row.addStretch(1)
        lock = QHBoxLayout()
        lock.addWidget(self.lock_label, 1)
        lock.addWidget(self.unlock_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.format_label)
        layout.addLayout(lock)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.notice_label)
        layout.addWidget(self.problems_label)
        layout.addWidget(self.buttons)
        self.table.itemChanged.connect(self._validate)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.import_button.clicked.connect(self._on_import_button_clicked)
        self.export_button.clicked.connect(self._on_export_button_clicked)
        self.unlock_button.clicked.connect(self._on_unlock_button_clicked)
        self.buttons.accepted.connect(self._on_save)
        self.buttons.rejected.connect(self.reject)
        self.set_editable(editable)
        self._validate()

    def add_item_code(self, code: str) -> None:
        """Start a row for ``code`` (from an unmapped payment) unless it is there already."""
        if any(c == code for _, c, _ in self.entries()):
            return
        self.table.blockSignals(True)
        self._append(code, "")
        self.table.blockSignals(False)
        self.table.setCurrentCell(self.table.rowCount() - 1, GL_COL)
        self._validate()

    # ---- state
    def set_editable(self, editable: bool) -> None:
        self.editable = editable
        trig = (QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
                | QAbstractItemView.EditTrigger.AnyKeyPressed) if editable \
            else QAbstractItemView.EditTrigger.NoEditTriggers
        self.table.setEditTriggers(trig)
        for w in (self.add_button, self.remove_button, self.import_button):
            w.setEnabled(editable)
        self.lock_label.setVisible(not editable)
        self.unlock_button.setVisible(not editable and self._unlock is not None)
        self._validate()

    def _append(self, code: str, account: str) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        self.table.setItem(r, ITEM_COL, QTableWidgetItem(code))
        self.table.setItem(r, GL_COL, QTableWidgetItem(account))

    def entries(self) -> list[tuple[int, str, str]]:
        out = []
        for r in range(self.table.rowCount()):
            code = (self.table.item(r, ITEM_COL).text() if self.table.item(r, ITEM_COL) else "").strip()
            gl = (self.table.item(r, GL_COL).text() if self.table.item(r, GL_COL) else "").strip()
            if code or gl:
                out.append((r, code, gl))
        return out

    def gl_map(self) -> GlMap:
        return GlMap({code: gl for _, code, gl in self.entries()}, source="GL mapping")

    def problems(self) -> list[str]:
        out = []
        seen: dict[str, int] = {}
        self.table.blockSignals(True)
        try:
            for r in range(self.table.rowCount()):
                for c in (ITEM_COL, GL_COL):
                    item = self.table.item(r, c)
                    if item is not None:
                        item.setBackground(QBrush())
                        item.setToolTip("")
            for r, code, gl in self.entries():
                found = check_entry(code, gl, self._format, line=r + 1)
                if code in seen:
                    found.append(Problem(r + 1, "ItemCode", "unique", f"item {code} is on row {seen[code]} too"))
                seen.setdefault(code, r + 1)
                for p in found:
                    col = ITEM_COL if p.column == "ItemCode" else GL_COL
                    item = self.table.item(r, col)
                    if item is not None:
                        item.setBackground(_BAD)
                        item.setToolTip(p.message)
                    out.append(f"row {r + 1}: {p.message}")
        finally:
            self.table.blockSignals(False)
        return out

    def _validate(self, *_args) -> None:
        problems = self.problems()
        self.problems_label.setText("\n".join(problems[:6]) + (f"\n… {len(problems) - 6} more"
                                                               if len(problems) > 6 else ""))
        self.save_button.setEnabled(self.editable and not problems)

    # ---- slots
    def _on_add_button_clicked(self) -> None:
        self._append("", "")
        self.table.setCurrentCell(self.table.rowCount() - 1, ITEM_COL)
        self._validate()

    def _on_remove_button_clicked(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for r in rows:
            self.table.removeRow(r)
        self._validate()

    def _on_import_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import GL mapping", "", "CSV files (*.csv);;All files (*)")
        if path:
            self.import_csv(Path(path))

    def import_csv(self, path: Path) -> None:
        try:
            m = load_gl_map_csv(path, self._format)
        except UserFacingError as exc:
            from console.ui.errors import show_error

            show_error(self, exc)
            return
        before = {code: account for _row, code, account in self.entries() if code}
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for code, account in sorted(m.accounts.items()):
            self._append(code, account)
        self.table.blockSignals(False)
        removed = sorted(set(before) - set(m.accounts))
        changed = sorted(c for c in set(before) & set(m.accounts) if before[c] != m.accounts[c])
        parts = [f"Imported {len(m.accounts)} item code(s) from {path.name}; the file replaces the mapping."]
        if removed:
            parts.append(f"Removed {len(removed)} code(s) the file does not have: {', '.join(removed[:10])}"
                         + (" …" if len(removed) > 10 else "") + ".")
        if changed:
            parts.append(f"New GL account for {', '.join(changed[:10])}" + (" …" if len(changed) > 10 else "") + ".")
        parts.append("Save keeps it; Close without saving keeps the mapping as it was.")
        self.notice_label.setText(" ".join(parts))
        self.notice_label.setVisible(True)
        self._validate()

    def _on_export_button_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export GL mapping", "gl-mapping.csv", "CSV files (*.csv)")
        if path:
            self.export_csv(Path(path))

    def export_csv(self, path: Path):
        """Write the mapping as CSV on a worker (a network drive can be slow); a failure is shown."""
        from console.ui.operations import Operation

        gl_map = self.gl_map()
        self.export_button.setEnabled(False)

        def ended(_result=None) -> None:
            self.export_button.setEnabled(True)

        def failed(exc: BaseException) -> None:
            from console.ui.errors import show_error

            ended()
            show_error(self, exc)

        op = Operation(self, lambda op: save_gl_map_csv(path, gl_map), label="Exporting the GL mapping…")
        op.success(ended).failure(failed).run()
        return op

    def _on_unlock_button_clicked(self) -> None:
        if self._unlock is not None and self._unlock():
            self.set_editable(True)

    def _on_save(self) -> None:
        if not self.editable or self.problems():
            return
        m = self.gl_map()
        try:
            self._save(m)
        except UserFacingError as exc:
            from console.ui.errors import show_error

            show_error(self, exc)
            return
        self.saved = m
        self.accept()

