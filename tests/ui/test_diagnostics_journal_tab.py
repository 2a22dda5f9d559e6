"""Diagnostics tab: a failed journal check, acknowledged by a signed-in supervisor (audited); the
full integrity check button."""

from __future__ import annotations

import sqlite3

import pytest
from PySide6.QtWidgets import QMessageBox

from console.app import build_services
from console.config import sandbox_profile
from console.sandbox import runner
from console.secrets import MemoryBackend
from console.services.audit import CHECK_ACKNOWLEDGED
from console.ui.context import UiContext
from console.ui.tabs.diagnostics_tab import DiagnosticsTab
from tests.ui.threads import drain

OPERATORS = {o.operator_id: o for o in sandbox_profile().operators}


@pytest.fixture(autouse=True)
def _cleanup(qtbot):
    yield
    drain(timeout_ms=10_000)
    runner.stop_embedded()


@pytest.fixture
def broken():
    """A sandbox console whose journal lost an append-only trigger."""
    services = build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    services.audit.record("clerk1", "posting.run", "file-1")
    sqlite3.connect(services.paths.journal_file, isolation_level=None).execute("DROP TRIGGER audit_no_delete")
    yield services
    services.close()


def _tab(qtbot, services, operator_id):
    tab = DiagnosticsTab(UiContext(services, OPERATORS[operator_id]), auto_run=False)
    qtbot.addWidget(tab)
    tab.run_checks()
    qtbot.waitUntil(lambda: tab.report is not None, timeout=20_000)
    return tab


def _journal_check(tab):
    return next(c for c in tab.report.checks if c.key == "audit")


def test_a_supervisor_acknowledges_a_failed_journal_check(qtbot, broken, monkeypatch):
    tab = _tab(qtbot, broken, "super1")
    assert _journal_check(tab).state == "fail" and "audit_no_delete was dropped" in _journal_check(tab).summary
    assert tab.acknowledge_button.isVisibleTo(tab) and tab.acknowledge_button.isEnabled()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    first = tab.report
    tab.acknowledge_button.click()
    qtbot.waitUntil(lambda: tab.report is not first and not tab.running, timeout=20_000)
    assert _journal_check(tab).state == "pass"
    assert not tab.acknowledge_button.isVisibleTo(tab)
    row = broken.audit.rows(action=CHECK_ACKNOWLEDGED)[-1]
    assert row.operator == "super1" and row.details["note"] == "acknowledged in Diagnostics"


def test_support_sees_the_finding_but_cannot_acknowledge(qtbot, broken):
    tab = _tab(qtbot, broken, "support1")
    assert _journal_check(tab).state == "fail"
    assert tab.acknowledge_button.isVisibleTo(tab) and not tab.acknowledge_button.isEnabled()
    assert "supervisor" in tab.acknowledge_button.toolTip()


def test_full_integrity_check_button(qtbot, broken):
    tab = _tab(qtbot, broken, "support1")
    first = tab.report
    tab.integrity_button.click()
    qtbot.waitUntil(lambda: tab.report is not first and not tab.running, timeout=20_000)
    check = next(c for c in tab.report.checks if c.key == "integrity")
    assert check.state == "pass" and "integrity_check" in check.summary


def test_the_main_window_checks_the_journal_at_start_and_says_what_it_found(qtbot, broken):
    from console.ui.context import ui_settings
    from console.ui.main_window import MainWindow

    ctx = UiContext(broken, OPERATORS["cashier1"], settings=ui_settings(broken.paths.config_dir))
    window = MainWindow(ctx, check_connection=False)
    qtbot.addWidget(window)
    window.check_journal()
    qtbot.waitUntil(lambda: window.journal_status is not None, timeout=20_000)
    assert not window.journal_status.ok
    assert "Posting and payments are stopped" in window.statusBar().currentMessage()
    assert "audit_no_delete was dropped" in window.statusBar().currentMessage()


def test_the_start_check_makes_the_daily_backup(qtbot):
    from console.services.journal_backup import backup_folder, backups

    services = build_services("sandbox", secret_backend=MemoryBackend())
    try:
        assert services.journal_start_check().ok
        assert len(backups(backup_folder(services.paths, services.profile))) == 1
        services.journal_start_check()  # not due again the same day
        assert len(backups(backup_folder(services.paths, services.profile))) == 1
    finally:
        services.close()
