"""Bill Images tab, preview and template dialog never read, render or write files on the GUI thread.

Each test replaces a file or PDF call with a spy that notes whether it ran on the GUI thread.
Before the fix the preview opened the batch (``QPdfDocument.load``) and drew thumbnails in
slots, the template dialog opened and drew its sample page and saved the TOML there, and the
tab read templates and made the split folder before its folder picker on the GUI thread.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from console.bills.service import sandbox_template_path
from console.bills.template import BillTemplate, load_template
from console.ui.operations import tracker
from tests.bills_pdfs import TEMPLATE, make_pdf
from tests.profiles import CLERK_ACTING
from tests.ui.test_bills_ui import batch, make_tab  # noqa: F401 - batch is a fixture
from tests.ui.threads import drain, on_gui, spy


@pytest.fixture(autouse=True)
def _drain(qtbot):
    yield
    gc.collect()  # widgets are freed here, on the GUI thread
    drain()


# ---- preview ------------------------------------------------------------------------------------

def test_the_preview_opens_the_batch_and_draws_thumbnails_on_workers(qtbot, tmp_path, monkeypatch):
    import console.ui.bills_preview as mod

    opened: list[bool] = []
    rendered: list[bool] = []
    monkeypatch.setattr(mod, "open_document", spy(opened, mod.open_document))
    monkeypatch.setattr(mod, "render_pages", spy(rendered, mod.render_pages))
    pdf = make_pdf(tmp_path / "b.pdf", [f"Acct: A{i}" for i in range(7)])
    preview = mod.BillPreview()
    qtbot.addWidget(preview)
    preview.show()
    with qtbot.waitSignal(preview.documentLoaded, timeout=5000) as loaded:
        op = preview.load(pdf)
        assert preview.loading and not op.done and preview.page_count == 0  # nothing waited for
    assert loaded.args == [""] and preview.page_count == 7 and preview.document.parent() is preview
    preview.show_bill((2, 3, 4, 5, 6, 7))
    qtbot.waitUntil(lambda: preview.thumbnails_pending == 0, timeout=5000)
    assert all(preview.thumbnail_ready(i) for i in range(6))
    assert opened == [False] and rendered and not any(rendered)


def test_a_bill_chosen_while_the_batch_opens_shows_once_it_is_open(qtbot, tmp_path, monkeypatch):
    import console.ui.bills_preview as mod

    gate = threading.Event()
    real = mod.open_document

    def slow_open(path):
        gate.wait(5)
        return real(path)

    monkeypatch.setattr(mod, "open_document", slow_open)
    pdf = make_pdf(tmp_path / "b.pdf", [f"Acct: A{i}" for i in range(5)])
    preview = mod.BillPreview()
    qtbot.addWidget(preview)
    preview.show()
    op = preview.load(pdf)
    preview.show_bill((4, 5), "A3")
    assert preview.thumbs.count() == 2 and preview.current_page == 1  # not there yet
    gate.set()
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    assert preview.current_page == 4 and preview.info.text() == "A3"
    qtbot.waitUntil(lambda: preview.thumbnails_pending == 0, timeout=5000)


def test_a_batch_opened_after_another_replaces_it_whatever_finishes_first(qtbot, tmp_path, monkeypatch):
    import console.ui.bills_preview as mod

    gate = threading.Event()
    real = mod.open_document

    def open_first_slowly(path):
        if Path(path).name == "first.pdf":
            gate.wait(5)
        return real(path)

    monkeypatch.setattr(mod, "open_document", open_first_slowly)
    first = make_pdf(tmp_path / "first.pdf", ["Acct: A1"] * 3)
    second = make_pdf(tmp_path / "second.pdf", ["Acct: B1"] * 2)
    preview = mod.BillPreview()
    qtbot.addWidget(preview)
    slow = preview.load(first)
    fast = preview.load(second)
    qtbot.waitUntil(lambda: fast.done, timeout=5000)
    gate.set()
    qtbot.waitUntil(lambda: slow.done, timeout=5000)
    assert preview.path == second and preview.page_count == 2


# ---- template dialog -------------------------------------------------------------------------------

def test_the_template_dialog_draws_reads_and_saves_on_workers(qtbot, tmp_path, monkeypatch):
    import console.ui.bills_template_dialog as mod

    drawn: list[bool] = []
    read: list[bool] = []
    saved: list[bool] = []
    monkeypatch.setattr(mod, "render_pages", spy(drawn, mod.render_pages))
    monkeypatch.setattr(mod, "load_sample_page", spy(read, mod.load_sample_page))
    monkeypatch.setattr(BillTemplate, "save", spy(saved, BillTemplate.save))
    pdf = make_pdf(tmp_path / "sample.pdf", ["Acct: A1", "Acct: A2", "Acct: A3"])
    dlg = mod.TemplateDialog(pdf, TEMPLATE, page=2, page_count=3, acting=CLERK_ACTING)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.page_spin.value() == 2 and dlg.page_spin.maximum() == 3
    qtbot.waitUntil(lambda: dlg.sample is not None, timeout=10000)
    assert dlg.sample.page == 2 and dlg.matched_account == "A2"
    assert dlg.canvas._image is not None and not dlg.canvas._image.isNull()  # the page picture
    with qtbot.waitSignal(dlg.accepted, timeout=5000):
        op = dlg.save_to(tmp_path / "t", close=True)
        assert not dlg.save_button.isEnabled()  # no second save meanwhile
    assert op.done and dlg.saved_path == tmp_path / "t.toml" and load_template(tmp_path / "t.toml") == dlg.template
    assert drawn == [False] and read == [False] and saved == [False]


def test_a_template_that_cannot_be_written_is_shown_and_the_dialog_stays_open(qtbot, tmp_path, monkeypatch):
    import console.ui.bills_template_dialog as mod

    shown = []
    monkeypatch.setattr(mod, "show_error", lambda parent, exc: shown.append(exc))
    pdf = make_pdf(tmp_path / "sample.pdf", ["Acct: A1"])
    dlg = mod.TemplateDialog(pdf, TEMPLATE, acting=CLERK_ACTING)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.sample is not None, timeout=10000)
    op = dlg.save_to(tmp_path / "no-such-folder" / "t.toml", close=True)
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    assert shown and isinstance(shown[0], OSError)
    assert dlg.isVisible() and dlg.saved_path is None and dlg.save_button.isEnabled()


def test_the_sample_page_count_comes_from_the_pdf_when_the_caller_does_not_know_it(qtbot, tmp_path):
    from console.ui.bills_template_dialog import TemplateDialog

    pdf = make_pdf(tmp_path / "sample.pdf", ["Acct: A1", "Acct: A2", "Acct: A3", "Acct: A4"])
    dlg = TemplateDialog(pdf, TEMPLATE, acting=CLERK_ACTING)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.sample is not None, timeout=10000)
    assert dlg.page_spin.maximum() == 4
    dlg.page_spin.setValue(4)
    qtbot.waitUntil(lambda: dlg.sample is not None and dlg.sample.page == 4, timeout=10000)
    assert dlg.matched_account == "A4"


# ---- the tab ----------------------------------------------------------------------------------------

def test_the_configured_template_is_read_on_a_worker_and_a_batch_opened_meanwhile_waits(qtbot, batch,  # noqa: F811
                                                                                          monkeypatch):
    import console.ui.tabs.bill_images_tab as mod
    from console.app import build_services
    from console.secrets import MemoryBackend
    from console.ui.context import UiContext, ui_settings
    from tests.ui.test_bills_ui import OPERATOR

    calls: list[bool] = []
    gate = threading.Event()
    real = mod.resolve_template

    def slow_resolve(path, profile=None):
        calls.append(on_gui())
        gate.wait(5)
        return real(path, profile)

    monkeypatch.setattr(mod, "resolve_template", slow_resolve)
    services = build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    tab = mod.BillImagesTab(UiContext(services, OPERATOR, settings=ui_settings(services.paths.config_dir)))
    qtbot.addWidget(tab)
    assert tab.template is None and tab.template_label.text() == "Template: reading…"
    tab.open_batch(batch)  # before the template is there: indexed once it is
    assert tab._busy() and "Reading the bill template" in tab.summary_label.text()
    gate.set()
    qtbot.waitUntil(lambda: tab.index is not None, timeout=20000)
    assert calls == [False] and tab.template is not None and tab.index.bills
    assert tab.template_label.text().startswith("Template: ") and "reading" not in tab.template_label.text()


def test_a_broken_configured_template_is_said_when_indexing_is_asked_for(qtbot, batch, tmp_path,  # noqa: F811
                                                                           monkeypatch):
    import console.ui.tabs.bill_images_tab as mod
    from console.config import sandbox_profile

    shown = []
    monkeypatch.setattr(mod, "show_error", lambda parent, exc: shown.append(exc))
    tab = make_tab(qtbot, sandbox_profile().with_values(bills_template=str(tmp_path / "gone.toml")))
    assert tab.template is None and "does not exist" in tab.template_label.toolTip()
    tab.open_batch(batch)
    assert shown and "does not exist" in str(shown[0])


def test_choosing_a_template_reads_it_on_a_worker(qtbot, monkeypatch):
    import console.ui.tabs.bill_images_tab as mod

    calls: list[bool] = []
    monkeypatch.setattr(mod, "load_template", spy(calls, mod.load_template))
    tab = make_tab(qtbot)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(sandbox_template_path()), ""))
    qtbot.mouseClick(tab.template_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(calls) and not tab._busy(), timeout=5000)
    assert calls == [False] and tab.template_path == sandbox_template_path()


def test_the_split_folder_is_made_on_a_worker_before_the_picker_opens(qtbot, batch, monkeypatch):  # noqa: F811
    tab = make_tab(qtbot)
    tab.open_batch(batch)
    qtbot.waitUntil(lambda: tab.index is not None, timeout=20000)
    made: list[bool] = []
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        made.append(on_gui())
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    picked = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda parent, title, start: picked.append((on_gui(), start)) or ""))
    tab._on_split_button_clicked()
    assert not picked  # the folder is being made: the picker follows
    qtbot.waitUntil(lambda: bool(picked), timeout=5000)
    assert made and not any(made) and picked[0][0]  # the picker itself is on the GUI thread
    assert Path(picked[0][1]).is_dir() and tab.split_button.isEnabled()


def test_the_draw_button_opens_the_dialog_on_the_selected_page_without_reading_the_pdf(qtbot, batch,  # noqa: F811
                                                                                       monkeypatch):
    from console.ui import bills_template_dialog

    tab = make_tab(qtbot)
    tab.open_batch(batch)
    qtbot.waitUntil(lambda: tab.index is not None, timeout=20000)
    tab.select_row(2)
    seen = []

    def fake_exec(dialog):
        seen.append((dialog.page_spin.value(), dialog.page_spin.maximum()))
        return 0

    monkeypatch.setattr(bills_template_dialog.TemplateDialog, "exec", fake_exec)
    qtbot.mouseClick(tab.draw_button, Qt.MouseButton.LeftButton)
    assert seen == [(tab.current_row().first_page, tab.preview.page_count)]
    tracker().wait(10000)

