"""Displayed (top-left) coordinates against PDFium's own page-to-device mapping."""

from __future__ import annotations

import ctypes

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.bills.geometry import PageBox


def pdfium_display(page: pdfium.PdfPage, ux: float, uy: float) -> tuple[float, float]:
    """Where PDFium draws user-space point (ux, uy) on the displayed page, in points."""
    w, h = page.get_size()  # PDFium: the size as displayed (crop box, rotation applied)
    scale = 10  # device pixels per point, for precision
    dx, dy = ctypes.c_int(), ctypes.c_int()
    pdfium_c.FPDF_PageToDevice(page.raw, 0, 0, int(w * scale), int(h * scale), 0, ux, uy,
                               ctypes.byref(dx), ctypes.byref(dy))
    return dx.value / scale, dy.value / scale


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize("crop", [None, (30, 50, 500, 700)])
def test_to_display_agrees_with_pdfium(rotation, crop):
    doc = pdfium.PdfDocument.new()
    page = doc.new_page(612, 792)
    if crop:
        page.set_cropbox(*crop)
    page.set_rotation(rotation)
    box = PageBox(*page.get_bbox(), rotation=page.get_rotation())
    assert box.display_size == pytest.approx(page.get_size())
    for ux, uy in [(100, 200), (400, 650), (45, 60), (300, 300)]:
        mine = box.to_display(ux, uy)
        theirs = pdfium_display(page, ux, uy)
        assert mine == pytest.approx(theirs, abs=0.2), (ux, uy)


@given(
    rotation=st.sampled_from([0, 90, 180, 270]),
    left=st.floats(-500, 500), bottom=st.floats(-500, 500),
    w=st.floats(10, 2000), h=st.floats(10, 2000),
    fx=st.floats(0, 1), fy=st.floats(0, 1),
)
def test_to_user_inverts_to_display(rotation, left, bottom, w, h, fx, fy):
    box = PageBox(left, bottom, left + w, bottom + h, rotation)
    dw, dh = box.display_size
    x, y = fx * dw, fy * dh
    ux, uy = box.to_user(x, y)
    assert left - 1e-6 <= ux <= left + w + 1e-6 and bottom - 1e-6 <= uy <= bottom + h + 1e-6
    assert box.to_display(ux, uy) == pytest.approx((x, y), abs=1e-6)


def test_region_to_user_for_an_unrotated_page_with_an_offset_crop_box():
    box = PageBox(30, 50, 500, 700, 0)
    # 10 pt in from the visible left edge, 20..40 pt down from the visible top edge
    assert box.region_to_user((10, 20, 110, 40)) == (40, 660, 140, 680)
