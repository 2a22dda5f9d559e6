"""SwipeCapture keeps a person's keys in the order they were typed.

Found by the Xvfb end-to-end test: a fast typist's "02A30180…" looks like a frame header, so
its characters are held until the frame times out (0.6 s) — and a non-character key typed
meanwhile (Ctrl+A, Backspace, End, Tab, F5) used to pass at once, ahead of the characters
typed before it. The held characters then landed after it: Ctrl+A, Ctrl+C copied nothing and
the replay overwrote the whole field; Tab moved the typed text into the next field. Such a key
now waits behind the held characters and is delivered in its place — after the replay, or
after the frame when the burst really was a card.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from console.devices.capture import CaptureSettings
from console.ui.swipe_capture import SwipeCapture
from tests.swipe_frames import FrameSpec, build_frame
from tests.ui.keys import FakeClock, send_keys

FAST = 0.040  # a fast typist: under the 55 ms burst gap
HEADER_LIKE = "02A30180"  # "02", a length that fits and a known encode type: a frame start


def press(window, clock: FakeClock, key: Qt.Key, mods=Qt.KeyboardModifier.NoModifier, text: str = "",
          gap: float = FAST) -> None:
    clock.t += gap
    QGuiApplication.sendEvent(window, QKeyEvent(QEvent.Type.KeyPress, key, mods, text))
    QGuiApplication.sendEvent(window, QKeyEvent(QEvent.Type.KeyRelease, key, mods, text))


def settle(capture: SwipeCapture, clock: FakeClock) -> None:
    clock.t += 1.0
    capture.poll()


class Form(QWidget):
    def __init__(self):
        super().__init__()
        self.first = QLineEdit()
        self.second = QLineEdit()
        lay = QVBoxLayout(self)
        lay.addWidget(self.first)
        lay.addWidget(self.second)


@pytest.fixture
def setup(qtbot, qapp):
    SwipeCapture.remove_installed(qapp)
    clock = FakeClock(2000.0)
    form = Form()
    qtbot.addWidget(form)
    form.show()
    qtbot.waitExposed(form)
    form.activateWindow()
    qtbot.waitUntil(form.isActiveWindow)
    form.first.setFocus()
    capture = SwipeCapture(qapp, CaptureSettings(), clock=clock)
    cards, failures = [], []
    capture.card_did_arrive.connect(cards.append)
    capture.swipe_did_fail.connect(failures.append)
    yield form, form.windowHandle(), clock, capture, cards, failures
    capture.remove()


def test_select_all_typed_after_a_header_like_burst_selects_what_was_typed_before_it(setup):
    form, window, clock, capture, cards, failures = setup
    send_keys(window, clock, HEADER_LIKE + " Pioneer", FAST)
    press(window, clock, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "\x01")
    send_keys(window, clock, "y", FAST)  # replaces the selection
    settle(capture, clock)
    assert form.first.text() == "y"
    assert (cards, failures) == ([], [])


def test_backspace_and_home_apply_where_they_were_typed(setup):
    form, window, clock, capture, cards, failures = setup
    send_keys(window, clock, HEADER_LIKE, FAST)
    press(window, clock, Qt.Key.Key_Backspace)
    press(window, clock, Qt.Key.Key_Home)
    send_keys(window, clock, "x", FAST)
    settle(capture, clock)
    assert form.first.text() == "x" + HEADER_LIKE[:-1]


def test_tab_keeps_the_typed_text_in_the_field_it_was_typed_into(setup):
    form, window, clock, capture, cards, failures = setup
    send_keys(window, clock, "0251000123", FAST)  # a phone-like number with a frame-like start
    press(window, clock, Qt.Key.Key_Tab)
    send_keys(window, clock, "next", 0.2)
    settle(capture, clock)
    assert (form.first.text(), form.second.text()) == ("0251000123", "next")


def test_a_key_pressed_during_a_real_swipe_comes_after_the_card(setup):
    """F5 pressed while the reader is still typing: the frame stays whole (never replayed into
    the field), the card is reported first, then the key is delivered."""
    form, window, clock, capture, cards, failures = setup
    frame = build_frame(FrameSpec(ksn="62994900000000F00011"))
    order = []
    capture.card_did_arrive.connect(lambda card: order.append("card"))
    form.first.textChanged.connect(lambda text: order.append(f"text:{text}"))
    half = len(frame) // 2
    send_keys(window, clock, frame[:half], 0.0012)
    press(window, clock, Qt.Key.Key_End, gap=0.0012)
    send_keys(window, clock, frame[half:], 0.0012)
    send_keys(window, clock, "z", 0.3)  # typed afterwards by the cashier
    settle(capture, clock)
    assert len(cards) == 1 and failures == []
    assert form.first.text() == "z"
    assert order[0] == "card"


def test_a_shortcut_pressed_during_a_swipe_fires_after_the_card_arrived(setup):
    """The counter's case: F5 (Authorize) pressed while the frame is still arriving must
    authorize with that card — not fire first and find no card."""
    from PySide6.QtGui import QKeySequence, QShortcut
    from PySide6.QtTest import QTest

    form, window, clock, capture, cards, failures = setup
    seen = []
    capture.card_did_arrive.connect(lambda card: seen.append("card"))
    shortcut = QShortcut(QKeySequence("F5"), form)
    shortcut.activated.connect(lambda: seen.append("F5"))
    frame = build_frame(FrameSpec(ksn="62994900000000F00012"))
    send_keys(window, clock, frame[:100], 0.0012)
    clock.t += 0.0012
    QTest.keyClick(window, Qt.Key.Key_F5)
    assert seen == []  # not yet: the frame is still arriving
    send_keys(window, clock, frame[100:], 0.0012)
    settle(capture, clock)
    assert seen == ["card", "F5"]
    assert form.first.text() == ""


def test_f5_with_nothing_held_fires_at_once(setup):
    from PySide6.QtGui import QKeySequence, QShortcut
    from PySide6.QtTest import QTest

    form, window, clock, capture, cards, failures = setup
    seen = []
    QShortcut(QKeySequence("F5"), form).activated.connect(lambda: seen.append("F5"))
    send_keys(window, clock, "hello", 0.2)
    settle(capture, clock)
    QTest.keyClick(window, Qt.Key.Key_F5)
    assert seen == ["F5"] and form.first.text() == "hello"


def test_a_shortcut_after_undecided_keys_fires_once_they_are_in_the_field(setup):
    from PySide6.QtGui import QKeySequence, QShortcut
    from PySide6.QtTest import QTest

    form, window, clock, capture, cards, failures = setup
    seen = []
    QShortcut(QKeySequence("F5"), form).activated.connect(lambda: seen.append(form.first.text()))
    send_keys(window, clock, "029", FAST)  # undecided: could still become a frame
    clock.t += FAST
    QTest.keyClick(window, Qt.Key.Key_F5)
    assert seen == ["029"]
