"""Keystroke burst detector: reader bursts are frames, people's typing is never lost."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.devices.capture import (
    ERROR,
    HOLD,
    LISTENING,
    PASS,
    RECEIVING,
    SWALLOW,
    BurstDetector,
    CaptureSettings,
    Discard,
    FrameTiming,
    Replay,
    run_stream,
    typed,
)
from console.devices.sred import ReaderNotEncrypting
from tests.data_files import idtech_samples
from tests.swipe_frames import FrameSpec, build_frame, variants

SAMPLES = idtech_samples()
V1 = SAMPLES[0]["frame"]


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["id"] for s in SAMPLES])
def test_sample_frames_at_reader_speed_are_captured_whole(sample):
    out = run_stream(typed(sample["frame"] + "\r"))
    assert out.delivered == ""
    assert [c.ksn for c in out.cards] == [sample["ksn"]]
    assert out.failures == []
    assert out.states == [RECEIVING, LISTENING]


@pytest.mark.parametrize("delay_ms", [1.2, 2, 5, 10, 20, 50])
def test_every_reader_delay_setting(delay_ms):
    out = run_stream(typed("abc") + typed(V1 + "\r", start=1.0, gap=delay_ms / 1000) + typed("xyz", start=60, gap=0.1))
    assert out.delivered == "abcxyz"
    assert len(out.cards) == 1 and out.cards[0].last4 == "9990"


@pytest.mark.parametrize("spec", [s for s in variants() if s.rendering == "keyboard"],
                         ids=lambda s: f"{s.format}-{s.checks}-{'caps' if s.caps_lock else 'nocaps'}")
def test_generated_keyboard_frames_of_every_kind(spec):
    frame = build_frame(spec)
    out = run_stream(typed(frame))
    assert out.delivered == "" and out.failures == []
    assert out.cards[0].masked_pan == spec.expected()["masked_pan"]
    assert out.cards[0].name == spec.expected()["name"]


def test_hex_rendered_frame_typed_is_captured():
    out = run_stream(typed(SAMPLES[4]["frame"]))
    assert out.delivered == "" and out.cards[0].checks == "bytes"


def _human_gaps(seed: int):
    rng = random.Random(seed)
    return lambda i: rng.uniform(0.060, 0.150)


@pytest.mark.parametrize("text", [
    "02", "0280", "1020 02 dollars", "029C01801F", "Account 02-0031, paid 02/03",
    V1[:40], "%B", ";0123", "02\r", "020001234567\r",
])
def test_human_typing_with_02_is_never_captured_and_never_lost(text):
    out = run_stream(typed(text, gap=_human_gaps(len(text))))
    assert out.delivered == text
    assert out.cards == [] and out.failures == []
    assert RECEIVING not in out.states


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("0123456789abcdefABCDEF%;^=?*/ \rxyzXYZ")), min_size=1, max_size=60),
    gaps=st.lists(st.floats(min_value=0.060, max_value=0.150), min_size=60, max_size=60),
)
def test_property_people_typing_lose_nothing(text, gaps):
    out = run_stream(typed(text, gap=lambda i: gaps[i]))
    assert out.delivered == text
    assert out.cards == [] and out.failures == []


def test_a_whole_frame_typed_by_hand_is_not_a_swipe():
    out = run_stream(typed(V1, gap=_human_gaps(1)))
    assert out.delivered == V1 and out.cards == []


def test_fast_key_rollover_and_a_barcode_scanner_pass_through():
    out = run_stream(typed("the", gap=0.02) + typed("0123456789012\r", start=1, gap=0.003))
    assert out.delivered == "the0123456789012\r"
    assert out.cards == [] and out.failures == []


def test_held_character_is_replayed_when_the_next_comes_slowly():
    det = BurstDetector()
    assert det.feed("0", 0.0) == [HOLD]
    assert det.held_count == 1
    assert det.feed("2", 0.1) == [Replay(1, "0"), HOLD]
    assert det.poll(0.2) == [Replay(1, "2")]
    assert det.feed("x", 0.3) == [PASS]


def test_idle_timeout_replays_undecided_characters():
    det = BurstDetector(CaptureSettings(max_gap=0.05))
    det.feed("0", 1.0)
    det.feed("2", 1.001)
    assert det.poll(1.03) == []
    assert det.next_deadline() == pytest.approx(1.052)
    assert det.poll(1.06) == [Replay(2, "02")]
    assert det.next_deadline() is None


def test_non_character_key_flushes_held_keys_first():
    det = BurstDetector()
    det.feed("7", 0.0)
    assert det.flush(0.01) == [Replay(1, "7")]


def test_frame_ends_by_declared_length_and_its_cr_postamble_is_swallowed():
    det = BurstDetector()
    cards = []
    det.on_card = lambda card, timing: cards.append((card, timing))
    actions = []
    for char, t in typed(V1):
        actions += det.feed(char, t)
    assert cards, "the card arrives on the last frame character, before any CR or timeout"
    assert actions.count(HOLD) == len(V1) and actions[-1] == Discard(len(V1))
    assert det.feed("\r", len(V1) * 0.0012) == [SWALLOW]
    card, timing = cards[0]
    assert timing.chars == len(V1)
    assert timing.min_ms == pytest.approx(1.2) and timing.max_ms == pytest.approx(1.2)


def test_truncated_frame_ends_by_cr():
    out = run_stream(typed(V1[:-2] + "\r"))
    assert out.delivered == ""
    assert [f.check for f in out.failures] == ["truncated"]


def test_truncated_frame_ends_by_idle_timeout_then_listens_again():
    det = BurstDetector(CaptureSettings(frame_timeout=0.3, error_hold=2.0))
    failures, states = [], []
    det.on_failure = lambda exc, timing: failures.append(exc.check)
    det.on_state = states.append
    end = 0.0
    for char, t in typed(V1[:-2]):
        det.feed(char, t)
        end = t
    assert det.state == RECEIVING and failures == []
    assert det.poll(end + 0.2) == []
    assert det.poll(end + 0.31) == [Discard(len(V1) - 2)]
    assert failures == ["truncated"] and det.state == ERROR
    det.poll(end + 3.0)
    assert det.state == LISTENING
    assert states == [RECEIVING, ERROR, LISTENING]


def test_lost_first_character_is_swallowed_and_reported():
    out = run_stream(typed(V1[1:] + "\r"))
    assert out.delivered == ""
    assert [f.check for f in out.failures] == ["missing STX"]


def test_clear_tracks_are_swallowed_and_refused():
    clear = "%B4111111111111111^SMITH/JOHN^2412101000?;4111111111111111=2412101000?\r"
    out = run_stream(typed(clear))
    assert out.delivered == ""
    assert len(out.failures) == 1 and isinstance(out.failures[0], ReaderNotEncrypting)
    assert "4111" not in str(out.failures[0])


def test_caps_lock_frame():
    out = run_stream(typed(V1.swapcase()))
    assert out.delivered == "" and out.cards[0].name == "TEST/BLUEFIN"
    assert out.cards[0].caps_lock


def test_duplicate_ksn_is_refused():
    keys = typed(V1 + "\r") + typed(V1 + "\r", start=3.0)
    out = run_stream(keys)
    assert len(out.cards) == 1
    assert [f.check for f in out.failures] == ["duplicate swipe"]
    assert out.delivered == ""


def test_swipe_between_typing_keeps_every_typed_character():
    keys = typed("Pay 120", gap=0.09) + typed(V1 + "\r", start=1.0) + typed("02.50", start=2.0, gap=0.07)
    out = run_stream(keys)
    assert out.delivered == "Pay 12002.50"
    assert len(out.cards) == 1


def test_two_different_swipes():
    a = build_frame(FrameSpec(ksn="62994900000000A00001"))
    b = build_frame(FrameSpec(ksn="62994900000000A00002", pan="5454545454545454"))
    out = run_stream(typed(a + "\r") + typed(b + "\r", start=2))
    assert [c.brand for c in out.cards] == ["Visa", "Mastercard"]


def test_configured_preamble():
    spec = FrameSpec(preamble="!ID", postamble="\r")
    out = run_stream(typed(build_frame(spec)), CaptureSettings(preamble="!ID"))
    assert out.delivered == "" and len(out.cards) == 1


def test_reader_speed_frame_after_a_gap_in_the_middle_is_given_up():
    keys = typed(V1[:200]) + typed(V1[200:], start=5.0)
    out = run_stream(keys)
    assert out.cards == []
    assert out.failures and out.failures[0].check == "truncated"
    assert out.delivered == ""  # the second half is a failed frame too, never typed into a field


def test_frame_timing_statistics():
    timing = FrameTiming.of([0.0, 0.001, 0.003, 0.004])
    assert (timing.min_ms, timing.median_ms, timing.max_ms) == pytest.approx((1.0, 1.0, 2.0))
    assert FrameTiming.of([1.0]).chars == 1


def test_settings_are_plain_values():
    assert replace(CaptureSettings(), max_gap=0.03).max_gap == 0.03


def test_long_numeric_scan_line_passes_through():
    scan = "0" + "123456789" * 6 + "\r"  # a bill's OCR scan line from a barcode scanner
    out = run_stream(typed(scan, gap=0.002))
    assert out.delivered == scan and out.failures == []


def test_a_key_typed_just_before_the_swipe_is_kept():
    keys = typed("12.50", gap=0.1) + typed(V1 + "\r", start=0.4 + 0.0012)
    out = run_stream(keys)
    assert out.delivered == "12.50"
    assert len(out.cards) == 1


def test_back_to_back_frames_are_both_read():
    second = SAMPLES[2]["frame"]
    out = run_stream(typed(V1 + "\r" + second + "\r"))
    assert [c.ksn for c in out.cards] == [SAMPLES[0]["ksn"], SAMPLES[2]["ksn"]]
    assert out.delivered == ""


def test_frame_after_an_unconfigured_preamble_is_still_captured():
    keys = typed("ID:" + V1 + "\r")
    out = run_stream(keys)
    assert out.delivered == "ID:"  # only the preamble the console was not told about
    assert len(out.cards) == 1


@pytest.mark.parametrize("cut", [60, 330, 380])  # in the masked tracks, the hash zeros, the KSN
def test_reader_stall_mid_frame_leaks_nothing(cut):
    keys = typed(V1[:cut]) + typed(V1[cut:] + "\r", start=cut * 0.0012 + 1.0)
    out = run_stream(keys + typed("ok", start=5.0, gap=0.1))
    assert out.cards == []
    assert out.failures, "the operator is asked to swipe again"
    assert out.delivered == "ok"


def test_person_typing_right_after_a_failed_swipe_is_kept():
    keys = typed(V1[:-3] + "\r") + typed("12.50", start=1.5, gap=0.09)
    out = run_stream(keys)
    assert out.delivered == "12.50" and len(out.failures) == 1


_HUMAN = st.text(alphabet=st.sampled_from(list("0123456789abcdefABCDEF02%;^=?*/ .,\rxyzXYZ")), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(st.one_of(
        st.tuples(st.just("human"), _HUMAN, st.floats(min_value=0.060, max_value=0.150)),
        st.tuples(st.just("reader"), st.sampled_from(["enhanced", "original", "keyed"]),
                  st.sampled_from([0.0012, 0.002, 0.005, 0.010, 0.020, 0.050])),
    ), min_size=1, max_size=5),
    caps=st.booleans(),
    cr=st.booleans(),
)
def test_property_mixed_typing_and_swipes(parts, caps, cr):
    """Any interleaving of people typing and swipes (seconds apart): every typed character is
    delivered in order, every swipe is read, nothing else happens."""
    keys: list = []
    want_text = ""
    want_ksns = []
    t = 0.0
    for n, (kind, value, gap) in enumerate(parts):
        if kind == "human":
            keys += typed(value, start=t, gap=gap)
            want_text += value
        else:
            ksn = f"62994900000000A{n:05X}"
            keys += typed(build_frame(FrameSpec(format=value, caps_lock=caps, ksn=ksn)) + ("\r" if cr else ""),
                          start=t, gap=gap)
            want_ksns.append(ksn)
        t = keys[-1][1] + 0.5
    out = run_stream(keys)
    assert out.delivered == want_text
    assert [c.ksn for c in out.cards] == want_ksns
    assert out.failures == []
