"""Bill Images UI: template drawing (canvas + dialog), the bill table model, the preview and
the tab's index → select → split → send flow on generated batches (offscreen)."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt

from console.app import build_services
from console.bills.review import BillRow
from console.bills.service import sandbox_template_path
from console.bills.template import load_template
from console.config import sandbox_profile
from console.sandbox.bill_pdf import ACCOUNT_BOX, bill_page_count, build_bill_batch
from console.sandbox.seed import demo_customers
from console.secrets import MemoryBackend
from console.ui.bills_page_canvas import PageCanvas
from console.ui.bills_table_model import ACCOUNT, PAGES, STATUS, BillFilterModel, BillTableModel
from console.ui.context import UiContext, ui_settings
from console.ui.operations import tracker
from tests.bills_pdfs import make_pdf
from tests.profiles import CLERK_ACTING

OPERATOR = sandbox_profile().operators[1]
CUSTOMERS = 14


@pytest.fixture(autouse=True)
def _drain(qtbot):
    yield
    gc.collect()  # a test's widgets are freed here, on the GUI thread, not by a worker's collection
    tracker().cancel_all()
    tracker().wait(5000)


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bills") / "cycle.pdf"
    build_bill_batch(demo_customers(CUSTOMERS), path)
    return path


def expected_bills():
    out, page = [], 1
    for c in demo_customers(CUSTOMERS):
        n = bill_page_count(c)
        out.append((c.account_number, tuple(range(page, page + n))))
        page += n
    return out


def make_tab(qtbot, profile=None):
    from console.ui.tabs.bill_images_tab import BillImagesTab

    services = build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    if profile is not None:
        services.profile = profile
    ctx = UiContext(services, OPERATOR, settings=ui_settings(services.paths.config_dir))
    tab = BillImagesTab(ctx)
    tab.resize(1300, 800)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitUntil(lambda: not tab._template_loading(), timeout=5000)  # read on a worker
    return tab


def drag(qtbot, widget, a: QPoint, b: QPoint) -> None:
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(widget, pos=QPoint((a.x() + b.x()) // 2, (a.y() + b.y()) // 2))
    qtbot.mouseMove(widget, pos=b)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=b)


# ---- canvas -----------------------------------------------------------------------------------

def test_canvas_reports_the_drawn_rectangle_in_page_points(qtbot):
    from PySide6.QtGui import QImage

    canvas = PageCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(612, 792)  # one pixel per point: easy to reason about
    img = QImage(612, 792, QImage.Format.Format_RGB32)
    img.fill(Qt.GlobalColor.white)
    canvas.set_page(img, 612, 792)
    canvas.show()
    seen = []
    canvas.regionChanged.connect(seen.append)
    drag(qtbot, canvas, QPoint(300, 200), QPoint(100, 50))  # dragging up-left works too
    assert canvas.region() == pytest.approx((100, 50, 300, 200), abs=1.01)
    assert len(seen) >= 2  # live updates while dragging

    canvas.resize(306, 396)  # half size: the same drag covers twice the points
    drag(qtbot, canvas, QPoint(50, 25), QPoint(150, 100))
    assert canvas.region() == pytest.approx((100, 50, 300, 200), abs=2.01)


# ---- template dialog ----------------------------------------------------------------------------

def test_drawing_a_template_shows_words_and_match_live_and_saves_toml(qtbot, batch, tmp_path):
    from console.ui.bills_template_dialog import TemplateDialog

    dlg = TemplateDialog(batch, None, acting=CLERK_ACTING)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.sample is not None, timeout=10000)
    assert dlg.match_label.text().startswith("Draw a rectangle")

    x0, top, x1, _ = ACCOUNT_BOX
    c = dlg.canvas
    drag(qtbot, c, c.to_widget(x0 + 2, top + 2).toPoint(), c.to_widget(x1 - 2, top + 38).toPoint())
    first = demo_customers(CUSTOMERS)[0].account_number
    assert "Account Number" in dlg.words_view.toPlainText() and first in dlg.words_view.toPlainText()
    assert "pattern does not match" in dlg.match_label.text() or "needs a group" in dlg.match_label.text()

    qtbot.keyClicks(dlg.pattern_edit, "Number (?P<account>")  # incomplete while typing
    assert "not a valid regular expression" in dlg.match_label.text()
    dlg.pattern_edit.clear()
    qtbot.mouseClick(dlg.suggest_button, Qt.MouseButton.LeftButton)
    assert dlg.match_label.text() == f"Account found: {first}"
    assert dlg.matched_account == first

    op = dlg.save_to(tmp_path / "mine")  # written on a worker
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    saved = dlg.template
    assert dlg.saved_path == tmp_path / "mine.toml"
    loaded = load_template(tmp_path / "mine.toml")
    assert loaded == saved and loaded.find_account(f"Account Number\n{first}") == first


def test_template_dialog_on_a_page_without_text(qtbot, tmp_path):
    from console.ui.bills_template_dialog import TemplateDialog

    pdf = make_pdf(tmp_path / "scan.pdf", [None])
    dlg = TemplateDialog(pdf, load_template(sandbox_template_path()))
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.sample is not None, timeout=10000)
    assert "no text layer" in dlg.match_label.text()


# ---- table model ------------------------------------------------------------------------------

def rows():
    return [BillRow("100102-01", (1,), "INV1", "a.pdf", "ok"),
            BillRow("100106-01", (2, 3), "", "b.pdf", "no-invoice"),
            BillRow("100110-01", (4,), "INV3", "c.pdf", "duplicate")]


def test_table_model_columns_roles_and_modeltester(qtmodeltester):
    model = BillTableModel()
    model.set_rows(rows())
    qtmodeltester.check(model)
    assert model.index(1, PAGES).data() == "2–3"
    assert model.index(2, STATUS).data() == "Duplicate – held"
    assert model.row_of_page(3) == 1 and model.row_of_page(9) is None


def test_filter_searches_and_shows_only_problems():
    model = BillTableModel()
    model.set_rows(rows())
    proxy = BillFilterModel()
    proxy.setSourceModel(model)
    proxy.set_search("inv3")
    assert [proxy.index(i, ACCOUNT).data() for i in range(proxy.rowCount())] == ["100110-01"]
    proxy.set_search("")
    proxy.set_attention_only(True)
    assert proxy.rowCount() == 2


# ---- the tab ----------------------------------------------------------------------------------

def test_open_index_select_preview_search(qtbot, batch):
    tab = make_tab(qtbot)
    # nothing open: a blank page box, not "Page 1 of 0"
    assert tab.preview.page_spin.text().strip() == "" and tab.preview.page_label.text() == ""
    tab.open_batch(batch)
    qtbot.waitUntil(lambda: tab.index is not None, timeout=20000)
    assert tab.preview.page_label.text() == f"of {tab.preview.page_count}" and tab.preview.page_spin.text() == "1"
    want = expected_bills()
    got = [(r.account, r.pages) for r in tab.model.rows()]
    assert got == want
    assert f"{len(want)} bills" in tab.summary_label.text()

    two_page = next(i for i, (_, p) in enumerate(want) if len(p) == 2)
    tab.select_row(two_page)
    account, pages = want[two_page]
    assert tab.current_row().account == account
    assert tab.preview.current_page == pages[0]
    assert tab.preview.thumbs.count() == 2
    assert tab.preview.info.text().startswith(f"{account} – 2 pages – ")  # never "2 page(s)"
    tab.preview.thumbs.setCurrentRow(1)
    assert tab.preview.current_page == pages[1]
    tab.preview.next_page()
    assert tab.preview.current_page == pages[1] + 1
    tab.preview.zoom_in()
    assert tab.preview.view.zoomFactor() > 0

    qtbot.keyClicks(tab.search_edit, account)
    assert tab.proxy.rowCount() == 1


def test_problems_are_listed_and_jump_to_their_page(qtbot, tmp_path):
    pdf = make_pdf(tmp_path / "odd.pdf", ["cover", "Acct: A1", None, "Acct: A1"])
    from tests.bills_pdfs import TEMPLATE

    tab = make_tab(qtbot)
    tab.set_template(TEMPLATE, None)
    tab.open_batch(pdf)
    qtbot.waitUntil(lambda: tab.index is not None, timeout=20000)
    texts = [tab.problems.item(i).text() for i in range(tab.problems.count())]
    assert any("no bill before it" in t for t in texts)
    assert any("no text layer" in t for t in texts)
    assert any("Account A1 starts bills on pages 2, 4" in t for t in texts)
    no_text = next(i for i, t in enumerate(texts) if "no text layer" in t)
    tab._on_problems_item_activated(tab.problems.item(no_text))
    assert tab.preview.current_page == 3
    assert not tab.split_button.isEnabled() or tab.index.bills


def test_split_then_send_shows_status_per_bill(qtbot, batch, tmp_path):
    tab = make_tab(qtbot)
    tab.open_batch(batch)
    qtbot.waitUntil(lambda: tab.index is not None, timeout=20000)
    out = tmp_path / "out"
    tab.start_split(out)
    qtbot.waitUntil(lambda: tab.split_result is not None, timeout=20000)
    assert {r.status_text for r in tab.model.rows()} == {"Written"}
    assert len(list(out.glob("*.pdf"))) == CUSTOMERS
    assert tab.send_button.isEnabled()

    sent = []
    first = expected_bills()[0][0]

    class FakeTransfer:
        def send_file(self, path, *, kind, operator, final_name, cancel=None):
            from console.errors import RemoteError

            if final_name.startswith(first):
                raise RemoteError("permission denied")
            sent.append((kind, final_name, operator))
            return None

    tab.ctx.services.transfer = FakeTransfer()
    tab.start_send()
    qtbot.waitUntil(lambda: tab.send_report is not None, timeout=20000)
    statuses = {r.account: r.status_text for r in tab.model.rows()}
    assert statuses[first] == "Send failed"
    assert sum(1 for s in statuses.values() if s == "Sent") == CUSTOMERS - 1
    assert all(k == "bills" and op == OPERATOR.operator_id for k, _, op in sent)
    assert any("permission denied" in tab.problems.item(i).text() for i in range(tab.problems.count()))


def open_with_indexing_held(qtbot, monkeypatch, batch: Path):
    """A new tab opening ``batch`` whose indexing has started and runs until it is cancelled
    (then it raises Cancelled, as the real index_batch does)."""
    import console.ui.tabs.bill_images_tab as mod
    from console.errors import Cancelled

    started = threading.Event()

    def slow_index(path, template, *, progress=None, cancel=None):
        started.set()
        while not cancel.is_set():
            cancel.wait(0.01)
        raise Cancelled("cancelled")

    monkeypatch.setattr(mod, "index_batch", slow_index)
    tab = make_tab(qtbot)
    tab.open_batch(batch)
    qtbot.waitUntil(started.is_set, timeout=5000)
    return tab


def test_cancel_while_indexing_restores_the_tab(qtbot, batch, monkeypatch):
    tab = open_with_indexing_held(qtbot, monkeypatch, batch)
    assert tab.cancel_button.isVisible() and not tab.open_button.isEnabled()
    qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.cancel_button.isVisible(), timeout=5000)
    assert tab.open_button.isEnabled() and tab.index is None
    assert "not indexed" in tab.summary_label.text()


def test_invoice_cloud_template_mode_shows_a_banner_and_never_sends(qtbot, batch, tmp_path):
    profile = sandbox_profile().with_values(bills_mode="ic_template")
    tab = make_tab(qtbot, profile)
    assert tab.mode_banner.isVisibleTo(tab)
    tab.open_batch(batch)
    qtbot.waitUntil(lambda: tab.index is not None, timeout=20000)
    tab.start_split(tmp_path / "out")
    qtbot.waitUntil(lambda: tab.split_result is not None, timeout=20000)
    assert not tab.send_button.isEnabled()


def test_sandbox_batch_opens_with_its_invoice_file_cross_checked(qtbot, monkeypatch):
    import console.ui.tabs.bill_images_tab as mod
    from console.bills import service

    monkeypatch.setattr(mod, "sandbox_batch", lambda paths, **kw: service.sandbox_batch(paths, count=12, **kw))
    monkeypatch.setattr(mod, "sandbox_invoice_file", lambda paths, **kw: service.sandbox_invoice_file(paths, count=12, **kw))
    tab = make_tab(qtbot)
    assert tab.sandbox_button.isVisibleTo(tab)
    qtbot.mouseClick(tab.sandbox_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.index is not None, timeout=30000)
    rows = tab.model.rows()
    assert len(rows) == 12 and {r.status_text for r in rows} == {"Ready"}
    assert all(r.file_name == f"{r.account}_{r.invoice}.pdf" for r in rows)
    assert tab.problems.count() == 0
    assert "invoices-12.txt (12)" in tab.invoices_label.text()


def test_send_to_sftp_and_check_delivery(qtbot, batch, tmp_path):
    import paramiko

    from console.adapters import transfer as tx
    from console.adapters.journal import SqliteJournal
    from console.sandbox.sftp_server import DEMO_PASSWORD, DEMO_USER, SftpServer
    from console.services.transfer import TransferService

    root = tmp_path / "root"
    (root / "bills").mkdir(parents=True)
    key = paramiko.ECDSAKey.generate(bits=256)
    with SftpServer(root, key) as server:
        known = tmp_path / "known_hosts"
        tx.trust_host_key(known, server.host, server.port, key)
        settings = tx.TransferSettings("sftp", server.host, server.port, DEMO_USER, password=DEMO_PASSWORD,
                                       known_hosts=known, timeout=5)
        journal = SqliteJournal(tmp_path / "journal.sqlite3")
        tab = make_tab(qtbot)
        tab.ctx.services.transfer = TransferService(lambda: tx.SftpTransfer(settings), settings, journal,
                                                    folders={"bills": "/bills"}, profile=sandbox_profile())
        tab.open_batch(batch)
        qtbot.waitUntil(lambda: tab.index is not None, timeout=20000)
        tab.start_split(tmp_path / "out")
        qtbot.waitUntil(lambda: tab.split_result is not None, timeout=20000)
        tab.start_send()
        qtbot.waitUntil(lambda: tab.send_report is not None, timeout=30000)
        assert {r.status_text for r in tab.model.rows()} == {"Sent"}
        assert tab.delivery_button.isEnabled()

        first = tab.model.rows()[0].file_name
        (root / "bills" / first).rename(root / "bills" / f"{first}.snt")  # Stratus picked it up
        second = tab.model.rows()[1].file_name
        (root / "bills" / second).unlink()  # gone without a receipt
        tab.start_delivery_check()
        qtbot.waitUntil(lambda: bool(tab.delivery), timeout=20000)
        statuses = [r.status_text for r in tab.model.rows()]
        assert statuses[0] == "Sent – delivered" and statuses[1] == "Sent – missing"
        assert set(statuses[2:]) == {"Sent – awaiting pickup"}
        assert any(second in tab.problems.item(i).text() for i in range(tab.problems.count()))
        tracker().wait(5000)
        journal.close()


def test_buttons_open_template_invoices_split_and_trust_an_unknown_host(qtbot, batch, tmp_path, monkeypatch,
                                                                       confirm_sends):
    """The file-dialog and confirmation paths of the tab, with the dialogs answered."""
    import paramiko
    from PySide6.QtWidgets import QFileDialog

    import console.ui.host_key_dialog as host_key_dialog
    from console.adapters import transfer as tx
    from console.adapters.journal import SqliteJournal
    from console.sandbox.invoice_export import write_invoice_export
    from console.sandbox.sftp_server import DEMO_PASSWORD, DEMO_USER, SftpServer
    from console.services.transfer import TransferService

    tab = make_tab(qtbot)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(batch), ""))
    qtbot.mouseClick(tab.open_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.index is not None, timeout=20000)

    bad = tmp_path / "bad.toml"
    bad.write_text('region = [1, 2, 3]\npattern = "x"\n', encoding="utf-8")
    shown = []
    monkeypatch.setattr("console.ui.tabs.bill_images_tab.show_error", lambda parent, exc: shown.append(exc))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    qtbot.mouseClick(tab.template_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)  # read on a worker
    assert "region" in str(shown[-1])  # a broken template is refused with its problems

    invoices = tmp_path / "invoices.txt"
    write_invoice_export(invoices, CUSTOMERS)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(invoices), ""))
    qtbot.mouseClick(tab.invoices_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.invoices is not None, timeout=20000)
    assert all(r.invoice for r in tab.model.rows())

    out = tmp_path / "out"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(out))
    qtbot.mouseClick(tab.split_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.split_result is not None, timeout=20000)
    assert sorted(p.name for p in out.iterdir()) == sorted(r.file_name for r in tab.model.rows())

    root = tmp_path / "root"
    (root / "bills").mkdir(parents=True)
    key = paramiko.ECDSAKey.generate(bits=256)
    with SftpServer(root, key) as server:
        settings = tx.TransferSettings("sftp", server.host, server.port, DEMO_USER, password=DEMO_PASSWORD,
                                       known_hosts=tmp_path / "known_hosts", timeout=5)
        journal = SqliteJournal(tmp_path / "journal.sqlite3")
        tab.ctx.services.transfer = TransferService(lambda: tx.SftpTransfer(settings), settings, journal,
                                                    folders={"bills": "/bills"}, profile=sandbox_profile())
        asked = []
        monkeypatch.setattr(host_key_dialog, "ask_trust_host_key", lambda parent, err: asked.append(err) or True)
        qtbot.mouseClick(tab.send_button, Qt.MouseButton.LeftButton)
        assert confirm_sends and confirm_sends[0].count == CUSTOMERS and confirm_sends[0].unit == "bill images"
        qtbot.waitUntil(lambda: tab.send_report is not None, timeout=30000)
        assert len(asked) == 1 and asked[0].port == server.port  # asked once, then pinned and sent
        assert {r.status_text for r in tab.model.rows()} == {"Sent"}
        assert len(list((root / "bills").iterdir())) == CUSTOMERS
        tracker().wait(5000)
        journal.close()


def test_draw_template_button_reindexes_with_the_new_template(qtbot, batch, monkeypatch):
    from console.bills.authoring import build_template
    from console.ui import bills_template_dialog

    tab = make_tab(qtbot)
    tab.open_batch(batch)
    qtbot.waitUntil(lambda: tab.index is not None, timeout=20000)
    tab.select_row(3)
    expected_page = tab.current_row().first_page
    opened_on = []

    def fake_exec(dialog):
        opened_on.append(dialog.page_spin.value())
        dialog.template = build_template((0, 0, 10, 10), r"Nothing here (?P<account>\d+)")  # matches no page
        return 1

    monkeypatch.setattr(bills_template_dialog.TemplateDialog, "exec", fake_exec)
    before = tab.index
    qtbot.mouseClick(tab.draw_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.index is not before and tab.index is not None, timeout=20000)
    assert opened_on == [expected_page]  # the dialog opens on the selected bill's page
    assert tab.index.bills == [] and len(tab.index.unmatched_pages) == tab.index.pages
    assert tab.template_label.text() == "Template: drawn, not saved"


def test_large_batches_are_read_by_worker_processes_from_the_gui(qtbot, batch, monkeypatch):
    """The GUI's path: the pool is started from an operation's worker thread (fork-server workers)."""
    from console.bills import indexer

    started = []
    real = indexer.start_method

    def spy():
        ctx = real()
        started.append(ctx.get_start_method())
        return ctx

    monkeypatch.setattr(indexer, "IN_PROCESS_BELOW", 0)
    monkeypatch.setattr(indexer, "start_method", spy)
    monkeypatch.setattr(indexer, "default_workers", lambda: 2)
    import console.ui.tabs.bill_images_tab as mod

    monkeypatch.setattr(mod, "index_batch", lambda path, template, **kw: indexer.index_batch(
        path, template, in_process_below=0, **kw))
    tab = make_tab(qtbot)
    tab.open_batch(batch)
    qtbot.waitUntil(lambda: tab.index is not None, timeout=60000)
    assert started == ["forkserver"]  # never fork a process that runs Qt threads
    assert [(r.account, r.pages) for r in tab.model.rows()] == expected_bills()


def test_dropping_a_pdf_on_the_tab_opens_it(qtbot, batch):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    tab = make_tab(qtbot)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(batch.with_suffix(".txt"))), QUrl.fromLocalFile(str(batch))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    tab.dropEvent(event)
    qtbot.waitUntil(lambda: tab.index is not None, timeout=20000)
    assert tab.pdf_path == batch and len(tab.model.rows()) == CUSTOMERS


def test_a_long_bill_shows_its_first_page_at_once_and_thumbnails_follow(qtbot, tmp_path):
    from console.ui.bills_preview import BillPreview

    pdf = make_pdf(tmp_path / "long.pdf", [f"Acct: A{i}" for i in range(12)])
    preview = BillPreview()
    qtbot.addWidget(preview)
    preview.show()
    op = preview.load(pdf)  # opened on a worker
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    assert preview.error is None and preview.page_count == 12
    preview.show_bill(tuple(range(2, 12)))
    assert preview.current_page == 2 and preview.thumbs.count() == 10
    assert preview.thumbnails_pending == 10  # rendered on workers, a few at a time
    assert not preview.thumbnail_ready(9)  # not rendered yet (a blank page meanwhile)
    qtbot.waitUntil(lambda: preview.thumbnails_pending == 0, timeout=5000)
    assert all(preview.thumbnail_ready(i) for i in range(10))
    preview.thumbs.setCurrentRow(9)
    assert preview.current_page == 11
    preview.page_spin.setValue(5)
    assert preview.current_page == 5 and preview.thumbs.currentRow() == 3
    with qtbot.waitSignal(preview.documentLoaded, timeout=5000) as loaded:
        preview.load(tmp_path / "missing.pdf")
    assert loaded.args[0] and "missing.pdf" in preview.error  # QtPdf's error text, no crash
    assert preview.page_count == 0 and preview.thumbs.count() == 0


def test_template_dialog_tests_the_draft_on_the_whole_batch(qtbot, batch):
    from console.ui.bills_template_dialog import TemplateDialog

    dlg = TemplateDialog(batch, load_template(sandbox_template_path()))
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.sample is not None, timeout=10000)
    qtbot.mouseClick(dlg.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.tested is not None, timeout=20000)
    assert f"{CUSTOMERS} bills" in dlg.test_label.text() and "problems" not in dlg.test_label.text()

    dlg.tested = None
    dlg.pattern_edit.setText(r"(?P<account>\d+-\d)")  # a loose pattern …
    x0, top, _x1, _ = ACCOUNT_BOX
    dlg.canvas.set_region((x0, top, 440, top + 38))  # … and a rectangle ending inside "100102-01"
    assert "cuts through" in dlg.match_label.text()  # warned while drawing
    qtbot.mouseClick(dlg.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.tested is not None, timeout=20000)
    assert "problems: cut" in dlg.test_label.text() and dlg.tested.bills == []


def test_a_profile_naming_that_leaves_the_folder_is_said_on_the_tab(qtbot):
    from dataclasses import replace

    base = sandbox_profile()
    tab = make_tab(qtbot, replace(base, values={**base.values, "bills_naming": "../x_{account}.pdf"}))
    assert tab.template is None and tab.template_label.text() == "Template: none"
    assert "outside the output folder" in tab.template_label.toolTip()
    assert "bills.naming" in tab.template_label.toolTip()
