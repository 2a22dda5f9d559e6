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
