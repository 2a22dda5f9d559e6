"""SwipeCapture with real key events delivered to the QWindow (the route a keyboard takes).

Keys are sent to the window (``QGuiApplication.sendEvent(window, QKeyEvent)`` and
``QTest.keyClick(window, …)``), never with ``qtbot.keyClicks`` on the widget, which would
skip the window and so skip the route the filter watches. Time comes from a fake clock.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QPlainTextEdit, QPushButton, QTabWidget, QVBoxLayout, QWidget

from console.devices.capture import CaptureSettings
from console.ui.swipe_capture import SwipeCapture
from tests.data_files import idtech_samples
from tests.swipe_frames import FrameSpec, build_frame

SAMPLES = idtech_samples()
V1 = SAMPLES[0]["frame"]


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _key_for(ch: str) -> int:
    if ch == "\r":
        return int(Qt.Key.Key_Return)
    return ord(ch.upper())


def send_text(window, clock: FakeClock, text: str, gap: float | list[float]) -> None:
    """Real key press/release events to the QWindow, ``gap`` seconds apart on the fake clock."""
    for i, ch in enumerate(text):
        clock.t += gap[i] if isinstance(gap, list) else gap
        mods = Qt.KeyboardModifier.ShiftModifier if (ch.isupper() or ch in "%^?*") else Qt.KeyboardModifier.NoModifier
        if mods:
            QGuiApplication.sendEvent(window, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Shift, mods))
        QGuiApplication.sendEvent(window, QKeyEvent(QEvent.Type.KeyPress, _key_for(ch), mods, ch))
        QGuiApplication.sendEvent(window, QKeyEvent(QEvent.Type.KeyRelease, _key_for(ch), mods, ch))
        if mods:
            QGuiApplication.sendEvent(window, QKeyEvent(QEvent.Type.KeyRelease, Qt.Key.Key_Shift,
                                                        Qt.KeyboardModifier.NoModifier))


class Form(QWidget):
    def __init__(self):
        super().__init__()
        self.tabs = QTabWidget()
        first = QWidget()
        self.line = QLineEdit()
        self.button = QPushButton("Pay")
        lay = QVBoxLayout(first)
        lay.addWidget(self.line)
        lay.addWidget(self.button)
        self.notes = QPlainTextEdit()
        self.tabs.addTab(first, "Counter")
        self.tabs.addTab(self.notes, "Notes")
        QVBoxLayout(self).addWidget(self.tabs)


@pytest.fixture(autouse=True)
def no_app_wide_capture(qapp):
    """Another test's app-wide capture (e.g. a Diagnostics tab's reader test) must not interfere."""
    SwipeCapture.remove_installed(qapp)
    yield


@pytest.fixture
def setup(qtbot, qapp):
    clock = FakeClock()
    form = Form()
    qtbot.addWidget(form)
    form.show()
    qtbot.waitExposed(form)
    form.line.setFocus()
    capture = SwipeCapture(qapp, CaptureSettings(), clock=clock)
    cards, failures, states, reports = [], [], [], []
    capture.card_did_arrive.connect(cards.append)
    capture.swipe_did_fail.connect(failures.append)
    capture.state_did_change.connect(states.append)
    capture.read_did_finish.connect(reports.append)
    QGuiApplication.clipboard().clear()
    yield form, form.windowHandle(), clock, capture, (cards, failures, states, reports)
    capture.remove()


def _finish(capture: SwipeCapture, clock: FakeClock) -> None:
    clock.t += 1.0
    capture.poll()


def test_frame_at_reader_speed_is_captured_and_the_field_stays_empty(setup):
    form, window, clock, capture, (cards, failures, states, reports) = setup
    form.line.setText("")
    send_text(window, clock, V1 + "\r", 0.0012)
    _finish(capture, clock)
    assert form.line.text() == ""
    assert not form.line.isUndoAvailable()
    assert [c.masked_pan for c in cards] == ["4124********9990"]
    assert cards[0].payload is not None and cards[0].payload.frame == V1  # for the gateway only
    assert failures == []
    assert states == ["receiving", "listening"]
    assert reports[0].timing.median_ms == pytest.approx(1.2, abs=0.01)


def test_human_typing_containing_02_lands_in_the_field(setup):
    form, window, clock, capture, (cards, failures, states, _) = setup
    text = "Paid 02 of 1020, acct 0280-1F"
    gaps = [0.060 + (i * 37 % 91) / 1000 for i in range(len(text))]  # 60–150 ms
    send_text(window, clock, text, gaps)
    _finish(capture, clock)
    assert form.line.text() == text
    assert cards == [] and failures == [] and "receiving" not in states


def test_qtest_key_clicks_on_the_window_are_replayed(setup):
    form, window, clock, capture, (cards, *_rest) = setup
    for ch in "0205":
        clock.t += 0.1
        QTest.keyClick(window, ch)
    _finish(capture, clock)
    assert form.line.text() == "0205"
    assert cards == []


def test_works_whichever_widget_has_focus(setup):
    form, window, clock, capture, (cards, failures, *_r) = setup
    form.tabs.setCurrentIndex(1)
    form.notes.setFocus()
    send_text(window, clock, "ok ", 0.1)
    frame = build_frame(FrameSpec(ksn="62994900000000A00077", name="DOE/JANE"))
    send_text(window, clock, frame + "\r", 0.0012)
    send_text(window, clock, "done", 0.09)
    _finish(capture, clock)
    assert form.notes.toPlainText() == "ok done"
    assert [c.name for c in cards] == ["DOE/JANE"]
    form.button.setFocus()
    send_text(window, clock, build_frame(FrameSpec(ksn="62994900000000A00078")), 0.0012)
    _finish(capture, clock)
    assert len(cards) == 2


def test_failed_frame_is_swallowed_and_reported(setup):
    form, window, clock, capture, (cards, failures, states, reports) = setup
    send_text(window, clock, V1[1:] + "\r", 0.0012)
    _finish(capture, clock)
    assert form.line.text() == ""
    assert cards == [] and len(failures) == 1 and "missing STX" in failures[0]
    assert "error" in states
    assert reports[0].check == "missing STX"


def test_clear_track_reader_is_refused_and_nothing_lands(setup):
    form, window, clock, capture, (cards, failures, *_r) = setup
    send_text(window, clock, "%B4111111111111111^SMITH/JOHN^2412101000?\r", 0.0012)
    _finish(capture, clock)
    assert form.line.text() == ""
    assert cards == [] and "not encrypting" in failures[0] and "4111" not in failures[0]


def test_caps_lock_frame(setup):
    form, window, clock, capture, (cards, *_r) = setup
    send_text(window, clock, V1.swapcase(), 0.0012)
    _finish(capture, clock)
    assert form.line.text() == "" and cards[0].name == "TEST/BLUEFIN"


def test_duplicate_swipe(setup):
    form, window, clock, capture, (cards, failures, *_r) = setup
    send_text(window, clock, V1 + "\r", 0.0012)
    clock.t += 2
    send_text(window, clock, V1 + "\r", 0.0012)
    _finish(capture, clock)
    assert len(cards) == 1 and "duplicate swipe" in failures[0]
    assert form.line.text() == ""


def test_pci_no_raw_frame_in_widgets_undo_or_clipboard(setup, qapp):
    form, window, clock, capture, (cards, *_r) = setup
    send_text(window, clock, "12.50", 0.1)
    send_text(window, clock, V1 + "\r", 0.0012)
    form.notes.setFocus()
    clock.t += 1.5
    send_text(window, clock, SAMPLES[2]["frame"] + "\r", 0.002)
    _finish(capture, clock)
    assert len(cards) == 2
    assert form.line.text() == "12.50"
    # Undo history holds only what the person typed.
    form.line.undo()
    assert form.line.text() == ""
    assert not form.notes.document().isUndoAvailable()
    assert QGuiApplication.clipboard().text() == ""
    # The encrypted tracks (KSN, serial and masked tracks may be shown; the frame may not).
    fragments = [V1[i:i + 12] for i in range(110, 290, 12)]
    for widget in qapp.allWidgets():
        for getter in ("text", "toPlainText", "placeholderText", "windowTitle", "toolTip"):
            value = getattr(widget, getter, None)
            if callable(value):
                try:
                    shown = value()
                except TypeError:
                    continue
                if isinstance(shown, str):
                    assert not any(f in shown for f in fragments), (widget, getter)


def test_disabled_capture_lets_everything_through(setup):
    form, window, clock, capture, _ = setup
    capture.set_enabled(False)
    send_text(window, clock, "0200", 0.001)
    assert form.line.text() == "0200"


def test_real_clock_and_timer_replay_a_held_key(qtbot, qapp):
    form = Form()
    qtbot.addWidget(form)
    form.show()
    qtbot.waitExposed(form)
    form.line.setFocus()
    capture = SwipeCapture(qapp)  # time.monotonic and the idle timer, as in the app
    try:
        QTest.keyClick(form.windowHandle(), "0")
        assert form.line.text() == ""  # held: it could be the start of a frame
        qtbot.waitUntil(lambda: form.line.text() == "0", timeout=2000)
        assert capture.state == "listening"
    finally:
        capture.remove()


# ---- another keyboard layout: the reader types US key codes; the OS gives other characters

_GERMAN = str.maketrans({"y": "z", "z": "y", "Y": "Z", "Z": "Y", "^": "&", "/": "-", ";": "ö",
                         "?": "_", "*": "(", "=": "'", "%": "%", "&": "/"})


def _us_keycode(ch: str) -> tuple[int, bool]:
    from console.devices import keymap

    for code, (plain, shifted) in keymap.X11.items():
        if ch == plain:
            return code, False
        if ch == shifted:
            return code, True
    raise KeyError(ch)


def send_physical(window, clock: FakeClock, text: str, gap: float) -> None:
    """Key events as a US-coded reader produces them under a German layout."""
    for ch in text:
        clock.t += gap
        code, shift = _us_keycode(ch)
        shown = ch.translate(_GERMAN)
        mods = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
        for etype in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QGuiApplication.sendEvent(window, QKeyEvent(etype, _key_for(shown), mods, code, 0, 0, shown))


def test_reader_on_a_german_layout_is_read_by_physical_keys(qtbot, qapp):
    form = Form()
    qtbot.addWidget(form)
    form.show()
    qtbot.waitExposed(form)
    form.line.setFocus()
    clock = FakeClock()
    capture = SwipeCapture(qapp, clock=clock, physical_keys="x11")
    cards = []
    capture.card_did_arrive.connect(cards.append)
    try:
        frame = build_frame(FrameSpec(name="MEYER/ZOE Y", ksn="62994900000000A00321"))
        assert frame.translate(_GERMAN) != frame
        send_physical(form.windowHandle(), clock, frame + "\r", 0.0012)
        send_physical(form.windowHandle(), clock, "zy/", 0.1)  # a person: their layout kept
        clock.t += 1
        capture.poll()
        assert [c.name for c in cards] == ["MEYER/ZOE Y"]
        assert form.line.text() == "yz-"
    finally:
        capture.remove()


def test_mid_burst_plain_keys_are_claimed_from_single_key_shortcuts(setup):
    form, window, clock, capture, _ = setup
    form.button.setFocus()  # a button does not claim plain keys itself (a line edit would)

    def override_accepted(ch: str) -> bool:
        ev = QKeyEvent(QEvent.Type.ShortcutOverride, _key_for(ch), Qt.KeyboardModifier.NoModifier, ch)
        ev.ignore()
        QGuiApplication.sendEvent(form.button, ev)
        return ev.isAccepted()

    assert not override_accepted("5")  # idle: shortcuts work as usual
    send_text(window, clock, "029", 0.0012)  # a frame is starting
    assert override_accepted("5")  # ... so "5" goes to the capture, not to a shortcut
    ctrl = QKeyEvent(QEvent.Type.ShortcutOverride, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier, "s")
    ctrl.ignore()
    QGuiApplication.sendEvent(form.button, ctrl)
    assert not ctrl.isAccepted()  # Ctrl+S is never a reader character
    _finish(capture, clock)
    assert not override_accepted("5")


def test_repeated_characters_flagged_as_auto_repeat_are_still_frame_characters(setup):
    """Qt (xcb) flags a release+press of one key in the same millisecond as auto-repeat: a
    reader typing "0000" or "****" gets that flag, so it must not make the keys pass."""
    form, window, clock, capture, (cards, failures, *_r) = setup
    previous = ""
    for ch in V1 + "\r":
        clock.t += 0.0012
        QGuiApplication.sendEvent(window, QKeyEvent(QEvent.Type.KeyPress, _key_for(ch),
                                                    Qt.KeyboardModifier.NoModifier, ch, ch == previous))
        previous = ch
    _finish(capture, clock)
    assert form.line.text() == ""
    assert [c.last4 for c in cards] == ["9990"] and failures == []


def test_a_person_s_key_release_is_not_eaten_by_a_stale_count(setup):
    form, window, clock, capture, (cards, *_r) = setup
    for ch in V1:  # presses only: the releases never come
        clock.t += 0.0012
        QGuiApplication.sendEvent(window, QKeyEvent(QEvent.Type.KeyPress, _key_for(ch),
                                                    Qt.KeyboardModifier.NoModifier, ch))
    _finish(capture, clock)
    assert len(cards) == 1
    clock.t += 2
    release = QKeyEvent(QEvent.Type.KeyRelease, _key_for("0"), Qt.KeyboardModifier.NoModifier, "0")
    assert capture.eventFilter(window, release) is False
