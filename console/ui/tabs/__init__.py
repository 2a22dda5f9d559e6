"""The main window's tabs, in order: (title, "module:Class" or None, what the tab does).

A tab is ``console/ui/tabs/<name>_tab.py`` with a ``QWidget`` subclass taking
``(ctx: UiContext)``. Register it by replacing ``None`` in its row with "module:Class".
Tabs are imported only when first shown, so start-up stays fast. Until a tab's module
exists, its row's text is shown as a placeholder — no fake behaviour.
"""

from __future__ import annotations

TABS: list[tuple[str, str | None, str]] = [
    ("Counter Payments", "console.ui.tabs.counter_tab:CounterTab",
     "Take payments at the counter: find a customer by account, name, address or phone, see the "
     "balance and due date, take cash, check or card (swipe reader) and print a receipt."),
    ("Posting", "console.ui.tabs.posting_tab:PostingTab",
     "Post Invoice Cloud payments to Caselle as receipts, exactly once, with batch totals, "
     "voids, ACH rejects and an audit log."),
    ("Invoice Import", "console.ui.tabs.invoice_import_tab:InvoiceImportTab",
     "Build and send the invoice (bill) file to Invoice Cloud from Caselle's billing export, "
     "checked line by line before anything is sent."),
    ("Lockbox", "console.ui.tabs.lockbox_tab:LockboxTab",
     "Create CloudStore lockbox files for non-utility items with the GL account map and send "
     "them by Stratus or e-mail."),
    ("Bill Images", "console.ui.tabs.bill_images_tab:BillImagesTab",
     "Split the printed bill PDF into one image per account, name the files and upload them "
     "for Invoice Cloud presentment."),
    ("Diagnostics", "console.ui.tabs.diagnostics_tab:DiagnosticsTab",
     "Check the profile, keyring, Caselle connection, token expiry, API features, clock, disk "
     "and journal; export a support bundle."),
    ("Day Close", "console.ui.counter.day_close_view:DayCloseView",
     "One daily close: every drawer close-out, Invoice Cloud payments, ACH rejects, lockbox files, "
     "account-sync updates and Caselle's batch totals side by side, the expected bank deposit and "
     "each variance explained; a supervisor seals the day."),
]


def placeholder_text(title: str) -> str:
    for t, _target, text in TABS:
        if t == title:
            return text
    return ""


#: The tab an operator of each role lands on after signing in (a cashier works at the counter).
HOME_TABS: dict[str, str] = {
    "cashier": "Counter Payments",
    "clerk": "Posting",
    "support": "Diagnostics",
    "supervisor": "Counter Payments",
}


def home_tab(role: str) -> str:
    return HOME_TABS.get(role, TABS[0][0])
