"""Run a service call off the GUI thread, then call back on it — the only way widgets do work.

    Operation(self, lambda op: services.indexer.index(folder, progress=op.progress,
                                                      cancel=op.cancel_event),
              label="Indexing bills…", cancellable=True)
        .success(self._on_indexed)          # GUI thread, with fn's return value
        .failure(self._on_index_failed)     # optional; default: show_error(parent, exc)
        .run()

How it works (modelled on Anki's ``QueryOp`` / ``CollectionOp``):

- ``fn(op)`` runs on a worker of one shared ``QThreadPool`` owned by the application. It gets
  an ``OpContext``: ``op.progress(done, total, message="")`` and ``op.cancel_event`` (a
  ``threading.Event``; ``op.cancelled`` / ``op.raise_if_cancelled()``) — pass both straight
  into the service. Services that write serialize their own writes (the journal does).
- Progress is throttled (at most ~20 updates a second, the last one always delivered) and
  marshalled to the GUI thread. Where it is shown:
    * default: in the main window's status bar (an activity area with a progress bar and,
      for ``cancellable`` operations, a Cancel button) — the window listens to the
      application's ``OperationTracker``; the operator can keep working meanwhile;
    * ``modal=True``: a window-modal ``QProgressDialog`` over the parent (for work the
      operator must wait for, e.g. a posting run), with Cancel when ``cancellable``.
  ``.on_progress(cb)`` additionally gives the caller each update (for a tab's own bar).
- ``success`` / ``failure`` callbacks run on the GUI thread. If the parent widget was
  destroyed meanwhile, they are dropped (an unexpected error is still logged).
- Failures: ``Cancelled`` is shown as nothing (and never reaches ``failure``); any other
  exception goes to the ``failure`` callback or, by default, to ``show_error``.
- Cancel sets ``cancel_event``; the service stops at its next check and raises ``Cancelled``.
  If ``fn`` still returns a value, ``success`` gets it (the work completed after all).
- ``exclusive="posting"``: while an operation with that key runs, ``run()`` of another one
  with the same key starts nothing and returns the running one (a double click on "Post"
  posts once). ``busy(key)`` tells a view whether to disable its button.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

from console.errors import Cancelled, UserFacingError

log = logging.getLogger(__name__)

_PROGRESS_INTERVAL_S = 0.05
_TRACKER_NAME = "console-operation-tracker"


class OpContext:
    """What ``fn`` receives on the worker thread."""

    def __init__(self, emit_progress: Callable[[int, int | None, str], None]):
        self.cancel_event = threading.Event()
        self._emit = emit_progress
        self._last_emit = 0.0
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def raise_if_cancelled(self) -> None:
        if self.cancel_event.is_set():
            raise Cancelled("cancelled by the operator")

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Report progress; safe to call very often (throttled), from any thread."""
        now = time.monotonic()
        final = total is not None and done >= total
        with self._lock:
            if not final and now - self._last_emit < _PROGRESS_INTERVAL_S:
                return
            self._last_emit = now
        self._emit(int(done), None if total is None else int(total), str(message or ""))


class _Bridge(QObject):
    """Lives on the GUI thread; the worker emits, Qt queues the calls to the GUI thread.

    Every connection has this QObject as its receiver (never a plain Python callable), so Qt
    drops pending deliveries by itself once the bridge is deleted. From ``run()`` on it is a
    child of the tracker (owned by Qt, deleted by ``deleteLater`` on the GUI thread), so a
    reference the worker drops can never delete it on the worker.
    """

    progressed = Signal(int, object, str)
    finished = Signal(object)  # [result]: a one-item list the GUI thread empties
    failed = Signal(object)  # [exception]

    def __init__(self, op: Operation | None = None):
        super().__init__()
        self.op: Operation | None = op  # set by run(): an Operation never run is no cycle
        queued = Qt.ConnectionType.QueuedConnection
        self.progressed.connect(self._on_progressed, queued)
        self.finished.connect(self._on_finished, queued)
        self.failed.connect(self._on_failed, queued)

    @Slot(int, object, str)
    def _on_progressed(self, done: int, total, message: str) -> None:
        if self.op is not None:
            self.op._deliver_progress(done, total, message)

    @Slot(object)
    def _on_finished(self, box: list) -> None:
        result = box.pop() if box else None  # from here on only this thread holds the result
        self._settle("_deliver_success", result)

    @Slot(object)
    def _on_failed(self, box: list) -> None:
        self._settle("_deliver_failure", box.pop() if box else RuntimeError("the operation failed without an error"))

    def _settle(self, deliver: str, outcome) -> None:
        """Hand the outcome to the operation once, then let it drop what it holds (GUI thread)."""
        op, self.op = self.op, None
        if op is not None:
            try:
                getattr(op, deliver)(outcome)
            finally:
                op._release()

    @Slot()
    def on_cancel(self) -> None:
        if self.op is not None:
            self.op.cancel()

    @Slot()
    def on_parent_destroyed(self) -> None:
        if self.op is not None:
            self.op._parent_gone = True


class _Runnable(QRunnable):
    def __init__(self, op: Operation):
        super().__init__()
        self.setAutoDelete(True)
        self._op: Operation | None = op

    def run(self) -> None:  # worker thread
        # Nothing the operation holds may have its last reference on this thread: a Qt object
        # (a widget in the closure, a QImage result) would be freed here. The result or the
        # exception goes back in a one-item list that the GUI thread empties, and every local
        # that points at the operation, its closure or the outcome is gone before the emit.
        op, self._op = self._op, None
        assert op is not None
        fn, context, bridge = op._fn, op.context, op._bridge
        del op
        try:
            box = [fn(context)]
            signal = bridge.finished
        except BaseException as exc:  # noqa: BLE001 - everything is reported to the GUI thread
            box = [exc]
            signal = bridge.failed
        del fn, context
        _safe_emit(signal, box)
        del box, signal
        # Deleted from here, after the emit has fully returned: deleting it from the GUI thread
        # when the result arrives raced with this thread still inside emit() (rare crashes).
        # deleteLater is thread-safe and its event is queued behind the result's.
        try:
            bridge.deleteLater()
        except RuntimeError:  # already gone: the application is shutting down
            pass


def _safe_emit(signal, *args) -> None:
    try:
        signal.emit(*args)
    except RuntimeError:  # the bridge is gone: the application is shutting down
        log.debug("operation result dropped: application closing")


class OperationTracker(QObject):
    """One per application: owns the thread pool and knows every running operation.

    The main window listens to ``started`` / ``progressed`` / ``ended`` to show activity.
    """

    started = Signal(object)  # Operation
    progressed = Signal(object, int, object, str)  # Operation, done, total, message
    ended = Signal(object)  # Operation

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.setObjectName(_TRACKER_NAME)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(4, QThreadPool.globalInstance().maxThreadCount()))
        self.running: list[Operation] = []

    def cancel_all(self) -> None:
        for op in list(self.running):
            op.cancel()

    def running_exclusive(self, key: str) -> Operation | None:
        return next((op for op in self.running if op.exclusive == key), None)

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until every worker finished (used at shutdown and by tests)."""
        return self.pool.waitForDone(timeout_ms)


def tracker() -> OperationTracker:
    """The application's tracker (created on first use, owned by the QApplication)."""
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("Operation needs a running QApplication")
    found = app.findChild(OperationTracker, _TRACKER_NAME)
    if found is None:
        found = OperationTracker(app)
    return found


class Operation:
    """A background call with GUI-thread callbacks. Build it, chain callbacks, ``run()``."""

    def __init__(self, parent: QWidget | None, fn: Callable[[OpContext], Any], label: str = "",
                 cancellable: bool = False, *, modal: bool = False, exclusive: str | None = None):
        self.parent = parent
        self.exclusive = exclusive
        self.label = label
        self.cancellable = cancellable
        self.modal = modal
        self._fn = fn
        self._on_success: Callable[[Any], None] | None = None
        self._on_failure: Callable[[BaseException], None] | None = None
        self._on_progress: Callable[[int, int | None, str], None] | None = None
        self._parent_gone = False
        self._bridge = _Bridge()
        self.context = OpContext(self._bridge.progressed.emit)
        self.last_progress: tuple[int, int | None, str] | None = None
        self._dialog: QProgressDialog | None = None
        self._started = False
        self.done = False

    # ---- building ---------------------------------------------------------------------
    def success(self, cb: Callable[[Any], None]) -> Operation:
        self._on_success = cb
        return self

    def failure(self, cb: Callable[[BaseException], None]) -> Operation:
        self._on_failure = cb
        return self

    def on_progress(self, cb: Callable[[int, int | None, str], None]) -> Operation:
        self._on_progress = cb
        return self

    # ---- running ----------------------------------------------------------------------
    @property
    def cancel_event(self) -> threading.Event:
        return self.context.cancel_event

    @property
    def cancelled(self) -> bool:
        return self.context.cancelled

    def cancel(self) -> None:
        """Ask the work to stop (it stops at its next check of ``cancel_event``)."""
        self.context.cancel_event.set()

    def run(self) -> Operation:
        if self._started:
            raise RuntimeError("an Operation runs once")
        t = tracker()
        if self.exclusive is not None:
            already = t.running_exclusive(self.exclusive)
            if already is not None:
                log.info("%r is already running; not started again", self.exclusive)
                return already
        self._started = True
        self._bridge.op = self
        self._bridge.setParent(t)  # Qt owns it now: only its deleteLater deletes it (GUI thread)
        if self.parent is not None:
            self.parent.destroyed.connect(self._bridge.on_parent_destroyed)
        t.running.append(self)
        if self.modal:
            self._open_dialog()
        t.started.emit(self)
        t.pool.start(_Runnable(self))
        return self

    # ---- GUI-thread side --------------------------------------------------------------
    def _parent_alive(self) -> bool:
        if self.parent is None:
            return True
        return not self._parent_gone and shiboken6.isValid(self.parent)

    def _open_dialog(self) -> None:
        parent = self.parent if self._parent_alive() else None
        dlg = QProgressDialog(self.label or "Working…", "Cancel" if self.cancellable else "", 0, 0, parent)
        dlg.setObjectName("operation-progress")
        dlg.setWindowTitle(self.label or "Working")
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.setMinimumDuration(300)
        dlg.setAutoClose(False)
        dlg.setAutoReset(False)
        if not self.cancellable:
            dlg.setCancelButton(None)
        dlg.canceled.connect(self._bridge.on_cancel)
        self._dialog = dlg

    def _close_dialog(self) -> None:
        dlg, self._dialog = self._dialog, None
        if dlg is not None and shiboken6.isValid(dlg):
            dlg.canceled.disconnect(self._bridge.on_cancel)
            dlg.close()
            dlg.deleteLater()

    def _deliver_progress(self, done: int, total: int | None, message: str) -> None:
        if self.done:
            return
        self.last_progress = (done, total, message)
        dlg = self._dialog
        if dlg is not None and shiboken6.isValid(dlg):
            dlg.setMaximum(total or 0)
            dlg.setValue(min(done, total) if total else 0)
            if message:
                dlg.setLabelText(f"{self.label}\n{message}" if self.label else message)
        tracker().progressed.emit(self, done, total, message)
        if self._on_progress is not None and self._parent_alive():
            self._on_progress(done, total, message)

    def _finish(self) -> None:
        self.done = True
        self._close_dialog()
        t = tracker()
        if self in t.running:
            t.running.remove(self)
        t.ended.emit(self)

    def _release(self) -> None:
        """Let go of the work and the callbacks (GUI thread, once the outcome is delivered)."""
        self._fn = _spent
        self._on_success = self._on_failure = self._on_progress = None

    def _deliver_success(self, result: Any) -> None:
        alive = self._parent_alive()
        self._finish()
        if not alive:
            log.debug("operation %r finished after its window closed; result dropped", self.label)
            return
        if self._on_success is not None:
            self._on_success(result)

    def _deliver_failure(self, exc: BaseException) -> None:
        alive = self._parent_alive()
        self._finish()
        if isinstance(exc, Cancelled):
            log.info("operation %r cancelled", self.label)
            return
        from console.ui.errors import log_unexpected, show_error

        if not isinstance(exc, UserFacingError):
            log_unexpected(exc)  # a bug is always in the log, whoever handles it (once)
        if not alive:
            return
        if self._on_failure is not None:
            self._on_failure(exc)
            return
        show_error(self.parent, exc)


def _spent(_op: OpContext) -> None:
    raise RuntimeError("an Operation runs once")


def busy(key: str) -> bool:
    """Whether an ``exclusive=key`` operation is running (for enabling buttons)."""
    return tracker().running_exclusive(key) is not None
