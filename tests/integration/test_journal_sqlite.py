"""The journal on real SQLite files: write-ahead, atomic claims, leases, card-data guard."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.adapters.journal import (
    DONE,
    IN_FLIGHT,
    PENDING,
    REJECTED,
    CardDataError,
    DuplicateFileError,
    JournalError,
    NewEntry,
    SqliteJournal,
    card_data_problems,
    lease_owner_id,
    luhn_ok,
)


def _entries(n: int, kind: str = "receipt") -> list[NewEntry]:
    return [NewEntry(f"P{i:06d}", kind, {"amount": f"{i}.00", "account": f"A-{i}"}, line=i + 2) for i in range(n)]


def _add(j: SqliteJournal, entries, fp="fp1", override=False):
    return j.add_entries(entries, operator="clerk1", fingerprint=fp, file_name="f.csv", file_kind="payments",
                         records=len(entries), total="0.00", override=override)


def test_durability_settings(tmp_path):
    j = SqliteJournal(tmp_path / "j.sqlite3")
    assert j._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert j._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert j.schema_version == 1
    j.close()


def test_schema_newer_than_program_is_refused(tmp_path):
    path = tmp_path / "j.sqlite3"
    SqliteJournal(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 99 WHERE component = 'journal'")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="newer"):
        SqliteJournal(path)


def test_reopen_keeps_entries_and_does_not_migrate_twice(tmp_path):
    path = tmp_path / "j.sqlite3"
    with SqliteJournal(path) as j:
        _add(j, _entries(3))
    with SqliteJournal(path) as j:
        assert j.counts()[PENDING] == 3


def test_file_registry_refuses_second_import_unless_override(tmp_path):
    with SqliteJournal(tmp_path / "j.sqlite3") as j:
        r1 = _add(j, _entries(5))
        assert r1.added == 5
        with pytest.raises(DuplicateFileError) as err:
            _add(j, _entries(5))
        assert "already imported" in str(err.value)
        assert j.counts()[PENDING] == 5
        r2 = _add(j, _entries(6), override=True)
        assert r2.added == 1 and len(r2.already_journaled) == 5  # keys stay deduplicated
        assert j.file_record("fp1").imports == 2


def test_keys_deduplicated_across_files(tmp_path):
    with SqliteJournal(tmp_path / "j.sqlite3") as j:
        _add(j, _entries(4), fp="a")
        r = _add(j, _entries(6), fp="b")
        assert r.added == 2 and sorted(r.already_journaled) == [f"P{i:06d}" for i in range(4)]
        assert sum(j.counts().values()) == 6


def test_import_is_one_transaction(tmp_path):
    """A payload refused half-way leaves nothing journaled and no fingerprint registered."""
    with SqliteJournal(tmp_path / "j.sqlite3") as j:
        bad = [*_entries(3), NewEntry("X", "receipt", {"note": "4111 1111 1111 1111"})]
        with pytest.raises(CardDataError):
            _add(j, bad)
        assert sum(j.counts().values()) == 0
        assert j.file_record("fp1") is None


def test_claim_lease_finish_and_reconcile_flag(tmp_path):
    with SqliteJournal(tmp_path / "j.sqlite3") as j:
        _add(j, _entries(2))
        me = lease_owner_id()
        [e] = j.claim(me, ["receipt"])
        assert e.state == IN_FLIGHT and e.attempts == 1 and not e.needs_reconcile
        assert j.claim(lease_owner_id(), ["receipt"], keys=[e.key]) == []  # leased: nobody else gets it
        assert j.release(e.key, me, delay_s=0)
        [again] = j.claim(me, ["receipt"], keys=[e.key])
        assert again.attempts == 2 and again.needs_reconcile  # may have reached the remote: reconcile
        assert not j.finish(e.key, "someone-else", DONE, remote_ref="5.1")
        assert j.finish(e.key, me, DONE, remote_ref="5.00001", outcome="posted")
        got = j.get(e.key)
        assert got.state == DONE and got.remote_ref == "5.00001" and got.lease_owner == ""
        assert j.claim(me, ["receipt"], keys=[e.key]) == []


def test_expired_lease_is_reclaimed_with_reconcile(tmp_path):
    with SqliteJournal(tmp_path / "j.sqlite3") as j:
        _add(j, _entries(1))
        [e] = j.claim("ghost", ["receipt"], lease_s=0.05)
        assert j.claim("me", ["receipt"]) == []
        time.sleep(0.1)
        [e2] = j.claim("me", ["receipt"])
        assert e2.key == e.key and e2.needs_reconcile
        assert not j.finish(e.key, "ghost", DONE)  # the old owner lost it


def test_dead_process_lease_recovered_early(tmp_path):
    with SqliteJournal(tmp_path / "j.sqlite3") as j:
        _add(j, _entries(1))
        proc = subprocess.Popen([sys.executable, "-c", "pass"])
        proc.wait()
        dead_owner = f"{os.uname().nodename}:{proc.pid}:abcd"
        j.claim(dead_owner, ["receipt"], lease_s=3600)
        live_owner = f"{os.uname().nodename}:{os.getppid()}:abcd"
        _add(j, [NewEntry("L", "receipt", {})], fp="fp2")
        j.claim(live_owner, ["receipt"], lease_s=3600)
        assert j.recover_dead_leases() == 1
        [e] = j.claim("me", ["receipt"])
        assert e.key == "P000000" and e.needs_reconcile


def test_reopen_only_failed(tmp_path):
    with SqliteJournal(tmp_path / "j.sqlite3") as j:
        _add(j, _entries(2))
        a, b = j.claim("me", ["receipt"], limit=2)
        j.finish(a.key, "me", REJECTED, outcome="remote_refused", detail="no such account")
        j.finish(b.key, "me", DONE, remote_ref="1")
        assert j.reopen([a.key, b.key], operator="super1") == 1
        assert j.get(a.key).state == PENDING and j.get(b.key).state == DONE


def test_newest_entries(tmp_path):
    with SqliteJournal(tmp_path / "j.sqlite3") as j:
        _add(j, _entries(10))
        assert [e.key for e in j.entries(newest=3)] == ["P000007", "P000008", "P000009"]
        assert len(j.entries()) == 10


def test_watermarks(tmp_path):
    with SqliteJournal(tmp_path / "j.sqlite3") as j:
        j.set_watermark("batch:2026-11-20", "B1")
        j.set_watermark("batch:2026-11-21", "B2")
        j.set_watermark("other", "x")
        j.set_watermark("batch:2026-11-21", "B3")
        assert j.watermarks("batch:") == {"batch:2026-11-20": "B1", "batch:2026-11-21": "B3"}
        j.delete_watermark("batch:2026-11-20")
        assert j.get_watermark("batch:2026-11-20") is None
        assert j.get_watermark("other") == "x"


# ---- two processes claiming from one journal never get the same entry --------------------------
def _claimer(path: str, q) -> None:
    j = SqliteJournal(__import__("pathlib").Path(path))
    owner = lease_owner_id()
    got = []
    while True:
        batch = j.claim(owner, ["receipt"], limit=3)
        if not batch:
            break
        for e in batch:
            got.append(e.key)
            j.finish(e.key, owner, DONE, remote_ref=owner)
    q.put(got)


def test_concurrent_claims_are_exclusive(tmp_path):
    path = tmp_path / "j.sqlite3"
    with SqliteJournal(path) as j:
        _add(j, _entries(600))
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_claimer, args=(str(path), q)) for _ in range(3)]
    for p in procs:
        p.start()
    results = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    keys = [k for r in results for k in r]
    assert len(keys) == 600 and len(set(keys)) == 600
    with SqliteJournal(path) as j:
        assert j.counts()[DONE] == 600


# ---- card data guard ---------------------------------------------------------------------------
@pytest.mark.parametrize("payload", [
    {"memo": "4111111111111111"},
    {"memo": "card 4111-1111-1111-1111 ok"},
    {"x": ["%B4111111111111111^DOE/JOHN^2512101000000000000?"]},
    {"t": ";4111111111111111=25121010000000000000?"},
    {"pan": "411111******1111"},
    {"nested": {"cvv": "123"}},
])
def test_card_data_refused(tmp_path, payload):
    with SqliteJournal(tmp_path / "j.sqlite3") as j, pytest.raises(CardDataError) as err:
        _add(j, [NewEntry("K", "receipt", payload, line=7)])
    assert err.value.problems[0].line == 7 and err.value.problems[0].rule == "card_data"


@pytest.mark.parametrize("payload", [
    {"masked_pan": "411111******1111", "card_last4": "1111", "confirmation": "C807661990388"},
    {"payment_id": "P000000001", "amount": "12.34"},
    {"phone": "435-555-0123"},
])
def test_allowed_payloads(payload):
    assert card_data_problems(payload) == []


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=13, max_size=19))
def test_every_luhn_valid_digit_run_is_refused(digits):
    problems = card_data_problems({"memo": f"x {digits} y"})
    assert bool(problems) == luhn_ok(digits)
