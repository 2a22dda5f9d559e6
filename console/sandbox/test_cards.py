"""Training cards: IDTech SRED frames the sandbox gateway approves — SANDBOX / TRAINING ONLY.

The public sample frames are encrypted under keys the sandbox does not have, so they are
declined. These are built like a demo SREDKey builds them: the public test card numbers,
tracks DUKPT-encrypted with the public ANSI test BDK (``dukpt.ANSI_TEST_BDK``, the key the
sandbox gateway decrypts with), enhanced format, keyboard rendering, and a new KSN for every
read as a reader does (a KSN used twice is declined as a replay).

The amount's cents choose the outcome in the sandbox (``docs/sandbox-gateway.md``); the
Training cards page lists them (``TEST_RULES``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from console.sandbox import dukpt

#: Public test card numbers (Luhn-valid; no real account).
TEST_CARDS: dict[str, str] = {
    "Visa": "4111111111111111",
    "Mastercard": "5454545454545454",
    "American Express": "371449635398431",
    "Discover": "6011000995500000",
}

#: What the sandbox does by the amount's cents (the gateway's rules, docs/sandbox-gateway.md).
TEST_RULES: tuple[tuple[str, str], ...] = (
    ("any other cents (e.g. $25.00)", "approved"),
    (".01", "declined — Do not honor (05)"),
    (".02", "approved, but the answer is lost: the console asks again by key and charges once"),
    (".03", "declined — Expired card (54)"),
    (".04", "declined — Insufficient funds (51)"),
    (".05", "processor unavailable (HTTP 503): nothing is charged"),
)

SERIAL = "TRAINING01"  # the reader serial these reads carry


@dataclass(frozen=True)
class TrainingCard:
    brand: str
    pan: str
    name: str = "TRAINING/CARD"
    expiry: str = "3012"  # YYMM, years ahead

    @property
    def masked_pan(self) -> str:
        return self.pan[:4] + "*" * (len(self.pan) - 8) + self.pan[-4:]


def new_ksn() -> str:
    """A fresh KSN: the demo key-set prefix, a random device part and transaction counter."""
    counter = secrets.randbelow((1 << 21) - 2) + 1
    device = secrets.randbits(19)
    tail = (device << 21) | counter  # 40 bits: 19 device + 21 counter
    return f"629949{tail:014X}"[:20].rjust(20, "0")


def _lrc(track: str) -> str:
    x = 0
    for c in track:
        x ^= ord(c) & 0x3F
    return chr(0x20 + (x & 0x3F))


def _clear_tracks(card: TrainingCard) -> tuple[str, str]:
    t1 = f"%B{card.pan}^{card.name}^{card.expiry}1010000000000000000?"
    t2 = f";{card.pan}={card.expiry}10100000000000?"
    return t1 + _lrc(t1), t2 + _lrc(t2)


def _masked(head: str, clear: str) -> str:
    return head + "*" * (len(clear) - len(head) - 2) + "?*"


def build_frame(card: TrainingCard, ksn: str | None = None) -> str:
    """The characters a SREDKey types for one swipe of ``card`` (enhanced format, TDES)."""
    ksn = (ksn or new_ksn()).upper()
    key = dukpt.data_key(dukpt.ANSI_TEST_BDK, ksn)
    t1, t2 = _clear_tracks(card)
    parts: list[tuple[str, bytes | str]] = [
        ("hex", bytes((0x80, 0x03, len(t1), len(t2), 0, 0x83, 0x80 | 0x03 | 0x18))),
        ("ascii", _masked(f"%*{card.masked_pan}^{card.name}^****", t1)),
        ("ascii", _masked(f";{card.masked_pan}=****", t2)),
        ("hex", dukpt.encrypt_block(key, t1.encode())),
        ("hex", dukpt.encrypt_block(key, t2.encode())),
        ("hex", bytes(20)), ("hex", bytes(20)),  # SRED readers send zero hashes
        ("hex", SERIAL.encode().ljust(10, b"\x00")),
        ("hex", bytes.fromhex(ksn)),
    ]
    data = "".join(v.hex().upper() if kind == "hex" else v for kind, v in parts)
    lrc, cks = 0, 0
    for c in data:
        lrc ^= ord(c)
        cks = (cks + ord(c)) & 0xFF
    length = len(data)
    return f"02{length & 0xFF:02X}{length >> 8:02X}{data}{lrc:02X}{cks:02X}03"


def training_cards() -> list[TrainingCard]:
    return [TrainingCard(brand, pan) for brand, pan in TEST_CARDS.items()]
