"""Which maker's reader is this? MagTek and Ingenico are named, never mistaken for "not encrypting".

The integration supports IDTech SRED readers only (:mod:`console.domain.not_supported`). Two
ways to tell another maker's reader:

- **A MagTek frame** — MagneSafe readers in keyboard mode type the masked tracks followed by
  ``|``-separated fields: card encode / status (``0600``…), encrypted tracks in hex, the
  MagnePrint status (``61403000``-like), the device serial and a 20-hex-digit KSN.
  :func:`frame_maker` recognises that shape (the fields' contents are never kept).
- **An attached device** — USB vendor IDs: IDTech ``0ACD``, MagTek ``0801``, Ingenico ``0B00``
  and ``079B`` (Sagem / Ingenico). :func:`attached_readers` lists them from Linux's sysfs (the
  root is injectable for tests); other systems say they cannot list devices.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

VENDORS = {"0acd": "IDTech", "0801": "MagTek", "0b00": "Ingenico", "079b": "Ingenico"}
SUPPORTED_MAKERS = frozenset({"IDTech"})
_KSN = re.compile(r"[0-9A-Fa-f]{20}")
_STATUS = re.compile(r"[0-9A-Fa-f]{4}")


def frame_maker(text: str) -> str | None:
    """``"MagTek"`` for MagneSafe keyboard output, else None (IDTech or not a known shape)."""
    s = text.strip()
    if "|" not in s or s[:1] not in ("%", ";", "|"):
        return None
    fields = s.split("|")
    if len(fields) < 6:
        return None
    tracks = fields[0]
    if tracks and not tracks.rstrip().endswith("?"):
        return None
    has_status = _STATUS.fullmatch(fields[1].strip()) is not None
    has_ksn = any(_KSN.fullmatch(f.strip()) for f in fields[2:])
    return "MagTek" if has_status and has_ksn else None


@dataclass(frozen=True)
class AttachedReader:
    maker: str
    vendor_id: str
    product_id: str
    product: str

    @property
    def supported(self) -> bool:
        return self.maker in SUPPORTED_MAKERS


def attached_readers(root: Path | None = None) -> list[AttachedReader] | None:
    """Card readers on USB by vendor ID; None when this system's devices cannot be listed."""
    base = Path(root) if root is not None else Path("/sys/bus/usb/devices")
    if root is None and not sys.platform.startswith("linux"):
        return None
    if not base.is_dir():
        return None
    found: list[AttachedReader] = []
    for dev in sorted(base.iterdir()):
        try:
            vendor = (dev / "idVendor").read_text(encoding="ascii").strip().lower()
        except OSError:
            continue
        maker = VENDORS.get(vendor)
        if maker is None:
            continue
        product_id = _read(dev / "idProduct")
        found.append(AttachedReader(maker, vendor.upper(), product_id.upper(), _read(dev / "product")))
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def unsupported_reader(maker: str):
    """The rejection for another maker's reader (a :class:`~console.devices.sred.SwipeRejected`)."""
    from console.devices.sred import SwipeRejected
    from console.domain.not_supported import READER_MESSAGES

    return SwipeRejected(f"{maker} reader", READER_MESSAGES[maker])
