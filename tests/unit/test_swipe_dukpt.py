"""Sandbox DUKPT: X9.24-1 test vectors, the samples, and generated frames of every kind."""

from __future__ import annotations

import re

import pytest

from console.devices.sred import parse_frame
from console.sandbox import dukpt
from tests.data_files import idtech_samples
from tests.swipe_frames import FrameSpec, build_frame, clear_tracks, variants

SAMPLES = {
    s["id"]: s
    for s in idtech_samples()
}
BDK = dukpt.ANSI_TEST_BDK
PIN_VARIANT = bytes.fromhex("00000000000000FF00000000000000FF")


def test_ipek_and_keys_match_the_ansi_x9_24_test_vectors():
    assert dukpt.ipek(BDK, "FFFF9876543210E00000").hex().upper() == "6AC292FAA1315B4D858AB3A3D7D5933A"
    key1 = dukpt.current_key(BDK, "FFFF9876543210E00001")
    assert key1.hex().upper() == "042666B49184CFA368DE9628D0397BC9"
    assert dukpt._xor(key1, PIN_VARIANT).hex().upper() == "042666B49184CF5C68DE9628D0397B36"
    assert dukpt.data_key(BDK, "FFFF9876543210E00001").hex().upper() == "448D3F076D8304036A55A3D7E0055A78"


def test_ksn_must_be_ten_bytes():
    with pytest.raises(ValueError):
        dukpt.data_key(BDK, "FFFF98765432")


def _pan_of(track: str) -> str:
    m = re.match(r"%[A-Z](\d{12,19})\^|;(\d{12,19})=|(\d{12,19})=", track)
    assert m, "decrypted data is not a track"
    return next(g for g in m.groups() if g)


def test_sample_v11_decrypts_with_the_ansi_test_bdk_and_matches_its_masked_pan():
    card = parse_frame(SAMPLES["V11"]["frame"])
    track1, track2 = dukpt.decrypt_tracks(card)
    assert track2 is None
    pan = _pan_of(track1)
    assert pan[:4] == card.masked_pan[:4] and pan[-4:] == card.last4
    assert len(pan) == len(card.masked_pan)
    assert "^SMITH/JOHN^" in track1
    del track1, pan


@pytest.mark.parametrize("sample_id", ["V1", "V4", "V13", "V15"])
def test_samples_made_with_other_bdks_do_not_decrypt_with_the_ansi_one(sample_id):
    """V1 (Bluefin), V4/V13 (Moneris) and V15 (Authorize.Net UniMag) were not made with the
    ANSI test BDK: their blocks decrypt to noise, which is refused rather than returned."""
    card = parse_frame(SAMPLES[sample_id]["frame"])
    with pytest.raises(ValueError):
        dukpt.decrypt_tracks(card)


@pytest.mark.parametrize("spec", variants(), ids=lambda s: f"{s.format}-{s.rendering}-{s.checks}-{s.aes}")
def test_generated_frames_decrypt_to_their_clear_tracks(spec):
    card = parse_frame(build_frame(spec))
    track1, track2 = dukpt.decrypt_tracks(card)
    if spec.format == "keyed":
        assert track1 is None and track2 == f"{spec.pan}={spec.expiry}={spec.keyed_cvv}"
        return
    clear = clear_tracks(spec)
    assert (track1, track2) == (clear.get(1), clear.get(2))


def test_aes_frames_use_the_data_key_as_aes_key():
    spec = FrameSpec(aes=True, ksn="62994900000000A00123")
    card = parse_frame(build_frame(spec))
    assert card.encryption == "AES"
    assert len(card.payload.blocks["track1"]) % 16 == 0
    assert dukpt.decrypt_tracks(card)[0] == clear_tracks(spec)[1]


def test_wrong_bdk_is_refused():
    card = parse_frame(build_frame(FrameSpec()))
    with pytest.raises(ValueError):
        dukpt.decrypt_tracks(card, bdk=bytes.fromhex("00112233445566778899AABBCCDDEEFF"))


def test_card_without_payload():
    card = parse_frame(build_frame(FrameSpec())).without_payload()
    with pytest.raises(ValueError):
        dukpt.decrypt_tracks(card)
