"""Diagnostics tab: checks with coloured states and hints, re-run, support bundle; the model without a view."""

from __future__ import annotations

import zipfile

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel

from console.app import build_services
from console.config import sandbox_profile
from console.sandbox import runner
from console.secrets import MemoryBackend
from console.services.diagnostics import FAIL, PASS, WARN, Check, DiagnosticsReport
from console.ui.context import UiContext
from console.ui.tabs.diagnostics_tab import STATE_COLORS, CheckRole, DiagnosticsModel, DiagnosticsTab
from tests.ui.threads import drain


@pytest.fixture(autouse=True)
def _cleanup(qtbot):
    yield
    drain(timeout_ms=10_000)
    runner.stop_embedded()


def report(*checks):
    return DiagnosticsReport(list(checks), "sandbox", "2026-01-01T00:00:00+00:00", 5)


CHECKS = (
    Check("profile", "Profile settings", PASS, "valid"),
    Check("caselle_auth", "Caselle sign-in and token", WARN, "expires in 9 days", "Renew the token"),
    Check("clock", "Clock", FAIL, "PC clock 600 s ahead", "Correct the PC's date and time", ["detail line"]),
)


def test_model_columns_roles_and_colours(qtmodeltester):
    model = DiagnosticsModel()
    model.set_checks(list(CHECKS))
    qtmodeltester.check(model)
    assert model.rowCount() == 3 and model.columnCount() == 4
    idx = model.index(2, DiagnosticsModel.STATE)
    assert model.data(idx) == "Fail"
    assert model.data(idx, Qt.ItemDataRole.BackgroundRole).color() == QColor(STATE_COLORS[FAIL][0])
    assert model.data(model.index(2, DiagnosticsModel.HINT)) == "Correct the PC's date and time"
    assert model.data(idx, CheckRole) is CHECKS[2]
    assert "detail line" in model.data(model.index(2, DiagnosticsModel.RESULT), Qt.ItemDataRole.ToolTipRole)


def make_tab(qtbot, auto_run=False, **overrides):
    services = build_services("sandbox", secret_backend=MemoryBackend(), **overrides)
    tab = DiagnosticsTab(UiContext(services, sandbox_profile().operators[3]), auto_run=auto_run)
    qtbot.addWidget(tab)
    return tab


def test_a_failing_check_is_shown_with_its_hint(qtbot):
    tab = make_tab(qtbot)
    tab.show_report(report(*CHECKS))
    assert "1 failed" in tab.summary.text() and "1 warning," in tab.summary.text()  # never "warning(s)"
    assert tab.table.currentIndex().row() == 2  # the worst check is selected
    assert "How to fix: Correct the PC's date and time" in tab.details.toPlainText()


def test_sandbox_diagnostics_run_in_the_background_and_are_all_green(qtbot):
    tab = make_tab(qtbot, auto_run=True)
    assert not tab.running  # starts just after the window is shown
    qtbot.waitUntil(lambda: tab.running or tab.report is not None, timeout=3000)
    qtbot.waitUntil(lambda: tab.report is not None, timeout=20_000)
    states = {c.key: c.state for c in tab.report.checks}
    assert set(states.values()) == {PASS}, states
    assert tab.summary.text() == f"All {len(states)} checks passed"
    assert tab.rerun_button.isEnabled()


def test_rerun_after_a_failure(qtbot):
    tab = make_tab(qtbot, endpoints={"caselle_url": ""})  # no Caselle URL: reachability fails
    tab.run_checks()
    qtbot.waitUntil(lambda: tab.report is not None, timeout=10_000)
    c = next(c for c in tab.report.checks if c.key == "caselle_reachable")
    assert c.state == FAIL and c.hint
    first = tab.report
    tab.rerun_button.click()
    qtbot.waitUntil(lambda: tab.report is not first, timeout=10_000)


def test_export_support_bundle(qtbot, tmp_path):
    tab = make_tab(qtbot, endpoints={"caselle_url": ""})
    tab.show_report(report(*CHECKS))
    target = tmp_path / "bundle.zip"
    tab.export_bundle(target)
    qtbot.waitUntil(lambda: target.exists() and tab.bundle_button.isEnabled(), timeout=10_000)
    with zipfile.ZipFile(target) as zf:
        assert "PC clock 600 s ahead" in zf.read("diagnostics.json").decode()


def test_slots_for_reader_test_and_audit_log(qtbot):
    tab = make_tab(qtbot)
    titles = [tab.tools.tabText(i) for i in range(tab.tools.count())]
    assert titles == ["Card reader test", "Audit log"]


def test_audit_log_panel_lists_verifies_and_exports(qtbot, tmp_path, qtmodeltester):
    from console.ui.tabs.diagnostics_tab import AuditLogPanel, AuditTableModel

    tab = make_tab(qtbot, endpoints={"caselle_url": ""})  # support1: may view the audit log
    audit = tab.ctx.services.audit
    audit.record("clerk1", "posting.run", "batch 7", receipts=12)
    audit.record("super1", "settings.change", "sandbox", settings=["transfer_port"])
    panel = tab.tool("Audit log")
    assert isinstance(panel, AuditLogPanel)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3, timeout=5000)  # and the first start's chain-keyed row
    qtmodeltester.check(panel.model)
    assert panel.model.data(panel.model.index(0, AuditTableModel.ACTION)) == "settings.change"  # newest first
    assert "receipts=12" in panel.model.data(panel.model.index(1, AuditTableModel.DETAILS))
    panel.verify()
    qtbot.waitUntil(lambda: "intact" in panel.verify_label.text().lower(), timeout=5000)
    assert panel.verify_label.text().startswith("Intact — Audit anchor: 3 entries, head ")
    target = tmp_path / "audit.csv"
    panel.export_csv(target)
    qtbot.waitUntil(target.exists, timeout=5000)
    assert "posting.run" in target.read_text()


def test_cashiers_do_not_see_the_audit_log(qtbot):
    from console.ui.tabs.diagnostics_tab import AuditLogPanel

    services = build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    tab = DiagnosticsTab(UiContext(services, sandbox_profile().operators[0]), auto_run=False)
    qtbot.addWidget(tab)
    page = tab.tool("Audit log")
    assert not isinstance(page, AuditLogPanel) and tab.findChild(AuditLogPanel) is None
    assert "supervisors and support" in page.findChild(QLabel, "slot-note").text()


def test_tool_pages_are_built_when_first_shown_and_remembered(qtbot):
    tab = make_tab(qtbot, endpoints={"caselle_url": ""})
    current = tab.tools.currentIndex()
    other = 1 - current
    assert tab.tools.widget(current).widget() is not None
    assert tab.tools.widget(other).widget() is None  # not built yet
    tab.tools.setCurrentIndex(other)
    assert tab.tools.widget(other).widget() is not None
    again = make_tab(qtbot, endpoints={"caselle_url": ""})
    assert again.tools.currentIndex() == other  # the last tool is remembered (UI state)
