"""US characters from physical scan codes (X11 keycodes, Windows set-1 scan codes)."""

from console.devices.keymap import us_character


def test_x11_keycodes():
    assert us_character("x11", 24, False, False) == "q"
    assert us_character("x11", 38, True, False) == "A"
    assert us_character("x11", 38, False, True) == "A"  # Caps Lock
    assert us_character("x11", 38, True, True) == "a"
    assert us_character("x11", 10, False, True) == "1"  # Caps Lock leaves digits alone
    assert us_character("x11", 15, True, False) == "^"
    assert us_character("x11", 14, True, False) == "%"
    assert us_character("x11", 61, False, False) == "/" and us_character("x11", 61, True, False) == "?"
    assert us_character("x11", 47, False, False) == ";"
    assert us_character("x11", 36, False, False) == "\r"
    assert us_character("x11", 65, False, False) == " "
    assert us_character("x11", 9, False, False) is None  # Escape: not a reader character


def test_windows_scan_codes():
    assert us_character("windows", 0x10, False, False) == "q"
    assert us_character("windows", 0x07, True, False) == "^"
    assert us_character("windows", 0x1C, False, False) == "\r"
    assert us_character("nope", 0x10, False, False) is None
