"""Transfer connection: test the login, trust a new server's host key, manage pinned keys.

For set-up and support (Settings → Transfer, Diagnostics): **Test connection** signs in and
shows the host key and each remote folder (awaiting pickup / delivered / stale temporaries).
An unknown server offers **Trust this host…** (the fingerprint dialog); the pinned keys are
listed, and a supervisor or support may **Forget** one after the provider confirmed a key
change (audited). All work — the connection test, pinning, reading and editing the
known_hosts file, the audit rows — runs through ``Operation``; the pinned keys are read when
the dialog opens, so a changed key can be forgotten even when the test cannot connect.
``services.transfer`` is first touched on a worker (building it may read the keyring or start
the sandbox). ``subject`` says at the top which profile and which values are tested.
"""

from __future__ import annotations

import html
from types import SimpleNamespace
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.config import Operator, Profile
from console.services import transfer as svc
from console.ui.host_key_dialog import ask_trust_host_key
from console.ui.operations import Operation

MANAGER_ROLES = ("supervisor", "support")
READING_HOSTS = "Reading the pinned keys…"


class TransferConnectionDialog(QDialog):
    def __init__(self, services: Any, operator: Operator | None, parent: QWidget | None = None, *,
                 ask_trust=ask_trust_host_key, confirm_forget=None, subject: str = ""):
        super().__init__(parent)
        self.setObjectName("transfer-connection-dialog")
        self.setWindowTitle("File transfer connection")
        self.resize(760, 540)  # four folder rows and a whole SHA-256 fingerprint without scrolling
        self._services = services
        self._operator = operator
        self._ask_trust = ask_trust
        self._confirm_forget = confirm_forget or self._default_confirm_forget
        self.report: svc.ConnectionReport | None = None
        self.changed_keys = False  # a key was trusted or forgotten here (callers re-check)

        self.subject_label = QLabel(subject)
        self.subject_label.setObjectName("transfer-connection-subject")
        self.subject_label.setWordWrap(True)
        self.subject_label.setVisible(bool(subject))

        self.state_label = QLabel("Not tested yet.")
        self.state_label.setObjectName("transfer-connection-state")
        self.state_label.setWordWrap(True)
        self.folders = QTableWidget(0, 4)
        self.folders.setObjectName("transfer-connection-folders")
        self.folders.setHorizontalHeaderLabels(["Kind", "Folder", "Awaiting pickup", "Delivered"])
        self.folders.verticalHeader().hide()
        self.folders.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.folders.horizontalHeader().setStretchLastSection(True)
        self.test_button = QPushButton("Test connection")
        self.test_button.setObjectName("transfer-connection-test")
        self.trust_button = QPushButton("Trust this host…")
        self.trust_button.setObjectName("transfer-connection-trust")
        self.trust_button.hide()

        self.hosts = QTableWidget(0, 3)
        self.hosts.setObjectName("transfer-connection-hosts")
        self.hosts.setHorizontalHeaderLabels(["Server", "Key type", "Fingerprint (SHA-256)"])
        self.hosts.verticalHeader().hide()
        self.hosts.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.hosts.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.hosts.horizontalHeader().setStretchLastSection(True)
        self.forget_button = QPushButton("Forget selected key…")
        self.forget_button.setObjectName("transfer-connection-forget")
        self.forget_button.setEnabled(False)
        self.hosts_state = QLabel("")
        self.hosts_state.setObjectName("transfer-connection-hosts-state")
        self.hosts_state.setWordWrap(True)
        self._hosts_op: Operation | None = None  # the latest read of the pinned keys
        self._forget_op: Operation | None = None
        self.can_manage = bool(operator and operator.role in MANAGER_ROLES)
        if not self.can_manage:
            self.forget_button.setToolTip("Only a supervisor or support may remove a pinned key")

        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.trust_button)
        row.addStretch(1)
        hosts_row = QHBoxLayout()
        hosts_row.addWidget(self.hosts_state, 1)
        hosts_row.addWidget(self.forget_button)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.subject_label)
        if subject:
            layout.addSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.state_label)
        layout.addWidget(self.folders, 1)
        layout.addWidget(QLabel("Pinned host keys (the console's own known_hosts):"))
        layout.addWidget(self.hosts, 1)
        layout.addLayout(hosts_row)
        layout.addWidget(close)

        self.test_button.clicked.connect(self._on_test_button_clicked)
        self.trust_button.clicked.connect(self._on_trust_button_clicked)
        self.forget_button.clicked.connect(self._on_forget_button_clicked)
        self.hosts.itemSelectionChanged.connect(self._on_hosts_selection_changed)
        self.refresh_hosts()

    @property
    def operator_id(self) -> str:
        return self._operator.operator_id if self._operator else ""

    # ---- test
    def _on_test_button_clicked(self) -> None:
        self.test_connection()

    def test_connection(self) -> None:
        services = self._services
        self.test_button.setEnabled(False)
        self.state_label.setText("Testing…")
        (Operation(self, lambda op: services.transfer.test_connection(progress=op.progress, cancel=op.cancel_event),
                   label="Testing the transfer connection…", cancellable=True)
         .success(self._show_report)
         .failure(self._on_failed)
         .run())

    def _on_failed(self, exc: BaseException) -> None:
        self.test_button.setEnabled(True)
        self.state_label.setText("The test could not run.")
        _show_error(self, exc)

    def _show_report(self, report: svc.ConnectionReport) -> None:
        self.report = report
        self.test_button.setEnabled(True)
        lines = [f"<b>{report.destination}</b>: {report.state}"]
        if report.fingerprint:
            lines.append(f"Host key {report.fingerprint}")
        if report.message:
            lines.append(report.message)
        if report.hint:
            lines.append(f"<i>{report.hint}</i>")
        if report.insecure:
            lines.append("<span style='color:#991b1b'>Plain FTP: the password and files travel unencrypted.</span>")
        self.state_label.setText("<br>".join(lines))
        self.state_label.setProperty("state", report.state)
        self.folders.setRowCount(len(report.folders))
        for r, f in enumerate(report.folders):
            values = [f.kind, f.folder, str(f.awaiting_pickup) if f.exists else "—",
                      str(f.delivered) if f.exists else f"not usable: {f.error}"]
            for c, v in enumerate(values):
                self.folders.setItem(r, c, QTableWidgetItem(v))
        self.folders.resizeColumnsToContents()
        self.trust_button.setVisible(report.unknown_key is not None)
        self.refresh_hosts()

    # ---- trust
    def _on_trust_button_clicked(self) -> None:
        report = self.report
        if report is None or report.unknown_key is None:
            return
        error = report.unknown_key
        if not self._ask_trust(self, error):
            return
        services, operator = self._services, self.operator_id
        (Operation(self, lambda op: services.transfer.trust_host_key(error, operator=operator),
                   label="Pinning the server's host key…")
         .success(self._on_trusted)
         .run())

    def _on_trusted(self, _fingerprint: str) -> None:
        self.changed_keys = True
        self.test_connection()

    # ---- pinned keys
    @property
    def forgetting(self) -> bool:
        return self._forget_op is not None and not self._forget_op.done

    def refresh_hosts(self) -> Operation:
        """Read the pinned keys (the known_hosts file) on a worker and list them; when reads
        overlap, only the latest one is shown."""
        services = self._services
        if not self.hosts.rowCount():
            self.hosts_state.setText(READING_HOSTS)
        op = Operation(self, lambda _op: services.transfer.pinned_hosts(), label="Reading the pinned host keys…")
        self._hosts_op = op
        op.success(lambda hosts: self._show_hosts(op, hosts)).failure(lambda exc: self._hosts_failed(op, exc))
        return op.run()

    def _show_hosts(self, op: Operation | None, hosts: list[tuple[str, str, str]]) -> None:
        if op is not None and op is not self._hosts_op:
            return  # an older read finished after a newer one started
        self.hosts.setRowCount(len(hosts))
        for r, (name, key_type, fp) in enumerate(hosts):
            for c, v in enumerate((name, key_type, fp)):
                self.hosts.setItem(r, c, QTableWidgetItem(v))
        self.hosts.resizeColumnsToContents()
        if self.hosts_state.text() == READING_HOSTS:
            self.hosts_state.setText("" if hosts else "No pinned keys yet.")
        self._on_hosts_selection_changed()

    def _hosts_failed(self, op: Operation, exc: BaseException) -> None:
        if op is not self._hosts_op:
            return
        self.hosts_state.setText("The pinned keys could not be read.")
        _show_error(self, exc)

    def _on_hosts_selection_changed(self) -> None:
        self.forget_button.setEnabled(self.can_manage and not self.forgetting and bool(self.hosts.selectedItems()))

    def _default_confirm_forget(self, name: str) -> bool:
        answer = QMessageBox.question(
            self, "Forget host key",
            f"Remove the pinned key of {name}?\n\nDo this only after the provider confirmed that the "
            "server's key changed. The next connection shows the new fingerprint for you to trust.")
        return answer == QMessageBox.StandardButton.Yes

    def _on_forget_button_clicked(self) -> None:
        self.forget_selected()

    def forget_selected(self) -> Operation | None:
        """After the confirmation, remove the selected key (known_hosts and the audit row) on
        a worker and list what is pinned now. Returns the running removal, or None."""
        if not self.can_manage or self.forgetting:
            return None
        row = self.hosts.currentRow()
        item = self.hosts.item(row, 0) if row >= 0 else None
        if item is None:
            return None
        name = item.text()
        if not self._confirm_forget(name):
            return None
        host, port = _split_name(name)
        services, operator = self._services, self.operator_id

        def work(_op):
            transfer = services.transfer
            removed = transfer.forget_host_key(host, port, operator=operator)
            return removed, transfer.pinned_hosts()

        def done(result) -> None:
            removed, hosts = result
            self._hosts_op = None  # this list is the newest
            self.changed_keys = self.changed_keys or removed
            self.hosts_state.setText(f"Removed the pinned key of {name}." if removed
                                     else f"{name} had no pinned key any more.")
            self._show_hosts(None, hosts)

        def failed(exc: BaseException) -> None:
            self.hosts_state.setText(f"The key of {name} could not be removed.")
            self._on_hosts_selection_changed()
            _show_error(self, exc)

        self.hosts_state.setText(f"Removing the pinned key of {name}…")
        self._forget_op = Operation(self, work, label="Forgetting a pinned host key…").success(done).failure(failed)
        self._on_hosts_selection_changed()  # Forget waits until this one is done
        return self._forget_op.run()


def subject_text(profile_name: str, *, training: bool = False, unsaved: bool = False, typed_secret: bool = False,
                 destination: str = "") -> str:
    """The line at the top of the dialog: which profile, and whether its saved or edited values."""
    who = f"Profile <b>{html.escape(profile_name)}</b>"
    if unsaved:
        what = "the values on the Transfer page, <b>not saved yet</b>"
        if typed_secret:
            what += ", with the credential typed on the Credentials page"
    else:
        what = "its saved settings" + (" (TRAINING: the embedded sandbox)" if training else "")
    return f"{who} — {what}" + (f": {html.escape(destination)}" if destination else "") + "."


class TypedSecrets:
    """The stored secrets of a profile, with the ones typed in Settings (not saved yet) in front."""

    def __init__(self, typed: dict[str, str], store: Any):
        self._typed = {k: v for k, v in typed.items() if v}
        self._store = store

    def get(self, name: str) -> str | None:
        return self._typed.get(name) or self._store.get(name)


def draft_services(services: Any, profile: Profile, secrets: Any) -> SimpleNamespace:
    """What the dialog needs (``.transfer``, ``.audit``) for a profile as edited in Settings. Reads the
    keyring, so call it on a worker. Pinned keys and audit rows go where the session's go."""
    from console.services.transfer import build_transfer_service

    audit = services.audit if hasattr(type(services), "audit") else getattr(services, "audit", None)
    transfer = build_transfer_service(profile, secrets, services.paths, services.journal, audit=audit)
    return SimpleNamespace(transfer=transfer, audit=audit)


def _show_error(parent: QWidget, exc: BaseException) -> None:
    from console.ui import errors  # looked up at call time (tests replace errors.show_error)

    errors.show_error(parent, exc)


def _split_name(name: str) -> tuple[str, int]:
    """``[host]:port`` or ``host`` (port 22) → (host, port)."""
    if name.startswith("[") and "]:" in name:
        host, port = name[1:].split("]:", 1)
        return host, int(port)
    return name, 22
