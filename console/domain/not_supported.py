"""What Invoice Cloud's Caselle integration page lists as not supported — said once, shown where it matters.

The README's "Not supported by this integration" section, the Diagnostics tab's entry and
``biller-console diagnose`` read this list; the swipe parser names MagTek and Ingenico readers
with :data:`READER_MESSAGES`. The reasons are the page's words.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NotSupported:
    name: str
    kind: str  # product | feature | device
    reason: str  # the integration page's words


NOT_SUPPORTED: tuple[NotSupported, ...] = (
    NotSupported("AgentConnect", "product", "Waiting on Caselle to create functionality. ETA Q4 2022"),
    NotSupported("CloudPay", "product", "Not supported"),
    NotSupported("CloudPay Web Services", "product", "Not supported"),
    NotSupported("Kiosk", "product", "Not supported"),
    NotSupported("POSConnect", "product",
                 "Not Supported. Biller can use swipe devices and biller portal for in-person payments"),
    NotSupported("MagTek REV devices", "device", "Not Supported"),
    NotSupported("Ingenico EMV", "device", "Not Supported"),
)

SUPPORTED_READER = "IDTech SRED Key (Supported for Biller Portal Swipe payments)"

READER_MESSAGES = {
    "MagTek": "MagTek readers are not supported by this integration: the card data was discarded. "
              "Use an IDTech SREDKey (the integration's supported reader).",
    "Ingenico": "Ingenico devices are not supported by this integration: the card data was discarded. "
                "Use an IDTech SREDKey (the integration's supported reader).",
}
