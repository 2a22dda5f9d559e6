"""Bill Images tab: open a bill batch → index it (progress, cancel) → bills with search and
problems → preview (QPdfView) → split into one PDF per bill → send through Stratus/SFTP.

Layout and wiring only. The work is done by ``console.bills`` (indexer, split, send,
review rows) through ``Operation``; the template is authored in ``TemplateDialog``. Every file
the tab reads or writes (the configured template too, read when the tab is made) is read or
written on a worker: the window never waits for a slow or network drive.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.bills.by_type import choose_template, templates_by_type
from console.bills.indexer import BatchIndex, index_batch
from console.bills.pdf import BadPdfError
from console.bills.review import (
    BillRow,
    mark_delivery,
    mark_sent,
    mark_written,
    problems_for,
    rows_for,
    summary_for,
)
from console.bills.send import SendReport, bills_to_send, check_delivery, send_bills, transfer_service_for
from console.bills.service import (
    images_sent,
    load_invoice_refs,
    naming_for,
    resolve_template,
    sandbox_batch,
    sandbox_invoice_file,
    sandbox_template_path,
)
from console.bills.split import SplitResult, split_batch
from console.bills.template import BillTemplate, load_template
from console.errors import UserFacingError, ValidationError
from console.ui.bills_preview import BillPreview
from console.ui.bills_table_model import (
    ACCOUNT,
    FILE,
    INVOICE,
    PAGES,
    ROW_ROLE,
    STATUS,
    BillFilterModel,
    BillTableModel,
)
from console.ui.context import UiContext
from console.ui.elided_label import ElidedLabel
from console.ui.errors import show_error
from console.ui.operations import Operation, tracker
from console.ui.role_gate import RoleGate

log = logging.getLogger(__name__)
PAGE_ROLE = Qt.ItemDataRole.UserRole + 1


class BillImagesTab(QWidget):
    def __init__(self, ctx: UiContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("bill-images-tab")
        profile = ctx.profile
        self.pdf_path: Path | None = None
        self.template_path: Path | None = None
        self._configured_path: Path | None = None  # the profile's template (per-type templates may replace it)
        self.template: BillTemplate | None = None
        self.invoices = None
        self.invoices_path: Path | None = None
        self.index: BatchIndex | None = None
        self.split_result: SplitResult | None = None
        self.send_report: SendReport | None = None
        self.delivery: dict[str, str] = {}
        self._op: Operation | None = None
        self._index_op: Operation | None = None
        self._template_op: Operation | None = None  # the configured template, read on a worker
        self._index_pending = False  # indexing asked for while that template was being read
        self.naming = "{account}_{invoice}.pdf"
        self._template_error = ""
        try:
            self.naming = naming_for(profile)
        except UserFacingError as exc:  # a broken naming pattern: say so, let the clerk choose
            log.warning("bill template not loaded: %s", exc)
            self._template_error = str(exc)
        else:
            configured = profile.get("bills_template")
            self.template_path = self._configured_path = (Path(str(configured)).expanduser() if configured
                                                          else sandbox_template_path())
            self._template_op = Operation(self, lambda op: resolve_template(None, profile)) \
                .success(self._on_configured_template).failure(self._on_configured_template_failed)
        self._index_error = ""  # why the open batch could not be indexed, said in the summary

        # ---- top row: batch, template, invoices
        self.open_button = QPushButton("Open batch…", self)
        self.sandbox_button = QPushButton("Sandbox batch", self)
        self.sandbox_button.setToolTip("Print the sandbox's bill batch for its demo customers and open it")
        self.sandbox_button.setVisible(bool(getattr(profile, "is_sandbox", False)))
        self.template_label = ElidedLabel("", self, fit_text=True)
        self.template_button = QPushButton("Template…", self)
        self.draw_button = QPushButton("Draw template…", self)
        self.draw_button.setToolTip("Draw the account-number rectangle on a page of this batch")
        self.invoices_label = ElidedLabel("Invoices: none", self, fit_text=True)
        self.invoices_button = QPushButton("Invoice file…", self)
        self.index_button = QPushButton("Index again", self)
        self.split_button = QPushButton("Split…", self)
        self.send_button = QPushButton("Send", self)
        self.delivery_button = QPushButton("Check delivery", self)
        self.delivery_button.setToolTip("Look on the server: which sent bills Stratus has picked up (.snt)")
        # row 1: what is worked on; row 2: where it stands and what to do next. Labels shorten
        # their text ("…", whole text in the tooltip) so the tab fits a 1024-pixel screen.
        top = QHBoxLayout()
        for w in (self.open_button, self.sandbox_button):
            top.addWidget(w)
        top.addSpacing(16)
        top.addWidget(self.template_label)
        for w in (self.template_button, self.draw_button):
            top.addWidget(w)
        top.addSpacing(16)
        top.addWidget(self.invoices_label)
        top.addWidget(self.invoices_button)
        top.addStretch(1)  # the labels take no more than their text: each stays next to its button

        self.mode_banner = QLabel(
            "This profile uses Invoice Cloud's own bill template: bill images are not sent. "
            "You can still index, check and split a batch.", self)
        self.mode_banner.setObjectName("bill-mode-banner")
        self.mode_banner.setWordWrap(True)
        self.mode_banner.setStyleSheet("background:#fef3c7; color:#92400e; padding:6px; border-radius:4px")
        self.mode_banner.setVisible(not images_sent(profile))

        # ---- progress row
        self.summary_label = ElidedLabel("Open a bill batch PDF to begin.", self)
        self.summary_label.setObjectName("bill-summary")
        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        self.progress.setMaximumWidth(260)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setVisible(False)
        prog = QHBoxLayout()
        prog.addWidget(self.summary_label, 1)
        prog.addWidget(self.progress)
        prog.addWidget(self.cancel_button)
        for w in (self.index_button, self.split_button, self.send_button, self.delivery_button):
            prog.addWidget(w)

        # ---- left: search, bills, problems
        self.search_edit = QLineEdit(self)
        self.search_edit.setObjectName("bill-search")
        self.search_edit.setPlaceholderText("Search account, invoice, file, status or page number")
        self.search_edit.setClearButtonEnabled(True)
        self.attention_check = QCheckBox("Only bills that need a look", self)
        self.model = BillTableModel(self)
        self.proxy = BillFilterModel(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView(self)
        self.table.setObjectName("bill-table")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(PAGES, Qt.SortOrder.AscendingOrder)  # batch order
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        # Widths are measured once per list (_fit_columns): ResizeToContents measured every cell on
        # every layout pass and, next to a stretched column, could make the layout loop for ever
        # when the scroll bar came and went. The status ("Sent – awaiting pickup") is what the
        # clerk reads: never cut short; the long file name gives way ("100102-01_2…0201.pdf").
        for col in (ACCOUNT, PAGES, INVOICE, STATUS):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(FILE, QHeaderView.ResizeMode.Stretch)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.problems = QListWidget(self)
        self.problems.setObjectName("bill-problems")
        self.problems.setWordWrap(True)
        self.problems.setToolTip("Click an entry with a page to show it")
        self.problems_label = QLabel("Needs a look", self)
        left = QWidget(self)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.search_edit)
        lv.addWidget(self.attention_check)
        lv.addWidget(self.table, 3)
        lv.addWidget(self.problems_label)
        lv.addWidget(self.problems, 1)

        # ---- right: preview
        self.preview = BillPreview(self)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.preview)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([560, 640])  # the list wide enough for its file names; a saved state wins

        self.gate = RoleGate(ctx, self)
        self.gate.guard(self.draw_button, "edit_bill_templates")
        self.gate.guard(self.send_button, "send_bills")
        layout = QVBoxLayout(self)
        layout.addWidget(self.gate.banner)
        layout.addLayout(top)
        layout.addWidget(self.mode_banner)
        layout.addLayout(prog)
        layout.addWidget(self.splitter, 1)

        # ---- wiring
        self.open_button.clicked.connect(self._on_open_button_clicked)
        self.sandbox_button.clicked.connect(self._on_sandbox_button_clicked)
        self.template_button.clicked.connect(self._on_template_button_clicked)
        self.draw_button.clicked.connect(self._on_draw_button_clicked)
        self.invoices_button.clicked.connect(self._on_invoices_button_clicked)
        self.index_button.clicked.connect(self.start_index)
        self.split_button.clicked.connect(self._on_split_button_clicked)
        self.send_button.clicked.connect(self._on_send_button_clicked)
        self.delivery_button.clicked.connect(self.start_delivery_check)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.model.modelReset.connect(self._on_model_model_reset)
        self.search_edit.textChanged.connect(self.proxy.set_search)
        self.attention_check.toggled.connect(self.proxy.set_attention_only)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_row_changed)
        self.problems.itemActivated.connect(self._on_problems_item_activated)
        self.problems.itemClicked.connect(self._on_problems_item_activated)
        tracker().ended.connect(self._on_tracker_ended)
        find = QShortcut(QKeySequence.StandardKey.Find, self)
        find.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.activated.connect(self._on_find_shortcut_activated)
        self.setAcceptDrops(True)  # drop a batch PDF on the tab to open it
        self._restore_state()
        self._update_labels()
        self._update_buttons()
        if self._template_op is not None:
            self._template_op.run()

    # ---- UI state
    def _restore_state(self) -> None:
        try:
            state = self.ctx.ui_state("bill_images").bytes("splitter")
        except Exception:  # noqa: BLE001 - UI state is a nicety; never block the tab
            state = None
        if state is not None:
            self.splitter.restoreState(state)

    def hideEvent(self, event) -> None:  # Qt override
        try:
            self.ctx.ui_state("bill_images").set_value("splitter", self.splitter.saveState())
        except Exception:  # noqa: BLE001
            pass
        super().hideEvent(event)

    # ---- opening
    @staticmethod
    def _dropped_pdf(mime) -> Path | None:
        for url in mime.urls() if mime.hasUrls() else []:
            if url.isLocalFile() and url.toLocalFile().lower().endswith(".pdf"):
                return Path(url.toLocalFile())
        return None

    def dragEnterEvent(self, event) -> None:  # Qt override
        if not self._busy() and self._dropped_pdf(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # Qt override
        path = self._dropped_pdf(event.mimeData())
        if path is not None and not self._busy():
            event.acceptProposedAction()
            self.open_batch(path)

    def _on_find_shortcut_activated(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def open_batch(self, path: Path | str, *, index: bool = True) -> None:
        path = Path(path)
        self.pdf_path = path
        self.index = None
        self.split_result = None
        self.send_report = None
        self._index_error = ""
        self.model.set_rows([])
        self.problems.clear()
        self.problems_label.setText("Needs a look")
        self.preview.load(path)  # opened on a worker; a bill selected meanwhile shows once it is open
        self._update_labels()
        self._update_buttons()
        if index:
            self.start_index()

    def set_template(self, template: BillTemplate, path: Path | None) -> None:
        self.template, self.template_path, self._template_error = template, path, ""
        self._update_labels()
        if self.pdf_path is not None:
            self.start_index()

    # ---- the configured template (read on a worker when the tab is made)
    def _template_loading(self) -> bool:
        return self._template_op is not None and self.template is None

    def _on_configured_template(self, template: BillTemplate) -> None:
        self._template_op = None
        if self.template is None:  # else the clerk chose or drew one meanwhile: theirs stays
            self.template = template
        self._template_ready()

    def _on_configured_template_failed(self, exc: BaseException) -> None:
        self._template_op = None
        if self.template is None:  # a broken configured template: say so, let the clerk choose
            log.warning("bill template not loaded: %s", exc)
            self._template_error = str(exc)
        self._template_ready()

    def _template_ready(self) -> None:
        self._update_labels()
        self._update_buttons()
        if self._index_pending:
            self._index_pending = False
            self.start_index()

    # ---- operations
    def _busy(self) -> bool:
        """An operation runs, or a batch waits for the configured template to be read."""
        return (self._op is not None and not self._op.done) or (self._index_pending and self._template_loading())

    def _run(self, fn, label: str, on_success, *, cancellable: bool = True, on_failure=None) -> Operation:
        self._op = Operation(self, fn, label=label, cancellable=cancellable) \
            .on_progress(self._on_progress).success(on_success).failure(on_failure or self._on_failure)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(cancellable)
        self.cancel_button.setEnabled(True)
        self.summary_label.setText(label)
        self._update_buttons(busy=True)
        return self._op.run()

    def _end_op(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._update_buttons()

    def start_index(self) -> None:
        if self.pdf_path is None:
            return
        if self._template_loading():
            self._index_pending = True  # indexed as soon as the template is read
            self.summary_label.setText("Reading the bill template…")
            return
        if self._busy():
            return
        if self.template is None:
            show_error(self, ValidationError(self._template_error or "Choose or draw a bill template first"))
            return
        path, template, refs = self.pdf_path, self.template, self.invoices
        # the configured template (not one the clerk chose or drew): the batch's invoice type may pick another
        mapping = templates_by_type(self.ctx.profile) if self.template_path == self._configured_path else {}

        def work(op):
            chosen = choose_template(path, refs, mapping, template).template if mapping else template
            return index_batch(path, chosen, progress=op.progress, cancel=op.cancel_event)

        self._run(work, f"Indexing {path.name}…", self._on_indexed)
        self._index_op = self._op  # a cancelled indexing is said in the summary (the GUI thread sees its end later)

    def _on_progress(self, done: int, total, message: str) -> None:
        if total:
            self.progress.setRange(0, int(total))
            self.progress.setValue(min(int(done), int(total)))
        if message:
            self.summary_label.setText(message)

    def _on_failure(self, exc: BaseException) -> None:
        self._end_op()
        if self.index is None and isinstance(exc, BadPdfError):
            self._index_error = f"cannot be read: {exc.problem}"
        self._update_labels()
        show_error(self, exc)

    def _on_indexed(self, index: BatchIndex) -> None:
        self._end_op()
        self.index = index
        self.split_result = None
        self.send_report = None
        self._rebuild_rows()
        self.ctx.status(f"{index.path.name}: {len(index.bills)} bills on {index.pages} pages")
        if self.proxy.rowCount() > 0:
            self.select_row(0)

    def _rebuild_rows(self) -> None:
        if self.index is None:
            return
        try:
            rows = rows_for(self.index, self.invoices, self.naming)
        except ValidationError as exc:
            show_error(self, exc)
            return
        if self.split_result is not None:
            rows = mark_written(rows, {f.file_name for f in self.split_result.written})
        if self.send_report is not None:
            rows = mark_sent(rows, self.send_report)
            rows = mark_delivery(rows, self.delivery)
        keep = self.current_row()
        self.model.set_rows(rows)
        if keep is not None:
            src = self.model.row_of_page(keep.first_page)
            proxy_idx = self.proxy.mapFromSource(self.model.index(src, 0)) if src is not None else None
            if proxy_idx is not None and proxy_idx.isValid():
                self.select_row(proxy_idx.row())
        self._fill_problems()
        self._update_labels()
        self._update_buttons()

    def _on_model_model_reset(self) -> None:
        self._fit_columns(self.model.rows())

    def _fit_columns(self, rows: list[BillRow]) -> None:
        """Each column but File as wide as its widest text (header included), measured once."""
        fm = self.table.fontMetrics()
        header = self.table.horizontalHeader()
        pad = 2 * self.table.style().pixelMetric(self.table.style().PixelMetric.PM_FocusFrameHMargin) + 14
        texts = {ACCOUNT: lambda r: r.account, PAGES: lambda r: r.pages_text, INVOICE: lambda r: r.invoice,
                 STATUS: lambda r: r.status_text}
        for col, text_of in texts.items():
            widest = max((fm.horizontalAdvance(t) for t in {text_of(r) for r in rows}), default=0)
            title = header.fontMetrics().horizontalAdvance(str(self.model.headerData(
                col, Qt.Orientation.Horizontal))) + 24  # room for the sort arrow
            header.resizeSection(col, max(widest + pad, title))

    def _fill_problems(self) -> None:
        self.problems.clear()
        if self.index is None:
            return
        for problem in problems_for(self.index, self.invoices, self.send_report, self.delivery):
            item = QListWidgetItem(problem.text)
            item.setToolTip(problem.text)
            if problem.page is not None:
                item.setData(PAGE_ROLE, problem.page)
            self.problems.addItem(item)
        self.problems_label.setText(f"Needs a look ({self.problems.count()})")

    # ---- selection and preview
    def select_row(self, proxy_row: int) -> None:
        idx = self.proxy.index(proxy_row, 0)
        if idx.isValid():
            self.table.selectionModel().setCurrentIndex(
                idx, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)

    def current_row(self) -> BillRow | None:
        idx = self.table.selectionModel().currentIndex()
        return idx.data(ROW_ROLE) if idx.isValid() else None

    def _on_table_current_row_changed(self, current, _previous) -> None:
        row = current.data(ROW_ROLE) if current.isValid() else None
        if row is None:
            return
        self.preview.show_bill(row.pages, f"{row.account} – {len(row.pages)} page{'' if len(row.pages) == 1 else 's'} – {row.status_text}")

    def _on_problems_item_activated(self, item: QListWidgetItem) -> None:
        page = item.data(PAGE_ROLE)
        if page is None:
            return
        src_row = self.model.row_of_page(int(page))
        if src_row is not None:
            proxy_idx = self.proxy.mapFromSource(self.model.index(src_row, 0))
            if proxy_idx.isValid():
                self.select_row(proxy_idx.row())
        self.preview.show_page(int(page))

    # ---- buttons
    def _on_open_button_clicked(self) -> None:
        start = str(self.pdf_path.parent) if self.pdf_path else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open bill batch", start, "PDF files (*.pdf)")
        if path:
            self.open_batch(path)

    def _on_sandbox_button_clicked(self) -> None:
        paths = self.ctx.services.paths

        def work(op):
            from console.sandbox.seed import demo_today

            day = demo_today()  # one day for both files, even across midnight
            pdf = sandbox_batch(paths, as_of=day, progress=op.progress, cancel=op.cancel_event)
            invoices = sandbox_invoice_file(paths, as_of=day)
            return pdf, invoices, load_invoice_refs(invoices, cancel=op.cancel_event), \
                load_template(sandbox_template_path())

        self._run(work, "Printing the sandbox's bill batch…", self._on_sandbox_batch_ready)

    def _on_sandbox_batch_ready(self, ready) -> None:
        pdf, invoices_path, refs, template = ready
        self._end_op()
        if self.template is None or self.template_path != sandbox_template_path():
            self.template, self.template_path = template, sandbox_template_path()
        self.invoices, self.invoices_path = refs, invoices_path
        self.open_batch(pdf)

    def _on_template_button_clicked(self) -> None:
        start = str(self.template_path.parent if self.template_path else Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose bill template", start, "Bill templates (*.toml)")
        if path:
            self.open_template(Path(path))

    def open_template(self, path: Path) -> Operation:
        """Read and check a template file on a worker; a broken one is refused with its problems."""
        return self._run(lambda op: load_template(path), f"Reading {path.name}…",
                         lambda template: self._on_template_read(template, path), cancellable=False)

    def _on_template_read(self, template: BillTemplate, path: Path) -> None:
        self._end_op()
        self.set_template(template, path)

    def _on_draw_button_clicked(self) -> None:
        if self.pdf_path is None:
            show_error(self, UserFacingError("Open a bill batch first: the template is drawn on one of its pages"))
            return
        from console.ui.bills_template_dialog import TemplateDialog

        row = self.current_row()
        pages = self.preview.page_count or (self.index.pages if self.index is not None else None)
        dlg = TemplateDialog(self.pdf_path, self.template, self, start_dir=self.ctx.services.paths.config_dir,
                             page=row.first_page if row is not None else 1, page_count=pages,
                             acting=(self.ctx.profile, self.ctx.operator or self.ctx.operator_id,
                                     getattr(self.ctx.services, "audit", None)))
        if dlg.exec() and dlg.template is not None:
            self.set_template(dlg.template, dlg.saved_path)

    def _on_invoices_button_clicked(self) -> None:
        start = str(self.invoices_path.parent if self.invoices_path else Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Invoice file", start, "Invoice files (*.txt *.csv);;All (*)")
        if path:
            self.load_invoices(path)

    def load_invoices(self, path: Path | str) -> None:
        path = Path(path)
        self._run(lambda op: load_invoice_refs(path, progress=op.progress, cancel=op.cancel_event),
                  f"Reading {path.name}…", lambda refs: self._on_invoices_loaded(path, refs))

    def _on_invoices_loaded(self, path: Path, refs) -> None:
        self._end_op()
        self.invoices, self.invoices_path = refs, path
        self.split_result = None
        self._rebuild_rows()
        self._update_labels()

    def default_out_dir(self) -> Path:
        stem = self.pdf_path.stem if self.pdf_path else "batch"
        return self.ctx.services.paths.data_dir / "bill-images" / stem

    def _on_split_button_clicked(self) -> None:
        if self._busy():
            return
        start = self.default_out_dir()

        def prepare(_op) -> Path:  # a folder that does not exist cannot be chosen: make it first
            try:
                start.mkdir(parents=True, exist_ok=True)
            except OSError:
                return start.parent if start.parent.is_dir() else Path.home()
            return start

        self._run(prepare, "Preparing the folder for the bill PDFs…", self._choose_split_folder, cancellable=False)

    def _choose_split_folder(self, start: Path) -> None:
        self._end_op()
        out = QFileDialog.getExistingDirectory(self, "Folder for the bill PDFs", str(start))
        if out:
            self.start_split(Path(out))

    def start_split(self, out_dir: Path) -> None:
        if self.index is None or self.pdf_path is None or self._busy():
            return
        pdf, index, invoices, naming = self.pdf_path, self.index, self.invoices, self.naming
        self._run(lambda op: split_batch(pdf, index, out_dir, invoices=invoices, naming=naming,
                                         progress=op.progress, cancel=op.cancel_event),
                  "Writing one PDF per bill…", self._on_split_done)

    def _on_split_done(self, result: SplitResult) -> None:
        self._end_op()
        self.split_result = result
        self.send_report = None
        self._rebuild_rows()
        self.ctx.status(f"Wrote {len(result.written)} bill PDFs to {result.out_dir}")

    def _on_send_button_clicked(self) -> None:
        if self.split_result is None:
            return
        n = len(bills_to_send(self.split_result))
        if n == 0:
            show_error(self, UserFacingError("There is no bill image ready to send"))
            return
        from console.services.confirm import bills_outbound
        from console.ui import confirm_dialog

        batch = f"bill images split from {self.pdf_path.name}" if self.pdf_path is not None else "bill images"
        confirm_dialog.ask_to_send(self, bills_outbound(self.ctx.services, batch, n), self.ctx.profile,
                                   self.start_send)

    def start_send(self) -> None:
        if self.split_result is None or self._busy():
            return
        result, services, profile = self.split_result, self.ctx.services, self.ctx.profile
        operator = self.ctx.operator_id or "operator"

        def work(op):
            transfer = transfer_service_for(services)
            return send_bills(result, transfer, operator=operator, profile=profile, progress=op.progress,
                              cancel=op.cancel_event)

        self._run(work, "Sending bill images…", self._on_sent, on_failure=self._on_send_failed)

    def start_delivery_check(self) -> None:
        if self.send_report is None or self._busy():
            return
        report, services = self.send_report, self.ctx.services
        self._run(lambda op: check_delivery(report, transfer_service_for(services)),
                  "Checking delivery on the server…", self._on_delivery_checked, cancellable=False)

    def _on_delivery_checked(self, delivery: dict[str, str]) -> None:
        self._end_op()
        self.delivery = delivery
        self._rebuild_rows()
        counts = {k: list(delivery.values()).count(k) for k in set(delivery.values())}
        self.ctx.status("Delivery: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))

    def _on_send_failed(self, exc: BaseException) -> None:
        """An unknown SFTP host key: ask the clerk to trust it (audited), then send again."""
        from console.adapters.transfer import HostKeyUnknown

        if not isinstance(exc, HostKeyUnknown):
            self._on_failure(exc)
            return
        self._end_op()
        try:
            from console.ui.host_key_dialog import ask_trust_host_key
        except ImportError:  # this build has no trust dialog: show the error with its fingerprint
            show_error(self, exc)
            return
        if not ask_trust_host_key(self, exc):
            self.ctx.status("Not sent: the server's host key was not trusted")
            return
        services, operator = self.ctx.services, self.ctx.operator_id or "operator"
        self._run(lambda op: services.transfer.trust_host_key(exc, operator=operator),
                  "Pinning the server's host key…", lambda _fp: self.start_send(), cancellable=False)

    def _on_sent(self, report: SendReport) -> None:
        self._end_op()
        self.send_report = report
        self.delivery = {}
        self._rebuild_rows()
        self.ctx.status(f"Bill images: {report.summary}")

    def _on_cancel_button_clicked(self) -> None:
        if self._op is not None:
            self._op.cancel()
            self.cancel_button.setEnabled(False)
            self.summary_label.setText("Cancelling…")

    def _on_tracker_ended(self, op) -> None:
        """Every operation ends here, also a cancelled one (which gets no callback)."""
        if op is self._op:
            self._end_op()
            if op.cancelled:
                if self.index is None and op is self._index_op:
                    self._index_error = "cancelled (Index again reads it)"
                self._update_labels()
                self.ctx.status("Cancelled")

    # ---- labels and buttons
    def _update_labels(self) -> None:
        if self._template_loading():
            self.template_label.setText("Template: reading…")
            self.template_label.setToolTip(str(self.template_path or ""))
        elif self.template is None:
            self.template_label.setText("Template: none")
            self.template_label.setToolTip(self._template_error)
        else:
            name = self.template.name or (self.template_path.name if self.template_path else "drawn, not saved")
            self.template_label.setText(f"Template: {name}")
            self.template_label.setToolTip(str(self.template_path or ""))
        if self.invoices is not None and self.invoices_path is not None:
            self.invoices_label.setText(f"Invoices: {self.invoices_path.name} ({len(self.invoices)})")
        index = self.index
        if index is None:
            if self._template_loading() and self._index_pending:
                self.summary_label.setText("Reading the bill template…")
            elif self.pdf_path is not None and not self._busy():
                why = f" – {self._index_error}" if self._index_error else ""
                self.summary_label.setText(f"{self.pdf_path.name}: not indexed{why}")
            return
        self.summary_label.setText(summary_for(index, self.invoices, self.split_result, self.send_report))

    def _update_buttons(self, *, busy: bool = False) -> None:
        has_pdf = self.pdf_path is not None
        self.open_button.setEnabled(not busy)
        self.sandbox_button.setEnabled(not busy)
        self.template_button.setEnabled(not busy)
        self.gate.enable(self.draw_button, not busy and has_pdf)
        self.invoices_button.setEnabled(not busy)
        self.index_button.setEnabled(not busy and has_pdf)
        self.split_button.setEnabled(not busy and self.index is not None and bool(self.index.bills))
        can_send = (not busy and self.split_result is not None and images_sent(self.ctx.profile)
                    and bool(bills_to_send(self.split_result)))
        self.gate.enable(self.send_button, can_send)
        self.delivery_button.setEnabled(not busy and self.send_report is not None)
        self.send_button.setToolTip("" if images_sent(self.ctx.profile) else
                                    "This profile uses Invoice Cloud's own bill template")
        self.gate.apply()
