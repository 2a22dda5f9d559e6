"""A page image on which the clerk draws the account-number rectangle (template authoring).

Regions are reported in PDF points of the page as displayed (top-left origin), the unit of
bill templates, whatever the widget's size.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

Rect = tuple[float, float, float, float]


class PageCanvas(QWidget):
    regionChanged = Signal(object)  # Rect | None, while drawing and when set
    regionFinished = Signal(object)  # Rect | None, when the mouse is released

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("bill-template-canvas")
        self.setMouseTracking(False)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(300, 380)
        self._image: QImage | None = None
        self._page_size = (612.0, 792.0)
        self._region: Rect | None = None
        self._highlights: list[Rect] = []
        self._drag_start: QPointF | None = None

    # ---- content
    def set_page(self, image: QImage | None, width_pt: float, height_pt: float) -> None:
        self._image = image
        self._page_size = (float(width_pt), float(height_pt))
        self.update()

    def set_page_size(self, width_pt: float, height_pt: float) -> None:
        self._page_size = (float(width_pt), float(height_pt))
        self.update()

    def set_region(self, region: Rect | None) -> None:
        self._region = region
        self.update()
        self.regionChanged.emit(region)

    def region(self) -> Rect | None:
        return self._region

    def set_highlights(self, boxes: list[Rect]) -> None:
        """Boxes (points) to outline, e.g. the words found in the region."""
        self._highlights = list(boxes)
        self.update()

    # ---- geometry
    def page_rect(self) -> QRectF:
        """Where the page is drawn inside the widget (aspect kept, centred)."""
        w, h = self._page_size
        if w <= 0 or h <= 0:
            return QRectF()
        scale = min(self.width() / w, self.height() / h)
        dw, dh = w * scale, h * scale
        return QRectF((self.width() - dw) / 2, (self.height() - dh) / 2, dw, dh)

    def to_points(self, pos: QPointF) -> tuple[float, float]:
        r = self.page_rect()
        if r.width() <= 0:
            return 0.0, 0.0
        w, h = self._page_size
        x = (pos.x() - r.x()) * w / r.width()
        y = (pos.y() - r.y()) * h / r.height()
        return min(max(x, 0.0), w), min(max(y, 0.0), h)

    def to_widget(self, x: float, y: float) -> QPointF:
        r = self.page_rect()
        w, h = self._page_size
        return QPointF(r.x() + x * r.width() / w, r.y() + y * r.height() / h)

    def _rect_widget(self, box: Rect) -> QRectF:
        a = self.to_widget(box[0], box[1])
        b = self.to_widget(box[2], box[3])
        return QRectF(a, b).normalized()

    def sizeHint(self) -> QSize:  # Qt override
        return QSize(520, 672)

    # ---- drawing with the mouse
    def mousePressEvent(self, event) -> None:  # Qt override
        if event.button() == Qt.MouseButton.LeftButton and self._image is not None:
            self._drag_start = event.position()
            self._update_drag(event.position())
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # Qt override
        if self._drag_start is not None:
            self._update_drag(event.position())

    def mouseReleaseEvent(self, event) -> None:  # Qt override
        if self._drag_start is not None and event.button() == Qt.MouseButton.LeftButton:
            self._update_drag(event.position())
            self._drag_start = None
            self.regionFinished.emit(self._region)

    def _update_drag(self, pos: QPointF) -> None:
        assert self._drag_start is not None
        x0, y0 = self.to_points(self._drag_start)
        x1, y1 = self.to_points(pos)
        region = (round(min(x0, x1), 1), round(min(y0, y1), 1), round(max(x0, x1), 1), round(max(y0, y1), 1))
        self.set_region(region if region[2] - region[0] >= 1 and region[3] - region[1] >= 1 else None)

    # ---- painting
    def paintEvent(self, _event) -> None:  # Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().window())
        target = self.page_rect()
        if self._image is None or target.isEmpty():
            p.setPen(self.palette().text().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Open a sample bill to draw on")
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.fillRect(target, Qt.GlobalColor.white)
        p.drawImage(target, self._image)
        p.setPen(QPen(QColor(120, 120, 120), 1))
        p.drawRect(target)
        if self._highlights:
            p.setPen(QPen(QColor(20, 130, 60), 1.2))
            for box in self._highlights:
                p.drawRect(self._rect_widget(box))
        if self._region is not None:
            r = self._rect_widget(self._region)
            p.fillRect(r, QColor(30, 100, 220, 50))
            p.setPen(QPen(QColor(30, 100, 220), 2, Qt.PenStyle.DashLine))
            p.drawRect(r)
