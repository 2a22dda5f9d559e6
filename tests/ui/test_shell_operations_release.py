"""The op helper releases what an operation holds on the GUI thread, never on its worker.

A result (or the closure, which may hold widgets and other Qt objects) whose last reference
dropped on the worker was freed there: a Qt object deleted on the wrong thread (seen once as a
crash in the tests). The worker now hands the result back and keeps no reference of its own.
"""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QWidget

import console.ui.operations as operations
from console.errors import UserFacingError
from console.ui.operations import Operation, tracker
from tests.ui.threads import drain


class Witness:
    """Records the thread its last reference was dropped on."""

    def __init__(self, freed: list[str]):
        self._freed = freed

    def __del__(self):
        self._freed.append(threading.current_thread().name)


@pytest.fixture(autouse=True)
def _drain(qtbot):
    yield
    drain(qtbot)


@pytest.fixture
def slow_worker_tail(monkeypatch):
    """Keep the worker inside ``run()`` until the GUI thread has handled the outcome: the
    ordering in which a reference the worker still held would be the last one."""
    delivered = threading.Event()
    real = operations._safe_emit

    def emit_then_wait(signal, *args):
        real(signal, *args)
        delivered.wait(5)

    monkeypatch.setattr(operations, "_safe_emit", emit_then_wait)
    return delivered


def test_the_result_and_the_closure_are_freed_on_the_gui_thread(qtbot, slow_worker_tail):
    freed: list[str] = []
    gui = threading.current_thread().name
    got = []

    def start():
        held = Witness(freed)  # captured by the closure, as a widget or a QImage would be

        def work(_op):
            assert held is not None
            return Witness(freed)

        def done(result):
            got.append(type(result).__name__)
            slow_worker_tail.set()

        Operation(None, work).success(done).run()  # the caller keeps no reference

    start()
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    assert tracker().wait(5000)
    qtbot.waitUntil(lambda: len(freed) == 2, timeout=5000)
    assert freed == [gui, gui]


def test_a_failure_and_its_traceback_are_freed_on_the_gui_thread(qtbot, slow_worker_tail):
    freed: list[str] = []
    gui = threading.current_thread().name
    got = []

    class Boom(UserFacingError):  # not a bug: nothing logs it (a log record would keep it)
        pass

    def start():
        held = Witness(freed)

        def work(_op):
            local = Witness(freed)  # kept alive by the traceback's frame
            raise Boom(f"failed with {held!r} and {local!r}")

        def failed(exc):
            got.append(type(exc).__name__)  # the exception itself is not kept
            slow_worker_tail.set()

        Operation(None, work).failure(failed).run()

    start()
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    assert tracker().wait(5000)
    qtbot.waitUntil(lambda: len(freed) == 2, timeout=5000)
    assert freed == [gui, gui]


def test_callbacks_are_let_go_once_delivered(qtbot):
    """An Operation a widget keeps (``self._op``) no longer holds the work or the callbacks:
    if that widget is collected later by a worker's garbage collection, nothing Qt goes with it."""
    w = QWidget()
    qtbot.addWidget(w)
    freed: list[str] = []
    held = Witness(freed)
    op = Operation(w, lambda _op, h=held: 1).success(lambda r, h=held: None).run()
    del held
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    assert tracker().wait(5000)
    qtbot.waitUntil(lambda: bool(freed), timeout=5000)
    assert freed == [threading.current_thread().name] and op.done


def test_an_operation_that_never_runs_is_no_reference_cycle(qtbot):
    import gc

    freed: list[str] = []
    w = QWidget()
    qtbot.addWidget(w)
    gc.disable()
    try:
        first = Operation(w, lambda _op: threading.Event().wait(0.2), exclusive="release-test").run()
        held = Witness(freed)
        second = Operation(w, lambda _op, h=held: None, exclusive="release-test")
        assert second.run() is first  # not started: the running one is returned
        del held, second
        assert freed == [threading.current_thread().name]  # freed at once, by reference counting
    finally:
        gc.enable()
    qtbot.waitUntil(lambda: first.done, timeout=5000)
