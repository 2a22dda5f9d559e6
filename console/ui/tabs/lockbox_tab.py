"""Lockbox tab: payments file (and date range) → preview with GL accounts, totals per GL account
and per batch → build (verified) → send through Stratus or e-mail → print the summary sheet.

Layout and wiring only; the work is ``Services.lockbox`` (console/services/lockbox.py) run
through ``Operation``. Overrides (duplicates, sending again, the GL mapping) need a
supervisor: the signed-in one, or a supervisor's ID and PIN in ``SupervisorDialog``.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.config import Operator
from console.domain.money import format_money
from console.domain.wording import agree, counted
from console.errors import Problem
from console.formatting import format_datetime
from console.lockbox.glmap import GlMap
from console.lockbox.summary import Summary, summary_lines
from console.services.lockbox import (
    DUPLICATE,
    UNMAPPED,
    AlreadyReleased,
    BuildResult,
    CheckResult,
    LockboxPreview,
    PaymentSource,
    SendOutcome,
    default_file_name,
    load_payments_file,
    load_posting_queue,
    save_profile_gl_map,
    write_sandbox_payments,
)
from console.ui.context import UiContext
from console.ui.elided_label import ElidedLabel
from console.ui.errors import show_error
from console.ui.lockbox_dialogs import GlMapDialog, ask_supervisor
from console.ui.lockbox_models import (
    LINE,
    NOTE,
    PAYER,
    ROW_ROLE,
    LockboxFilterModel,
    LockboxItemsModel,
    batch_rows,
    gl_rows,
    rows_from_file,
    rows_from_preview,
)
from console.ui.lockbox_totals import LockboxTotalsPane
from console.ui.operations import Operation
from console.ui.role_gate import RoleGate

log = logging.getLogger(__name__)


def _checked(service, path: Path, operator: str) -> tuple[CheckResult, Summary | None]:
    """Worker thread: read a lockbox file back and make its summary sheet (a registry look-up)."""
    c = service.check(path)
    return c, (service.summary(c.file, c.path.name, prepared_by=operator) if c.ok else None)

VIA = (("stratus", "Stratus (SFTP)"), ("email", "E-mail"))
RELEASE_TEXT = {"sent": "sent through Stratus", "emailed": "e-mailed", "handed_over": "handed over"}


class LockboxTab(QWidget):
    def __init__(self, ctx: UiContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("lockbox-tab")
        self.source: PaymentSource | None = None
        self.source_path: Path | None = None
        self.use_queue = False  # the posting queue instead of a payments file
        self.preview: LockboxPreview | None = None
        self.current: CheckResult | None = None  # the built or opened lockbox file
        self._summary: Summary | None = None  # its summary sheet, made on the worker that checked it
        self.last_build: BuildResult | None = None
        self.last_send: SendOutcome | None = None
        self.duplicates_by: Operator | None = None
        self._op: Operation | None = None
        self.gl_dialog: GlMapDialog | None = None
        self.delivery = ""
        self._polls = 0
        self.poll_limit = 120
        self._poll_timer = QTimer(self)
        self._poll_timer.setInterval(5000)
        self._poll_timer.timeout.connect(self._poll_delivery)
        self.ask_supervisor = ask_supervisor  # replaced in tests
        self.ask_save_path = self._ask_save_path
        self._state = ctx.ui_state("lockbox") if hasattr(ctx, "ui_state") else None

        # ---- source row
        self.open_button = QPushButton("&Payments file…", self)
        self.queue_button = QPushButton("Posting &queue", self)
        self.queue_button.setToolTip("CloudStore payments the Posting tab queued for the lockbox")
        self.sandbox_button = QPushButton("Sandbox payments", self)
        self.sandbox_button.setToolTip("Write today's training payments file (CloudStore items) and open it")
        self.sandbox_button.setVisible(bool(getattr(ctx.profile, "is_sandbox", False)))
        self.source_label = ElidedLabel("No payments file", self)
        self.source_label.setObjectName("lockbox-source")
        self.dates_check = QCheckBox("Dated", self)
        self.dates_check.setToolTip("Only payments dated from … to … (both days included); unticked: every date")
        today = QDate.currentDate()
        self.from_date = QDateEdit(today, self)
        self.to_date = QDateEdit(today, self)
        for d in (self.from_date, self.to_date):
            d.setCalendarPopup(True)
            d.setDisplayFormat("MM/dd/yyyy")
            d.setEnabled(False)
        self.preview_button = QPushButton("P&review", self)
        self.gl_button = QPushButton("&GL mapping…", self)
        top = QHBoxLayout()
        top.addWidget(self.open_button)
        top.addWidget(self.queue_button)
        top.addWidget(self.sandbox_button)
        top.addWidget(self.source_label, 1)
        top.addWidget(self.dates_check)
        top.addWidget(self.from_date)
        top.addWidget(QLabel("to", self))
        top.addWidget(self.to_date)
        top.addWidget(self.preview_button)
        top.addSpacing(12)
        top.addWidget(self.gl_button)

        self.summary_label = QLabel("Open a payments file to see which CloudStore payments go into the lockbox "
                                    "file.", self)
        self.summary_label.setObjectName("lockbox-summary")
        self.summary_label.setWordWrap(True)
        self.training_label = QLabel("TRAINING — sandbox profile: files go to the sandbox only.", self)
        self.training_label.setStyleSheet("background:#fef3c7; color:#92400e; padding:4px; border-radius:4px")
        self.training_label.setVisible(bool(getattr(ctx, "training", False)))

        # ---- items
        self.group_combo = QComboBox(self)
        self.group_combo.addItems(LockboxFilterModel.GROUPS)
        self.search_edit = QLineEdit(self)
        self.search_edit.setPlaceholderText("Search payment, confirmation, account, payer or GL account")
        self.search_edit.setClearButtonEnabled(True)
        self.model = LockboxItemsModel(self)
        self.proxy = LockboxFilterModel(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView(self)
        self.table.setObjectName("lockbox-items")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(LINE, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        # widths are measured once per load on the first rows (_fit_columns): ResizeToContents
        # measured every cell of every column on each layout pass and froze the window for
        # ~10 s on a 1,005-payment file
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(NOTE, QHeaderView.ResizeMode.Stretch)
        header.setResizeContentsPrecision(100)
        filters = QHBoxLayout()
        filters.addWidget(self.group_combo)
        filters.addWidget(self.search_edit, 1)
        left = QWidget(self)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addLayout(filters)
        lv.addWidget(self.table, 1)

        # ---- totals and problems
        right = LockboxTotalsPane(self)
        self.totals_pane = right
        self.gl_model, self.gl_table = right.gl_model, right.gl_table
        self.batch_model, self.batch_table = right.batch_model, right.batch_table
        self.problems = right.problems
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)

        # ---- actions
        self.override_button = QPushButton("Include duplicates…", self)
        self.override_button.setToolTip("Put payments that are already in a sent lockbox file in this one too "
                                        "(a supervisor must approve)")
        self.build_button = QPushButton("&Build file…", self)
        self.build_button.setObjectName("lockbox-build")
        self.check_button = QPushButton("Open &lockbox file…", self)
        self.via_combo = QComboBox(self)
        for key, label in VIA:
            self.via_combo.addItem(label, key)
        self.via_combo.setCurrentIndex(0 if str(ctx.profile.get("lockbox_send_via")) != "email" else 1)
        self.send_button = QPushButton("&Send", self)
        self.handed_button = QPushButton("Ha&nded over…", self)
        self.handed_button.setToolTip("Record that this file reached Caselle another way (USB stick, manual upload)")
        self.print_button = QPushButton("Print summar&y…", self)
        self.pdf_button = QPushButton("Summary PDF…", self)
        self.file_label = QLabel("", self)
        self.file_label.setObjectName("lockbox-file")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        actions = QHBoxLayout()
        for w in (self.override_button, self.build_button, self.check_button):
            actions.addWidget(w)
        actions.addSpacing(12)
        for w in (self.via_combo, self.send_button, self.handed_button):
            actions.addWidget(w)
        actions.addSpacing(12)
        actions.addWidget(self.print_button)
        actions.addWidget(self.pdf_button)
        actions.addStretch(1)

        self.gate = RoleGate(ctx, self)
        for w, action in ((self.build_button, "build_lockbox"), (self.override_button, "build_lockbox"),
                          (self.send_button, "send_lockbox"), (self.handed_button, "send_lockbox")):
            self.gate.guard(w, action)
        layout = QVBoxLayout(self)
        layout.addWidget(self.gate.banner)
        layout.addLayout(top)
        layout.addWidget(self.training_label)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.file_label)
        layout.addLayout(actions)

        # ---- wiring
        self.open_button.clicked.connect(self._on_open_button_clicked)
        self.sandbox_button.clicked.connect(self._on_sandbox_button_clicked)
        self.queue_button.clicked.connect(self.load_queue)
        self.dates_check.toggled.connect(self._on_dates_check_toggled)
        self.preview_button.clicked.connect(self.run_preview)
        self.gl_button.clicked.connect(self.open_gl_mapping)
        self.group_combo.currentIndexChanged.connect(self.proxy.set_group)
        self.search_edit.textChanged.connect(self.proxy.set_text)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        self.problems.itemClicked.connect(self._on_problem_activated)
        self.problems.itemActivated.connect(self._on_problem_activated)
        self.override_button.clicked.connect(self._on_override_button_clicked)
        self.build_button.clicked.connect(self._on_build_button_clicked)
        self.check_button.clicked.connect(self._on_check_button_clicked)
        self.send_button.clicked.connect(self._on_send_button_clicked)
        self.handed_button.clicked.connect(self._on_handed_button_clicked)
        self.print_button.clicked.connect(self._on_print_button_clicked)
        self.pdf_button.clicked.connect(self._on_pdf_button_clicked)
        self._shortcuts()
        self._update_actions()

    def _shortcuts(self) -> None:
        """Ctrl+O payments file, Ctrl+F search, Ctrl+P print the summary: window-wide while this tab
        is on screen (Qt ignores the shortcuts of a hidden tab), so they work from the tab bar."""
        def bind(seq, button: QPushButton | None, slot) -> QShortcut:
            s = QShortcut(QKeySequence(seq), self)
            s.setContext(Qt.ShortcutContext.WindowShortcut)
            s.activated.connect(lambda: (button is None or button.isEnabled()) and slot())
            return s

        self.shortcut_open = bind(QKeySequence.StandardKey.Open, self.open_button, self.open_button.click)
        self.shortcut_find = bind(QKeySequence.StandardKey.Find, None,
                                  lambda: (self.search_edit.setFocus(), self.search_edit.selectAll()))
        self.shortcut_print = bind(QKeySequence.StandardKey.Print, self.print_button, self.print_button.click)
        self.open_button.setToolTip("Open a payments file (Ctrl+O)")
        self.search_edit.setToolTip("Ctrl+F")
        self.print_button.setToolTip("Print the summary sheet for the Caselle import (Ctrl+P)")

    # ---- helpers --------------------------------------------------------------------------
    def _fit_totals(self) -> None:
        self.totals_pane.fit()

    @property
    def service(self):
        return self.ctx.services.lockbox

    @property
    def may_build(self) -> bool:
        return self.gate.allows("build_lockbox")

    @property
    def busy(self) -> bool:
        return self._op is not None

    def _run(self, fn, label: str, on_done, *, cancellable: bool = False, on_failed=None) -> None:
        def done(result: Any) -> None:
            self._op = None
            self._update_actions()
            on_done(result)

        def failed(exc: BaseException) -> None:
            self._op = None
            self._update_actions()
            if on_failed is None or not on_failed(exc):
                show_error(self, exc)

        self._op = (Operation(self, fn, label=label, cancellable=cancellable).success(done).failure(failed))
        self._update_actions()
        self._op.run()

    def _update_actions(self) -> None:
        idle = not self.busy
        p = self.preview
        self.preview_button.setEnabled(idle and (self.source_path is not None or self.use_queue))
        self.gate.enable(self.build_button, idle and p is not None and p.ok)
        self.gate.enable(self.override_button, idle and p is not None and p.count(DUPLICATE) > 0
                         and self.duplicates_by is None)
        has_file = self.current is not None and self.current.ok
        for w in (self.send_button, self.handed_button):
            self.gate.enable(w, idle and has_file)
        for w in (self.print_button, self.pdf_button):
            w.setEnabled(idle and has_file)
        for w in (self.open_button, self.queue_button, self.sandbox_button, self.check_button, self.gl_button):
            w.setEnabled(idle)
        self.gate.apply()

    def _date_range(self) -> tuple[date | None, date | None]:
        if not self.dates_check.isChecked():
            return None, None
        return self.from_date.date().toPython(), self.to_date.date().toPython()

    def _approve(self, supervisor_id: str, pin: str, action: str) -> Operator:
        """The one PIN check (persistent lockout): ``Services.operators``."""
        return self.ctx.services.operators.approve(supervisor_id, pin, for_action=action, by=self.ctx.operator_id)

    def _supervisor(self, reason: str, action: str) -> Operator | None:
        """The signed-in supervisor, or one who approves with ID + PIN now."""
        op = self.ctx.operator
        if op is not None and op.role == "supervisor":
            return op
        return self.ask_supervisor(self, lambda sid, pin: self._approve(sid, pin, action), reason)

    def _last_folder(self) -> str:
        value = self._state.value("last_folder", "") if self._state is not None else ""
        return str(value or Path.home())

    def _remember_folder(self, path: Path) -> None:
        if self._state is not None:
            self._state.set_value("last_folder", str(path.parent))

    # ---- source and preview -------------------------------------------------------------------
    def _on_open_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open payments file", self._last_folder(),
                                              "Payment files (*.csv *.txt);;All files (*)")
        if path:
            self.load_payments(Path(path))

    def _on_sandbox_button_clicked(self) -> None:
        if self.busy:
            return
        target = Path(self.ctx.services.paths.sandbox_dir) / "lockbox" / f"payments-{date.today():%Y%m%d}.csv"
        profile = self.ctx.profile
        self._run(lambda op: write_sandbox_payments(target, profile), "Writing today's training payments…",
                  self.load_payments)

    def _on_dates_check_toggled(self, on: bool) -> None:
        self.from_date.setEnabled(on)
        self.to_date.setEnabled(on)

    def load_queue(self) -> None:
        self.use_queue = True
        self.source_path = None
        self.duplicates_by = None
        self.source_label.setText("Posting queue")
        self.source_label.setToolTip("CloudStore payments imported in the Posting tab, not yet in a released file")
        self.run_preview()

    def load_payments(self, path: Path) -> None:
        self.use_queue = False
        self.source_path = Path(path)
        self.duplicates_by = None
        self._remember_folder(self.source_path)
        self.source_label.setText(self.source_path.name)
        self.source_label.setToolTip(str(self.source_path))
        self.run_preview()

    def run_preview(self) -> None:
        if (self.source_path is None and not self.use_queue) or self.busy:
            return
        path, service, (d_from, d_to), by = self.source_path, self.service, self._date_range(), self.duplicates_by
        journal = getattr(self.ctx.services, "journal", None) if self.use_queue else None

        def work(op):
            if journal is not None:
                source = load_posting_queue(journal)
            else:
                source = load_payments_file(path, progress=op.progress, cancel=op.cancel_event)
            return source, service.preview(source, date_from=d_from, date_to=d_to, override_duplicates_by=by,
                                           progress=op.progress, cancel=op.cancel_event)

        name = "the posting queue" if self.use_queue else path.name
        self.summary_label.setText(f"Reading {name}…")
        self._run(work, f"Reading {name}…", self._on_previewed, cancellable=True)

    def _on_previewed(self, result: tuple[PaymentSource, LockboxPreview]) -> None:
        self.source, self.preview = result
        p = self.preview
        self.model.set_rows(rows_from_preview(p))
        self._fit_columns()
        rows, total = gl_rows(p.gl_totals)
        self.gl_model.set_rows(rows, total=total if rows else None)
        rows, total = batch_rows(p.batches)
        self.batch_model.set_rows(rows, total=total if rows else None)
        self._fit_totals()
        self._show_problems(p.errors, p.warnings)
        codes = sorted({ln.payment.invoice_type for ln in p.lines if ln.status == UNMAPPED}, key=str)
        if codes:  # one line that says what to do, above the payment-by-payment list
            n = sum(1 for ln in p.lines if ln.status == UNMAPPED)
            head = QListWidgetItem(
                f"{counted(n, 'payment')} {agree(n, 'has')} an item code without a GL account: {', '.join(map(str, codes[:12]))}"
                + (" …" if len(codes) > 12 else "")
                + ". A supervisor adds the codes under GL mapping… (or double-click a payment), then Preview again.")
            head.setForeground(Qt.GlobalColor.darkRed)
            font = head.font()
            font.setBold(True)
            head.setFont(font)
            head.setData(Qt.ItemDataRole.UserRole, None)
            self.problems.insertItem(0, head)
        parts = [f"{counted(len(p.items), 'CloudStore payment')} for the file, {format_money(p.total)} in "
                 f"{counted(len(p.batches), 'batch')}"]
        left_out = [f"{n} {what}" for n, what in ((p.count(DUPLICATE), "already in a sent file"),
                                                  (p.count("voided"), "voided"),
                                                  (p.outside_dates, "outside the dates")) if n]
        if p.skipped_utility:
            left_out.insert(2, f"{counted(p.skipped_utility, 'utility bill payment')} (posted to Caselle as receipts)")
        if left_out:
            parts.append("left out: " + ", ".join(left_out))
        if p.errors:
            parts.append(f"<b style='color:#b91c1c'>{counted(len(p.errors), 'problem')} {agree(len(p.errors), 'blocks')} the file</b>")
        if self.duplicates_by is not None:
            parts.append(f"duplicates included by supervisor {self.duplicates_by.name}")
        self.summary_label.setText("; ".join(parts) + ".")
        self._choose_group(bool(p.errors))
        self.ctx.status(f"Lockbox preview: {len(p.items):,} items, {format_money(p.total)}")
        self._update_actions()

    def _fit_columns(self) -> None:
        """Columns as wide as their first 100 rows (payer names up to 260 px); the clerk can still
        drag them. Measured once per load, never per layout pass."""
        header = self.table.horizontalHeader()
        for col in range(self.model.columnCount()):
            if col == NOTE:
                continue
            wanted = max(self.table.sizeHintForColumn(col), header.sectionSizeHint(col))
            header.resizeSection(col, min(wanted, 260) if col == PAYER else wanted)

    def _choose_group(self, problems: bool) -> None:
        """Show the payments that need a look when there are problems, but never leave the clerk
        an empty table while payments are there (problems fixed, or every payment left out)."""
        if problems:
            self.group_combo.setCurrentIndex(LockboxFilterModel.NEEDS_LOOK)
        if self.proxy.rowCount() == 0 and self.model.rowCount() > 0:
            self.search_edit.clear()
            self.group_combo.setCurrentIndex(LockboxFilterModel.ALL)

    def _show_problems(self, errors: list[Problem], warnings: list[Problem]) -> None:
        self.problems.clear()
        for p, severity in [(e, "error") for e in errors] + [(w, "warning") for w in warnings]:
            item = QListWidgetItem(str(p))
            item.setToolTip(str(p))
            item.setData(Qt.ItemDataRole.UserRole, p.line)
            if severity == "error":
                item.setForeground(Qt.GlobalColor.darkRed)
            self.problems.addItem(item)
        if not errors and not warnings:
            self.problems.addItem("No problems.")

    def _on_override_button_clicked(self) -> None:
        p = self.preview
        if p is None:
            return
        who = self._supervisor(f"{counted(p.count(DUPLICATE), 'payment')} {agree(p.count(DUPLICATE), 'is')} already in a lockbox file that was sent. "
                               "Putting them in this file too makes Caselle import them twice unless that "
                               "file was never imported. A supervisor must approve.", "lockbox.include_duplicates")
        if who is not None:
            self.duplicates_by = who
            self.run_preview()

    # ---- build ----------------------------------------------------------------------------------
    def _ask_save_path(self, suggested: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self, "Save lockbox file", str(Path(self._last_folder()) / suggested),
                                              "Lockbox files (*.txt);;All files (*)")
        return Path(path) if path else None

    def _on_build_button_clicked(self) -> None:
        suggested = default_file_name(datetime.now(), self.service.settings.destination)
        path = self.ask_save_path(suggested)
        if path is not None:
            self.build_to(path)

    def build_to(self, path: Path, *, overwrite: bool = True) -> None:
        """Build into ``path`` (the save dialog already asked about replacing a file)."""
        preview, service, operator = self.preview, self.service, self.ctx.operator_id
        if preview is None or not preview.ok:
            return
        self._remember_folder(path)
        self._run(lambda op: (service.build(preview, path, operator=operator, overwrite=overwrite,
                                            progress=op.progress, cancel=op.cancel_event),
                              *_checked(service, path, operator)),
                  f"Building {path.name}…", self._on_built, cancellable=True)

    def _on_built(self, result: tuple[BuildResult, CheckResult, Summary | None]) -> None:
        self.last_build, self.current, self._summary = result
        self._show_file(self.current, built=True)
        self.ctx.status(f"Built and verified {self.current.path.name}")

    def _show_file(self, c: CheckResult, *, built: bool = False) -> None:
        f = c.file
        if not built:
            self.model.set_rows(rows_from_file(f))
            self._fit_columns()
            summary = self.current_summary() if f.ok else None
            rows, total = gl_rows(summary.gl_totals if summary is not None else [])
            self.gl_model.set_rows(rows, total=total if rows else None)
            rows, total = batch_rows(f.batches)
            self.batch_model.set_rows(rows, total=total if rows else None)
            self._fit_totals()
            notes = [Problem(None, None, "duplicate", f"confirmation {p.confirmation} is {p.describe()}")
                     for p in c.released_elsewhere]
            self._show_problems(f.errors, f.warnings + notes)
            self.group_combo.setCurrentIndex(LockboxFilterModel.ALL)
        reg = c.registered
        if reg is None or reg.status == "built":
            status = "built, not sent"
        else:
            status = f"{RELEASE_TEXT.get(reg.status, reg.status)} {format_datetime(reg.released_at)} by {reg.released_by}"
        if f.ok:
            self.file_label.setText(
                f"<b>{c.path.name}</b> — {counted(len(f.items), 'item')} in {counted(len(f.batches), 'batch')}, "
                f"{format_money(f.total)} — verified — SHA-256 {f.fingerprint[:16]}… — {status}")
            self.file_label.setToolTip(f"{c.path}\nSHA-256 {f.fingerprint}")
        else:
            self.file_label.setText(f"<b style='color:#b91c1c'>{c.path.name}: {counted(len(f.errors), 'problem')} — "
                                    "not a valid lockbox file</b>")
        self._update_actions()

    # ---- check an existing file ------------------------------------------------------------------
    def _on_check_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open lockbox file", self._last_folder(),
                                              "Lockbox files (*.txt);;All files (*)")
        if path:
            self.check_file(Path(path))

    def check_file(self, path: Path) -> None:
        service, operator = self.service, self.ctx.operator_id
        self._run(lambda op: _checked(service, path, operator), f"Checking {path.name}…", self._on_checked)

    def _on_checked(self, result: tuple[CheckResult, Summary | None]) -> None:
        c, self._summary = result
        self.current = c
        self.preview = None
        self.summary_label.setText(f"Lockbox file {c.path.name} read back: "
                                   + ("every record, total and count checks out." if c.ok
                                      else f"{counted(len(c.file.errors), 'problem')}."))
        self._show_file(c)

    # ---- send -----------------------------------------------------------------------------------
    def _on_send_button_clicked(self) -> None:
        """The lockbox file leaves the office: confirm (items, total, where, profile) first."""
        c, via = self.current, self.via_combo.currentData()
        if c is None or not c.ok:
            return
        from console.services.confirm import lockbox_outbound
        from console.ui import confirm_dialog

        outbound = lockbox_outbound(self.ctx.services, c.path.name, len(c.file.items), c.file.total, via)
        confirm_dialog.ask_to_send(self, outbound, self.ctx.profile,
                                   lambda: self.send_current(via) if self.current is c else None)

    def send_current(self, via: str, *, override_by: Operator | None = None) -> None:
        c = self.current
        if c is None or not c.ok:
            return
        service, operator, path = self.service, self.ctx.operator_id, c.path
        self._run(lambda op: (service.send(path, via=via, operator=operator, override_by=override_by,
                                           progress=op.progress, cancel=op.cancel_event),
                              *_checked(service, path, operator)),
                  f"Sending {path.name}…", self._on_sent, cancellable=True,
                  on_failed=lambda exc: self._on_send_failed(exc, via))

    def _on_sent(self, result: tuple[SendOutcome, CheckResult, Summary | None]) -> None:
        self.last_send, self.current, self._summary = result
        self._show_file(self.current, built=True)
        s = self.last_send
        msg = f"{s.path.name} sent by {'e-mail to' if s.via == 'email' else 'Stratus to'} {s.destination} ({s.status})"
        if s.reconciled:
            msg += " — an earlier attempt had already delivered it; nothing was sent twice"
        self.summary_label.setText(msg + ".")
        self.ctx.status(msg)
        if s.via == "stratus" and s.status != "delivered":
            self._polls = 0
            self._poll_timer.start()

    # ---- Stratus delivery receipt: the pickup renames the file to .snt ---------------------------
    def _poll_delivery(self) -> None:
        s = self.last_send
        if s is None or s.via != "stratus" or self.busy:
            return
        self._polls += 1
        if self._polls > self.poll_limit:
            self._poll_timer.stop()
            return
        services, key = self.ctx.services, s.reference
        self._op = (Operation(self, lambda op: str(services.transfer.delivery_status(key)))
                    .success(self._on_delivery).failure(self._on_delivery_failed))
        self._op.run()

    def _on_delivery(self, status: str) -> None:
        self._op = None
        self._update_actions()
        self.delivery = status
        if self.last_send is not None:
            self.summary_label.setText(f"{self.last_send.path.name} on the Stratus server: {status}.")
        if status == "delivered":
            self._poll_timer.stop()
            self.ctx.status(f"{self.last_send.path.name if self.last_send else 'File'} delivered (Stratus receipt)")

    def _on_delivery_failed(self, exc: BaseException) -> None:
        self._op = None
        self._update_actions()
        log.info("delivery status not available: %s", exc)

    def _on_send_failed(self, exc: BaseException, via: str) -> bool:
        from console.adapters.transfer import HostKeyUnknown
        from console.services.transfer import AlreadySent

        if isinstance(exc, AlreadySent | AlreadyReleased):
            message = getattr(exc, "message", str(exc)).rstrip(".")
            who = self._supervisor(f"{message}. Sending it again can make Caselle import the same payments "
                                   "twice; a supervisor must approve.", "lockbox.send_again")
            if who is not None:
                self.send_current(via, override_by=who)
            return True
        if isinstance(exc, HostKeyUnknown):
            from console.ui.host_key_dialog import ask_trust_host_key

            if ask_trust_host_key(self, exc):
                services, operator = self.ctx.services, self.ctx.operator_id
                self._run(lambda op: services.transfer.trust_host_key(exc, operator=operator),
                          "Pinning the server's host key…", lambda _fp: self.send_current(via))
            return True
        return False

    def _on_handed_button_clicked(self) -> None:
        c = self.current
        if c is None:
            return
        note, ok = QInputDialog.getText(self, "Handed over", f"How did {c.path.name} reach Caselle?")
        if ok:
            self.mark_handed_over(note)

    def mark_handed_over(self, note: str) -> None:
        c = self.current
        if c is None:
            return
        service, operator, path = self.service, self.ctx.operator_id, c.path
        self._run(lambda op: (service.mark_handed_over(path, operator=operator, note=note),
                              _checked(service, path, operator))[1],
                  f"Recording {path.name}…", self._on_checked)

    # ---- summary sheet ------------------------------------------------------------------------
    def current_summary(self) -> Summary | None:
        """The summary sheet of the current file, made when it was built, sent or read back
        (on the worker: it looks the file up in the registry)."""
        c, summary = self.current, self._summary
        if c is None or not c.ok or summary is None or summary.fingerprint != c.file.fingerprint:
            return None
        return summary

    def summary_html(self) -> str:
        from html import escape

        s = self.current_summary()
        if s is None:
            return ""
        return "<pre style='font-family:monospace; font-size:9pt'>" + escape("\n".join(summary_lines(s))) + "</pre>"

    def print_summary(self, printer) -> None:
        from PySide6.QtGui import QTextDocument

        doc = QTextDocument()
        doc.setHtml(self.summary_html())
        doc.print_(printer)

    def _on_print_button_clicked(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        if self.current_summary() is None:
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle("Print lockbox summary")
        if dialog.exec() == QPrintDialog.DialogCode.Accepted:
            self.print_summary(printer)

    def _on_pdf_button_clicked(self) -> None:
        c = self.current
        if c is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save summary sheet", str(c.path.with_suffix(".summary.pdf")),
                                              "PDF (*.pdf)")
        if path:
            self.save_summary_pdf(Path(path))

    def save_summary_pdf(self, out: Path) -> None:
        c = self.current
        if c is None:
            return
        service = self.service
        self._run(lambda op: service.summary_pdf(c.path, out), "Writing the summary sheet…",
                  lambda p: self.ctx.status(f"Summary sheet saved: {p}"))

    # ---- GL mapping ---------------------------------------------------------------------------
    def open_gl_mapping(self, item_code: str = "") -> GlMapDialog:
        dialog = self.gl_mapping_dialog()
        if item_code:
            dialog.add_item_code(item_code)
        self.gl_dialog = dialog
        dialog.open()
        return dialog

    def _on_problem_activated(self, item: QListWidgetItem) -> None:
        line = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(line, int):
            self.jump_to_line(line)

    def jump_to_line(self, line: int) -> bool:
        """Select the payment of a file line (showing every payment when the filter hides it)."""
        for _attempt in range(2):
            for r in range(self.proxy.rowCount()):
                row = self.proxy.data(self.proxy.index(r, 0), ROW_ROLE)
                if row is not None and row.line == line:
                    index = self.proxy.index(r, 0)
                    self.table.selectRow(r)
                    self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
                    return True
            if self.group_combo.currentIndex() == LockboxFilterModel.ALL and not self.search_edit.text():
                return False
            self.search_edit.clear()
            self.group_combo.setCurrentIndex(LockboxFilterModel.ALL)
        return False

    def _on_table_double_clicked(self, index) -> None:
        row = self.proxy.data(index, ROW_ROLE)
        if row is not None and row.status == UNMAPPED:  # map the missing item code right here
            self.open_gl_mapping(row.item_code)

    def gl_mapping_dialog(self) -> GlMapDialog:
        services = self.ctx.services
        s = self.service.settings
        editable = self.ctx.operator is not None and self.gate.allows("edit_gl_map")
        approver: dict[str, Operator | None] = {"who": self.ctx.operator if editable else None}

        def unlock() -> bool:
            who = self._supervisor("Changing the GL mapping changes the general ledger accounts of every "
                                   "CloudStore item. A supervisor must approve.", "lockbox.gl_mapping")
            approver["who"] = who
            return who is not None

        def save(gl_map: GlMap):  # worker thread: the service call only
            return save_profile_gl_map(profile, services.paths, gl_map, operator=approver["who"],
                                       audit=getattr(services, "audit", None))

        def saved(updated) -> None:  # GUI thread
            services.profile = updated
            self.service.use_gl_map(GlMap(dict(updated.gl_map), source=f"profile {updated.name}"))
            self.ctx.status("GL mapping saved")
            if self.source_path is not None or self.use_queue:
                self.run_preview()

        profile = services.profile
        return GlMapDialog(s.gl_map, s.gl_format, editable=editable, save=save, on_saved=saved, unlock=unlock,
                           parent=self)

