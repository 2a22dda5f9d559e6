"""The GUI app collects garbage from a timer on the GUI thread; automatic collection is off.

Python's automatic collection could run on an operation worker and free a Qt object that
sits in a garbage cycle there (on the wrong thread). These tests prove the collector turns
automatic collection off, that its timer really collects (a cycle is freed by the GUI
thread, not by an automatic run), that code pausing the collector on a worker (the file
reader) leaves it off, that uninstall restores the previous state, and that ``run_gui``
sets it up for the whole run (a real process, like ``--self-test``).
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import weakref

import pytest

from console.ui.gui_gc import GarbageCollector


class Node:
    def __init__(self):
        self.other = None


def make_cycle() -> weakref.ref:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture
def collector(qapp):
    was = gc.isenabled()
    gc.enable()
    c = GarbageCollector.install(qapp, interval_ms=20, middle_every=3, full_every=5)
    yield c
    if c.objectName():
        c.uninstall()
    if was:
        gc.enable()
    else:
        gc.disable()


def test_automatic_collection_is_off_and_the_timer_collects_a_cycle(qtbot, collector):
    assert not gc.isenabled()
    assert GarbageCollector.install(collector.parent()) is collector  # one per application
    gc.collect()
    ref = make_cycle()
    for _ in range(5000):  # far past generation 0's threshold: an automatic run would free it now
        Node()
    assert ref() is not None  # nothing collects it behind the timer's back
    freed_on = []
    ref = weakref.ref(ref(), lambda _r: freed_on.append(threading.current_thread() is threading.main_thread()))
    qtbot.waitUntil(lambda: ref() is None, timeout=2000)  # a tick (20 ms) later it is gone
    assert freed_on == [True]  # by the GUI thread
    assert collector.collections[0] >= 1


def test_partial_and_full_collections_follow_their_schedule(qtbot, collector, caplog):
    import logging

    caplog.set_level(logging.DEBUG, logger="console.ui.gui_gc")
    qtbot.waitUntil(lambda: collector.ticks >= 10, timeout=3000)
    assert collector.collections[2] >= 2 and collector.collections[1] >= 2  # every 5th / 3rd tick
    assert collector.collections[0] > collector.collections[1]
    assert collector.last_full_ms is not None
    assert any("full garbage collection" in r.getMessage() and " ms" in r.getMessage() for r in caplog.records)


def test_the_file_reader_pausing_the_collector_on_a_worker_leaves_it_off(qtbot, collector, monkeypatch):
    """console/files/reader.py pauses the collector while it reads and restores the state it
    found: with the GUI's collector installed that state is off, and stays off."""
    from console.files.reader import read_bytes

    pauses = []
    real_disable = gc.disable
    monkeypatch.setattr(gc, "disable", lambda: pauses.append(threading.current_thread().name) or real_disable())
    results = []
    worker = threading.Thread(target=lambda: results.append(read_bytes(b"not,an,invoice\r\n", "ic-invoice-v1")),
                              name="reader-worker")
    worker.start()
    worker.join(10)
    assert results and "reader-worker" in pauses  # the reader did pause it
    assert not gc.isenabled()  # ...and did not switch automatic collection back on
    ref = make_cycle()
    qtbot.waitUntil(lambda: ref() is None, timeout=2000)  # the timer still collects


def test_something_turning_collection_back_on_is_turned_off_at_the_next_tick(qtbot, collector):
    gc.enable()
    ticks = collector.ticks
    qtbot.waitUntil(lambda: collector.ticks > ticks, timeout=2000)
    assert not gc.isenabled()


def test_uninstall_restores_automatic_collection(qtbot, collector):
    ref = make_cycle()
    collector.uninstall()
    assert gc.isenabled() and ref() is None  # a last collection on the way out
    assert not collector.timer.isActive()
    again = GarbageCollector.install(collector.parent(), interval_ms=20)
    try:
        assert again is not collector and not gc.isenabled()
    finally:
        again.uninstall()


def test_run_gui_collects_on_the_gui_thread_for_the_whole_run(tmp_path):
    script = """
import gc, sys
from argparse import Namespace
import console.ui.app as app_mod
from console.ui.gui_gc import GarbageCollector

seen = {}
real = app_mod._self_test

def spy(controller, *, timing):
    c = controller.app.findChild(GarbageCollector, "console-gui-garbage-collector")
    seen["during"] = (gc.isenabled(), c is not None and c.timer.isActive())
    return real(controller, timing=timing)

app_mod._self_test = spy
assert gc.isenabled()
code = app_mod.run_gui(Namespace(self_test=True, timing=False, profile=None))
print("RESULT", code, seen["during"], gc.isenabled())
"""
    env = {**os.environ, "BILLER_CONSOLE_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("PYTEST_CURRENT_TEST", None)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env,
                         cwd=os.getcwd())
    assert "RESULT 0 (False, True) True" in out.stdout, out.stdout + out.stderr
