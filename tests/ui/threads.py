"""Helpers for the UI tests about threads: which thread a call ran on, and no operation left
running behind a test.

``spy`` wraps a real call so that each call first notes whether it ran on the GUI thread; a
test then asserts the list holds only ``False`` (every call on a worker). ``drain`` cancels the
operations still running and waits for their workers; the ``drained`` fixture in
tests/ui/conftest.py calls it after a test.
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QTimer

from console.ui.operations import tracker


def on_gui() -> bool:
    """True when called on the GUI (main) thread."""
    return threading.current_thread() is threading.main_thread()


def spy(calls: list[bool], real):
    """``real``, noting in ``calls`` for each call whether it ran on the GUI thread."""

    def call(*args, **kwargs):
        calls.append(on_gui())
        return real(*args, **kwargs)

    return call


def held(release: threading.Event, real, calls: list[bool] | None = None):
    """``real``, kept waiting (up to 5 s) until ``release`` is set; with ``calls``, noting first
    whether each call ran on the GUI thread."""

    def call(*args, **kwargs):
        if calls is not None:
            calls.append(on_gui())
        release.wait(5)
        return real(*args, **kwargs)

    return call


def slowed(seconds: float, real, calls: list[bool] | None = None):
    """``real``, taking ``seconds`` longer (a slow disk or database); with ``calls``, noting first
    whether each call ran on the GUI thread."""

    def call(*args, **kwargs):
        if calls is not None:
            calls.append(on_gui())
        time.sleep(seconds)
        return real(*args, **kwargs)

    return call


def raising(exc: BaseException, calls: list[bool] | None = None):
    """A stand-in that raises ``exc`` on every call; with ``calls``, noting first whether each
    call ran on the GUI thread."""

    def call(*args, **kwargs):
        if calls is not None:
            calls.append(on_gui())
        raise exc

    return call


def ticking() -> tuple[QTimer, list[int]]:
    """A started QTimer that notes a tick every 10 ms on the GUI thread, and its list of ticks: a
    test that a worker kept the screen responsive checks the ticks went on meanwhile (stop the
    timer before the check)."""
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    return timer, ticks


def drain(qtbot=None, timeout_ms: int = 5000, *, rounds: int = 1, settle_ms: int = 10) -> None:
    """Cancel every operation still running and wait for its worker; given ``qtbot``, then let
    the GUI thread handle what the workers queued (``settle_ms``). ``rounds`` > 1 repeats it,
    for callbacks that start another operation (a preview that starts the whole-file check)."""
    for _ in range(rounds):
        tracker().cancel_all()
        tracker().wait(timeout_ms)
        if qtbot is not None:
            qtbot.wait(settle_ms)
