"""Posting tab: import or fetch → preview → Post (progress, cancel) → results; review, retries,
ACH rejects, change log, end-of-day reconciliation and manual voids.

Layout only; the work is ``services.posting`` (console.services.posting) run through
``Operation``; reports come from ``console.services.reconciliation``.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.domain.money import format_money
from console.domain.wording import counted
from console.errors import Cancelled, NotPermitted
from console.formatting import format_datetime
from console.services import reconciliation
from console.services.posting import ACH_REJECT, ALL_KINDS, CHANGE, V_2021_05, Plan, RunResult, journal_rows
from console.ui.account_sync_view import AccountSyncView
from console.ui.context import UiContext
from console.ui.errors import show_error
from console.ui.operations import Operation
from console.ui.posting_dialogs import ManualVoidDialog, SupervisorDialog
from console.ui.posting_models import (
    STATE_LABELS,
    FilesModel,
    PostingRowsModel,
    RowRole,
    last_import_warning,
    not_loaded_text,
    run_summary,
    totals_text,
)
from console.ui.role_gate import RoleGate

log = logging.getLogger(__name__)

KINDS = (("payments", "Payments"), ("rejects", "ACH rejects"), ("changes", "Change log"))
HISTORY_ROWS = 20_000  # the journal views show the newest entries (the journal keeps them all)


def _table(model) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.horizontalHeader().setSortIndicator(PostingRowsModel.LINE, Qt.SortOrder.AscendingOrder)
    view.setSortingEnabled(True)  # rows arrive in line order; a click sorts the model's list
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(22)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    view.setWordWrap(False)
    return view


class _RowsPanel(QWidget):
    """A filterable table of rows with a totals line."""

    def __init__(self, with_filter: bool = True, parent=None):
        super().__init__(parent)
        self.model = PostingRowsModel(self)  # filters by state itself (index lists, no proxy)
        self.view = _table(self.model)
        self.filter = QComboBox()
        self.filter.addItem("All states", "")
        for state, label in STATE_LABELS.items():
            self.filter.addItem(label, state)
        self.filter.currentIndexChanged.connect(lambda _i: self.model.set_state(self.filter.currentData()))
        self.totals = QLabel("No rows")
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        if with_filter:
            top = QHBoxLayout()
            top.addWidget(QLabel("Show"))
            top.addWidget(self.filter)
            top.addStretch(1)
            layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.totals)

    FIT_COLUMNS = (PostingRowsModel.KEY, PostingRowsModel.ACTION, PostingRowsModel.BATCH, PostingRowsModel.OUTCOME)

    def set_rows(self, rows) -> None:
        self.model.set_rows(rows)
        self.totals.setText(totals_text(self.model))
        if rows:  # keys like 'reject:P00001000123' and 'reverse (R04) + NSF fee' were cut off
            header = self.view.horizontalHeader()
            header.setResizeContentsPrecision(200)  # a 100,000-row file measures its first rows only
            for col in self.FIT_COLUMNS:
                self.view.resizeColumnToContents(col)
                header.resizeSection(col, min(max(header.sectionSize(col), 60), 320))

    def selected_rows(self):
        rows = []
        for idx in self.view.selectionModel().selectedRows():
            r = self.model.data(idx, RowRole)
            if r is not None:
                rows.append(r)
        return rows


class PostingTab(QWidget):
    def __init__(self, ctx: UiContext):
        super().__init__()
        self.ctx = ctx
        self.plan: Plan | None = None
        self.last_run: RunResult | None = None
        self.current_op: Operation | None = None
        self.report: reconciliation.ReconciliationReport | None = None

        # ---- top bar
        self.kind = QComboBox()
        for key, label in KINDS:
            self.kind.addItem(label, key)
        version = str(ctx.profile.get("caselle_api_version"))
        if version != V_2021_05:  # the seed: ACH rejects need Caselle Connect 2021.05
            item = self.kind.model().item(self.kind.findData("rejects"))
            item.setEnabled(False)
            item.setToolTip(f"ACH rejects need Caselle Connect API {V_2021_05}; this profile uses {version}. "
                            "Reject files wait until Caselle is upgraded.")
        self.open_button = QPushButton("Open file…")
        self.open_button.clicked.connect(self._on_open_clicked)
        self.fetch_button = QPushButton("Fetch from Invoice Cloud")
        self.fetch_button.clicked.connect(self.fetch)
        self.post_button = QPushButton("Post")
        self.post_button.setEnabled(False)
        self.post_button.clicked.connect(self._on_post_button_clicked)
        self.override_button = QPushButton("Supervisor override…")
        self.override_button.setVisible(False)
        self.override_button.clicked.connect(self._on_override_clicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.void_button = QPushButton("Void a receipt…")
        self.void_button.clicked.connect(self._on_void_clicked)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setFormat("%v / %m")
        self.banner = QLabel("Open a payments, ACH reject or change-log file, or fetch from Invoice Cloud.")
        self.banner.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("File holds"))
        top.addWidget(self.kind)
        top.addWidget(self.open_button)
        top.addWidget(self.fetch_button)
        top.addStretch(1)
        top.addWidget(self.void_button)
        run_row = QHBoxLayout()
        run_row.addWidget(self.post_button)
        run_row.addWidget(self.override_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.progress, 3)
        run_row.addStretch(1)
        self.progress.setMinimumWidth(60)

        # ---- pages
        self.preview = _RowsPanel()
        self.review = _RowsPanel(with_filter=False)
        self.evidence = QPlainTextEdit()
        self.evidence.setReadOnly(True)
        self.review.view.clicked.connect(self._on_review_clicked)
        self.retry_review_button = QPushButton("Retry (reconcile first)")
        self.retry_review_button.clicked.connect(lambda: self.retry(self.review.selected_rows()))
        self.done_review_button = QPushButton("It is right in Caselle")
        self.done_review_button.clicked.connect(lambda: self.resolve("done"))
        self.reject_review_button = QPushButton("Do not post")
        self.reject_review_button.clicked.connect(lambda: self.resolve("rejected"))
        review_page = QWidget()
        rv = QVBoxLayout(review_page)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.review)
        split.addWidget(self.evidence)
        rv.addWidget(split, 1)
        rb = QHBoxLayout()
        for b in (self.retry_review_button, self.done_review_button, self.reject_review_button):
            rb.addWidget(b)
        rb.addStretch(1)
        rv.addLayout(rb)

        self.failed = _RowsPanel(with_filter=False)
        self.retry_failed_button = QPushButton("Retry selected")
        self.retry_failed_button.clicked.connect(lambda: self.retry(self.failed.selected_rows()))
        failed_page = QWidget()
        fv = QVBoxLayout(failed_page)
        fv.addWidget(self.failed, 1)
        fb = QHBoxLayout()
        fb.addWidget(self.retry_failed_button)
        fb.addStretch(1)
        fv.addLayout(fb)

        self.rejects = _RowsPanel()
        self.changes = _RowsPanel()

        self.report_date = QDateEdit(QDate.currentDate())
        self.report_date.setCalendarPopup(True)
        self.report_date.setDisplayFormat("MM/dd/yyyy")  # as the report and receipts write dates (was '26 11 2026')
        self.report_button = QPushButton("Build report")
        self.report_button.clicked.connect(self.build_report)
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.clicked.connect(lambda: self._on_export_clicked("csv"))
        self.pdf_button = QPushButton("Export PDF…")
        self.pdf_button.clicked.connect(lambda: self._on_export_clicked("pdf"))
        self.report_text = QPlainTextEdit()
        self.report_text.setReadOnly(True)
        report_page = QWidget()
        rp = QVBoxLayout(report_page)
        rr = QHBoxLayout()
        rr.addWidget(QLabel("Files imported on"))
        rr.addWidget(self.report_date)
        for b in (self.report_button, self.csv_button, self.pdf_button):
            rr.addWidget(b)
        rr.addStretch(1)
        rp.addLayout(rr)
        rp.addWidget(self.report_text, 1)

        self.files_model = FilesModel(self)
        self.files_view = _table(self.files_model)
        self.files_view.setSortingEnabled(False)
        self.files_note = QLabel("")
        self.files_note.setWordWrap(True)
        self.files_note.setStyleSheet("color: #92400e")
        files_page = QWidget()
        fp = QVBoxLayout(files_page)
        fp.addWidget(self.files_note)
        fp.addWidget(self.files_view, 1)

        self.pages = QTabWidget()
        self.pages.addTab(self.preview, "Preview && results")
        self.pages.addTab(review_page, "Needs review")
        self.pages.addTab(failed_page, "Failed")
        self.pages.addTab(self.rejects, "ACH rejects")
        self.pages.addTab(self.changes, "Change log")
        self.pages.addTab(report_page, "End of day")
        self.pages.addTab(files_page, "Files")
        self.account_sync = AccountSyncView(ctx)  # Caselle adjustments and conversions to Invoice Cloud
        self.pages.addTab(self.account_sync, "Account sync")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.pages.setCornerWidget(self.refresh_button)

        self.gate = RoleGate(ctx, self)
        for button, action in ((self.open_button, "import"), (self.fetch_button, "import"),
                               (self.post_button, "post"), (self.override_button, "override"),
                               (self.retry_failed_button, "post"), (self.retry_review_button, "post"),
                               (self.done_review_button, "resolve_review"),
                               (self.reject_review_button, "resolve_review")):
            self.gate.guard(button, action)
        layout = QVBoxLayout(self)
        layout.addWidget(self.gate.banner)
        layout.addLayout(top)
        layout.addLayout(run_row)
        layout.addWidget(self.banner)
        layout.addWidget(self.pages, 1)
        self._apply_permissions()
        self.refresh()

    # ---- helpers
    @property
    def posting(self):
        return self.ctx.services.posting

    @property
    def operator_id(self) -> str:
        return self.ctx.operator_id or "console"

    def _apply_permissions(self) -> None:
        for button in (self.open_button, self.fetch_button, self.retry_failed_button, self.retry_review_button,
                       self.done_review_button, self.reject_review_button):
            self.gate.enable(button)
        self.gate.apply()

    def _busy(self, busy: bool, label: str = "") -> None:
        for b in (self.open_button, self.fetch_button, self.post_button, self.override_button, self.void_button):
            self.gate.enable(b, not busy)
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
            self.ctx.status(label)
        else:
            self._apply_permissions()
            self.gate.enable(self.post_button, self.plan is not None)

    def _on_progress(self, done: int, total: int | None, message: str) -> None:
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        else:
            self.progress.setRange(0, 0)

    def _run(self, fn, label: str, on_success, *, cancellable: bool = False, on_failure=None) -> Operation:
        self._busy(True, label)

        def done(result):
            self.current_op = None
            self._busy(False)
            on_success(result)

        def failed(exc):
            self.current_op = None
            self._busy(False)
            if on_failure is not None:
                on_failure(exc)
            show_error(self, exc)

        op = Operation(self, fn, label=label, cancellable=cancellable).success(done).failure(failed)
        op.on_progress(self._on_progress)
        self.current_op = op
        op.run()
        return op

    # ---- import / fetch / preview
    def _on_open_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an Invoice Cloud file", "",
                                              "Text files (*.csv *.txt *.bpf);;All files (*)")
        if path:
            self.load_file(Path(path))

    def load_file(self, path: Path, kind: str | None = None) -> Operation:
        kind = kind or self.kind.currentData()
        self._select_kind(kind)
        name = Path(path).name
        return self._run(lambda op: self.posting.preview_file(path, kind, progress=op.progress,
                                                              cancel=op.cancel_event),
                         f"Checking {name}…", self._show_plan, cancellable=True,
                         on_failure=lambda exc: self._show_not_loaded(name, exc))

    def fetch(self) -> Operation:
        kind = self.kind.currentData()

        def work(op):
            from console.adapters.invoicecloud import client_from_services

            client = client_from_services(self.ctx.services)
            try:
                return self.posting.fetch_and_preview(kind, client, progress=op.progress, cancel=op.cancel_event)
            finally:
                client.close()

        return self._run(work, "Fetching from Invoice Cloud…", self._show_plan, cancellable=True,
                         on_failure=lambda exc: self._show_not_loaded("The Invoice Cloud fetch", exc))

    def _show_not_loaded(self, name: str, exc: BaseException) -> None:
        """A file that could not be read (or had errors) replaces what was on screen: the previous
        file's preview and its Post button must not look like this file's."""
        self.plan = None
        self.preview.set_rows([])
        self.post_button.setText("Post")
        self.post_button.setEnabled(False)
        self.override_button.setVisible(False)
        self.pages.setCurrentWidget(self.preview)
        if isinstance(exc, Cancelled):
            text = f"{name}: reading cancelled — nothing was imported."
        else:
            text = not_loaded_text(name, exc)
        self.banner.setText(text)
        self.ctx.status(text.splitlines()[0][:120])

    def _select_kind(self, kind: str) -> None:
        i = self.kind.findData(kind)
        if i >= 0:
            self.kind.setCurrentIndex(i)

    def _show_plan(self, plan: Plan) -> None:
        self.plan = plan
        self.preview.set_rows(plan.rows)
        self.pages.setCurrentWidget(self.preview)
        total = f", control total {format_money(plan.control_total)}" if plan.kind != "changes" else ""
        text = f"{plan.name}: {plan.records} rows{total}, no errors."
        if plan.warnings:
            text += f" {counted(len(plan.warnings), 'warning')}: " + "; ".join(str(w) for w in plan.warnings[:3])
        imported = plan.already_imported
        self.override_button.setVisible(imported is not None)
        if imported is not None:
            text += (f" This file was already imported on {format_datetime(imported.imported_at)} by "
                     f"{imported.operator}: Post finishes what is left; nothing is posted twice.")
            self.post_button.setText("Finish posting")
        else:
            self.post_button.setText("Import and post")
        self.banner.setText(text)
        self.gate.enable(self.post_button)
        self.ctx.status(f"{plan.name}: {plan.records} rows checked")

    # ---- posting
    def _on_post_button_clicked(self) -> None:
        """Importing and posting sends the file's payments to Caselle: confirm first."""
        plan = self.plan
        if plan is None:
            return
        from console.services.confirm import posting_outbound
        from console.ui import confirm_dialog

        confirm_dialog.ask_to_send(self, posting_outbound(self.ctx.services, plan.name, plan.kind, plan.records,
                                                          plan.control_total),
                                   self.ctx.profile, self.post, send_text="Post")

    def post(self, *, override_by: str | None = None) -> Operation | None:
        plan = self.plan
        if plan is None:
            return None
        operator = self.operator_id

        def work(op):
            if plan.already_imported is None or override_by:
                self.posting.import_plan(plan, operator, override=bool(override_by), approver=override_by)
            result = self.posting.post_pending(op.progress, op.cancel_event, operator=operator)
            return result, self._file_record(plan)

        return self._run(work, f"Posting {plan.name}…", self._show_run, cancellable=True)

    def _file_record(self, plan: Plan | None):
        """The journal's record of ``plan``'s file — worker side (a journal read stalls the GUI thread)."""
        return self.ctx.services.journal.file_record(plan.fingerprint) if plan is not None else None

    def cancel(self) -> None:
        if self.current_op is not None:
            self.current_op.cancel()
            self.ctx.status("Cancelling — the entry being sent is finished first")

    def _show_run(self, outcome: tuple[RunResult, object]) -> None:
        result, record = outcome
        self.last_run = result
        text = run_summary(result)
        self.banner.setText(text)
        self.ctx.status(text[:120])
        if self.plan is not None and record is not None and record.fingerprint == self.plan.fingerprint:
            self.plan.already_imported = record
            self.post_button.setText("Finish posting")
        if result.complete:  # nothing is left: a "Finish posting" that does nothing would only puzzle
            self.post_button.setText("All posted")
            self.post_button.setEnabled(False)
        self.refresh()

    def _on_override_clicked(self) -> None:
        if self.plan is None:
            return
        dialog = SupervisorDialog(self, action=f"Import {self.plan.name} again (it was imported before)")
        if dialog.exec() != SupervisorDialog.DialogCode.Accepted:
            return
        sid, pin = dialog.credentials()
        self.override(sid, pin)

    def override(self, supervisor_id: str, pin: str) -> Operation | None:
        """Check the supervisor's PIN (a deliberately slow hash) on a worker, then post."""
        if self.plan is None:
            return None
        operators, operator = self.ctx.services.operators, self.operator_id

        def work(op):
            return operators.approve(supervisor_id, pin, for_action="file.override", by=operator)

        return self._run(work, "Checking the supervisor PIN…",
                         lambda supervisor: self.post(override_by=supervisor.operator_id))

    # ---- journal views
    def refresh(self) -> Operation:
        fingerprint = self.plan.fingerprint if self.plan is not None else None

        def work(op):
            j = self.ctx.services.journal
            return {
                "file": journal_rows(j, fingerprint=fingerprint) if fingerprint else None,
                "review": journal_rows(j, states=["needs_review"], newest=HISTORY_ROWS),
                # what this tab can retry: a counter card decline or an account-sync entry is no
                # posting failure (they have their own pages), and "Retry" could do nothing with it
                "failed": journal_rows(j, states=["rejected"], kinds=ALL_KINDS, newest=HISTORY_ROWS),
                "rejects": journal_rows(j, kinds=[ACH_REJECT], newest=HISTORY_ROWS),
                "changes": journal_rows(j, kinds=[CHANGE], newest=HISTORY_ROWS),
                "files": j.files(),
            }

        op = Operation(self, work, label="Reading the journal…").success(self._show_views)
        op.run()
        return op

    def _show_views(self, views: dict) -> None:
        if views["file"] is not None and (self.plan is None or self.plan.already_imported is not None):
            self.preview.set_rows(views["file"])
        self.review.set_rows(views["review"])
        self.failed.set_rows(views["failed"])
        self.rejects.set_rows(views["rejects"])
        self.changes.set_rows(views["changes"])
        self.files_model.set_files(views["files"])
        self.files_note.setText(last_import_warning(views["files"], "payments", dt.date.today()))
        self.pages.setTabText(1, f"Needs review ({len(views['review'])})")
        self.pages.setTabText(2, f"Failed ({len(views['failed'])})")

    def _on_review_clicked(self, index) -> Operation | None:
        r = self.review.model.data(index, RowRole)
        if r is None:
            self.evidence.setPlainText("")
            return None
        journal = self.ctx.services.journal
        self.evidence.setPlainText(f"{r.key}: reading…")
        op = Operation(self, lambda op: journal.get(r.key), label="Reading the entry…")
        op.success(self._show_evidence).run()
        return op

    def _show_evidence(self, entry) -> None:
        if entry is None:
            self.evidence.setPlainText("")
            return
        import json

        evidence = json.dumps(entry.evidence, indent=2, default=str) if entry.evidence else entry.detail
        self.evidence.setPlainText(f"{entry.key} (line {entry.line}, {entry.attempts} attempts)\n"
                                   f"Payload: {json.dumps(entry.payload, indent=2)}\n\nEvidence:\n{evidence}")

    def retry(self, rows) -> Operation | None:
        keys = [r.key for r in rows]
        if not keys:
            self.ctx.status("Select the entries to retry")
            return None
        operator, plan = self.operator_id, self.plan

        def work(op):
            self.posting.retry_entries(keys, operator)
            result = self.posting.post_pending(op.progress, op.cancel_event, operator=operator, keys=keys)
            return result, self._file_record(plan)

        return self._run(work, f"Retrying {len(keys)} entries…", self._show_run, cancellable=True)

    def resolve(self, resolution: str) -> Operation | None:
        rows = self.review.selected_rows()
        if not rows:
            self.ctx.status("Select an entry to resolve")
            return
        note = "resolved from the Posting tab"
        keys, operator = [r.key for r in rows], self.operator_id

        def work(op):
            for key in keys:
                self.posting.resolve_review(key, operator, resolution=resolution, note=note)

        def failed(exc):
            show_error(self, exc)
            self.refresh()

        for b in (self.done_review_button, self.reject_review_button, self.retry_review_button):
            b.setEnabled(False)
        op = Operation(self, work, label="Resolving…").success(lambda _r: self.refresh()).failure(failed)
        op.run()
        return op

    # ---- manual void
    def make_void_dialog(self) -> ManualVoidDialog:
        return ManualVoidDialog(self, operator_role=self.ctx.role,
                                lookup=lambda number: self.posting.caselle.receipt_by_number(number))

    def _on_void_clicked(self) -> None:
        dialog = self.make_void_dialog()
        if dialog.exec() != ManualVoidDialog.DialogCode.Accepted:
            return
        self.void(dialog.request())

    def void(self, req) -> Operation:
        operator = self.operator_id

        def work(op):
            return self.posting.void_receipt_manually(req.receipt_number, req.reason_code, req.comment, operator,
                                                      supervisor_pin=req.supervisor_pin or None,
                                                      supervisor_id=req.supervisor_id or None,
                                                      operators=self.ctx.services.operators)

        def done(entry):
            self.current_op = None
            self._busy(False)
            state = entry.state if entry is not None else "unknown"
            if state == "done":
                self.ctx.status(f"Receipt {req.receipt_number} voided")
                self.banner.setText(f"Receipt {req.receipt_number} voided ({req.reason_code}).")
            else:
                self.banner.setText(f"Void of {req.receipt_number}: {state} — {entry.detail if entry else ''}")
            self.refresh()

        def failed(exc):
            self.current_op = None
            self._busy(False)
            if isinstance(exc, NotPermitted):
                self.banner.setText(str(exc))
            show_error(self, exc)

        self._busy(True, "Voiding…")
        op = Operation(self, work, label=f"Voiding {req.receipt_number}…").success(done).failure(failed)
        self.current_op = op
        op.run()
        return op

    # ---- end of day
    def build_report(self) -> Operation:
        d = self.report_date.date()
        day = dt.date(d.year(), d.month(), d.day())
        journal = self.ctx.services.journal
        posting = self.posting

        def work(op):
            return reconciliation.report_for_day(journal, lambda: posting.caselle, day)

        op = Operation(self, work, label="Building the report…").success(self._show_report)
        op.run()
        return op

    def _show_report(self, report: reconciliation.ReconciliationReport) -> None:
        self.report = report
        lines = [report.title, f"Files: {', '.join(report.files) or 'none'}", ""]

        def block(name, tally):
            cells = [f"{reconciliation.METRIC_LABELS[m]} {tally.counts[m]} / {format_money(tally.amounts[m])}"
                     for m in reconciliation.METRICS if tally.counts[m]]
            lines.append(f"{name}: " + (", ".join(cells) or "-"))

        block("Total", report.total)
        lines.append("")
        for k, t in report.by_tender.items():
            block(f"Tender {k}", t)
        lines.append("")
        for k, t in report.by_batch.items():
            block(f"Batch {k}", t)
            cb = report.caselle_batches.get(k)
            if cb is not None:
                lines.append(f"    Caselle ({cb.status.lower()}): {cb.receipts} receipts {format_money(cb.total)}; "
                             f"other sources {format_money(report.batch_difference(k))}")
        if report.caselle_note:
            lines.append(report.caselle_note)
        if report.exceptions:
            lines += ["", f"Exceptions ({len(report.exceptions)}):"]
            lines += [f"  {x.key} line {x.line}: {x.state} {x.outcome} {x.detail}" for x in report.exceptions[:200]]
        self.report_text.setPlainText("\n".join(lines))

    def _on_export_clicked(self, fmt: str) -> None:
        if self.report is None:
            QMessageBox.information(self, "End of day", "Build the report first.")
            return
        suggested = f"reconciliation-{dt.date.today():%Y%m%d}.{fmt}"
        path, _ = QFileDialog.getSaveFileName(self, "Export the report", suggested,
                                              "PDF (*.pdf)" if fmt == "pdf" else "CSV (*.csv)")
        if path:
            self.export_report(Path(path), fmt)

    def export_report(self, path: Path, fmt: str) -> Operation | None:
        """Write the report as PDF or CSV on a worker (a PDF of a long exception list takes a while)."""
        if self.report is None:
            return None
        report, training = self.report, self.ctx.training
        buttons = (self.report_button, self.csv_button, self.pdf_button)

        def work(op):
            if fmt == "pdf":
                reconciliation.to_pdf(report, path, training=training)
            else:
                reconciliation.to_csv(report, path)
            return path

        def finished(_ok: bool) -> None:
            for b in buttons:
                b.setEnabled(True)

        def saved(written: Path) -> None:
            finished(True)
            self.ctx.status(f"Report saved to {written}")

        def failed(exc: BaseException) -> None:
            finished(False)
            show_error(self, exc)

        for b in buttons:
            b.setEnabled(False)
        label = f"Saving the report as {fmt.upper()}…"
        self.ctx.status(label)
        op = Operation(self, work, label=label).success(saved).failure(failed)
        op.run()
        return op
