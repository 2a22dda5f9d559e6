"""The Qt user interface: the only package that imports PySide6.

Importing this package applies one work-around before any PySide6 module is loaded:
PySide6 6.12.0 on Python 3.11 drops a reference to ``None`` on every call of a Qt method
that returns nothing (``setText``, ``QTimer.start`` …); after a few thousand calls the
interpreter aborts with "Fatal Python error: none_dealloc". From Python 3.12 ``None`` is
immortal and nothing needs doing; on 3.11 we give ``None`` spare references so its count
never reaches zero (the same effect as 3.12's immortality). PySide6-Pdf exists only for
6.12, so an older PySide6 is not an option. ``tests/ui/test_shell_none_refcount.py`` proves
the guard holds.
"""

import ctypes
import sys

if sys.version_info < (3, 12):  # pragma: no branch - depends on the interpreter
    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40
