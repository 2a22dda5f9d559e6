"""Preview of a bill inside the batch: QPdfView with the bill's page thumbnails, zoom and
page navigation. The batch is opened once by QtPdf; selecting a bill only jumps.

Opening the batch (QtPdf reads its cross-reference table, or rebuilds it for a damaged file:
slow on a network drive) and rendering thumbnails run through ``Operation`` on workers; only
the opened document and the pictures' bytes come back to the GUI thread.

No Qt object is shared between threads: the document the view shows is handed over once
(moved to the GUI thread, then owned by this widget, so it is deleted on the GUI thread and
never by a worker's garbage collection). Thumbnails (and the template dialog's page picture)
are rendered by pypdfium2 under ``PDFIUM_LOCK`` into plain RGBA bytes; the ``QImage`` and the
pixmap are made on the GUI thread. Rendering with QtPdf on a worker would hold QtPdf's global
lock, which the GUI thread's own QtPdf calls (page sizes for the view's layout) then wait for.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pypdfium2.raw as pdfium_c
from PySide6.QtCore import QCoreApplication, QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from console.bills.pdf import PDFIUM_LOCK
from console.bills.pdf import open_document as open_pdfium
from console.errors import UserFacingError
from console.ui.elided_label import ElidedLabel
from console.ui.operations import Operation

log = logging.getLogger(__name__)

THUMB_WIDTH = 96
ZOOM_STEP = 1.25
THUMB_HEIGHT = int(THUMB_WIDTH * 1.3)
THUMBS_AT_ONCE = 4  # thumbnails rendered per worker call: the first ones show quickly, the rest follow
READY_ROLE = Qt.ItemDataRole.UserRole + 1  # True once a thumbnail shows its page's picture


def _blank_page_icon() -> QIcon:
    """A blank letter-size page the size of a thumbnail (GUI thread)."""
    pixmap = QPixmap(THUMB_WIDTH, int(THUMB_WIDTH * 11 / 8.5))
    pixmap.fill(QColor("#ffffff"))
    painter = QPainter(pixmap)
    painter.setPen(QColor("#c8c8c8"))
    painter.drawRect(0, 0, pixmap.width() - 1, pixmap.height() - 1)
    painter.end()
    return QIcon(pixmap)


@dataclass(frozen=True)
class PagePicture:
    """A rendered page as plain bytes (made on a worker; ``image()`` on the GUI thread)."""

    width: int
    height: int
    rgba: bytes  # width * height * 4 bytes, row after row

    def image(self) -> QImage:
        """A QImage that owns a copy of the pixels (safe once ``rgba`` is gone)."""
        if not self.rgba:
            return QImage()
        return QImage(self.rgba, self.width, self.height, 4 * self.width, QImage.Format.Format_RGBA8888).copy()


NO_PICTURE = PagePicture(0, 0, b"")


@dataclass
class OpenedPdf:
    """What ``open_document`` hands back: the document, or why QtPdf cannot open the file."""

    document: QPdfDocument | None
    error: str | None = None


def open_document(path: Path | str) -> OpenedPdf:
    """Worker thread: open ``path`` with QtPdf and hand the document over to the GUI thread."""
    doc = QPdfDocument(None)
    error = doc.load(str(path))
    if error != QPdfDocument.Error.None_:
        doc.close()
        del doc  # made and freed on this thread, never seen by the GUI
        return OpenedPdf(None, f"QtPdf cannot open {Path(path).name}: {error.name}")
    app = QCoreApplication.instance()
    if app is not None:
        doc.moveToThread(app.thread())  # its signals and deletion belong to the GUI thread
    return OpenedPdf(doc)


def render_pages(path: Path | str, pages: list[int], width: int) -> list[PagePicture]:
    """Worker thread: pages (1-based) about ``width`` pixels wide, drawn by pypdfium2 as they
    are shown (rotation applied); ``NO_PICTURE`` for a page that cannot be drawn, for every
    page when the file cannot be opened (the caller shows the pages without a picture)."""
    out: list[PagePicture] = []
    with PDFIUM_LOCK:  # PDFium is not thread-safe: every pypdfium2 call of the console takes it
        try:
            doc = open_pdfium(path)
        except UserFacingError as exc:
            log.info("page pictures not drawn: %s", exc)
            return [NO_PICTURE for _ in pages]
        try:
            for number in pages:
                if not 1 <= number <= len(doc):
                    out.append(NO_PICTURE)
                    continue
                page = doc[number - 1]
                try:
                    w, _h = page.get_size()
                    bitmap = page.render(scale=width / w if w > 0 else 1.0, rev_byteorder=True,
                                         force_bitmap_format=pdfium_c.FPDFBitmap_BGRA)
                    rgba = bytes(bitmap.buffer) if bitmap.stride == 4 * bitmap.width else b"".join(
                        bytes(bitmap.buffer[r * bitmap.stride:r * bitmap.stride + 4 * bitmap.width])
                        for r in range(bitmap.height))
                    out.append(PagePicture(bitmap.width, bitmap.height, rgba))
                    bitmap.close()
                finally:
                    page.close()
        finally:
            doc.close()
    return out


class BillPreview(QWidget):
    """Shows pages of one batch PDF. Pages are 1-based in this API (as the clerk counts)."""

    pageShown = Signal(int)
    documentLoaded = Signal(str)  # "" once a batch is open, else why QtPdf cannot open it

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._empty = QPdfDocument(self)  # shown while no batch is open (or one is being opened)
        self.document: QPdfDocument = self._empty
        self.path: Path | None = None  # the batch shown
        self.error: str | None = None  # why the last batch could not be opened
        self.view = QPdfView(self)
        self.view.setObjectName("bill-preview-view")
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.SinglePage)
        self._set_zoom_mode(QPdfView.ZoomMode.FitInView)
        self._bill_pages: tuple[int, ...] = ()
        self._thumbs_todo: list[int] = []  # rows of the thumbnail list still without a picture
        self.last_jump_ms: float | None = None
        self._load_op: Operation | None = None
        self._load_serial = 0  # a batch that arrives after another load or a clear is dropped
        self._want_page: int | None = None  # asked for while the batch was being opened
        self._thumb_op: Operation | None = None  # at most one thumbnail call at a time
        self._thumb_serial = 0  # which bill's thumbnails the list shows

        self.thumbs = QListWidget(self)
        self.thumbs.setObjectName("bill-preview-thumbnails")
        self.thumbs.setViewMode(QListWidget.ViewMode.IconMode)
        self.thumbs.setFlow(QListWidget.Flow.TopToBottom)
        self.thumbs.setWrapping(False)
        self.thumbs.setMovement(QListWidget.Movement.Static)
        self.thumbs.setIconSize(QSize(THUMB_WIDTH, THUMB_HEIGHT))
        self._placeholder = _blank_page_icon()  # until the picture arrives: the list keeps its layout
        self.thumbs.setFixedWidth(THUMB_WIDTH + 34)
        self.thumbs.currentRowChanged.connect(self._on_thumbs_current_row_changed)

        self.prev_button = self._tool("◀", "Previous page (PgUp)", self.previous_page)
        self.next_button = self._tool("▶", "Next page (PgDown)", self.next_page)
        self.page_spin = QSpinBox(self)
        self.page_spin.setObjectName("bill-preview-page")
        self.page_spin.setMinimum(1)
        self.page_spin.setKeyboardTracking(False)
        self.page_spin.valueChanged.connect(self._on_page_spin_value_changed)
        self.page_label = QLabel("of 0", self)
        self.zoom_out_button = self._tool("−", "Zoom out", self.zoom_out)
        self.zoom_in_button = self._tool("+", "Zoom in", self.zoom_in)
        self.fit_width_button = self._tool("Width", "Fit the page width", self.fit_width)
        self.fit_page_button = self._tool("Page", "Show the whole page", self.fit_page)
        self.info = ElidedLabel("", self, mode=Qt.TextElideMode.ElideRight)
        self.info.setObjectName("bill-preview-info")

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for w in (self.prev_button, QLabel("Page", self), self.page_spin, self.page_label, self.next_button):
            bar.addWidget(w)
        bar.addSpacing(12)
        for w in (self.zoom_out_button, self.zoom_in_button, self.fit_width_button, self.fit_page_button):
            bar.addWidget(w)
        bar.addSpacing(12)
        bar.addWidget(self.info, 1)

        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.thumbs)
        body.addWidget(self.view, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addLayout(body, 1)
        self.view.pageNavigator().currentPageChanged.connect(self._on_navigator_current_page_changed)
        self._update_controls()

    def _tool(self, text: str, tip: str, slot) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    # ---- document
    def load(self, path: Path | str) -> Operation:
        """Open a batch on a worker; ``documentLoaded`` (and ``error``) say how it went.

        Bills shown meanwhile appear once it is open."""
        self.clear()
        serial = self._load_serial
        self._load_op = Operation(self, lambda op: open_document(path), label=f"Opening {Path(path).name}…") \
            .success(lambda opened: self._on_opened(serial, path, opened)) \
            .failure(lambda exc: self._on_opened(serial, path, OpenedPdf(None, str(exc))))
        return self._load_op.run()

    @property
    def loading(self) -> bool:
        return self._load_op is not None

    def _on_opened(self, serial: int, path: Path | str, opened: OpenedPdf) -> None:
        if serial != self._load_serial:
            if opened.document is not None:
                opened.document.setParent(self)
                opened.document.deleteLater()
            return  # another batch was opened (or the preview cleared) meanwhile
        self._load_op = None
        if opened.document is None:
            self.error = opened.error or "QtPdf cannot open the file"
            log.info("preview: %s", self.error)
            self._update_controls()
            self.documentLoaded.emit(self.error)
            return
        opened.document.setParent(self)  # owned by Qt from now on: deleted on this thread
        self.path = Path(path)
        self._set_document(opened.document)
        self.page_spin.setMaximum(max(1, self.document.pageCount()))
        page, self._want_page = self._want_page, None
        if page is not None:
            self.show_page(page)
        self._render_next_thumbnails()
        self._update_controls()
        self.documentLoaded.emit("")

    def _set_document(self, doc: QPdfDocument) -> None:
        """Show ``doc``; the batch shown before is closed and deleted (no worker uses it)."""
        old, self.document = self.document, doc
        self.view.setDocument(doc)
        if old is not self._empty and old is not doc:
            old.close()
            old.deleteLater()

    def clear(self) -> None:
        self._load_serial += 1
        self._load_op = None
        self.error = None
        self._want_page = None
        self._thumb_serial += 1
        self._thumbs_todo = []
        self.thumbs.clear()
        self._bill_pages = ()
        self.path = None
        self._set_document(self._empty)
        self.info.setText("")
        self._update_controls()

    @property
    def page_count(self) -> int:
        return self.document.pageCount() if self.document.status() == QPdfDocument.Status.Ready else 0

    @property
    def current_page(self) -> int:
        return self.view.pageNavigator().currentPage() + 1

    # ---- showing
    def show_bill(self, pages: tuple[int, ...] | list[int], title: str = "") -> None:
        """Thumbnails of the bill's pages (rendered on workers) and its first page in the view."""
        t0 = time.perf_counter()
        self._bill_pages = tuple(pages)
        self._thumb_serial += 1
        self.thumbs.blockSignals(True)
        self.thumbs.clear()
        for p in self._bill_pages:
            item = QListWidgetItem(self._placeholder, f"Page {p}")
            item.setData(Qt.ItemDataRole.UserRole, p)
            self.thumbs.addItem(item)
        self._thumbs_todo = list(range(len(self._bill_pages)))
        self.thumbs.setCurrentRow(0)
        self.thumbs.blockSignals(False)
        self.info.setText(title)
        if self._bill_pages:
            self.show_page(self._bill_pages[0])
        self._render_next_thumbnails()
        self.last_jump_ms = (time.perf_counter() - t0) * 1000

    def show_page(self, page: int) -> None:
        if self.loading:
            self._want_page = page  # shown once the batch is open
            return
        if not 1 <= page <= self.page_count:
            return
        nav = self.view.pageNavigator()
        nav.jump(page - 1, QPointF(), nav.currentZoom())
        self._sync_thumbs(page)
        self._update_controls()
        self.pageShown.emit(page)

    def _render_next_thumbnails(self) -> None:
        """Render the next few thumbnails of the bill shown on a worker (one call at a time)."""
        if self._thumb_op is not None or not self._thumbs_todo or self.loading or self.page_count == 0:
            return
        rows = self._thumbs_todo[:THUMBS_AT_ONCE]
        pages = [int(self.thumbs.item(r).data(Qt.ItemDataRole.UserRole)) for r in rows]
        path, serial = self.path, self._thumb_serial
        if path is None:
            return
        self._thumb_op = Operation(self, lambda _op: render_pages(path, pages, THUMB_WIDTH)).success(lambda images: self._on_thumbnails(serial, rows, images)) \
            .failure(lambda exc: self._on_thumbnails_failed(serial, exc))
        self._thumb_op.run()

    def _on_thumbnails(self, serial: int, rows: list[int], pictures: list[PagePicture]) -> None:
        self._thumb_op = None
        if serial == self._thumb_serial:  # else the clerk moved on to another bill
            for row, picture in zip(rows, pictures, strict=True):
                item = self.thumbs.item(row)
                if item is not None and picture.rgba:
                    item.setIcon(QIcon(QPixmap.fromImage(picture.image())))
                    item.setData(READY_ROLE, True)
            done = set(rows)
            self._thumbs_todo = [r for r in self._thumbs_todo if r not in done]
        self._render_next_thumbnails()

    def _on_thumbnails_failed(self, serial: int, exc: BaseException) -> None:
        self._thumb_op = None
        if serial == self._thumb_serial:
            log.warning("thumbnails not rendered: %s", exc)
            self._thumbs_todo = []  # the pages themselves still show in the view
        self._render_next_thumbnails()

    @property
    def thumbnails_pending(self) -> int:
        return len(self._thumbs_todo)

    def thumbnail_ready(self, row: int) -> bool:
        """Whether the thumbnail in ``row`` shows its page (not the blank placeholder)."""
        item = self.thumbs.item(row)
        return item is not None and bool(item.data(READY_ROLE))

    # ---- navigation and zoom
    def next_page(self) -> None:
        self.show_page(self.current_page + 1)

    def previous_page(self) -> None:
        self.show_page(self.current_page - 1)

    def zoom_in(self) -> None:
        self._zoom(self.view.zoomFactor() * ZOOM_STEP)

    def zoom_out(self) -> None:
        self._zoom(self.view.zoomFactor() / ZOOM_STEP)

    def _zoom(self, factor: float) -> None:
        if self.view.zoomMode() != QPdfView.ZoomMode.Custom:
            factor = self._effective_zoom() * (factor / max(self.view.zoomFactor(), 1e-6))
        self._set_zoom_mode(QPdfView.ZoomMode.Custom)
        self.view.setZoomFactor(max(0.1, min(8.0, factor)))

    def _effective_zoom(self) -> float:
        """The zoom the fit modes show now (QPdfView keeps zoomFactor at 1 for them)."""
        size = self.document.pagePointSize(max(0, self.current_page - 1))
        vp = self.view.viewport().size()
        if size.width() <= 0 or size.height() <= 0:
            return 1.0
        dpi = self.logicalDpiX() / 72.0
        fw = vp.width() / (size.width() * dpi)
        if self.view.zoomMode() == QPdfView.ZoomMode.FitToWidth:
            return fw
        return min(fw, vp.height() / (size.height() * dpi))

    def fit_width(self) -> None:
        self._set_zoom_mode(QPdfView.ZoomMode.FitToWidth)

    def fit_page(self) -> None:
        self._set_zoom_mode(QPdfView.ZoomMode.FitInView)

    def _set_zoom_mode(self, mode: QPdfView.ZoomMode) -> None:
        """Fixed scroll-bar policies for the fit modes: with "as needed" bars a fitted page can
        make a bar appear, which shrinks the viewport, which refits the page, which hides the
        bar … — an endless layout loop that froze the GUI thread."""
        off, on, as_needed = (Qt.ScrollBarPolicy.ScrollBarAlwaysOff, Qt.ScrollBarPolicy.ScrollBarAlwaysOn,
                              Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        if mode == QPdfView.ZoomMode.FitInView:
            h, v = off, off
        elif mode == QPdfView.ZoomMode.FitToWidth:
            h, v = off, on
        else:
            h, v = as_needed, as_needed
        self.view.setHorizontalScrollBarPolicy(h)
        self.view.setVerticalScrollBarPolicy(v)
        self.view.setZoomMode(mode)

    def keyPressEvent(self, event) -> None:  # Qt override
        if event.key() == Qt.Key.Key_PageDown:
            self.next_page()
        elif event.key() == Qt.Key.Key_PageUp:
            self.previous_page()
        else:
            super().keyPressEvent(event)

    # ---- slots
    def _on_thumbs_current_row_changed(self, row: int) -> None:
        item = self.thumbs.item(row)
        if item is not None:
            self.show_page(int(item.data(Qt.ItemDataRole.UserRole)))

    def _on_page_spin_value_changed(self, value: int) -> None:
        if value != self.current_page:
            self.show_page(value)

    def _on_navigator_current_page_changed(self, _page: int) -> None:
        self._update_controls()

    def _sync_thumbs(self, page: int) -> None:
        self.thumbs.blockSignals(True)
        for i in range(self.thumbs.count()):
            if self.thumbs.item(i).data(Qt.ItemDataRole.UserRole) == page:
                self.thumbs.setCurrentRow(i)
                break
        else:
            self.thumbs.clearSelection()
        self.thumbs.blockSignals(False)

    def _update_controls(self) -> None:
        n = self.page_count
        cur = self.current_page if n else 0
        self.page_spin.blockSignals(True)
        self.page_spin.setEnabled(n > 0)
        self.page_spin.setMinimum(1 if n else 0)  # no document: a blank box, not "Page 1 of 0"
        self.page_spin.setSpecialValueText("" if n else " ")
        self.page_spin.setMaximum(max(1, n))
        self.page_spin.setValue(max(1, cur) if n else 0)
        self.page_spin.blockSignals(False)
        self.page_label.setText(f"of {n}" if n else "")
        self.prev_button.setEnabled(n > 0 and cur > 1)
        self.next_button.setEnabled(n > 0 and cur < n)
        for b in (self.zoom_in_button, self.zoom_out_button, self.fit_width_button, self.fit_page_button):
            b.setEnabled(n > 0)
