"""The claim loop keeps its pace while calls stall: a stalled call holds its worker, and a spare
worker takes the rest of the run; with one worker nothing runs beside it. Exactly once holds:
every stalled entry is looked up before it is sent again."""

from __future__ import annotations

import threading
import time

import pytest

from console.adapters.journal import DONE, PENDING, SqliteJournal
from console.config import coerce, sandbox_profile, setting
from console.errors import NetworkError
from console.services.posting import RECEIPT, PostingService, RetryPolicy
from console.services.posting_run import claim_size, stall_after
from tests.unit.test_posting_service import TODAY, FakeCaselle, _import, pay

HOLD_S = 10.0  # how long a stalled call waits at most (the test's own timeout)


class StallingCaselle(FakeCaselle):
    """The first create_receipt of each ``stalled`` reference hangs until ``release`` is set (or
    HOLD_S passes), then fails as a timeout does (the outcome unknown; nothing was created)."""

    def __init__(self, stalled: set[str]):
        super().__init__()
        self.stalled = set(stalled)
        self.release = threading.Event()
        self.released_after: float | None = None

    def create_receipt(self, *, reference, **kw):
        with self.lock:
            stall = reference in self.stalled
            self.stalled.discard(reference)
        if stall:
            started = time.monotonic()
            self.release.wait(HOLD_S)
            self.released_after = time.monotonic() - started
            self.calls.append(("create", reference))
            raise NetworkError(f"no answer for {reference} (stalled)", system="Caselle")
        return super().create_receipt(reference=reference, **kw)


def _service(tmp_path, fake, workers):
    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    svc = PostingService(journal, fake, sandbox_profile(), retry=RetryPolicy(base_s=0.001, cap_s=0.01),
                         today=lambda: TODAY, workers=workers)
    svc.stall_s = 0.05
    return svc, journal


def _release_when_nothing_pending(journal, fake) -> threading.Thread:
    """Lets the stalled calls go once no entry is left to claim: the rest of the run was done
    while they stalled (without spares it never is: they wait out HOLD_S)."""

    def watch():
        deadline = time.monotonic() + HOLD_S
        while time.monotonic() < deadline and not fake.release.is_set():
            if journal.counts(kinds=[RECEIPT]).get(PENDING, 0) == 0:
                fake.release.set()
            time.sleep(0.01)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


def test_stalled_calls_hold_their_workers_not_the_run(tmp_path):
    fake = StallingCaselle({"P000001", "P000002"})
    svc, journal = _service(tmp_path, fake, workers=2)
    _import(svc, "payments", [pay(i) for i in range(40)])
    watcher = _release_when_nothing_pending(journal, fake)
    started = time.monotonic()
    result = svc.post_pending(operator="clerk1")
    elapsed = time.monotonic() - started
    watcher.join()
    assert result.complete and result.outcomes["posted"] == 40
    assert fake.released_after is not None and fake.released_after < HOLD_S / 2, fake.released_after
    assert elapsed < HOLD_S / 2 and result.spare_workers >= 1, (elapsed, result.spare_workers)
    # exactly once: one receipt each; a stalled one was looked up before its second send
    assert len(fake.receipts) == 40 and journal.counts(kinds=[RECEIPT])[DONE] == 40
    for ref in ("P000001", "P000002"):
        mine = [c for c in fake.calls if c[1] == ref]
        assert mine == [("create", ref), ("find", ref), ("create", ref)], mine
    journal.close()


def test_one_worker_never_runs_a_spare(tmp_path):
    fake = StallingCaselle({"P000003"})
    svc, journal = _service(tmp_path, fake, workers=1)
    _import(svc, "payments", [pay(i) for i in range(8)])
    threading.Timer(0.3, fake.release.set).start()
    result = svc.post_pending(operator="clerk1")
    assert result.complete and result.outcomes["posted"] == 8 and result.spare_workers == 0
    assert fake.released_after is not None and fake.released_after >= 0.25  # the run waited it out
    journal.close()


def test_claims_are_small_with_several_workers_and_a_stall_counts_after_a_quarter_timeout():
    assert claim_size(64, 1, 400) == 64  # one worker: the whole chunk
    assert claim_size(64, 4, 400) == 7 and claim_size(64, 4, 100_000) == 64 and claim_size(64, 4, 3) == 1
    assert stall_after(20) == 5.0 and stall_after(2) == 0.5 and stall_after(0.1) == 0.25


def test_the_workers_are_a_profile_setting_declared_once(tmp_path):
    s = setting("caselle_workers")
    assert s.default == 4 and coerce(s, "6") == 6
    for bad in ("0", "17"):
        with pytest.raises(ValueError, match="between 1 and 16"):
            coerce(s, bad)
    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    assert PostingService(journal, FakeCaselle(), sandbox_profile()).workers == 4
    assert PostingService(journal, FakeCaselle(), sandbox_profile().with_values(caselle_workers=2)).workers == 2
    assert PostingService(journal, FakeCaselle(), sandbox_profile(), workers=1).workers == 1  # post --workers 1
    journal.close()
