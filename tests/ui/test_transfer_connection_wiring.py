"""Settings → Transfer "Test connection…" and Diagnostics "Transfer connection…" open the transfer
connection dialog for the right profile and values; it works against a real SFTP server."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QLabel, QPushButton

from console import secrets as sec
from console.adapters import transfer as tx
from console.app import build_services
from console.config import Operator, Profile, ProfileStore, hash_pin, sandbox_profile
from console.paths import Paths
from console.sandbox import runner
from console.sandbox.sftp_server import DEMO_PASSWORD, DEMO_USER
from console.secrets import MemoryBackend, SecretStore
from console.services.transfer import AUTH_FAILED, CONNECTED, HOST_KEY_UNKNOWN
from console.ui.context import UiContext
from console.ui.settings_dialog import SettingsDialog
from console.ui.tabs.diagnostics_tab import DiagnosticsTab
from console.ui.transfer_connection_dialog import TransferConnectionDialog
from tests.profiles import SUPERVISOR, VALID
from tests.ui.test_transfer_connection_dialog import server, sftp_service  # noqa: F401 - server is a fixture
from tests.ui.threads import drain, on_gui

SANDBOX = sandbox_profile()


@pytest.fixture(autouse=True)
def _cleanup(qtbot):
    yield
    drain(timeout_ms=10_000)
    runner.stop_embedded()


@pytest.fixture
def backend():
    return MemoryBackend()


def save_profile(srv, **values) -> Profile:
    p = Profile("cityhall", values={**VALID, "transfer_host": srv.host, "transfer_port": srv.port,
                                    "transfer_user": DEMO_USER, **values}, operators=(SUPERVISOR,))
    ProfileStore(Paths.default().ensure()).save(p)
    return p


def settings_dialog(qtbot, backend, operator=SUPERVISOR, profile="cityhall"):
    services = build_services(profile, secret_backend=backend)
    dlg = SettingsDialog(UiContext(services, operator),
                         secret_store_factory=lambda name: SecretStore(name, backend=backend))
    qtbot.addWidget(dlg)
    return dlg


def opened_dialog(qtbot, owner) -> TransferConnectionDialog:
    qtbot.waitUntil(lambda: owner.transfer_dialog is not None, timeout=10_000)
    d = owner.transfer_dialog
    qtbot.waitUntil(lambda: d.report is not None, timeout=15_000)  # the test starts when it opens
    return d


def trust_and_connect(qtbot, d: TransferConnectionDialog, fingerprint: str) -> None:
    assert d.report.state == HOST_KEY_UNKNOWN and d.report.fingerprint == fingerprint
    d._ask_trust = lambda parent, error: error.fingerprint == fingerprint
    d.trust_button.click()
    qtbot.waitUntil(lambda: d.report.state == CONNECTED, timeout=10_000)


def page_of(dlg: SettingsDialog, widget) -> str:
    for i in range(dlg.pages.count()):
        page = dlg.pages.stack.widget(i)
        if page.isAncestorOf(widget):
            return dlg.pages.tabText(i)
    return ""


# ---- Settings → Transfer ---------------------------------------------------------------------

def test_settings_transfer_page_tests_the_saved_connection(qtbot, backend, server):  # noqa: F811
    save_profile(server)
    SecretStore("cityhall", backend=backend).set(sec.TRANSFER_PASSWORD, DEMO_PASSWORD)
    dlg = settings_dialog(qtbot, backend)
    button = dlg.findChild(QPushButton, "transfer-test-connection")
    assert button is dlg.transfer_test_button and page_of(dlg, button) == "Transfer"
    button.click()
    d = opened_dialog(qtbot, dlg)
    assert d._services is dlg.services  # unchanged values: the session's own connection
    assert d._operator is SUPERVISOR and d.parent() is dlg
    subject = d.subject_label.text()
    assert "<b>cityhall</b>" in subject and "saved settings" in subject and "not saved" not in subject
    trust_and_connect(qtbot, d, server.fingerprint)
    assert [f.folder for f in d.report.folders] == ["/balances", "/bills", "/invoices", "/lockbox"]
    assert all(f.exists for f in d.report.folders)
    assert dlg.services.transfer.pinned_hosts()[0][2] == server.fingerprint
    qtbot.waitUntil(lambda: d.hosts.rowCount() == 1, timeout=5000)
    assert dlg.services.audit.rows(action="transfer.trust_host_key")[0].operator == "sup"


def test_settings_tests_the_unsaved_values_and_the_typed_password(qtbot, backend, server):  # noqa: F811
    save_profile(server, transfer_port=1, transfer_user="nobody")  # saved: wrong port and user, no password
    dlg = settings_dialog(qtbot, backend)
    dlg.editors["transfer_port"].widget.setValue(server.port)
    dlg.editors["transfer_user"].line.setText(DEMO_USER)
    dlg.secret_edits[sec.TRANSFER_PASSWORD].setText(DEMO_PASSWORD)
    assert dlg.test_transfer_connection()
    d = opened_dialog(qtbot, dlg)
    assert d._services is not dlg.services
    subject = d.subject_label.text()
    assert "not saved yet" in subject and "Credentials page" in subject
    assert f"sftp://{DEMO_USER}@{server.host}:{server.port}" in subject
    trust_and_connect(qtbot, d, server.fingerprint)  # signed in: the typed password was used
    assert d.report.message.startswith(f"Signed in to {server.host} as {DEMO_USER}")
    # testing saved nothing: the profile file and the keyring are as they were
    stored = ProfileStore(Paths.default()).load("cityhall")
    assert stored.transfer_port == 1 and stored.transfer_user == "nobody"
    assert SecretStore("cityhall", backend=backend).get(sec.TRANSFER_PASSWORD) is None
    # the key is pinned where the session's connection looks (one known_hosts for the console)
    assert [fp for _n, _t, fp in dlg.services.transfer.pinned_hosts()] == [server.fingerprint]


def test_a_wrong_typed_password_is_reported_not_the_stored_one(qtbot, backend, server):  # noqa: F811
    save_profile(server)
    SecretStore("cityhall", backend=backend).set(sec.TRANSFER_PASSWORD, DEMO_PASSWORD)
    tx.trust_host_key(Paths.default().known_hosts_file, server.host, server.port, server.public_key)
    dlg = settings_dialog(qtbot, backend)
    dlg.secret_edits[sec.TRANSFER_PASSWORD].setText("not-the-password")
    dlg.transfer_test_button.click()
    d = opened_dialog(qtbot, dlg)
    assert d.report.state == AUTH_FAILED and "refused the user name or password" in d.report.message
    dlg.secret_edits[sec.TRANSFER_PASSWORD].clear()  # back to the stored password: the session's connection
    d.close()
    assert dlg.transfer_dialog is None
    dlg.transfer_test_button.click()
    d2 = opened_dialog(qtbot, dlg)
    assert d2._services is dlg.services and d2.report.state == CONNECTED


def test_transfer_problems_are_named_before_testing(qtbot, backend, server):  # noqa: F811
    save_profile(server)
    dlg = settings_dialog(qtbot, backend)
    dlg.editors["transfer_host"].line.setText("")
    assert dlg.test_transfer_connection() is False
    assert dlg.transfer_dialog is None
    assert "Correct the Transfer settings first (Host)" in dlg.summary.text()


def test_read_only_viewers_may_still_test(qtbot, backend, server):  # noqa: F811
    save_profile(server)
    clerk = Operator("clerk9", "Kim", "clerk", hash_pin("1234", iterations=1000))
    dlg = settings_dialog(qtbot, backend, operator=clerk)
    assert not dlg.editable and dlg.transfer_test_button.isEnabled()
    dlg.transfer_test_button.click()
    d = opened_dialog(qtbot, dlg)
    assert d._services is dlg.services and not d.can_manage  # forgetting a key stays with supervisor/support


# ---- Diagnostics ---------------------------------------------------------------------------------

@pytest.fixture
def sftp_transfer(tmp_path, server):  # noqa: F811
    with sftp_service(tmp_path, server.host, server.port, DEMO_USER, DEMO_PASSWORD) as svc:
        yield svc


def diagnostics_tab(qtbot, operator_id: str, **overrides) -> DiagnosticsTab:
    services = build_services("sandbox", secret_backend=MemoryBackend(), **overrides)
    tab = DiagnosticsTab(UiContext(services, SANDBOX.operator(operator_id)), auto_run=False)
    qtbot.addWidget(tab)
    return tab


def test_diagnostics_button_sits_with_the_check_buttons_and_opens_the_active_profile(
        qtbot, server, sftp_transfer):  # noqa: F811
    tab = diagnostics_tab(qtbot, "clerk1", transfer=sftp_transfer)
    button = tab.findChild(QPushButton, "diagnostics-transfer")
    assert button is tab.transfer_button and button.text() == "&Transfer connection…"
    row = [tab.layout().itemAt(0).itemAt(i).widget() for i in range(tab.layout().itemAt(0).count())]
    assert row.index(button) + 1 == row.index(tab.rerun_button)  # beside Re-run checks, above the checks
    button.click()
    d = opened_dialog(qtbot, tab)
    assert d._services is tab.ctx.services and d._operator.operator_id == "clerk1"
    assert "<b>sandbox</b>" in d.subject_label.text() and "TRAINING" in d.subject_label.text()
    assert d.report.state == HOST_KEY_UNKNOWN and d.report.fingerprint == server.fingerprint
    assert tab.open_transfer_connection() is d  # a second click raises the open one
    tx.trust_host_key(sftp_transfer.settings.known_hosts, server.host, server.port, server.public_key)
    d.refresh_hosts()
    qtbot.waitUntil(lambda: d.hosts.rowCount() == 1, timeout=5000)
    d.hosts.selectRow(0)
    assert not d.forget_button.isEnabled()  # a clerk may not forget a pinned key
    assert d.forget_selected() is None and sftp_transfer.pinned_hosts()


def test_support_forgets_a_changed_key_and_the_checks_run_again(qtbot, server, sftp_transfer, monkeypatch):  # noqa: F811
    tx.trust_host_key(sftp_transfer.settings.known_hosts, server.host, server.port, server.public_key)
    tab = diagnostics_tab(qtbot, "support1", transfer=sftp_transfer)
    reruns = []
    monkeypatch.setattr(tab, "run_checks", lambda: reruns.append(1))
    d = tab.open_transfer_connection()
    qtbot.waitUntil(lambda: d.report is not None and d.hosts.rowCount() == 1, timeout=10_000)
    assert d.report.state == CONNECTED
    d._confirm_forget = lambda name: True
    d.hosts.selectRow(0)
    assert d.forget_button.isEnabled()
    op = d.forget_selected()
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    assert sftp_transfer.pinned_hosts() == [] and d.changed_keys
    assert sftp_transfer.audit.rows(action="transfer.forget_host_key")[0].operator == "support1"
    d.reject()
    assert reruns == [1] and tab.transfer_dialog is None


def test_closing_without_changes_does_not_rerun(qtbot, server, sftp_transfer, monkeypatch):  # noqa: F811
    tab = diagnostics_tab(qtbot, "support1", transfer=sftp_transfer)
    reruns = []
    monkeypatch.setattr(tab, "run_checks", lambda: reruns.append(1))
    d = tab.open_transfer_connection()
    qtbot.waitUntil(lambda: d.report is not None, timeout=10_000)
    d.reject()
    assert reruns == [] and tab.transfer_dialog is None


def test_diagnostics_against_the_embedded_sandbox_sftp(qtbot):
    tab = diagnostics_tab(qtbot, "support1")
    tab.transfer_button.click()
    d = opened_dialog(qtbot, tab)
    assert d.report.state == CONNECTED, d.report  # the sandbox's own key is pinned for it
    assert d.report.destination.startswith("sftp://") and len(d.report.folders) == 4
    qtbot.waitUntil(lambda: d.hosts.rowCount() >= 1, timeout=5000)
    assert d.report.fingerprint in [d.hosts.item(r, 2).text() for r in range(d.hosts.rowCount())]


def test_the_dialog_builds_the_transfer_service_on_a_worker(qtbot, sftp_transfer):
    seen = []

    class LazyServices:
        @property
        def transfer(self):
            seen.append(on_gui())
            return sftp_transfer

    d = TransferConnectionDialog(LazyServices(), SANDBOX.operator("support1"), subject="x")
    qtbot.addWidget(d)
    d.test_connection()
    qtbot.waitUntil(lambda: d.report is not None and d.hosts_state.text() != "Reading the pinned keys…",
                    timeout=10_000)
    assert seen and not any(seen)  # never touched on the GUI thread


def test_subject_line_is_hidden_without_a_subject(qtbot, sftp_transfer):
    d = TransferConnectionDialog(SimpleNamespace(transfer=sftp_transfer), None)
    qtbot.addWidget(d)
    assert d.subject_label.isHidden()
    assert isinstance(d.findChild(QLabel, "transfer-connection-subject"), QLabel)


def test_a_failing_transfer_check_points_to_the_button(qtbot):
    from console.services.diagnostics import FAIL, PASS, Check, DiagnosticsReport

    tab = diagnostics_tab(qtbot, "support1", endpoints={"caselle_url": ""})
    failing = Check("transfer", "File transfer (Stratus / SFTP)", FAIL, "host key changed", "Ask the provider",
                    ["sftp: sftp://demo@h:22"])
    tab.show_report(DiagnosticsReport([Check("profile", "Profile settings", PASS, "valid"), failing],
                                      "sandbox", "2026-01-01T00:00:00+00:00", 5))
    text = tab.details.toPlainText()
    assert "Transfer connection… (above)" in text
    assert text.index("Transfer connection…") < text.index("sftp://demo@h:22")
    tab.table.selectRow(0)  # another check: no pointer
    assert "Transfer connection…" not in tab.details.toPlainText()
