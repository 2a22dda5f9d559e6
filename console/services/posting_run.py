"""The claim loop of a posting run: workers claim due journal entries, execute them, record them.

Used by :meth:`console.services.posting.PostingService.post_pending` (and through it by every
service that registers a handler there). Exactly-once is the journal's: a claim is one
``BEGIN IMMEDIATE`` transaction with a lease, an entry belongs to the worker that claimed it,
outcomes are recorded per claim, and an entry whose outcome is unknown goes back to pending to be
looked up before anything is sent again (the handlers do that).

Pace: ``workers`` threads work at once (the profile's ``caselle_workers``). A call that stalls
until its timeout holds its worker, never the run:

- with several workers, claims are small (about 16 per worker over the run), so few entries
  wait behind a stalled call and the other workers take the rest;
- a call running longer than ``stall_s`` counts as stalled: a spare worker starts so that
  ``workers`` calls stay under way (at most as many spares as workers; a stalled call is no
  load on the remote, it is waiting for nothing). A spare leaves at its next claim once the
  stalled call came back. With one worker (asked for explicitly) no spare ever starts.

So a run's time grows with the number of stalls divided by the workers, not with their sum.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from console.adapters.journal import IN_FLIGHT


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


class RunAborted(Exception):
    """Stop the whole run (auth refused, remote unreachable)."""


def sleep_or_cancel(seconds: float, cancel: CancelFlag | None) -> None:
    if seconds <= 0:
        return
    if cancel is not None and hasattr(cancel, "wait"):
        cancel.wait(seconds)  # type: ignore[attr-defined]
    else:
        time.sleep(seconds)


def claim_size(chunk: int, workers: int, total: int) -> int:
    """Entries one worker claims at a time. One worker: the whole chunk (fewest fsyncs). Several:
    about 16 claims per worker over the run, so few entries queue behind a stalled call."""
    if workers == 1:
        return chunk
    return max(1, min(chunk, -(-total // (workers * 16))))


def stall_after(timeout_s: float) -> float:
    """How long a call runs before it counts as stalled (a spare worker starts): a quarter of the
    timeout, between 0.25 s and 5 s (Caselle answers in well under a second when it answers)."""
    return max(0.25, min(5.0, timeout_s / 4))


class ClaimLoop:
    """One run's workers over ``svc`` (a PostingService: its journal, ``_execute``, ``_record`` and
    ``_flush``). After each entry ``on_outcome(entry, outcome)`` is called under the run's lock
    (count it) and ``report(message)`` outside it (progress)."""

    def __init__(self, svc: Any, *, owner: str, kinds: Sequence[str], keys: Sequence[str] | None, operator: str,
                 cancel: CancelFlag | None, total: int, on_outcome: Callable[[Any, str], None],
                 report: Callable[[str], None], stall_s: float | None = None):
        self.svc = svc
        self.owner, self.kinds, self.keys, self.operator, self.cancel = owner, kinds, keys, operator, cancel
        self.on_outcome, self.report = on_outcome, report
        self.workers = svc.workers
        self.limit = claim_size(svc.chunk, self.workers, total)
        # the client's own timeout when it is built already (the console builds it from the profile)
        client = getattr(svc, "_caselle", None)
        client_timeout = getattr(client, "timeout", None) if hasattr(client, "create_receipt") else None
        timeout = float(client_timeout or svc.profile.get("caselle_timeout_s") or 20)
        self.stall_s = stall_s if stall_s is not None else stall_after(timeout)
        self.lock = threading.Lock()
        self.abort = ""
        self.consecutive_network = 0
        self.spares_started = 0
        self._running = 0
        self._busy: dict[int, float] = {}  # thread ident -> when its current call started
        self._failures: list[BaseException] = []

    # ------------------------------------------------------------------ the run
    def run(self) -> None:
        """Run the workers until nothing is due (or abort/cancel); raises a worker's failure."""
        if self.workers == 1:
            self._running = 1
            self._worker()
            return
        threads: list[threading.Thread] = []

        def start() -> None:
            with self.lock:
                self._running += 1
            t = threading.Thread(target=self._guarded, name=f"posting-{len(threads)}", daemon=True)
            threads.append(t)
            t.start()

        for _ in range(self.workers):
            start()
        poll = min(0.1, self.stall_s / 4)
        while any(t.is_alive() for t in threads):
            threads[-1].join(poll)
            if self._needs_spare():
                self.spares_started += 1
                start()
        for t in threads:
            t.join()
        if self._failures:
            raise self._failures[0]

    def _stopping(self) -> bool:
        return bool(self.abort) or (self.cancel is not None and self.cancel.is_set())

    def _stalled(self, now: float) -> int:
        return sum(1 for since in self._busy.values() if now - since > self.stall_s)

    def _needs_spare(self) -> bool:
        if self._stopping():
            return False
        with self.lock:
            stalled = self._stalled(time.monotonic())
            if not stalled or self._running - stalled >= self.workers or self._running >= 2 * self.workers:
                return False
        due = self.svc.journal.next_due(self.kinds, self.keys)
        return due is not None and due <= time.time()

    def _leave_as_spare(self) -> bool:
        """A worker beyond ``workers`` calls under way leaves (decided and counted under the lock)."""
        with self.lock:
            if self._running - self._stalled(time.monotonic()) > self.workers:
                self._running -= 1
                return True
        return False

    def _guarded(self) -> None:
        try:
            self._worker()
        except BaseException as exc:  # noqa: BLE001 - handed to run()'s caller
            with self.lock:
                self._failures.append(exc)
                self.abort = self.abort or f"{type(exc).__name__}: {exc}"

    # ------------------------------------------------------------------ one worker
    def _worker(self) -> None:
        svc, journal = self.svc, self.svc.journal
        wait_started: float | None = None
        left = False
        try:
            while True:
                if self._stopping():
                    return
                if self.workers > 1 and self._leave_as_spare():
                    left = True
                    return
                claimed = journal.claim(self.owner, self.kinds, limit=self.limit, lease_s=svc.lease_s, keys=self.keys)
                if claimed:
                    wait_started = None
                    self._run_claim(claimed)
                    if self.abort:
                        return
                    continue
                due = journal.next_due(self.kinds, self.keys)
                if due is None:
                    # entries still in flight (another worker or another console): wait for them,
                    # so the run ends with their outcome known (or their lease expired)
                    if not journal.counts(kinds=self.kinds).get(IN_FLIGHT):
                        return
                    journal.recover_dead_leases()
                    due = time.time() + 0.1
                wait_started = wait_started if wait_started is not None else time.monotonic()
                if time.monotonic() - wait_started > svc.retry.max_wait_s:
                    return
                sleep_or_cancel(min(max(0.0, due - time.time()), 0.25), self.cancel)
        finally:
            if not left:  # a spare that left was counted out already
                with self.lock:
                    self._running -= 1

    def _run_claim(self, claimed: list) -> None:
        svc, me = self.svc, threading.get_ident()
        claimed_at = time.monotonic()
        svc._local.ops = []
        try:
            for i, entry in enumerate(claimed):
                if self._stopping():
                    for rest in claimed[i:]:
                        svc._record(("unclaim", rest.key, self.owner))
                    break
                if time.monotonic() - claimed_at > svc.lease_s / 3:
                    svc._flush(self.owner, self.operator)  # keep the record short, and the leases fresh
                    for rest in claimed[i:]:
                        svc.journal.renew(rest.key, self.owner, svc.lease_s)
                    claimed_at = time.monotonic()
                with self.lock:
                    self._busy[me] = time.monotonic()
                try:
                    outcome = svc._execute(entry, self.owner, self.operator)
                except RunAborted as exc:
                    with self.lock:
                        self.abort = self.abort or str(exc)
                    for rest in claimed[i + 1:]:
                        svc._record(("unclaim", rest.key, self.owner))
                    break
                except BaseException as exc:
                    # a bug or an interruption: this entry may have been sent (reconcile it
                    # next time); the rest of the claim certainly was not
                    svc._record(("release", entry.key, self.owner, 0.0, f"interrupted: {type(exc).__name__}"))
                    for rest in claimed[i + 1:]:
                        svc._record(("unclaim", rest.key, self.owner))
                    raise
                finally:
                    with self.lock:
                        self._busy.pop(me, None)
                self._count(entry, outcome)
                self.report(f"{entry.key}: {outcome}")
        finally:
            svc._flush(self.owner, self.operator)
            svc._local.ops = None

    def _count(self, entry: Any, outcome: str) -> None:
        with self.lock:
            if outcome == "retry":
                self.consecutive_network += 1
                if self.consecutive_network >= self.svc.retry.max_consecutive_network:
                    self.abort = (f"{self.svc.remote_name} did not answer (many attempts in a row); the run "
                                  "stopped and will resume where it left off")
            else:
                self.consecutive_network = 0
            self.on_outcome(entry, outcome)
