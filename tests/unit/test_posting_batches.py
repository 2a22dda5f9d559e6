"""Opening and closing Caselle batches are journaled effects: written before they are sent and,
after a dropped answer, reconciled by asking Caselle for the date's batch — never re-sent blindly."""

from __future__ import annotations

import datetime as dt

import pytest

from console.adapters.journal import DONE, IN_FLIGHT, REPORTED, SqliteJournal
from console.config import sandbox_profile
from console.services.audit import AuditLog
from console.services.posting import BATCH_CLOSE, BATCH_OPEN, PostingService, RetryPolicy
from tests.profiles import POSTER
from tests.unit.test_posting_service import TODAY, FakeCaselle, _import, pay, raise_scripted_fault

DAY = dt.date(2026, 11, 25)  # the payments' date (before TODAY: auto close applies)


class BatchFaults(FakeCaselle):
    """The fake Caselle with scripted faults on open_batch / close_batch ("drop_before": nothing
    committed; "drop_after": committed, answer lost; "5xx_after": committed, a 503) and a record of
    the journal state of the batch entry at the moment each call was made."""

    def __init__(self):
        super().__init__()
        self.batch_faults: dict[str, list[str]] = {"open_batch": [], "close_batch": []}
        self.journal: SqliteJournal | None = None
        self.state_when_sent: list[tuple[str, str]] = []

    def _batch_fault(self, call, when):
        raise_scripted_fault(self.batch_faults[call], when)

    def _note(self, key):
        e = self.journal.get(key) if self.journal is not None else None
        self.state_when_sent.append((key, e.state if e is not None else "not journaled"))

    def open_batch(self, d):
        self._note(f"batch-open:{d.isoformat()}")
        self._batch_fault("open_batch", "before")
        result = super().open_batch(d)
        self._batch_fault("open_batch", "after")
        return result

    def close_batch(self, batch_id):
        self._note(f"batch-close:{batch_id}")
        self._batch_fault("close_batch", "before")
        super().close_batch(batch_id)
        self._batch_fault("close_batch", "after")

    def count(self, name):
        return sum(1 for c in self.calls if c[0] == name)


@pytest.fixture
def env(tmp_path):
    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    audit = AuditLog(tmp_path / "journal.sqlite3")
    fake = BatchFaults()
    fake.journal = journal
    svc = PostingService(journal, fake, sandbox_profile(), audit, retry=RetryPolicy(base_s=0.001, cap_s=0.01),
                         today=lambda: TODAY, workers=1)  # the scripted batch faults come in order
    yield svc, fake, journal
    journal.close()
    audit.close()


def test_batch_changes_are_journaled_before_they_are_sent(env):
    svc, fake, journal = env
    _import(svc, "payments", [pay(1), pay(2)])
    res = svc.post_pending(operator=POSTER)
    assert res.complete and res.batches_closed == ["CR20261125"]
    assert fake.state_when_sent == [("batch-open:2026-11-25", IN_FLIGHT), ("batch-close:CR20261125", IN_FLIGHT)]
    opened, closed = journal.get("batch-open:2026-11-25"), journal.get("batch-close:CR20261125")
    assert (opened.kind, opened.state, opened.outcome, opened.remote_ref) == (BATCH_OPEN, DONE, "opened", "CR20261125")
    assert (closed.kind, closed.state, closed.outcome) == (BATCH_CLOSE, DONE, "closed")
    assert closed.payload == {"batch_id": "CR20261125", "batch_date": "2026-11-25"}


@pytest.mark.parametrize("fault", ["drop_after", "5xx_after"])
def test_dropped_answer_on_open_batch_is_reconciled_not_resent(env, fault):
    svc, fake, journal = env
    _import(svc, "payments", [pay(1)])
    fake.batch_faults["open_batch"] = [fault]  # Caselle opened the batch; the answer was lost
    res = svc.post_pending(operator=POSTER)
    assert res.complete and res.outcomes["posted"] == 1
    assert fake.count("open_batch") == 1  # never sent a second time
    calls = [c[0] for c in fake.calls if c[0] in ("open_batch", "batch_totals", "create")]
    assert calls[:3] == ["open_batch", "batch_totals", "create"]  # asked Caselle before going on
    e = journal.get("batch-open:2026-11-25")
    assert e.state == DONE and e.outcome == "already_there" and e.remote_ref == "CR20261125" and e.attempts == 2


def test_open_batch_that_never_reached_caselle_is_sent_again_after_a_look(env):
    svc, fake, journal = env
    _import(svc, "payments", [pay(1)])
    fake.batch_faults["open_batch"] = ["drop_before"]
    res = svc.post_pending(operator=POSTER)
    assert res.complete and res.outcomes["posted"] == 1
    assert fake.state_when_sent[:2] == [("batch-open:2026-11-25", IN_FLIGHT)] * 2  # tried twice …
    calls = [c[0] for c in fake.calls if c[0] in ("open_batch", "batch_totals", "create")]
    assert calls[:3] == ["batch_totals", "open_batch", "create"]  # … the second after Caselle said "none"
    assert journal.get("batch-open:2026-11-25").outcome == "opened"


@pytest.mark.parametrize("fault", ["drop_after", "5xx_after"])
def test_dropped_answer_on_close_batch_is_reconciled_not_resent(env, fault):
    svc, fake, journal = env
    _import(svc, "payments", [pay(1)])
    fake.batch_faults["close_batch"] = [fault]
    first = svc.post_pending(operator=POSTER)
    assert first.outcomes["posted"] == 1 and first.errors == []
    assert fake.batches[DAY]["status"] == "CLOSED"  # Caselle did close it on the first send
    # the lost answer was reconciled within the same run by asking, not by closing again
    assert first.batches_closed == ["CR20261125"]
    assert fake.count("close_batch") == 1
    e = journal.get("batch-close:CR20261125")
    assert e.state == DONE and e.outcome == "already_there" and e.attempts == 2
    assert svc.post_pending(operator=POSTER).batches_closed == []
    assert fake.count("close_batch") == 1
    assert svc.journal.watermarks("batch:open:") == {}


def test_closed_batch_for_a_late_payment_is_reported_and_today_is_used(env):
    svc, fake, journal = env
    fake.batches[dt.date(2026, 11, 20)] = {"id": "CR20261120", "status": "CLOSED"}
    _import(svc, "payments", [pay(1, day=dt.date(2026, 11, 20))])
    svc.post_pending(operator=POSTER)
    e = journal.get("batch-open:2026-11-20")
    assert e.state == REPORTED and e.outcome == "batch_closed"
    assert journal.get("batch-open:2026-11-26").state == DONE
    assert fake.receipts["P000001"].batch_id == "CR20261126"
    # another late payment of that date on a later run: the journal says it was tried, Caselle says
    # closed — straight to today's batch, nothing sent to open it again
    _import(svc, "payments", [pay(2, day=dt.date(2026, 11, 20))], fp="fp2")
    svc.post_pending(operator=POSTER)
    assert fake.count("open_batch") == 2 and fake.receipts["P000002"].batch_id == "CR20261126"


def test_a_batch_caselle_lost_is_opened_again_under_a_new_key(env):
    svc, fake, journal = env
    _import(svc, "payments", [pay(1, day=TODAY)])
    svc.post_pending(operator=POSTER)
    assert journal.get("batch-open:2026-11-26").state == DONE
    del fake.batches[TODAY]  # an empty batch deleted in Caselle by hand
    svc.journal.delete_watermark("batch:open:2026-11-26")
    _import(svc, "payments", [pay(2, day=TODAY)], fp="fp2")
    fake.receipts.clear()
    assert svc.post_pending(operator=POSTER).outcomes["posted"] == 1
    again = journal.get("batch-open:2026-11-26#2")
    assert again is not None and again.state == DONE and again.outcome == "opened"
