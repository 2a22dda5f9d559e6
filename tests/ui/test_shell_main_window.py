"""Main window: tabs and placeholders, TRAINING marks, status bar, UI state restored."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QLabel

from console.app import build_services
from console.config import Profile, ProfileStore, sandbox_profile
from console.secrets import MemoryBackend
from console.services.diagnostics import ConnectionStatus
from console.ui import tabs as tabs_mod
from console.ui.context import UiContext, ui_settings
from console.ui.main_window import MainWindow
from console.ui.operations import Operation

OPERATOR = sandbox_profile().operators[0]

pytestmark = pytest.mark.usefixtures("drained")


def make_window(qtbot, profile="sandbox", **overrides):
    services = build_services(profile, secret_backend=MemoryBackend(),
                              endpoints=overrides.pop("endpoints", {"caselle_url": ""}))
    ctx = UiContext(services, OPERATOR, settings=ui_settings(services.paths.config_dir))
    w = MainWindow(ctx, check_connection=False)
    qtbot.addWidget(w)
    return w


def save_production_profile():
    from console.paths import Paths
    from tests.profiles import SUPERVISOR, VALID

    p = Profile("cityhall", values=dict(VALID), operators=(SUPERVISOR,))
    ProfileStore(Paths.default().ensure()).save(p)
    return p


def test_every_tab_is_present_in_order(qtbot):
    w = make_window(qtbot)
    titles = [w.tabs.tabText(i) for i in range(w.tabs.count())]
    assert titles == ["Counter Payments", "Posting", "Invoice Import", "Lockbox", "Bill Images", "Diagnostics",
                      "Day Close"]
    assert titles == [t for t, _m, _x in tabs_mod.TABS]


def test_tabs_are_built_lazily_and_unbuilt_ones_say_what_they_will_do(qtbot, monkeypatch):
    monkeypatch.setattr("console.ui.main_window.TABS", [
        ("Alpha", None, "Alpha will count the beans."),
        ("Beta", "console.ui.tabs.no_such_tab:NoSuchTab", "Beta will sort the beans."),
    ])
    w = make_window(qtbot)
    assert w.tabs.widget(1).content is None  # not built until shown
    w.tabs.setCurrentIndex(1)
    content = w.tabs.widget(1).content
    assert content.objectName() == "tab-placeholder"
    text = content.findChild(QLabel, "placeholder-text").text()
    assert "Beta will sort the beans." in text
    assert not content.property("broken")


def test_a_tab_that_crashes_shows_a_referenced_error_not_a_crash(qtbot, monkeypatch):
    import sys
    import types

    mod = types.ModuleType("console_test_broken_tab")

    class Broken:
        def __init__(self, ctx):
            raise RuntimeError("tab exploded")

    mod.Broken = Broken
    monkeypatch.setitem(sys.modules, "console_test_broken_tab", mod)
    monkeypatch.setattr("console.ui.main_window.TABS", [("Broken", "console_test_broken_tab:Broken", "x")])
    w = make_window(qtbot)
    content = w.tab_widget("Broken")
    assert content.property("broken") is True
    assert "E-" in content.findChild(QLabel, "placeholder-text").text()


def test_training_is_marked_everywhere_in_the_sandbox(qtbot):
    w = make_window(qtbot)
    assert w.windowTitle().startswith("TRAINING")
    assert w.training_banner is not None and "TRAINING" in w.training_banner.text()
    assert w.findChild(QLabel, "training-badge").text().strip() == "TRAINING"
    assert w.findChild(QLabel, "status-profile").text() == "Profile: sandbox"
    assert "Casey Cashier (cashier)" in w.findChild(QLabel, "status-operator").text()


def test_production_is_not_marked_training(qtbot):
    save_production_profile()
    w = make_window(qtbot, "cityhall")
    assert "TRAINING" not in w.windowTitle()
    assert w.training_banner is None and w.findChild(QLabel, "training-badge") is None
    assert w.findChild(QLabel, "status-profile").text() == "Profile: cityhall"


def test_geometry_and_last_tab_are_restored(qtbot, monkeypatch):
    # placeholders only: real tabs have their own minimum sizes, this is about the shell
    monkeypatch.setattr("console.ui.main_window.TABS", [(t, None, x) for t, _m, x in tabs_mod.TABS])
    w = make_window(qtbot)
    w.resize(720, 510)
    w.tabs.setCurrentIndex(3)
    w.show()
    qtbot.waitExposed(w)
    w.close()
    w2 = make_window(qtbot)
    assert w2.tabs.currentIndex() == 3
    assert (w2.width(), w2.height()) == (720, 510)
    settings_file = w2.ctx.services.paths.config_dir / "ui-state.ini"
    text = settings_file.read_text()
    assert "[main_window]" in text and "last_tab=Lockbox" in text


def test_connection_state_is_shown(qtbot):
    w = make_window(qtbot)
    w.show_connection(ConnectionStatus("connected", "2021.02.160", "http://x", "token expires in 12 days"))
    label = w.findChild(QLabel, "status-caselle")
    assert "connected" in label.text() and "API 2021.02.160" in label.text() and "12 day" in label.text()
    w.show_connection(ConnectionStatus("unreachable", "2021.05", "refused"))
    assert "unreachable" in label.text() and label.toolTip() == "refused"


def test_background_connection_check_updates_the_status_bar(qtbot):
    w = make_window(qtbot)  # no Caselle URL: "not configured", without any network
    w.check_connection()
    label = w.findChild(QLabel, "status-caselle")
    qtbot.waitUntil(lambda: "not configured" in label.text(), timeout=5000)


def test_status_bar_shows_running_operations_with_cancel(qtbot):
    w = make_window(qtbot)
    gate = threading.Event()
    seen = threading.Event()

    def work(op):
        op.progress(3, 10, "reading")
        seen.set()
        op.cancel_event.wait(5)
        gate.set()

    op = Operation(w, work, label="Indexing bills", cancellable=True).run()
    assert seen.wait(5)
    qtbot.waitUntil(lambda: w.activity.isVisibleTo(w) and "3/10" in w.activity.label.text(), timeout=3000)
    assert "Indexing bills" in w.activity.label.text() and "reading" in w.activity.label.text()
    assert w.activity.cancel_button.isVisibleTo(w)
    w.activity.cancel_button.click()
    assert gate.wait(5) and op.cancelled
    qtbot.waitUntil(lambda: not w.activity.isVisibleTo(w), timeout=3000)


def test_a_squeezed_activity_label_is_elided_to_its_width_keeping_the_count(qtbot):
    w = make_window(qtbot)
    w.resize(700, 500)
    w.show()
    w.statusBar().showMessage("Account 100102-01 · José Núñez and a long status message besides")
    seen = threading.Event()

    def work(op):
        op.progress(46, 727)
        seen.set()
        op.cancel_event.wait(5)

    op = Operation(w, work, label="Indexing bill-batch-600-v1-with-a-long-name.pdf…", cancellable=True).run()
    assert seen.wait(5)
    label = w.activity.label
    qtbot.waitUntil(lambda: label.isVisible() and "46/727" in label.text(), timeout=3000)
    qtbot.wait(50)  # one layout pass
    painted = QLabel.text(label)  # what is drawn, not the whole text
    assert label.fontMetrics().horizontalAdvance(painted) <= label.contentsRect().width()
    assert painted.endswith("46/727") and "…" in painted  # shortened in the middle, never cut at the end
    op.cancel()
    qtbot.waitUntil(lambda: not w.activity.isVisibleTo(w), timeout=3000)


def test_ctx_status_reaches_the_status_bar(qtbot):
    w = make_window(qtbot)
    w.ctx.status("Posted 12 receipts")
    assert w.statusBar().currentMessage() == "Posted 12 receipts"


def test_keyboard_shortcuts_switch_tabs(qtbot):
    w = make_window(qtbot)
    actions = {a.text(): a for a in w.findChildren(type(w.settings_action))}
    assert actions["Lockbox"].shortcut().toString() == "Ctrl+4"
    actions["Lockbox"].trigger()
    assert w.tabs.tabText(w.tabs.currentIndex()) == "Lockbox"
    assert w.settings_action.shortcut().toString()


def test_about_box_shows_the_version(qtbot):
    from PySide6.QtWidgets import QMessageBox

    from console import __version__

    w = make_window(qtbot)
    w.show_about()
    box = w.findChild(QMessageBox, "about-box")
    assert box is not None and __version__ in box.text() and "TRAINING" in box.informativeText()
    box.close()


def test_profile_picker_lists_profiles_and_emits_the_choice(qtbot):
    from console.ui.settings_dialog import ProfilePicker

    save_production_profile()
    w = make_window(qtbot)
    picker = ProfilePicker(w.ctx.services.paths, "sandbox", w)
    qtbot.addWidget(picker)
    qtbot.waitUntil(lambda: picker.load_op.done, timeout=5000)  # read on a worker
    names = [picker.list.item(i).data(256) for i in range(picker.list.count())]
    assert names == ["sandbox", "cityhall"]
    assert "TRAINING" in picker.list.item(0).text() and "current" in picker.list.item(0).text()
    picker.list.setCurrentRow(1)
    with qtbot.waitSignal(picker.chosen) as blocker:
        picker._on_accepted()
    assert blocker.args == ["cityhall"]


def test_session_secrets_dialog_asks_for_missing_credentials_only(qtbot):
    from PySide6.QtWidgets import QLineEdit

    from console import secrets as sec
    from console.ui.settings_dialog import SessionSecretsDialog

    save_production_profile()
    services = build_services("cityhall", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    services.secrets._backend = None  # no secure keyring on this PC
    services.secrets.set(sec.CASELLE_TOKEN, "already-entered-token")
    dlg = SessionSecretsDialog(services)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.load_op.done, timeout=5000)  # the keyring is read on a worker
    assert dlg.needed()
    names = {n for n, _label in dlg.missing}
    assert sec.CASELLE_TOKEN not in names and sec.IC_WEB_SERVICE_KEY in names
    dlg.findChild(QLineEdit, f"secret-{sec.IC_WEB_SERVICE_KEY}").setText("typed-in-secret")
    op = dlg._on_accepted()
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    assert services.secrets.get(sec.IC_WEB_SERVICE_KEY) == "typed-in-secret"
    assert not services.secrets.secure


def test_the_current_tab_is_built_after_the_window_is_painted(qtbot, monkeypatch):
    monkeypatch.setattr("console.ui.main_window.TABS", [(t, None, x) for t, _m, x in tabs_mod.TABS])
    w = make_window(qtbot)
    assert w.tabs.currentWidget().content is None  # nothing heavy before the window appears
    w.show()
    qtbot.waitUntil(lambda: w.tabs.currentWidget().content is not None, timeout=3000)
    assert w.first_exposed_at is not None
