"""Help › Training cards (sandbox / training profile only): the sandbox's test rules and cards
a trainee can "swipe" — the page types an approvable reader frame into the console, through
the same keyboard path a SREDKey takes (``SwipeCapture``), so the Counter tab takes it as a
real read. Each swipe gets a new KSN, like a reader."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.sandbox.test_cards import TEST_RULES, build_frame, training_cards


def type_frame(window: QWidget, frame: str) -> None:
    """Key press/release events for every character of ``frame`` and the Enter a reader types
    after it, to ``window``'s QWindow (where the application's ``SwipeCapture`` reads them)."""
    handle = window.windowHandle()
    if handle is None:
        return
    for ch in frame + "\r":
        key = int(Qt.Key.Key_Return) if ch == "\r" else ord(ch.upper())
        mods = Qt.KeyboardModifier.ShiftModifier if (ch.isupper() or ch in "%^?*") else Qt.KeyboardModifier.NoModifier
        QGuiApplication.sendEvent(handle, QKeyEvent(QEvent.Type.KeyPress, key, mods, ch))
        QGuiApplication.sendEvent(handle, QKeyEvent(QEvent.Type.KeyRelease, key, mods, ch))


class TrainingCardsDialog(QDialog):
    def __init__(self, ctx, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.target = parent
        self.setObjectName("training-cards")
        self.setWindowTitle("TRAINING — Training cards")
        lay = QVBoxLayout(self)
        intro = QLabel(
            "Test cards for the sandbox: open <b>Counter Payments</b>, choose an account and an amount "
            "(its cents choose what the sandbox answers), pay by card, then press <b>Swipe</b>. "
            "The console receives the read exactly as from the card reader.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        lay.addWidget(self._rules_table())
        row = QHBoxLayout()
        self.card_combo = QComboBox()
        self.card_combo.setObjectName("training-card")
        self.cards = training_cards()
        for c in self.cards:
            self.card_combo.addItem(f"{c.brand}  {c.masked_pan}  exp {c.expiry[2:]}/{c.expiry[:2]}")
        self.swipe_button = QPushButton("&Swipe into the console")
        self.swipe_button.setObjectName("training-swipe")
        self.swipe_button.clicked.connect(self.swipe)
        row.addWidget(QLabel("Card:"))
        row.addWidget(self.card_combo, 1)
        row.addWidget(self.swipe_button)
        lay.addLayout(row)
        self.note = QLabel()
        self.note.setObjectName("training-note")
        self.note.setWordWrap(True)
        lay.addWidget(self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        if not ctx.training:  # production: no test cards, ever
            self.swipe_button.setEnabled(False)
            self.card_combo.setEnabled(False)
            self.note.setText("Training cards work only in the sandbox (training) profile.")

    def _rules_table(self) -> QTableWidget:
        table = QTableWidget(len(TEST_RULES), 2)
        table.setObjectName("training-rules")
        table.setHorizontalHeaderLabels(["Amount's cents", "What the sandbox does"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, (cents, outcome) in enumerate(TEST_RULES):
            table.setItem(r, 0, QTableWidgetItem(cents))
            table.setItem(r, 1, QTableWidgetItem(outcome))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        table.setWordWrap(True)
        return table

    def swipe(self) -> str:
        """Type a new read of the chosen card into the main window; returns the frame's KSN."""
        if not self.ctx.training or self.target is None:
            return ""
        card = self.cards[self.card_combo.currentIndex()]
        from console.sandbox.test_cards import new_ksn

        ksn = new_ksn()
        self.target.activateWindow()
        type_frame(self.target, build_frame(card, ksn))
        self.note.setText(f"Swiped {card.brand} {card.masked_pan} (KSN …{ksn[-6:]}). "
                          "The Counter tab shows the card read.")
        return ksn
