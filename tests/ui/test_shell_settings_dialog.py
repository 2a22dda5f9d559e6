"""Settings dialog: generated from FIELDS, problems next to fields, TOML without secrets, sandbox read-only."""

from __future__ import annotations

import tomllib

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit

from console import secrets as sec
from console.app import build_services
from console.config import FIELDS, Operator, Profile, ProfileStore, sandbox_profile
from console.secrets import MemoryBackend, SecretStore
from console.ui.context import UiContext
from console.ui.settings_dialog import SettingsDialog, section_title
from tests.profiles import SUPERVISOR, VALID

SECRET = "kq7-client-secret-do-not-write"


@pytest.fixture
def backend():
    return MemoryBackend()


def dialog(qtbot, backend, profile_name="cityhall", operator=SUPERVISOR):
    services = build_services(profile_name, secret_backend=backend, endpoints={"caselle_url": ""})
    ctx = UiContext(services, operator)
    dlg = SettingsDialog(ctx, secret_store_factory=lambda name: SecretStore(name, backend=backend),
                         ask_name=lambda parent, current: "newcity")
    qtbot.addWidget(dlg)
    return dlg


def wait_saved(qtbot, dlg):
    """The save runs on a worker; wait until it has finished."""
    op = dlg.save_op
    if op is not None:
        qtbot.waitUntil(lambda: op.done, timeout=10_000)


def save_profile(**values):
    from console.paths import Paths

    p = Profile("cityhall", values={**VALID, **values}, operators=(SUPERVISOR,))
    ProfileStore(Paths.default().ensure()).save(p)
    return p


def test_every_declared_setting_has_an_editor_on_its_section_page(qtbot, backend):
    save_profile()
    dlg = dialog(qtbot, backend)
    assert set(dlg.editors) == {s.name for s in FIELDS}
    pages = [dlg.pages.tabText(i) for i in range(dlg.pages.count())]
    for s in FIELDS:
        assert section_title(s.section) in pages
    assert {"Credentials", "GL accounts", "Operators"} <= set(pages)
    assert dlg.editors["caselle_url"].line.text() == VALID["caselle_url"]


def test_problems_are_shown_next_to_the_fields_and_block_saving(qtbot, backend):
    save_profile()
    dlg = dialog(qtbot, backend)
    assert dlg.save_button.isEnabled()
    dlg.editors["caselle_url"].line.setText("http://caselle.example.gov/graphql")
    dlg.editors["biller_nsf_fee"].line.setText("12.3x")
    err_url = dlg.findChild(QLabel, "error-caselle_url")
    err_fee = dlg.findChild(QLabel, "error-biller_nsf_fee")
    assert "https://" in err_url.text() and not err_url.isHidden()
    assert "amount" in err_fee.text() and not err_fee.isHidden()
    assert not dlg.save_button.isEnabled()
    assert dlg.save() is False
    caselle_page = [dlg.pages.tabText(i) for i in range(dlg.pages.count())].index("Caselle ⚠")
    assert caselle_page >= 0
    dlg.editors["caselle_url"].line.setText("https://caselle.example.gov/graphql")
    dlg.editors["biller_nsf_fee"].line.setText("12.30")
    assert err_url.isHidden() and dlg.save_button.isEnabled()


def test_save_writes_toml_without_secrets_and_the_secret_to_the_store(qtbot, backend):
    save_profile()
    dlg = dialog(qtbot, backend)
    dlg.editors["transfer_port"].widget.setValue(2222)
    dlg.editors["biller_nsf_fee"].line.setText("30.00")
    dlg.findChild(QLineEdit, f"secret-{sec.CASELLE_CLIENT_SECRET}").setText(SECRET)
    saved = []
    dlg.saved.connect(saved.append)
    assert dlg.save() is True
    wait_saved(qtbot, dlg)
    assert saved == ["cityhall"]
    path = dlg.store.path
    text = path.read_text(encoding="utf-8")
    assert SECRET not in text
    data = tomllib.loads(text)["profiles"]["cityhall"]
    assert data["transfer"]["port"] == 2222 and data["biller"]["nsf_fee"] == "30.00"
    assert SecretStore("cityhall", backend=backend).get(sec.CASELLE_CLIENT_SECRET) == SECRET
    reloaded = ProfileStore(dlg.services.paths).load("cityhall")
    assert reloaded.transfer_port == 2222


def test_sandbox_is_read_only_and_offers_a_production_copy(qtbot, backend):
    dlg = dialog(qtbot, backend, "sandbox", operator=sandbox_profile().operator("super1"))
    assert "read-only" in dlg.notice.text()
    assert dlg.editors["caselle_url"].line.isReadOnly()
    assert not dlg.save_button.isEnabled() and dlg.save() is False
    assert dlg.create_button.isVisible() or not dlg.isVisible()
    assert dlg.create_production_profile("sandbox") is False
    assert dlg.create_production_profile("newcity") is True
    assert not dlg.editors["caselle_url"].line.isReadOnly()
    assert dlg.op_table.rowCount() == 0  # demo operators (known PINs) are not copied
    # production needs URLs, https and a supervisor: shown, not saved
    assert not dlg.save_button.isEnabled()
    assert "required" in dlg.findChild(QLabel, "error-caselle_url").text()
    for name, value in VALID.items():
        dlg.editors[name].line.setText(value)
    dlg._add_operator_row(Operator("boss", "Boss", "supervisor"))
    assert not dlg.save_button.isEnabled()  # no PIN yet
    assert dlg.set_operator_pin(0, "12") is False
    assert dlg.set_operator_pin(0, "2468") is True
    dlg.revalidate()
    assert dlg.save_button.isEnabled(), [str(p) for p in dlg.problems]
    assert dlg.save() is True
    wait_saved(qtbot, dlg)
    store = ProfileStore(dlg.services.paths)
    assert "newcity" in store.names() and store.default_name() == "newcity"
    loaded = store.load("newcity")
    assert loaded.operator("boss").check_pin("2468")
    assert loaded.invoicecloud_biller_id == "CITY01"


def test_cashiers_see_settings_read_only(qtbot, backend):
    save_profile()
    dlg = dialog(qtbot, backend, operator=Operator("c", "Cash", "cashier"))
    assert "Only a supervisor" in dlg.notice.text()
    assert dlg.editors["caselle_url"].line.isReadOnly()
    assert not dlg.save_button.isEnabled() and dlg.save() is False


def test_settings_change_is_audited(qtbot, backend):
    save_profile()
    dlg = dialog(qtbot, backend)
    dlg.editors["transfer_port"].widget.setValue(2200)
    assert dlg.save()
    wait_saved(qtbot, dlg)
    services = dlg.services
    if not hasattr(type(services), "audit"):
        pytest.skip("no audit service in this build")
    rows = list(services.audit.rows(action="settings.change"))
    assert rows and rows[-1].operator == "sup" and rows[-1].subject == "cityhall"
    assert rows[-1].details["settings"] == ["transfer_port"]


def test_gl_map_rows_are_checked(qtbot, backend):
    save_profile()
    dlg = dialog(qtbot, backend)
    dlg._add_gl_row("801", "10-4100-000")
    dlg._add_gl_row("801", "10-4200-000")
    dlg._add_gl_row("802", "1041")
    texts = [str(p) for p in dlg.problems]
    assert any("listed twice" in t for t in texts)
    assert any("does not match" in t and "1041" in t for t in texts)
    assert not dlg.save_button.isEnabled()
    assert "⚠" in dlg.pages.tabText([dlg.pages.tabText(i).removesuffix(" ⚠")
                                     for i in range(dlg.pages.count())].index("GL accounts"))


def test_the_integration_page_settings_are_edited_saved_and_checked(qtbot, backend):
    """Issue 18: usage graphs (#109), Virtual site, the BIF rules and per-type templates are real settings."""
    save_profile()
    dlg = dialog(qtbot, backend)
    assert section_title("bif") == "Invoice file options"
    dlg.editors["biller_usage_graphs"].widget.setChecked(False)
    dlg.editors["biller_autopay"].widget.setChecked(False)
    dlg.editors["invoicecloud_virtual_site"].line.setText("https://www.invoicecloud.com/cityhall")
    dlg.editors["bif_autopay_days_before_due"].widget.setValue(5)
    dlg.editors["bif_notify_days_before_due"].line.setText("14, 0")
    assert dlg.save() is False  # 0 days is refused next to the field
    dlg.editors["bif_notify_days_before_due"].line.setText("14, 2")
    dlg.editors["bills_templates_by_type"].line.setText("801=ar.toml")
    assert dlg.save() is True
    wait_saved(qtbot, dlg)
    p = ProfileStore(dlg.services.paths).load("cityhall")
    assert (p.biller_usage_graphs, p.biller_autopay, p.invoicecloud_virtual_site) == (
        False, False, "https://www.invoicecloud.com/cityhall")
    assert p.bif_autopay_days_before_due == 5 and p.bif_notify_days_before_due == ["14", "2"]
    assert p.bills_templates_by_type == ["801=ar.toml"]


def test_a_bill_naming_that_leaves_the_folder_is_shown_on_its_field(qtbot, backend):
    save_profile()
    dlg = dialog(qtbot, backend)
    dlg.editors["bills_naming"].line.setText("../x_{account}.pdf")
    err = dlg.findChild(QLabel, "error-bills_naming")
    assert "outside the output folder" in err.text() and not err.isHidden()
    assert not dlg.save_button.isEnabled()
    dlg.editors["bills_naming"].line.setText("{account}_{invoice}.pdf")
    assert err.isHidden() and dlg.save_button.isEnabled()
