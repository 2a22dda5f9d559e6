"""IDTech SRED frame parser (SREDKey, SREDKey 2, SecuRED, Augusta, UniMag …). Pure Python.

A frame is ``STX LenLow LenHigh <CardData> LRC CKS ETX``. It arrives in one of two renderings:

- **keyboard** — what a keyboard-wedge reader types: binary fields as two upper-case hex
  characters each, masked track fields as plain ASCII; Length counts typed characters;
- **hex** — a binary (HID) frame written as hex (gateway SDKs, HID readers), any case;
  Length counts bytes.

LRC (XOR) and CKS (sum mod 256) are verified under both conventions — over the typed
characters (``"chars"``) and over the decoded bytes (``"bytes"``) — and the one that matched
is reported. The card data layout is read from the format itself (card encode type, field 8
and field 9 bits, track lengths, block padding), so frames of any IDTech SRED reader parse.

Only what a console may keep leaves this module in the clear: masked PAN, last four, brand,
name, expiry (when the reader shows it), reader serial and KSN. The encrypted blocks (and the
frame that carries them) are wrapped in :class:`EncryptedPayload`, whose ``repr``/``str`` never
show them and which refuses to be pickled; it exists only to be handed to the gateway.

Clear ISO track data is refused as "reader is not encrypting", a MagTek frame as not supported
(:mod:`console.devices.makers`); no rejection carries any input: messages name only the check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from console.devices import makers
from console.devices.ambles import describe_amble
from console.errors import UserFacingError

__all__ = [
    "AmbleMismatch",
    "EncryptedPayload",
    "ReaderNotEncrypting",
    "SwipeRejected",
    "SwipedCard",
    "brand_of",
    "looks_like_clear_tracks",
    "parse_frame",
]

STX = "02"
ETX = "03"
ENVELOPE_CHARS = 12  # "02" + 4 length chars + LRC(2) + CKS(2) + "03"
MAX_AMBLE = 15  # longest reader preamble/postamble
HASH_BYTES = 20
KSN_BYTES = 10
SERIAL_BYTES = 10
SESSION_ID_BYTES = 8

_HEX = frozenset("0123456789abcdefABCDEF")
_HEX_LETTERS_UPPER = frozenset("ABCDEF")
_HEX_LETTERS_LOWER = frozenset("abcdef")

# Clear ISO track 1 (``%B<PAN>^``) or track 2 (``;<PAN>=``) anywhere in the input.
_CLEAR_TRACK = re.compile(r"%[A-Za-z]\d{8,19}\^|;\d{8,19}[=Dd]|\d{12,19}[\^=]")


# --------------------------------------------------------------------------- errors


class SwipeRejected(UserFacingError):
    """A card read that must not be used. ``check`` names the failed check; nothing else is kept.

    The message never contains any part of the frame (card data must not reach logs).
    """

    def __init__(self, check: str, message: str | None = None):
        super().__init__(message or f"Card read rejected: {check}. Please swipe the card again.")
        self.check = check

    def __reduce__(self):  # keep pickling (multiprocessing, crash reports) free of extras
        return (type(self), (self.check, self.message))


class ReaderNotEncrypting(SwipeRejected):
    """The reader typed clear track data: refuse it, keep none of it."""

    def __init__(self, check: str = "reader is not encrypting", message: str | None = None):
        super().__init__(
            check,
            message
            or "Card reader is not encrypting: the card data was discarded. "
            "Have the reader set to encrypted (SRED) output before taking cards.",
        )


# --------------------------------------------------------------------------- results


class EncryptedPayload:
    """The encrypted part of a swipe, for the gateway only. Never shown, logged or stored.

    ``frame`` is the whole frame as the reader meant to send it (Caps Lock undone), which is
    what a gateway takes together with the KSN; ``blocks`` are the encrypted blocks by name
    (``track1``/``track2``/``track3`` for enhanced frames, ``tracks`` for the original
    format's single T1‖T2 block, ``keyed`` for keypad entry); ``clear_lengths`` are the lengths
    of the clear data inside them (to strip the padding after decryption).
    """

    __slots__ = ("_frame", "_blocks", "_clear_lengths")

    def __init__(self, frame: str, blocks: dict[str, bytes], clear_lengths: dict[str, int]):
        object.__setattr__(self, "_frame", frame)
        object.__setattr__(self, "_blocks", dict(blocks))
        object.__setattr__(self, "_clear_lengths", dict(clear_lengths))

    def __setattr__(self, name, value):
        raise AttributeError("EncryptedPayload is read-only")

    @property
    def frame(self) -> str:
        return self._frame

    @property
    def blocks(self) -> dict[str, bytes]:
        return dict(self._blocks)

    @property
    def clear_lengths(self) -> dict[str, int]:
        return dict(self._clear_lengths)

    def __repr__(self) -> str:
        return f"<EncryptedPayload: encrypted blocks {len(self._blocks)}, hidden>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        raise TypeError("an encrypted card payload cannot be serialized or stored")

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)


@dataclass(frozen=True)
class SwipedCard:
    """One valid SRED read: the fields a console may keep, plus the opaque payload."""

    format: str  # "enhanced" | "original" | "keyed"
    masked_pan: str | None
    last4: str | None
    brand: str | None
    name: str | None
    expiry: str | None  # YYMM, or None when the reader masks it
    serial: str | None
    ksn: str  # 20 upper-case hex characters
    encryption: str  # "TDES" | "AES"
    checks: str  # "chars" | "bytes"
    rendering: str = "keyboard"  # "keyboard" | "hex"
    caps_lock: bool = False  # the frame was typed with Caps Lock on (undone here)
    payload: EncryptedPayload | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        """The displayable fields (never the payload) — what the CLI prints."""
        return {
            "format": self.format,
            "masked_pan": self.masked_pan,
            "last4": self.last4,
            "brand": self.brand,
            "name": self.name,
            "expiry": self.expiry,
            "serial": self.serial,
            "ksn": self.ksn,
            "encryption": self.encryption,
            "checks": self.checks,
            "rendering": self.rendering,
        }

    def without_payload(self) -> SwipedCard:
        return SwipedCard(**{**self.as_dict(), "caps_lock": self.caps_lock})


# --------------------------------------------------------------------------- brand


def brand_of(leading_digits: str) -> str | None:
    """Card brand from the clear leading digits of a (masked) PAN, or None when unsure."""
    d = ""
    for ch in leading_digits:
        if not ch.isdigit():
            break
        d += ch
    if not d:
        return None

    def starts(lo: int, hi: int, width: int) -> bool:
        return len(d) >= width and lo <= int(d[:width]) <= hi

    if d[0] == "4":
        return "Visa"
    if starts(34, 34, 2) or starts(37, 37, 2):
        return "American Express"
    if starts(51, 55, 2) or starts(2221, 2720, 4):
        return "Mastercard"
    if d.startswith("6011") or starts(644, 649, 3) or starts(65, 65, 2) or starts(622126, 622925, 6):
        return "Discover"
    if starts(3528, 3589, 4):
        return "JCB"
    if starts(300, 305, 3) or starts(36, 36, 2) or starts(38, 39, 2) or d.startswith("3095"):
        return "Diners Club"
    if starts(62, 62, 2):
        return "UnionPay"
    if starts(50, 50, 2) or starts(56, 58, 2) or starts(63, 63, 2) or starts(67, 67, 2):
        return "Maestro"
    return None


def looks_like_clear_tracks(text: str) -> bool:
    """True when ``text`` carries clear ISO track data (a reader that is not encrypting)."""
    stripped = text.strip()
    if stripped[:1] in ("%", ";") and not stripped.startswith(("%*", ";*")):
        return True
    return _CLEAR_TRACK.search(text) is not None


# --------------------------------------------------------------------------- parsing


class _Broken(Exception):
    """Internal: the card data does not follow the format (names the rule)."""

    def __init__(self, check: str):
        super().__init__(check)
        self.check = check


@dataclass
class _Envelope:
    text: str  # the frame only (preamble/postamble removed)
    rendering: str  # "keyboard" | "hex"
    length: int
    data: str  # the CardData characters
    lrc: int
    cks: int


@dataclass
class _Fields:
    """Result of walking the card data: tokens and decoded fields."""

    hex_spans: list[tuple[int, int]]  # [start, end) of hex fields inside data (char offsets)
    ascii_spans: list[tuple[int, int]]  # [start, end) of typed ASCII fields (keyboard only)
    card_bytes: bytes  # the card data decoded to bytes (ASCII fields kept as is)
    format: str
    tracks: dict[int, str]  # masked tracks by number (ASCII)
    blocks: dict[str, bytes]
    clear_lengths: dict[str, int]
    serial: str | None
    ksn: bytes
    encryption: str
    keyed_expiry: str | None


_EDGE = " \t\r\n\ufeff"  # ignored around a frame (a CR / CR LF terminator, a BOM)


class AmbleMismatch(SwipeRejected):
    """The configured preamble or postamble is not around the frame (``check`` names which).

    The message names only the configured setting, never what arrived instead."""

    def __init__(self, which: str, expected: str = "", message: str | None = None):
        super().__init__(which, message or (
            f"Card read rejected: the reader's {which} is missing or different (the console expects "
            f"{describe_amble(expected)}, Settings › Card reader). Please swipe the card again; if this "
            f"happens every time, the reader's {which} does not match the console's setting."))

    def __reduce__(self):
        return (type(self), (self.check, "", self.message))


def _strip_preamble(text: str, preamble: str) -> str:
    """The text after the preamble (typed as configured, or with Caps Lock on)."""
    s = text.strip(_EDGE)
    if preamble:
        if not s.startswith((preamble, preamble.swapcase())):
            raise AmbleMismatch("preamble", preamble)
        s = s[len(preamble):].lstrip(_EDGE)
    return s


def _strip_postamble(s: str, postamble: str) -> tuple[str, bool]:
    """(the text without the postamble, whether the postamble was there)."""
    if postamble and s.endswith((postamble, postamble.swapcase())):
        return s[: len(s) - len(postamble)].rstrip(_EDGE), True
    return s, not postamble


def _hex_value(chars: str) -> int:
    if len(chars) != 2 or not set(chars) <= _HEX:
        raise _Broken("hex field")
    return int(chars, 16)


def _envelope(s: str) -> _Envelope:
    if not s:
        raise SwipeRejected("empty", "Card read rejected: empty (nothing was read). Please swipe the card again.")
    if s[:2] != STX:
        raise SwipeRejected("missing STX", "Card read rejected: missing STX (the start of the frame was lost). "
                            "Please swipe the card again.")
    if len(s) < ENVELOPE_CHARS:
        raise SwipeRejected("truncated")
    head = s[2:6]
    if not set(head) <= _HEX:
        raise SwipeRejected("length field")
    length = int(head[2:4] + head[0:2], 16)
    keyboard_total = length + ENVELOPE_CHARS
    hex_total = 2 * length + ENVELOPE_CHARS
    if len(s) == keyboard_total:
        rendering = "keyboard"
        end = keyboard_total
    elif len(s) == hex_total and set(s) <= _HEX:
        rendering = "hex"
        end = hex_total
    elif len(s) < keyboard_total:
        raise SwipeRejected("truncated", "Card read rejected: truncated (the end of the frame was lost). "
                            "Please swipe the card again.")
    else:
        raise SwipeRejected("length mismatch")
    if s[end - 2: end] != ETX:
        raise SwipeRejected("missing ETX")
    data = s[6: end - 6]
    try:
        lrc = _hex_value(s[end - 6: end - 4])
        cks = _hex_value(s[end - 4: end - 2])
    except _Broken:
        raise SwipeRejected("LRC") from None
    if length == 0:
        raise SwipeRejected("length mismatch")
    return _Envelope(s, rendering, length, data, lrc, cks)


class _Walker:
    """Walks the card data field by field in either rendering, recording hex/ASCII spans."""

    def __init__(self, data: str, rendering: str):
        self.data = data
        self.rendering = rendering
        self.pos = 0
        self.hex_spans: list[tuple[int, int]] = []
        self.ascii_spans: list[tuple[int, int]] = []
        self.out = bytearray()

    def remaining_units(self) -> int:
        """What is left, in the unit Length counts (chars for keyboard, bytes for hex)."""
        left = len(self.data) - self.pos
        return left if self.rendering == "keyboard" else left // 2

    def hex_bytes(self, n: int) -> bytes:
        end = self.pos + 2 * n
        if end > len(self.data):
            raise _Broken("field lengths")
        chunk = self.data[self.pos:end]
        if not set(chunk) <= _HEX:
            raise _Broken("hex field")
        self.hex_spans.append((self.pos, end))
        self.pos = end
        value = bytes.fromhex(chunk)
        self.out += value
        return value

    def byte(self) -> int:
        return self.hex_bytes(1)[0]

    def text(self, n: int) -> str:
        """A track/ASCII field of ``n`` characters (typed as is in keyboard mode)."""
        if self.rendering == "hex":
            raw = self.hex_bytes(n)
            if any(b < 0x20 or b > 0x7E for b in raw):
                raise _Broken("track characters")
            return raw.decode("ascii")
        end = self.pos + n
        if end > len(self.data):
            raise _Broken("field lengths")
        chunk = self.data[self.pos:end]
        if any(not (" " <= c <= "~") for c in chunk):
            raise _Broken("track characters")
        self.ascii_spans.append((self.pos, end))
        self.pos = end
        self.out += chunk.encode("ascii")
        return chunk

    def units_for_bytes(self, n: int) -> int:
        return 2 * n if self.rendering == "keyboard" else n

    def done(self) -> None:
        if self.pos != len(self.data):
            raise _Broken("field lengths")


def _pad(n: int, block: int) -> int:
    return (n + block - 1) // block * block


def _walk(data: str, rendering: str) -> _Fields:
    w = _Walker(data, rendering)
    encode_type = w.byte()
    if encode_type == 0x85:
        return _walk_keyed(w)
    if 0x80 <= encode_type <= 0x84:
        return _walk_enhanced(w)
    if 0x00 <= encode_type <= 0x04:
        return _walk_original(w)
    raise _Broken("card encode type")


def _walk_enhanced(w: _Walker) -> _Fields:
    status = w.byte()
    if status & 0x40:
        raise _Broken("optional bytes field not supported")
    lengths = {1: w.byte(), 2: w.byte(), 3: w.byte()}
    f8 = w.byte()
    f9 = w.byte()
    aes = bool(f8 & 0x10)
    block = 16 if aes else 8
    tracks: dict[int, str] = {}
    for n in (1, 2, 3):
        if f8 & (1 << (n - 1)):
            tracks[n] = w.text(lengths[n])
    enc_tracks = [n for n in (1, 2, 3) if f9 & (1 << (n - 1))]
    hashes = sum(1 for n in (1, 2, 3) if f9 & (1 << (n + 2)))
    tail = (
        (SESSION_ID_BYTES if f9 & 0x40 else 0)
        + HASH_BYTES * hashes
        + (SERIAL_BYTES if f8 & 0x80 else 0)
        + (KSN_BYTES if f9 & 0x80 else 0)
    )
    if not f9 & 0x80:
        raise _Broken("no KSN")
    # Encrypted tracks: each padded to the block size.
    sizes = {n: _pad(lengths[n], block) for n in enc_tracks}
    room = w.remaining_units() - w.units_for_bytes(tail)
    expected = w.units_for_bytes(sum(sizes.values()))
    if room != expected:
        # Some firmware pads differently; with one encrypted track its size is unambiguous.
        room_bytes = room // 2 if w.rendering == "keyboard" else room
        if (
            len(enc_tracks) == 1
            and room > 0
            and (w.rendering == "hex" or room % 2 == 0)
            and room_bytes % block == 0
            and room_bytes >= lengths[enc_tracks[0]]
        ):
            sizes[enc_tracks[0]] = room_bytes
        else:
            raise _Broken("field lengths")
    blocks: dict[str, bytes] = {}
    clear_lengths: dict[str, int] = {}
    for n in enc_tracks:
        blocks[f"track{n}"] = w.hex_bytes(sizes[n])
        clear_lengths[f"track{n}"] = lengths[n]
    if f9 & 0x40:
        w.hex_bytes(SESSION_ID_BYTES)
    if hashes:
        w.hex_bytes(HASH_BYTES * hashes)
    serial = None
    if f8 & 0x80:
        serial = _ascii_serial(w.hex_bytes(SERIAL_BYTES))
    ksn = w.hex_bytes(KSN_BYTES)
    w.done()
    if not blocks:
        raise _Broken("no encrypted data")
    return _Fields(w.hex_spans, w.ascii_spans, bytes(w.out), "enhanced", tracks, blocks,
                   clear_lengths, serial, ksn, "AES" if aes else "TDES", None)


def _walk_original(w: _Walker) -> _Fields:
    w.byte()  # track status
    lengths = {1: w.byte(), 2: w.byte(), 3: w.byte()}
    tracks: dict[int, str] = {}
    for n in (1, 2):
        if lengths[n]:
            tracks[n] = w.text(lengths[n])
    if lengths[3]:
        w.text(lengths[3])  # track 3 data: never kept
    # The tail is located from the end: KSN, then one 20-byte hash per present track.
    left = w.remaining_units()
    unit = w.units_for_bytes(1)
    if left % unit:
        raise _Broken("field lengths")
    left_bytes = left // unit
    minimum = _pad(lengths[1] + lengths[2], 8)
    present12 = sum(1 for n in (1, 2) if lengths[n])
    present123 = present12 + (1 if lengths[3] else 0)
    enc_size = None
    for hashes in dict.fromkeys((present12, present123)):
        size = left_bytes - KSN_BYTES - HASH_BYTES * hashes
        if size >= max(minimum, 8) and size % 8 == 0:
            enc_size, hash_count = size, hashes
            break
    if enc_size is None:
        raise _Broken("field lengths")
    block = w.hex_bytes(enc_size)
    w.hex_bytes(HASH_BYTES * hash_count)
    ksn = w.hex_bytes(KSN_BYTES)
    w.done()
    return _Fields(w.hex_spans, w.ascii_spans, bytes(w.out), "original", tracks, {"tracks": block},
                   {"track1": lengths[1], "track2": lengths[2]}, None, ksn, "TDES", None)


def _walk_keyed(w: _Walker) -> _Fields:
    w.hex_bytes(4)  # reserved (zero) bytes
    status = w.byte()
    clear_length = w.byte()
    if clear_length == 0:
        raise _Broken("no encrypted data")
    start = (w.pos, len(w.hex_spans), len(w.out))
    for block, encryption in ((8, "TDES"), (16, "AES")):
        w.pos, spans, out = start
        del w.hex_spans[spans:]
        del w.out[out:]
        try:
            encrypted = w.hex_bytes(_pad(clear_length, block))
            w.hex_bytes(HASH_BYTES)
            values: dict[str, str] = {}
            for bit, name in ((2, "expiry"), (1, "address"), (0, "zip")):
                if status & (1 << bit):
                    size = w.byte()
                    raw = w.hex_bytes(size)
                    if any(b < 0x20 or b > 0x7E for b in raw):
                        raise _Broken("keyed field")
                    values[name] = raw.decode("ascii")
            ksn = w.hex_bytes(KSN_BYTES)
            w.done()
        except _Broken:
            continue
        expiry = values.get("expiry")
        return _Fields(w.hex_spans, w.ascii_spans, bytes(w.out), "keyed", {}, {"keyed": encrypted},
                       {"keyed": clear_length}, None, ksn, encryption, _yymm(expiry))
    raise _Broken("field lengths")


def _ascii_serial(raw: bytes) -> str | None:
    text = raw.rstrip(b"\x00 ")
    if not text:
        return None
    if any(b < 0x20 or b > 0x7E for b in text):
        raise _Broken("serial number")
    return text.decode("ascii")


def _yymm(value: str | None) -> str | None:
    if value and len(value) == 4 and value.isdigit() and 1 <= int(value[2:]) <= 12:
        return value
    return None


def _lrc_cks(units) -> tuple[int, int]:
    x = 0
    total = 0
    for u in units:
        x ^= u
        total += u
    return x, total & 0xFF


def _case_of(text: str, spans: list[tuple[int, int]]) -> set[str]:
    seen: set[str] = set()
    for a, b in spans:
        for c in text[a:b]:
            if c in _HEX_LETTERS_UPPER:
                seen.add("upper")
            elif c in _HEX_LETTERS_LOWER:
                seen.add("lower")
    return seen


def _masked_fields(tracks: dict[int, str]) -> tuple[str | None, str | None, str | None]:
    """(masked PAN, name, expiry) from masked tracks 1/2."""
    pans: list[str] = []
    name = None
    expiry = None
    t1 = tracks.get(1)
    if t1:
        m = re.fullmatch(r"%(.)([0-9*]{1,19})\^([^^]*)\^(.*)", t1)
        if m is None:
            raise _Broken("masked track 1")
        pans.append(m.group(2))
        candidate = m.group(3).strip()
        if candidate and set(candidate) != {"*"}:
            name = candidate
        expiry = _yymm(m.group(4)[:4])
    t2 = tracks.get(2)
    if t2:
        m = re.fullmatch(r";([0-9*]{1,19})[=Dd](.*)", t2)
        if m is None:
            raise _Broken("masked track 2")
        pans.append(m.group(1))
        expiry = expiry or _yymm(m.group(2)[:4])
    if not pans:
        return None, name, expiry
    if len(set(pans)) != 1:
        raise _Broken("masked tracks disagree")
    pan = pans[0]
    if "*" not in pan:
        # A clear PAN in the "masked" field: the reader is not masking. Keep none of it.
        raise ReaderNotEncrypting("reader is not masking",
                                  "Card reader is not masking the card number: the card data was "
                                  "discarded. Have the reader's masking turned on.")
    if len(pan) < 12:
        raise _Broken("masked track")
    return pan, name, expiry


def _invert_letters(text: str) -> str:
    return text.swapcase()


def parse_frame(text: str, *, preamble: str = "", postamble: str = "") -> SwipedCard:
    """Parse one IDTech SRED frame (keyboard- or hex-rendered) or raise :class:`SwipeRejected`.

    Leading/trailing white space (a CR or CR LF terminator) is ignored. ``preamble`` and
    ``postamble`` are the characters the reader is configured to send around a frame (decoded:
    see :mod:`console.devices.ambles`); when named they are required — a read without them, or
    with others, is refused as :class:`AmbleMismatch` (a frame that is damaged as well is
    refused for the damage: "truncated" says more than "postamble"). When not named, ambles of
    two characters or more are still recognised. Nothing is ever "repaired": a frame that
    fails a check is rejected, naming the check.
    """
    if not isinstance(text, str):
        raise SwipeRejected("not text")
    inner = text.strip(_EDGE)
    if preamble and inner.startswith((preamble, preamble.swapcase())):
        inner = inner[len(preamble):].lstrip(_EDGE)
    if not inner.startswith(STX) and (maker := makers.frame_maker(inner)):
        raise makers.unsupported_reader(maker)  # a MagTek frame is named as such, never "not encrypting"
    if not inner.startswith(STX) and looks_like_clear_tracks(inner):
        raise ReaderNotEncrypting() from None  # before any other check: it says the most
    s = _strip_preamble(text, preamble)
    s, postamble_ok = _strip_postamble(s, postamble)
    try:
        card = _parse_envelope(_envelope(s))
    except ReaderNotEncrypting:
        raise
    except SwipeRejected as first:
        # With a postamble configured but not there, any trailing rest (even one character) is
        # the wrong postamble: the read is refused either way, and "postamble" says why.
        card = _parse_with_ambles(s, guess_preamble=not preamble, min_post=1 if not postamble_ok else 2)
        if card is None:
            raise first from None
    if not postamble_ok:
        raise AmbleMismatch("postamble", postamble)
    return card


def _parse_with_ambles(s: str, *, guess_preamble: bool = True, min_post: int = 2) -> SwipedCard | None:
    """A frame inside a reader's own preamble/postamble that nobody configured.

    Only ambles of two characters or more are recognised: a single stray character before or
    after a frame is damage (and rejected), not a preamble. With a configured preamble
    (``guess_preamble`` False) the frame must start right after it.
    """
    for start in range(0, (MAX_AMBLE if guess_preamble else 0) + 1):
        if s[start:start + 2] != STX or not set(s[start + 2:start + 6]) <= _HEX or len(s) < start + 6:
            continue
        pre = s[:start].strip()
        if pre and len(pre) < 2:
            continue
        length = int(s[start + 4:start + 6] + s[start + 2:start + 4], 16)
        for total in (length + ENVELOPE_CHARS, 2 * length + ENVELOPE_CHARS):
            end = start + total
            post = s[end:].strip()
            if end > len(s) or (post and not min_post <= len(post) <= MAX_AMBLE) or (not pre and not post):
                continue
            if s[end - 2:end] != ETX:
                continue
            try:
                return _parse_envelope(_envelope(s[start:end]))
            except ReaderNotEncrypting:
                raise
            except SwipeRejected:
                continue
    return None


def _parse_envelope(env: _Envelope) -> SwipedCard:
    try:
        fields = _walk(env.data, env.rendering)
    except _Broken as broken:
        # A corrupted frame usually fails its checks too: name the check when it fails.
        intact = _chars_ok_any_case(env) or (env.rendering == "hex" and _ok(env, bytes.fromhex(env.data)))
        if not intact:
            raise SwipeRejected(_failed_check_chars(env)) from None
        raise SwipeRejected("format", f"Card read rejected: unsupported frame ({broken.check}). "
                            "Please swipe the card again.") from None

    # Letter case: the reader types hex in one case; Caps Lock flips every letter.
    frame_spans = [(0, 6)] + [(6 + a, 6 + b) for a, b in fields.hex_spans] + [
        (len(env.text) - 6, len(env.text))]
    cases = _case_of(env.text, frame_spans)
    if len(cases) > 1:
        raise SwipeRejected("letter case", "Card read rejected: mixed letter case (a character was "
                            "altered). Please swipe the card again.")
    caps_lock = env.rendering == "keyboard" and cases == {"lower"}

    if caps_lock:
        meant = _invert_letters(env.text)
        data_meant = meant[6:6 + len(env.data)]
        card_bytes = _bytes_with_ascii(fields, data_meant)
        tracks = {n: t.swapcase() for n, t in fields.tracks.items()}
    else:
        meant = env.text.upper() if env.rendering == "hex" else env.text
        data_meant = env.data
        card_bytes = fields.card_bytes
        tracks = fields.tracks

    checks = None
    if env.rendering == "keyboard":
        if _ok(env, (ord(c) for c in data_meant)):
            checks = "chars"
        elif _ok(env, card_bytes):
            checks = "bytes"
    else:
        if _ok(env, card_bytes):
            checks = "bytes"
        elif _ok(env, (ord(c) for c in env.data.upper())) or _ok(env, (ord(c) for c in env.data)):
            checks = "chars"
    if checks is None:
        if env.rendering == "keyboard":
            raise SwipeRejected(_failed_check(env, [(ord(c) for c in data_meant), card_bytes])) from None
        raise SwipeRejected(_failed_check(env, [card_bytes, (ord(c) for c in env.data.upper())])) from None

    try:
        masked_pan, name, expiry = _masked_fields(tracks)
    except _Broken as broken:
        if fields.format != "keyed" and _encode_type(env) & 0x07 in (1, 3, 4):
            raise SwipeRejected("not a payment card", "Card read rejected: not a payment card "
                                "(an ID or other card was swiped).") from None
        raise SwipeRejected("format", f"Card read rejected: unsupported frame ({broken.check}). "
                            "Please swipe the card again.") from None
    if fields.format == "keyed":
        expiry = fields.keyed_expiry
    last4 = masked_pan[-4:] if masked_pan and masked_pan[-4:].isdigit() else None
    payload = EncryptedPayload(meant, fields.blocks, fields.clear_lengths)
    return SwipedCard(
        format=fields.format,
        masked_pan=masked_pan,
        last4=last4,
        brand=brand_of(masked_pan) if masked_pan else None,
        name=name,
        expiry=expiry,
        serial=fields.serial,
        ksn=fields.ksn.hex().upper(),
        encryption=fields.encryption,
        checks=checks,
        rendering=env.rendering,
        caps_lock=caps_lock,
        payload=payload,
    )


def _encode_type(env: _Envelope) -> int:
    return int(env.data[:2], 16)


def _bytes_with_ascii(fields: _Fields, data: str) -> bytes:
    """The decoded card bytes with the typed ASCII fields taken from ``data``."""
    out = bytearray()
    spans = sorted([(a, b, "hex") for a, b in fields.hex_spans] + [(a, b, "ascii") for a, b in fields.ascii_spans])
    for a, b, kind in spans:
        out += bytes.fromhex(data[a:b]) if kind == "hex" else data[a:b].encode("ascii")
    return bytes(out)


def _ok(env: _Envelope, units) -> bool:
    return _lrc_cks(units) == (env.lrc, env.cks)


def _failed_check(env: _Envelope, candidates) -> str:
    """"checksum" when some convention's LRC matched (only the sum failed), else "LRC"."""
    for units in candidates:
        lrc, _ = _lrc_cks(units)
        if lrc == env.lrc:
            return "checksum"
    return "LRC"


def _failed_check_chars(env: _Envelope) -> str:
    candidates = [(ord(c) for c in env.data), (ord(c) for c in env.data.swapcase())]
    if env.rendering == "hex":
        candidates.append(bytes.fromhex(env.data))
    return _failed_check(env, candidates)


def _chars_ok_any_case(env: _Envelope) -> bool:
    return any(_ok(env, (ord(c) for c in d)) for d in (env.data, env.data.swapcase(), env.data.upper()))
