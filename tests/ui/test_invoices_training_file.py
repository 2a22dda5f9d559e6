"""Invoice Import tab: "Open a training invoice file" — only on the sandbox profile, written on a
worker into the sandbox data folder, then opened and checked in the tab."""

from __future__ import annotations

import threading

import pytest

from console.app import build_services
from console.config import Profile, ProfileStore
from console.paths import Paths
from console.secrets import MemoryBackend
from console.ui.context import UiContext
from console.ui.tabs.invoice_import_tab import InvoiceImportTab, training_invoice_path
from tests.ui.threads import drain


@pytest.fixture(autouse=True)
def _drain(qtbot):
    yield
    drain(qtbot, 10_000, rounds=3, settle_ms=20)


def _tab(qtbot, profile: str = "sandbox") -> InvoiceImportTab:
    services = build_services(profile, secret_backend=MemoryBackend())
    tab = InvoiceImportTab(UiContext(services))
    qtbot.addWidget(tab)
    return tab


def _production_profile() -> Profile:
    p = Profile("cityhall", values={
        "caselle_url": "https://caselle.example.gov/graphql", "caselle_client_id": "abc",
        "invoicecloud_biller_id": "CITY01", "invoicecloud_api_url": "https://ic.example.com/api",
        "invoicecloud_gateway_url": "https://gw.example.com", "transfer_host": "sftp.example.com",
        "transfer_user": "city"})
    ProfileStore(Paths.default().ensure()).save(p)
    return p


def test_the_button_writes_the_file_on_a_worker_and_opens_it(qtbot, monkeypatch):
    import console.sandbox.invoice_export as export

    threads = []
    real = export.write_invoice_export

    def spy(path, *args, **kwargs):
        threads.append(threading.current_thread())
        return real(path, *args, **kwargs)

    monkeypatch.setattr(export, "write_invoice_export", spy)
    tab = _tab(qtbot)
    button = tab.training_button
    assert button is not None and button.text().replace("&", "") == "Open a training invoice file"
    assert not button.isHidden() and "TRAINING" in button.toolTip()
    target = training_invoice_path(tab.ctx.services.paths)
    assert target.parent == Paths.default().sandbox_dir / "invoices" and not target.exists()

    tab._set_loading(True)  # while a file is being checked: no training file written over it
    assert not button.isEnabled() and tab.open_training_file() is None
    tab._set_loading(False)
    assert button.isEnabled() and not target.exists()

    button.click()
    qtbot.waitUntil(lambda: tab.check is not None and not tab.loading, timeout=30_000)
    assert threads and threads[0] is not threading.main_thread()  # written off the GUI thread
    assert target.is_file() and tab.path == target
    assert tab.check.ok and tab.check.record_count > 100  # the demo customers' bills
    assert tab.model.rowCount() == tab.check.record_count
    assert tab.send_button.isEnabled() and button.isEnabled()
    assert target.name in tab.banner.text()


def test_writing_it_again_gives_the_same_file(qtbot):
    tab = _tab(qtbot)
    tab.open_training_file()
    qtbot.waitUntil(lambda: tab.check is not None and not tab.loading, timeout=30_000)
    first = tab.check.fingerprint
    tab.open_training_file()
    qtbot.waitUntil(lambda: tab.check is not None and not tab.loading, timeout=30_000)
    assert tab.check.fingerprint == first


def test_a_write_failure_is_shown_and_the_button_comes_back(qtbot, monkeypatch):
    import console.sandbox.invoice_export as export

    shown = []
    monkeypatch.setattr("console.ui.tabs.invoice_import_tab.show_error", lambda parent, exc: shown.append(exc))

    def fail(path, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "write_invoice_export", fail)
    tab = _tab(qtbot)
    tab.open_training_file()
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    assert isinstance(shown[0], OSError)
    assert "could not be written" in tab.banner.text() and tab.training_button.isEnabled()
    assert tab.path is None


def test_never_on_a_production_profile(qtbot, monkeypatch):
    import console.sandbox.invoice_export as export

    calls = []
    monkeypatch.setattr(export, "write_invoice_export", lambda *a, **k: calls.append(a))
    _production_profile()
    tab = _tab(qtbot, "cityhall")
    assert tab.training_button is None
    assert not any("training" in b.text().lower() for b in tab.findChildren(type(tab.open_button)))
    assert tab.open_training_file() is None
    qtbot.wait(50)
    assert calls == [] and tab.path is None
    assert not (Paths.default().sandbox_dir / "invoices").exists()
