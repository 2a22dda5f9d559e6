"""From "where the clerk sees it" to "where PDFium looks".

A template region is written as the page is *displayed*: PDF points, origin at the top-left
corner of the visible page (the CropBox, clipped to the MediaBox), after the page's
``/Rotate`` is applied. PDFium's text functions work in PDF user space instead: origin at the
bottom-left of the MediaBox coordinate system, y growing upwards, no rotation. This module
converts between the two; it is pure arithmetic so it is easy to test.
"""

from __future__ import annotations

from dataclasses import dataclass

Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class PageBox:
    """The visible box of a page in user space and its display rotation (0/90/180/270)."""

    left: float
    bottom: float
    right: float
    top: float
    rotation: int = 0

    @property
    def display_size(self) -> tuple[float, float]:
        """Width and height of the page as displayed (rotation applied)."""
        w, h = self.right - self.left, self.top - self.bottom
        return (h, w) if self.rotation in (90, 270) else (w, h)

    def to_user(self, x: float, y: float) -> tuple[float, float]:
        """A displayed point (origin top-left, y down) as a user-space point."""
        r = self.rotation
        if r == 0:
            return self.left + x, self.top - y
        if r == 90:  # displayed turned a quarter clockwise: the user-space bottom-left is on top
            return self.left + y, self.bottom + x
        if r == 180:
            return self.right - x, self.bottom + y
        if r == 270:
            return self.right - y, self.top - x
        raise ValueError(f"rotation must be 0, 90, 180 or 270, not {r}")

    def to_display(self, ux: float, uy: float) -> tuple[float, float]:
        """A user-space point as a displayed point (the inverse of :meth:`to_user`)."""
        r = self.rotation
        if r == 0:
            return ux - self.left, self.top - uy
        if r == 90:
            return uy - self.bottom, ux - self.left
        if r == 180:
            return self.right - ux, uy - self.bottom
        if r == 270:
            return self.top - uy, self.right - ux
        raise ValueError(f"rotation must be 0, 90, 180 or 270, not {r}")

    def region_to_user(self, region: Rect) -> Rect:
        """A displayed ``(x0, top, x1, bottom)`` as user-space ``(left, bottom, right, top)``."""
        x0, t, x1, b = region
        ax, ay = self.to_user(x0, t)
        bx, by = self.to_user(x1, b)
        return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)


def normalise_rotation(degrees: int) -> int:
    """PDF allows any multiple of 90 (also negative); PDFium reports 0-3 quarter turns."""
    return int(degrees) % 360
