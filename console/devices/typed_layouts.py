"""A frame typed under a non-US keyboard layout, read back as the reader meant it.

A SREDKey types its frame as US-layout key presses. The console's capture reads the physical
scan codes (``console.devices.keymap``), so the layout never matters there. Text that was
*typed* somewhere else — pasted into ``biller-console swipe parse``, a text field, a file —
carries the characters the OS layout made of those keys instead (reference §5: "on a non-US
layout characters such as ^ and / change"): on a German layout ``%*4124…^NAME/X^`` arrives as
``%(4124…&NAME-X&``, on a French (AZERTY) one even the hex digits change (``0`` → ``à``).

Each layout here is the same physical rows as the US one, so a typed character maps back to
the US character of the same key and Shift state. Length, LRC and checksum were computed by
the reader over the US characters, so a frame read back this way still has to pass every
check: nothing is repaired, a damaged frame stays rejected.

Dead keys (``´`` on German, where US has ``=``) give the accent followed by the next key's
character when they cannot combine, which is what a frame's ``=*`` or ``=2`` produces.

Apps that pass a wedge reader's output on sometimes hex-encode the typed text (gateway SDK
samples do): :func:`hex_text` reads that back to the typed frame, which then faces the same
checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# US rows (unshifted, shifted), in physical order — the same as console.devices.keymap.
_US = (
    ("`1234567890-=", "~!@#$%^&*()_+"),
    ("qwertyuiop[]\\", "QWERTYUIOP{}|"),
    ("asdfghjkl;'", 'ASDFGHJKL:"'),
    ("zxcvbnm,./", "ZXCVBNM<>?"),
)

# Windows layouts, same key positions. "\0" marks a key position that types nothing there.
_LAYOUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "de": (  # German QWERTZ
        ("^1234567890ß´", "°!\"§$%&/()=?`"),
        ("qwertzuiopü+#", "QWERTZUIOPÜ*'"),
        ("asdfghjklöä", "ASDFGHJKLÖÄ"),
        ("yxcvbnm,.-", "YXCVBNM;:_"),
    ),
    "fr": (  # French AZERTY
        ("²&é\"'(-è_çà)=", "\x001234567890°+"),
        ("azertyuiop^$*", "AZERTYUIOP¨£µ"),
        ("qsdfghjklmù", "QSDFGHJKLM%"),
        ("wxcvbn,;:!", "WXCVBN?./§"),
    ),
    "es": (  # Spanish QWERTY
        ("º1234567890'¡", "ª!\"·$%&/()=?¿"),
        ("qwertyuiop`+ç", "QWERTYUIOP^*Ç"),
        ("asdfghjklñ´", "ASDFGHJKLÑ¨"),
        ("zxcvbnm,.-", "ZXCVBNM;:_"),
    ),
}


def _table(rows: tuple[tuple[str, str], ...]) -> dict[int, str]:
    out: dict[int, str] = {}
    for (plain, shifted), (us_plain, us_shifted) in zip(rows, _US, strict=True):
        for typed, us in ((plain, us_plain), (shifted, us_shifted)):
            for t, u in zip(typed, us, strict=True):
                if t != "\0":
                    out.setdefault(ord(t), u)
    return out


TABLES: dict[str, dict[int, str]] = {name: _table(rows) for name, rows in _LAYOUTS.items()}
LAYOUTS = tuple(TABLES)


def as_us(text: str, layout: str) -> str:
    """``text`` as a US layout would have typed the same keys (white space kept as is)."""
    return text.translate(TABLES[layout])


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def hex_text(text: str) -> str | None:
    """The keyboard frame inside ``text`` when ``text`` is that frame's characters written as hex.

    Some apps hand a wedge reader's typed output on hex-encoded (``3032 4345 3031 …`` for
    ``02CE01…``); a binary frame written as hex starts with the STX byte ``02`` instead, so the
    two cannot be confused. None when ``text`` is not printable text written as hex.
    """
    s = text.strip(" \t\r\n\ufeff")
    if len(s) < 24 or len(s) % 2 or not s.startswith("3032") or not set(s) <= _HEX_DIGITS:
        return None
    raw = bytes.fromhex(s)
    if any(b < 0x20 or b > 0x7E for b in raw.rstrip(b"\r\n")):
        return None
    return raw.decode("ascii")


_SPACED_HEX = re.compile(r"[0-9A-Fa-f]{2}(?:[ \t]+[0-9A-Fa-f]{2}){5,}")


def unspaced_hex(text: str) -> str | None:
    """A hex frame written in byte pairs with spaces between them (``02 F3 00 80 …``), joined."""
    s = text.strip(" \t\r\n\ufeff")
    if not _SPACED_HEX.fullmatch(s):
        return None
    return "".join(s.split())


def parse_any_layout(text: str, parse: Callable[[str], object]):
    """``(result, layout)`` of the first reading of ``text`` that ``parse`` accepts.

    Readings: as typed (``"us"``), as hex in spaced byte pairs (``"spaced-hex"``), as
    hex-encoded typed text (``"hex-text"``, see :func:`hex_text`), then as typed under each
    layout. ``parse`` raises on a frame it refuses; the first refusal (the reading as typed) is
    raised again when no reading gives a frame, so the operator sees what was wrong with the
    read as typed — except clear track data under any reading, which is refused as "reader is
    not encrypting".
    """
    from console.devices.sred import ReaderNotEncrypting

    try:
        return parse(text), "us"
    except ReaderNotEncrypting:
        raise
    except Exception as first:  # noqa: BLE001 - re-raised below unless another reading works
        joined = unspaced_hex(text)
        for reading, inner in (("spaced-hex", joined), ("hex-text", hex_text(joined or text))):
            if inner is None:
                continue
            try:
                return parse(inner), reading
            except ReaderNotEncrypting:
                raise
            except Exception:  # noqa: BLE001, S112 - not a frame this way either
                continue
        for name in LAYOUTS:
            meant = as_us(text, name)
            if meant == text:
                continue
            try:
                return parse(meant), name
            except ReaderNotEncrypting:
                raise  # clear track data typed under that layout: refused as such
            except Exception:  # noqa: BLE001, S112 - try the next layout
                continue
        raise first from None
