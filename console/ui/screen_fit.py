"""Windows and dialogs that fit the screen they open on (usable at 1024×768).

``fit_to_screen`` sizes a window to what it would like, but never larger than the screen's
available area (less a margin for the window frame); ``ScreenFitter`` does the same for every
dialog the moment it is shown, so a dialog whose content asks for more than the screen has
(its minimum size included) still opens with its buttons on screen — its long content scrolls.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog, QWidget

FRAME_MARGIN = QSize(16, 48)  # window frame and title bar the window manager adds


def available_rect(widget: QWidget | None = None) -> QRect:
    """The available area (without task bars) of the screen ``widget`` is on, or the primary one.
    Tests replace this function with a 1024×768 stand-in."""
    screen = widget.screen() if widget is not None else None
    screen = screen or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1024, 768)


def usable_size(widget: QWidget | None = None) -> QSize:
    area = available_rect(widget).size()
    return QSize(max(320, area.width() - FRAME_MARGIN.width()), max(240, area.height() - FRAME_MARGIN.height()))


def fit_to_screen(widget: QWidget, width: int, height: int) -> None:
    """Resize ``widget`` to ``width``×``height`` or the usable screen, whichever is smaller;
    its minimum size is lowered when the screen is smaller still."""
    room = usable_size(widget)
    w, h = min(width, room.width()), min(height, room.height())
    minimum = widget.minimumSize()
    if minimum.width() > room.width() or minimum.height() > room.height():
        widget.setMinimumSize(min(minimum.width(), room.width()), min(minimum.height(), room.height()))
    widget.resize(w, h)


def clamp_to_screen(widget: QWidget) -> None:
    """Shrink and move a window so all of it (its frame too) is on the screen's available area."""
    room = usable_size(widget)
    size = widget.size()
    if size.width() > room.width() or size.height() > room.height():
        fit_to_screen(widget, size.width(), size.height())
    area = available_rect(widget)
    frame_w = FRAME_MARGIN.width() // 2
    frame_top = FRAME_MARGIN.height() - frame_w  # title bar above, a border below
    x = min(max(widget.x(), area.x()), area.x() + area.width() - widget.width() - frame_w)
    y = min(max(widget.y(), area.y() + frame_top), area.y() + area.height() - widget.height() - frame_w)
    if (x, y) != (widget.x(), widget.y()):
        widget.move(max(area.x(), x), max(area.y(), y))


class ScreenFitter(QObject):
    """Application-wide: every dialog is kept within the screen when it is shown."""

    def eventFilter(self, obj, e: QEvent) -> bool:  # noqa: N802 - Qt override
        if e.type() == QEvent.Type.Show and isinstance(obj, QDialog) and obj.isWindow():
            clamp_to_screen(obj)
        return False


def install_screen_fitter(app: QApplication | None = None) -> ScreenFitter:
    app = app or QApplication.instance()
    fitter = ScreenFitter(app)
    app.installEventFilter(fitter)
    return fitter
