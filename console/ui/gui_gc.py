"""In the GUI app, Python's cyclic garbage collector runs on the GUI thread only.

CPython starts an automatic collection on whichever thread happens to allocate when a
generation's threshold is passed — often a worker of the operation pool. A Qt object owned
only by Python that sits in a garbage cycle (a widget reached from its own closure, a
QImage held in a cycle) is then destroyed on that worker, and Qt objects destroyed on the
wrong thread crash the console at random. As Anki does (aqt's GarbageCollector), the GUI app
turns automatic collection off and collects from a QTimer on the GUI thread instead:

- every tick (``interval_ms``, 1 s) the young objects (generation 0);
- every ``middle_every`` ticks (10 s) generation 1;
- every ``full_every`` ticks (60 s) a full collection, its time logged at debug level.

Code that pauses the collector around a large build (the file reader, posting) keeps
working: it saves ``gc.isenabled()`` and restores that state, so here it leaves collection
off. ``uninstall()`` (at exit, after the workers finished) stops the timer, collects once
more on the GUI thread and restores the state found at ``install()``. Only ``run_gui``
installs it: the CLI and GUI-free code keep Python's automatic collection.
"""

from __future__ import annotations

import gc
import logging
import time

from PySide6.QtCore import QObject, QThread, QTimer

log = logging.getLogger(__name__)

_NAME = "console-gui-garbage-collector"
SLOW_MS = 50.0  # a partial collection slower than this is worth a debug line


class GarbageCollector(QObject):
    """Collects garbage from a timer on the GUI thread; automatic collection is off meanwhile."""

    def __init__(self, parent: QObject, *, interval_ms: int = 1000, middle_every: int = 10, full_every: int = 60):
        super().__init__(parent)
        if QThread.currentThread() is not parent.thread():
            raise RuntimeError("the garbage collector timer must be set up on the GUI thread")
        self.setObjectName(_NAME)
        self.middle_every = max(1, middle_every)
        self.full_every = max(1, full_every)
        self.ticks = 0
        self.collections = [0, 0, 0]  # how many collections of each generation ran (for Diagnostics, tests)
        self.last_full_ms: float | None = None
        self._was_enabled = gc.isenabled()
        self._warned_enabled = False
        self.timer = QTimer(self)
        self.timer.setObjectName("gc-timer")
        self.timer.setInterval(max(1, interval_ms))
        self.timer.timeout.connect(self._on_tick)
        gc.disable()
        self.timer.start()
        log.debug("automatic garbage collection off; collecting every %d ms on the GUI thread", interval_ms)

    @classmethod
    def install(cls, app: QObject, **options) -> GarbageCollector:
        """The application's collector (one per application; a second install returns it)."""
        found = app.findChild(cls, _NAME)
        return found if found is not None else cls(app, **options)

    def _on_tick(self) -> None:
        self.ticks += 1
        if gc.isenabled():  # something turned automatic collection back on: off again
            if not self._warned_enabled:
                log.warning("automatic garbage collection was turned back on; turning it off again")
                self._warned_enabled = True
            gc.disable()
        if self.ticks % self.full_every == 0:
            self.collect(2)
        elif self.ticks % self.middle_every == 0:
            self.collect(1)
        else:
            self.collect(0)

    def collect(self, generation: int = 2) -> int:
        """Collect ``generation`` (2: everything) now, on this (the GUI) thread; the number of
        unreachable objects found."""
        started = time.perf_counter()
        found = gc.collect(generation)
        ms = (time.perf_counter() - started) * 1000
        self.collections[generation] += 1
        if generation == 2:
            self.last_full_ms = ms
            log.debug("full garbage collection: %d unreachable objects in %.1f ms", found, ms)
        elif ms > SLOW_MS:
            log.debug("garbage collection of generation %d: %d unreachable objects in %.1f ms", generation, found, ms)
        return found

    def uninstall(self) -> None:
        """Stop collecting from the timer; a last collection here, then the state found at install."""
        self.timer.stop()
        self.collect(2)
        if self._was_enabled:
            gc.enable()
        self.setObjectName("")  # a later install() makes a new one
        self.deleteLater()
