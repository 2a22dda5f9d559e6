"""Small profile dialogs: choosing a profile (File › Switch profile) and the session's
credentials when no secure keyring exists (kept in memory for this session only)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEventLoop, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QVBoxLayout,
    QWidget,
)

from console.config import (
    SANDBOX,
    ProfileStore,
)
from console.ui import errors  # looked up at call time (tests replace errors.show_error)
from console.ui.operations import Operation

log = logging.getLogger(__name__)


class ProfilePicker(QDialog):
    """Choose the profile to switch to. The profiles file is read on a worker (``load_op``)
    when the picker opens; OK waits until the list is there."""

    chosen = Signal(str)

    def __init__(self, paths, current: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("profile-picker")
        self.setWindowTitle("Switch profile")
        self._current = current
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Choose the profile to work with. You will sign in again."))
        self.list = QListWidget()
        self.list.setEnabled(False)
        self.state = QLabel("Reading the profiles…")
        self.state.setObjectName("profile-picker-state")
        self.list.itemDoubleClicked.connect(lambda _item: self._on_accepted())
        lay.addWidget(self.list)
        lay.addWidget(self.state)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setEnabled(False)
        buttons.accepted.connect(self._on_accepted)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.setCursor(Qt.CursorShape.BusyCursor)
        self.load_op = Operation(self, lambda _op: ProfileStore(paths).names(), label="Reading the profiles…") \
            .success(self._show_names).failure(self._on_unreadable).run()

    def _show_names(self, names: list[str]) -> None:
        self.unsetCursor()
        self.state.setVisible(False)
        current = self._current
        for name in names:
            self.list.addItem(f"{name}{'  (TRAINING)' if name == SANDBOX else ''}{'  — current' if name == current else ''}")
            self.list.item(self.list.count() - 1).setData(Qt.ItemDataRole.UserRole, name)
            if name == current:
                self.list.setCurrentRow(self.list.count() - 1)
        self.list.setEnabled(True)
        self.ok_button.setEnabled(True)
        self.list.setFocus()

    def _on_unreadable(self, exc: BaseException) -> None:
        """The profiles file is broken or unreadable: say so; the sandbox is always there."""
        self._show_names([SANDBOX])
        self.state.setText("The profiles file could not be read: only the sandbox is listed.")
        self.state.setVisible(True)
        errors.show_error(self, exc)

    def _on_accepted(self) -> None:
        if not self.list.isEnabled():
            return  # still reading
        item = self.list.currentItem()
        if item is not None:
            self.chosen.emit(item.data(Qt.ItemDataRole.UserRole))
        self.accept()


class SessionSecretsDialog(QDialog):
    """No secure keyring: ask for the profile's missing credentials, kept in memory this session.

    Which credentials are missing is found out on a worker (a keyring read can be slow or
    prompt), ``load_op``; the fields appear once known. ``needed()`` is True until then.
    ``exec()`` gives that check a moment first, so nothing flashes up when nothing is missing;
    a dialog already open closes itself then. OK stores the typed values on a worker too.
    """

    SETTLE_MS = 400  # how long exec() waits for the check before showing "Checking…"

    def __init__(self, services, parent: QWidget | None = None):
        super().__init__(parent)
        from console.services.diagnostics import required_secrets

        self.services = services
        self.setObjectName("session-secrets")
        self.setWindowTitle("Credentials for this session")
        self.missing: list[tuple[str, str]] = []
        self.loaded = False
        self._failed = False
        self._loop: QEventLoop | None = None
        self.save_op: Operation | None = None
        lay = QVBoxLayout(self)
        note = QLabel("This PC has no secure keyring, so credentials are not saved. Enter them for this session; "
                      "they are kept in memory only until the console closes.")
        note.setWordWrap(True)
        lay.addWidget(note)
        self.form = QFormLayout()
        self.edits: dict[str, QLineEdit] = {}
        lay.addLayout(self.form)
        self.state = QLabel("Checking which credentials are needed…")
        self.state.setObjectName("session-secrets-state")
        self.state.setWordWrap(True)
        lay.addWidget(self.state)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setEnabled(False)
        self.buttons.accepted.connect(self._on_accepted)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        profile, secrets = services.profile, services.secrets

        def find_missing(_op) -> list[tuple[str, str]]:
            return [(n, label) for n, label in required_secrets(profile) if not secrets.get(n)]

        self.load_op = Operation(self, find_missing, label="Checking the session's credentials…") \
            .success(self._show_missing).failure(self._on_unreadable).run()

    def needed(self) -> bool:
        """Whether the dialog has anything to ask (True while that is still being checked)."""
        return not self.loaded or bool(self.missing)

    def exec(self) -> int:  # Qt override
        if not self.loaded:  # the check is a moment's work: wait for it (events keep flowing)
            loop = self._loop = QEventLoop()
            QTimer.singleShot(self.SETTLE_MS, loop, loop.quit)  # cancelled with the loop
            loop.exec()
            self._loop = None
        if self.loaded and (self._failed or not self.missing):
            code = QDialog.DialogCode.Rejected if self._failed else QDialog.DialogCode.Accepted
            self.setResult(code)
            return int(code.value)
        return super().exec()

    def _show_missing(self, missing: list[tuple[str, str]]) -> None:
        self.loaded = True
        self.missing = missing
        for name, label in missing:
            edit = QLineEdit()
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setObjectName(f"secret-{name}")
            self.edits[name] = edit
            self.form.addRow(f"{label}:", edit)
        self.state.setVisible(False)
        self.ok_button.setEnabled(True)
        if self.edits:
            next(iter(self.edits.values())).setFocus()
        self._stop_waiting()
        if not missing and self.isVisible():
            self.accept()  # nothing to ask after all

    def _on_unreadable(self, exc: BaseException) -> None:
        """The check itself failed: the error is shown and nothing is asked."""
        self.loaded = self._failed = True
        self._stop_waiting()
        errors.show_error(self, exc)
        if self.isVisible():
            self.reject()

    def _stop_waiting(self) -> None:
        if self._loop is not None:
            self._loop.quit()

    def _on_accepted(self) -> Operation | None:
        """Keep the typed values for this session (on a worker, like every secrets call)."""
        if not self.loaded or (self.save_op is not None and not self.save_op.done):
            return None
        typed = {name: edit.text() for name, edit in self.edits.items() if edit.text()}
        secrets = self.services.secrets

        def keep(_op) -> None:
            for name, value in typed.items():
                secrets.set(name, value, session_only=True)

        def done(_result) -> None:
            for edit in self.edits.values():
                edit.clear()
            self.accept()

        def failed(exc: BaseException) -> None:
            self.ok_button.setEnabled(True)
            errors.show_error(self, exc)

        self.ok_button.setEnabled(False)
        self.save_op = Operation(self, keep, label="Keeping the credentials for this session…") \
            .success(done).failure(failed)
        return self.save_op.run()
