"""Usage history bar chart (the seed's "History Usage Graphs"): one bar per month, QPainter only.

Bars show consumption; the latest month is highlighted; hovering a bar shows the month, the
consumption and what that month's bill charged.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from console.domain.money import format_money
from console.services.counter import UsageBar

_BAR = QColor("#60a5fa")
_LATEST = QColor("#1d4ed8")
_GRID = QColor("#e5e7eb")
_TEXT = QColor("#374151")
_MONTHS = "JFMAMJJASOND"


def _nice_max(value: Decimal) -> Decimal:
    """A round axis maximum just above ``value`` (1, 2, 2.5, 5 × 10^n)."""
    if value <= 0:
        return Decimal(1)
    exp = Decimal(10) ** (len(str(int(value))) - 1) if value >= 1 else Decimal("0.1")
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= exp * step:
            return exp * step
    return exp * 10


class UsageChart(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.bars: list[UsageBar] = []
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMouseTracking(True)
        self.setAccessibleName("Usage history chart")

    def set_usage(self, bars) -> None:
        self.bars = list(bars)
        if self.bars:
            total = sum((b.consumption for b in self.bars), Decimal(0))
            unit = self.bars[-1].unit
            self.setAccessibleDescription(f"{len(self.bars)} months, average "
                                          f"{total / len(self.bars):.1f} {unit}, latest "
                                          f"{self.bars[-1].consumption} {unit}")
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(420, 170)

    def _plot_rect(self) -> QRectF:
        return QRectF(40, 22, max(10, self.width() - 50), max(10, self.height() - 44))

    def _bar_rect(self, i: int, top: Decimal) -> QRectF:
        plot = self._plot_rect()
        n = max(1, len(self.bars))
        slot = plot.width() / n
        h = float(self.bars[i].consumption / top) * plot.height() if top else 0.0
        return QRectF(plot.left() + i * slot + slot * 0.15, plot.bottom() - h, slot * 0.7, h)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        p.setFont(small)
        plot = self._plot_rect()
        if not self.bars:
            p.setPen(_TEXT)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No usage history")
            p.end()
            return
        unit = self.bars[-1].unit
        top = _nice_max(max(b.consumption for b in self.bars))
        p.setPen(_TEXT)
        p.drawText(QRectF(0, 2, self.width(), 18), Qt.AlignmentFlag.AlignLeft,
                   f"  Usage, last {len(self.bars)} months ({unit})")
        for frac in (Decimal(0), Decimal("0.5"), Decimal(1)):
            y = plot.bottom() - float(frac) * plot.height()
            p.setPen(QPen(_GRID, 1))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(_TEXT)
            p.drawText(QRectF(0, y - 8, plot.left() - 4, 16), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       f"{(top * frac).normalize():f}")
        p.setPen(Qt.PenStyle.NoPen)
        for i in range(len(self.bars)):
            p.setBrush(_LATEST if i == len(self.bars) - 1 else _BAR)
            p.drawRect(self._bar_rect(i, top))
        p.setPen(_TEXT)
        slot = plot.width() / len(self.bars)
        for i, b in enumerate(self.bars):
            try:
                month = int(b.period[5:7])
            except ValueError:
                continue
            label = _MONTHS[month - 1] if 1 <= month <= 12 else "?"
            if month == 1 or i == 0:
                label = f"{label} '{b.period[2:4]}" if slot > 24 else label
            p.drawText(QRectF(plot.left() + i * slot - 10, plot.bottom() + 2, slot + 20, 16),
                       Qt.AlignmentFlag.AlignHCenter, label)
        p.end()

    def bar_at(self, x: float, y: float) -> int | None:
        if not self.bars:
            return None
        plot = self._plot_rect()
        if not plot.left() <= x <= plot.right():
            return None
        i = int((x - plot.left()) / (plot.width() / len(self.bars)))
        return i if 0 <= i < len(self.bars) else None

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        i = self.bar_at(event.position().x(), event.position().y())
        if i is None:
            QToolTip.hideText()
            return
        QToolTip.showText(event.globalPosition().toPoint(), self.tooltip_text(i), self)

    def tooltip_text(self, i: int) -> str:
        b = self.bars[i]
        try:
            month = dt.date(int(b.period[:4]), int(b.period[5:7]), 1).strftime("%B %Y")
        except ValueError:
            month = b.period
        billed = f", billed {format_money(b.billed)}" if b.billed is not None else ""
        return f"{month}: {b.consumption} {b.unit}{billed}"
