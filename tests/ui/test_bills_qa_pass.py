"""Bill Images tab as a billing clerk uses it (regressions found in the QA pass under Xvfb): the
tab fits a 1024-pixel screen with long names and statuses, an unreadable batch says why in the
summary and leaves no old problem count, the selected bill stays selected (its preview line
current) after a split, the proposed split folder exists, and bad PDFs say what to do."""

from __future__ import annotations

import gc
from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from console.bills.pdf import BadPdfError, check_pdf_file
from console.ui.bills_table_model import STATUS
from console.ui.operations import tracker
from tests.ui.test_bills_ui import CUSTOMERS, batch, make_tab, open_with_indexing_held  # noqa: F401 - batch is a fixture


def _drain():
    gc.collect()  # widgets are freed on the GUI thread, not by a worker's collection
    tracker().cancel_all()
    tracker().wait(5000)


def _indexed(qtbot, tab, pdf):
    tab.open_batch(pdf)
    qtbot.waitUntil(lambda: tab.index is not None, timeout=20000)


def test_the_tab_fits_a_1024_screen_with_long_names_and_statuses(qtbot, batch, tmp_path):  # noqa: F811
    tab = make_tab(qtbot)
    long_name = "Juniper Springs utility bill, cycle 1 and 2, layout of November 2026 (sandbox)"
    tab.set_template(replace(tab.template, name=long_name), None)
    _indexed(qtbot, tab, batch)
    tab.invoices_label.setText("Invoices: " + "a-rather-long-invoice-file-name-" * 3 + ".txt (600)")
    tab.model.set_rows([replace(r, file_name=f"{r.account}_1234567890123456.pdf", sent="sent",
                                delivery="awaiting pickup") for r in tab.model.rows()])
    tab.resize(1000, 680)
    qtbot.wait(50)
    assert tab.minimumSizeHint().width() <= 1000
    assert tab.template_label.text().endswith("(sandbox)")  # the whole text stays available
    assert tab.template_label.is_elided() and long_name in tab.template_label.toolTip()
    header = tab.table.horizontalHeader()
    assert header.sectionSize(STATUS) >= tab.table.sizeHintForColumn(STATUS)  # status never cut short
    _drain()


def test_an_unreadable_batch_says_why_and_drops_the_old_problem_count(qtbot, tmp_path):
    from tests.bills_pdfs import TEMPLATE, make_pdf

    tab = make_tab(qtbot)
    tab.set_template(TEMPLATE, None)
    _indexed(qtbot, tab, make_pdf(tmp_path / "odd.pdf", ["cover", "Acct: A1", None]))
    assert tab.problems_label.text() != "Needs a look"  # the old batch had problems: counted

    bad = tmp_path / "scan-export.pdf"
    bad.write_bytes(b"this is not a pdf " * 200)
    tab.open_batch(bad)
    qtbot.waitUntil(lambda: not tab._busy(), timeout=10000)
    text = tab.summary_label.text()
    assert "scan-export.pdf" in text and "not indexed" in text and "not a PDF file" in text
    assert tab.problems_label.text() == "Needs a look" and tab.problems.count() == 0
    _drain()


def test_the_selected_bill_stays_selected_after_a_split(qtbot, batch, tmp_path):  # noqa: F811
    tab = make_tab(qtbot)
    _indexed(qtbot, tab, batch)
    tab.select_row(3)
    account = tab.current_row().account
    tab.start_split(tmp_path / "out")
    qtbot.waitUntil(lambda: tab.split_result is not None, timeout=20000)
    assert tab.current_row() is not None and tab.current_row().account == account
    assert "Written" in tab.preview.info.text()  # the preview line is not left saying "Ready"
    _drain()


def test_the_proposed_split_folder_exists_so_choose_works_at_once(qtbot, batch, monkeypatch):  # noqa: F811
    tab = make_tab(qtbot)
    _indexed(qtbot, tab, batch)
    seen = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda parent, title, start: seen.append(start) or ""))
    tab._on_split_button_clicked()
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)  # the folder is made on a worker first
    assert seen[0].endswith(batch.stem)
    assert Path(seen[0]).is_dir()
    _drain()


def test_a_file_that_is_no_pdf_says_what_to_choose(tmp_path):
    bad = tmp_path / "bills.pdf"
    bad.write_bytes(b"PK\x03\x04 a zip renamed " * 100)
    try:
        check_pdf_file(bad)
    except BadPdfError as exc:
        assert "not a PDF file" in exc.problem and exc.hint and "bill batch PDF" in exc.hint
    else:
        raise AssertionError("a zip renamed .pdf was accepted")


def test_with_room_the_template_and_invoice_names_are_shown_whole(qtbot, batch):  # noqa: F811
    tab = make_tab(qtbot)
    tab.resize(1260, 760)
    _indexed(qtbot, tab, batch)
    qtbot.wait(50)
    assert tab.template_label.text().startswith("Template: ")
    assert not tab.template_label.is_elided() and not tab.summary_label.is_elided()
    # each label stays next to its button (no gap the width of the screen)
    gap = tab.template_button.geometry().left() - tab.template_label.geometry().right()
    assert 0 <= gap < 30
    _drain()


def test_a_cancelled_indexing_says_so_in_the_summary(qtbot, batch, monkeypatch):  # noqa: F811
    tab = open_with_indexing_held(qtbot, monkeypatch, batch)
    tab.cancel_button.click()
    qtbot.waitUntil(lambda: not tab.cancel_button.isVisible(), timeout=5000)
    assert "not indexed" in tab.summary_label.text() and "cancelled" in tab.summary_label.text()
    assert "Index again" in tab.summary_label.text() and tab.index_button.isEnabled()
    _drain()
