"""One GL mapping: after a supervisor imports a CSV in the Lockbox tab's GL mapping dialog,
the Lockbox tab, Settings, Diagnostics and the support bundle all show that mapping — in this
session and after a restart — and the import is audited with the file's name."""

from __future__ import annotations

import tomllib
import zipfile
from datetime import UTC, datetime

from console.app import build_services
from console.secrets import MemoryBackend
from console.services.diagnostics import _Run, check_profile
from console.services.gl_mapping import AUDIT_GL_MAP
from console.services.support_bundle import build_support_bundle
from console.ui.context import UiContext, ui_settings
from console.ui.settings_dialog import SettingsDialog
from tests.ui.test_lockbox_tab import SUPERVISOR, settle

IMPORTED = {"301": "10-4100-777", "309": "30-4900-000"}


class NoChecks:
    """The bundle's diagnostics report, not run here (the bundle's profile part is tested)."""

    def as_dict(self) -> dict:
        return {}


def four_views(services, qtbot, tmp_path) -> dict[str, dict[str, str]]:
    from console.ui.tabs.lockbox_tab import LockboxTab

    ctx = UiContext(services, SUPERVISOR, settings=ui_settings(services.paths.config_dir))
    tab = LockboxTab(ctx)
    qtbot.addWidget(tab)
    settings = SettingsDialog(ctx)
    qtbot.addWidget(settings)
    t = settings.gl_table
    in_settings = {t.item(r, 0).text(): t.item(r, 1).text() for r in range(t.rowCount())}
    check = check_profile(_Run(services, datetime(2026, 12, 7, 12, tzinfo=UTC), lambda: None))
    in_diagnostics = dict(line.removeprefix("GL mapping: item ").split(" → ")
                          for line in check.details if line.startswith("GL mapping: item"))
    bundle = build_support_bundle(services, tmp_path / f"bundle-{len(list(tmp_path.iterdir()))}.zip",
                                  operator=SUPERVISOR, report=NoChecks())
    with zipfile.ZipFile(bundle) as z:
        in_bundle = tomllib.loads(z.read("profile.toml").decode())["gl_map"]
    return {"lockbox": dict(tab.service.settings.gl_map.accounts), "settings": in_settings,
            "diagnostics": in_diagnostics, "bundle": in_bundle}


def test_an_imported_gl_mapping_is_the_one_every_view_shows_and_is_audited(qtbot, tmp_path):
    from console.ui.tabs.lockbox_tab import LockboxTab

    services = build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    before = four_views(services, qtbot, tmp_path)
    assert before["lockbox"] != IMPORTED and all(v == before["lockbox"] for v in before.values())

    csv_path = tmp_path / "town-gl.csv"
    csv_path.write_text("ItemCode,GLAccount\n" + "".join(f"{k},{v}\n" for k, v in IMPORTED.items()), encoding="utf-8")
    tab = LockboxTab(UiContext(services, SUPERVISOR, settings=ui_settings(services.paths.config_dir)))
    qtbot.addWidget(tab)
    dialog = tab.gl_mapping_dialog()
    qtbot.addWidget(dialog)
    op = dialog.import_csv(csv_path)
    settle(qtbot, lambda: op.done)
    op = dialog._on_save()
    settle(qtbot, lambda: op.done)

    views = four_views(services, qtbot, tmp_path)
    assert views == {name: IMPORTED for name in views}
    rows = list(services.audit.rows(action=AUDIT_GL_MAP))
    assert rows and rows[-1].operator == SUPERVISOR.operator_id
    assert rows[-1].details["how"] == "import" and rows[-1].details["file"] == "town-gl.csv"
    assert rows[-1].details["changed"]["309"] == [None, "30-4900-000"]
    services.close()

    restarted = build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    views = four_views(restarted, qtbot, tmp_path)
    assert views == {name: IMPORTED for name in views}
    restarted.close()


def test_the_service_imports_and_audits_an_edit_from_the_command_line_path(tmp_path):
    services = build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    csv_path = tmp_path / "gl.csv"
    csv_path.write_text("ItemCode,GLAccount\n301,10-4100-555\n", encoding="utf-8")
    services.gl_mapping.import_csv(csv_path, operator=SUPERVISOR)
    assert services.profile.gl_map == {"301": "10-4100-555"} and services.lockbox.settings.gl_map.accounts == {
        "301": "10-4100-555"}
    services.close()
