"""The journal contract, run against both implementations (SQLite file, PostgreSQL server):
claims, leases, crash reclaim, the fingerprint registry, watermarks, the audit chain, the
card-read memory and the card-data guard. The PostgreSQL runs use a throwaway cluster
(tests/pg_cluster.py); they skip when PostgreSQL is not installed, and fail in CI."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from decimal import Decimal

import pytest

from console.adapters.journal import (
    DONE,
    IN_FLIGHT,
    PENDING,
    REJECTED,
    REPORTED,
    CardDataError,
    DuplicateFileError,
    JournalError,
    NewEntry,
    lease_owner_id,
)
from tests.journal_backends import PgBackend, SqliteBackend


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    if request.param == "sqlite":
        return SqliteBackend(tmp_path)
    return PgBackend(request.getfixturevalue("pg_url"))


@pytest.fixture
def journal(backend):
    j = backend.journal()
    yield j
    j.close()


def _entries(n: int, kind: str = "receipt") -> list[NewEntry]:
    return [NewEntry(f"P{i:06d}", kind, {"amount": f"{i}.00", "account": f"A-{i}"}, line=i + 2) for i in range(n)]


def _add(j, entries, fp="fp1", override=False, watermarks=None):
    return j.add_entries(entries, operator="clerk1", fingerprint=fp, file_name="f.csv", file_kind="payments",
                         records=len(entries), total="0.00", override=override, watermarks=watermarks)


# ---- schema ------------------------------------------------------------------------------------
def test_schema_versioned_reopen_keeps_entries_newer_refused(backend):
    with backend.journal() as j:
        assert j.schema_version == 1
        _add(j, _entries(3))
    with backend.journal() as j:  # opened again: nothing migrated twice, nothing lost
        assert j.counts()[PENDING] == 3
    backend.sql("UPDATE schema_version SET version = 99 WHERE component = 'journal'")
    with pytest.raises(JournalError, match="newer"):
        backend.journal()


# ---- the fingerprint registry -------------------------------------------------------------------
def test_registry_refuses_second_import_unless_override(journal):
    assert _add(journal, _entries(5)).added == 5
    with pytest.raises(DuplicateFileError, match="already imported"):
        _add(journal, _entries(5))
    assert journal.counts()[PENDING] == 5
    r2 = _add(journal, _entries(6), override=True)
    assert r2.added == 1 and len(r2.already_journaled) == 5  # keys stay deduplicated
    rec = journal.file_record("fp1")
    assert rec.imports == 2 and rec.name == "f.csv" and rec.operator == "clerk1"
    assert [f.fingerprint for f in journal.files()] == ["fp1"]
    assert journal.file_record("nope") is None


def test_keys_deduplicated_across_files(journal):
    _add(journal, _entries(4), fp="a")
    r = _add(journal, _entries(6), fp="b")
    assert r.added == 2 and sorted(r.already_journaled) == [f"P{i:06d}" for i in range(4)]
    assert sum(journal.counts().values()) == 6
    assert len(journal.entries(fingerprint="b")) == 2


def test_import_is_one_transaction(journal):
    """A payload refused half-way leaves nothing journaled, no fingerprint and no watermark."""
    bad = [*_entries(3), NewEntry("X", "receipt", {"note": "4111 1111 1111 1111"}, line=9)]
    with pytest.raises(CardDataError) as err:
        _add(journal, bad, watermarks={"w": "1"})
    assert err.value.problems[0].line == 9 and err.value.problems[0].rule == "card_data"
    assert sum(journal.counts().values()) == 0
    assert journal.file_record("fp1") is None and journal.get_watermark("w") is None


def test_born_reported_and_single_entries(journal):
    _add(journal, [NewEntry("R", "void", {}, state=REPORTED, outcome="void_not_posted")])
    assert journal.get("R").state == REPORTED and journal.get("R").outcome == "void_not_posted"
    assert journal.add_entry(NewEntry("M", "manual_void", {"receipt": "5.1"}), operator="super1")
    assert not journal.add_entry(NewEntry("M", "manual_void", {"receipt": "5.2"}), operator="super1")
    assert journal.get("M").payload == {"receipt": "5.1"} and journal.get("M").operator == "super1"
    with pytest.raises(JournalError):
        _add(journal, [NewEntry("Z", "receipt", {}, state=IN_FLIGHT)], fp="z")


# ---- claims and leases ---------------------------------------------------------------------------
def test_claim_lease_finish_and_reconcile_flag(journal):
    _add(journal, _entries(2))
    me = lease_owner_id()
    [e] = journal.claim(me, ["receipt"])
    assert e.state == IN_FLIGHT and e.attempts == 1 and not e.needs_reconcile and e.lease_owner == me
    assert e.lease_expires > time.time() + 60
    assert journal.claim(lease_owner_id(), ["receipt"], keys=[e.key]) == []  # leased: nobody else gets it
    assert journal.claim(me, ["other-kind"]) == [] and journal.claim(me, []) == []
    assert journal.claim(me, ["receipt"], keys=[]) == []
    assert journal.renew(e.key, me, 600) and not journal.renew(e.key, "someone-else", 600)
    assert journal.release(e.key, me, delay_s=0, detail="timeout")
    [again] = journal.claim(me, ["receipt"], keys=[e.key])
    assert again.attempts == 2 and again.needs_reconcile  # may have reached the remote: reconcile
    assert not journal.finish(e.key, "someone-else", DONE, remote_ref="5.1")
    assert journal.finish(e.key, me, DONE, remote_ref="5.00001", outcome="posted", payload_update={"receipt": "5"})
    got = journal.get(e.key)
    assert got.state == DONE and got.remote_ref == "5.00001" and got.lease_owner == ""
    assert got.payload == {"amount": "0.00", "account": "A-0", "receipt": "5"}
    assert journal.claim(me, ["receipt"], keys=[e.key]) == []
    with pytest.raises(JournalError):
        journal.finish("P000001", me, PENDING)


def test_backoff_next_due_and_unclaim(journal):
    _add(journal, _entries(3))
    me = lease_owner_id()
    a, b, c = journal.claim(me, ["receipt"], limit=5)
    assert journal.record_many([("release", a.key, me, 30.0, "later"), ("unclaim", b.key, me),
                                ("unclaim", c.key, "not-me")]) == [True, True, False]
    assert journal.get(b.key).attempts == 0 and journal.get(b.key).state == PENDING  # as if never claimed
    due = journal.next_due(["receipt"], keys=[a.key])
    assert time.time() + 25 < due < time.time() + 35
    assert journal.next_due(["nothing"]) is None
    assert [e.key for e in journal.claim(me, ["receipt"], limit=5)] == [b.key]  # a is backing off, c is held


def test_expired_lease_is_reclaimed_with_reconcile(journal):
    _add(journal, _entries(1))
    [e] = journal.claim("ghost", ["receipt"], lease_s=0.05)
    assert journal.claim("me", ["receipt"]) == []
    time.sleep(0.15)
    [e2] = journal.claim("me", ["receipt"])
    assert e2.key == e.key and e2.needs_reconcile
    assert not journal.finish(e.key, "ghost", DONE)  # the old owner lost it


def test_dead_process_lease_recovered_at_once(journal):
    """A killed poster's claims on this host come back at once, not after the lease (an hour)."""
    _add(journal, _entries(1))
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead_owner = f"{os.uname().nodename}:{proc.pid}:abcd"
    journal.claim(dead_owner, ["receipt"], lease_s=3600)
    live_owner = f"{os.uname().nodename}:{os.getppid()}:abcd"
    other_host = f"another-pc:{proc.pid}:abcd"  # another PC's pid says nothing here: its lease must run out
    _add(journal, [NewEntry("L", "receipt", {}), NewEntry("O", "receipt", {})], fp="fp2")
    journal.claim(live_owner, ["receipt"], lease_s=3600, keys=["L"])
    journal.claim(other_host, ["receipt"], lease_s=3600, keys=["O"])
    assert journal.recover_dead_leases() == 1
    [e] = journal.claim("me", ["receipt"])
    assert e.key == "P000000" and e.needs_reconcile


def test_reopen_only_failed(journal):
    _add(journal, _entries(2))
    a, b = journal.claim("me", ["receipt"], limit=2)
    journal.finish(a.key, "me", REJECTED, outcome="remote_refused", detail="no such account")
    journal.finish(b.key, "me", DONE, remote_ref="1")
    assert journal.reopen([a.key, b.key], operator="super1") == 1
    assert journal.get(a.key).state == PENDING and journal.get(b.key).state == DONE
    assert journal.get(a.key).attempts == 1  # attempts stay: reconciled before anything is sent again


def test_reading(journal):
    _add(journal, _entries(10))
    _add(journal, [NewEntry("void:P000001", "void", {}), NewEntry("void_x%", "void", {})], fp="v")
    assert [e.key for e in journal.entries(newest=3)] == ["P000009", "void:P000001", "void_x%"]
    assert len(journal.entries()) == 12 and len(journal.entries(kinds=["receipt"])) == 10
    assert [e.key for e in journal.entries(key_prefixes=["void:"])] == ["void:P000001"]
    assert [e.key for e in journal.entries(key_prefixes=["void_x%"])] == ["void_x%"]  # no wildcards
    assert journal.entries(key_prefixes=[]) == [] and journal.entries(states=[]) == []
    assert [e.key for e in journal.entries(keys=["P000003", "nope"])] == ["P000003"]
    assert journal.counts(kinds=["void"]) == {PENDING: 2, IN_FLIGHT: 0, DONE: 0, REJECTED: 0,
                                              "needs_review": 0, REPORTED: 0}
    assert journal.get("nope") is None


def test_watermarks(journal):
    journal.set_watermark("batch:2026-11-20", "B1")
    journal.set_watermark("batch:2026-11-21", "B2")
    journal.set_watermark("batch_x", "not a batch:")
    journal.set_watermark("batch:2026-11-21", "B3")
    assert journal.watermarks("batch:") == {"batch:2026-11-20": "B1", "batch:2026-11-21": "B3"}
    journal.delete_watermark("batch:2026-11-20")
    assert journal.get_watermark("batch:2026-11-20") is None and journal.get_watermark("x", "d") == "d"
    _add(journal, _entries(1), watermarks={"change:A-1:email": "2026-11-21T10:00"})
    assert journal.get_watermark("change:A-1:email") == "2026-11-21T10:00"


# ---- card-data guard ------------------------------------------------------------------------------
@pytest.mark.parametrize("payload", [
    {"memo": "4111111111111111"},
    {"memo": "card 4111-1111-1111-1111 ok"},
    {"x": ["%B4111111111111111^DOE/JOHN^2512101000000000000?"]},
    {"t": ";4111111111111111=25121010000000000000?"},
    {"pan": "411111******1111"},
    {"nested": {"cvv": "123"}},
])
def test_card_data_refused_everywhere(journal, payload):
    with pytest.raises(CardDataError):
        _add(journal, [NewEntry("K", "receipt", payload, line=7)])
    with pytest.raises(CardDataError):
        journal.add_entry(NewEntry("K", "receipt", payload), operator="x")
    _add(journal, [NewEntry("K", "receipt", {"masked_pan": "411111******1111"})])
    [e] = journal.claim("me", ["receipt"])
    with pytest.raises(CardDataError):
        journal.finish(e.key, "me", DONE, payload_update=payload)
    assert journal.get("K").state == IN_FLIGHT and journal.get("K").payload == {"masked_pan": "411111******1111"}


# ---- several processes claiming from one journal never get the same entry -----------------------------
def _claimer(backend, q) -> None:
    j = backend.journal()
    owner = lease_owner_id()
    got = []
    while True:
        batch = j.claim(owner, ["receipt"], limit=3)
        if not batch:
            break
        for e in batch:
            got.append(e.key)
            j.finish(e.key, owner, DONE, remote_ref=owner)
    j.close()
    q.put(got)


def test_concurrent_claims_are_exclusive(backend):
    with backend.journal() as j:
        _add(j, _entries(600))
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_claimer, args=(backend, q)) for _ in range(3)]
    for p in procs:
        p.start()
    results = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    keys = [k for r in results for k in r]
    assert len(keys) == 600 and len(set(keys)) == 600
    with backend.journal() as j:
        assert j.counts()[DONE] == 600


# ---- the audit chain ------------------------------------------------------------------------------------
@pytest.fixture
def audit(backend):
    a = backend.audit()
    for i in range(10):
        a.record("clerk1", "posting.run", f"file-{i}", posted=i, total=Decimal("12.50"))
    yield a
    a.close()


def test_audit_chain_verifies_and_reads(audit):
    r = audit.verify()
    assert r.ok and r.rows == 10
    rows = audit.rows()
    assert rows[0].prev_hash == "0" * 64 and rows[1].prev_hash == rows[0].hash
    assert rows[3].details == {"posted": 3, "total": "12.50"}
    assert [r.seq for r in audit.rows(limit=3)] == [8, 9, 10]
    assert len(audit.rows(action="posting.run", operator="clerk1")) == 10
    assert audit.export_csv().count("\r\n") == 11
    with pytest.raises(CardDataError):
        audit.record("clerk1", "x", note="4111111111111111")


def test_audit_is_append_only(backend, audit):
    for statement in ("UPDATE audit SET operator = 'x' WHERE seq = 2", "DELETE FROM audit WHERE seq = 2"):
        with pytest.raises(backend.errors, match="append-only"):
            backend.sql(statement)
    assert audit.verify().ok


@pytest.mark.parametrize(("statement", "bad_seq", "why"), [
    ("UPDATE audit SET details = '{\"posted\":99}' WHERE seq = 4", 4, "hash"),
    ("DELETE FROM audit WHERE seq = 3", 3, "missing"),
    ("DELETE FROM audit WHERE seq >= 9", 9, "removed"),
])
def test_audit_tampering_named(backend, audit, statement, bad_seq, why):
    backend.sql(statement, bypass_triggers=True)
    r = audit.verify()
    assert not r.ok and r.first_bad_seq == bad_seq and why in r.reason


def _audit_writer(backend, n: int) -> None:
    a = backend.audit()
    for i in range(n):
        a.record(f"pc{os.getpid()}", "counter.payment", str(i))
    a.close()


def test_audit_chain_never_forks_with_concurrent_writers(backend):
    """Three processes appending at once: one chain, every row, verified."""
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_audit_writer, args=(backend, 40)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    a = backend.audit()
    try:
        result = a.verify()
        assert result.ok and result.rows == 120, result
        assert sorted({r.operator for r in a.rows()}) == sorted(f"pc{p.pid}" for p in procs)
    finally:
        a.close()


# ---- the card-read (KSN) memory ---------------------------------------------------------------------------
def test_card_read_memory_is_shared_and_expires(backend):
    now = [1_800_000_000.0]
    window_a, window_b = backend.ksns(days=30, clock=lambda: now[0]), backend.ksns(days=30, clock=lambda: now[0])
    try:
        assert window_a.remember("ffff9876543210e00001", "T1") is None
        earlier = window_b.remember("FFFF9876543210E00001", "T2")  # the same read replayed at another window
        assert earlier is not None and earlier.serial == "T1" and earlier.seen_at == now[0]
        assert window_b.seen("ffff9876543210e00001") is not None and window_a.count() == 1
        now[0] += 31 * 86_400.0
        fresh = backend.ksns(days=30, clock=lambda: now[0])
        try:
            assert fresh.seen("ffff9876543210e00001") is None  # older than the retention: not seen
            assert fresh.remember("ffff9876543210e00001", "T3") is None
        finally:
            fresh.close()
    finally:
        window_a.close()
        window_b.close()


# ---- the lockbox registry (which CloudStore items went out in a file) --------------------------------------
def test_lockbox_registry(backend):
    from console.lockbox.registry import BUILT, SENT, RegisteredFile, RegistryItem

    reg = backend.lockbox_registry()
    try:
        f = RegisteredFile("fpA", "LB0001.txt", "2026-12-07T10:00:00+00:00", "clerk1", "DEMO01", 2, 1, "30.00", BUILT)
        items = [RegistryItem("C1", "P1", 1, 1, "10.00"), RegistryItem("C2", "P2", 1, 2, "20.00")]
        reg.record_build(f, items)
        reg.record_build(f, items)  # a rebuild of identical bytes is a no-op
        assert reg.items("fpA") == items and reg.file("fpA").status == BUILT and not reg.file("fpA").released
        released = reg.mark_released("fpA", status=SENT, operator="clerk1", via="stratus", remote_ref="/lockbox/x")
        assert released.released and released.released_via == "stratus"
        assert reg.mark_released("fpA", status="emailed", operator="x").released_via == "stratus"  # first counts
        found = reg.find(confirmations=["C2", "nope"], payment_ids=["P2", "P1"])
        assert sorted((p.confirmation, p.file.name, p.item) for p in found) == [("C1", "LB0001.txt", 1),
                                                                                ("C2", "LB0001.txt", 2)]
        assert [x.fingerprint for x in reg.files()] == ["fpA"]
        with pytest.raises(KeyError):
            reg.mark_released("nope", status=SENT, operator="x")
        with pytest.raises(ValueError):
            reg.mark_released("fpA", status=BUILT, operator="x")
    finally:
        reg.close()
        if hasattr(reg, "db"):
            reg.db.close()


# ---- cash drawer sessions: two windows, one table -------------------------------------------------------
def test_drawer_sessions_shared_between_windows(backend):
    from console.services.drawer_store import CLOSED, OPEN, DrawerSession, DuplicateOpenDrawer

    window_a, window_b = backend.drawers(), backend.drawers()
    try:
        s = DrawerSession("S1", "cashier1", "PC-1", "2026-12-07T08:00:00+00:00", "2026-12-07", Decimal("150.00"),
                          {"20": 5, "10": 5}, OPEN)
        window_a.insert(s)
        with pytest.raises(DuplicateOpenDrawer):  # one open drawer per operator and workstation, across windows
            window_b.insert(DrawerSession("S2", "cashier1", "PC-1", "2026-12-07T08:01:00+00:00", "2026-12-07",
                                          Decimal("0"), {}, OPEN))
        window_b.insert(DrawerSession("S3", "cashier2", "PC-2", "2026-12-07T08:02:00+00:00", "2026-12-07",
                                      Decimal("100.00"), {}, OPEN))
        assert [x.session_id for x in window_b.all_open()] == ["S1", "S3"]
        assert window_b.get("S1").float_total == Decimal("150.00") and window_b.get("S1").float_count == {"20": 5, "10": 5}
        assert window_b.set_closed("S1", "2026-12-07T17:00:00+00:00", "2026-12-07", {"counted": "812.40"})
        assert not window_a.set_closed("S1", "2026-12-07T17:01:00+00:00", "2026-12-07", {})  # closed once
        assert [x.close for x in window_a.closed_on("2026-12-07")] == [{"counted": "812.40"}]
        assert window_a.set_reopened("S1", {"by": "super1", "reason": "recount"})
        reopened = window_b.get("S1")
        assert reopened.state == OPEN and reopened.history[0]["previous_close"] == {"counted": "812.40"}
        assert window_a.open_for("cashier1", "PC-1")[0].session_id == "S1" and not window_a.get("S1").state == CLOSED
        assert len(window_b.opened_until("2026-12-07")) == 2
    finally:
        for w in (window_a, window_b):
            w.close()
            if hasattr(w, "db"):
                w.db.close()


def test_wrong_pins_counted_for_every_console(backend):
    a, b = backend.journal(), backend.journal()
    try:
        assert a.add_pin_failure("cashier1", 1000.0, path="counter", window_s=300) == 1
        assert b.add_pin_failure("cashier1", 1010.0, path="void", window_s=300) == 2  # another console counts on
        assert b.add_pin_failure("cashier1", 1400.0, path="void", window_s=300) == 1  # older ones dropped
        assert a.pin_failures("cashier1", 0) == [1400.0] and a.pin_failures("other", 0) == []
        assert a.clear_pin_failures("cashier1") == 1 and b.pin_failures("cashier1", 0) == []
    finally:
        a.close()
        b.close()
