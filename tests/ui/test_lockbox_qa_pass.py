"""Lockbox tab as a clerk uses it (regressions found in the QA pass under Xvfb): the table is not
left empty on "Needs a look" once the problems are fixed, totals show whole figures, the tab fits
a 1024-pixel screen, unmapped codes are summed up with what to do, problems jump to their
payment, and the "send again" question reads as one sentence."""

from __future__ import annotations

from console.lockbox.glmap import GlMap
from console.ui.lockbox_models import LockboxFilterModel
from console.ui.operations import tracker
from tests.lockbox_data import payment_rows, write_payments
from tests.ui.test_lockbox_tab import (
    SANDBOX_GL,
    SUPERVISOR,
    emailed_once,
    handed_over_once,
    make_tab,
    previewed,
    settle,
)


def _drain():
    tracker().cancel_all()
    tracker().wait(5000)


def test_needs_a_look_goes_back_to_all_payments_once_nothing_needs_a_look(qtbot, tmp_path):
    tab = make_tab(qtbot)
    rows = payment_rows(6)
    rows[2]["InvoiceType"] = "777"
    path = write_payments(tmp_path / "p.csv", rows)
    previewed(qtbot, tab, path)
    assert tab.group_combo.currentIndex() == LockboxFilterModel.NEEDS_LOOK and tab.proxy.rowCount() == 1
    tab.service.use_gl_map(GlMap({**SANDBOX_GL, "777": "10-4700-000"}, "test"))
    tab.preview = None
    tab.run_preview()
    settle(qtbot, lambda: tab.preview is not None and not tab.busy)
    assert tab.preview.ok
    assert tab.group_combo.currentIndex() == LockboxFilterModel.ALL and tab.proxy.rowCount() == 6
    _drain()


def test_totals_show_whole_figures_and_the_tab_fits_a_1024_screen(qtbot, tmp_path):
    tab = make_tab(qtbot)
    rows = payment_rows(1005)
    for r in rows:
        r["Amount"] = "4999.99"  # about 5 million in all: seven-digit figures
    previewed(qtbot, tab, write_payments(tmp_path / ("a-rather-long-payments-file-name-" * 3 + ".csv"), rows))
    tab.resize(1000, 680)
    qtbot.wait(50)
    assert tab.minimumSizeHint().width() <= 1000
    for table in (tab.gl_table, tab.batch_table):
        header = table.horizontalHeader()
        for col in range(1, header.count()):  # the figures: never narrower than their text
            assert header.sectionSize(col) >= table.sizeHintForColumn(col), (table.objectName(), col)
        used = sum(header.sectionSize(c) for c in range(header.count()))
        assert used <= table.viewport().width() + 1, table.objectName()
        assert header.sectionSize(0) >= table.sizeHintForColumn(0), table.objectName()
    # the batches table shows both batches and the total without scrolling
    bt = tab.batch_table
    assert bt.rowViewportPosition(tab.batch_model.rowCount() - 1) + bt.rowHeight(0) <= bt.viewport().height()
    assert tab.source_label.text().endswith(".csv")  # the whole name stays available (tooltip, text())
    _drain()


def test_unmapped_codes_are_summed_up_and_a_problem_jumps_to_its_payment(qtbot, tmp_path):
    tab = make_tab(qtbot)
    rows = payment_rows(8)
    rows[1]["InvoiceType"] = "777"
    rows[5]["InvoiceType"] = "778"
    previewed(qtbot, tab, write_payments(tmp_path / "p.csv", rows))
    head = tab.problems.item(0).text()
    assert "2 payments" in head and "777, 778" in head and "GL mapping" in head
    tab.group_combo.setCurrentIndex(LockboxFilterModel.IN_FILE)  # the unmapped ones are hidden now
    item = next(tab.problems.item(i) for i in range(tab.problems.count()) if "line 7" in tab.problems.item(i).text())
    tab.problems.itemActivated.emit(item)
    current = tab.proxy.mapToSource(tab.table.currentIndex())
    assert tab.model.row(current.row()).line == 7 and tab.model.row(current.row()).item_code == "778"
    assert tab.group_combo.currentIndex() == LockboxFilterModel.ALL
    _drain()


def test_the_send_again_question_is_one_clear_sentence(qtbot, tmp_path):
    with emailed_once(qtbot, tmp_path, 3) as (tab, _sink):
        asked = []
        tab.ask_supervisor = lambda parent, approve, reason: asked.append(reason) or None
        tab.send_current("email")
        settle(qtbot, lambda: bool(asked) and not tab.busy)
        reason = asked[0]
        assert "already e-mailed" in reason and "a supervisor must approve" in reason
        assert "(a supervisor may override" not in reason and ") A " not in reason
        assert SUPERVISOR.operator_id not in reason
    _drain()


def test_a_file_whose_payments_were_all_sent_shows_them_not_an_empty_table(qtbot, tmp_path):
    tab, pay = handed_over_once(qtbot, tmp_path)
    p = previewed(qtbot, tab, pay)  # the same payments again: all left out as duplicates
    assert not p.ok and not p.items
    assert tab.proxy.rowCount() == 5 and tab.group_combo.currentIndex() == LockboxFilterModel.ALL
    _drain()


def test_payer_names_show_in_full(qtbot, tmp_path):
    from console.ui.lockbox_models import PAYER

    tab = make_tab(qtbot)
    rows = payment_rows(4)
    rows[2]["PayerName"] = "NGUYỄN VAN THANH LONG"
    previewed(qtbot, tab, write_payments(tmp_path / "p.csv", rows))
    tab.group_combo.setCurrentIndex(LockboxFilterModel.ALL)
    width = tab.table.horizontalHeader().sectionSize(PAYER)
    assert width >= tab.table.fontMetrics().horizontalAdvance("NGUYEN VAN THANH LONG") + 8
    _drain()


def test_a_thousand_payments_do_not_freeze_the_window(qtbot, tmp_path, monkeypatch):
    """Column widths are measured once on the first rows, not on every layout pass: with
    ResizeToContents a 1,005-payment preview asked the model for ~340,000 cells (10 s frozen)."""
    from PySide6.QtWidgets import QHeaderView

    from console.ui.lockbox_models import LockboxItemsModel

    calls = [0]
    real = LockboxItemsModel.data

    def counting(self, index, role=0):
        calls[0] += 1
        return real(self, index, role)

    monkeypatch.setattr(LockboxItemsModel, "data", counting)
    tab = make_tab(qtbot)
    header = tab.table.horizontalHeader()
    assert all(header.sectionResizeMode(c) != QHeaderView.ResizeMode.ResizeToContents
               for c in range(header.count()))
    previewed(qtbot, tab, write_payments(tmp_path / "p.csv", payment_rows(1005)))
    qtbot.wait(100)
    assert tab.proxy.rowCount() == 1005
    assert calls[0] < 60_000, calls[0]
    _drain()


def test_keyboard_ctrl_o_and_ctrl_f_from_the_tab_bar_and_mnemonics(qtbot, monkeypatch):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QTabBar, QVBoxLayout, QWidget

    import console.ui.tabs.lockbox_tab as mod

    asked = []
    monkeypatch.setattr(mod.QFileDialog, "getOpenFileName", lambda *a, **kw: asked.append(a[1]) or ("", ""))
    host = QWidget()
    qtbot.addWidget(host)
    bar = QTabBar(host)
    bar.addTab("Lockbox")
    tab = make_tab(qtbot)
    box = QVBoxLayout(host)
    box.addWidget(bar)
    box.addWidget(tab)
    host.show()
    host.activateWindow()
    qtbot.waitActive(host)
    bar.setFocus()
    QTest.keyClick(host.windowHandle(), Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert asked == ["Open payments file"]
    QTest.keyClick(host.windowHandle(), Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert tab.search_edit.hasFocus()
    texts = [b.text() for b in (tab.open_button, tab.preview_button, tab.build_button, tab.send_button,
                                tab.print_button, tab.gl_button, tab.check_button)]
    assert all("&" in t for t in texts)
    keys = [t[t.index("&") + 1].lower() for t in texts]
    assert len(set(keys)) == len(keys) and not {"f", "v", "h"} & set(keys)  # File, View, Help menus
    box.removeWidget(tab)
    tab.setParent(None)
    _drain()


def test_importing_a_gl_csv_says_which_codes_it_removes_and_changes(qtbot, tmp_path):
    from tests.ui.test_lockbox_tab import SUPERVISOR as SUP

    tab = make_tab(qtbot, operator=SUP)
    dialog = tab.gl_mapping_dialog()
    qtbot.addWidget(dialog)
    assert dialog.editable and dialog.notice_label.isHidden()
    csv_path = tmp_path / "gl.csv"
    csv_path.write_text("ItemCode,GLAccount\r\n301,10-4100-000\r\n302,10-9999-000\r\n401,40-1000-000\r\n",
                        encoding="utf-8")
    op = dialog.import_csv(csv_path)  # read on a worker
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    text = dialog.notice_label.text()
    assert not dialog.notice_label.isHidden()
    assert "Imported 3 item codes from gl.csv" in text
    assert "Removed 1 code the file does not have: 303" in text  # SANDBOX_GL has 301, 302, 303
    assert "New GL account for 302" in text and "Close without saving" in text
    assert sorted(code for _r, code, _gl in dialog.entries()) == ["301", "302", "401"]
    _drain()
