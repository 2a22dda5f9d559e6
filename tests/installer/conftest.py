"""The Windows build's helpers (installer/windows/winbuild) are tested here without Wine."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WINDOWS = ROOT / "installer" / "windows"
if str(WINDOWS) not in sys.path:
    sys.path.insert(0, str(WINDOWS))
