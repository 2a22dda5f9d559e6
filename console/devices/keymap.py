"""What a US-layout keyboard types for a physical key — so a reader works under any layout.

A SREDKey sends physical key codes as if the host had a US layout. Under another layout the
OS turns them into other characters (``^`` and ``/`` change on a German layout, letters and
digits on AZERTY), which would break every frame. Physical scan codes do not change, so the
capture looks the character up here from the scan code, the Shift state and Caps Lock.

Tables: X11 keycodes (evdev code + 8, what Qt's xcb platform reports as the native scan code)
and Windows set-1 scan codes (what Qt's windows platform reports). Pure data, no Qt.
"""

from __future__ import annotations

# US rows: (unshifted, shifted) characters in physical order.
_ROWS = (
    ("`1234567890-=", "~!@#$%^&*()_+"),
    ("qwertyuiop[]\\", "QWERTYUIOP{}|"),
    ("asdfghjkl;'", 'ASDFGHJKL:"'),
    ("zxcvbnm,./", "ZXCVBNM<>?"),
)

# Set-1 scan codes of the keys in _ROWS, row by row (Windows; evdev = the same numbers).
_SET1 = (
    (0x29, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D),
    (0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x2B),
    (0x1E, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28),
    (0x2C, 0x2D, 0x2E, 0x2F, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35),
)
_SPACE, _ENTER, _KP_ENTER = 0x39, 0x1C, 0x60  # KP Enter: evdev 96 (Windows: 0x1C extended)


def _build() -> tuple[dict[int, tuple[str, str]], dict[int, tuple[str, str]]]:
    windows: dict[int, tuple[str, str]] = {}
    for (plain, shifted), codes in zip(_ROWS, _SET1, strict=True):
        for a, b, code in zip(plain, shifted, codes, strict=True):
            windows[code] = (a, b)
    windows[_SPACE] = (" ", " ")
    windows[_ENTER] = ("\r", "\r")
    x11 = {code + 8: chars for code, chars in windows.items()}  # evdev codes match set 1 here
    x11[_KP_ENTER + 8] = ("\r", "\r")
    return x11, windows


X11, WINDOWS = _build()
TABLES = {"x11": X11, "windows": WINDOWS}
X11_LOCK_MASK = 0x2  # LockMask in the X11 modifier state
WINDOWS_CAPS_LOCK = 0x100  # Qt's windows platform: CapsLock bit of nativeModifiers


def us_character(table: str, scan_code: int, shift: bool, caps_lock: bool) -> str | None:
    """The character a US layout gives for this physical key, or None if it is not in the table."""
    chars = TABLES.get(table, {}).get(scan_code)
    if chars is None:
        return None
    plain, shifted = chars
    if plain.isalpha():
        return shifted if shift != caps_lock else plain
    return shifted if shift else plain
