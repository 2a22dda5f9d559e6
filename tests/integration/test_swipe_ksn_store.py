"""Duplicate-KSN memory on real SQLite files: kept across restarts, retention, pruning, fallback."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from console.devices.capture import BurstDetector, DuplicateSwipe, run_stream, typed
from console.devices.ksn_memory import DAY_S, FILE_NAME, KsnStore, RecentKsns
from tests.swipe_frames import FrameSpec, build_frame


class Clock:
    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_recent_ksns_refuse_a_second_sighting_and_forget_the_oldest():
    mem = RecentKsns(limit=2)
    assert mem.remember("62994900000000a00001", "T1") is None
    earlier = mem.remember("62994900000000A00001", "T2")  # case does not matter
    assert earlier is not None and earlier.serial == "T1"
    mem.remember("K2")
    mem.remember("K3")
    assert mem.seen("62994900000000A00001") is None  # pushed out by the limit


def test_store_refuses_a_kept_ksn_until_the_retention_ends(tmp_path):
    clock = Clock()
    store = KsnStore.in_folder(tmp_path, days=30, clock=clock)
    assert store.path == tmp_path / FILE_NAME
    assert store.remember("62994900000000A00001", "T134000064") is None
    clock.t += 29 * DAY_S
    seen = store.remember("62994900000000A00001")
    assert seen is not None and seen.serial == "T134000064" and seen.seen_at == clock.t - 29 * DAY_S
    store.close()
    clock.t += 2 * DAY_S  # 31 days after: forgotten (and pruned when a store opens)
    again = KsnStore.in_folder(tmp_path, days=30, clock=clock)
    assert again.count() == 0
    assert again.remember("62994900000000A00001") is None
    again.close()


def test_an_expired_row_not_yet_pruned_counts_as_not_seen(tmp_path):
    clock = Clock()
    store = KsnStore.in_folder(tmp_path, days=1, clock=clock)
    store.remember("K1")
    store._recent.clear()  # a restart, without reopening (no prune)
    clock.t += 2 * DAY_S
    store._next_prune = clock.t + 1000
    assert store.seen("K1") is None
    assert store.remember("K1") is None
    assert store.count() == 1  # replaced, with the new time


def test_prune_runs_at_most_hourly_and_drops_only_old_rows(tmp_path):
    clock = Clock()
    store = KsnStore.in_folder(tmp_path, days=1, clock=clock)
    for n in range(5):
        store.remember(f"OLD{n}")
    clock.t += DAY_S + 10
    store.remember("NEW")  # an hour has passed since the last prune: the old rows go
    assert store.count() == 1
    assert store.prune() == 0


def test_only_ksn_serial_and_time_are_stored(tmp_path):
    store = KsnStore.in_folder(tmp_path)
    det = BurstDetector(ksns=store)
    out = run_stream(typed(build_frame(FrameSpec(pan="4111111111111111", name="SMITH/JOHN")) + "\r"), detector=det)
    assert len(out.cards) == 1
    store.close()
    conn = sqlite3.connect(tmp_path / FILE_NAME)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(seen_ksns)")]
    rows = conn.execute("SELECT * FROM seen_ksns").fetchall()
    conn.close()
    assert cols == ["ksn", "serial", "seen_at"]
    assert rows[0][:2] == ("62994900000000A00001", "T134000064")
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(FILE_NAME))
    assert b"1111" not in raw.replace(b"62994900000000A00001", b"") and b"SMITH" not in raw


def test_detector_refuses_a_replay_naming_when_it_was_first_read(tmp_path):
    store = KsnStore.in_folder(tmp_path)
    frame = build_frame(FrameSpec())
    det = BurstDetector(ksns=store)
    out = run_stream(typed(frame + "\r") + typed(frame + "\r", start=5.0), detector=det)
    assert len(out.cards) == 1
    assert isinstance(out.failures[0], DuplicateSwipe)
    assert "already received on " in str(out.failures[0])


def test_a_failing_file_falls_back_to_this_runs_memory(tmp_path, caplog):
    store = KsnStore.in_folder(tmp_path)

    class Broken:
        def execute(self, *a):
            raise sqlite3.OperationalError("disk I/O error")

    store._conn, real = Broken(), store._conn
    store._next_prune = float("inf")
    with caplog.at_level(logging.WARNING):
        assert store.remember("K1") is None  # the swipe is taken
        assert store.remember("K1") is not None  # and still refused twice in this run
    assert "disk I/O error" in store.describe() and store.failed
    assert sum("unavailable" in r.message for r in caplog.records) == 1  # logged once
    store._conn = real
    assert store.remember("K2") is None and store.failed is None
    store.close()


def test_a_newer_schema_is_refused(tmp_path):
    from console.adapters.journal import JournalError

    KsnStore.in_folder(tmp_path).close()
    conn = sqlite3.connect(tmp_path / FILE_NAME)
    conn.execute("UPDATE schema_version SET version = 99 WHERE component = 'reader_ksns'")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError):
        KsnStore.in_folder(tmp_path)
