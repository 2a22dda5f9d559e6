"""GL mapping dialog: Export CSV writes the file on a worker (it wrote on the GUI thread, with no
error handling: a full or read-only drive raised out of the slot)."""

from __future__ import annotations

import threading

from console.lockbox.glmap import GlFormat, GlMap, load_gl_map_csv


def _dialog(qtbot):
    from console.ui.lockbox_dialogs import GlMapDialog

    gl_map = GlMap({"801": "10-4100-000", "802": "10-4200-000"}, source="test")
    dlg = GlMapDialog(gl_map, GlFormat("NN-NNNN-NNN"), editable=False, save=lambda m: None, unlock=None)
    qtbot.addWidget(dlg)
    return dlg


def test_export_csv_runs_off_the_gui_thread(qtbot, monkeypatch, tmp_path):
    import console.ui.lockbox_dialogs as mod

    threads = []
    real = mod.save_gl_map_csv
    monkeypatch.setattr(mod, "save_gl_map_csv",
                        lambda path, m: threads.append(threading.current_thread() is not threading.main_thread())
                        or real(path, m))
    dlg = _dialog(qtbot)
    op = dlg.export_csv(tmp_path / "gl.csv")
    assert not dlg.export_button.isEnabled()
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    assert threads == [True] and dlg.export_button.isEnabled()
    assert load_gl_map_csv(tmp_path / "gl.csv").accounts == {"801": "10-4100-000", "802": "10-4200-000"}


def test_export_csv_failure_is_shown(qtbot, monkeypatch, tmp_path):
    import console.ui.lockbox_dialogs as mod

    shown = []
    monkeypatch.setattr("console.ui.errors.show_error", lambda parent, exc: shown.append(exc))

    def broken(path, m):
        raise OSError("read-only drive")

    monkeypatch.setattr(mod, "save_gl_map_csv", broken)
    dlg = _dialog(qtbot)
    op = dlg.export_csv(tmp_path / "gl.csv")
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    assert shown and isinstance(shown[0], OSError) and dlg.export_button.isEnabled()
