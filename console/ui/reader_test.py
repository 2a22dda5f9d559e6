"""Card reader test for the Diagnostics tab: swipe a card, see what the console sees.

Shows the frame's format, the masked fields a console may show, which checks passed (and the
one that failed), the reader state and the inter-key timing (min / median / max ms, with the
reader delay setting it suggests, and a warning when the slowest gap comes close to the burst
threshold). Above it, the reader settings in use (the profile's Settings › Card reader: preamble,
postamble, terminator, burst threshold, frame timeout, expected reader, how long KSNs are kept).
The widget keeps only the displayed masked text and drops the card (and its encrypted payload)
at once; the capture remembers the read's KSN (only that, with the reader serial and the time)
so the same read is refused if it comes again.

Embed: ``ReaderTestWidget(ctx)`` (``ctx`` may be None); it uses the application's
``SwipeCapture.install()`` (given the profile's reader settings) unless a ``capture`` is passed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.devices.capture import ERROR, LISTENING, RECEIVING
from console.ui.swipe_capture import ReadReport, SwipeCapture, apply_reader_profile

READER_DELAYS_MS = (1.2, 2, 5, 10, 20, 50)
CHECK_ORDER = ("STX", "length", "ETX", "LRC", "checksum")
_FAILED_AT = {
    "empty": "STX",
    "missing STX": "STX",
    "truncated": "length",
    "length mismatch": "length",
    "length field": "length",
    "missing ETX": "ETX",
    "LRC": "LRC",
    "checksum": "checksum",
}
_STATE_TEXT = {
    LISTENING: "Listening — swipe a card",
    RECEIVING: "Receiving…",
    ERROR: "Error — swipe again",
}
FIELDS = (
    ("result", "Result"),
    ("format", "Format"),
    ("rendering", "Rendering"),
    ("masked_pan", "Masked card number"),
    ("brand", "Brand"),
    ("name", "Name"),
    ("expiry", "Expiry (YYMM)"),
    ("serial", "Reader serial"),
    ("ksn", "KSN"),
    ("encryption", "Encryption"),
    ("checks", "Checks"),
    ("timing", "Inter-key timing"),
)


def checks_text(report: ReadReport) -> str:
    """Which checks passed, and the one that failed, in plain words."""
    if report.card is not None:
        over = "typed characters" if report.card.checks == "chars" else "decoded bytes"
        return f"All passed: {', '.join(CHECK_ORDER)} (LRC and checksum over {over})"
    failed = _FAILED_AT.get(report.check or "")
    if failed is None:
        if report.check in ("duplicate swipe", "reader serial", "postamble"):
            return f"Frame checks passed; refused: {report.check}"
        if report.check == "preamble":
            return "Failed: preamble (the frame was not checked further)"
        return f"Failed: {report.check}"
    passed = CHECK_ORDER[: CHECK_ORDER.index(failed)]
    return f"Failed: {report.check}" + (f" (passed: {', '.join(passed)})" if passed else "")


def timing_text(report: ReadReport, max_gap_ms: float | None = None) -> str:
    t = report.timing
    if t.chars < 2:
        return "—"
    nearest = min(READER_DELAYS_MS, key=lambda d: abs(d - t.median_ms))
    text = (f"min {t.min_ms:.1f} ms · median {t.median_ms:.1f} ms · max {t.max_ms:.1f} ms "
            f"over {t.chars} characters (reader delay ≈ {nearest:g} ms)")
    if max_gap_ms and t.max_ms > 0.8 * max_gap_ms:
        text += (f" — the slowest gap is close to the burst threshold ({max_gap_ms:g} ms): raise it in "
                 "Settings › Card reader or lower the reader's character delay")
    return text


class ReaderTestWidget(QWidget):
    def __init__(self, ctx=None, parent: QWidget | None = None, *, capture: SwipeCapture | None = None):
        super().__init__(parent)
        self.ctx = ctx
        if capture is None and ctx is not None:
            capture = apply_reader_profile(ctx.services)
        self.capture = capture or SwipeCapture.install()
        self.swipes = 0

        intro = QLabel("Swipe a card on the reader, with the cursor anywhere. The console shows what it "
                       "received. Only the KSN is kept (to refuse a replayed read); the encrypted data is discarded.")
        intro.setWordWrap(True)
        self.state_label = QLabel()
        self.state_label.setObjectName("readerState")
        self.clear_button = QPushButton("&Clear")
        self.clear_button.clicked.connect(self._on_clear_button_clicked)
        top = QHBoxLayout()
        top.addWidget(self.state_label, 1)
        top.addWidget(self.clear_button)

        box = QGroupBox("Last swipe")
        form = QFormLayout(box)
        self.values: dict[str, QLabel] = {}
        for key, label in FIELDS:
            value = QLabel("—")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
            value.setWordWrap(True)
            self.values[key] = value
            form.addRow(label + ":", value)

        settings_box = QGroupBox("Reader settings in use (Settings › Card reader)")
        settings_box.setObjectName("readerSettings")
        self.settings_form = QFormLayout(settings_box)
        self.settings_values: dict[str, QLabel] = {}
        self.show_settings()

        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(top)
        lay.addWidget(settings_box)
        lay.addWidget(box)
        lay.addStretch(1)

        self.capture.read_did_finish.connect(self._on_capture_read_did_finish)
        self.capture.state_did_change.connect(self._on_capture_state_did_change)
        self._on_capture_state_did_change(self.capture.state)

    def _on_capture_state_did_change(self, state: str) -> None:
        self.state_label.setText(f"Reader: {_STATE_TEXT.get(state, state)}")

    def _on_capture_read_did_finish(self, report: ReadReport) -> None:
        self.swipes += 1
        self.show_settings()
        card = report.card
        shown = dict.fromkeys(self.values, "—")
        if card is not None:
            shown.update({
                "result": "Card read",
                "format": card.format,
                "rendering": card.rendering + (" (Caps Lock was on)" if card.caps_lock else ""),
                "masked_pan": card.masked_pan or "— (keyed entry)",
                "brand": card.brand or "—",
                "name": card.name or "—",
                "expiry": card.expiry or "masked",
                "serial": card.serial or "—",
                "ksn": card.ksn,
                "encryption": card.encryption,
            })
        else:
            shown["result"] = f"Rejected — {report.error}"
        shown["checks"] = checks_text(report)
        shown["timing"] = timing_text(report, self.capture.reader_settings.max_gap_ms)
        expected = self.capture.reader_settings.expected_serial
        if card is not None and expected and card.serial == expected:
            shown["serial"] += " (the expected reader)"
        del card, report  # nothing kept: the payload goes nowhere from here
        for key, text in shown.items():
            self.values[key].setText(text)

    def settings_rows(self) -> list[tuple[str, str]]:
        rows = list(self.capture.reader_settings.summary())
        ksns = self.capture.ksns
        if ksns is not None:
            rows[-1] = ("Duplicate check", f"KSNs {ksns.describe()}")
        return rows

    def show_settings(self) -> None:
        """(Re)show the reader settings the capture uses now."""
        for label, value in self.settings_rows():
            if label not in self.settings_values:
                widget = QLabel()
                widget.setWordWrap(True)
                widget.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
                self.settings_values[label] = widget
                self.settings_form.addRow(label + ":", widget)
            self.settings_values[label].setText(value)

    def shown_settings(self) -> dict[str, str]:
        return {label: w.text() for label, w in self.settings_values.items()}

    def _on_clear_button_clicked(self) -> None:
        for value in self.values.values():
            value.setText("—")

    def shown(self) -> dict[str, str]:
        """The displayed values by field key (for tests and screenshots)."""
        return {key: label.text() for key, label in self.values.items()}
