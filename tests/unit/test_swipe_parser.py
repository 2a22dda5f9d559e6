"""IDTech SRED frame parser: every sample, generated frames of every kind, every rejection."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import pickle
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.devices.sred import (
    ReaderNotEncrypting,
    SwipeRejected,
    brand_of,
    looks_like_clear_tracks,
    parse_frame,
)
from console.errors import UserFacingError
from tests.data_files import idtech_samples
from tests.swipe_frames import TEST_PANS, FrameSpec, build_frame, variants

SAMPLES = idtech_samples()
FIELDS = ("format", "masked_pan", "last4", "name", "expiry", "serial", "ksn", "encryption", "checks")
CLEAR = "%B4111111111111111^SMITH/JOHN^24121011000000000000?;4111111111111111=24121011000000000000?"


def _fields(card) -> dict:
    return {k: getattr(card, k) for k in FIELDS}


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["id"] for s in SAMPLES])
def test_every_sample_parses_to_its_published_fields(sample):
    card = parse_frame(sample["frame"])
    assert _fields(card) == {k: sample[k] for k in FIELDS}
    assert card.rendering == sample["rendering"]


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["id"] for s in SAMPLES])
def test_samples_with_cr_lf_postamble_and_caps_lock(sample):
    assert _fields(parse_frame(sample["frame"] + "\r\n")) == {k: sample[k] for k in FIELDS}
    flipped = sample["frame"].swapcase()
    card = parse_frame(flipped)
    assert _fields(card) == {k: sample[k] for k in FIELDS}  # name case restored
    assert card.caps_lock is (sample["rendering"] == "keyboard")


@pytest.mark.parametrize("spec", variants(), ids=lambda s: f"{s.format}-{s.rendering}-{s.checks}")
def test_generated_frames_of_every_kind(spec):
    card = parse_frame(build_frame(spec))
    assert _fields(card) == spec.expected()
    assert card.rendering == spec.rendering
    assert card.brand == (brand_of(spec.pan[: spec.clear_first]) if spec.format != "keyed" else None)


def test_brand_from_leading_digits():
    assert brand_of("4124") == "Visa"
    assert brand_of("5454") == "Mastercard"
    assert brand_of("2221") == "Mastercard"
    assert brand_of("3714") == "American Express"
    assert brand_of("6011") == "Discover"
    assert brand_of("3530") == "JCB"
    assert brand_of("3056") == "Diners Club"
    assert brand_of("") is None and brand_of("****") is None
    assert brand_of("9999") is None


def test_brand_in_parsed_card():
    for brand, pan in TEST_PANS.items():
        assert parse_frame(build_frame(FrameSpec(pan=pan))).brand == brand


# ---------------------------------------------------------------- rejections naming the check


V1 = SAMPLES[0]["frame"]


@pytest.mark.parametrize(
    "frame, check",
    [
        (V1[1:], "missing STX"),
        (V1[:-2], "truncated"),
        (V1[:-1], "truncated"),
        (V1[:200], "truncated"),
        (V1[:100] + "A" + V1[100:], "length mismatch"),
        (V1[:-2] + "04", "missing ETX"),
        ("", "empty"),
        ("02", "truncated"),
        ("hello world", "missing STX"),
    ],
)
def test_rejections_name_the_failed_check(frame, check):
    with pytest.raises(SwipeRejected) as err:
        parse_frame(frame)
    assert err.value.check == check
    assert check in str(err.value)
    assert isinstance(err.value, UserFacingError)


def _with_field(frame: str, start_from_end: int, value: str) -> str:
    i = len(frame) - start_from_end
    return frame[:i] + value + frame[i + 2:]


def test_lrc_and_checksum_failures_are_named_separately():
    lrc = int(V1[-6:-4], 16)
    cks = int(V1[-4:-2], 16)
    with pytest.raises(SwipeRejected) as err:
        parse_frame(_with_field(V1, 6, f"{lrc ^ 1:02X}"))
    assert err.value.check == "LRC"
    with pytest.raises(SwipeRejected) as err:
        parse_frame(_with_field(V1, 4, f"{(cks + 1) & 0xFF:02X}"))
    assert err.value.check == "checksum"


def test_data_change_is_named_as_a_failed_lrc():
    i = V1.index("TEST")
    with pytest.raises(SwipeRejected) as err:
        parse_frame(V1[:i] + "B" + V1[i + 1:])
    assert err.value.check == "LRC"


def test_unsupported_layout_with_good_checks_is_a_format_error():
    spec = FrameSpec(rendering="hex", checks="bytes")
    frame = build_frame(spec)
    # Change the encode type to an unknown value and recompute the checks.
    raw = bytearray(bytes.fromhex(frame[6:-6]))
    raw[0] = 0x45
    lrc = 0
    for b in raw:
        lrc ^= b
    rebuilt = frame[:6] + raw.hex().upper() + f"{lrc:02X}{sum(raw) & 0xFF:02X}03"
    with pytest.raises(SwipeRejected) as err:
        parse_frame(rebuilt)
    assert err.value.check == "format"


def test_mixed_case_hex_is_rejected():
    i = next(i for i, c in enumerate(V1) if c in "ABCDEF" and i > 300)
    with pytest.raises(SwipeRejected) as err:
        parse_frame(V1[:i] + V1[i].lower() + V1[i + 1:])
    assert err.value.check == "letter case"


def test_configured_preamble_and_postamble():
    frame = build_frame(FrameSpec(preamble="ID>", postamble="<END\r"))
    card = parse_frame(frame, preamble="ID>", postamble="<END")
    assert card.masked_pan == "4111********1111"
    # Not configured: a preamble/postamble of two characters or more is still recognised.
    assert parse_frame(frame).masked_pan == "4111********1111"
    for one_char in ("#" + build_frame(FrameSpec()), build_frame(FrameSpec()) + "#"):
        with pytest.raises(SwipeRejected):
            parse_frame(one_char)  # a single stray character is damage, not a preamble


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["id"] for s in SAMPLES])
def test_samples_inside_unconfigured_ambles(sample):
    assert _fields(parse_frame("PRE" + sample["frame"] + "POST\r\n")) == {k: sample[k] for k in FIELDS}
    assert _fields(parse_frame(sample["frame"] + "\x03\x04")) == {k: sample[k] for k in FIELDS}


# ---------------------------------------------------------------- clear data: refused, never echoed


@pytest.mark.parametrize(
    "clear",
    [
        CLEAR,
        CLEAR + "\r",
        ";4111111111111111=24121011000000000000?",
        "%B4111111111111111^SMITH/JOHN^2412101?",
        "%E?;4111111111111111=2412101?",
    ],
)
def test_clear_tracks_are_refused_without_echo(clear, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ReaderNotEncrypting) as err:
        parse_frame(clear)
    exc = err.value
    assert exc.check == "reader is not encrypting"
    texts = [str(exc), repr(exc), *map(str, exc.args), exc.message, str(exc.hint), caplog.text]
    assert exc.__cause__ is None and exc.__context__ is None
    for text in texts:
        assert "4111111111111111" not in text and "SMITH" not in text and "2412" not in text
    assert "4111111111111111" not in str(pickle.loads(pickle.dumps(exc)).args)


def test_unmasked_pan_inside_a_frame_is_refused_without_echo():
    spec = FrameSpec(clear_first=4)
    frame = build_frame(spec)
    masked = spec.masked_pan()
    # A reader whose masking is off: the full PAN in the "masked" field (checks recomputed).
    data = frame[6:-6].replace(masked, spec.pan)
    lrc = 0
    for c in data:
        lrc ^= ord(c)
    rebuilt = "02" + frame[2:6] + data + f"{lrc:02X}{sum(map(ord, data)) & 0xFF:02X}03"
    with pytest.raises(SwipeRejected) as err:
        parse_frame(rebuilt)
    assert err.value.check == "reader is not masking"
    assert spec.pan not in str(err.value) + repr(err.value)


def test_clear_track_detector():
    assert looks_like_clear_tracks(CLEAR)
    assert not looks_like_clear_tracks(V1)
    assert not looks_like_clear_tracks("just a note 1234")


# ---------------------------------------------------------------- the opaque payload


def test_payload_is_opaque_and_cannot_be_stored():
    card = parse_frame(V1)
    payload = card.payload
    secret_part = V1[300:340]
    for text in (repr(card), str(card), repr(payload), str(payload), f"{payload}", json.dumps(card.as_dict())):
        assert secret_part not in text
        assert "C0A0ECE0" not in text
    assert "payload" not in card.as_dict()
    with pytest.raises(TypeError):
        pickle.dumps(payload)
    with pytest.raises(TypeError):
        pickle.dumps(card)
    assert copy.deepcopy(card).payload is payload
    with pytest.raises(TypeError):
        json.dumps(dataclasses.asdict(card))  # never silently serialisable
    assert payload.frame == V1
    assert set(payload.blocks) == {"track1", "track2"}
    assert card.without_payload().payload is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.name = "X"  # type: ignore[misc]


# ---------------------------------------------------------------- property: one-character damage

_SPECS = st.builds(
    FrameSpec,
    format=st.sampled_from(["enhanced", "original", "keyed"]),
    rendering=st.sampled_from(["keyboard", "hex"]),
    checks=st.sampled_from(["chars", "bytes"]),
    caps_lock=st.booleans(),
    lower_hex=st.booleans(),
    pan=st.sampled_from(list(TEST_PANS.values())),
    name=st.from_regex(r"[A-Z][A-Za-z .']{0,12}/[A-Z][A-Za-z]{0,10}", fullmatch=True),
    show_expiry=st.booleans(),
    tracks=st.sampled_from([(1,), (2,), (1, 2)]),
    serial=st.sampled_from([None, "T134000064", "B23A11ZZ09"]),
    ksn=st.binary(min_size=10, max_size=10).map(lambda b: b.hex().upper()),
    aes=st.booleans(),
)
_CHARS = st.sampled_from(list("0123456789ABCDEFabcdef%;^=?*/ XYZxyz\r\t") + ["\x00", "é", "\ufeff"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=_SPECS, data=st.data())
def test_any_single_character_damage_is_rejected_never_misparsed(spec, data):
    """Deletion, insertion or substitution of one character anywhere must be rejected.

    Why it holds: a deletion/insertion changes the total length (the declared length no longer
    fits either rendering) unless it hits the length field itself, whose new value then has
    to fit exactly, and the LRC (XOR) plus CKS (sum) over the shifted data must still match;
    a substitution in the card data changes the XOR of both conventions and the sum; one in
    STX/ETX/length/LRC/CKS breaks that field; a case flip of a hex letter leaves mixed case.
    White space added at either end is a tolerated CR/LF postamble (same card), not damage.
    """
    frame = build_frame(spec)
    good = _fields(parse_frame(frame))
    kind = data.draw(st.sampled_from(["delete", "insert", "substitute"]))
    if kind == "delete":
        i = data.draw(st.integers(0, len(frame) - 1))
        damaged = frame[:i] + frame[i + 1:]
    elif kind == "insert":
        i = data.draw(st.integers(0, len(frame)))
        c = data.draw(_CHARS)
        damaged = frame[:i] + c + frame[i:]
        if (c.isspace() or c == "\ufeff") and i in (0, len(frame)):
            assert _fields(parse_frame(damaged)) == good
            return
    else:
        i = data.draw(st.integers(0, len(frame) - 1))
        c = data.draw(_CHARS.filter(lambda ch: ch != frame[i]))
        damaged = frame[:i] + c + frame[i + 1:]
    with pytest.raises(SwipeRejected):
        parse_frame(damaged)


@settings(max_examples=60, deadline=None)
@given(spec=_SPECS)
def test_generated_frames_parse_to_their_fields(spec):
    assert _fields(parse_frame(build_frame(spec))) == spec.expected()


def test_exhaustive_single_deletions_on_every_sample():
    for sample in SAMPLES:
        frame = sample["frame"]
        for i in range(len(frame)):
            with pytest.raises(SwipeRejected):
                parse_frame(frame[:i] + frame[i + 1:])


def test_exhaustive_substitutions_on_one_sample():
    frame = SAMPLES[2]["frame"]  # original format
    for i, ch in enumerate(frame):
        for c in "0A*%":
            if c != ch:
                with pytest.raises(SwipeRejected):
                    parse_frame(frame[:i] + c + frame[i + 1:])


def test_spec_matrix_is_not_trivial():
    kinds = {(s.format, s.rendering, s.checks) for s in variants()}
    assert len(kinds) == 12
    assert replace(FrameSpec(), aes=True).expected()["encryption"] == "AES"


def test_a_non_payment_card_is_named():
    spec = FrameSpec(encode_type=1, name="DL")
    frame = build_frame(spec)
    data = frame[6:-6].replace("%*4111", "%*DL11")  # AAMVA-like track 1, checks recomputed
    lrc = 0
    for c in data:
        lrc ^= ord(c)
    rebuilt = frame[:6] + data + f"{lrc:02X}{sum(map(ord, data)) & 0xFF:02X}03"
    with pytest.raises(SwipeRejected) as err:
        parse_frame(rebuilt)
    assert err.value.check == "not a payment card"
