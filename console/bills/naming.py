"""Bill image file names: one check for every place a naming pattern comes from.

The ``--naming`` option, the profile's ``bills.naming`` setting (checked by settings
validation, so the Settings dialog shows it on the field), the bill service and the split all
use ``check_naming``; every name written goes through ``bill_file_name`` / ``safe_file_name``.
A name never leaves the output folder, and never is a Windows device name. No PDF imports here:
settings validation loads this module.
"""

from __future__ import annotations

import re
from pathlib import Path

from console.errors import ValidationError

DEFAULT_NAMING = "{account}_{invoice}.pdf"
NO_INVOICE_NAMING = "{account}.pdf"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Names Windows keeps for devices, whatever the extension ('con.pdf', 'NUL .txt' too)
_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                       *(f"{dev}{n}" for dev in ("COM", "LPT") for n in "0123456789\u00b9\u00b2\u00b3")})
# what a file name may not hold on Windows or Linux: it would name a folder, a drive or a stream
_LEAVES = re.compile(r"[/\\:]")


def safe_file_name(name: str) -> str:
    """A file name that is safe on Windows and Linux and for an SFTP server."""
    name = _UNSAFE.sub("_", name.strip()).strip("._") or "bill"
    return windows_safe(name[:150])


def windows_safe(name: str) -> str:
    """``name`` as Windows would really create it, kept distinct: trailing dots and spaces
    dropped (Windows drops them itself), and a reserved device name (``CON``, ``NUL``,
    ``COM1``…, with any extension) gets a ``_`` in front instead of opening the device."""
    name = name.rstrip(". ") or "bill"
    if name.split(".", 1)[0].rstrip(" ").upper() in _RESERVED:
        name = "_" + name
    return name


def check_naming(naming: str, *, option: str = "Bill file naming") -> str:
    """Validate a naming pattern: only ``{account}`` and ``{invoice}``, ending in .pdf, and a
    file name only: never a path that could leave the output folder (``..``, ``/``, ``\\``, a
    drive). ``option`` names where the pattern came from (``--naming``, the profile setting).
    The one check used by the CLI, the bill service, settings validation and so the GUI."""
    try:
        naming.format(account="A", invoice="I")
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise ValidationError(f"{option} {naming!r} is not valid: use {{account}} and {{invoice}} "
                              f"({exc})") from None
    if "{account}" not in naming:
        raise ValidationError(f"{option} {naming!r} must contain {{account}}")
    if not naming.lower().endswith(".pdf"):
        raise ValidationError(f"{option} {naming!r} must end with .pdf")
    if _LEAVES.search(naming) or naming.startswith("..") or Path(naming).is_absolute():
        raise ValidationError(f"{option} {naming!r} would write outside the output folder: give a file name "
                              "only (no '/', '\\', ':' or '..')")
    return naming


def bill_file_name(naming: str, account: str, invoice: str | None = None) -> str:
    """The file name of one bill under ``naming`` (checked): parts made safe, and the whole
    name safe on Windows (a naming like ``{account}.pdf`` with account ``CON`` gives ``_CON.pdf``)."""
    name = naming.format(account=safe_file_name(account), invoice=safe_file_name(invoice or ""))
    return windows_safe(name)
