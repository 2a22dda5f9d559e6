"""Conveyances page (Posting → Account sync → Conveyances): check lists, send asks first and sends once,
a conveyance waiting for review is released after its payment posts; a cashier cannot send."""

from __future__ import annotations

import pytest

from console.adapters.journal import DONE, NewEntry
from console.app import build_services
from console.config import sandbox_profile
from console.secrets import MemoryBackend
from console.services.conveyance import ConveyanceService
from console.services.posting import RECEIPT, RetryPolicy
from console.ui.account_sync_view import AccountSyncView
from console.ui.context import UiContext
from console.ui.conveyance_view import ConveyanceModel
from console.ui.operations import tracker
from tests.unit.test_conveyance_service import FakeCaselle, FakeIC

OPS = {o.operator_id: o for o in sandbox_profile().operators}


@pytest.fixture(autouse=True)
def _cleanup(qtbot):
    yield
    tracker().cancel_all()
    tracker().wait(10_000)


@pytest.fixture
def make_view(qtbot, monkeypatch):
    answers: list[bool] = []
    monkeypatch.setattr("console.ui.conveyance_view.ask_confirmation", lambda *a: answers.pop(0))

    def make(operator="clerk1"):
        services = build_services("sandbox", secret_backend=MemoryBackend())
        caselle, ic = FakeCaselle(), FakeIC()
        services.__dict__["conveyances"] = ConveyanceService(services.journal, caselle, ic, services.profile,
                                                             services.audit, operators=services.operators,
                                                             retry=RetryPolicy(0.0, 0.0))
        page = AccountSyncView(UiContext(services, OPS.get(operator)))
        qtbot.addWidget(page)
        view = page.conveyance_view
        view.caselle, view.ic, view.answers, view.services = caselle, ic, answers, services
        return view

    return make


def _wait(qtbot, op):
    assert op is not None
    qtbot.waitUntil(lambda: op.done, timeout=20_000)
    qtbot.wait(20)


def _cell(model, row, col):
    return model.data(model.index(row, col))


def test_check_lists_then_send_asks_and_sends_once(make_view, qtbot, qtmodeltester):
    view = make_view()
    view.caselle.add("FINAL_BILLED", "100102-01", "100102-02")
    view.caselle.add("OPENED", "100102-02", "100102-01", name="Robin Buyer")
    _wait(qtbot, view.check())
    qtmodeltester.check(view.model)
    assert view.model.rowCount() == 1
    assert [_cell(view.model, 0, c) for c in (ConveyanceModel.OLD, ConveyanceModel.NEW, ConveyanceModel.OWNER,
                                             ConveyanceModel.ENROLLED)] == ["100102-01", "100102-02", "Robin Buyer",
                                                                            "AutoPay"]
    assert "1 conveyance to send" in view.summary.text() and view.ic.posts == []
    view.answers.append(False)
    assert view.send() is None and view.ic.posts == []  # declined: nothing sent
    view.answers.append(True)
    _wait(qtbot, view.send())
    assert view.ic.posts == ["conveyance:100102-01"]
    assert "Sent: 1" in view.summary.text() and _cell(view.model, 0, ConveyanceModel.STATE) == "Sent"
    assert view.send() is None and view.ic.posts == ["conveyance:100102-01"]  # a new check comes first


def test_a_waiting_conveyance_is_released_once_its_payment_posts(make_view, qtbot):
    view = make_view()
    journal = view.services.journal
    journal.add_entry(NewEntry("payment:P-1", RECEIPT, {"account": "100102-01"}), operator="clerk1")
    view.caselle.add("FINAL_BILLED", "100102-01", "100102-02")
    _wait(qtbot, view.check())
    assert _cell(view.model, 0, ConveyanceModel.STATE) == "Waiting for review"
    view.answers.append(True)
    view.last_result.pending.append(view.last_result.review[0])  # even if someone forces it, the journal decides
    _wait(qtbot, view.send())
    assert view.ic.posts == [] and "1 waiting for review" in view.summary.text()
    entry = journal.claim("t", [RECEIPT], keys=["payment:P-1"])[0]
    journal.finish(entry.key, "t", DONE, outcome="posted")
    view.table.selectRow(0)
    _wait(qtbot, view.release_selected())
    assert view.ic.posts == ["conveyance:100102-01"]


def test_a_cashier_cannot_send_or_release(make_view):
    view = make_view("cashier1")
    assert not view.send_button.isEnabled() and not view.release_button.isEnabled()
    assert view.check_button.isEnabled()
