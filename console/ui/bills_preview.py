"""Preview of a bill inside the batch: QPdfView with the bill's page thumbnails, zoom and
page navigation. The batch is opened once by QtPdf; selecting a bill only jumps."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QPointF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QPixmap
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

from console.ui.elided_label import ElidedLabel

THUMB_WIDTH = 96
ZOOM_STEP = 1.25
THUMBS_AT_ONCE = 4  # rendered right away; the rest of a long bill's thumbnails follow in idle time


class BillPreview(QWidget):
    """Shows pages of one batch PDF. Pages are 1-based in this API (as the clerk counts)."""

    pageShown = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = QPdfDocument(self)
        self.view = QPdfView(self)
        self.view.setObjectName("bill-preview-view")
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.SinglePage)
        self._set_zoom_mode(QPdfView.ZoomMode.FitInView)
        self._bill_pages: tuple[int, ...] = ()
        self._thumbs_todo: list[int] = []  # rows of the thumbnail list still without a picture
        self.last_jump_ms: float | None = None
        self._thumb_timer = QTimer(self)
        self._thumb_timer.setInterval(0)
        self._thumb_timer.timeout.connect(self._render_some_thumbnails)

        self.thumbs = QListWidget(self)
        self.thumbs.setObjectName("bill-preview-thumbnails")
        self.thumbs.setViewMode(QListWidget.ViewMode.IconMode)
        self.thumbs.setFlow(QListWidget.Flow.TopToBottom)
        self.thumbs.setWrapping(False)
        self.thumbs.setMovement(QListWidget.Movement.Static)
        self.thumbs.setIconSize(QSize(THUMB_WIDTH, int(THUMB_WIDTH * 1.3)))
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
    def load(self, path: Path | str) -> str | None:
        """Open a batch; returns an error text or None."""
        self.clear()
        err = self.document.load(str(path))
        if err != QPdfDocument.Error.None_:
            self.document.close()
            return f"QtPdf cannot open {Path(path).name}: {err.name}"
        self.page_spin.setMaximum(max(1, self.document.pageCount()))
        self._update_controls()
        return None

    def clear(self) -> None:
        self._thumb_timer.stop()
        self._thumbs_todo = []
        self.thumbs.clear()
        self._bill_pages = ()
        self.document.close()
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
        """Thumbnails of the bill's pages and its first page in the view."""
        t0 = time.perf_counter()
        self._bill_pages = tuple(pages)
        self.thumbs.blockSignals(True)
        self.thumbs.clear()
        self._thumbs_todo = []
        for row, p in enumerate(self._bill_pages):
            now = row < THUMBS_AT_ONCE
            item = QListWidgetItem(self._thumbnail(p) if now else QIcon(), f"Page {p}")
            item.setData(Qt.ItemDataRole.UserRole, p)
            self.thumbs.addItem(item)
            if not now:
                self._thumbs_todo.append(row)
        self.thumbs.setCurrentRow(0)
        self.thumbs.blockSignals(False)
        if self._thumbs_todo:
            self._thumb_timer.start()
        self.info.setText(title)
        if self._bill_pages:
            self.show_page(self._bill_pages[0])
        self.last_jump_ms = (time.perf_counter() - t0) * 1000

    def show_page(self, page: int) -> None:
        if not 1 <= page <= self.page_count:
            return
        nav = self.view.pageNavigator()
        nav.jump(page - 1, QPointF(), nav.currentZoom())
        self._sync_thumbs(page)
        self._update_controls()
        self.pageShown.emit(page)

    def _render_some_thumbnails(self) -> None:
        for _ in range(THUMBS_AT_ONCE):
            if not self._thumbs_todo:
                break
            item = self.thumbs.item(self._thumbs_todo.pop(0))
            if item is not None:
                item.setIcon(self._thumbnail(int(item.data(Qt.ItemDataRole.UserRole))))
        if not self._thumbs_todo:
            self._thumb_timer.stop()

    @property
    def thumbnails_pending(self) -> int:
        return len(self._thumbs_todo)

    def _thumbnail(self, page: int) -> QIcon:
        size = self.document.pagePointSize(page - 1)
        if size.width() <= 0:
            return QIcon()
        h = int(THUMB_WIDTH * size.height() / size.width())
        img = self.document.render(page - 1, QSize(THUMB_WIDTH, h))
        return QIcon(QPixmap.fromImage(img))

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
        self.page_spin.setMaximum(max(1, n))
        self.page_spin.setValue(max(1, cur))
        self.page_spin.blockSignals(False)
        self.page_label.setText(f"of {n}")
        self.prev_button.setEnabled(n > 0 and cur > 1)
        self.next_button.setEnabled(n > 0 and cur < n)
        for b in (self.zoom_in_button, self.zoom_out_button, self.fit_width_button, self.fit_page_button):
            b.setEnabled(n > 0)
