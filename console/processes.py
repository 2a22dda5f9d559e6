"""Process facts shared by the journal (lease owners) and the sandbox runner (state file)."""

from __future__ import annotations

import os
from pathlib import Path


def _alive_windows(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def pid_alive(pid: int) -> bool:
    """Whether a process exists (never signals it: on Windows ``os.kill`` would terminate it)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover - Windows only
        return _alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    # A zombie (killed, not yet reaped by its parent) sends nothing: treat it as dead.
    stat = Path(f"/proc/{pid}/stat")
    try:
        text = stat.read_text()
        return text.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
