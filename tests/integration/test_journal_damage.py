"""Damage is found: a damaged, truncated or non-SQLite journal, and a full disk, give one clear
line and a non-zero exit from every command — never a traceback — and Diagnostics names it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from console.adapters.journal import NewEntry, SqliteJournal
from console.adapters.sqlite_errors import JournalUnavailable
from console.app import build_services
from console.cli import main
from console.paths import Paths
from console.sandbox import exports
from console.services.diagnostics_journal import check_integrity

COMMANDS = [
    ["post", "{tmp}/payments.csv", "--kind", "payments"],
    ["counter", "today"],
    ["lockbox", "files"],
    ["adjustments", "history"],
    ["journal", "status"],
    ["journal", "backup", "--out", "{tmp}/copy.sqlite3"],
]


def _journal_with_entries(n: int = 300) -> Paths:
    paths = Paths.default().ensure()
    svc = build_services("sandbox")
    for i in range(n):
        svc.journal.add_entry(NewEntry(f"k{i}", "payment", {"amount": f"{i}.00", "note": "x" * 200}), operator="c")
    svc.journal_guard.require_ok()
    svc.close()
    return paths


def _damage(paths: Paths, how: str) -> None:
    path = paths.journal_file
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif how == "not_sqlite":
        path.write_bytes(b"PK\x03\x04 this is a zip file, not a journal" * 200)
    elif how == "damaged_pages":  # the header is fine, the b-tree pages are overwritten
        page = 4096
        path.write_bytes(data[: 2 * page] + bytes([0xA5]) * (len(data) - 3 * page) + data[-page:])


@pytest.mark.parametrize("how", ["truncated", "not_sqlite", "damaged_pages"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_command_on_a_damaged_journal_says_one_line_and_fails(how, command, tmp_path, capsys, cli_as_clerk):
    paths = _journal_with_entries()
    _damage(paths, how)
    if command[0] == "post":  # a valid file: only the journal is wrong
        exports.write_export("payments", tmp_path / "payments.csv", 5, 1)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in command]
    code = main(argv)
    captured = capsys.readouterr()
    assert code != 0
    err_lines = [line for line in captured.err.splitlines() if line.strip()]
    out_lines = [line for line in captured.out.splitlines() if line.strip()]
    text = captured.err + captured.out
    assert "Traceback" not in text and "sqlite3." not in text
    assert "damaged" in text or "not a journal" in text, text
    if command[:2] != ["journal", "status"]:  # the status report lists what it found, with the anchor
        assert len(err_lines) + len(out_lines) == 1, text


def test_no_traceback_from_a_real_process(tmp_path):
    paths = _journal_with_entries(50)
    _damage(paths, "not_sqlite")
    env = {**os.environ, "BILLER_CONSOLE_HOME": str(Paths.default().config_dir.parent)}
    proc = subprocess.run([sys.executable, "-m", "console", "counter", "today"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "damaged or not a journal" in proc.stderr


def test_a_full_disk_is_one_clear_line_and_nothing_half_done(tmp_path, monkeypatch, capsys):
    paths = _journal_with_entries(5)
    journal = SqliteJournal(paths.journal_file)
    pages = journal._conn.execute("PRAGMA page_count").fetchone()[0]
    journal._conn.execute(f"PRAGMA max_page_count = {pages}")  # the database cannot grow: as a full disk
    entries = [NewEntry(f"big{i}", "payment", {"note": "y" * 2000}) for i in range(200)]
    with pytest.raises(JournalUnavailable) as info:
        journal.add_entries(entries, operator="c", fingerprint="f" * 64, file_name="big.csv", file_kind="payments",
                            records=200, total="0")
    assert info.value.kind == "full"
    assert "is full: nothing was half-done" in str(info.value) and "\n" not in str(info.value)
    assert journal.get("big0") is None and journal.file_record("f" * 64) is None  # rolled back whole
    journal.add_entry(NewEntry("small", "payment", {}), operator="c")  # the connection is still usable
    journal.close()

    real_init = SqliteJournal.__init__

    def full_journal(self, path):
        real_init(self, path)
        count = self._conn.execute("PRAGMA page_count").fetchone()[0]
        self._conn.execute(f"PRAGMA max_page_count = {count}")

    monkeypatch.setattr(SqliteJournal, "__init__", full_journal)
    code = main(["adjustments", "history"])  # a read still works on a full disk
    assert code == 0
    capsys.readouterr()


def test_an_unexpected_sqlite_error_escaping_a_command_is_one_line(capsys, monkeypatch):
    import console.cli.counter as counter_cli

    def boom(args):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(counter_cli, "cmd_today", boom)
    code = main(["counter", "today"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "is full" in err and "Traceback" not in err


@pytest.mark.parametrize("thorough", [False, True])
def test_diagnostics_integrity_check_names_the_damaged_file(thorough):
    paths = _journal_with_entries()
    svc = build_services("sandbox")
    run = type("Run", (), {"services": svc, "thorough": thorough})()
    try:
        ok = check_integrity(run)
        assert ok.state == "pass" and ("integrity_check" if thorough else "quick_check") in ok.summary
        _damage(paths, "damaged_pages")
        bad = check_integrity(run)
        assert bad.state == "fail" and "the journal is damaged" in bad.summary and "restore" in bad.hint
    finally:
        svc.close()


def test_diagnose_exits_non_zero_on_a_damaged_journal(capsys):
    paths = _journal_with_entries(20)
    _damage(paths, "truncated")
    code = main(["diagnose"])
    out = capsys.readouterr().out
    assert code == 1 and "Journal integrity (SQLite)" in out and "Traceback" not in out
