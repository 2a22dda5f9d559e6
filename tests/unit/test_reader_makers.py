"""MagTek frames and Ingenico devices are named as not supported by this integration — never "reader is
not encrypting" — by the parser, the keystroke capture and Diagnostics; the not-supported list is the page's."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.devices.capture import run_stream, typed
from console.devices.makers import attached_readers, frame_maker
from console.devices.sred import ReaderNotEncrypting, SwipeRejected, parse_frame
from console.domain.not_supported import NOT_SUPPORTED
from console.services.diagnostics import CHECKS, PASS, WARN
from console.services.diagnostics_integration import check_card_readers, check_not_supported

MAGTEK = ("%B4123********1234^TEST/CARD^2512*****************?;4123********1234=2512************?"
          "|0600|A1B2C3D4E5F60718293A4B5C6D7E8F90|0F1E2D3C4B5A69788796A5B4C3D2E1F0||61403000"
          "|9E8F7A6B5C4D3E2F1A0B|B0123456789ABCDE|0000|9011400B0E6C77000003|")


def test_a_magtek_frame_is_named_not_called_unencrypted():
    assert frame_maker(MAGTEK) == "MagTek"
    with pytest.raises(SwipeRejected) as info:
        parse_frame(MAGTEK + "\r")
    assert not isinstance(info.value, ReaderNotEncrypting)
    assert info.value.check == "MagTek reader"
    assert "MagTek readers are not supported by this integration" in str(info.value)
    assert "4123" not in str(info.value) and "1234" not in str(info.value)


def test_clear_tracks_and_idtech_output_are_not_taken_for_magtek():
    assert frame_maker("%B4111111111111111^SMITH/JOHN^2512101?;4111111111111111=2512101?") is None
    with pytest.raises(ReaderNotEncrypting):
        parse_frame("%B4111111111111111^SMITH/JOHN^2512101?")
    assert frame_maker("|0600|") is None and frame_maker("a|b|c|d|e|f|g") is None


def test_the_capture_names_a_magtek_swipe_and_types_none_of_it():
    out = run_stream(typed(MAGTEK + "\r"))
    assert out.cards == [] and out.delivered in ("", "\r")
    assert len(out.failures) == 1 and "MagTek readers are not supported" in str(out.failures[0])


def _usb(root: Path, name: str, vendor: str, product: str = "Reader") -> None:
    d = root / name
    d.mkdir(parents=True)
    (d / "idVendor").write_text(vendor + "\n")
    (d / "idProduct").write_text("1234\n")
    (d / "product").write_text(product + "\n")


def test_an_ingenico_device_is_named_in_diagnostics(tmp_path):
    _usb(tmp_path, "1-1", "0acd", "SREDKey")
    _usb(tmp_path, "1-2", "0b00", "iPP320")
    _usb(tmp_path, "1-3", "046d", "Keyboard")  # not a card reader: not listed
    readers = attached_readers(tmp_path)
    assert [(r.maker, r.supported) for r in readers] == [("IDTech", True), ("Ingenico", False)]
    check = check_card_readers(None, root=tmp_path)
    assert check.state == WARN and "Ingenico devices are not supported by this integration" in check.summary
    assert any("iPP320" in d and "not supported" in d for d in check.details)


def test_magtek_device_and_only_idtech(tmp_path):
    _usb(tmp_path, "2-1", "0801", "eDynamo")
    assert "MagTek readers are not supported" in check_card_readers(None, root=tmp_path).summary
    (tmp_path / "2-1" / "idVendor").write_text("0acd\n")
    assert check_card_readers(None, root=tmp_path).state == PASS


def test_the_not_supported_entry_lists_the_pages_items_with_its_words():
    names = [n.name for n in NOT_SUPPORTED]
    assert names == ["AgentConnect", "CloudPay", "CloudPay Web Services", "Kiosk", "POSConnect",
                     "MagTek REV devices", "Ingenico EMV"]
    check = check_not_supported(None)
    assert check.state == PASS and "AgentConnect: Waiting on Caselle to create functionality. ETA Q4 2022" in check.details
    assert check_not_supported in [fn for _, fn in CHECKS] and check_card_readers in [fn for _, fn in CHECKS]


def test_the_readme_section_says_the_same():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Not supported by this integration", 1)[1].split("\n## ", 1)[0]
    for n in NOT_SUPPORTED:
        assert f"| {n.name} | {n.reason} |" in section
