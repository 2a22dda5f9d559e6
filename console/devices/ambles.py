"""A reader's preamble/postamble as a profile writes it: printable text plus ``\\xHH`` escapes.

IDTech readers can type up to 15 characters before (preamble) and after (postamble) each
frame. In a profile they are written as plain text — ``#ID>`` — where a backslash starts an
escape: ``\\x02`` is one character given by two hex digits, ``\\\\`` is a backslash. The
Enter key is not part of either: it is the reader's *terminator*, a setting of its own.

Allowed characters are the ones a keyboard-wedge reader can type and the console can capture:
printable ASCII, and the control characters a reader types as Ctrl+letter (``\\x01`` …
``\\x1a``, e.g. STX ``\\x02``), except Tab, Enter and line feed. A preamble or postamble may
not begin or end with a space (the console ignores spaces around a frame); write it inside.

    decode_amble("\\\\x02ID")  -> "\\x02ID"       encode_amble("\\x02ID") -> "\\\\x02ID"
"""

from __future__ import annotations

import re

MAX_AMBLE_CHARS = 15  # the reader's own limit

_CONTROL_NAMES = {
    0x01: "SOH", 0x02: "STX", 0x03: "ETX", 0x04: "EOT", 0x05: "ENQ", 0x06: "ACK", 0x07: "BEL",
    0x08: "BS", 0x0B: "VT", 0x0C: "FF", 0x0E: "SO", 0x0F: "SI", 0x10: "DLE", 0x11: "DC1", 0x12: "DC2",
    0x13: "DC3", 0x14: "DC4", 0x15: "NAK", 0x16: "SYN", 0x17: "ETB", 0x18: "CAN", 0x19: "EM", 0x1A: "SUB",
}
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|\\)")


def typeable_control(char: str) -> bool:
    """A control character a keyboard-wedge reader types as Ctrl+letter (and the console captures)."""
    return len(char) == 1 and ord(char) in _CONTROL_NAMES


def decode_amble(text: str, what: str = "preamble") -> str:
    """The characters ``text`` stands for; ValueError says which rule was broken and how to fix it."""
    text = "" if text is None else str(text)
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            m = _ESCAPE.match(text, i)
            if m is None:
                raise ValueError(f"a backslash starts an escape at character {i + 1}: write \\xHH "
                                 "(two hex digits, e.g. \\x02) or \\\\ for a backslash itself")
            out.append("\\" if m.group(1) == "\\" else chr(int(m.group(1)[1:], 16)))
            i = m.end()
            continue
        out.append(c)
        i += 1
    chars = "".join(out)
    for n, c in enumerate(chars, 1):
        code = ord(c)
        if c in "\r\n":
            raise ValueError(f"Enter (character {n}) is not part of the {what}: it is the "
                             "Terminator setting")
        if c == "\t":
            raise ValueError(f"Tab (character {n}) cannot be part of the {what}: it moves the cursor")
        if code > 0x7E:
            raise ValueError(f"character {n} is not ASCII: a reader types US keyboard characters only")
        if code < 0x20 and not typeable_control(c):
            raise ValueError(f"character {n} (\\x{code:02X}) is a control character a reader cannot type; "
                             "use \\x01 to \\x1A (typed as Ctrl+A to Ctrl+Z) or printable text")
    if len(chars) > MAX_AMBLE_CHARS:
        raise ValueError(f"is {len(chars)} characters long; a reader sends at most {MAX_AMBLE_CHARS}")
    if chars[:1] == " " or chars[-1:] == " ":
        raise ValueError("must not begin or end with a space (spaces around a frame are ignored)")
    return chars


def encode_amble(chars: str) -> str:
    """The profile's text form of ``chars`` (printable as is, backslash doubled, others ``\\xHH``)."""
    out = []
    for c in chars or "":
        if c == "\\":
            out.append("\\\\")
        elif " " <= c <= "~":
            out.append(c)
        else:
            out.append(f"\\x{ord(c):02X}")
    return "".join(out)


def describe_amble(chars: str) -> str:
    """For people: ``none``, ``"#ID>"`` or ``"\\x02" (STX)`` — never more than the setting itself."""
    if not chars:
        return "none"
    names = [_CONTROL_NAMES[ord(c)] for c in chars if ord(c) in _CONTROL_NAMES]
    text = f'"{encode_amble(chars)}"'
    if names:
        text += f" ({' '.join(names)})"
    return text
