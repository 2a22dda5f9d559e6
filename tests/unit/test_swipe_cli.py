"""``biller-console swipe parse``: JSON on success, exit 2 and one line on stderr otherwise."""

from __future__ import annotations

import io
import json

import pytest

from console.cli import main
from tests.data_files import idtech_samples
from tests.swipe_frames import FrameSpec, build_frame

SAMPLES = idtech_samples()
KEYS = ("format", "masked_pan", "last4", "brand", "name", "expiry", "serial", "ksn", "encryption", "checks")


def _run(monkeypatch, capsys, text: str, *extra: str):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    code = main(["swipe", "parse", *extra])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["id"] for s in SAMPLES])
def test_parse_prints_the_fields(sample, monkeypatch, capsys):
    code, out, err = _run(monkeypatch, capsys, sample["frame"] + "\r\n")
    assert code == 0 and err == ""
    got = json.loads(out)
    assert set(KEYS) <= set(got)
    for key in KEYS:
        if key in sample:
            assert got[key] == sample[key], key
    assert out.count("\n") == 1
    tail = sample["frame"][-60:-30]  # inside the encrypted/hash/KSN part
    assert tail and tail not in out  # the encrypted payload is never printed


def test_generated_hex_frame(monkeypatch, capsys):
    spec = FrameSpec(format="original", rendering="hex", checks="bytes", lower_hex=True)
    code, out, _ = _run(monkeypatch, capsys, build_frame(spec) + "\n")
    assert code == 0
    assert {k: json.loads(out)[k] for k in spec.expected()} == spec.expected()


@pytest.mark.parametrize(
    "text, reason",
    [
        ("%B4111111111111111^SMITH/JOHN^24121011000000000000?;4111111111111111=2412101?", "not encrypting"),
        (SAMPLES[0]["frame"][1:], "missing STX"),
        (SAMPLES[0]["frame"][:-2], "truncated"),
        ("", "empty"),
    ],
)
def test_rejected_frames_exit_2_with_one_line_and_no_card_data(text, reason, monkeypatch, capsys):
    code, out, err = _run(monkeypatch, capsys, text)
    assert code == 2
    assert out == ""
    assert reason in err and err.count("\n") == 1
    assert "4111111111111111" not in err and "SMITH" not in err and "4124" not in err


def test_configured_preamble(monkeypatch, capsys):
    frame = build_frame(FrameSpec(preamble="#"))
    code, out, _ = _run(monkeypatch, capsys, frame, "--preamble", "#")
    assert code == 0 and json.loads(out)["last4"] == "1111"
