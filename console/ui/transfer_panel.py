"""What a tab shows about a send: progress with Cancel, where the file went, its delivery
status ("Awaiting pickup" / "Delivered"), and the plain-FTP warning. Layout only: the
:class:`~console.ui.transfer_sender.TransferSender` does the work.

A tab that already says where the file went and follows its delivery in one place of its own
(the Invoice Import tab's banner) builds the panel with ``details_only=True``: the panel then
keeps progress, Cancel, the sender's messages, how the upload was checked and the plain-FTP
warning, and never repeats the file's name, destination or delivery status."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from console.adapters.transfer import PLAIN_FTP_WARNING
from console.services.transfer import SendResult
from console.ui.transfer_sender import TransferSender

STATUS_TEXT = {
    "awaiting pickup": ("Awaiting pickup", "#92400e", "#fef3c7"),
    "delivered": ("Delivered", "#166534", "#dcfce7"),
    "missing": ("Missing on the server", "#991b1b", "#fee2e2"),
    "unknown": ("Status unknown (connection failed; retrying)", "#374151", "#e5e7eb"),
}


class TransferPanel(QWidget):
    def __init__(self, sender: TransferSender, parent: QWidget | None = None, *, details_only: bool = False):
        super().__init__(parent)
        self.setObjectName("transfer-panel")
        self.transfer_sender = sender
        self.details_only = details_only

        self.progress = QProgressBar()
        self.progress.setObjectName("transfer-progress")
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("transfer-cancel")
        self.cancel_button.clicked.connect(sender.cancel)
        self.info = QLabel("")
        self.info.setObjectName("transfer-info")
        self.info.setWordWrap(True)
        self.status = QLabel("")
        self.status.setObjectName("transfer-status")
        self.warning = QLabel(f"⚠ {PLAIN_FTP_WARNING}")
        self.warning.setObjectName("transfer-insecure-warning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("background:#fee2e2; color:#991b1b; padding:4px; border-radius:3px;")

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.info)
        layout.addWidget(self.status)
        layout.addWidget(self.warning)
        self._show_progress(False)
        self.status.hide()
        self.warning.hide()

        sender.started.connect(self._on_started)
        sender.progressed.connect(self._on_progressed)
        sender.sent.connect(self._on_sent)
        sender.finished.connect(self._on_finished)
        sender.delivery_changed.connect(self._on_delivery_changed)
        sender.message.connect(self.info.setText)
        sender.asking.connect(self._on_asking)

    def clear(self) -> None:
        """Forget what is shown about the last send (another file is on screen now)."""
        self.info.setText("")
        self.status.hide()
        self.warning.hide()

    def _show_progress(self, visible: bool) -> None:
        self.progress.setVisible(visible)
        self.cancel_button.setVisible(visible)

    def _on_started(self, name: str) -> None:
        self.progress.setRange(0, 0)
        self.progress.setFormat(f"Sending {name}…")
        self.info.setText("")
        self.status.hide()
        self._show_progress(True)

    def _on_progressed(self, done: int, total, message: str) -> None:
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(done * 1000 / total))
            self.progress.setFormat(f"{message or 'Sending'} — {done:,} of {total:,} bytes (%p%)")
        elif message:
            self.progress.setFormat(message)

    def _on_sent(self, result: SendResult) -> None:
        check = ", checksum verified" if result.checksum else ", size verified"
        if self.details_only:  # the host says what was sent where (and with whose override)
            self.info.setText(f"Upload: {result.size:,} bytes over {result.protocol.upper()}{check}.")
        else:
            how = "already on the server" if result.reconciled else "sent"
            extra = " (supervisor override)" if result.override else ""
            self.info.setText(f"{result.remote_name} {how} to {result.remote_path} over {result.protocol.upper()}"
                              f" — {result.size:,} bytes{check}{extra}")
        self.warning.setVisible(result.insecure)

    def _on_asking(self, text: str) -> None:
        self._show_progress(False)  # nothing runs while the question is open
        self.info.setText(text)

    def _on_finished(self, ok: bool) -> None:
        self._show_progress(False)

    def _on_delivery_changed(self, status: str) -> None:
        if self.details_only:
            return  # the host shows the delivery status
        text, fg, bg = STATUS_TEXT.get(status, (status, "#374151", "#e5e7eb"))
        result = self.transfer_sender.result
        self.status.setText(f"Delivery of {result.remote_name}: {text}" if result is not None else f"Delivery: {text}")
        self.status.setProperty("state", status)
        self.status.setStyleSheet(f"color:{fg}; background:{bg}; padding:3px 6px; border-radius:3px;")
        self.status.show()
