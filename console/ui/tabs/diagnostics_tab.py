"""Diagnostics tab: the checks with coloured states and fix hints, Re-run, support bundle.

"Transfer connection…" opens ``TransferConnectionDialog`` for the active profile (test the
login and folders, trust or forget host keys — forgetting stays with supervisor and support);
the checks run again when a key was trusted or forgotten there.

"Full integrity check" runs the checks with SQLite's ``integrity_check`` (not only
``quick_check``) on the journal and the card-read memory. When the journal check fails
(``console.services.journal_guard``), a signed-in supervisor may acknowledge it ("Acknowledge…",
audited) so posting and payments go on.

Below the checks: the card reader test (``console.ui.reader_test``) and the audit log
(``services.audit``) when this build has them. Layout only: the checks live in
``console.services.diagnostics``, the bundle in ``console.services.support_bundle``.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.formatting import format_datetime
from console.services.diagnostics import FAIL, PASS, WARN, Check, DiagnosticsReport
from console.ui.context import UiContext
from console.ui.operations import Operation
from console.ui.table_model import ListTableModel

log = logging.getLogger(__name__)

STATE_COLORS = {PASS: ("#dcfce7", "#166534"), WARN: ("#fef3c7", "#92400e"), FAIL: ("#fee2e2", "#991b1b")}
STATE_TEXT = {PASS: "Pass", WARN: "Warning", FAIL: "Fail"}
CheckRole = Qt.ItemDataRole.UserRole + 1
AUTO_RUN_DELAY_MS = 300
READER_TEST = "console.ui.reader_test:ReaderTestWidget"
TRANSFER_CHECK = "transfer"  # the key of console.services.transfer.diagnostic_check
JOURNAL_CHECK = "audit"  # the key of console.services.diagnostics_journal.check_audit


class DiagnosticsModel(ListTableModel):
    """One row per check. Column constants name the columns; ``CheckRole`` gives the Check."""

    STATE, CHECK, RESULT, HINT = range(4)
    HEADERS = ("State", "Check", "Result", "How to fix")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.checks: list[Check] = []

    def set_checks(self, checks: list[Check]) -> None:
        self.beginResetModel()
        self.checks = list(checks)
        self.endResetModel()

    def _items(self):
        return self.checks

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.checks):
            return None
        c = self.checks[index.row()]
        col = index.column()
        if role == CheckRole:
            return c
        if role == Qt.ItemDataRole.DisplayRole:
            return (STATE_TEXT.get(c.state, c.state), c.title, c.summary, c.hint)[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join([c.summary, *c.details, *([f"Fix: {c.hint}"] if c.hint else [])])
        if col == self.STATE and role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(QColor(STATE_COLORS[c.state][0])) if c.state in STATE_COLORS else None
        if col == self.STATE and role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor(STATE_COLORS[c.state][1])) if c.state in STATE_COLORS else None
        if col == self.STATE and role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if col == self.STATE and role == Qt.ItemDataRole.FontRole:
            from PySide6.QtGui import QFont

            f = QFont()
            f.setBold(True)
            return f
        return None


class DiagnosticsTab(QWidget):
    def __init__(self, ctx: UiContext, *, auto_run: bool = True):
        super().__init__()
        self.ctx = ctx
        self.report: DiagnosticsReport | None = None
        self.running = False
        self.setObjectName("diagnostics-tab")

        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 10)
        lay.setSpacing(8)
        top = QHBoxLayout()
        self.summary = QLabel("Not run yet")
        self.summary.setObjectName("diagnostics-summary")
        font = self.summary.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.summary.setFont(font)
        top.addWidget(self.summary, 1)
        self.rerun_button = QPushButton("&Re-run checks")
        self.rerun_button.setObjectName("diagnostics-rerun")
        self.rerun_button.setToolTip("Run every check again (Ctrl+R)")
        self.rerun_button.clicked.connect(lambda: self.run_checks())
        self.integrity_button = QPushButton("Full &integrity check")
        self.integrity_button.setObjectName("diagnostics-integrity")
        self.integrity_button.setToolTip("Run the checks with SQLite's full integrity_check of the journal and the "
                                         "card-read memory (slower: reads every page and index)")
        self.integrity_button.clicked.connect(lambda: self.run_checks(thorough=True))
        self.acknowledge_button = QPushButton("&Acknowledge…")
        self.acknowledge_button.setObjectName("diagnostics-acknowledge")
        self.acknowledge_button.setVisible(False)  # shown when the journal check fails
        self.acknowledge_button.clicked.connect(self._on_acknowledge_clicked)
        self.bundle_button = QPushButton("&Export support bundle…")
        self.bundle_button.setObjectName("diagnostics-bundle")
        self.bundle_button.setToolTip("A zip of the checks, recent logs and the profile — without secrets")
        self.bundle_button.clicked.connect(self._on_bundle_clicked)
        self.transfer_button = QPushButton("&Transfer connection…")
        self.transfer_button.setObjectName("diagnostics-transfer")
        self.transfer_button.setToolTip("Test the file transfer sign-in and remote folders, trust a new server "
                                        "key, see the pinned keys (forgetting one: supervisor or support)")
        self.transfer_button.clicked.connect(self._on_transfer_clicked)
        self.transfer_dialog = None  # the open TransferConnectionDialog, if any
        top.addWidget(self.acknowledge_button)
        top.addWidget(self.transfer_button)
        top.addWidget(self.rerun_button)
        top.addWidget(self.integrity_button)
        top.addWidget(self.bundle_button)
        lay.addLayout(top)
        QShortcut(QKeySequence("Ctrl+R"), self, activated=self.run_checks,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

        self.model = DiagnosticsModel(self)
        self.table = QTableView()
        self.table.setObjectName("diagnostics-table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(DiagnosticsModel.STATE, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(DiagnosticsModel.CHECK, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(DiagnosticsModel.RESULT, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(DiagnosticsModel.HINT, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(DiagnosticsModel.STATE, 84)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_row_changed)
        self.table.setSizeAdjustPolicy(QTableView.SizeAdjustPolicy.AdjustToContents)

        self.details = QPlainTextEdit()
        self.details.setObjectName("diagnostics-details")
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select a check to see its details.")
        self.details.setMaximumHeight(84)

        checks_box = QWidget()
        cl = QVBoxLayout(checks_box)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.table, 1)
        cl.addWidget(self.details)

        self.tools = QTabWidget()
        self.tools.setObjectName("diagnostics-tools")
        self.tools.setDocumentMode(True)
        # each tool is built the first time its page is shown (start-up stays fast)
        self._tool_builders = [self._reader_test_slot, self._audit_slot]
        for title in ("Card reader test", "Audit log"):
            self.tools.addTab(_scrollable(None), title)
        last = ctx.ui_state("diagnostics_tab").value("tool")
        titles = [self.tools.tabText(i) for i in range(self.tools.count())]
        start = titles.index(last) if last in titles else (0 if _module_exists(READER_TEST) else 1)
        self.tools.setCurrentIndex(start)
        self._build_tool(start)
        self.tools.currentChanged.connect(self._build_tool)
        self.tools.currentChanged.connect(
            lambda i: ctx.ui_state("diagnostics_tab").set_value("tool", self.tools.tabText(i)))

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("diagnostics-splitter")
        splitter.addWidget(checks_box)
        splitter.addWidget(self.tools)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        state = ctx.ui_state("diagnostics_tab").bytes("splitter")
        self._splitter_restored = state is not None and splitter.restoreState(state)
        splitter.splitterMoved.connect(
            lambda *_: ctx.ui_state("diagnostics_tab").set_value("splitter", splitter.saveState()))
        lay.addWidget(splitter, 1)
        if auto_run:  # once the window is on screen: the checks' imports and I/O must not delay it
            QTimer.singleShot(AUTO_RUN_DELAY_MS, self.run_checks)

    # ---- slots for other helpers' widgets ----------------------------------------------
    def _optional_widget(self, target: str, missing_text: str) -> QWidget:
        module_name, _, class_name = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                return _note(missing_text)
            log.exception("could not load %s", target)
            return _note(f"Could not be loaded: {type(exc).__name__}. See the log.")
        try:
            return getattr(module, class_name)(self.ctx)
        except Exception as exc:  # noqa: BLE001 - a broken tool must not break Diagnostics
            log.exception("could not open %s", target)
            return _note(f"Could not be opened: {type(exc).__name__}. See the log.")

    def _build_tool(self, index: int) -> None:
        area = self.tools.widget(index)
        if isinstance(area, QScrollArea) and area.widget() is None:
            area.setWidget(self._tool_builders[index]())

    def tool(self, title: str) -> QWidget | None:
        """The built tool page (built now if needed)."""
        for i in range(self.tools.count()):
            if self.tools.tabText(i) == title:
                self._build_tool(i)
                return self.tools.widget(i).widget()
        return None

    def _reader_test_slot(self) -> QWidget:
        return self._optional_widget(
            READER_TEST,
            "The card reader test (swipe a card on the IDTech SREDKey and see the masked result, "
            "reader serial and key status) is not part of this version yet.")

    def _audit_slot(self) -> QWidget:
        services = self.ctx.services
        if not hasattr(type(services), "audit"):
            return _note("The audit log (who did what and when) is not part of this version yet.")
        if not _may_view_audit(self.ctx):
            return _note("The audit log is shown to supervisors and support only.")
        try:
            importlib.import_module("console.ui.audit_view")
        except ModuleNotFoundError:
            return AuditLogPanel(self.ctx)  # until a fuller viewer exists
        return self._optional_widget("console.ui.audit_view:AuditLogView", "")

    # ---- checks -------------------------------------------------------------------------
    def run_checks(self, thorough: bool = False) -> None:
        if self.running:
            return
        self.running = True
        self.rerun_button.setEnabled(False)
        self.integrity_button.setEnabled(False)
        self.summary.setText("Running checks…" if not thorough else "Running checks (full integrity check)…")
        self.summary.setStyleSheet("")
        from console.services.diagnostics import run_checks

        services, operator = self.ctx.services, self.ctx.operator
        Operation(self, lambda op: run_checks(services, operator=operator, progress=op.progress,
                                              cancel=op.cancel_event, thorough=thorough),
                  label="Running diagnostics", cancellable=True) \
            .success(self.show_report) \
            .failure(self._on_run_failed) \
            .run()

    def _on_run_failed(self, exc: BaseException) -> None:
        from console.ui.errors import show_error

        self.running = False
        self.rerun_button.setEnabled(True)
        self.integrity_button.setEnabled(True)
        self.summary.setText("The checks could not be run")
        show_error(self, exc)

    def show_report(self, report: DiagnosticsReport) -> None:
        self.running = False
        self.rerun_button.setEnabled(True)
        self.integrity_button.setEnabled(True)
        self.report = report
        self._show_acknowledge(report)
        self.model.set_checks(report.checks)
        self.table.resizeRowsToContents()
        if not self._splitter_restored:  # checks fit without scrolling; the tools get the rest
            rows = self.table.verticalHeader().length() + self.table.horizontalHeader().height() + 4
            top = rows + self.details.maximumHeight() + 8
            total = max(self.splitter.height(), top + 160)
            self.splitter.setSizes([top, total - top])
        counts = report.counts()
        if report.overall == PASS:
            text = f"All {len(report.checks)} checks passed"
        else:
            parts = [f"{counts[FAIL]} failed" if counts[FAIL] else "", f"{counts[WARN]} warning{'' if counts[WARN] == 1 else 's'}" if counts[WARN] else "",
                     f"{counts[PASS]} passed"]
            text = ", ".join(p for p in parts if p)
        self.summary.setText(text)
        fg = STATE_COLORS[report.overall][1]
        self.summary.setStyleSheet(f"color:{fg};")
        worst = next((i for i, c in enumerate(report.checks) if c.state == report.overall), 0)
        self.table.selectRow(worst)
        self.ctx.status(f"Diagnostics: {text.lower()}")

    def _on_table_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        c = self.model.data(current, CheckRole) if current.isValid() else None
        if c is None:
            self.details.clear()
            return
        lines = [f"{c.title}: {STATE_TEXT.get(c.state, c.state)} — {c.summary}"]
        if c.hint:
            lines.append(f"How to fix: {c.hint}")
        if c.key == TRANSFER_CHECK and c.state != PASS:  # shown before the details, which may scroll
            lines.append("Transfer connection… (above) tests the sign-in again and trusts or forgets the server's key.")
        lines += [f"  • {d}" for d in c.details]
        self.details.setPlainText("\n".join(lines))

    # ---- acknowledging a journal finding ------------------------------------------------
    def _journal_finding(self, report: DiagnosticsReport | None) -> Check | None:
        return next((c for c in (report.checks if report else ()) if c.key == JOURNAL_CHECK and c.state == FAIL),
                    None)

    def _show_acknowledge(self, report: DiagnosticsReport) -> None:
        finding = self._journal_finding(report)
        operator = self.ctx.operator
        supervisor = operator is not None and getattr(operator, "role", "") == "supervisor"
        self.acknowledge_button.setVisible(finding is not None)
        self.acknowledge_button.setEnabled(finding is not None and supervisor)
        self.acknowledge_button.setToolTip(
            "Accept what the journal check found and let posting and payments go on (recorded in the audit log)"
            if supervisor else "Only a signed-in supervisor may acknowledge what the journal check found")

    def _on_acknowledge_clicked(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        finding = self._journal_finding(self.report)
        operator = self.ctx.operator
        if finding is None or operator is None or getattr(operator, "role", "") != "supervisor":
            return
        answer = QMessageBox.question(
            self, "Acknowledge the journal check",
            f"The journal check found:\n\n{finding.summary}\n\nRestoring the right journal is better when it "
            "exists. Acknowledge and let posting and payments go on? This is recorded in the audit log with "
            "your operator ID.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        guard, operator_id = self.ctx.services.journal_guard, operator.operator_id
        self.acknowledge_button.setEnabled(False)
        Operation(self, lambda op: guard.acknowledge(operator_id, note="acknowledged in Diagnostics"),
                  label="Acknowledging the journal check") \
            .success(lambda _status: self.run_checks()) \
            .failure(self._on_run_failed) \
            .run()

    # ---- transfer connection ------------------------------------------------------------
    def _on_transfer_clicked(self) -> None:
        self.open_transfer_connection()

    def open_transfer_connection(self):
        """The transfer connection dialog for the active profile, its test started."""
        from console.ui.transfer_connection_dialog import TransferConnectionDialog, subject_text

        if self.transfer_dialog is not None:
            self.transfer_dialog.raise_()
            self.transfer_dialog.activateWindow()
            return self.transfer_dialog
        profile = self.ctx.profile
        dlg = TransferConnectionDialog(self.ctx.services, self.ctx.operator, self,
                                       subject=subject_text(profile.name, training=bool(profile.training)))
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.finished.connect(lambda _result: self._on_transfer_dialog_finished(dlg))
        self.transfer_dialog = dlg
        dlg.open()
        dlg.test_connection()
        return dlg

    def _on_transfer_dialog_finished(self, dlg) -> None:
        self.transfer_dialog = None
        if dlg.changed_keys:  # the transfer check's result changed with the pinned keys
            self.run_checks()

    # ---- support bundle -----------------------------------------------------------------
    def _on_bundle_clicked(self) -> None:
        from console.services.support_bundle import default_bundle_name

        suggested = str(_documents_dir() / default_bundle_name(self.ctx.profile.name))
        path, _ = QFileDialog.getSaveFileName(self, "Export support bundle", suggested, "Zip files (*.zip)")
        if path:
            self.export_bundle(Path(path))

    def export_bundle(self, path: Path) -> None:
        from console.services.support_bundle import build_support_bundle

        services, report = self.ctx.services, self.report
        self.bundle_button.setEnabled(False)

        def done(result: Path) -> None:
            self.bundle_button.setEnabled(True)
            self.ctx.status(f"Support bundle saved: {result}", 10_000)
            self.last_bundle = result

        def failed(exc: BaseException) -> None:
            from console.ui.errors import show_error

            self.bundle_button.setEnabled(True)
            show_error(self, exc)

        operator = self.ctx.operator
        Operation(self, lambda op: build_support_bundle(services, path, report=report, progress=op.progress,
                                                        operator=operator),
                  label="Exporting support bundle").success(done).failure(failed).run()


def _documents_dir() -> Path:
    from PySide6.QtCore import QStandardPaths

    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(found) if found else Path.home()


def _scrollable(widget: QWidget | None) -> QScrollArea:
    """Tools scroll inside their tab, so the checks above always fit."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    if widget is not None:
        area.setWidget(widget)
    return area


def _module_exists(target: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(target.partition(":")[0]) is not None
    except ModuleNotFoundError:
        return False


def _may_view_audit(ctx) -> bool:
    """The signed-in role may view the audit log (the profile may narrow it)."""
    from console.services.operators import can

    return ctx.operator is not None and can(ctx.profile, ctx.operator, "view_audit")


def _note(text: str) -> QWidget:
    w = QWidget()
    w.setObjectName("slot-note-page")
    lay = QVBoxLayout(w)
    lay.setContentsMargins(12, 12, 12, 12)
    label = QLabel(text)
    label.setObjectName("slot-note")
    label.setWordWrap(True)
    label.setStyleSheet("color:palette(placeholder-text);")
    lay.addWidget(label)
    lay.addStretch(1)
    return w


class AuditTableModel(ListTableModel):
    """Audit rows, newest first. ``RowRole`` gives the AuditRow."""

    SEQ, AT, OPERATOR, ACTION, SUBJECT, DETAILS = range(6)
    HEADERS = ("#", "When", "Operator", "Action", "Subject", "Details")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list = []

    def set_rows(self, rows: list) -> None:
        self.beginResetModel()
        self.rows = list(reversed(rows))
        self.endResetModel()

    def _items(self):
        return self.rows

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        r = self.rows[index.row()]
        if role == CheckRole:
            return r
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            details = ", ".join(f"{k}={v}" for k, v in sorted(r.details.items())) if r.details else ""
            at = format_datetime(r.at, seconds=True)
            return (str(r.seq), at, r.operator, r.action, r.subject, details)[index.column()]
        return None


class AuditLogPanel(QWidget):
    """The newest audit rows, chain verification and CSV export (``services.audit``)."""

    LIMIT = 500

    def __init__(self, ctx: UiContext):
        super().__init__()
        self.ctx = ctx
        self.setObjectName("audit-panel")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 6, 0, 0)
        row = QHBoxLayout()
        self.verify_label = QLabel(f"The newest {self.LIMIT} entries.")
        self.verify_label.setObjectName("audit-verify")
        row.addWidget(self.verify_label, 1)
        self.refresh_button = QPushButton("Refresh")
        self.verify_button = QPushButton("&Verify chain")
        self.verify_button.setToolTip("Recompute the hash chain: any changed, inserted or deleted entry is named")
        self.export_button = QPushButton("Export &CSV…")
        for b in (self.refresh_button, self.verify_button, self.export_button):
            b.setAutoDefault(False)
            row.addWidget(b)
        lay.addLayout(row)
        self.model = AuditTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("audit-table")
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.table.setWordWrap(False)
        lay.addWidget(self.table, 1)
        self.refresh_button.clicked.connect(self.refresh)
        self.verify_button.clicked.connect(self.verify)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.refresh()

    def refresh(self) -> None:
        from console.services.audit import view_rows

        audit, profile, operator = self.ctx.services.audit, self.ctx.profile, self.ctx.operator
        Operation(self, lambda op: view_rows(audit, profile, operator, limit=self.LIMIT)).success(self._show_rows).run()

    def _show_rows(self, rows: list) -> None:
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()

    def verify(self) -> None:
        """The journal guard's check: the keyed chain, the triggers, the anchor outside the journal."""
        guard = self.ctx.services.journal_guard
        self.verify_button.setEnabled(False)

        def done(status) -> None:
            self.verify_button.setEnabled(True)
            text = f"Intact — {status.anchor}" if status.ok else "Not intact: " + "; ".join(status.findings)
            self.verify_label.setText(text)
            self.verify_label.setStyleSheet(f"color:{STATE_COLORS[PASS if status.ok else FAIL][1]};")

        def failed(exc: BaseException) -> None:
            from console.ui.errors import show_error

            self.verify_button.setEnabled(True)
            show_error(self, exc)

        Operation(self, lambda op: guard.check(), label="Verifying the audit log").success(done).failure(failed).run()

    def _on_export_clicked(self) -> None:
        name = f"audit-{self.ctx.profile.name}.csv"
        path, _ = QFileDialog.getSaveFileName(self, "Export audit log", str(_documents_dir() / name),
                                              "CSV files (*.csv)")
        if path:
            self.export_csv(Path(path))

    def export_csv(self, path: Path) -> None:
        from console.services.audit import export_for

        audit, profile, operator = self.ctx.services.audit, self.ctx.profile, self.ctx.operator
        Operation(self, lambda op: export_for(audit, profile, operator, path), label="Exporting the audit log") \
            .success(lambda _text: self.ctx.status(f"Audit log exported: {path}", 10_000)).run()
