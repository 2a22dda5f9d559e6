"""The application controller: profile fallback, switch profile, sign out, settings reload, secrets cache."""

from __future__ import annotations

from argparse import Namespace

import pytest

from console import secrets as sec
from console.config import Operator, Profile, ProfileStore, hash_pin
from console.paths import Paths
from console.ui import app as app_mod
from console.ui.errors import find_error_boxes
from console.ui.operations import tracker
from console.ui.settings_dialog import SessionSecretsDialog
from console.ui.signin_dialog import SignInDialog

SUP = Operator("sup", "Sue", "supervisor", hash_pin("4321", iterations=1000))


class FakeApp:
    def __init__(self):
        self.quit_called = False

    def quit(self):
        self.quit_called = True


@pytest.fixture
def signins(monkeypatch):
    """Replace the modal sign-in: each call signs in the next operator ID from the list (None = cancel)."""
    queue: list[str | None] = []
    calls = []

    def fake_exec(dlg):
        calls.append(dlg.profile.name)
        op_id = queue.pop(0) if queue else None
        if op_id is None:
            return SignInDialog.DialogCode.Rejected
        dlg.operator = dlg.profile.operator(op_id)
        return SignInDialog.DialogCode.Accepted

    monkeypatch.setattr(SignInDialog, "exec", fake_exec)
    monkeypatch.setattr(SessionSecretsDialog, "exec", lambda dlg: calls.append(f"secrets:{dlg.services.profile.name}"))
    return queue, calls


@pytest.fixture
def controller(qtbot):
    c = app_mod.ConsoleApp(FakeApp(), Namespace(self_test=False, profile=None, timing=False), t0=0.0)
    yield c
    if c.window is not None:
        c.window.close()
    tracker().cancel_all()
    tracker().wait(5000)
    c.close_services()
    for box in find_error_boxes():
        box.close()


def save(name="cityhall", **values):
    ProfileStore(Paths.default().ensure()).save(Profile(name, values={
        "caselle_url": "https://c.example.gov/g", "caselle_client_id": "a", "invoicecloud_biller_id": "C1",
        "invoicecloud_api_url": "https://i.example.com", "invoicecloud_gateway_url": "https://g.example.com",
        "transfer_host": "h", "transfer_user": "u", **values}, operators=(SUP,)))


def test_a_broken_profile_falls_back_to_the_sandbox_with_an_error_shown(controller):
    Paths.default().ensure().profiles_file.write_text("this is = not [valid toml", encoding="utf-8")
    shown = []
    controller.startup_presenter = lambda parent, report, severity: shown.append(report)
    services = controller.load_services("cityhall")
    assert services.profile.name == "sandbox"
    assert len(shown) == 1 and "not valid TOML" in shown[0].message
    assert any("toml" in d.lower() for d in shown[0].details)


def test_switch_profile_signs_in_again_and_opens_a_new_window(controller, signins, qtbot):
    queue, calls = signins
    save()
    controller.services = controller.load_services("sandbox")
    queue.append("clerk1")
    assert controller.sign_in()
    first = controller.open_window(check_connection=False)
    queue.append("sup")
    controller.switch_profile("cityhall")
    # production without a secure keyring asks for the session's credentials right after sign-in
    assert calls[:2] == ["sandbox", "cityhall"]
    assert calls[2:] in ([], ["secrets:cityhall"])
    assert (calls[2:] == ["secrets:cityhall"]) == (not controller.services.secrets.secure)
    assert controller.window is not first and controller.window.ctx.profile.name == "cityhall"
    assert controller.operator.operator_id == "sup" and controller.services.operator_id == "sup"
    assert "TRAINING" not in controller.window.windowTitle()


def test_saving_the_current_profile_reloads_it_and_keeps_the_operator(controller, signins):
    queue, calls = signins
    save()
    controller.services = controller.load_services("cityhall")
    queue.append("sup")
    controller.sign_in()
    controller.open_window(check_connection=False)
    controller.services.secrets.set(sec.TRANSFER_PASSWORD, "session-only-pw", session_only=True)
    save(transfer_port=2200)
    controller._on_settings_saved("cityhall")
    assert controller.services.secrets.get(sec.TRANSFER_PASSWORD) == "session-only-pw"
    assert [c for c in calls if not c.startswith("secrets:")] == ["cityhall"]  # no second sign-in
    assert controller.services.profile.transfer_port == 2200
    assert controller.window.ctx.operator.operator_id == "sup"


def test_sign_out_then_cancel_quits(controller, signins):
    queue, calls = signins
    controller.services = controller.load_services("sandbox")
    queue.append("cashier1")
    controller.sign_in()
    controller.open_window(check_connection=False)
    controller.sign_out()  # the queue is empty: the sign-in dialog is cancelled
    assert calls == ["sandbox", "sandbox"]
    assert controller.app.quit_called and controller.window is None


def test_redaction_secrets_come_from_the_store_without_reading_the_keyring(controller, monkeypatch):
    from console.secrets import MemoryBackend

    controller.services = controller.load_services("sandbox")
    controller.services.secrets._backend = MemoryBackend()
    controller.services.secrets.set(sec.SMTP_PASSWORD, "first-secret-1")
    monkeypatch.setattr(controller.services.secrets, "known_values", lambda: pytest.fail("keyring read"))
    monkeypatch.setattr(controller.services.secrets, "get", lambda name: pytest.fail("keyring read"))
    assert "first-secret-1" in controller.known_secrets()
    controller.services.secrets.set(sec.SMTP_PASSWORD, "second-secret-2")
    assert "second-secret-2" in controller.known_secrets()


def test_the_swipe_capture_is_installed_once_for_the_whole_application(qapp):
    from console.ui.swipe_capture import SwipeCapture

    capture = app_mod._install_swipe_capture(qapp)
    try:
        assert capture is not None and SwipeCapture.install() is capture
    finally:
        SwipeCapture.remove_installed(qapp)
