"""Diagnostics entries about the integration itself: what it does not support, and which card
readers are attached (MagTek and Ingenico named as not supported). GUI-free, like the rest of
:mod:`console.services.diagnostics`, whose ``CHECKS`` list these."""

from __future__ import annotations

from console.devices.makers import attached_readers
from console.domain.not_supported import NOT_SUPPORTED, READER_MESSAGES, SUPPORTED_READER

NOT_SUPPORTED_TITLE = "Not supported by this integration"
READERS_TITLE = "Card readers attached"


def check_not_supported(run):
    from console.services.diagnostics import PASS, Check

    details = [f"{n.name}: {n.reason}" for n in NOT_SUPPORTED]
    names = ", ".join(n.name for n in NOT_SUPPORTED)
    return Check("not_supported", NOT_SUPPORTED_TITLE, PASS, f"Invoice Cloud's Caselle integration does not "
                 f"support {names}", f"Supported reader: {SUPPORTED_READER}", details)


def check_card_readers(run, *, root=None):
    from console.services.diagnostics import PASS, WARN, Check

    readers = attached_readers(root)
    if readers is None:
        return Check("card_readers", READERS_TITLE, PASS, "This system's USB devices cannot be listed here",
                     "Use the Counter tab's reader test to check the reader")
    details = [f"{r.maker} {r.product or 'device'} (USB {r.vendor_id}:{r.product_id})"
               + ("" if r.supported else " — not supported") for r in readers]
    other = sorted({r.maker for r in readers if not r.supported})
    if other:
        return Check("card_readers", READERS_TITLE, WARN, " ".join(READER_MESSAGES[m].split(":")[0] + "."
                                                                  for m in other),
                     f"Use the supported reader: {SUPPORTED_READER}", details)
    if readers:
        return Check("card_readers", READERS_TITLE, PASS, f"IDTech reader attached ({len(readers)})", "", details)
    return Check("card_readers", READERS_TITLE, PASS, "No card reader found on USB",
                 "Counter card payments need an IDTech SREDKey", details)
