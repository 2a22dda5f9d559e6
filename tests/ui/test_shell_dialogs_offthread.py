"""Sign-in, unlock, supervisor override, transfer connection, profile picker and session
secrets: PIN checks, audit rows, known_hosts, the profiles file and the keyring are never
touched on the GUI thread.

Each test wraps the real call in a spy that notes whether it ran on the GUI thread; before
the fix these calls were made straight from the dialogs' slots and constructors (a slow
PIN hash, a busy SQLite file or a network drive froze the window) and the spies saw the GUI
thread. The dialogs' behaviour around the check is tested with it: a wrong PIN keeps the
dialog open and says so, the right one gets in, a second Enter while checking does nothing.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import paramiko
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialog, QLabel

from console import secrets as sec
from console.adapters import transfer as tx
from console.app import build_services
from console.config import Profile, ProfileStore, sandbox_profile
from console.errors import UserFacingError
from console.paths import Paths
from console.secrets import MemoryBackend
from console.services.operators import OperatorService
from tests.profiles import SUPERVISOR, VALID
from tests.ui.test_transfer_connection_dialog import sftp_service
from tests.ui.threads import held, on_gui, spy

pytestmark = pytest.mark.usefixtures("drained")


@pytest.fixture
def shown(monkeypatch):
    """Errors the dialogs hand to show_error (instead of message boxes)."""
    errors: list[BaseException] = []
    monkeypatch.setattr("console.ui.errors.show_error", lambda parent, exc, **kw: errors.append(exc))
    monkeypatch.setattr("console.ui.settings_dialog.show_error", lambda parent, exc, **kw: errors.append(exc))
    return errors


def sandbox_services():
    return build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})


def save_profile(name="cityhall", operators=(SUPERVISOR,)):
    ProfileStore(Paths.default().ensure()).save(Profile(name, values=dict(VALID), operators=operators))


def wait(qtbot, op) -> None:
    assert op is not None
    qtbot.waitUntil(lambda: op.done, timeout=5000)


def sign_in_dialog(qtbot, services, operator_id: str, pin: str):
    """The sign-in dialog, shown, with the operator ID and PIN typed in."""
    from console.ui.signin_dialog import SignInDialog

    dlg = SignInDialog(services)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.id_edit.setText(operator_id)
    dlg.pin_edit.setText(pin)
    return dlg


def lock_dialog(qtbot, services):
    """The idle lock of cashier1, shown."""
    from console.ui.signin_dialog import LockDialog

    dlg = LockDialog(services, services.profile.operator("cashier1"))
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def override_dialog(qtbot, approve, pin: str):
    """The supervisor override of a file already sent, shown, with super1 and the PIN typed in."""
    from console.ui.transfer_override_dialog import SupervisorOverrideDialog
    from tests.ui.test_transfer_dialogs import _already_sent

    d = SupervisorOverrideDialog(_already_sent(), approve)
    qtbot.addWidget(d)
    d.show()
    d.supervisor_id.setText("super1")
    d.pin.setText(pin)
    return d


# ---- sign-in ----------------------------------------------------------------------------

def test_sign_in_checks_the_pin_on_a_worker_and_a_wrong_pin_keeps_the_dialog_open(qtbot, monkeypatch):
    services = sandbox_services()
    calls: list[bool] = []
    monkeypatch.setattr(services.operators, "sign_in", spy(calls, services.operators.sign_in))
    dlg = sign_in_dialog(qtbot, services, "clerk1", "0000")
    op = dlg.try_sign_in()
    assert not dlg.sign_in_button.isEnabled() and dlg.pin_edit.isReadOnly()  # waits while checking
    assert dlg.error_label.text() == "Checking…"
    assert dlg.try_sign_in() is None  # Enter again: still one check
    wait(qtbot, op)
    assert dlg.isVisible() and dlg.operator is None
    assert dlg.error_label.text() == "Unknown operator ID or wrong PIN." and dlg.error_label.isVisible()
    assert dlg.pin_edit.text() == "" and not dlg.pin_edit.isReadOnly() and dlg.sign_in_button.isEnabled()
    dlg.pin_edit.setText("2222")
    with qtbot.waitSignal(dlg.accepted, timeout=5000):
        dlg.try_sign_in()
    assert calls == [False, False]
    assert dlg.operator.operator_id == "clerk1" and dlg.pin_edit.text() == ""
    assert services.audit.rows(action="operator.sign_in")[-1].operator == "clerk1"


def test_a_second_enter_while_the_pin_is_checked_neither_cancels_nor_checks_again(qtbot, monkeypatch):
    services = sandbox_services()
    release = threading.Event()
    calls: list[bool] = []
    monkeypatch.setattr(services.operators, "sign_in", held(release, services.operators.sign_in, calls))
    dlg = sign_in_dialog(qtbot, services, "cashier1", "1111")
    dlg.activateWindow()
    qtbot.waitActive(dlg)
    dlg.pin_edit.setFocus()
    qtbot.keyClick(dlg.pin_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: calls == [False], timeout=5000)
    qtbot.keyClick(dlg.focusWidget() or dlg, Qt.Key.Key_Return)  # impatient: Enter again
    qtbot.wait(50)
    assert dlg.isVisible() and dlg.focusWidget() is dlg.pin_edit  # the keyboard stayed in the PIN
    release.set()
    qtbot.waitUntil(lambda: dlg.result() == QDialog.DialogCode.Accepted, timeout=5000)
    assert calls == [False] and dlg.operator.operator_id == "cashier1"


def test_sign_in_cancelled_while_checking_signs_nobody_in(qtbot, monkeypatch):
    services = sandbox_services()
    release = threading.Event()
    monkeypatch.setattr(services.operators, "sign_in", held(release, services.operators.sign_in))
    dlg = sign_in_dialog(qtbot, services, "super1", "9999")
    op = dlg.try_sign_in()
    dlg.reject()
    release.set()
    wait(qtbot, op)
    assert dlg.operator is None and dlg.result() == QDialog.DialogCode.Rejected


def test_an_unexpected_sign_in_failure_is_shown_and_the_dialog_stays_usable(qtbot, monkeypatch, shown):
    services = sandbox_services()

    def broken(operator_id, pin):
        raise OSError("database is locked")

    monkeypatch.setattr(services.operators, "sign_in", broken)
    dlg = sign_in_dialog(qtbot, services, "clerk1", "2222")
    wait(qtbot, dlg.try_sign_in())
    assert len(shown) == 1 and isinstance(shown[0], OSError)
    assert dlg.isVisible() and dlg.operator is None and dlg.sign_in_button.isEnabled()
    assert dlg.pin_edit.text() == "" and not dlg.error_label.isVisible()


def test_the_set_up_sign_in_is_audited_on_a_worker(qtbot, monkeypatch):
    from console.ui.signin_dialog import SETUP_OPERATOR, SignInDialog

    save_profile("bare", operators=())
    services = build_services("bare", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    calls: list[bool] = []
    monkeypatch.setattr(services.audit, "record", spy(calls, services.audit.record))
    dlg = SignInDialog(services)
    qtbot.addWidget(dlg)
    with qtbot.waitSignal(dlg.accepted, timeout=5000):
        assert dlg.try_sign_in() is not None
    assert calls == [False] and dlg.operator is SETUP_OPERATOR
    assert services.audit.rows(action="operator.sign_in")[-1].operator == SETUP_OPERATOR.operator_id


# ---- the idle lock ----------------------------------------------------------------------

def test_unlock_checks_the_pin_on_a_worker(qtbot, monkeypatch):
    services = sandbox_services()
    calls: list[bool] = []
    monkeypatch.setattr(services.operators, "sign_in", spy(calls, services.operators.sign_in))
    dlg = lock_dialog(qtbot, services)
    dlg.pin_edit.setText("9999")  # another operator's PIN
    op = dlg.try_unlock()
    assert not dlg.unlock_button.isEnabled() and dlg.try_unlock() is None
    wait(qtbot, op)
    assert dlg.isVisible() and dlg.error_label.text() == "Wrong PIN." and dlg.unlock_button.isEnabled()
    dlg.pin_edit.setText("1111")
    with qtbot.waitSignal(dlg.accepted, timeout=5000):
        dlg.try_unlock()
    assert calls == [False, False] and dlg.pin_edit.text() == ""


def test_signing_out_while_the_unlock_pin_is_checked_does_not_unlock(qtbot, monkeypatch):
    services = sandbox_services()
    release = threading.Event()
    monkeypatch.setattr(services.operators, "sign_in", held(release, services.operators.sign_in))
    dlg = lock_dialog(qtbot, services)
    accepted = []
    dlg.accepted.connect(lambda: accepted.append(True))
    dlg.pin_edit.setText("1111")
    op = dlg.try_unlock()
    with qtbot.waitSignal(dlg.sign_out, timeout=2000):
        dlg._on_sign_out_clicked()
    release.set()
    wait(qtbot, op)
    assert accepted == [] and dlg.result() == QDialog.DialogCode.Rejected


# ---- supervisor override ----------------------------------------------------------------

def test_the_override_pin_is_checked_on_a_worker(qtbot):
    operators = OperatorService(sandbox_profile())
    calls: list[bool] = []
    approve = spy(calls, lambda sid, pin: operators.approve(sid, pin, for_action="transfer.override", by="clerk1"))
    d = override_dialog(qtbot, approve, "0000")
    op = d._on_approve_clicked()
    assert not d.approve_button.isEnabled() and d.pin.isReadOnly() and d.message.text() == "Checking…"
    assert d._on_approve_clicked() is None  # Enter again: one check
    wait(qtbot, op)
    assert d.isVisible() and d.supervisor is None and "wrong PIN" in d.message.text()
    assert d.pin.text() == "" and d.approve_button.isEnabled() and not d.pin.isReadOnly()
    d.pin.setText("9999")
    with qtbot.waitSignal(d.accepted, timeout=5000):
        d._on_approve_clicked()
    assert calls == [False, False] and d.supervisor.operator_id == "super1" and d.pin.text() == ""


def test_an_override_cancelled_while_checking_approves_nothing(qtbot):
    release = threading.Event()
    supervisor = sandbox_profile().operator("super1")
    d = override_dialog(qtbot, held(release, lambda sid, pin: supervisor), "9999")
    op = d._on_approve_clicked()
    d.reject()
    release.set()
    wait(qtbot, op)
    assert d.supervisor is None and d.result() == QDialog.DialogCode.Rejected


def test_an_unexpected_override_failure_is_shown_and_the_dialog_stays_open(qtbot, shown):
    def approve(sid, pin):
        raise OSError("disk I/O error")

    d = override_dialog(qtbot, approve, "9999")
    wait(qtbot, d._on_approve_clicked())
    assert len(shown) == 1 and isinstance(shown[0], OSError)
    assert d.isVisible() and d.supervisor is None and d.approve_button.isEnabled() and d.pin.text() == ""


# ---- transfer connection: known_hosts -----------------------------------------------------

@pytest.fixture
def transfer(tmp_path):
    with sftp_service(tmp_path, "127.0.0.1", 2222, "demo", "pw") as svc:
        tx.trust_host_key(svc.settings.known_hosts, "127.0.0.1", 2222, paramiko.ECDSAKey.generate(bits=256))
        yield SimpleNamespace(transfer=svc, audit=svc.audit)


def test_pinned_keys_are_read_and_forgotten_on_workers(qtbot, transfer, monkeypatch):
    from console.ui.transfer_connection_dialog import TransferConnectionDialog

    svc = transfer.transfer
    reads: list[bool] = []
    forgets: list[bool] = []
    audits: list[bool] = []
    monkeypatch.setattr(svc, "pinned_hosts", spy(reads, svc.pinned_hosts))
    monkeypatch.setattr(svc, "forget_host_key", spy(forgets, svc.forget_host_key))
    monkeypatch.setattr(transfer.audit, "record", spy(audits, transfer.audit.record))
    d = TransferConnectionDialog(transfer, sandbox_profile().operator("support1"), confirm_forget=lambda name: True)
    qtbot.addWidget(d)
    assert d.hosts.rowCount() == 0 and d.hosts_state.text() == "Reading the pinned keys…"  # not read in the constructor
    qtbot.waitUntil(lambda: d.hosts.rowCount() == 1, timeout=5000)
    assert d.hosts.item(0, 0).text() == "[127.0.0.1]:2222" and d.hosts_state.text() == ""
    d.hosts.selectRow(0)
    op = d.forget_selected()
    assert not d.forget_button.isEnabled() and d.forget_selected() is None  # one removal at a time
    wait(qtbot, op)
    assert d.hosts.rowCount() == 0 and "Removed the pinned key of [127.0.0.1]:2222" in d.hosts_state.text()
    assert forgets == [False] and reads and not any(reads) and audits == [False]
    assert svc.settings.known_hosts.read_text(encoding="utf-8").strip() == ""
    assert transfer.audit.rows(action="transfer.forget_host_key")[0].operator == "support1"


def test_a_key_that_cannot_be_forgotten_is_shown_and_stays_listed(qtbot, transfer, monkeypatch, shown):
    from console.ui.transfer_connection_dialog import TransferConnectionDialog

    def broken(host, port, *, operator):
        raise PermissionError("known_hosts is read-only")

    monkeypatch.setattr(transfer.transfer, "forget_host_key", broken)
    d = TransferConnectionDialog(transfer, sandbox_profile().operator("super1"),
                                 confirm_forget=lambda name: True)
    qtbot.addWidget(d)
    qtbot.waitUntil(lambda: d.hosts.rowCount() == 1, timeout=5000)
    d.hosts.selectRow(0)
    wait(qtbot, d.forget_selected())
    assert len(shown) == 1 and isinstance(shown[0], PermissionError)
    assert d.hosts.rowCount() == 1 and d.forget_button.isEnabled() and "could not be removed" in d.hosts_state.text()


def test_a_stale_read_of_the_pinned_keys_does_not_overwrite_a_newer_one(qtbot, transfer, monkeypatch):
    from console.ui.transfer_connection_dialog import TransferConnectionDialog

    d = TransferConnectionDialog(transfer, sandbox_profile().operator("clerk1"))
    qtbot.addWidget(d)
    wait(qtbot, d._hosts_op)
    real = transfer.transfer.pinned_hosts
    entered, release = threading.Event(), threading.Event()

    def slow_and_old():
        entered.set()
        release.wait(5)
        return []  # what the file held long ago

    monkeypatch.setattr(transfer.transfer, "pinned_hosts", slow_and_old)
    stale = d.refresh_hosts()
    assert entered.wait(5)
    monkeypatch.setattr(transfer.transfer, "pinned_hosts", real)
    wait(qtbot, d.refresh_hosts())
    assert d.hosts.rowCount() == 1
    release.set()
    wait(qtbot, stale)
    assert d.hosts.rowCount() == 1


# ---- profile picker ---------------------------------------------------------------------

def test_the_profile_picker_reads_the_profiles_on_a_worker(qtbot, monkeypatch):
    from console.ui.settings_dialog import ProfilePicker

    save_profile()
    calls: list[bool] = []
    monkeypatch.setattr(ProfileStore, "names", spy(calls, ProfileStore.names))
    picker = ProfilePicker(Paths.default(), "cityhall")
    qtbot.addWidget(picker)
    assert not picker.ok_button.isEnabled() and picker.list.count() == 0  # nothing read in the constructor
    picker._on_accepted()  # OK before the list is there: nothing chosen
    assert picker.result() != QDialog.DialogCode.Accepted
    wait(qtbot, picker.load_op)
    assert calls == [False] and picker.ok_button.isEnabled()
    assert [picker.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(picker.list.count())] == \
        ["sandbox", "cityhall"]
    assert picker.list.currentItem().data(Qt.ItemDataRole.UserRole) == "cityhall"


def test_a_broken_profiles_file_is_shown_and_only_the_sandbox_is_offered(qtbot, shown):
    from console.ui.settings_dialog import ProfilePicker

    Paths.default().ensure().profiles_file.write_text("this is = not [valid toml", encoding="utf-8")
    picker = ProfilePicker(Paths.default(), "sandbox")
    qtbot.addWidget(picker)
    wait(qtbot, picker.load_op)
    assert len(shown) == 1 and isinstance(shown[0], UserFacingError)
    assert picker.list.count() == 1 and picker.list.item(0).data(Qt.ItemDataRole.UserRole) == "sandbox"
    assert "could not be read" in picker.findChild(QLabel, "profile-picker-state").text()


# ---- session secrets --------------------------------------------------------------------

class RecordingStore(sec.SecretStore):
    def __init__(self, profile_name: str):
        super().__init__(profile_name, backend=MemoryBackend())
        self.threads: list[bool] = []

    def get(self, name):
        self.threads.append(on_gui())
        return super().get(name)

    def set(self, name, value, *, session_only=False):
        self.threads.append(on_gui())
        return super().set(name, value, session_only=session_only)


def _session_services(store) -> object:
    save_profile()
    services = build_services("cityhall", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    services.secrets = store
    return services


def test_session_secrets_are_looked_up_and_kept_on_workers(qtbot):
    from PySide6.QtWidgets import QLineEdit

    from console.ui.settings_dialog import SessionSecretsDialog

    store = RecordingStore("cityhall")
    store.set(sec.CASELLE_TOKEN, "token")
    store.threads.clear()
    dlg = SessionSecretsDialog(_session_services(store))
    qtbot.addWidget(dlg)
    assert dlg.needed() and not dlg.ok_button.isEnabled()  # not known yet: nothing read in the constructor
    wait(qtbot, dlg.load_op)
    assert store.threads and not any(store.threads)
    assert [n for n, _label in dlg.missing] == [sec.IC_WEB_SERVICE_KEY, sec.TRANSFER_PASSWORD]
    store.threads.clear()
    dlg.findChild(QLineEdit, f"secret-{sec.IC_WEB_SERVICE_KEY}").setText("typed")
    with qtbot.waitSignal(dlg.accepted, timeout=5000):
        dlg._on_accepted()
    assert store.threads == [False]
    assert store._memory[sec.IC_WEB_SERVICE_KEY] == "typed"


def test_exec_with_nothing_missing_returns_at_once_without_showing(qtbot):
    from console.ui.settings_dialog import SessionSecretsDialog

    store = RecordingStore("cityhall")
    for name in (sec.CASELLE_TOKEN, sec.IC_WEB_SERVICE_KEY, sec.TRANSFER_PASSWORD):
        store.set(name, "value")
    dlg = SessionSecretsDialog(_session_services(store))
    qtbot.addWidget(dlg)
    seen_visible = []
    timer = QTimer()
    timer.timeout.connect(lambda: seen_visible.append(dlg.isVisible()))
    timer.start(5)
    assert dlg.exec() == QDialog.DialogCode.Accepted
    timer.stop()
    assert not dlg.needed() and not any(seen_visible)


def test_exec_with_something_missing_shows_the_fields(qtbot):
    from console.ui.settings_dialog import SessionSecretsDialog

    dlg = SessionSecretsDialog(_session_services(RecordingStore("cityhall")))
    qtbot.addWidget(dlg)
    seen = []

    def look():
        seen.append((dlg.isVisible(), len(dlg.edits)))
        dlg.reject()

    QTimer.singleShot(SessionSecretsDialog.SETTLE_MS + 200, look)
    assert dlg.exec() == QDialog.DialogCode.Rejected
    assert seen == [(True, 3)]  # Caselle token, Invoice Cloud key, transfer password


# ---- settings: which credentials are stored -------------------------------------------------

class ReadRecordingBackend(MemoryBackend):
    def __init__(self):
        super().__init__()
        self.threads: list[bool] = []

    def get_password(self, *args, **kwargs):
        self.threads.append(on_gui())
        return super().get_password(*args, **kwargs)


def test_settings_ask_the_keyring_which_credentials_are_stored_on_a_worker(qtbot):
    from tests.ui.test_shell_settings_dialog import dialog

    save_profile()
    backend = ReadRecordingBackend()
    sec.SecretStore("cityhall", backend=backend).set(sec.CASELLE_TOKEN, "token")
    dlg = dialog(qtbot, backend)
    token = dlg.secret_edits[sec.CASELLE_TOKEN]
    assert token.placeholderText() == "checking…"  # not asked in the constructor
    wait(qtbot, dlg.secrets_op)
    assert backend.threads and not any(backend.threads)
    assert token.placeholderText() == "stored — type to replace"
    assert dlg.secret_edits[sec.IC_WEB_SERVICE_KEY].placeholderText() == "not set"
    assert "system keyring only" in dlg.secrets_note.text()
