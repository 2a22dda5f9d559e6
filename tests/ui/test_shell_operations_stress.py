"""Thousands of back-to-back operations: results arrive in order and nothing crashes.

Guards the bridge lifetime fix in console/ui/operations.py (the bridge used to be deleted
from the GUI thread while the worker could still be inside emit()).
"""

import subprocess
import sys

SCRIPT = """
import time
import console.ui
from PySide6.QtWidgets import QApplication, QWidget
from console.ui.operations import Operation

app = QApplication([])
w = QWidget()
seen = []
end = time.monotonic() + 3

def start(i):
    Operation(w, lambda op, i=i: i).success(lambda r: done(r)).run()

def done(r):
    seen.append(r)
    if time.monotonic() < end:
        start(len(seen) + 10)
    elif len(seen) >= 4:
        app.quit()

for i in range(4):
    start(i)
app.exec()
print(len(seen))
"""


def test_back_to_back_operations_do_not_crash():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-800:]
    assert int(out.stdout.strip()) > 1000
