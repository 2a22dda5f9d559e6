"""Lockbox tab and its dialogs never do file, database or PIN work on the GUI thread.

Each test replaces the service or file call with a spy that notes whether it ran on the GUI
thread; before the fix these calls were made straight from the slots (a slow network drive
froze the window) and the spies saw the GUI thread.
"""

from __future__ import annotations

import threading

import pytest

from console.errors import UserFacingError
from tests.lockbox_data import payment_rows, write_payments
from tests.ui.test_lockbox_tab import SUPERVISOR, built, make_tab, previewed, settle
from tests.ui.threads import held, on_gui, spy

pytestmark = pytest.mark.usefixtures("drained")


def test_importing_a_gl_csv_reads_it_on_a_worker(qtbot, tmp_path, monkeypatch):
    import console.ui.lockbox_dialogs as mod

    calls: list[bool] = []
    monkeypatch.setattr(mod, "load_gl_map_csv", spy(calls, mod.load_gl_map_csv))
    tab = make_tab(qtbot, operator=SUPERVISOR)
    dialog = tab.gl_mapping_dialog()
    qtbot.addWidget(dialog)
    csv_path = tmp_path / "gl.csv"
    csv_path.write_text("ItemCode,GLAccount\r\n301,10-4100-000\r\n", encoding="utf-8")
    op = dialog.import_csv(csv_path)
    assert not dialog.import_button.isEnabled() and not dialog.save_button.isEnabled()  # while reading
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    assert calls == [False]
    assert [code for _r, code, _gl in dialog.entries()] == ["301"] and dialog.import_button.isEnabled()


def test_a_gl_csv_that_cannot_be_read_is_shown_and_changes_nothing(qtbot, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr("console.ui.errors.show_error", lambda parent, exc: shown.append(exc))
    tab = make_tab(qtbot, operator=SUPERVISOR)
    dialog = tab.gl_mapping_dialog()
    qtbot.addWidget(dialog)
    before = dialog.entries()
    op = dialog.import_csv(tmp_path / "missing.csv")
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    assert shown and dialog.entries() == before and dialog.import_button.isEnabled()


def test_saving_the_gl_mapping_stores_it_on_a_worker_and_applies_it_on_the_gui_thread(qtbot, monkeypatch):
    import console.ui.tabs.lockbox_tab as mod

    calls: list[bool] = []
    monkeypatch.setattr(mod, "save_profile_gl_map", spy(calls, mod.save_profile_gl_map))
    tab = make_tab(qtbot, operator=SUPERVISOR)
    dialog = tab.gl_mapping_dialog()
    qtbot.addWidget(dialog)
    dialog.add_item_code("309")
    dialog.table.item(dialog.table.rowCount() - 1, 1).setText("30-4900-000")
    op = dialog._on_save()
    assert op is not None and not dialog.save_button.isEnabled()  # no second save meanwhile
    assert dialog._on_save() is None
    settle(qtbot, lambda: op.done)
    assert calls == [False]
    assert dialog.saved is not None and tab.service.settings.gl_map.account("309") == "30-4900-000"
    assert tab.ctx.services.profile.gl_map["309"] == "30-4900-000"


def test_a_failed_gl_save_is_shown_and_the_dialog_stays_open(qtbot, monkeypatch):
    import console.ui.tabs.lockbox_tab as mod

    shown = []
    monkeypatch.setattr("console.ui.errors.show_error", lambda parent, exc: shown.append(exc))

    def broken(*args, **kwargs):
        raise OSError("the profile folder is read-only")

    monkeypatch.setattr(mod, "save_profile_gl_map", broken)
    tab = make_tab(qtbot, operator=SUPERVISOR)
    dialog = tab.gl_mapping_dialog()
    qtbot.addWidget(dialog)
    dialog.show()
    op = dialog._on_save()
    settle(qtbot, lambda: op.done)
    assert shown and isinstance(shown[0], OSError)
    assert dialog.saved is None and dialog.isVisible() and dialog.save_button.isEnabled()


def test_sandbox_payments_are_written_on_a_worker(qtbot, monkeypatch):
    import console.ui.tabs.lockbox_tab as mod

    calls: list[bool] = []
    monkeypatch.setattr(mod, "write_sandbox_payments", spy(calls, mod.write_sandbox_payments))
    tab = make_tab(qtbot)
    tab._on_sandbox_button_clicked()
    assert tab.busy and not tab.open_button.isEnabled()
    settle(qtbot, lambda: tab.preview is not None and not tab.busy)
    assert calls == [False] and tab.source_path is not None and tab.source_path.exists()
    assert len(tab.preview.source.payments) == 48


def test_the_summary_sheet_is_made_on_workers_only(qtbot, tmp_path, monkeypatch):
    """The summary looks the file up in the lockbox registry (SQLite): built, checked, handed
    over or printed, that look-up never runs on the GUI thread."""
    tab = make_tab(qtbot)
    calls: list[bool] = []
    monkeypatch.setattr(tab.service, "summary", spy(calls, tab.service.summary))
    previewed(qtbot, tab, write_payments(tmp_path / "p.csv", payment_rows(4)))
    c = built(qtbot, tab, tmp_path / "lb.txt")
    assert c.file.fingerprint in tab.summary_html()
    tab.current = None
    tab.check_file(tmp_path / "lb.txt")
    settle(qtbot, lambda: tab.current is not None and not tab.busy)
    assert tab.gl_model.rowCount() > 0 and c.file.fingerprint in tab.summary_html()
    tab.mark_handed_over("USB stick")
    settle(qtbot, lambda: not tab.busy and tab.current.registered.status == "handed_over")
    assert "handed over" in tab.summary_html()
    assert len(calls) >= 3 and not any(calls)


def test_the_supervisor_pin_is_checked_on_a_worker(qtbot):
    from console.ui.lockbox_dialogs import SupervisorDialog

    calls: list[bool] = []

    def approve(supervisor_id: str, pin: str):
        calls.append(on_gui())
        if pin != "9999":
            raise UserFacingError("Wrong supervisor ID or PIN")
        return SUPERVISOR

    dialog = SupervisorDialog(approve, "Approve a test")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.supervisor_id.setText(SUPERVISOR.operator_id)
    dialog.pin.setText("1111")
    op = dialog.try_approve()
    assert not dialog.approve_button.isEnabled() and dialog.try_approve() is None  # Enter twice: one check
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    assert "Wrong" in dialog.error.text() and dialog.pin.text() == "" and dialog.isVisible()
    assert dialog.supervisor is None and dialog.approve_button.isEnabled()
    dialog.pin.setText("9999")
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        dialog.try_approve()
    assert calls == [False, False] and dialog.supervisor is SUPERVISOR and dialog.pin.text() == ""


def test_a_supervisor_dialog_cancelled_while_checking_approves_nothing(qtbot):
    from console.ui.lockbox_dialogs import SupervisorDialog

    release = threading.Event()
    dialog = SupervisorDialog(held(release, lambda supervisor_id, pin: SUPERVISOR), "Approve a test")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.pin.setText("9999")
    op = dialog.try_approve()
    dialog.reject()
    release.set()
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    assert dialog.supervisor is None and dialog.result() == dialog.DialogCode.Rejected

