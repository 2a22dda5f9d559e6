"""The op helper: work off the GUI thread, callbacks on it, progress, cancel, dead parents."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QWidget

from console.errors import Cancelled, UserFacingError
from console.ui import errors as ui_errors
from console.ui.operations import Operation, tracker
from tests.ui.threads import drain


@pytest.fixture
def parent(qtbot):
    w = QWidget()
    qtbot.addWidget(w)
    return w


@pytest.fixture(autouse=True)
def _drain(qtbot):
    yield
    drain(qtbot)
    for box in ui_errors.find_error_boxes():
        box.close()


def test_success_runs_fn_on_a_worker_and_calls_back_on_the_gui_thread(qtbot, parent):
    gui = threading.current_thread()
    seen = {}

    def work(op):
        seen["worker"] = threading.current_thread()
        return 42

    def done(result):
        seen["result"] = result
        seen["callback"] = threading.current_thread()

    op = Operation(parent, work, label="answer").success(done).run()
    qtbot.waitUntil(lambda: "result" in seen, timeout=5000)
    assert seen["result"] == 42
    assert seen["worker"] is not gui
    assert seen["callback"] is gui
    assert op.done and op not in tracker().running


def test_failure_goes_to_the_failure_callback(qtbot, parent):
    got = []
    Operation(parent, lambda op: 1 / 0).success(lambda r: got.append(("ok", r))) \
        .failure(lambda exc: got.append(exc)).run()
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    assert isinstance(got[0], ZeroDivisionError)


def test_default_failure_shows_the_error(qtbot, parent):
    def fail(op):
        raise UserFacingError("Batch 12 is closed", hint="open a new batch")

    Operation(parent, fail).run()
    qtbot.waitUntil(lambda: bool(ui_errors.find_error_boxes()), timeout=5000)
    box = ui_errors.find_error_boxes()[0]
    assert "Batch 12 is closed" in box.text()
    assert "open a new batch" in box.informativeText()


def test_progress_reaches_the_gui_thread_and_the_tracker(qtbot, parent):
    updates, tracked = [], []
    gui = threading.current_thread()
    tracker().progressed.connect(lambda op, d, t, m: tracked.append((d, t, m)))

    def work(op):
        for i in range(1, 6):
            op.progress(i, 5, f"step {i}")
        return "done"

    result = []
    Operation(parent, work, label="steps") \
        .on_progress(lambda d, t, m: updates.append((d, t, m, threading.current_thread() is gui))) \
        .success(result.append).run()
    qtbot.waitUntil(lambda: bool(result), timeout=5000)
    assert updates, "progress was never delivered"
    assert updates[-1][:3] == (5, 5, "step 5")  # the final update is never throttled away
    assert all(u[3] for u in updates)
    assert tracked[-1] == (5, 5, "step 5")


def test_cancel_sets_the_event_and_cancelled_shows_nothing(qtbot, parent):
    started = threading.Event()
    outcome = []

    def work(op):
        started.set()
        if not op.cancel_event.wait(5):
            return "not cancelled"
        raise Cancelled()

    op = Operation(parent, work, label="long", cancellable=True) \
        .success(outcome.append).failure(outcome.append).run()
    assert started.wait(5)
    op.cancel()
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    qtbot.wait(20)
    assert op.cancelled
    assert outcome == []  # neither callback: Cancelled is shown as nothing
    assert ui_errors.find_error_boxes() == []


def test_callbacks_are_dropped_when_the_parent_was_destroyed(qtbot):
    w = QWidget()
    gate = threading.Event()
    called = []
    op = Operation(w, lambda op: gate.wait(5) and "late").success(called.append) \
        .failure(called.append).run()
    w.deleteLater()
    qtbot.waitUntil(lambda: op._parent_gone, timeout=2000)
    gate.set()
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    qtbot.wait(20)
    assert called == []
    assert ui_errors.find_error_boxes() == []


def test_modal_operation_shows_a_progress_dialog_and_closes_it(qtbot, parent):
    gate = threading.Event()
    op = Operation(parent, lambda op: gate.wait(5), label="Posting…", cancellable=True, modal=True).run()
    assert op._dialog is not None and op._dialog.objectName() == "operation-progress"
    gate.set()
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    assert op._dialog is None


def test_an_operation_runs_once(qtbot, parent):
    op = Operation(parent, lambda op: None).run()
    with pytest.raises(RuntimeError):
        op.run()
    qtbot.waitUntil(lambda: op.done, timeout=5000)


def test_a_bug_is_logged_once_even_when_the_caller_handles_the_failure(qtbot, parent, caplog):
    import logging

    got = []
    with caplog.at_level(logging.ERROR):
        Operation(parent, lambda op: {}["missing"]).failure(got.append).run()
        qtbot.waitUntil(lambda: bool(got), timeout=5000)
        report = ui_errors.show_error(parent, got[0], presenter=lambda *a: None)
    refs = [r for r in caplog.records if "Unexpected error" in r.getMessage()]
    assert len(refs) == 1 and report.reference in refs[0].getMessage()


def test_exclusive_operations_do_not_run_twice(qtbot, parent):
    from console.ui.operations import busy

    gate = threading.Event()
    calls = []

    def work(op):
        calls.append(1)
        gate.wait(5)
        return len(calls)

    first = Operation(parent, work, label="Posting", exclusive="posting").run()
    assert busy("posting")
    second = Operation(parent, work, label="Posting", exclusive="posting").run()
    assert second is first
    other = Operation(parent, lambda op: "other", exclusive="lockbox").run()
    assert other is not first
    gate.set()
    qtbot.waitUntil(lambda: first.done and other.done, timeout=5000)
    assert calls == [1] and not busy("posting")


def test_the_modal_dialogs_cancel_button_cancels(qtbot, parent):
    op = Operation(parent, lambda op: op.cancel_event.wait(5) and op.raise_if_cancelled(), label="Posting…",
                   cancellable=True, modal=True).run()
    op._dialog.canceled.emit()  # what its Cancel button (or Esc) does
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    assert op.cancelled and ui_errors.find_error_boxes() == []
