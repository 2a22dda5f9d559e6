"""Posting preview filter: the model switches between precomputed per-state index lists, so a filter
change over 100,000 rows runs no Python code per row (it called ``filterAcceptsRow`` per row, 3–8 s
on the GUI thread). Counted, not timed: every read of a row's fields is counted."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QTableView

from console.services.posting import PlanRow
from console.ui.posting_models import PostingRowsModel, RowRole

STATES = ("pending", "done", "rejected", "needs_review")
READS = [0]


class CountingRow(PlanRow):
    """A PlanRow that counts every attribute read (a per-row callback would read ``state``)."""

    __slots__ = ()

    def __getattribute__(self, name):
        READS[0] += 1
        return super().__getattribute__(name)


class CountingModel(PostingRowsModel):
    data_calls = 0

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        CountingModel.data_calls += 1
        return super().data(index, role)


def _rows(n: int, cls=PlanRow) -> list[PlanRow]:
    return [cls(i + 2, f"P{i:07d}", "receipt", "post receipt", f"1000{i % 50:02d}-01",
                Decimal(i % 500) + Decimal("0.25"), "CARD" if i % 3 else "ACH", "2026-11-25", STATES[i % 4])
            for i in range(n)]


def test_filter_change_touches_no_row(qtmodeltester):
    model = CountingModel()
    model.set_rows(_rows(100_000, CountingRow))
    for state, expected in (("done", 25_000), ("needs_review", 25_000), ("reported", 0), (None, 100_000),
                            ("rejected", 25_000)):
        READS[0] = 0
        CountingModel.data_calls = 0
        model.set_state(state)
        assert model.rowCount() == expected
        assert READS[0] == 0 and CountingModel.data_calls == 0, (state, READS[0], CountingModel.data_calls)
    assert all(model.data(model.index(i, 0), RowRole).state == "rejected" for i in range(0, 25_000, 499))
    assert READS[0] > 0  # the counter does count reads (the test can fail)


def test_filter_and_sort_keep_the_model_contract_and_the_order(qtmodeltester):
    model = PostingRowsModel()
    model.set_rows(_rows(400))
    model.set_state("done")
    qtmodeltester.check(model)
    model.sort(PostingRowsModel.AMOUNT, Qt.SortOrder.DescendingOrder)  # sorting with a filter on
    shown = [model.data(model.index(i, 0), RowRole) for i in range(model.rowCount())]
    assert len(shown) == 100 and all(r.state == "done" for r in shown)
    assert [r.amount for r in shown] == sorted((r.amount for r in shown), reverse=True)
    model.set_state(None)  # all rows again, still in the sorted order
    everything = [model.data(model.index(i, 0), RowRole) for i in range(model.rowCount())]
    assert len(everything) == 400 and everything[0].amount == max(r.amount for r in everything)
    model.sort(PostingRowsModel.LINE, Qt.SortOrder.AscendingOrder)
    model.set_state("pending")
    assert model.data(model.index(0, PostingRowsModel.LINE)) == "2"
    qtmodeltester.check(model)


def test_a_selection_follows_its_row_through_a_sort(qtbot):
    model = PostingRowsModel()
    model.set_rows(_rows(40))
    model.set_state("rejected")
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    picked = model.data(model.index(3, 0), RowRole)
    view.selectionModel().select(model.index(3, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                                 | QItemSelectionModel.SelectionFlag.Rows)
    model.sort(PostingRowsModel.LINE, Qt.SortOrder.DescendingOrder)
    selected = [model.data(ix, RowRole) for ix in view.selectionModel().selectedRows()]
    assert selected == [picked]
