"""Reader test widget: a swipe shows format, masked fields, checks and timing; nothing kept."""

from __future__ import annotations

import gc

import pytest

from console.devices.sred import EncryptedPayload
from console.ui.reader_test import ReaderTestWidget
from console.ui.swipe_capture import SwipeCapture
from tests.data_files import idtech_samples
from tests.ui.test_swipe_capture_qt import FakeClock, send_text

SAMPLES = idtech_samples()


@pytest.fixture(autouse=True)
def no_app_wide_capture(qapp):
    """Another test's app-wide capture (e.g. a Diagnostics tab's reader test) must not interfere."""
    SwipeCapture.remove_installed(qapp)
    yield


@pytest.fixture
def widget(qtbot, qapp):
    clock = FakeClock()
    capture = SwipeCapture(qapp, clock=clock)
    w = ReaderTestWidget(None, capture=capture)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.clear_button.setFocus()
    yield w, w.windowHandle(), clock, capture
    capture.remove()


def _finish(capture, clock):
    clock.t += 1
    capture.poll()


def test_swipe_shows_fields_checks_and_timing(widget):
    w, window, clock, capture = widget
    assert "Listening" in w.state_label.text()
    send_text(window, clock, SAMPLES[0]["frame"] + "\r", 0.0012)
    _finish(capture, clock)
    shown = w.shown()
    assert shown["result"] == "Card read"
    assert shown["format"] == "enhanced"
    assert shown["masked_pan"] == "4124********9990"
    assert shown["name"] == "TEST/BLUEFIN"
    assert shown["serial"] == "T134000064"
    assert shown["ksn"] == "629949960E0000A00072"
    assert shown["brand"] == "Visa"
    assert "All passed" in shown["checks"] and "typed characters" in shown["checks"]
    assert "median 1.2 ms" in shown["timing"] and "reader delay ≈ 1.2 ms" in shown["timing"]
    assert "Listening" in w.state_label.text()
    # Nothing kept: no encrypted payload is reachable from the widget.
    gc.collect()
    assert not any(isinstance(o, EncryptedPayload) for o in gc.get_referents(*vars(w).values()))
    frame_bits = SAMPLES[0]["frame"][120:160]
    assert all(frame_bits not in text for text in shown.values())


def test_hex_frame_at_a_slower_reader_delay(widget):
    w, window, clock, capture = widget
    send_text(window, clock, SAMPLES[4]["frame"], 0.010)
    _finish(capture, clock)
    shown = w.shown()
    assert shown["rendering"] == "hex" and "decoded bytes" in shown["checks"]
    assert "reader delay ≈ 10 ms" in shown["timing"]


def test_failed_swipe_names_the_check(widget):
    w, window, clock, capture = widget
    frame = SAMPLES[2]["frame"]
    broken = frame[:-6] + ("00" if frame[-6:-4] != "00" else "11") + frame[-4:]
    send_text(window, clock, broken + "\r", 0.0012)
    _finish(capture, clock)
    shown = w.shown()
    assert shown["result"].startswith("Rejected")
    assert shown["checks"] == "Failed: LRC (passed: STX, length, ETX)"
    assert shown["masked_pan"] == "—"
    send_text(window, clock, SAMPLES[2]["frame"][:-3] + "\r", 0.0012)
    clock.t += 0.1
    capture.poll()
    assert "Error" in w.state_label.text()
    assert "truncated" in w.shown()["checks"]


def test_clear_button(widget, qtbot):
    w, window, clock, capture = widget
    send_text(window, clock, SAMPLES[3]["frame"], 0.0012)
    _finish(capture, clock)
    assert w.shown()["format"] == "keyed" and w.shown()["expiry"] == "1905"
    w.clear_button.click()
    assert set(w.shown().values()) == {"—"}


def test_install_returns_the_one_application_capture(qapp):
    first = SwipeCapture.install(qapp)
    try:
        assert SwipeCapture.install() is first
    finally:
        first.remove()
        first.setParent(None)
        first.deleteLater()
