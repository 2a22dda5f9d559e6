"""The card reader's settings as the profile keeps them, checked, and turned into capture settings.

Declared once in ``console.config.FIELDS`` (section ``reader``); the checks here are the
settings' ``check`` functions, so the settings dialog and ``ProfileStore`` refuse a bad value
with the same message. Pure Python.

==========================  =========================================================
``reader_preamble``         characters the reader types before each frame (``ambles``)
``reader_postamble``        characters the reader types after each frame
``reader_terminator``       ``enter`` (the reader presses Enter after the frame) or ``none``
``reader_max_gap_ms``       longest pause between two characters of one swipe
``reader_frame_timeout_ms`` a started frame is given up after this long without a character
``reader_expected_serial``  the counter's reader; a swipe on another reader is refused
``reader_ksn_days``         how long a card read's KSN is remembered to refuse a replay
==========================  =========================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from console.devices.ambles import decode_amble, describe_amble, encode_amble

TERMINATORS = ("enter", "none")
MAX_GAP_MS = (5, 250)
FRAME_TIMEOUT_MS = (200, 5000)
KSN_DAYS = (1, 365)
_SERIAL = re.compile(r"[!-~]{1,10}")


def _int_in(value: Any, bounds: tuple[int, int], unit: str) -> int:
    lo, hi = bounds
    if not lo <= int(value) <= hi:
        raise ValueError(f"must be between {lo} and {hi} {unit}")
    return int(value)


def check_preamble(value: str) -> str:
    decode_amble(value, "preamble")
    return value


def check_postamble(value: str) -> str:
    decode_amble(value, "postamble")
    return value


def check_max_gap(value: int) -> int:
    return _int_in(value, MAX_GAP_MS, "ms (above the reader's character delay, below a person's typing)")


def check_frame_timeout(value: int) -> int:
    return _int_in(value, FRAME_TIMEOUT_MS, "ms")


def check_ksn_days(value: int) -> int:
    return _int_in(value, KSN_DAYS, "days")


def check_serial(value: str) -> str:
    if value and not _SERIAL.fullmatch(value):
        raise ValueError("must be the reader's serial number as the reader test shows it "
                         "(up to 10 letters and digits, no spaces), e.g. T134000064")
    return value


@dataclass(frozen=True)
class ReaderSettings:
    """The reader settings in force (ambles decoded to the characters the reader types)."""

    preamble: str = ""
    postamble: str = ""
    terminator: str = "enter"
    max_gap_ms: int = 55
    frame_timeout_ms: int = 600
    expected_serial: str = ""
    ksn_days: int = 30

    @classmethod
    def from_profile(cls, profile) -> ReaderSettings:
        """From a :class:`console.config.Profile` (values are checked again: a bad one raises)."""
        get = profile.get
        return cls(
            preamble=decode_amble(str(get("reader_preamble") or ""), "preamble"),
            postamble=decode_amble(str(get("reader_postamble") or ""), "postamble"),
            terminator=str(get("reader_terminator") or "enter"),
            max_gap_ms=check_max_gap(get("reader_max_gap_ms")),
            frame_timeout_ms=check_frame_timeout(get("reader_frame_timeout_ms")),
            expected_serial=check_serial(str(get("reader_expected_serial") or "").strip()),
            ksn_days=check_ksn_days(get("reader_ksn_days")),
        )

    def capture_settings(self):
        """The burst detector's settings (:class:`console.devices.capture.CaptureSettings`)."""
        from console.devices.capture import CaptureSettings

        return CaptureSettings(
            max_gap=self.max_gap_ms / 1000.0,
            frame_timeout=self.frame_timeout_ms / 1000.0,
            preamble=self.preamble,
            postamble=self.postamble,
            terminator=self.terminator,
            expected_serial=self.expected_serial,
        )

    def summary(self) -> list[tuple[str, str]]:
        """(label, value) rows for the reader test and the counter's card box."""
        return [
            ("Preamble", describe_amble(self.preamble)),
            ("Postamble", describe_amble(self.postamble)),
            ("Terminator", "Enter" if self.terminator == "enter" else "none"),
            ("Burst threshold", f"{self.max_gap_ms} ms between characters"),
            ("Frame timeout", f"{self.frame_timeout_ms} ms"),
            ("Expected reader", self.expected_serial or "any reader"),
            ("Duplicate check", f"KSNs kept {self.ksn_days} days"),
        ]

    def one_line(self) -> str:
        return " · ".join(f"{label.lower()} {value}" for label, value in self.summary())

    def profile_values(self) -> dict[str, Any]:
        """Back to the profile's form (ambles as text with escapes)."""
        return {
            "reader_preamble": encode_amble(self.preamble),
            "reader_postamble": encode_amble(self.postamble),
            "reader_terminator": self.terminator,
            "reader_max_gap_ms": self.max_gap_ms,
            "reader_frame_timeout_ms": self.frame_timeout_ms,
            "reader_expected_serial": self.expected_serial,
            "reader_ksn_days": self.ksn_days,
        }
