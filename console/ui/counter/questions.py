"""The Counter tab's questions: confirm, the void dialog, where to save a PDF (module-level functions
so tests can answer them; the tab imports them by name)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from console.domain.money import format_money
from console.services.counter import CounterPayment


def ask_confirmation(parent: QWidget, title: str, text: str) -> bool:
    """Yes / No question (module-level so tests can answer it)."""
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def ask_void(parent: QWidget, payment: CounterPayment, role: str, why_supervisor: str):
    """The void dialog (reason list + comment, supervisor PIN when needed); None when cancelled."""
    from console.ui.posting_dialogs import ManualVoidDialog

    dlg = ManualVoidDialog(parent, receipt_number=payment.receipt_number, operator_role=role)
    dlg.setWindowTitle(f"Void payment {format_money(payment.amount)} — {payment.account_number}")
    dlg.receipt.setReadOnly(True)
    dlg.find_button.hide()  # the receipt is known: say what it is instead of offering a search
    dlg.details.setText(void_details(payment))
    card = " The card charge is reversed too." if payment.tender == "CARD" else ""
    if why_supervisor:
        dlg.note.setText(f"A supervisor must approve: {why_supervisor}.{card}")
    else:
        dlg.note.setText(f"You may void this receipt yourself (your own, today).{card}")
        dlg.supervisor.setEnabled(False)
        dlg.pin.setEnabled(False)
    dlg.reason.setFocus()
    if dlg.exec() != ManualVoidDialog.DialogCode.Accepted:
        return None
    return dlg.request()


def void_details(payment: CounterPayment) -> str:
    """What the void dialog says is being voided (masked card only)."""
    taken = payment.taken_at.strftime("%I:%M %p").lstrip("0")
    return (f"{format_money(payment.amount)} · {payment.paid_by} · account {payment.account_number} "
            f"{payment.name} · taken {taken} by {payment.operator}")


def save_pdf_path(parent: QWidget, suggested: Path) -> Path | None:
    name, _ = QFileDialog.getSaveFileName(parent, "Save receipt as PDF", str(suggested), "PDF (*.pdf)")
    return Path(name) if name else None
