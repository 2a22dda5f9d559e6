"""Settings dialog: Save writes the TOML, the keyring and the audit row on a worker — never on the
GUI thread — with Save / Cancel waiting meanwhile; a failed write is shown and nothing closes."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLineEdit

from console import secrets as sec
from console.config import ProfileStore
from console.secrets import MemoryBackend, SecretStore
from tests.ui.test_shell_settings_dialog import SECRET, dialog, save_profile, wait_saved


def _off_gui() -> bool:
    return threading.current_thread() is not threading.main_thread()


class RecordingBackend(MemoryBackend):
    def __init__(self):
        super().__init__()
        self.threads = []

    def set_password(self, *args, **kw):
        self.threads.append(_off_gui())
        return super().set_password(*args, **kw)


def test_save_writes_file_and_keyring_off_the_gui_thread(qtbot, monkeypatch):
    save_profile()
    backend = RecordingBackend()
    dlg = dialog(qtbot, backend)
    real_save = ProfileStore.save
    file_threads = []

    def slow_save(self, *args, **kw):
        file_threads.append(_off_gui())
        time.sleep(0.3)
        return real_save(self, *args, **kw)

    monkeypatch.setattr(ProfileStore, "save", slow_save)
    dlg.editors["transfer_port"].widget.setValue(2223)
    dlg.findChild(QLineEdit, f"secret-{sec.CASELLE_CLIENT_SECRET}").setText(SECRET)
    saved = []
    dlg.saved.connect(saved.append)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    assert dlg.save() is True
    assert not dlg.save_button.isEnabled() and dlg.save() is False  # busy: a second Save starts nothing
    wait_saved(qtbot, dlg)
    timer.stop()
    assert file_threads == [True] and backend.threads and all(backend.threads)
    assert len(ticks) >= 5  # the event loop ran through the 0.3 s write
    assert saved == ["cityhall"]
    assert SecretStore("cityhall", backend=backend).get(sec.CASELLE_CLIENT_SECRET) == SECRET
    assert ProfileStore(dlg.services.paths).load("cityhall").transfer_port == 2223


def test_a_failed_save_is_shown_and_the_dialog_stays_open(qtbot, monkeypatch):
    save_profile()
    dlg = dialog(qtbot, MemoryBackend())
    errors = []
    monkeypatch.setattr("console.ui.settings_dialog.show_error", lambda parent, exc: errors.append(exc))

    def broken(self, *args, **kw):
        raise OSError("read-only file system")

    monkeypatch.setattr(ProfileStore, "save", broken)
    saved = []
    dlg.saved.connect(saved.append)
    dlg.editors["transfer_port"].widget.setValue(2224)
    assert dlg.save() is True
    wait_saved(qtbot, dlg)
    assert errors and isinstance(errors[0], OSError) and saved == []
    assert dlg.save_button.isEnabled() and dlg.save_op is None
