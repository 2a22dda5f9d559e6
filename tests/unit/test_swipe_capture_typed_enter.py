"""A fast typist's "02…" ended with Enter is their typing, not a truncated card read.

Found by the Xvfb end-to-end test: "0251000123" typed 40 ms a key (under the 55 ms burst gap)
starts like a frame header, and the Enter that ends it used to end "the frame": everything
typed was dropped, the search never ran and the cashier saw "Card read rejected: truncated".
A burst far too short for the length its header declares is given back with its Enter —
the same rule that already applied when such a burst simply stopped.
"""

from __future__ import annotations

import pytest

from console.devices.capture import run_stream, typed
from tests.swipe_frames import FrameSpec, build_frame


@pytest.mark.parametrize("text", ["0251000123\r", "02A30180 Pioneer\r", "02510001\n", "02A3018003\r"])
@pytest.mark.parametrize("gap", [0.012, 0.040])
def test_a_person_typing_a_header_like_text_and_enter_gets_it_all_back(text, gap):
    out = run_stream(typed(text, gap=gap))
    assert out.delivered == text
    assert (out.cards, out.failures) == ([], [])
    assert "error" not in out.states


def test_a_real_frame_ended_by_a_cr_is_still_a_card():
    frame = build_frame(FrameSpec(ksn="62994900000000F00031"))
    out = run_stream(typed(frame + "\r", gap=0.0012))
    assert len(out.cards) == 1 and out.delivered == ""


def test_a_frame_cut_short_by_the_reader_is_still_refused_not_typed():
    """A reader that lost the middle of a frame still typed most of it: that is a failed read
    (swipe again), never text for the focused field."""
    frame = build_frame(FrameSpec(ksn="62994900000000F00032"))
    out = run_stream(typed(frame[:120] + "\r", gap=0.0012))
    assert out.delivered == "" and out.cards == [] and len(out.failures) == 1


def _uneven(text: str, first_pause: float) -> list[tuple[str, float]]:
    """The first key, a pause longer than the burst gap, then the rest fast (40 ms a key)."""
    keys = [(text[0], 0.0)]
    t = first_pause
    for ch in text[1:]:
        keys.append((ch, t))
        t += 0.040
    return keys


@pytest.mark.parametrize("text", ["0251000123\r", "0251000123", "02A30180 Pioneer\r", "02A30180 x"])
def test_a_pause_after_the_first_0_does_not_make_the_rest_a_card_that_lost_its_start(text):
    """Found by the e2e test on a busy machine: "0", a pause, then "251000123⏎" fast read as a
    frame whose first character was lost — the "0" had been typed into the field just before.
    Far too short for the length its (rebuilt) header declares: it is typing, given back."""
    out = run_stream(_uneven(text, first_pause=0.120))
    assert out.delivered == text
    assert (out.cards, out.failures) == ([], [])


def test_a_frame_that_really_lost_its_first_characters_is_still_a_card_read():
    frame = build_frame(FrameSpec(ksn="62994900000000F00033"))
    for lost in (1, 2):
        out = run_stream(typed(frame[lost:] + "\r", gap=0.0012))
        assert out.delivered == "" and out.cards == [] and len(out.failures) == 1  # refused, never typed
