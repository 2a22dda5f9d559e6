"""Small screens: at 1024×768 (a screen-size stand-in: the available area a 1024×768 monitor
leaves under a 30 px task bar) every dialog opens within the screen, with its buttons on it;
the main window fits on first start."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import paramiko
import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication, QDialogButtonBox

import console.ui.screen_fit as fit
from console.app import build_services
from console.bills.template import BillTemplate  # noqa: F401 - the template dialog's type
from console.config import sandbox_profile
from console.lockbox.glmap import GlFormat, GlMap
from console.secrets import MemoryBackend
from console.services.confirm import outbound_for
from console.ui.context import UiContext, ui_settings
from console.ui.operations import tracker

SCREEN = QRect(0, 0, 1024, 738)

pytestmark = pytest.mark.usefixtures("drained")  # the template dialog reads its page on a worker


@pytest.fixture
def small_screen(monkeypatch):
    monkeypatch.setattr(fit, "available_rect", lambda widget=None: SCREEN)
    fitter = fit.install_screen_fitter(QApplication.instance())  # as the GUI app installs it
    yield SCREEN
    QApplication.instance().removeEventFilter(fitter)
    fitter.deleteLater()


@pytest.fixture(scope="module")
def bill_pdf(tmp_path_factory) -> Path:
    from console.sandbox.bill_pdf import build_bill_batch
    from console.sandbox.seed import demo_customers

    path = tmp_path_factory.mktemp("bills") / "cycle.pdf"
    build_bill_batch(demo_customers(3), path)
    return path


def dialogs(services, bill_pdf):
    """(name, factory) of every dialog of the console."""
    from console.adapters.transfer import HostKeyUnknown
    from console.services.transfer import AlreadySent
    from console.ui import (
        bills_template_dialog,
        confirm_dialog,
        help_window,
        host_key_dialog,
        lockbox_dialogs,
        posting_dialogs,
        settings_dialog,
        signin_dialog,
        training_cards,
        transfer_connection_dialog,
        transfer_override_dialog,
    )

    supervisor = services.profile.operator("super1")
    ctx = UiContext(services, supervisor, settings=ui_settings(services.paths.config_dir))
    key = paramiko.ECDSAKey.generate(bits=256)
    previous = SimpleNamespace(payload={"remote_path": "/invoices/x.txt"}, updated_at="2026-12-07T12:00:00+00:00",
                               operator="clerk1")
    outbound = outbound_for(services.profile, action="Send the invoice file", what="x.txt", count=3, unit="invoices",
                            destination="sftp://h/invoices")
    return [
        ("sign-in", lambda: signin_dialog.SignInDialog(services)),
        ("lock", lambda: signin_dialog.LockDialog(services, supervisor)),
        ("settings", lambda: settings_dialog.SettingsDialog(ctx)),
        ("profile picker", lambda: settings_dialog.ProfilePicker(services.paths, "sandbox")),
        ("session secrets", lambda: settings_dialog.SessionSecretsDialog(services)),
        ("template", lambda: bills_template_dialog.TemplateDialog(bill_pdf)),
        ("GL mapping", lambda: lockbox_dialogs.GlMapDialog(GlMap({"301": "10-4100-000"}), GlFormat(), editable=True,
                                                          save=lambda m: None)),
        ("lockbox supervisor", lambda: lockbox_dialogs.SupervisorDialog(lambda i, p: supervisor, "Send again")),
        ("manual void", lambda: posting_dialogs.ManualVoidDialog(receipt_number="R1", operator_role="supervisor")),
        ("posting supervisor", lambda: posting_dialogs.SupervisorDialog(action="Import again")),
        ("host key", lambda: host_key_dialog.HostKeyDialog(HostKeyUnknown("127.0.0.1", 2222, key))),
        ("send override", lambda: transfer_override_dialog.SupervisorOverrideDialog(
            AlreadySent("x.txt", previous), lambda i, p: supervisor, file_name="x.txt")),
        ("transfer connection", lambda: transfer_connection_dialog.TransferConnectionDialog(services, supervisor)),
        ("help", lambda: help_window.HelpWindow()),
        ("confirm send", lambda: confirm_dialog.ConfirmSendDialog(outbound, services.profile)),
        ("training cards", lambda: training_cards.TrainingCardsDialog(ctx)),
    ]


def test_every_dialog_fits_a_1024x768_screen_with_its_buttons_on_it(qtbot, small_screen, bill_pdf):
    services = build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    try:
        too_big = []
        for name, make in dialogs(services, bill_pdf):
            dlg = make()
            qtbot.addWidget(dlg)
            dlg.show()
            qtbot.waitExposed(dlg)
            box = dlg.geometry()
            if box.width() > SCREEN.width() or box.height() > SCREEN.height() or not SCREEN.contains(box):
                too_big.append((name, box.width(), box.height(), box.x(), box.y()))
            for buttons in dlg.findChildren(QDialogButtonBox):
                if buttons.isVisible():
                    corner = buttons.mapTo(dlg, buttons.rect().bottomRight())
                    assert dlg.rect().contains(corner), f"{name}: buttons cut off"
            tracker().wait(10_000)  # its background work (the template's page) ends before it is closed
            dlg.close()
        assert too_big == [], too_big
    finally:
        services.close()


def test_the_template_dialog_no_longer_opens_at_1080x800(qtbot, small_screen, bill_pdf):
    from console.ui.bills_template_dialog import TemplateDialog

    dlg = TemplateDialog(bill_pdf)
    qtbot.addWidget(dlg)
    tracker().wait(10_000)
    assert dlg.width() <= SCREEN.width() - fit.FRAME_MARGIN.width()
    assert dlg.height() <= SCREEN.height() - fit.FRAME_MARGIN.height()


def test_sandbox_profile_is_the_default(qtbot):
    assert sandbox_profile().training  # the dialogs above are built for the training profile
