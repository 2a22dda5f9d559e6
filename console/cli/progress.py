"""One progress bar for the command line, fed by the services' progress callback.

The services report ``progress(done, total, message)`` to the GUI (``console/ui/operations.py``
throttles it into the status bar); a command hands the same callback to them through
``progress_bar``::

    with progress_bar(args) as progress:
        run = posting.post_pending(progress, operator=operator)

On a terminal (stderr is a TTY) that draws a tqdm bar on stderr: counts, rate and time left
(just a count and rate while the total is unknown); a new phase (another total, or a count
going back) starts the bar again with that phase's message. With ``--json``, or when stderr
is not a terminal (a pipe, a file, cron), ``progress`` is None: nothing is drawn and nothing
is written to stderr. The bar is erased when the block ends, so the result printed next stands
alone.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class _Bar:
    """A services' ProgressFn drawing one tqdm bar (thread-safe: posting reports from workers)."""

    def __init__(self, stream: TextIO):
        from tqdm import tqdm  # imported only when a bar is drawn

        # a terminal that reports no size (0x0: a bare pty) would get no bar at all: 80x24
        sized = all(_size(stream))
        self._bar = tqdm(total=None, file=stream, unit="", dynamic_ncols=sized, ncols=None if sized else 80,
                         nrows=None if sized else 24, leave=False, mininterval=0.2)
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int | None = None, message: str = "") -> None:
        with self._lock:
            bar = self._bar
            if message:
                bar.set_description_str(message[:48], refresh=False)
            if total != bar.total or done < bar.n:
                bar.unit_scale = bool(total and total >= 10_000)  # bytes read or sent: 37.3k/120k
                bar.total = total  # (reset(total=None) would keep the old total)
                bar.reset(total=total)  # a new phase: its own count, rate and time left
                bar.update(done)
                bar.refresh()
                return
            bar.update(done - bar.n)

    def close(self) -> None:
        with self._lock:
            self._bar.close()


def _size(stream: TextIO) -> tuple[int, int]:
    try:
        return tuple(os.get_terminal_size(stream.fileno()))
    except (AttributeError, OSError, ValueError):
        return 0, 0


def wanted(args, stream: TextIO | None = None) -> bool:
    """A bar is drawn only on a terminal and never with ``--json``."""
    stream = stream if stream is not None else sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        tty = False
    return tty and not getattr(args, "json", False)


@contextmanager
def progress_bar(args, stream: TextIO | None = None) -> Iterator[_Bar | None]:
    """The progress callback for the services of one step of a command (None: draw nothing)."""
    stream = stream if stream is not None else sys.stderr
    if not wanted(args, stream):
        yield None
        return
    bar = _Bar(stream)
    try:
        yield bar
    finally:
        bar.close()
