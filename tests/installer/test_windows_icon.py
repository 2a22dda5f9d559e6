"""The application icon the Windows programs, setup.exe and the Start-menu entry carry."""

from __future__ import annotations

from PIL import Image
from winbuild.icon import SIZES, draw, write_icon


def test_the_icon_holds_every_size_windows_asks_for(tmp_path):
    path = write_icon(tmp_path / "app.ico")
    with Image.open(path) as ico:
        assert ico.format == "ICO"
        assert sorted(ico.info["sizes"]) == [(s, s) for s in SIZES]


def test_the_icon_is_a_tile_with_a_bill_on_it():
    img = draw(256)
    assert img.getpixel((0, 0))[3] == 0  # transparent corner (rounded tile)
    assert img.getpixel((30, 128))[:3] == (24, 86, 160)  # the blue tile
    assert img.getpixel((80, 50))[:3] == (255, 255, 255)  # the bill
    assert draw(16).size == (16, 16)
