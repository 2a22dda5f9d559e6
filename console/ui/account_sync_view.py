"""Account sync view (a sub-tab of the Posting tab): Caselle adjustments to Invoice Cloud, and the
one-off conversion file.

Adjustments: the pending balance updates (account, amount, reason, new balance) read from
Caselle since the last sync, **Sync** with progress and cancel, and the history of what was sent
with its journal state (retry the rejected ones once Invoice Cloud knows the account).
Conversion: build the ``ic-conversion-v1`` file from Caselle's customers, preview it with its
errors (click one to see its row), save it, send it like an invoice file.

Layout only; the work is ``services.account_sync`` / ``services.conversions`` run through
``Operation``.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import QDate, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.domain.money import format_money
from console.domain.wording import agree, counted
from console.formatting import format_datetime
from console.services.account_sync import OUTCOME_LABELS, BalanceUpdate, HistoryRow, SyncResult
from console.services.conversions import ConversionBuild, ConversionRow
from console.ui.context import UiContext
from console.ui.conveyance_view import ConveyanceView
from console.ui.errors import show_error
from console.ui.operations import Operation
from console.ui.role_gate import RoleGate
from console.ui.table_model import ListTableModel

log = logging.getLogger(__name__)

RowRole = Qt.ItemDataRole.UserRole + 1
STATE_LABELS = {"": "New in Caselle", "pending": "Pending", "in_flight": "In flight", "done": "Sent",
                "rejected": "Reported", "needs_review": "Needs review", "reported": "Reported"}
STATE_COLORS = {"done": "#dcfce7", "rejected": "#fee2e2", "needs_review": "#fef3c7", "in_flight": "#e0f2fe"}
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def _money(d: Decimal | None) -> str:
    return "" if d is None else format_money(d)


class _RowsModel(ListTableModel):
    """A read-only table over a list of plain records; subclasses name their columns."""

    HEADERS: tuple[str, ...] = ()
    MONEY_COLUMNS: frozenset[int] = frozenset()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list = []
        self._brushes = {k: QBrush(QColor(v)) for k, v in STATE_COLORS.items()}

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def _items(self):
        return self.rows

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        r = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(r, col)
        if role == RowRole:
            return r
        if role == Qt.ItemDataRole.TextAlignmentRole and col in self.MONEY_COLUMNS:
            return _RIGHT
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._brushes.get(self.state_of(r))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(r)
        return None

    def text(self, r, col: int) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def state_of(self, r) -> str:
        return ""

    def tooltip(self, r) -> str | None:
        return None


class PendingModel(_RowsModel):
    """Balance updates waiting to be sent (journaled or still only in Caselle)."""

    ADJUSTMENT, ACCOUNT, ADJUSTED, AMOUNT, REASON, NEW_BALANCE, MINIMUM, INVOICE, STATE = range(9)
    HEADERS = ("Adjustment", "Account", "Adjusted", "Amount", "Reason", "New balance", "Minimum due", "Invoice",
               "State")
    MONEY_COLUMNS = frozenset({AMOUNT, NEW_BALANCE, MINIMUM})

    def text(self, r: BalanceUpdate, col: int) -> str:
        if col == self.ADJUSTMENT:
            return r.adjustment_id
        if col == self.ACCOUNT:
            return r.account
        if col == self.ADJUSTED:
            return format_datetime(r.adjusted_at)
        if col == self.AMOUNT:
            return _money(r.amount)
        if col == self.REASON:
            return r.reason
        if col == self.NEW_BALANCE:
            return _money(r.balance_due)
        if col == self.MINIMUM:
            return _money(r.minimum_due)
        if col == self.INVOICE:
            return r.invoice_number
        if col == self.STATE:
            return f"Cannot be sent: {r.problem}" if r.problem else STATE_LABELS.get(r.state, r.state)
        return ""

    def state_of(self, r: BalanceUpdate) -> str:
        return "rejected" if r.problem else r.state

    def total(self) -> Decimal:
        return sum((r.amount for r in self.rows), Decimal("0.00"))


class HistoryModel(_RowsModel):
    """Every balance update journaled, newest first, with its journal state."""

    UPDATED, ADJUSTMENT, ACCOUNT, AMOUNT, NEW_BALANCE, REASON, STATE, OUTCOME, REFERENCE, DETAIL = range(10)
    HEADERS = ("Updated", "Adjustment", "Account", "Amount", "New balance", "Reason", "State", "Outcome",
               "Invoice Cloud reference", "Detail")
    MONEY_COLUMNS = frozenset({AMOUNT, NEW_BALANCE})

    def text(self, r: HistoryRow, col: int) -> str:
        if col == self.UPDATED:
            return r.updated_at[:19].replace("T", " ")
        if col == self.ADJUSTMENT:
            return r.adjustment_id
        if col == self.ACCOUNT:
            return r.account
        if col == self.AMOUNT:
            return _money(r.amount)
        if col == self.NEW_BALANCE:
            return _money(r.balance_due)
        if col == self.REASON:
            return r.reason
        if col == self.STATE:
            return STATE_LABELS.get(r.state, r.state)
        if col == self.OUTCOME:
            return OUTCOME_LABELS.get(r.outcome, r.outcome)
        if col == self.REFERENCE:
            return r.remote_ref
        if col == self.DETAIL:
            return r.detail.splitlines()[0][:300] if r.detail else ""
        return ""

    def state_of(self, r: HistoryRow) -> str:
        return r.state

    def tooltip(self, r: HistoryRow) -> str | None:
        return r.detail or None


class StateFilter(QSortFilterProxyModel):
    """Filters the history by journal state ("" = all)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.state = ""

    def set_state(self, state: str) -> None:
        self.beginFilterChange()
        self.state = state or ""
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row, parent):  # noqa: N802 - Qt override
        if not self.state:
            return True
        r = self.sourceModel().rows[row]
        return r.state == self.state


class ConversionModel(_RowsModel):
    """The conversion file's rows, with the problems of each."""

    LINE, ACCOUNT, NAME, EMAIL, PHONE, PAPERLESS, AUTOPAY, REGISTERED, PROBLEMS = range(9)
    HEADERS = ("Line", "Account", "Customer", "E-mail", "Phone", "Paperless", "AutoPay", "Registered", "Problems")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.problems: dict[int, list] = {}

    def set_build(self, build: ConversionBuild | None) -> None:
        self.problems = build.problems_by_line() if build is not None else {}
        self.set_rows(build.rows if build is not None else [])

    def text(self, r: ConversionRow, col: int) -> str:
        yn = {True: "Y", False: "N"}
        if col == self.LINE:
            return str(r.line)
        if col == self.ACCOUNT:
            return r.account
        if col == self.NAME:
            return r.name
        if col == self.EMAIL:
            return r.email
        if col == self.PHONE:
            return r.phone
        if col == self.PAPERLESS:
            return yn[r.paperless]
        if col == self.AUTOPAY:
            return yn[r.autopay] + (" (pending)" if r.autopay_pending else "")
        if col == self.REGISTERED:
            return yn[r.registered]
        if col == self.PROBLEMS:
            return "; ".join(p.message for p in self.problems.get(r.line, []))
        return ""

    def state_of(self, r: ConversionRow) -> str:
        found = self.problems.get(r.line, [])
        if any(p.severity == "error" for p in found):
            return "rejected"
        return "needs_review" if found else ""

    def row_of_line(self, line: int) -> int | None:
        for i, r in enumerate(self.rows):
            if r.line == line:
                return i
        return None


def _table(model) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(22)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    return view


class AccountSyncView(QWidget):
    """The Posting tab's "Account sync" page."""

    def __init__(self, ctx: UiContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.current_op: Operation | None = None
        self.last_result: SyncResult | None = None
        self.build: ConversionBuild | None = None
        self.saved_path: Path | None = None
        self._checked_once = False

        # ---- adjustments page
        self.mode_label = QLabel()
        self.check_button = QPushButton("Check Caselle")
        self.check_button.setToolTip("Read the adjustments made in Caselle since the last sync (nothing is sent)")
        self.check_button.clicked.connect(self.check)
        self.sync_button = QPushButton("Sync now")
        self.sync_button.setToolTip("Send every pending balance update to Invoice Cloud, exactly once")
        self.sync_button.clicked.connect(self._on_sync_button_clicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setFormat("%v / %m")
        self.summary = QLabel("Check Caselle to see the adjustments waiting to be sent.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.pending_model = PendingModel(self)
        self.pending_view = _table(self.pending_model)
        self.pending_label = QLabel("Pending balance updates")
        self.history_model = HistoryModel(self)
        self.history_proxy = StateFilter(self)
        self.history_proxy.setSourceModel(self.history_model)
        self.history_view = _table(self.history_proxy)
        self.history_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.history_filter = QComboBox()
        self.history_filter.addItem("All states", "")
        for state in ("done", "rejected", "needs_review", "pending", "in_flight"):
            self.history_filter.addItem(STATE_LABELS[state], state)
        self.history_filter.currentIndexChanged.connect(
            lambda _i: self.history_proxy.set_state(self.history_filter.currentData()))
        self.retry_button = QPushButton("Retry selected")
        self.retry_button.setToolTip("Send reported updates again (each is looked up in Invoice Cloud first)")
        self.retry_button.clicked.connect(lambda: self.retry(self.selected_history()))
        self.history_label = QLabel("Sent")

        top = QHBoxLayout()
        top.addWidget(self.check_button)
        top.addWidget(self.sync_button)
        top.addWidget(self.cancel_button)
        top.addWidget(self.progress, 2)
        top.addStretch(1)
        top.addWidget(self.mode_label)
        pending_box = QWidget()
        pb = QVBoxLayout(pending_box)
        pb.setContentsMargins(0, 0, 0, 0)
        pb.addWidget(self.pending_label)
        pb.addWidget(self.pending_view, 1)
        history_box = QWidget()
        hb = QVBoxLayout(history_box)
        hb.setContentsMargins(0, 0, 0, 0)
        hrow = QHBoxLayout()
        hrow.addWidget(self.history_label)
        hrow.addStretch(1)
        hrow.addWidget(QLabel("Show"))
        hrow.addWidget(self.history_filter)
        hrow.addWidget(self.retry_button)
        hb.addLayout(hrow)
        hb.addWidget(self.history_view, 1)
        self.adjust_split = QSplitter(Qt.Orientation.Vertical)
        self.adjust_split.addWidget(pending_box)
        self.adjust_split.addWidget(history_box)
        adjustments_page = QWidget()
        ap = QVBoxLayout(adjustments_page)
        ap.addLayout(top)
        ap.addWidget(self.summary)
        ap.addWidget(self.adjust_split, 1)

        # ---- conversion page
        self.effective_date = QDateEdit(QDate.currentDate())
        self.effective_date.setCalendarPopup(True)
        self.effective_date.setDisplayFormat("MM/dd/yyyy")
        self.include_final = QCheckBox("Include final-billed accounts")
        self.build_button = QPushButton("Build preview")
        self.build_button.clicked.connect(self.build_conversion)
        self.save_button = QPushButton("Save file…")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self._on_save_clicked)
        self.send_button = QPushButton("Send to Invoice Cloud")
        self.send_button.setEnabled(False)
        self.send_button.clicked.connect(self._on_send_button_clicked)
        self.conversion_summary = QLabel("Build the conversion file from Caselle's customers: paperless, AutoPay "
                                         "and registration, one row per account.")
        self.conversion_summary.setWordWrap(True)
        self.conversion_model = ConversionModel(self)
        self.conversion_view = _table(self.conversion_model)
        self.errors_list = QListWidget()
        self.errors_list.itemActivated.connect(self._on_problem_activated)
        self.errors_list.itemClicked.connect(self._on_problem_activated)
        crow = QHBoxLayout()
        crow.addWidget(QLabel("Effective date"))
        crow.addWidget(self.effective_date)
        crow.addWidget(self.include_final)
        crow.addWidget(self.build_button)
        crow.addStretch(1)
        crow.addWidget(self.save_button)
        crow.addWidget(self.send_button)
        self.conversion_split = QSplitter(Qt.Orientation.Vertical)
        self.conversion_split.addWidget(self.conversion_view)
        self.conversion_split.addWidget(self.errors_list)
        self.conversion_split.setSizes([400, 120])
        conversion_page = QWidget()
        cp = QVBoxLayout(conversion_page)
        cp.addLayout(crow)
        cp.addWidget(self.conversion_summary)
        cp.addWidget(self.conversion_split, 1)

        self.pages = QTabWidget()
        self.pages.addTab(adjustments_page, "Adjustments to Invoice Cloud")
        self.pages.addTab(conversion_page, "Data conversion")
        self.conveyance_view = ConveyanceView(ctx)
        self.pages.addTab(self.conveyance_view, "Conveyances")
        self.gate = RoleGate(ctx, self)
        for button, action in ((self.sync_button, "account_sync"), (self.retry_button, "account_sync"),
                               (self.build_button, "conversions"), (self.save_button, "conversions"),
                               (self.send_button, "conversions")):
            self.gate.guard(button, action)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.gate.banner)
        layout.addWidget(self.pages)
        self._show_mode()
        self._apply_permissions()
        self.refresh_history()

    # ---- helpers
    @property
    def sync_service(self):
        return self.ctx.services.account_sync

    @property
    def operator_id(self) -> str:
        return self.ctx.operator_id or "console"

    def _show_mode(self) -> None:
        via = str(self.ctx.profile.get("sync_adjustments_via") or "api")
        self.mode_label.setText("Sends by the Invoice Cloud API" if via == "api"
                                else "Sends one balance file by Stratus / SFTP")

    def _apply_permissions(self) -> None:
        self.gate.apply()

    def _busy(self, busy: bool, label: str = "") -> None:
        for b in (self.check_button, self.sync_button, self.retry_button, self.build_button):
            self.gate.enable(b, not busy)
        self.gate.enable(self.save_button, not busy and self.build is not None and self.build.ok)
        self.gate.enable(self.send_button, not busy and self.saved_path is not None)
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
            self.ctx.status(label)
        else:
            self._apply_permissions()

    def _on_progress(self, done: int, total: int | None, message: str) -> None:
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        else:
            self.progress.setRange(0, 0)
        if message:
            self.progress.setToolTip(message)

    def _run(self, fn, label: str, on_success, *, cancellable: bool = False, quiet: bool = False) -> Operation:
        self._busy(True, label)

        def done(result):
            self.current_op = None
            self._busy(False)
            on_success(result)

        def failed(exc):
            self.current_op = None
            self._busy(False)
            if quiet:  # an automatic check: say it on the page, no dialog
                self.summary.setText(f"Could not read Caselle's adjustments: {exc}")
                return
            show_error(self, exc)

        op = Operation(self, fn, label=label, cancellable=cancellable).success(done).failure(failed)
        op.on_progress(self._on_progress)
        self.current_op = op
        op.run()
        return op

    def cancel(self) -> None:
        if self.current_op is not None:
            self.current_op.cancel()
            self.ctx.status("Stopping after the update being sent…")

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._checked_once and self.current_op is None:
            self._checked_once = True  # the first time the page is seen: what is waiting, without a click
            self.check(quiet=True)

    # ---- adjustments
    def check(self, *, quiet: bool = False) -> Operation:
        svc = self.sync_service
        self._checked_once = True
        self.summary.setText("Reading adjustments from Caselle…")  # an old error does not outlive a new check
        op = self._run(lambda op: svc.preview(op.progress, op.cancel_event), "Reading adjustments from Caselle…",
                       self._show_pending, cancellable=True, quiet=quiet)
        return op

    def _show_pending(self, rows: list[BalanceUpdate]) -> None:
        self.pending_model.set_rows(rows)
        self.pending_view.resizeColumnsToContents()
        bad = sum(1 for r in rows if r.problem)
        text = f"{counted(len(rows), 'balance update')} waiting, total {format_money(self.pending_model.total())}"
        if bad:
            text += f"; {bad} cannot be sent (see State)"
        self.pending_label.setText(text if rows else "No balance updates waiting")
        self.summary.setText(f"{counted(len(rows), 'adjustment')} waiting: Sync now sends each to Invoice Cloud exactly once."
                             if rows else "Nothing to send: Invoice Cloud has every Caselle adjustment.")

    def _on_sync_button_clicked(self) -> None:
        """Balance updates leave the office: confirm the waiting ones (count, total, where) first."""
        from console.services.confirm import account_sync_outbound
        from console.ui import confirm_dialog

        rows = [r for r in self.pending_model.rows if not r.problem]
        total = sum((r.amount for r in rows), Decimal("0.00"))
        via = str(self.ctx.profile.get("sync_adjustments_via") or "api")
        confirm_dialog.ask_to_send(self, account_sync_outbound(self.ctx.services, len(rows), total, via),
                                   self.ctx.profile, self.sync, send_text="Sync now")

    def _on_send_button_clicked(self) -> None:
        if self.saved_path is None or self.build is None:
            return
        from console.services.confirm import conversion_outbound
        from console.ui import confirm_dialog

        confirm_dialog.ask_to_send(self, conversion_outbound(self.ctx.services, self.saved_path.name,
                                                             len(self.build.rows)),
                                   self.ctx.profile, self.send_conversion)

    def sync(self) -> Operation:
        svc = self.sync_service
        operator = self.operator_id

        def work(op):
            result = svc.sync(progress=op.progress, cancel=op.cancel_event, operator=operator)
            return result, svc.preview(), svc.history()

        return self._run(work, "Sending balance updates to Invoice Cloud…", self._show_sync, cancellable=True)

    def _show_sync(self, payload) -> None:
        result, pending, history = payload
        self.last_result = result
        self._show_pending(pending)
        self._show_history(history)
        self.summary.setText(sync_summary(result))
        self.ctx.status(sync_summary(result).split("\n", 1)[0])

    def refresh_history(self) -> Operation:
        svc = self.sync_service
        op = Operation(self, lambda _op: svc.history(), label="Reading the sync history…")
        op.success(self._show_history).run()
        return op

    def _show_history(self, rows: list[HistoryRow]) -> None:
        self.history_model.set_rows(rows)
        counts: dict[str, int] = {}
        for r in rows:
            counts[r.state] = counts.get(r.state, 0) + 1
        parts = [f"{n} {STATE_LABELS.get(s, s).lower()}" for s, n in sorted(counts.items())]
        self.history_label.setText("History: " + (", ".join(parts) if parts else "nothing sent yet"))

    def selected_history(self) -> list[HistoryRow]:
        out = []
        for idx in self.history_view.selectionModel().selectedRows():
            r = self.history_proxy.data(idx, RowRole)
            if r is not None:
                out.append(r)
        return out

    def retry(self, rows: list[HistoryRow]) -> Operation | None:
        keys = [r.key for r in rows if r.state in ("rejected", "needs_review")]
        if not keys:
            self.ctx.status("Select reported or needs-review updates to retry")
            return None
        svc = self.sync_service
        operator = self.operator_id

        def work(op):
            return svc.retry(keys, operator, op.progress, op.cancel_event), svc.preview(), svc.history()

        return self._run(work, f"Retrying {counted(len(keys), 'balance update')}…", self._show_sync, cancellable=True)

    # ---- conversion
    def build_conversion(self) -> Operation:
        svc = self.ctx.services.conversions
        day = self.effective_date.date().toPython()
        include_final = self.include_final.isChecked()
        self.saved_path = None
        return self._run(lambda op: svc.build(effective_date=day, include_final=include_final, progress=op.progress,
                                              cancel=op.cancel_event),
                         "Reading Caselle's customers…", self._show_build, cancellable=True)

    def _show_build(self, build: ConversionBuild) -> None:
        self.build = build
        self.conversion_model.set_build(build)
        self.conversion_view.resizeColumnsToContents()
        self.errors_list.clear()
        for p in build.errors + build.warnings:
            where = f"line {p.line}: " if p.line else ""
            item = QListWidgetItem(f"{'Error' if p.severity == 'error' else 'Warning'} — {where}{p.message} "
                                   f"[{p.rule}]")
            item.setData(RowRole, p.line)
            if p.severity == "error":
                item.setForeground(QBrush(QColor("#b91c1c")))
            self.errors_list.addItem(item)
        c = build.counts()
        text = (f"{c['accounts']} accounts: {c['paperless']} paperless, {c['autopay']} AutoPay, "
                f"{c['registered']} registered.")
        if build.errors:
            text += f" {counted(len(build.errors), 'error')} must be fixed in Caselle before the file can be saved."
        else:
            text += " No errors: save the file, then send it."
        if build.warnings:
            text += f" {counted(len(build.warnings), 'warning')}."
        self.conversion_summary.setText(text)
        self.gate.enable(self.save_button, build.ok)
        self.send_button.setEnabled(False)

    def _on_problem_activated(self, item: QListWidgetItem) -> None:
        line = item.data(RowRole)
        row = self.conversion_model.row_of_line(line) if line else None
        if row is not None:
            self.conversion_view.selectRow(row)
            self.conversion_view.scrollTo(self.conversion_model.index(row, 0))

    def _on_save_clicked(self) -> None:
        default = str(self.ctx.services.conversions.default_path())
        path, _ = QFileDialog.getSaveFileName(self, "Save the conversion file", default, "CSV files (*.csv)")
        if path:
            self.save_conversion(Path(path))

    def save_conversion(self, path: Path) -> Operation | None:
        """Write the conversion file on a worker (the buttons wait; a failure is shown)."""
        if self.build is None:
            return None
        svc, build = self.ctx.services.conversions, self.build

        def saved(written: Path) -> None:
            self.saved_path = written
            self.gate.enable(self.send_button)
            self.conversion_summary.setText(f"Saved {written}. Send it to Invoice Cloud when ready.")

        operator = self.operator_id
        return self._run(lambda op: svc.write(build, path, operator=operator), "Saving the conversion file…", saved)

    def send_conversion(self) -> Operation | None:
        if self.saved_path is None:
            return None
        svc = self.ctx.services.conversions
        path, operator = self.saved_path, self.operator_id

        def done(sent):
            self.conversion_summary.setText(f"Sent {path.name} to {sent.remote_path} ({sent.status}).")
            self.ctx.status(f"Conversion file sent to {sent.remote_path}")

        return self._run(lambda op: svc.send(path, operator=operator, progress=op.progress, cancel=op.cancel_event),
                         f"Sending {path.name}…", done, cancellable=True)


def sync_summary(r: SyncResult) -> str:
    """One paragraph for the operator: what the sync did."""
    if r.cancelled:
        head = "Sync cancelled — what was sent is recorded; Sync again to finish."
    elif r.aborted:
        head = f"Sync stopped: {r.aborted}"
    elif r.complete:
        head = "Sync complete."
    else:
        head = f"Sync unfinished: {counted(r.remaining, 'update')} still to send."
    parts = [f"{OUTCOME_LABELS.get(k, k)}: {n}" for k, n in sorted(r.outcomes.items())]
    lines = [head + (" " + "; ".join(parts) + "." if parts else " Nothing new to send.")]
    if r.reported:
        lines.append("Reported: " + "; ".join(f"{x.adjustment_id} ({x.account}): {x.detail}" for x in r.reported[:5])
                     + (" …" if len(r.reported) > 5 else ""))
    if r.review:
        lines.append(f"{counted(len(r.review), 'update')} {agree(len(r.review), 'needs')} review: Invoice Cloud holds other content under the key.")
    if r.file:
        lines.append(f"File {Path(str(r.file.get('local_path', ''))).name} → {r.file.get('remote_path')}")
    return "\n".join(lines)
