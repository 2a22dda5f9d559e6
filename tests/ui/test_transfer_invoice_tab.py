"""Invoice Import tab → Send, with the real composition root and the sandbox: the sandbox's own
SFTP server (pinned without a prompt), delivery polled to "delivered", a second Send only with a
supervisor's override; and a production-like server whose unknown key goes through the trust
dialog."""

from __future__ import annotations

import os

import paramiko
import pytest
from PySide6.QtCore import Qt

from console.app import build_services
from console.config import sandbox_profile
from console.paths import Paths
from console.sandbox.invoice_export import write_invoice_export
from console.sandbox.runner import stop_embedded
from console.secrets import MemoryBackend
from console.ui.context import UiContext
from console.ui.host_key_dialog import HostKeyDialog
from console.ui.operations import tracker
from console.ui.tabs.invoice_import_tab import InvoiceImportTab

PROFILE = sandbox_profile()


@pytest.fixture(autouse=True)
def _sandbox(monkeypatch):
    monkeypatch.setenv("BILLER_CONSOLE_SANDBOX_PICKUP_DELAY", "0.2")
    yield
    tracker().cancel_all()
    tracker().wait(10_000)
    stop_embedded()


pytestmark = pytest.mark.usefixtures("confirm_sends")  # Send is confirmed (the dialog: test_trust_confirm.py)

def _tab(qtbot, services, operator="clerk1") -> InvoiceImportTab:
    tab = InvoiceImportTab(UiContext(services, PROFILE.operator(operator)))
    qtbot.addWidget(tab)
    tab.sender.set_poll_interval(100)
    return tab


def _load(qtbot, tab, path) -> None:
    tab.load_file(path)
    qtbot.waitUntil(lambda: not tab.loading and tab.check is not None, timeout=30_000)
    assert tab.check.ok, tab.check.errors[:3]
    qtbot.waitUntil(tab.send_button.isEnabled, timeout=5_000)


def _send(qtbot, tab) -> list:
    with qtbot.waitSignal(tab.sender.finished, timeout=30_000) as done:
        qtbot.mouseClick(tab.send_button, Qt.MouseButton.LeftButton)
    return done.args


def _sftp_files() -> list[str]:
    return sorted(os.listdir(Paths.default().sandbox_dir / "sftp" / "root" / "invoices"))


def test_send_from_the_tab_to_the_sandbox_until_delivered_then_override(qtbot, tmp_path):
    services = build_services("sandbox", secret_backend=MemoryBackend(), operator_id="clerk1")
    try:
        export = tmp_path / "ICExport.txt"
        write_invoice_export(export, count=60)
        tab = _tab(qtbot, services)
        _load(qtbot, tab, export)
        statuses: list[str] = []
        tab.sender.delivery_changed.connect(statuses.append)

        assert _send(qtbot, tab) == [True]  # no trust prompt: the sandbox's key is known locally
        qtbot.waitUntil(lambda: statuses and statuses[-1] == "delivered", timeout=15_000)
        assert statuses[0] == "awaiting pickup"
        assert _sftp_files() == ["ICExport.txt.snt"]

        asked = []

        def approve_as_supervisor(parent, error, approve, file_name=""):
            asked.append((file_name, error.previous.operator))
            return approve("super1", "9999")

        tab.sender.ask_override = approve_as_supervisor
        results = []
        tab.sender.sent.connect(results.append)
        assert _send(qtbot, tab) == [True]
        assert asked == [("ICExport.txt", "clerk1")]
        assert results[-1].override
        actions = [r.action for r in services.audit.rows()]
        assert "file.override" in actions and "operator.approve" in actions
    finally:
        services.close()


def test_declined_override_sends_nothing(qtbot, tmp_path):
    services = build_services("sandbox", secret_backend=MemoryBackend(), operator_id="clerk1")
    try:
        export = tmp_path / "ICExport.txt"
        write_invoice_export(export, count=20)
        tab = _tab(qtbot, services)
        _load(qtbot, tab, export)
        assert _send(qtbot, tab) == [True]
        tab.sender.stop_polling()
        before = _sftp_files()
        tab.sender.ask_override = lambda *a, **k: None
        messages: list[str] = []
        tab.sender.message.connect(messages.append)
        assert _send(qtbot, tab) == [False]
        assert "no supervisor approved" in messages[-1]
        assert _sftp_files() == before
    finally:
        services.close()


def test_unknown_production_host_goes_through_the_trust_dialog(qtbot, tmp_path, monkeypatch):
    from console import secrets as secrets_mod
    from console.config import Profile, ProfileStore
    from console.sandbox.sftp_server import DEMO_PASSWORD, SftpServer

    paths = Paths.default().ensure()
    with SftpServer(tmp_path / "root", paramiko.ECDSAKey.generate(bits=256)) as server:
        (server.root / "invoices").mkdir()
        ProfileStore(paths).save(Profile("town", values={
            "transfer_host": "127.0.0.1", "transfer_port": server.port, "transfer_user": "demo",
            "caselle_url": "https://caselle.example", "caselle_client_id": "x", "invoicecloud_biller_id": "T1",
            "invoicecloud_api_url": "https://ic.example", "invoicecloud_gateway_url": "https://gw.example"},
            operators=PROFILE.operators))
        backend = MemoryBackend()
        services = build_services("town", secret_backend=backend, operator_id="clerk1")
        services.secrets.set(secrets_mod.TRANSFER_PASSWORD, DEMO_PASSWORD)
        try:
            export = tmp_path / "ICExport.txt"
            write_invoice_export(export, count=20)
            tab = _tab(qtbot, services)
            _load(qtbot, tab, export)
            shown = []

            def operator_compares_and_trusts(parent, error):
                dialog = HostKeyDialog(error, parent)
                qtbot.addWidget(dialog)
                shown.append(dialog.fingerprint_label.text())
                dialog.compared.setChecked(True)
                dialog.trust_button.click()
                return dialog.trusted

            tab.sender.ask_trust = operator_compares_and_trusts
            assert _send(qtbot, tab) == [True]
            assert shown == [server.fingerprint]
            assert os.listdir(server.root / "invoices") == ["ICExport.txt"]
            assert [h[2] for h in services.transfer.pinned_hosts()] == [server.fingerprint]
        finally:
            services.close()
