"""``swipe parse`` on frames typed under non-US keyboard layouts (idtech-sred.md §5).

A keyboard-wedge reader presses US-layout keys; text typed under another layout carries that
layout's characters for the same keys ("on a non-US layout characters such as ^ and /
change"). The typed renderings below are written out by hand for each layout, independently
of the console's tables, from frames built by tests/swipe_frames.py.
"""

from __future__ import annotations

import io
import json

import pytest

from console.cli import main
from tests.swipe_frames import FrameSpec, build_frame

KEYS = ("format", "masked_pan", "last4", "name", "expiry", "serial", "ksn", "encryption", "checks")

# What each layout types for the US keys a frame uses (digits, A-F, track punctuation, the
# letters of the names below). Keys not listed type the same character.
GERMAN = {"^": "&", "/": "-", "*": "(", "?": "_", ";": "ö", "=": "´", "Y": "Z", "Z": "Y",
          "y": "z", "z": "y", "-": "ß", "'": "ä"}
FRENCH = {"1": "&", "2": "é", "3": '"', "4": "'", "5": "(", "6": "-", "7": "è", "8": "_", "9": "ç",
          "0": "à", "%": "5", "*": "8", "^": "6", "/": "!", "?": "§", ";": "m", "A": "Q", "Q": "A",
          "W": "Z", "Z": "W", "M": "?", "a": "q", "q": "a", "w": "z", "z": "w", "m": ","}
SPANISH = {"^": "&", "/": "-", "*": "(", "?": "_", ";": "ñ", "=": "¡", "-": "'"}


def _typed(frame: str, layout: dict[str, str]) -> str:
    return "".join(layout.get(c, c) for c in frame)


def _run(monkeypatch, capsys, text: str):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    code = main(["swipe", "parse"])
    out, err = capsys.readouterr()
    return code, out, err


SPECS = [
    FrameSpec(name="ZYLA/YVES"),
    FrameSpec(show_expiry=True, name="MAZUR/WANDA Q"),
    FrameSpec(format="original", tracks=(1, 2), name="SMITH/JOHN"),
    FrameSpec(format="keyed", keyed_zip="84101"),
    FrameSpec(checks="bytes", tracks=(2,), serial=None),
    FrameSpec(aes=True, track3=True),
]


@pytest.mark.parametrize("layout", [GERMAN, FRENCH, SPANISH], ids=["de", "fr", "es"])
@pytest.mark.parametrize("spec", SPECS, ids=range(len(SPECS)))
def test_frame_typed_under_another_layout_reads_as_the_reader_meant(layout, spec, monkeypatch, capsys):
    frame = build_frame(spec)
    typed = _typed(frame, layout)
    code, out, err = _run(monkeypatch, capsys, typed + "\r\n")
    assert code == 0, err
    got = json.loads(out)
    assert {k: got[k] for k in KEYS} == spec.expected()


@pytest.mark.parametrize("layout", [GERMAN, FRENCH], ids=["de", "fr"])
@pytest.mark.parametrize("damage", ["first", "last", "middle"])
def test_a_damaged_frame_stays_rejected_under_any_layout(layout, damage, monkeypatch, capsys):
    frame = build_frame(FrameSpec())
    cut = {"first": frame[1:], "last": frame[:-2], "middle": frame[:60] + frame[61:]}[damage]
    code, out, err = _run(monkeypatch, capsys, _typed(cut, layout))
    assert code == 2 and out == "" and err.startswith("rejected:")


@pytest.mark.parametrize("layout", [GERMAN, FRENCH], ids=["de", "fr"])
def test_clear_tracks_typed_under_another_layout_are_refused_unechoed(layout, monkeypatch, capsys):
    clear = "%B4111111111111111^SMITH/JOHN^24121011000000000000?;4111111111111111=24121011000000000000?"
    typed = _typed(clear, layout)
    code, out, err = _run(monkeypatch, capsys, typed + "\r\n")
    assert code == 2 and out == ""
    assert "not encrypting" in err
    assert "4111111111111111" not in err and typed[2:18] not in err


@pytest.mark.parametrize("spec", [FrameSpec(), FrameSpec(format="original", checks="bytes"),
                                  FrameSpec(format="keyed"), FrameSpec(caps_lock=True, name="O'BRIEN/pat")],
                         ids=["enhanced", "original", "keyed", "caps-lock"])
@pytest.mark.parametrize("case", [str.upper, str.lower], ids=["upper", "lower"])
def test_typed_frame_handed_on_as_hex_text_is_read(spec, case, monkeypatch, capsys):
    """An app that hex-encodes the reader's typed characters ('02CE01…' -> '3032434530 31…')."""
    frame = build_frame(spec)
    code, out, err = _run(monkeypatch, capsys, case(frame.encode("ascii").hex()) + "\r\n")
    assert code == 0, err
    got = json.loads(out)
    assert {k: got[k] for k in KEYS} == spec.expected()


def test_hex_text_of_a_damaged_frame_or_of_clear_tracks_is_refused(monkeypatch, capsys):
    frame = build_frame(FrameSpec())
    code, out, err = _run(monkeypatch, capsys, frame[:-2].encode().hex())
    assert code == 2 and out == "" and err.startswith("rejected:")
    clear = "%B4111111111111111^SMITH/JOHN^24121011000000000000?;4111111111111111=24121011000000000000?"
    code, out, err = _run(monkeypatch, capsys, ("02" + clear).encode().hex())
    assert code == 2 and out == "" and "4111111111111111" not in err


@pytest.mark.parametrize("spec", [FrameSpec(rendering="hex", checks="bytes"),
                                  FrameSpec(format="keyed", rendering="hex", checks="bytes", lower_hex=True)],
                         ids=["enhanced", "keyed"])
def test_hex_frame_written_in_spaced_byte_pairs_is_read(spec, monkeypatch, capsys):
    frame = build_frame(spec)
    spaced = " ".join(frame[i:i + 2] for i in range(0, len(frame), 2))
    code, out, err = _run(monkeypatch, capsys, spaced + "\r\n")
    assert code == 0, err
    assert {k: json.loads(out)[k] for k in KEYS} == spec.expected()
    code, out, err = _run(monkeypatch, capsys, spaced[:-6] + "\r\n")  # the checks and ETX lost
    assert code == 2 and out == ""
