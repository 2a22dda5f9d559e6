"""A one-line label that shortens its text with "…" instead of widening the window."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """``text()`` is the whole text; what is painted is shortened to the label's width, and the
    whole text is then the tooltip (unless a tooltip was set on purpose)."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *, minimum_width: int = 80,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle, fit_text: bool = False):
        super().__init__(parent)
        self._full = ""
        self._fit_text = fit_text  # never wider than the whole text (stays next to what follows it)
        self._mode = mode
        self._own_tip = ""
        # fit_text: the whole text when there is room, down to minimum_width when there is not;
        # else the label takes the width its layout gives it
        policy = QSizePolicy.Policy.Preferred if fit_text else QSizePolicy.Policy.Ignored
        self.setSizePolicy(policy, QSizePolicy.Policy.Preferred)
        self._minimum_width = minimum_width
        self.setMinimumWidth(minimum_width)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        self._full = text
        self._elide()

    def text(self) -> str:
        return self._full

    def setToolTip(self, tip: str) -> None:  # noqa: N802 - Qt override
        self._own_tip = tip
        self._elide()

    def is_elided(self) -> bool:
        return super().text() != self._full

    def sizeHint(self):  # noqa: N802 - Qt override: ask for the whole text, accept less
        hint = super().sizeHint()
        hint.setWidth(self.fontMetrics().horizontalAdvance(self._full) + 4)
        return hint

    def minimumSizeHint(self):  # noqa: N802 - Qt override: a QLabel would insist on its whole text
        hint = super().minimumSizeHint()
        hint.setWidth(self._minimum_width)
        return hint

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        if self._fit_text:  # measured here: the font is only final once the label is shown
            m = self.contentsMargins()
            wanted = max(self._minimum_width, self.fontMetrics().horizontalAdvance(self._full) + m.left() + m.right() + 4)
            if self.maximumWidth() != wanted:
                self.setMaximumWidth(wanted)
        width = self.contentsRect().width() if self.isVisible() else 10_000
        shown = self.fontMetrics().elidedText(self._full, self._mode, max(width, 1))
        super().setText(shown)
        tip = "\n".join(t for t in (self._full if shown != self._full else "", self._own_tip) if t)
        super().setToolTip(tip)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._elide()

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._elide()
