"""Diagnostics › "Card reader duplicate-swipe memory" on real files: what it reports, that it
adds no read, and how it fails (read-only file or folder, newer schema, damaged file)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import zipfile
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.cli import main
from console.config import sandbox_profile
from console.devices.ksn_memory import DAY_S, FILE_NAME, KsnStore
from console.paths import Paths
from console.sandbox import runner
from console.secrets import MemoryBackend, SecretStore
from console.services import diagnostics as d
from console.services.support_bundle import build_support_bundle
from tests.diagnostics_services import FakeServices
from tests.profiles import SUPPORT_DESK

KSNS = ("FFFF9876543210E00001", "FFFF9876543210E00002", "FFFF9876543210E00003")
OLD_KSN = "FFFF9876543210E0000A"


@pytest.fixture
def paths() -> Paths:
    return Paths.default().ensure()


def _services(paths: Paths, **reader) -> FakeServices:
    profile = sandbox_profile().with_values(**reader) if reader else sandbox_profile()
    return FakeServices(paths, profile, SecretStore(profile.name, backend=MemoryBackend()))


def _check(svc) -> d.Check:
    return d.check_reader_ksns(d._Run(svc, datetime.now(UTC), lambda: d.CaselleProbe(configured=False)))


def _remember(folder: Path, *, days_ago: float = 0.0, ksns=KSNS, serials=("T134000064", "T134000064", "")):
    store = KsnStore.in_folder(folder, days=365, clock=lambda: time.time() - days_ago * DAY_S)
    try:
        for ksn, serial in zip(ksns, serials, strict=False):
            assert store.remember(ksn, serial) is None
    finally:
        store.close()


def _rows(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute("SELECT ksn, serial FROM seen_ksns").fetchall())
    finally:
        conn.close()


def _set_schema_version(path: Path, version: int) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE schema_version SET version = ? WHERE component = 'reader_ksns'", (version,))
    conn.close()


@contextmanager
def read_only(path: Path):
    """``path`` (a folder or a file) really read-only for this process: permissions for a normal
    user; for root (whom permissions do not stop) the immutable attribute, else the test is skipped."""
    if sys.platform == "win32":
        pytest.skip("read-only folders are made with POSIX permissions here")
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root on a file system without chattr +i: no way to make it read-only")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def _assert_cannot_create_in(folder: Path) -> None:
    with pytest.raises(OSError):
        (folder / "probe.tmp").write_bytes(b"x")


# ---- what it reports ---------------------------------------------------------------------

def test_no_file_yet_the_check_creates_an_empty_store_as_the_console_would(paths):
    path = paths.data_dir / FILE_NAME
    check = _check(_services(paths))
    assert (check.key, check.title, check.state) == ("reader_ksns", "Card reader duplicate-swipe memory", d.PASS)
    assert "no card read remembered yet" in check.summary and "30 days" in check.summary
    assert str(path) in check.details and "the file was created by this check" in check.details
    assert path.exists() and _rows(path) == []
    again = _check(_services(paths))
    assert again.state == d.PASS and "the file was created by this check" not in again.details


def test_counts_the_reads_within_the_retention_and_adds_none(paths):
    path = paths.data_dir / FILE_NAME
    _remember(paths.data_dir)
    _remember(paths.data_dir, days_ago=12, ksns=(OLD_KSN,), serials=("T134000099",))
    before = _rows(path)
    assert len(before) == 4

    check = _check(_services(paths))  # 30 days: all four are remembered
    assert check.state == d.PASS, check
    assert "Remembers 4 card reads for 30 days" in check.summary
    assert "retention 30 days" in check.details
    assert any("T134000064: 2" in line and "no serial (keyed): 1" in line and "T134000099: 1" in line
               for line in check.details), check.details
    assert any(line.startswith("oldest remembered read ") for line in check.details)
    assert _rows(path) == before  # nothing added: no read counts as a swipe

    check = _check(_services(paths, reader_ksn_days=10))  # the profile's retention: the 12-day-old read goes
    assert check.state == d.PASS and "Remembers 3 card reads for 10 days" in check.summary
    assert _rows(path) == [r for r in before if r[0] != OLD_KSN]
    # the store still refuses a replay of what it remembers (the check left it usable)
    store = KsnStore.in_folder(paths.data_dir, days=10)
    try:
        assert store.remember(KSNS[0]) is not None
    finally:
        store.close()


def test_the_report_and_the_support_bundle_hold_no_ksn(paths, tmp_path):
    _remember(paths.data_dir)
    svc = _services(paths)
    report = d.run_checks(svc, operator=SUPPORT_DESK, caselle_probe=lambda: d.CaselleProbe(configured=False))
    check = next(c for c in report.checks if c.key == "reader_ksns")
    assert check.state == d.PASS and "Remembers 3" in check.summary
    bundle = build_support_bundle(svc, tmp_path / "bundle.zip", report=report, operator=SUPPORT_DESK)
    with zipfile.ZipFile(bundle) as zf:
        text = "".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())
    assert "Card reader duplicate-swipe memory" in text
    for ksn in KSNS:
        assert ksn not in text and ksn[-10:] not in text


# ---- how it fails --------------------------------------------------------------------------

def test_a_newer_schema_fails_and_names_the_fix_and_the_file_is_left_alone(paths):
    path = paths.data_dir / FILE_NAME
    _remember(paths.data_dir)
    _set_schema_version(path, 7)
    check = _check(_services(paths))
    assert check.state == d.FAIL
    assert "newer version of the console" in check.summary and "version 7" in check.summary
    assert check.hint.startswith("Update this console") and "Do not delete the file" in check.hint
    assert len(_rows(path)) == 3
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version WHERE component = 'reader_ksns'").fetchone() == (7,)
    conn.close()


def test_a_read_only_file_fails_with_the_access_fix(paths):
    path = paths.data_dir / FILE_NAME
    _remember(paths.data_dir)
    with read_only(path):
        with pytest.raises(OSError):
            path.open("r+b")
        check = _check(_services(paths))
    assert check.state == d.FAIL, check
    assert check.summary.startswith(f"Cannot write {FILE_NAME}") and "readonly" in check.summary
    assert "write access" in check.hint and "refused only until the console closes" in check.hint
    assert len(_rows(path)) == 3


@pytest.mark.parametrize("with_file", [True, False], ids=["file", "no-file"])
def test_a_read_only_data_folder_fails_with_the_access_fix(paths, with_file):
    if with_file:
        _remember(paths.data_dir)
    with read_only(paths.data_dir):
        _assert_cannot_create_in(paths.data_dir)
        check = _check(_services(paths))
    assert check.state == d.FAIL, check
    assert check.summary.startswith(f"Cannot write to {paths.data_dir}")
    assert "write access to the data folder" in check.hint
    assert (paths.data_dir / FILE_NAME).exists() == with_file  # nothing made in a folder it cannot use


def test_a_damaged_file_fails_and_says_how_to_start_a_new_one(paths):
    (paths.data_dir / FILE_NAME).write_bytes(b"not a database " * 100)
    check = _check(_services(paths))
    assert check.state == d.FAIL and "is damaged" in check.summary
    assert "rename the file" in check.hint


def test_a_file_held_by_another_writer_warns_and_asks_to_run_again(paths):
    path = paths.data_dir / FILE_NAME
    _remember(paths.data_dir)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")  # another program keeps the write lock past the busy timeout
        check = _check(_services(paths))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert check.state == d.WARN, check
    assert "busy" in check.summary and "locked" in check.summary
    assert check.hint.startswith("Run the checks again")
    assert _check(_services(paths)).state == d.PASS


# ---- as the operator sees it --------------------------------------------------------------

@pytest.fixture
def _stop_sandbox():
    yield
    runner.stop_embedded()


def test_diagnose_command_shows_the_failure_with_its_fix(paths, capsys, _stop_sandbox):
    _remember(paths.data_dir)
    _set_schema_version(paths.data_dir / FILE_NAME, 2)
    assert main(["diagnose"]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "Card reader duplicate-swipe memory" in x)
    assert line.lstrip().startswith("[FAIL]") and "newer version of the console" in line
    assert "fix: Update this console" in out
    assert main(["diagnose", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    check = next(c for c in report["checks"] if c["key"] == "reader_ksns")
    assert check["state"] == "fail" and not any(k in json.dumps(report) for k in KSNS)
