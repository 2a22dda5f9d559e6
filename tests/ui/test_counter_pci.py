"""PCI: after a UI session of swipes, payments and voids, no file the console wrote (journal SQLite
and its WAL, logs, UI state / QSettings, receipt PDFs, the support bundle) and no log record holds a
clear PAN, track data, a CVV or the encrypted frame; no widget holds the raw frame (texts, tool
tips, line-edit undo history, models) and neither does the clipboard.

Positive controls prove the scan sees what it scans: the masked PAN is found in the journal, the
PDF's extracted text and the bundle."""

from __future__ import annotations

import io
import logging
import re
import sqlite3
import zipfile
from decimal import Decimal

import pypdfium2
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
)

from console.adapters.journal import card_data_problems
from console.devices.sred import parse_frame
from console.logs import setup_logging
from console.services.support_bundle import build_support_bundle
from console.ui.posting_dialogs import VoidRequest
from tests.profiles import SUPPORT_DESK
from tests.swipe_frames import build_frame, clear_tracks
from tests.ui.test_counter_tab import (
    customers,
    key,
    make_tab,
    new_spec,
    open_account,
    sandbox,
    send_keys,
    swipe,
)

__all__ = ["make_tab", "sandbox"]  # fixtures used here

MASKED = "4111********1111"
TRACK = re.compile(r"%B\d{12,19}\^|;\d{12,19}=\d{4}|\d{12,19}=\d{4}=\d{3}")


def _needles(frames: list[str], specs) -> dict[str, str]:
    """What must appear nowhere: the frames, their encrypted blocks (hex), the clear PANs and keyed data."""
    out: dict[str, str] = {}
    for i, frame in enumerate(frames):
        out[f"frame {i}"] = frame
        out[f"frame {i} middle"] = frame[len(frame) // 3: len(frame) // 3 + 40]
        try:
            card = parse_frame(frame)
        except Exception:  # noqa: BLE001 - a damaged frame: the frame itself is the needle
            continue
        for name, block in card.payload.blocks.items():
            out[f"frame {i} {name} block"] = block.hex().upper()[:32]
            out[f"frame {i} {name} block lc"] = block.hex()[:32]
    for s in specs:
        out[f"PAN {s.pan}"] = s.pan
        out[f"PAN spaced {s.pan}"] = " ".join(s.pan[i:i + 4] for i in range(0, len(s.pan), 4))
        out[f"keyed {s.pan}"] = f"{s.pan}={s.expiry}={s.keyed_cvv}"
    return out


BINARY = "(bytes)"


def _texts_of_file(path) -> list[tuple[str, str]]:
    """(where, text) for a file: its bytes as text; zip members; a PDF's extracted text; every text
    cell of an SQLite database (the raw bytes of a database or PDF are searched for the exact needles
    only: adjacent binary fields can form digit runs no one wrote)."""
    data = path.read_bytes()
    binary = data.startswith((b"SQLite format 3", b"%PDF")) or path.name.endswith(("-wal", "-shm"))
    out = [(f"{path} {BINARY}" if binary else str(path), data.decode("latin-1"))]
    if data.startswith(b"SQLite format 3"):
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    out.extend((f"{path}:{table}", str(v)) for v in row if isinstance(v, str))
        finally:
            conn.close()
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name in zf.namelist():
                out.append((f"{path}!{name}", zf.read(name).decode("utf-8", "replace")))
    if data.startswith(b"%PDF"):
        pdf = pypdfium2.PdfDocument(str(path))
        try:
            text = "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
        finally:
            pdf.close()
        out.append((f"{path} (text)", text))
    return out


def _widget_texts(widgets) -> list[tuple[str, str]]:
    out = []
    for w in widgets:
        name = f"{type(w).__name__}({w.objectName() or w.accessibleName()})"
        for attr in ("toolTip", "windowTitle", "accessibleName", "accessibleDescription", "statusTip",
                     "whatsThis"):
            out.append((f"{name}.{attr}", getattr(w, attr)()))
        if isinstance(w, (QLineEdit, QLabel, QAbstractButton)):
            out.append((f"{name}.text", w.text()))
        if isinstance(w, QLineEdit):
            out.append((f"{name}.placeholder", w.placeholderText()))
        if isinstance(w, (QPlainTextEdit, QTextEdit)):
            out.append((f"{name}.plain", w.toPlainText()))
        if isinstance(w, QAbstractItemView) and w.model() is not None:
            m = w.model()
            for r in range(m.rowCount()):
                for c in range(m.columnCount()):
                    for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                        v = m.data(m.index(r, c), role)
                        if isinstance(v, str):
                            out.append((f"{name}[{r},{c}]", v))
    return out


def test_no_card_data_anywhere_after_a_counter_session(make_tab, qtbot, monkeypatch, caplog, console_home, sandbox):
    tab = make_tab()
    services = tab.services
    setup_logging(services.paths, secret_source=services.secrets.known_values, level=logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr("console.ui.tabs.counter_tab.print_receipt", lambda parent, doc: True)
    monkeypatch.setattr("console.ui.tabs.counter_tab.save_pdf_path", lambda parent, suggested: suggested)
    monkeypatch.setattr("console.ui.tabs.counter_tab.ask_confirmation", lambda parent, title, text: True)
    monkeypatch.setattr("console.ui.tabs.counter_tab.ask_void",
                        lambda parent, p, role, why: VoidRequest(p.receipt_number, "DUPLICATE", "pci session", "", ""))
    frames, specs, pdfs = [], [], []
    accounts = customers(partial_payments_allowed=True)[20:26]

    def pay(account, amount: str | None, spec, *, field=None):
        open_account(tab, qtbot, account.account_number)
        if amount is not None:
            tab.amount_edit.setText(amount)
        (field or tab.amount_edit).setFocus()
        specs.append(spec)
        frames.append(swipe(tab, qtbot, spec))
        assert tab.card_box.state == "card"
        before = tab.today_model.rowCount()
        key(tab, Qt.Key.Key_F5)
        qtbot.waitUntil(lambda: tab.today_model.rowCount() == before + 1 and not tab._busy, timeout=20_000)
        if tab.pages.currentIndex() == 1:
            key(tab, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
            qtbot.waitUntil(lambda: tab._pdf_op is None, timeout=10_000)  # written on a worker
            pdfs.append(tab.last_document)
            key(tab, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
        return tab.last_result

    over = lambda a, cents: f"{Decimal(int(a.amount_due) + 1) + Decimal(cents):.2f}"  # noqa: E731
    assert pay(accounts[0], None, new_spec()).status == "posted"  # amount due; swiped in the amount field
    assert pay(accounts[1], over(accounts[1], "0.01"), new_spec(pan="5454545454545454", name="DOE/JANE"),
               field=tab.search_edit).status == "declined"
    assert pay(accounts[2], over(accounts[2], "0.02"), new_spec(aes=True)).status == "posted"  # answer lost
    assert pay(accounts[3], None, new_spec(format="keyed", keyed_cvv="987")).status == "posted"  # keypad + CVV
    assert pay(accounts[4], None, new_spec(format="original", show_expiry=True)).status == "posted"

    # damaged reads and a reader that is not encrypting (clear tracks typed at reader speed)
    open_account(tab, qtbot, accounts[5].account_number)
    tab.amount_edit.setFocus()
    damaged = new_spec(pan="6011000995500000")
    specs.append(damaged)
    frames.append(swipe(tab, qtbot, frame=build_frame(damaged)[:-4]))
    assert tab.card_box.state == "error"
    clear_spec = new_spec(pan="371449635398431", name="CLEAR/TEXT")
    specs.append(clear_spec)
    clear = "".join(clear_tracks(clear_spec).values())
    frames.append(clear)
    send_keys(tab.window().windowHandle(), tab.clock, clear + "\r", 0.0012)
    tab.clock.t += 1.0
    tab.capture.poll()
    qtbot.wait(20)
    assert tab.card_box.state == "error"
    key(tab, Qt.Key.Key_Escape)

    # void the first payment, reprint it
    tab.today.selectRow(tab.today_model.rowCount() - 1)
    tab.void_button.click()
    qtbot.waitUntil(lambda: tab.today_model.rows[-1].state == "voided", timeout=20_000)
    tab.today.selectRow(tab.today_model.rowCount() - 1)
    tab.reprint_button.click()
    key(tab, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: tab._pdf_op is None, timeout=10_000)
    assert not tab.errors, tab.errors

    # the session's files: UI state, logs, a support bundle
    tab.hide()
    tab.show()
    bundle = build_support_bundle(services, services.paths.data_dir / "support.zip", operator=SUPPORT_DESK)
    for h in logging.getLogger().handlers:
        h.flush()

    needles = _needles(frames, specs)
    files = [p for p in console_home.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"journal.sqlite3", "ui-state.ini", "support.zip"} <= names, names
    assert any(p.suffix == ".pdf" for p in files) and any(p.suffix == ".log" or ".log" in p.name for p in files)
    seen_masked = set()
    for path in files:
        for where, text in _texts_of_file(path):
            for label, needle in needles.items():
                assert needle not in text, f"{label} found in {where}"
            assert not TRACK.search(text), f"track data in {where}"
            if BINARY not in where:
                assert not card_data_problems(text), f"card-like data in {where}: {card_data_problems(text)}"
            if MASKED in text:
                seen_masked.add(path.suffix or path.name)
    # positive controls: the masked PAN is really there (so the scans above can see text)
    assert seen_masked & {".sqlite3", ".sqlite3-wal"}, seen_masked  # the journal was scanned
    pdf_texts = [t for p in files if p.suffix == ".pdf" for w, t in _texts_of_file(p) if "(text)" in w]
    assert pdf_texts and all("TRAINING" in t for t in pdf_texts) and any(MASKED in t for t in pdf_texts)
    assert bundle.is_file()

    # log records as emitted (before any redaction)
    for label, needle in needles.items():
        assert needle not in caplog.text, f"{label} logged"

    # widgets, models, undo histories and the clipboard
    widgets = QApplication.allWidgets()
    for where, text in _widget_texts(widgets):
        for label, needle in needles.items():
            assert needle not in text, f"{label} in {where}"
    for edit in [w for w in widgets if isinstance(w, QLineEdit)]:
        steps = 0
        while edit.isUndoAvailable() and steps < 500:
            edit.undo()
            steps += 1
            for label, needle in needles.items():
                assert needle[:12] not in edit.text(), f"{label} in the undo history of {edit.accessibleName()}"
    clip = QGuiApplication.clipboard().text()
    for label, needle in needles.items():
        assert needle not in clip, f"{label} on the clipboard"
