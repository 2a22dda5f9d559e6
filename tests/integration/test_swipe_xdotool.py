"""End to end under Xvfb: xdotool types a frame (1 ms apart) and words (120 ms apart) into a
real X11 window holding SwipeCapture — real key events, real timestamps, Shift for capitals.

Skipped where Xvfb, xvfb-run or xdotool are missing (``.ci/run`` installs them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.data_files import idtech_samples
from tests.swipe_frames import FrameSpec, build_frame

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = idtech_samples()

PROGRAM = r'''
import ctypes, json, subprocess, sys, threading, time
sys.path.insert(0, sys.argv[2])
if sys.version_info < (3, 12):
    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton, QVBoxLayout, QWidget
from console.ui.swipe_capture import SwipeCapture

frames = sys.argv[1].split(",")[:3]
frames2 = sys.argv[1].split(",")[3:]
app = QApplication([])
window = QWidget()
window.setWindowTitle("SwipeE2E")
line = QLineEdit()
button = QPushButton("Pay")
layout = QVBoxLayout(window)
layout.addWidget(line)
layout.addWidget(button)
fired = []
action = QAction("Nine", window)
action.setShortcut(QKeySequence("9"))  # a single-key shortcut: frame characters must not fire it
action.triggered.connect(lambda: fired.append(1))
window.addAction(action)
window.show()
window.activateWindow()
line.setFocus()
capture = SwipeCapture.install(app)
cards, failures = [], []
capture.card_did_arrive.connect(lambda card: cards.append(card.as_dict()))
capture.swipe_did_fail.connect(failures.append)
done = threading.Event()
problems = []

def drive():
    try:
        def x(*args):
            subprocess.run(["xdotool", *args], check=True, timeout=30)
        x("search", "--sync", "--name", "SwipeE2E", "windowfocus", "--sync")
        x("type", "--delay", "120", "Paid 02")
        time.sleep(0.4)
        for attempt in frames:  # a failed read (a stall on a loaded machine) means: swipe again
            x("type", "--delay", "1", attempt + "\n")
            time.sleep(0.8)
            if cards:
                break
        x("type", "--delay", "120", " ok")
        time.sleep(0.4)
        gui_calls.append(button.setFocus)  # run on the GUI thread by the watch timer
        time.sleep(0.3)
        before = len(cards)
        for attempt in frames2:
            x("type", "--delay", "1", attempt + "\n")
            time.sleep(0.8)
            if len(cards) > before:
                break
        time.sleep(0.3)
        x("type", "--delay", "120", "9")  # a person pressing the shortcut
        time.sleep(0.4)
    except Exception as exc:
        problems.append(repr(exc))
    finally:
        done.set()

gui_calls = []


def on_watch():
    while gui_calls:
        gui_calls.pop(0)()
    if done.is_set():
        app.quit()


watch = QTimer()
watch.timeout.connect(on_watch)
watch.start(50)
QTimer.singleShot(300, lambda: threading.Thread(target=drive, daemon=True).start())
QTimer.singleShot(60000, app.quit)
app.exec()
print(json.dumps({"text": line.text(), "cards": cards, "failures": failures, "problems": problems,
                  "fired": len(fired)}))
'''


@pytest.mark.skipif(
    not all(shutil.which(t) for t in ("Xvfb", "xvfb-run", "xdotool")), reason="Xvfb/xdotool not installed"
)
def test_xdotool_types_a_frame_into_a_real_window(tmp_path):
    frames = [SAMPLES[0]["frame"], build_frame(FrameSpec(name="TEST/BLUEFIN", ksn="62994900000000A00901")),
              build_frame(FrameSpec(name="TEST/BLUEFIN", ksn="62994900000000A00902"))]
    frames2 = [build_frame(FrameSpec(name="SECOND/CARD", ksn=f"62994900000000A0099{i}")) for i in range(3)]
    assert all("9" in f for f in frames2)
    program = tmp_path / "swipe_e2e.py"
    program.write_text(PROGRAM)
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    proc = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1024x768x24", sys.executable, str(program),
         ",".join(frames + frames2), str(ROOT)],
        capture_output=True, text=True, timeout=120, env=env,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"no result (exit {proc.returncode}): {proc.stderr[-500:]}"
    result = json.loads(lines[-1])
    assert result["problems"] == []
    assert result["text"] == "Paid 02 ok"  # the person's typing landed; the frame did not
    assert [c["name"] for c in result["cards"]] == ["TEST/BLUEFIN", "SECOND/CARD"]
    assert len(result["failures"]) < len(frames)
    assert result["fired"] == 1  # only the person's "9", never a frame's
    assert result["cards"][0]["masked_pan"] in ("4124********9990", "4111********1111")
