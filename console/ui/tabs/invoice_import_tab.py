"""Invoice Import tab: open (or drop) Caselle's invoice export, see what it holds, fix what is
wrong, then send it.

    open / drop a file  ->  summary (records, total due, per invoice type, accounts with
    several invoices, credit balances)  ->  table of every invoice (sort, filter)  ->
    problems list (click: jump to the row and cell)  ->  Send (disabled while errors exist)

Reading happens off the GUI thread through ``Operation``: a quick preview of the first rows
is shown at once, then the whole file is checked by ``console.services.invoices``
(``check_invoices``) with progress and Cancel.

Sending belongs to the transfer side: the Send button emits ``send_requested(check)`` with
the ``InvoiceCheck`` (path, fingerprint, totals); the tab hands it to the transfer helper's
``TransferSender`` (journaled, exactly once, supervisor override for a file already sent,
host-key trust) and shows its ``TransferPanel`` (progress, Cancel, how the upload was
checked) under the table via ``add_send_widget``. Where the file went and its delivery
("awaiting pickup" / "delivered") are said once, in the banner at the top, which follows the
send. Send stays disabled while the file has errors, while it is being read or sent, and when
nothing is loaded.

The table model keeps no per-row Python objects: it reads the reader's column store and
sorts / filters by rearranging one list of record indexes, so 200,000 rows scroll, sort and
filter smoothly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.domain.bif import BifRules
from console.domain.money import format_money
from console.errors import Problem
from console.files.layouts import list_layouts, load_layout
from console.files.reader import ReadResult
from console.services.invoices import DEFAULT_LAYOUT, InvoiceCheck, check_invoices, preview_invoices
from console.ui.context import UiContext
from console.ui.errors import show_error
from console.ui.invoice_models import (  # noqa: F401 - tests and the tab use them from here
    BANNER_STYLES,
    DELIVERY_WORDS,
    ERROR_CELL,
    ERROR_ROW,
    FILE_FILTER,
    ROW_HINT,
    ROW_PROBLEMS_SHOWN,
    SUMMARY_HINT,
    TRAINING_BUTTON_STYLE,
    WARNING_LABELS,
    WARNING_ROW,
    InvoiceTableModel,
    ProblemRole,
    ProblemsModel,
    RecordRole,
    _sort_keys,
    display,
    failure_reason,
    outside_row_html,
    plural,
    problem_counts,
    row_details_html,
    summary_html,
    training_invoice_path,
)
from console.ui.operations import Operation
from console.ui.role_gate import RoleGate

log = logging.getLogger(__name__)

@dataclass
class SentState:
    """What the clerk needs to know about an earlier send of the open file."""

    when: str  # ISO 8601 (journal time) or "" for "just now"
    operator: str
    remote_path: str
    key: str = ""
    status: str | None = None  # "awaiting pickup" | "delivered" | "missing" | "unknown" | None (not asked yet)
    this_session: bool = False
    override_by: str = ""


class InvoiceImportTab(QWidget):
    """The Invoice Import tab (see the module docstring)."""

    send_requested = Signal(object)  # InvoiceCheck of a valid file; the transfer side sends it
    check_did_finish = Signal(object)  # InvoiceCheck

    def __init__(self, ctx: UiContext):
        super().__init__()
        self.ctx = ctx
        self.check: InvoiceCheck | None = None
        self.path: Path | None = None
        self.loading = False
        self._op: Operation | None = None
        self._generation = 0
        self.sent: SentState | None = None  # the open file was sent (earlier, or from here)
        self._sending_path: Path | None = None
        self._asking = False  # the sender waits for an answer (host key, supervisor): nothing is being sent
        self.setAcceptDrops(True)

        # ---- top bar
        self.open_button = QPushButton("&Open invoice file…")
        self.open_button.setToolTip("Open the invoice export (Ctrl+O)")
        open_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Open), self)
        # window-wide, but only while this tab is on screen (Qt skips shortcuts of hidden widgets):
        # it works right after the tab is chosen, when the tab bar has the focus
        open_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        open_shortcut.activated.connect(lambda: self.open_button.isEnabled() and self._on_open_clicked())
        self.open_button.clicked.connect(self._on_open_clicked)
        self.layout_box = QComboBox()
        self.layout_box.setToolTip("The layout the file is checked against (resources/layouts)")
        for name in self._invoice_layouts():
            self.layout_box.addItem(name, name)
        preferred = self._profile_layout()
        if self.layout_box.findData(preferred) >= 0:
            self.layout_box.setCurrentIndex(self.layout_box.findData(preferred))
        self.layout_box.currentIndexChanged.connect(self._on_layout_changed)
        self.recheck_button = QPushButton("Check &again")
        self.recheck_button.setEnabled(False)
        self.recheck_button.clicked.connect(self.recheck)
        self.send_button = QPushButton("&Send to Invoice Cloud")
        self.send_button.setObjectName("invoice-send")
        self.send_button.setEnabled(False)
        self.send_button.clicked.connect(self._on_send_clicked)
        # TRAINING only (the sandbox profile): a realistic export of the demo customers, one click
        self.training_button: QPushButton | None = None
        if self.ctx.profile.is_sandbox:
            self.training_button = QPushButton("Open a &training invoice file")
            self.training_button.setObjectName("invoice-training-file")
            paths = getattr(self.ctx.services, "paths", None)
            where = str(training_invoice_path(paths).parent) if paths is not None else "the sandbox data folder"
            self.training_button.setToolTip(
                "TRAINING (sandbox profile only): write a realistic invoice export for the sandbox's demo "
                f"customers into {where} and open it")
            self.training_button.setStyleSheet(TRAINING_BUTTON_STYLE)
            self.training_button.clicked.connect(self.open_training_file)
        top = QHBoxLayout()
        top.addWidget(self.open_button)
        if self.training_button is not None:
            top.addWidget(self.training_button)
        layout_label = QLabel("La&yout")
        layout_label.setBuddy(self.layout_box)
        top.addWidget(layout_label)
        top.addWidget(self.layout_box)
        top.addWidget(self.recheck_button)
        top.addStretch(1)
        top.addWidget(self.send_button)

        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        prog = QHBoxLayout()
        prog.addWidget(self.progress, 1)
        prog.addWidget(self.cancel_button)

        self.banner = QLabel()
        self.banner.setObjectName("invoice-banner")
        self.banner.setWordWrap(True)
        self.set_banner("Open the invoice file Caselle's “Invoice Cloud Export” wrote, or drop it here.")

        # ---- summary
        self.summary = QLabel(SUMMARY_HINT)
        self.summary.setObjectName("invoice-summary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        summary_scroll = QScrollArea()
        summary_scroll.setWidgetResizable(True)
        summary_scroll.setWidget(self.summary)
        summary_scroll.setMinimumWidth(280)

        # ---- table
        self.model = InvoiceTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("invoice-table")
        self.table.setModel(self.model)
        # file order (Line ascending) until the clerk clicks a header
        self.table.horizontalHeader().setSortIndicator(InvoiceTableModel.LINE, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setDefaultSectionSize(110)
        self.table.horizontalHeader().setResizeContentsPrecision(200)  # column widths from 200 rows
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: account, invoice, name, address or e-mail")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setToolTip("Ctrl+F")
        find_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        find_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        find_shortcut.activated.connect(lambda: (self.filter_edit.setFocus(), self.filter_edit.selectAll()))
        self.filter_edit.textChanged.connect(self._on_filter_changed)
        self.show_box = QComboBox()
        self.show_box.setToolTip("Which rows the table shows")
        for label, key in (("All rows", "all"), ("Rows with errors", "errors"), ("Rows with warnings", "warnings"),
                           ("Credit balances", "credits"), ("Accounts with several invoices", "several")):
            self.show_box.addItem(label, key)
        self.show_box.currentIndexChanged.connect(self._on_filter_changed)
        self.count_label = QLabel("")
        filt = QHBoxLayout()
        filt.addWidget(self.filter_edit, 1)
        show_label = QLabel("S&how")
        show_label.setBuddy(self.show_box)
        filt.addWidget(show_label)
        filt.addWidget(self.show_box)
        filt.addWidget(self.count_label)
        table_box = QWidget()
        tb = QVBoxLayout(table_box)
        tb.setContentsMargins(0, 0, 0, 0)
        tb.addLayout(filt)
        tb.addWidget(self.table, 1)
        # the current row in words (which account, whose bill, what is wrong with it): a jump to
        # a far-right cell scrolls the account and name out of sight
        self.row_details = QLabel(ROW_HINT)
        self.row_details.setObjectName("invoice-row-details")
        self.row_details.setTextFormat(Qt.TextFormat.RichText)
        self.row_details.setWordWrap(True)
        self.row_details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.row_details.setStyleSheet("color:#1f2937; padding:2px 2px;")
        tb.addWidget(self.row_details)
        self.table.selectionModel().currentChanged.connect(self._on_current_row_changed)

        # ---- problems
        self.problems_model = ProblemsModel(self)
        self.problems = QTableView()
        self.problems.setObjectName("invoice-problems")
        self.problems.setModel(self.problems_model)
        self.problems.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.problems.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.problems.verticalHeader().setVisible(False)
        self.problems.verticalHeader().setDefaultSectionSize(22)
        self.problems.horizontalHeader().setStretchLastSection(True)
        for col, width in ((ProblemsModel.SEVERITY, 70), (ProblemsModel.LINE, 60), (ProblemsModel.COLUMN, 130),
                           (ProblemsModel.RULE, 150)):
            self.problems.setColumnWidth(col, width)
        self.problems.clicked.connect(self._on_problem_clicked)
        self.problems.activated.connect(self._on_problem_clicked)
        self.problems_label = QLabel("Problems")
        self.problems_label.setObjectName("invoice-problems-label")
        problems_box = QWidget()
        pb = QVBoxLayout(problems_box)
        pb.setContentsMargins(0, 0, 0, 0)
        pb.addWidget(self.problems_label)
        pb.addWidget(self.problems, 1)

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(table_box)
        right.addWidget(problems_box)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(summary_scroll)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([320, 900])

        # the transfer side puts its panel (progress, Cancel, upload details) here
        self.send_area = QVBoxLayout()
        self.send_area.setContentsMargins(0, 0, 0, 0)

        self.gate = RoleGate(ctx, self)
        self.gate.guard(self.send_button, "send_invoices")
        layout = QVBoxLayout(self)
        layout.addWidget(self.gate.banner)
        layout.addLayout(top)
        layout.addLayout(prog)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(self.send_area)
        self.sender = None
        self.transfer_panel = None
        self._attach_sender()
        self._update_send_button()

    def _attach_sender(self) -> None:
        """Send through the transfer side's controller and panel (console/ui/transfer_sender.py):
        the checked file's fingerprint goes along, so a file changed since the check is refused."""
        services = self.ctx.services
        # look, don't touch: building the transfer service starts the sandbox in training
        if not (hasattr(type(services), "transfer") or "transfer" in getattr(services, "__dict__", {})):
            return
        from console.ui.transfer_panel import TransferPanel
        from console.ui.transfer_sender import TransferSender

        self.sender = TransferSender(self, self.ctx.services, self.ctx.operator, kind="invoices")
        # the banner says where the file went and follows its delivery: the panel keeps progress,
        # Cancel, messages and how the upload was checked, without saying it all a second time
        self.transfer_panel = TransferPanel(self.sender, details_only=True)
        self.add_send_widget(self.transfer_panel)
        self.send_requested.connect(self._send_checked_file)
        self.sender.started.connect(self._on_send_started)
        self.sender.finished.connect(self._on_send_finished)
        self.sender.asking.connect(self._on_send_asking)
        self.sender.sent.connect(self._on_sent_now)
        self.sender.delivery_changed.connect(self._on_delivery_status)

    def _send_checked_file(self, check: InvoiceCheck) -> None:
        self._sending_path = check.path
        self.sender.send(check.path, expected_sha256=check.fingerprint)
        self._update_send_button()

    def _on_send_started(self, name: str) -> None:
        self._asking = False
        if self._sending_path == self.path:
            self.set_banner(f"Sending {name} to {self._destination()}…", "busy")
        self._update_send_button()

    def _on_send_asking(self, _text: str) -> None:
        """Nothing is being sent while a question (host key, supervisor) is open: not "Sending…"."""
        self._asking = True
        if self._sending_path == self.path:
            self._refresh_banner()
        self._update_send_button()

    def _on_send_finished(self, ok: bool) -> None:
        if not ok and self._sending_path == self.path:
            self._refresh_banner()  # not sent: back to what the file is (the panel says why)
        self._update_send_button()

    def _on_sent_now(self, result) -> None:
        if self._sending_path != self.path or self.check is None:
            return
        self.sent = SentState("", self.ctx.operator_id, result.remote_path, key=result.key,
                              status=str(result.status), this_session=True,
                              override_by="supervisor" if result.override else "")
        self._refresh_banner()
        self._update_send_button()
        self.ctx.status(f"Sent {result.remote_name} as {result.remote_path}")

    def _on_delivery_status(self, status: str) -> None:
        if self.sent is not None and self.sent.this_session and self._sending_path == self.path:
            self.sent.status = status
            self._refresh_banner()
        elif self._sending_path is not None:  # another file is open now: the status bar says it
            self.ctx.status(f"{self._sending_path.name}: {DELIVERY_WORDS.get(status, status)}")

    # ---- earlier sends of the open file ---------------------------------------------------
    def _journal(self):
        """The journal, without building the transfer service (that starts the sandbox)."""
        services = self.ctx.services
        journal = getattr(services, "journal", None)
        if journal is None and "transfer" in getattr(services, "__dict__", {}):
            journal = getattr(services.transfer, "journal", None)
        return journal

    def _look_up_earlier_send(self, gen: int, check: InvoiceCheck) -> None:
        """After a valid file is checked: was this exact file (same SHA-256) sent before? Then
        say when, by whom and where, ask the server whether it was picked up, and make Send a
        "Send again…" that needs a supervisor."""
        journal = self._journal() if self.sender is not None else None
        if journal is None or not check.ok:
            return
        sha = check.fingerprint

        def look(_op):
            from console.services.transfer import last_delivery

            return last_delivery(journal, sha)

        Operation(self, look, label="Looking up earlier sends of this file…") \
            .success(lambda entry: self._on_earlier_send(gen, entry)) \
            .failure(lambda exc: log.warning("could not look up earlier sends: %s", exc)) \
            .run()

    def _on_earlier_send(self, gen: int, entry) -> None:
        if gen != self._generation or entry is None or (self.sent is not None and self.sent.this_session):
            return
        payload = entry.payload
        self.sent = SentState(entry.updated_at or entry.created_at, entry.operator,
                              payload.get("remote_path") or entry.remote_ref, key=entry.key,
                              override_by=payload.get("override_by", ""))
        self._refresh_banner()
        self._update_send_button()
        services, key = self.ctx.services, entry.key
        Operation(self, lambda _op: services.transfer.delivery_status(key), label="Asking whether it was picked up…") \
            .success(lambda status: self._on_earlier_status(gen, str(status))) \
            .failure(lambda exc: self._on_earlier_status(gen, "unknown")) \
            .run()

    def _on_earlier_status(self, gen: int, status: str) -> None:
        if gen != self._generation or self.sent is None or self.sent.this_session:
            return
        self.sent.status = status
        self._refresh_banner()

    # ---- hooks for the transfer side ----------------------------------------------------------
    def add_send_widget(self, widget: QWidget) -> None:
        """Show the transfer panel (progress, Cancel, how the upload was checked) under the table."""
        self.send_area.addWidget(widget)

    @property
    def can_send(self) -> bool:
        sending = self.sender is not None and self.sender.busy and not self._asking
        return (self.check is not None and self.check.ok and self.check.record_count > 0 and not self.loading
                and not sending)

    # ---- helpers -----------------------------------------------------------------------
    @staticmethod
    def _invoice_layouts() -> list[str]:
        names = []
        for name in list_layouts():
            try:
                layout = load_layout(name)
            except Exception:  # noqa: BLE001 - a broken administrator copy must not break the tab
                continue
            if {"accountnumber", "totalamountdue"} <= {c.key for c in layout.columns}:
                names.append(name)
        return names or [DEFAULT_LAYOUT]

    def _profile_layout(self) -> str:
        return str(self.ctx.profile.invoicecloud_invoice_layout or DEFAULT_LAYOUT)

    @property
    def layout_name(self) -> str:
        return self.layout_box.currentData() or DEFAULT_LAYOUT

    def _set_loading(self, loading: bool) -> None:
        self.loading = loading
        self.progress.setVisible(loading)
        self.cancel_button.setVisible(loading)
        self.open_button.setEnabled(not loading)
        if self.training_button is not None:
            self.training_button.setEnabled(not loading)
        self.recheck_button.setEnabled(not loading and self.path is not None)
        self.layout_box.setEnabled(not loading)
        if loading:
            self.progress.setRange(0, 0)
        self._update_send_button()

    def _update_send_button(self) -> None:
        self.gate.enable(self.send_button, self.can_send)
        sending = self.sender is not None and self.sender.busy
        if sending:
            self.send_button.setText("Sending…")
        elif self.sent is not None and self.check is not None:
            self.send_button.setText("&Send again…")
        else:
            self.send_button.setText("&Send to Invoice Cloud")
        if self.check is None:
            self.send_button.setToolTip("Open a checked invoice file first")
        elif not self.check.ok:
            self.send_button.setToolTip("Fix the errors (in Caselle, then export again) before sending")
        elif self.check.record_count == 0:
            self.send_button.setToolTip("The file holds no invoices: there is nothing to send")
        elif sending:
            self.send_button.setToolTip("The file is being sent (see the progress below)")
        elif self.sent is not None:
            self.send_button.setToolTip("This file was already sent: sending it again loads the same invoices "
                                        "twice, so a supervisor must approve with their PIN")
        else:
            self.send_button.setToolTip("Send the checked file to Invoice Cloud (exactly once)")
        self.gate.apply()

    def set_banner(self, text: str, state: str = "info") -> None:
        """The line under the buttons: what the file is, and what the clerk can do next."""
        self.banner.setText(text)
        self.banner.setProperty("state", state)
        self.banner.setStyleSheet(BANNER_STYLES.get(state, BANNER_STYLES["info"]))

    def _refresh_banner(self) -> None:
        check = self.check
        if check is None:
            return
        name = check.path.name
        if not check.ok:
            self.set_banner(f"{name} has {plural(len(check.errors), 'error')}. Nothing can be sent until they "
                            "are fixed in Caselle and the file is exported again. Click a problem to see its row.",
                            "error")
        elif check.record_count == 0:
            self.set_banner(f"{name} holds no invoices (only a header), so there is nothing to send. Run "
                            "Caselle's \u201cInvoice Cloud Export\u201d again for the billing cycle.", "warn")
        elif self.sent is not None:
            self.set_banner(*self._sent_banner(name))
        else:
            warned = f", with {plural(len(check.warnings), 'warning')} (see Problems)" if check.warnings else ""
            self.set_banner(f"{name}: {plural(check.record_count, 'invoice')}, "
                            f"{format_money(check.total_amount_due)} due — valid{warned}. Ready to send.", "ok")

    def _destination(self) -> str:
        return ("the sandbox (TRAINING: nothing reaches Invoice Cloud)" if self.ctx.profile.is_sandbox
                else "Invoice Cloud")

    def _sent_banner(self, name: str) -> tuple[str, str]:
        sent = self.sent
        assert sent is not None
        status = DELIVERY_WORDS.get(sent.status or "", sent.status or "")
        if sent.this_session:
            how = " with a supervisor's override" if sent.override_by else ""
            text = f"{name} was sent to {self._destination()}{how} as {sent.remote_path}"
            text += f": {status}." if status else "."
            return text, "ok" if sent.status == "delivered" else ("warn" if sent.status in ("missing", "unknown")
                                                                   else "busy")
        from console.ui.transfer_override_dialog import local_time

        op = self.ctx.profile.operator(sent.operator) if sent.operator else None
        who = f"{op.name} ({op.operator_id})" if op is not None else (sent.operator or "someone")
        text = f"{name} was already sent {local_time(sent.when)} by {who} to {sent.remote_path}"
        text += f" — {status}." if status else " — asking the server whether it was picked up…"
        return text + " Sending it again needs a supervisor.", "warn"

    def _update_count(self) -> None:
        shown, total = self.model.rowCount(), self.model.total_rows
        self.count_label.setText(f"{shown:,} of {total:,} rows" if shown != total else f"{total:,} rows")

    # ---- loading ----------------------------------------------------------------------
    def _on_open_clicked(self) -> None:
        start = str(self.path.parent) if self.path else str(self.ctx.ui_state("invoice_import").value("folder", ""))
        path, _ = QFileDialog.getOpenFileName(self, "Open the invoice export", start, FILE_FILTER)
        if path:
            self.ctx.ui_state("invoice_import").set_value("folder", str(Path(path).parent))
            self.load_file(Path(path))

    def open_training_file(self) -> Operation | None:
        """TRAINING only: write the sandbox's invoice export for its demo customers (on a worker)
        and open it. Never on a production profile: there it does nothing and returns None."""
        if not self.ctx.profile.is_sandbox or self.loading:
            return None
        from console.sandbox.seed import demo_today

        today = demo_today()  # dated for today: its bills are current, none due in the past
        target = training_invoice_path(self.ctx.services.paths, today)

        rules = BifRules.from_profile(self.ctx.profile)  # the export is built with the profile's BIF rules

        def write(_op):
            from console.sandbox.invoice_export import write_invoice_export

            return Path(write_invoice_export(target, as_of=today, rules=rules)["path"])

        if self.training_button is not None:
            self.training_button.setEnabled(False)
        self.set_banner("Writing a training invoice file for the sandbox's demo customers…", "busy")
        op = Operation(self, write, label="Writing a training invoice file…")
        op.success(self._on_training_file_written).failure(self._on_training_file_failed)
        return op.run()

    def _on_training_file_written(self, path: Path) -> None:
        if self.training_button is not None:
            self.training_button.setEnabled(True)
        self.load_file(path, DEFAULT_LAYOUT)  # the sandbox writes ic-invoice-v1

    def _on_training_file_failed(self, exc: BaseException) -> None:
        if self.training_button is not None:
            self.training_button.setEnabled(True)
        self.set_banner(f"The training invoice file could not be written: {failure_reason(exc)}", "error")
        show_error(self, exc)

    def _on_layout_changed(self, _index: int) -> None:
        if self.path is not None and not self.loading:
            self.recheck()  # a file checked against another layout is checked again

    def recheck(self) -> Operation | None:
        return self.load_file(self.path) if self.path is not None else None

    def load_file(self, path: Path, layout_name: str | None = None) -> Operation:
        """Preview the first rows at once, then check the whole file (off the GUI thread)."""
        if layout_name and self.layout_box.findData(layout_name) >= 0:
            self.layout_box.setCurrentIndex(self.layout_box.findData(layout_name))
        layout = layout_name or self.layout_name
        self.cancel()
        self._generation += 1
        gen = self._generation
        if self.transfer_panel is not None and self.path != Path(path) and not self.sender.busy:
            self.transfer_panel.clear()  # the last send was another file's: don't show it under this one
        if self.path != Path(path):  # another file opens at its first column, not where the last one's error was
            self.table.horizontalScrollBar().setValue(0)
        self.path = Path(path)
        self.check = None
        self.sent = None
        self.summary.setText('<span style="color:#6b7280">Checking…</span>')
        self.row_details.setText(ROW_HINT)
        self.problems_model.set_problems([], [])
        self.problems_label.setText("Problems")
        self.set_banner(f"Checking {self.path.name}…", "busy")
        self._set_loading(True)

        # the whole-file check starts once the preview is on screen: alone on the CPU, the
        # preview takes a few milliseconds instead of sharing the interpreter with the check
        op = Operation(self, lambda op: check_invoices(path, layout, progress=op.progress, cancel=op.cancel_event),
                       label=f"Checking {self.path.name}…", cancellable=True)
        op.on_progress(lambda done, total, message: self._on_progress(gen, done, total, message))
        op.success(lambda check: self._show_check(gen, check)).failure(lambda exc: self._on_failed(gen, exc))
        self._op = op

        def then_check(preview):
            self._show_preview(gen, preview)
            if gen == self._generation and not op.cancelled:
                op.run()

        Operation(self, lambda _op: preview_invoices(path, layout), label="Previewing invoices…") \
            .success(then_check) \
            .failure(lambda exc: then_check(None)) \
            .run()
        return op

    def cancel(self) -> None:
        if self._op is not None and not self._op.done:
            self._op.cancel()  # not started yet (preview running): it never starts
        self._op = None
        if self.loading:
            self._generation += 1  # whatever is still running is dropped when it arrives
            self._set_loading(False)
            self.summary.setText('<span style="color:#6b7280">Not checked (cancelled).</span>')
            self.set_banner("Cancelled: the file was not checked, so it cannot be sent. Check it again to go on.",
                            "warn")

    def _on_progress(self, gen: int, done: int, total: int | None, message: str) -> None:
        if gen != self._generation:
            return
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(done * 1000 / total))
        self.progress.setFormat(message or "Checking…")

    def _show_preview(self, gen: int, result: ReadResult | None) -> None:
        if gen != self._generation or result is None or self.check is not None or not self.loading:
            return
        self.model.set_result(result, preview=True)
        self.table.resizeColumnsToContents()
        self._update_count()
        self.set_banner(f"First {len(result):,} invoices of {self.path.name} — checking the whole file…", "busy")

    def _show_check(self, gen: int, check: InvoiceCheck) -> None:
        if gen != self._generation:
            return
        self._op = None
        self.check = check
        first_time = self.model.result is None or self.model.result.layout is not check.result.layout
        self.model.set_result(check.result)
        if first_time:
            self.table.resizeColumnsToContents()  # samples the first 200 rows only
        self.problems_model.set_problems(check.errors, check.warnings)
        if self.show_box.currentData() != "all":
            self._on_filter_changed()
        counts = problem_counts(len(check.errors), len(check.warnings))
        if check.result.problems_not_listed:
            counts += f" ({check.result.problems_not_listed:,} more not listed)"
        self.problems_label.setText(f"<b>Problems:</b> {counts}"
                                    + (" — click one to see its row" if check.errors or check.warnings else ""))
        self.summary.setText(summary_html(check))
        self._update_count()
        self._set_loading(False)
        self._refresh_banner()
        if check.errors:  # show the first broken invoice at once (the strip says what is wrong)
            self.problems.setCurrentIndex(self.problems_model.index(0, ProblemsModel.MESSAGE))
            self.jump_to(check.errors[0])
        self.ctx.status(f"Checked {check.path.name}: {plural(check.record_count, 'invoice')}, "
                        f"{plural(len(check.errors), 'error')}")
        self._look_up_earlier_send(gen, check)
        self.check_did_finish.emit(check)

    def _on_failed(self, gen: int, exc: BaseException) -> None:
        if gen != self._generation:
            return
        self._op = None
        self.model.set_result(None)
        self._update_count()
        self._set_loading(False)
        self.summary.setText(SUMMARY_HINT)
        self.set_banner(f"{self.path.name if self.path else 'The file'} could not be read: {failure_reason(exc)}",
                        "error")
        show_error(self, exc)

    # ---- filter / jump ---------------------------------------------------------------
    def _on_filter_changed(self, *_args) -> None:
        self.model.set_filter(self.filter_edit.text(), subset=self.model.rows_where(self.show_box.currentData()))
        self._update_count()

    def _on_problem_clicked(self, index: QModelIndex) -> None:
        p = self.problems_model.data(index, ProblemRole)
        if p is not None:
            self.jump_to(p)

    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        r = self.model.result
        if r is None or not current.isValid() or not 0 <= current.row() < self.model.rowCount():
            self.row_details.setText(ROW_HINT)
            return
        i = self.model.record_index(current.row())
        self.row_details.setText(row_details_html(r, i, self.model.row_problems.get(i, [])))

    def jump_to(self, problem: Problem) -> bool:
        """Select the row (and cell) of a problem; False when it has no row (header, trailer) —
        then the strip under the table says where it is."""
        r = self.model.result
        i = r.index_of_line(problem.line) if r is not None and problem.line is not None else None
        if i is None:
            self.table.clearSelection()
            self.row_details.setText(outside_row_html(problem))
            return False
        row = self.model.view_row(i)
        if row is None:  # filtered out: show everything again
            self.filter_edit.clear()
            self.show_box.setCurrentIndex(0)
            row = self.model.view_row(i)
            if row is None:
                return False
        index = self.model.index(row, self.model.column_of(problem.column))
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.row_details.setText(row_details_html(r, i, self.model.row_problems.get(i, [])))
        return True

    # ---- send -------------------------------------------------------------------------
    def _on_send_clicked(self) -> None:
        """The invoice file leaves the office: confirm (what, how many, how much, where, profile) first."""
        if not self.can_send:
            return
        from console.services.confirm import invoice_file_outbound
        from console.ui import confirm_dialog

        check = self.check
        outbound = invoice_file_outbound(self.ctx.services, check.path.name, check.record_count,
                                         check.total_amount_due)
        confirm_dialog.ask_to_send(self, outbound, self.ctx.profile, lambda: self._send_if_current(check))

    def _send_if_current(self, check) -> None:
        if check is self.check and self.can_send:  # the file was not replaced while the question was open
            self.send_requested.emit(check)

    # ---- drag and drop ----------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._dropped_path(event.mimeData()) is not None and not self.loading:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        path = self._dropped_path(event.mimeData())
        if path is not None and not self.loading:
            event.acceptProposedAction()
            self.load_file(path)

    @staticmethod
    def _dropped_path(mime) -> Path | None:
        if mime is None or not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile():
                p = Path(url.toLocalFile())
                if p.is_file():
                    return p
        return None
