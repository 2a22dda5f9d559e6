"""Reader settings in the UI: the settings dialog's Card reader page (generated from FIELDS), the
reader test showing the settings in use, a replay refused after a restart of the capture, and
control-character ambles typed as Ctrl+letter."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QLabel, QLineEdit, QSpinBox, QVBoxLayout, QWidget

from console.app import build_services
from console.config import FIELDS, Profile, ProfileStore
from console.devices.reader_config import ReaderSettings
from console.paths import Paths
from console.secrets import MemoryBackend, SecretStore
from console.ui.context import UiContext
from console.ui.reader_test import ReaderTestWidget
from console.ui.settings_dialog import SettingsDialog
from console.ui.swipe_capture import SwipeCapture, apply_reader_profile
from tests.data_files import idtech_samples
from tests.profiles import SUPERVISOR, VALID
from tests.swipe_frames import FrameSpec, build_frame
from tests.ui.test_swipe_capture_qt import FakeClock, send_text

SAMPLES = idtech_samples()
READER = [s for s in FIELDS if s.section == "reader"]


@pytest.fixture(autouse=True)
def no_app_wide_capture(qapp):
    SwipeCapture.remove_installed(qapp)
    yield
    SwipeCapture.remove_installed(qapp)


def _services(**reader_values):
    ProfileStore(Paths.default().ensure()).save(
        Profile("cityhall", values={**VALID, **reader_values}, operators=(SUPERVISOR,)))
    return build_services("cityhall", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})


def test_settings_dialog_has_a_reader_page_with_every_reader_setting(qtbot):
    backend = MemoryBackend()
    services = _services(reader_preamble="\\x02#", reader_max_gap_ms=40, reader_expected_serial="T134000064")
    dlg = SettingsDialog(UiContext(services, SUPERVISOR), secret_store_factory=lambda n: SecretStore(n, backend=backend))
    qtbot.addWidget(dlg)
    pages = [dlg.pages.tabText(i) for i in range(dlg.pages.count())]
    assert "Card reader" in pages and "Reader" not in pages  # the page's title says what it is
    assert len(READER) == 7
    for s in READER:
        editor = dlg.editors[s.name]
        assert editor.widget.objectName() == f"field-{s.name}"
        assert editor.widget.toolTip() == s.help
    assert dlg.findChild(QLineEdit, "field-reader_preamble").text() == "\\x02#"
    assert dlg.findChild(QSpinBox, "field-reader_max_gap_ms").value() == 40
    assert dlg.editors["reader_terminator"].widget.currentText() == "enter"
    assert dlg.save_button.isEnabled()
    # a bad escape and an out-of-range threshold are shown next to their fields and block saving
    dlg.findChild(QLineEdit, "field-reader_preamble").setText("\\q")
    dlg.findChild(QSpinBox, "field-reader_max_gap_ms").setValue(400)
    pre_err = dlg.findChild(QLabel, "error-reader_preamble")
    gap_err = dlg.findChild(QLabel, "error-reader_max_gap_ms")
    assert "escape" in pre_err.text() and not pre_err.isHidden()
    assert "between 5 and 250" in gap_err.text() and not gap_err.isHidden()
    assert not dlg.save_button.isEnabled()
    assert "2 settings need attention" in dlg.summary.text()  # never "setting(s)"
    assert "Card reader ⚠" in [dlg.pages.tabText(i) for i in range(dlg.pages.count())]
    dlg.findChild(QLineEdit, "field-reader_preamble").setText("\\x02")
    dlg.findChild(QSpinBox, "field-reader_max_gap_ms").setValue(55)
    assert pre_err.isHidden() and gap_err.isHidden() and dlg.save_button.isEnabled()


def test_reader_test_shows_the_profiles_reader_settings(qtbot, qapp):
    services = _services(reader_preamble="#", reader_terminator="none", reader_expected_serial="T134000064",
                         reader_ksn_days=45)
    w = ReaderTestWidget(UiContext(services, SUPERVISOR))
    qtbot.addWidget(w)
    shown = w.shown_settings()
    assert shown["Preamble"] == '"#"' and shown["Postamble"] == "none" and shown["Terminator"] == "none"
    assert shown["Burst threshold"] == "55 ms between characters" and shown["Frame timeout"] == "600 ms"
    assert shown["Expected reader"] == "T134000064"
    assert shown["Duplicate check"] == "KSNs kept 45 days, also after a restart"
    assert w.capture is SwipeCapture.install()
    assert w.capture.ksn_store_path == services.paths.data_dir / "reader_ksns.sqlite3"
    assert apply_reader_profile(services) is w.capture  # again: nothing changes, same store
    assert w.capture.ksn_store_path == services.paths.data_dir / "reader_ksns.sqlite3"


def _widget(qtbot, qapp, reader: ReaderSettings, data_dir):
    clock = FakeClock()
    capture = SwipeCapture(qapp, clock=clock)
    capture.apply_reader_settings(reader, data_dir)
    w = ReaderTestWidget(None, capture=capture)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.clear_button.setFocus()
    return w, clock, capture


def _swipe(w, clock, capture, text):
    send_text(w.windowHandle(), clock, text, 0.0012)
    clock.t += 1
    capture.poll()
    return w.shown()


def test_a_replay_is_refused_after_the_capture_restarts(qtbot, qapp, tmp_path):
    reader = ReaderSettings(preamble="#")
    frame = "#" + SAMPLES[0]["frame"] + "\r"
    w, clock, capture = _widget(qtbot, qapp, reader, tmp_path)
    assert _swipe(w, clock, capture, frame)["result"] == "Card read"
    assert "Failed: preamble" in _swipe(w, clock, capture, SAMPLES[1]["frame"] + "\r")["checks"]
    capture.remove()  # the console quits …
    w2, clock2, capture2 = _widget(qtbot, qapp, reader, tmp_path)  # … and starts again
    shown = _swipe(w2, clock2, capture2, frame)
    assert shown["result"].startswith("Rejected — Card read rejected: duplicate swipe")
    assert shown["checks"] == "Frame checks passed; refused: duplicate swipe"
    capture2.remove()


def test_the_expected_reader_is_marked_and_another_refused(qtbot, qapp, tmp_path):
    w, clock, capture = _widget(qtbot, qapp, ReaderSettings(expected_serial="T134000064"), tmp_path)
    assert _swipe(w, clock, capture, SAMPLES[0]["frame"] + "\r")["serial"] == "T134000064 (the expected reader)"
    capture.apply_reader_settings(ReaderSettings(expected_serial="T000000001"), tmp_path)
    assert w.shown_settings()["Expected reader"] == "T134000064"  # shown again at the next read
    shown = _swipe(w, clock, capture, build_frame(FrameSpec(ksn="62994900000000D00001")) + "\r")
    assert "read by reader T134000064, not by the counter's reader T000000001" in shown["result"]
    assert w.shown_settings()["Expected reader"] == "T000000001"
    capture.remove()


def _ctrl(window, clock, letter: str) -> None:
    clock.t += 0.0012
    key = getattr(Qt.Key, f"Key_{letter}")
    char = chr(ord(letter) - 64)
    QGuiApplication.sendEvent(window, QKeyEvent(QEvent.Type.KeyPress, key, Qt.KeyboardModifier.ControlModifier, char))
    QGuiApplication.sendEvent(window, QKeyEvent(QEvent.Type.KeyRelease, key, Qt.KeyboardModifier.ControlModifier,
                                                char))


def test_control_character_ambles_typed_as_ctrl_letter_are_read(qtbot, qapp, tmp_path):
    """STX preamble (Ctrl+B) and ETX postamble (Ctrl+C): read as the frame's ambles, nothing
    reaches the focused field."""
    clock = FakeClock()
    capture = SwipeCapture(qapp, clock=clock)
    capture.apply_reader_settings(ReaderSettings(preamble="\x02", postamble="\x03"), tmp_path)
    cards = []
    capture.card_did_arrive.connect(cards.append)
    form = QWidget()
    line = QLineEdit()
    QVBoxLayout(form).addWidget(line)
    qtbot.addWidget(form)
    form.show()
    qtbot.waitExposed(form)
    line.setFocus()
    window = form.windowHandle()
    _ctrl(window, clock, "B")
    send_text(window, clock, SAMPLES[0]["frame"], 0.0012)
    _ctrl(window, clock, "C")
    send_text(window, clock, "\r", 0.0012)
    clock.t += 1
    capture.poll()
    assert [c.ksn for c in cards] == [SAMPLES[0]["ksn"]]
    assert line.text() == ""
    # between reads Ctrl+C (the ETX postamble) is the cashier's own key, not the reader's
    ctrl_c = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier, "\x03")
    assert capture._control_char(ctrl_c) is None
    ctrl_b = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier, "\x02")
    assert capture._control_char(ctrl_b) == "\x02"  # the preamble's start: a read may begin
    # not configured: Ctrl+B is a person's shortcut key, never taken by the capture
    capture.apply_reader_settings(ReaderSettings(), tmp_path)
    assert capture._control_char(QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_B,
                                           Qt.KeyboardModifier.ControlModifier, "\x02")) is None
    capture.remove()


def test_counter_tab_applies_the_profiles_reader_settings(qtbot, qapp):
    from console.ui.operations import tracker
    from console.ui.tabs.counter_tab import CounterTab

    services = _services(reader_postamble="<E", reader_max_gap_ms=35)
    tab = CounterTab(UiContext(services, SUPERVISOR))
    qtbot.addWidget(tab)
    try:
        capture = SwipeCapture.install()
        assert tab.capture is capture
        assert capture.detector.settings.postamble == "<E"
        assert capture.detector.settings.max_gap == pytest.approx(0.035)
        assert capture.ksn_store_path == services.paths.data_dir / "reader_ksns.sqlite3"
        tip = tab.card_box.toolTip()
        assert 'postamble "<E"' in tip and "burst threshold 35 ms" in tip
    finally:
        tracker().cancel_all()
        tracker().wait(10_000)
        services.close()
