"""The first connection to an SFTP server: show its host key fingerprint, trust only on request.

The operator compares the SHA-256 fingerprint with the one the provider (Invoice Cloud)
gave them, ticks that they did, and clicks **Trust this host**. Cancel is the default
button; nothing is pinned unless the operator clicks Trust. A *changed* key never gets this
dialog: it is refused as an error (``HostKeyChanged``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.adapters.transfer import HostKeyChanged, HostKeyUnknown, known_hosts_name


class HostKeyDialog(QDialog):
    """Shows host, key type and SHA-256 fingerprint; accepted only by the explicit Trust click."""

    def __init__(self, error: HostKeyUnknown, parent: QWidget | None = None):
        super().__init__(parent)
        self.error = error
        self.setObjectName("host-key-dialog")
        self.setWindowTitle("Unknown SFTP server")
        self.setModal(True)

        intro = QLabel(
            "<b>The console has not connected to this server before.</b><br>"
            "Compare the fingerprint below with the one your provider gave you (by phone or in "
            "writing, not in an e-mail from an unknown sender). Trust the server only if they match: "
            "a different fingerprint can mean someone is intercepting the connection.")
        intro.setWordWrap(True)

        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.host_label = QLabel(known_hosts_name(error.host, error.port))
        self.host_label.setObjectName("host-key-host")
        self.type_label = QLabel(error.key_type)
        self.fingerprint_label = QLabel(error.fingerprint)
        self.fingerprint_label.setObjectName("host-key-fingerprint")
        self.fingerprint_label.setFont(mono)
        self.fingerprint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        copy = QPushButton("Copy")
        copy.setObjectName("host-key-copy")
        copy.setAutoDefault(False)
        copy.clicked.connect(self._on_copy_clicked)

        grid = QGridLayout()
        grid.addWidget(QLabel("Server:"), 0, 0)
        grid.addWidget(self.host_label, 0, 1, 1, 2)
        grid.addWidget(QLabel("Key type:"), 1, 0)
        grid.addWidget(self.type_label, 1, 1, 1, 2)
        grid.addWidget(QLabel("Fingerprint (SHA-256):"), 2, 0)
        grid.addWidget(self.fingerprint_label, 2, 1)
        grid.addWidget(copy, 2, 2)

        self.compared = QCheckBox("I compared this fingerprint with the provider's and it matches")
        self.compared.setObjectName("host-key-compared")
        self.trust_button = QPushButton("Trust this host")
        self.trust_button.setObjectName("host-key-trust")
        self.trust_button.setAutoDefault(False)
        self.trust_button.setEnabled(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("host-key-cancel")
        self.cancel_button.setDefault(True)
        buttons = QDialogButtonBox()
        buttons.addButton(self.trust_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.compared.toggled.connect(self.trust_button.setEnabled)
        self.trust_button.clicked.connect(self._on_trust_clicked)
        self.cancel_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(grid)
        layout.addWidget(self.compared)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(buttons)
        layout.addLayout(row)
        self.trusted = False

    def _on_copy_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.error.fingerprint)

    def _on_trust_clicked(self) -> None:
        if not self.compared.isChecked():
            return
        self.trusted = True
        self.accept()


def ask_trust_host_key(parent: QWidget | None, error: HostKeyUnknown) -> bool:
    """Modal: True only when the operator clicked Trust this host."""
    dialog = HostKeyDialog(error, parent)
    try:
        return dialog.exec() == QDialog.DialogCode.Accepted and dialog.trusted
    finally:
        dialog.deleteLater()


HOST_KEY_CHANGED_BOX = "host-key-changed-box"


def show_host_key_changed(parent: QWidget | None, error: HostKeyChanged) -> QMessageBox:
    """The loud refusal: a critical, non-blocking box with both fingerprints. Nothing to click
    that would accept the new key — that takes support removing the old one after the provider
    confirmed the change."""
    box = QMessageBox(QMessageBox.Icon.Critical, "Server identity changed — nothing was sent",
                      f"The SFTP server {known_hosts_name(error.host, error.port)} presented a different "
                      "host key than the one pinned when it was first trusted.",
                      QMessageBox.StandardButton.Ok, parent)
    box.setObjectName(HOST_KEY_CHANGED_BOX)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setInformativeText(
        f"Pinned:  {error.expected}\nOffered: {error.offered}\n\n"
        "This can mean someone is intercepting the connection. Do not send anything; call the provider "
        "(Invoice Cloud) and ask whether the server's key changed. Only after they confirm the new "
        "fingerprint may support remove the old key (File transfer connection → Forget).")
    box.open()
    return box
