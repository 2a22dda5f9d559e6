"""PySide6 6.12 on Python 3.11 leaks None/True references (void calls, emit); console.ui guards against it."""

import subprocess
import sys

SCRIPT = """
import console.ui  # the guard
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QLabel

class Emitter(QObject):
    happened = Signal(int)

app = QApplication([])
label = QLabel()
emitter = Emitter()
for i in range(20000):
    label.setText("x")
    emitter.happened.emit(i)
    app.processEvents()
print("alive")
"""


def test_many_void_calls_do_not_abort_the_interpreter():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-500:]
    assert "alive" in out.stdout
