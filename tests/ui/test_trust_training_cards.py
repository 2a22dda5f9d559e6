"""Help › Training cards: a trainee's test card is approved end to end against the sandbox —
the page types a reader frame (DUKPT, ANSI test key, a new KSN each time) into the window,
the Counter tab takes it through the real SwipeCapture, F5 authorizes at the sandbox gateway."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidget

import console.sandbox.ic_gateway as ic_gateway
from console.devices.sred import parse_frame
from console.sandbox import dukpt
from console.sandbox.test_cards import TEST_RULES, build_frame, training_cards
from console.ui.training_cards import TrainingCardsDialog
from tests.ui.test_counter_tab import customers, key, make_tab, open_account, sandbox  # noqa: F401 - fixtures


def test_training_frames_parse_decrypt_and_never_repeat_a_ksn():
    seen = set()
    for card in training_cards():
        for _ in range(3):
            read = parse_frame(build_frame(card))
            assert read.masked_pan == card.masked_pan and read.ksn not in seen
            seen.add(read.ksn)
            t1, t2 = dukpt.decrypt_tracks(read)
            assert t2.startswith(f";{card.pan}=")  # the sandbox can decrypt it: not a public sample


def test_a_training_card_is_approved_end_to_end(make_tab, qtbot):  # noqa: F811 - pytest fixture
    tab = make_tab()
    account = customers(status="active")[0] if customers(status="active") else customers()[0]
    open_account(tab, qtbot, account.account_number)
    tab.amount_edit.selectAll()
    qtbot.keyClicks(tab.amount_edit, "25.00")  # any cents but .01-.05: approved
    dialog = TrainingCardsDialog(tab.ctx, tab)
    qtbot.addWidget(dialog)
    rules = dialog.findChild(QTableWidget, "training-rules")
    assert rules.rowCount() == len(TEST_RULES)
    ksn = dialog.swipe()
    tab.clock.t += 1.0
    tab.capture.poll()
    qtbot.waitUntil(lambda: tab.card_box.state == "card", timeout=5000)
    assert "4111********1111" in tab.card_box.headline.text()
    key(tab, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: tab.pages.currentIndex() == 1, timeout=15_000)
    result = tab.last_result
    assert result.status == "posted" and "APPROVED" in tab.result_banner.text()
    txn = ic_gateway.store_of(tab.ic).by_id[result.transaction_id]
    assert txn.status == "approved" and txn.ksn == ksn and Decimal(txn.amount) == Decimal("25.00")


def test_training_cards_refuse_outside_training(qtbot):
    from console.app import build_services
    from console.config import Profile
    from console.secrets import MemoryBackend
    from console.ui.context import UiContext

    services = build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    services.profile = Profile("cityhall")
    dialog = TrainingCardsDialog(UiContext(services), None)
    qtbot.addWidget(dialog)
    assert not dialog.swipe_button.isEnabled() and dialog.swipe() == ""
    assert "only in the sandbox" in dialog.note.text()
    services.close()
