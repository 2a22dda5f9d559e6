"""The Qt user interface: the only package that imports PySide6.

Importing this package applies one work-around before any PySide6 module is loaded:
PySide6 6.12.0 on Python 3.11 drops a reference to the singleton it returns from some calls —
``None`` from every Qt method that returns nothing (``setText``, ``QTimer.start``,
``processEvents`` …) and ``True`` from every ``Signal.emit()``; after a few thousand calls the
interpreter aborts ("Fatal Python error: none_dealloc" / "bool_dealloc"). From Python 3.12
these singletons are immortal and nothing needs doing; on 3.11 we give ``None``, ``True`` and
``False`` spare references so their counts never reach zero (the effect of 3.12's
immortality). PySide6-Pdf exists only for 6.12, so an older PySide6 is not an option.
``tests/ui/test_shell_none_refcount.py`` proves the guard holds.
"""

import ctypes
import sys

if sys.version_info < (3, 12):  # pragma: no branch - depends on the interpreter
    for _singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(_singleton)).value += 1 << 40
