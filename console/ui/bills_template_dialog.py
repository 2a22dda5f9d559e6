"""Template authoring: draw a rectangle on a sample bill page; the words found in it
(pdfplumber) and the pattern's match update live; save the template as TOML.

Layout only: the words, the match and the pattern suggestion come from
``console.bills.authoring``. The sample PDF is opened, each page drawn and its words read on a
worker (once per page), and the template is saved on a worker too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from console.bills.authoring import SamplePage, build_template, evaluate, load_sample_page, suggest_pattern
from console.bills.template import CONTINUATIONS, BillTemplate
from console.errors import NotPermitted, ValidationError
from console.ui.bills_page_canvas import PageCanvas
from console.ui.bills_preview import PagePicture, render_pages
from console.ui.errors import show_error
from console.ui.operations import Operation
from console.ui.screen_fit import fit_to_screen

RENDER_WIDTH = 1100  # pixels of the page image the clerk draws on
OK_STYLE = "color: #166534; font-weight: bold"
BAD_STYLE = "color: #991b1b"
WARN_STYLE = "color: #92400e; font-weight: bold"


@dataclass
class LoadedPage:
    """A sample page read on a worker: its picture (pypdfium2), its words (pdfplumber)."""

    page: int
    picture: PagePicture  # NO_PICTURE when it cannot be drawn: the words are still there
    sample: SamplePage


def read_page(path: Path, page: int) -> LoadedPage:
    """Worker thread: draw page ``page`` of the sample and read its words."""
    sample = load_sample_page(path, page)
    return LoadedPage(page, render_pages(path, [page], RENDER_WIDTH)[0], sample)


class TemplateDialog(QDialog):
    """Author or edit a bill template on a sample PDF. ``template`` holds the result."""

    def __init__(self, sample_pdf: Path | str, template: BillTemplate | None = None,
                 parent: QWidget | None = None, *, start_dir: Path | None = None, page: int = 1,
                 page_count: int | None = None, acting=None):
        super().__init__(parent)
        # (profile, operator, audit) of who saves: the service refuses a role without edit_bill_templates
        self._acting = acting
        self.setWindowTitle("Bill template – draw around the account number")
        self.setObjectName("bill-template-dialog")
        self.sample_pdf = Path(sample_pdf)
        self.template: BillTemplate | None = template
        self.saved_path: Path | None = None
        self.sample: SamplePage | None = None
        self._start_dir = start_dir
        self._loading_page = 0
        self._ops: dict[str, Operation] = {}  # the last operation of each kind, released on this thread
        self._page_count_known = page_count is not None

        self.canvas = PageCanvas(self)
        self.page_spin = QSpinBox(self)
        self.page_spin.setObjectName("template-page")
        # the batch's page count when the caller knows it, else corrected once the PDF is open
        self.page_spin.setRange(1, max(1, page_count or page))
        self.page_spin.setValue(max(1, page))
        self.page_spin.valueChanged.connect(self._on_page_spin_value_changed)
        self.name_edit = QLineEdit(template.name if template else "", self)
        self.pattern_edit = QLineEdit(template.pattern if template else "", self)
        self.pattern_edit.setObjectName("template-pattern")
        self.pattern_edit.setPlaceholderText(r"e.g. Account Number\s*(?P<account>\d{6}-\d{2})")
        self.suggest_button = QPushButton("Suggest", self)
        self.suggest_button.setToolTip("Write a pattern from the text in the rectangle")
        self.continuation_combo = QComboBox(self)
        for key, text in CONTINUATIONS.items():
            self.continuation_combo.addItem(f"{key} – {text}", key)
        if template is not None:
            self.continuation_combo.setCurrentIndex(max(0, list(CONTINUATIONS).index(template.continuation)))
        self.region_label = QLabel("", self)
        self.region_label.setObjectName("template-region")
        self.words_view = QPlainTextEdit(self)
        self.words_view.setObjectName("template-words")
        self.words_view.setReadOnly(True)
        self.words_view.setMaximumHeight(110)
        self.match_label = QLabel("", self)
        self.match_label.setObjectName("template-match")
        self.match_label.setWordWrap(True)
        self.test_button = QPushButton("Test on the whole batch", self)
        self.test_button.setToolTip("Index every page with this draft and count bills and problems")
        self.test_label = QLabel("", self)
        self.test_label.setObjectName("template-test")
        self.test_label.setWordWrap(True)
        self.tested = None  # the BatchIndex of the last test

        pattern_row = QHBoxLayout()
        pattern_row.addWidget(self.pattern_edit, 1)
        pattern_row.addWidget(self.suggest_button)
        form = QFormLayout()
        form.addRow("Sample page", self.page_spin)
        form.addRow("Name", self.name_edit)
        form.addRow("Region (points)", self.region_label)
        form.addRow("Words in it", self.words_view)
        form.addRow("Pattern", pattern_row)
        form.addRow("Match", self.match_label)
        form.addRow("Continuation", self.continuation_combo)
        form.addRow(self.test_button)
        form.addRow(self.test_label)
        hint = QLabel("Drag a rectangle around the account number on the page. Leave a few points of margin. "
                      "The pattern must contain (?P<account>…), the account number.", self)
        hint.setWordWrap(True)

        self.buttons = QDialogButtonBox(self)
        self.save_button = self.buttons.addButton("Save as…", QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button = self.buttons.addButton("Use without saving", QDialogButtonBox.ButtonRole.ApplyRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.rejected.connect(self.reject)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.use_button.clicked.connect(self._on_use_button_clicked)

        side = QVBoxLayout()
        side.addWidget(hint)
        side.addLayout(form)
        side.addStretch(1)
        side.addWidget(self.buttons)
        side_w = QWidget(self)
        side_w.setLayout(side)
        side_w.setMinimumWidth(380)
        layout = QHBoxLayout(self)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(side_w)

        self.canvas.regionChanged.connect(self._on_canvas_region_changed)
        self.pattern_edit.textChanged.connect(self._on_pattern_edit_text_changed)
        self.suggest_button.clicked.connect(self._on_suggest_button_clicked)
        self.test_button.clicked.connect(self.test_on_batch)
        if template is not None:
            self.canvas.set_region(template.region)
        fit_to_screen(self, 1080, 800)  # at 1024×768 (or 1366×768) its buttons stay on screen
        self._load_page(self.page_spin.value())

    # ---- page loading
    def _load_page(self, page: int) -> None:
        self.sample = None
        self._loading_page = page
        self.match_label.setText("Reading the page…")
        path = self.sample_pdf
        self._ops["page"] = Operation(self, lambda _op: read_page(path, page),
                                      label="Reading the sample page…").success(self._on_page_loaded).run()

    def _on_page_loaded(self, loaded: LoadedPage) -> None:
        if not self._page_count_known:
            self._page_count_known = True
            self.page_spin.setMaximum(max(1, loaded.sample.pages))  # may move to the last page
        if loaded.page != self._loading_page:
            return  # the clerk moved on to another page meanwhile
        sample = loaded.sample
        # never the picture of the page before: without one the canvas says there is none
        self.canvas.set_page(loaded.picture.image() if loaded.picture.rgba else None, sample.width, sample.height)
        self.sample = sample
        self.refresh()

    # ---- live evaluation
    def current_region(self):
        return self.canvas.region()

    def refresh(self) -> None:
        region = self.current_region()
        self.region_label.setText("–" if region is None else ", ".join(f"{v:g}" for v in region))
        if self.sample is None:
            return
        if not self.sample.has_text:
            self.words_view.setPlainText("")
            self._set_match("This page has no text layer (a scan?): choose another page", ok=False)
            return
        result = evaluate(self.sample, region, self.pattern_edit.text())
        self.words_view.setPlainText(result.text)
        self.canvas.set_highlights([(w.x0, w.top, w.x1, w.bottom) for w in result.words])
        if result.account and result.warning:
            self.match_label.setText(f"Account found: {result.account} – {result.warning}")
            self.match_label.setStyleSheet(WARN_STYLE)
        elif result.account:
            self._set_match(f"Account found: {result.account}", ok=True)
        else:
            self._set_match(result.error or "No match", ok=False)

    def _set_match(self, text: str, *, ok: bool) -> None:
        self.match_label.setText(text)
        self.match_label.setStyleSheet(OK_STYLE if ok else BAD_STYLE)

    @property
    def matched_account(self) -> str | None:
        if self.sample is None:
            return None
        return evaluate(self.sample, self.current_region(), self.pattern_edit.text()).account

    # ---- building and saving
    def build(self) -> BillTemplate:
        region = self.current_region()
        if region is None:
            raise ValidationError("Draw a rectangle around the account number first")
        return build_template(region, self.pattern_edit.text().strip(),
                              self.continuation_combo.currentData(), self.name_edit.text().strip())

    def save_to(self, path: Path | str, *, close: bool = False) -> Operation:
        """Write the template as TOML on a worker (``build`` refuses a bad draft first, here);
        ``template`` and ``saved_path`` are set once it is written; ``close`` then accepts."""
        template = self.build()
        path = Path(path)
        if path.suffix.lower() != ".toml":
            path = path.with_suffix(".toml")
        self._set_saving(True)

        def saved(_result) -> None:
            self._set_saving(False)
            self.template, self.saved_path = template, path
            if close:
                self.accept()

        def failed(exc: BaseException) -> None:
            self._set_saving(False)
            show_error(self, exc)

        profile, operator, audit = self._acting or (None, None, None)

        def work(_op) -> Path:
            from console.bills.service import save_template

            if profile is None:
                raise NotPermitted("Saving a bill template needs a signed-in operator")
            return save_template(template, path, profile=profile, operator=operator, audit=audit)

        self._ops["save"] = op = Operation(self, work, label=f"Saving {path.name}…") \
            .success(saved).failure(failed).run()
        return op

    def _set_saving(self, saving: bool) -> None:
        self.save_button.setEnabled(not saving)
        self.use_button.setEnabled(not saving)

    def test_on_batch(self) -> None:
        """Index the sample PDF with the draft (off the GUI thread); show bills and problems."""
        from console.bills.indexer import index_batch
        from console.bills.review import summary_for

        try:
            template = self.build()
        except ValidationError as exc:
            show_error(self, exc)
            return
        path = self.sample_pdf
        self.test_button.setEnabled(False)
        self.test_label.setText("Testing…")

        def done(index) -> None:
            self.tested = index
            self.test_button.setEnabled(True)
            kinds = sorted({i.kind for i in index.issues})
            extra = f" — problems: {', '.join(kinds)}" if kinds else ""
            self.test_label.setText(summary_for(index) + extra)
            self.test_label.setStyleSheet(OK_STYLE if index.clean and not index.issues else WARN_STYLE)

        def failed(exc: BaseException) -> None:
            self.test_button.setEnabled(True)
            self.test_label.setText("")
            show_error(self, exc)

        self._ops["test"] = Operation(
            self, lambda op: index_batch(path, template, progress=op.progress, cancel=op.cancel_event),
            label="Testing the template…", cancellable=True).success(done).failure(failed).run()

    # ---- slots
    def _on_page_spin_value_changed(self, page: int) -> None:
        self._load_page(page)

    def _on_canvas_region_changed(self, _region) -> None:
        self.refresh()

    def _on_pattern_edit_text_changed(self, _text: str) -> None:
        self.refresh()

    def _on_suggest_button_clicked(self) -> None:
        region = self.current_region()
        if self.sample is None or region is None:
            return
        pattern = suggest_pattern(self.sample.region_text(region))
        if pattern:
            self.pattern_edit.setText(pattern)
        else:
            self._set_match("No number in the rectangle to build a pattern from", ok=False)

    def _on_use_button_clicked(self) -> None:
        try:
            self.template = self.build()
        except ValidationError as exc:
            show_error(self, exc)
            return
        self.accept()

    def _on_save_button_clicked(self) -> None:
        try:
            self.build()
        except ValidationError as exc:
            show_error(self, exc)
            return
        start = str((self._start_dir or self.sample_pdf.parent) / "bill-template.toml")
        path, _ = QFileDialog.getSaveFileName(self, "Save bill template", start, "Bill templates (*.toml)")
        if not path:
            return
        try:
            self.save_to(path, close=True)
        except ValidationError as exc:
            show_error(self, exc)

    def keyPressEvent(self, event) -> None:  # Qt override: Enter in the pattern must not close
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            return
        super().keyPressEvent(event)
