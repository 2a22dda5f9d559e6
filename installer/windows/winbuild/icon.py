"""The application icon, drawn here so the build needs no binary art: a bill on a blue tile.

Windows picks the size it needs from one ``.ico`` (16 px in the title bar and Start menu list,
32/48 px on the desktop, 256 px in Explorer's large views), so every size is stored.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZES = (16, 24, 32, 48, 64, 128, 256)
_TILE = (24, 86, 160, 255)
_PAPER = (255, 255, 255, 255)
_INK = (24, 86, 160, 255)
_PAID = (46, 160, 67, 255)


def draw(size: int = 256) -> Image.Image:
    """The icon at ``size`` pixels (drawn at 256 and scaled down, so every size is the same picture)."""
    img = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((8, 8, 248, 248), radius=44, fill=_TILE)
    d.rounded_rectangle((64, 36, 192, 220), radius=12, fill=_PAPER)
    for y in (72, 104, 136):
        d.rectangle((88, y, 168, y + 12), fill=_INK)
    d.line((92, 182, 118, 204, 166, 156), fill=_PAID, width=18, joint="curve")
    return img if size == 256 else img.resize((size, size), Image.Resampling.LANCZOS)


def write_icon(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    draw().save(path, format="ICO", sizes=[(s, s) for s in SIZES])
    return path
