"""The settings dialog's parts: one editor per declared setting (``FieldEditor``) and the
section list with its pages (``SectionPages``)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from console.config import (
    Setting,
)

log = logging.getLogger(__name__)

ERROR_STYLE = "color:#b91c1c;"


class FieldEditor:
    """One setting's editor widget, its error line and conversions to and from the profile."""

    def __init__(self, setting: Setting):
        self.setting = setting
        k = setting.kind
        self.line: QLineEdit | None = None
        if k == "bool":
            self.widget: QWidget = QCheckBox()
        elif k == "choice":
            combo = QComboBox()
            combo.addItems(list(setting.choices))
            self.widget = combo
        elif k == "int":
            spin = QSpinBox()
            spin.setRange(0, 1_000_000)
            spin.setMinimumWidth(110)
            self.widget = spin
        else:
            self.line = QLineEdit()
            if k == "money":
                self.line.setPlaceholderText("0.00")
                self.line.setMaximumWidth(140)
            elif k == "url":
                self.line.setPlaceholderText("https://")
            elif k == "list":
                self.line.setPlaceholderText("comma-separated")
            self.widget = self.line
        self.widget.setObjectName(f"field-{setting.name}")
        self.widget.setToolTip(setting.help or setting.label)
        self.container = QWidget()
        lay = QVBoxLayout(self.container)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        row = QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(self.widget, 1 if k not in ("bool", "int", "money") else 0)
        if k == "path":
            browse = QPushButton("Browse…")
            browse.setAutoDefault(False)
            browse.clicked.connect(self._on_browse_clicked)
            row.addWidget(browse)
            self.browse = browse
        if k in ("bool", "int", "money", "choice"):
            row.addStretch(1)
        lay.addLayout(row)
        self.help_label = QLabel(setting.help)
        self.help_label.setStyleSheet("color:palette(placeholder-text);")
        self.help_label.setWordWrap(True)
        self.help_label.setVisible(bool(setting.help) and k != "bool")
        lay.addWidget(self.help_label)
        self.error_label = QLabel()
        self.error_label.setObjectName(f"error-{setting.name}")
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        lay.addWidget(self.error_label)
        if k == "bool":
            self.widget.setText(setting.help or "")

    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.container, self.setting.label)
        if path and self.line is not None:
            self.line.setText(path)

    def set_value(self, value: Any) -> None:
        w, k = self.widget, self.setting.kind
        if k == "bool":
            w.setChecked(bool(value))
        elif k == "choice":
            i = w.findText(str(value))
            w.setCurrentIndex(max(i, 0))
        elif k == "int":
            w.setValue(int(value or 0))
        elif k == "list":
            self.line.setText(", ".join(str(v) for v in (value or [])))
        elif k == "money":
            self.line.setText(f"{Decimal(str(value)):.2f}" if value not in (None, "") else "")
        else:
            self.line.setText("" if value is None else str(value))

    def raw(self) -> Any:
        w, k = self.widget, self.setting.kind
        if k == "bool":
            return w.isChecked()
        if k == "choice":
            return w.currentText()
        if k == "int":
            return w.value()
        return self.line.text()

    def changed_signal(self):
        w, k = self.widget, self.setting.kind
        if k == "bool":
            return w.toggled
        if k == "choice":
            return w.currentIndexChanged
        if k == "int":
            return w.valueChanged
        return self.line.textChanged

    def set_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def set_read_only(self, read_only: bool) -> None:
        if self.line is not None:
            self.line.setReadOnly(read_only)
            self.line.style().unpolish(self.line)  # re-apply the read-only look
            self.line.style().polish(self.line)
        else:
            self.widget.setEnabled(not read_only)
        if getattr(self, "browse", None) is not None:
            self.browse.setEnabled(not read_only)


class SectionPages(QWidget):
    """A section list on the left and its page on the right (tab-widget-like API)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setObjectName("settings-sections")
        self.list.setFixedWidth(170)
        self.stack = QStackedWidget()
        lay.addWidget(self.list)
        lay.addWidget(self.stack, 1)
        self.list.currentRowChanged.connect(self.stack.setCurrentIndex)

    def addTab(self, widget: QWidget, title: str) -> int:  # noqa: N802 - mirrors QTabWidget
        self.stack.addWidget(widget)
        self.list.addItem(title)
        if self.list.currentRow() < 0:
            self.list.setCurrentRow(0)
        return self.stack.count() - 1

    def count(self) -> int:
        return self.stack.count()

    def tabText(self, index: int) -> str:  # noqa: N802
        return self.list.item(index).text()

    def setTabText(self, index: int, text: str) -> None:  # noqa: N802
        item = self.list.item(index)
        item.setText(text)
        item.setForeground(QColor("#b91c1c") if text.endswith("⚠") else self.list.palette().text().color())

    def setCurrentIndex(self, index: int) -> None:  # noqa: N802
        self.list.setCurrentRow(index)

    def currentIndex(self) -> int:  # noqa: N802
        return self.list.currentRow()
