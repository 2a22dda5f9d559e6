"""Help: the operator documentation (``docs/*.md``) rendered in a window, opened by F1 at the
topic of the current tab. Qt renders the Markdown itself (``QTextBrowser.setMarkdown``);
links between the documents open in the same window.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QDialog, QHBoxLayout, QListWidget, QListWidgetItem, QTextBrowser, QWidget

from console.paths import DOCS
from console.ui.screen_fit import fit_to_screen

#: Help topics in the order the window lists them: (title, file under docs/).
TOPICS: list[tuple[str, str]] = [
    ("Counter payments", "counter.md"),
    ("Training cards (sandbox)", "sandbox-gateway.md"),
    ("Posting", "posting.md"),
    ("Invoice import", "invoices.md"),
    ("Lockbox", "lockbox.md"),
    ("File transfer", "transfer.md"),
    ("Bill images and templates", "bill-templates.md"),
    ("Account sync", "account-sync.md"),
    ("File layouts", "layouts.md"),
    ("Diagnostics", "diagnostics.md"),
]

#: The help topic of each main-window tab (F1 opens it).
TAB_TOPICS: dict[str, str] = {
    "Counter Payments": "counter.md",
    "Posting": "posting.md",
    "Invoice Import": "invoices.md",
    "Lockbox": "lockbox.md",
    "Bill Images": "bill-templates.md",
    "Diagnostics": "diagnostics.md",
}


def topic_for_tab(tab_title: str) -> str:
    return TAB_TOPICS.get(tab_title, "counter.md")


class HelpWindow(QDialog):
    """A non-modal window: topics on the left, the rendered document on the right."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("help-window")
        self.setWindowTitle("Help — Biller Console")
        self.setModal(False)
        lay = QHBoxLayout(self)
        self.topics = QListWidget()
        self.topics.setObjectName("help-topics")
        self.topics.setMaximumWidth(220)
        for title, name in TOPICS:
            item = QListWidgetItem(title)
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.topics.addItem(item)
        self.browser = QTextBrowser()
        self.browser.setObjectName("help-text")
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._on_browser_anchor_clicked)
        lay.addWidget(self.topics)
        lay.addWidget(self.browser, 1)
        self.topics.currentItemChanged.connect(self._on_topics_current_item_changed)
        self.current_topic = ""
        fit_to_screen(self, 980, 700)

    def show_topic(self, name: str) -> None:
        """Render ``docs/<name>`` and select it in the list."""
        for i in range(self.topics.count()):
            if self.topics.item(i).data(Qt.ItemDataRole.UserRole) == name:
                self.topics.setCurrentRow(i)  # renders through _on_topics_current_item_changed
                return
        self._render(name)

    def _render(self, name: str) -> None:
        path = DOCS / name
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            text = f"# Help not found\n\nThe help file `{name}` is not installed with this copy of the console."
        self.current_topic = name
        self.browser.setMarkdown(text)
        self.browser.verticalScrollBar().setValue(0)

    def _on_topics_current_item_changed(self, item: QListWidgetItem | None, _previous) -> None:
        if item is not None:
            self._render(item.data(Qt.ItemDataRole.UserRole))

    def _on_browser_anchor_clicked(self, url: QUrl) -> None:
        name = url.fileName()
        if url.isRelative() and name.endswith(".md"):
            self.show_topic(name)
        else:
            from PySide6.QtGui import QDesktopServices

            QDesktopServices.openUrl(url)
