"""Builds valid IDTech SRED frames from field values — every format, rendering and convention.

Written from the format description (reference §1–§3), independently of the parser, so the
parser is tested against frames no sample covers. Track data is really DUKPT-encrypted with
the given BDK (default: the public ANSI test BDK), so the sandbox decryption can be tested too.

    frame = build_frame(FrameSpec(format="original", rendering="hex", checks="bytes"))
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from console.sandbox import dukpt

TEST_PANS = {
    "Visa": "4111111111111111",
    "Mastercard": "5454545454545454",
    "American Express": "371449635398431",
    "Discover": "6011000995500000",
    "JCB": "3530111333300000",
}


@dataclass(frozen=True)
class FrameSpec:
    format: str = "enhanced"  # enhanced | original | keyed
    rendering: str = "keyboard"  # keyboard | hex
    checks: str = "chars"  # chars | bytes: what LRC/CKS are computed over
    caps_lock: bool = False  # keyboard: typed with Caps Lock on (every letter flipped)
    lower_hex: bool = False  # hex rendering: lower-case hex
    encode_type: int = 0  # low bits: 0 ISO/ABA, 1 AAMVA, 3 other, 4 raw
    pan: str = "4111111111111111"
    name: str = "SMITH/JOHN"
    name_padding: int = 0  # trailing spaces after the name (track 1 padding)
    expiry: str = "2812"  # YYMM
    show_expiry: bool = False
    clear_first: int = 4  # leading PAN digits the reader leaves clear (0–6)
    tracks: tuple[int, ...] = (1, 2)  # tracks read from the card
    track3: bool = False
    serial: str | None = "T134000064"  # enhanced only
    ksn: str = "62994900000000A00001"
    aes: bool = False  # enhanced only
    hashes: bool = True
    session_id: bool = False  # enhanced only
    original_extra_pad: int = 0  # original format: extra 8-byte blocks some firmware adds
    keyed_cvv: str = "123"
    keyed_address: str | None = None
    keyed_zip: str | None = None
    preamble: str = ""
    postamble: str = ""
    bdk: bytes = field(default=dukpt.ANSI_TEST_BDK, repr=False)

    def expected(self) -> dict:
        """What a parser must report for this frame."""
        if self.format == "keyed":
            return {"format": "keyed", "masked_pan": None, "last4": None, "name": None,
                    "expiry": self.expiry, "serial": None, "ksn": self.ksn.upper(),
                    "encryption": "TDES", "checks": self.checks}
        masked = self.masked_pan()
        t1 = 1 in self.tracks
        name = self.name.strip() if t1 else None
        return {
            "format": self.format,
            "masked_pan": masked,
            "last4": self.pan[-4:],
            "name": name or None,
            "expiry": self.expiry if self.show_expiry else None,
            "serial": self.serial if self.format == "enhanced" else None,
            "ksn": self.ksn.upper(),
            "encryption": "AES" if (self.aes and self.format == "enhanced") else "TDES",
            "checks": self.checks,
        }

    def masked_pan(self) -> str:
        return self.pan[: self.clear_first] + "*" * (len(self.pan) - self.clear_first - 4) + self.pan[-4:]


def _lrc_char(track: str) -> str:
    x = 0
    for c in track:
        x ^= ord(c) & 0x3F
    return chr(0x20 + (x & 0x3F)) if 0x20 + (x & 0x3F) < 0x7F else "0"


def clear_tracks(spec: FrameSpec) -> dict[int, str]:
    """The clear ISO tracks a card would give (sentinels and LRC character included)."""
    body1 = f"%B{spec.pan}^{spec.name}{' ' * spec.name_padding}^{spec.expiry}1010000000000000000?"
    body2 = f";{spec.pan}={spec.expiry}10100000000000?"
    body3 = ";011234567890123445=724724100000000000030300?"
    out = {}
    if 1 in spec.tracks:
        out[1] = body1 + _lrc_char(body1)
    if 2 in spec.tracks:
        out[2] = body2 + _lrc_char(body2)
    if spec.track3:
        out[3] = body3 + _lrc_char(body3)
    return out


def masked_track(spec: FrameSpec, n: int, clear: str) -> str:
    masked_pan = spec.masked_pan()
    exp = spec.expiry if spec.show_expiry else "****"
    if n == 1:
        head = f"%*{masked_pan}^{spec.name}{' ' * spec.name_padding}^{exp}"
    elif n == 2:
        head = f";{masked_pan}={exp}"
    else:
        head = ";"
    return head + "*" * (len(clear) - len(head) - 2) + "?*"


def _hash(text: str) -> bytes:
    return bytes(20) if not text else hashlib.sha1(text.encode()).digest()


def card_data(spec: FrameSpec) -> list[tuple[str, bytes | str]]:
    """The CardData as tokens: ("hex", bytes) typed as hex, ("ascii", str) typed as is."""
    key = dukpt.data_key(spec.bdk, spec.ksn)
    ksn = bytes.fromhex(spec.ksn)
    tok: list[tuple[str, bytes | str]] = []

    def b(*values: int) -> None:
        tok.append(("hex", bytes(values)))

    if spec.format == "keyed":
        status = (4 if spec.expiry else 0) | (2 if spec.keyed_address else 0) | (1 if spec.keyed_zip else 0)
        clear = f"{spec.pan}={spec.expiry}={spec.keyed_cvv}"
        b(0x85, 0, 0, 0, 0, status, len(clear))
        tok.append(("hex", dukpt.encrypt_block(key, clear.encode())))
        tok.append(("hex", _hash(spec.pan)))
        for value in (spec.expiry, spec.keyed_address, spec.keyed_zip):
            if value:
                b(len(value))
                tok.append(("hex", value.encode()))
        tok.append(("hex", ksn))
        return tok

    clear = clear_tracks(spec)
    lengths = [len(clear.get(n, "")) for n in (1, 2, 3)]
    status = sum(1 << (n - 1) for n in clear)
    if spec.format == "original":
        b(spec.encode_type & 0x07, status, *lengths)
        for n in (1, 2):
            if n in clear:
                tok.append(("ascii", masked_track(spec, n, clear[n])))
        if 3 in clear:
            tok.append(("ascii", clear[3]))
        both = (clear.get(1, "") + clear.get(2, "")).encode()
        block = dukpt.encrypt_block(key, both) + dukpt.encrypt_block(key, bytes(8 * spec.original_extra_pad))
        tok.append(("hex", block))
        for n in (1, 2):
            if n in clear:
                tok.append(("hex", _hash(clear[n]) if spec.hashes else bytes(20)))
        tok.append(("hex", ksn))
        return tok

    # enhanced
    encryption = "AES" if spec.aes else "TDES"
    f8 = sum(1 << (n - 1) for n in clear) | (0x10 if spec.aes else 0) | (0x80 if spec.serial else 0)
    f9 = sum(1 << (n - 1) for n in clear) | 0x80
    if spec.hashes:
        f9 |= sum(1 << (n + 2) for n in clear)
    if spec.session_id:
        f9 |= 0x40
    b(0x80 | (spec.encode_type & 0x07), status, *lengths, f8, f9)
    for n in (1, 2, 3):
        if n in clear:
            tok.append(("ascii", masked_track(spec, n, clear[n])))
    for n in (1, 2, 3):
        if n in clear:
            tok.append(("hex", dukpt.encrypt_block(key, clear[n].encode(), encryption)))
    if spec.session_id:
        tok.append(("hex", bytes.fromhex("0102030405060708")))
    if spec.hashes:
        for n in (1, 2, 3):
            if n in clear:
                tok.append(("hex", bytes(20)))  # SRED readers send zeros
    if spec.serial:
        tok.append(("hex", spec.serial.encode().ljust(10, b"\x00")))
    tok.append(("hex", ksn))
    return tok


def build_frame(spec: FrameSpec) -> str:
    tokens = card_data(spec)
    if spec.rendering == "keyboard":
        data = "".join(v.hex().upper() if k == "hex" else v for k, v in tokens)
        length = len(data)
    else:
        raw = b"".join(v if k == "hex" else v.encode() for k, v in tokens)
        data = raw.hex().upper()
        length = len(raw)
    decoded = b"".join(v if k == "hex" else v.encode() for k, v in tokens)
    units = [ord(c) for c in data] if spec.checks == "chars" else list(decoded)
    lrc = 0
    for u in units:
        lrc ^= u
    cks = sum(units) & 0xFF
    frame = f"02{length & 0xFF:02X}{length >> 8:02X}{data}{lrc:02X}{cks:02X}03"
    if spec.rendering == "keyboard" and spec.caps_lock:
        frame = frame.swapcase()
    if spec.rendering == "hex" and spec.lower_hex:
        frame = frame.lower()
    return spec.preamble + frame + spec.postamble


def variants() -> list[FrameSpec]:
    """A matrix covering every format × rendering × convention and the main options."""
    out: list[FrameSpec] = []
    for fmt in ("enhanced", "original", "keyed"):
        for rendering in ("keyboard", "hex"):
            for checks in ("chars", "bytes"):
                base = FrameSpec(format=fmt, rendering=rendering, checks=checks)
                out.append(base)
                if rendering == "keyboard":
                    out.append(replace(base, caps_lock=True))
                else:
                    out.append(replace(base, lower_hex=True))
    out += [
        FrameSpec(aes=True),
        FrameSpec(aes=True, rendering="hex", checks="bytes"),
        FrameSpec(tracks=(2,), serial=None),
        FrameSpec(tracks=(1,), show_expiry=True, name="DOE/JANE E.MR", name_padding=5),
        FrameSpec(track3=True, session_id=True),
        FrameSpec(hashes=False, clear_first=6, pan=TEST_PANS["Mastercard"]),
        FrameSpec(clear_first=0, pan=TEST_PANS["American Express"]),
        FrameSpec(format="original", original_extra_pad=1, tracks=(1,)),
        FrameSpec(format="original", tracks=(1, 2), show_expiry=True, encode_type=1),
        FrameSpec(format="keyed", keyed_zip="84101", keyed_address="1 MAIN ST"),
        FrameSpec(format="keyed", expiry="3001", keyed_cvv=""),
        FrameSpec(postamble="\r"),
        FrameSpec(postamble="\r\n", caps_lock=True, name="O'BRIEN/pat"),
    ]
    return out
