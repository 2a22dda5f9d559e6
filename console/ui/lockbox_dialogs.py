"""Dialogs of the Lockbox tab: a supervisor's approval (ID + PIN) and the GL mapping editor.

The GL mapping editor is read-only unless the signed-in operator is a supervisor or a
supervisor approves with their PIN; every entry is checked against the profile's GL account
format as it is typed, and Save stays disabled while any entry is wrong.

Checking a PIN (a slow hash, an audit record), importing, exporting and saving the mapping
run through ``Operation``: the dialogs stay responsive on a slow or network drive.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

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
from console.domain.wording import counted
from console.errors import Problem, UserFacingError
from console.lockbox.glmap import GlFormat, GlMap, check_entry, load_gl_map_csv, save_gl_map_csv
from console.services.gl_mapping import IMPORT_PREFIX
from console.ui.operations import Operation

ApproveFn = Callable[[str, str], Operator]


def show_error(parent: QWidget | None, exc: BaseException) -> None:
    from console.ui import errors  # looked up at call time (tests replace errors.show_error)

    errors.show_error(parent, exc)


class SupervisorDialog(QDialog):
    """A supervisor enters their own ID and PIN; ``supervisor`` is set only on approval.

    ``approve(supervisor_id, pin)`` runs on a worker (it checks a PIN hash and writes the audit
    trail); a refusal (``UserFacingError``) is said in the dialog, anything else by ``show_error``.
    """

    def __init__(self, approve: ApproveFn, reason: str, parent: QWidget | None = None, *,
                 title: str = "Supervisor approval"):
        super().__init__(parent)
        self.setObjectName("lockbox-supervisor-dialog")
        self.setWindowTitle(title)
        self.setModal(True)
        self._approve = approve
        self._op: Operation | None = None
        self._closed = False
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

    @property
    def checking(self) -> bool:
        return self._op is not None and not self._op.done

    def try_approve(self) -> Operation | None:
        """Check the ID and PIN off the GUI thread; accepts the dialog when they are right."""
        if self.checking:
            return None  # Enter pressed again while the PIN is being checked
        approve, supervisor_id, pin = self._approve, self.supervisor_id.text().strip(), self.pin.text()
        self._set_checking(True)
        self.error.setText("Checking…")
        self._op = Operation(self, lambda op: approve(supervisor_id, pin), label="Checking the supervisor PIN…") \
            .success(self._on_approved).failure(self._on_refused)
        return self._op.run()

    def _set_checking(self, checking: bool) -> None:
        for w in (self.approve_button, self.supervisor_id, self.pin):
            w.setEnabled(not checking)

    def _on_approved(self, supervisor: Operator) -> None:
        self._set_checking(False)
        self.pin.clear()
        if self._closed:
            return  # cancelled while the PIN was being checked
        self.error.setText("")
        self.supervisor = supervisor
        self.accept()

    def _on_refused(self, exc: BaseException) -> None:
        self._set_checking(False)
        self.pin.clear()
        if isinstance(exc, UserFacingError):
            self.error.setText(str(exc))
            self.pin.setFocus()
            return
        self.error.setText("")
        show_error(self, exc)

    def reject(self) -> None:  # Qt override
        self._closed = True
        super().reject()


def ask_supervisor(parent: QWidget | None, approve: ApproveFn, reason: str) -> Operator | None:
    dialog = SupervisorDialog(approve, reason, parent)
    return dialog.supervisor if dialog.exec() == QDialog.DialogCode.Accepted else None


ITEM_COL, GL_COL = 0, 1
_BAD = QBrush(QColor("#fee2e2"))


class GlMapDialog(QDialog):
    """Edit item code → GL account.

    ``save(gl_map)`` stores it: the caller's service call, run on a worker (no widgets in it);
    ``on_saved(what save returned)`` follows on the GUI thread once it has been stored.
    """

    def __init__(self, gl_map: GlMap, gl_format: GlFormat, *, editable: bool,
                 save: Callable[[GlMap], Any], unlock: Callable[[], bool] | None = None,
                 parent: QWidget | None = None, on_saved: Callable[[Any], None] | None = None):
        super().__init__(parent)
        self.setObjectName("lockbox-gl-map-dialog")
        self.setWindowTitle("GL mapping — CloudStore item code → GL account")
        self.resize(520, 480)
        self._format = gl_format
        self._save = save
        self._on_saved = on_saved
        self._unlock = unlock
        self._working: Operation | None = None  # an import or a save under way
        self.saved: GlMap | None = None
        self._source = "GL mapping"  # "import <file>" once a file replaced the table
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
        """The table's mapping; after an import it says so (``import <file>``: audited as an import)."""
        return GlMap({code: gl for _, code, gl in self.entries()}, source=self._source)

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
        self.save_button.setEnabled(self.editable and not problems and not self.working)

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

    @property
    def working(self) -> bool:
        return self._working is not None and not self._working.done

    def _set_working(self, op: Operation | None) -> None:
        self._working = op
        busy = op is not None
        self.import_button.setEnabled(self.editable and not busy)
        self._validate()

    def import_csv(self, path: Path) -> Operation | None:
        """Read a mapping CSV on a worker; it replaces the table (Save keeps it)."""
        if self.working:
            return None
        gl_format = self._format

        def done(m: GlMap) -> None:
            self._set_working(None)
            self._show_imported(path, m)

        def failed(exc: BaseException) -> None:
            self._set_working(None)
            show_error(self, exc)

        op = Operation(self, lambda op: load_gl_map_csv(path, gl_format), label=f"Reading {path.name}…")
        op.success(done).failure(failed)
        self._set_working(op)
        return op.run()

    def _show_imported(self, path: Path, m: GlMap) -> None:
        self._source = IMPORT_PREFIX + path.name
        before = {code: account for _row, code, account in self.entries() if code}
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for code, account in sorted(m.accounts.items()):
            self._append(code, account)
        self.table.blockSignals(False)
        removed = sorted(set(before) - set(m.accounts))
        changed = sorted(c for c in set(before) & set(m.accounts) if before[c] != m.accounts[c])
        parts = [f"Imported {counted(len(m.accounts), 'item code')} from {path.name}; the file replaces the mapping."]
        if removed:
            parts.append(f"Removed {counted(len(removed), 'code')} the file does not have: {', '.join(removed[:10])}"
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
        gl_map = self.gl_map()
        self.export_button.setEnabled(False)

        def ended(_result=None) -> None:
            self.export_button.setEnabled(True)

        def failed(exc: BaseException) -> None:
            ended()
            show_error(self, exc)

        op = Operation(self, lambda op: save_gl_map_csv(path, gl_map), label="Exporting the GL mapping…")
        op.success(ended).failure(failed).run()
        return op

    def _on_unlock_button_clicked(self) -> None:
        if self._unlock is not None and self._unlock():
            self.set_editable(True)

    def _on_save(self) -> Operation | None:
        """Store the mapping through ``save`` on a worker; the dialog closes once it is stored."""
        if not self.editable or self.working or self.problems():
            return None
        m, save = self.gl_map(), self._save

        def done(result: Any) -> None:
            self._set_working(None)
            self.saved = m
            if self._on_saved is not None:
                self._on_saved(result)
            self.accept()

        def failed(exc: BaseException) -> None:
            self._set_working(None)
            show_error(self, exc)

        op = Operation(self, lambda op: save(m), label="Saving the GL mapping…").success(done).failure(failed)
        self._set_working(op)
        return op.run()
