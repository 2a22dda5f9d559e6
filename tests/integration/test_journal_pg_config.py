"""Choosing the journal: the profile's ``journal_url`` (sqlite or a postgresql:// URL without its
password, which lives in the keyring), ``$BILLER_CONSOLE_JOURNAL_URL`` over it; with a server
journal no journal*.sqlite3 file is made, Diagnostics shows the server, and an unreachable server
stops payments and posting (no fallback to a local journal)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from console import secrets as sec
from console.adapters.journal import NewEntry, SqliteJournal
from console.adapters.journal_pg import PgJournal
from console.adapters.pg import JournalUnavailable, redact_url
from console.adapters.stores_pg import PgAuditLog, PgLockboxRegistry
from console.app import build_services
from console.config import (
    JOURNAL_URL_ENV,
    Profile,
    ProfileStore,
    check_journal_url,
    sandbox_profile,
    validate,
)
from console.errors import UserFacingError
from console.paths import Paths
from console.secrets import MemoryBackend
from console.services import diagnostics as d
from console.services.diagnostics import FAIL, PASS
from tests.profiles import SUPPORT_DESK, VALID

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
UNREACHABLE = "postgresql://console@/office?host=/nonexistent-socket-folder"


@pytest.mark.parametrize("value", ["", "sqlite", "postgresql://console@db.cityhall.local/office_journal",
                                   "postgres://console@db:5433/j?sslmode=require", "postgresql:///j?host=/tmp/x"])
def test_accepted_journal_settings(value):
    assert check_journal_url(value) == (value or "sqlite")


@pytest.mark.parametrize(("value", "rule"), [
    ("postgresql://console:hunter2@db/office", "keyring"),
    ("mysql://db/office", "sqlite or a postgresql://"),
    ("postgresql://console@db", "name the database"),
    ("postgresql://console@db:99999/j", "valid URL"),
])
def test_refused_journal_settings_name_the_rule(value, rule):
    with pytest.raises(ValueError, match=rule):
        check_journal_url(value)
    problems = validate(sandbox_profile().with_values(journal_url=value))
    assert [p.column for p in problems] == ["journal_url"] and rule in problems[0].message


def test_redacted_urls_never_show_the_password():
    assert redact_url("postgresql://u:secret@db:5432/j") == "postgresql://u:***@db:5432/j"
    assert redact_url("postgresql://u@db/j") == "postgresql://u@db/j"


def test_sqlite_by_default():
    services = build_services("sandbox", secret_backend=MemoryBackend())
    try:
        assert services.journal_url == "sqlite" and not services.journal_is_server
        assert isinstance(services.journal, SqliteJournal) and services.journal_db is None
        assert services.journal.path == services.paths.journal_file
    finally:
        services.close()


def test_the_profile_names_the_server_password_from_the_keyring(pg_url, monkeypatch):
    paths = Paths.default().ensure()
    ProfileStore(paths).save(Profile("cityhall", values={**VALID, "journal_url": pg_url}))
    backend = MemoryBackend()
    build_services("cityhall", secret_backend=backend).secrets.set(sec.JOURNAL_PASSWORD, "pg-pass-1")
    services = build_services("cityhall", secret_backend=backend)
    try:
        assert services.journal_is_server and services.journal_url == pg_url
        assert isinstance(services.journal, PgJournal) and isinstance(services.audit, PgAuditLog)
        assert isinstance(services.lockbox_registry, PgLockboxRegistry)
        assert services.journal_db._kwargs["password"] == "pg-pass-1"  # from the keyring, not the URL
        assert "pg-pass-1" in services.secrets.known_values()  # so the log filter redacts it
    finally:
        services.close()
    monkeypatch.setenv(JOURNAL_URL_ENV, "sqlite")  # the variable wins over the profile
    services = build_services("cityhall", secret_backend=backend)
    try:
        assert isinstance(services.journal, SqliteJournal)
    finally:
        services.close()


def test_with_a_server_journal_no_local_journal_file_is_made(pg_url, monkeypatch):
    monkeypatch.setenv(JOURNAL_URL_ENV, pg_url)
    services = build_services("sandbox", secret_backend=MemoryBackend())
    try:
        services.journal.add_entry(NewEntry("manual_void:5.1", "manual_void", {"receipt": "5.1"}), operator="super1")
        services.audit.record("super1", "receipt.void", "5.1", amount=Decimal("12.50"))
        assert services.lockbox_registry.files() == []
        assert services.drawers.store is services.drawer_store and services.drawer_store.all_open() == []
        assert services.posting.pending_count() >= 0
        assert services.journal.get("manual_void:5.1").operator == "super1"
        assert services.audit.verify().ok
    finally:
        services.close()
    data = services.paths.data_dir
    assert not list(data.rglob("journal*.sqlite3*")) and not list(data.rglob("reader_ksns*"))


def test_unreachable_server_refuses_payments_and_posting_without_fallback(monkeypatch):
    monkeypatch.setenv(JOURNAL_URL_ENV, UNREACHABLE)
    services = build_services("sandbox", secret_backend=MemoryBackend())
    try:
        for name in ("journal", "posting", "counter", "audit"):
            with pytest.raises(JournalUnavailable, match="cannot be reached") as err:
                getattr(services, name)
            assert isinstance(err.value, UserFacingError) and "never falls back" in str(err.value)
    finally:
        services.close()
    assert not services.paths.journal_file.exists()


def test_cli_post_refuses_when_the_server_is_unreachable(tmp_path):
    f = tmp_path / "payments.csv"
    from console.sandbox import exports

    exports.write_export("payments", f, 5, 3)
    env = dict(os.environ, BILLER_CONSOLE_OPERATOR="clerk1", BILLER_CONSOLE_PIN="2222",
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    env[JOURNAL_URL_ENV] = UNREACHABLE
    done = subprocess.run([sys.executable, "-m", "console", "post", str(f), "--kind", "payments", "--json"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done  # refused before anything is read or sent (acting as the operator needs it)
    said = done.stdout + done.stderr
    assert "cannot be reached" in said and "never falls back" in said and "Traceback" not in said
    assert not Paths.default().journal_file.exists()


def _checks(services) -> dict[str, d.Check]:
    probe = d.CaselleProbe(url="https://caselle.example.gov/graphql", reachable=True, auth_ok=True,
                           api_version="2021.05", server_date=NOW, latency_ms=5)
    report = d.run_checks(services, operator=SUPPORT_DESK, now=NOW, caselle_probe=lambda: probe)
    return {c.key: c for c in report.checks}


def test_diagnostics_shows_the_server_version_latency_and_schema(pg_url, monkeypatch):
    monkeypatch.setenv(JOURNAL_URL_ENV, pg_url)
    services = build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    try:
        checks = _checks(services)
    finally:
        services.close()
    journal = checks["journal"]
    assert journal.state == PASS and journal.summary.startswith("PostgreSQL ") and "journal schema v1" in journal.summary
    assert any(x.startswith("server PostgreSQL ") for x in journal.details)
    assert any(x.startswith("latency ") and x.endswith(" ms") for x in journal.details)
    assert any("journal v1" in x for x in journal.details)
    assert checks["reader_ksns"].state == PASS and "journal server" in checks["reader_ksns"].summary
    assert checks["audit"].state == PASS


def test_diagnostics_fails_clearly_when_the_server_is_unreachable(monkeypatch):
    monkeypatch.setenv(JOURNAL_URL_ENV, UNREACHABLE)
    services = build_services("sandbox", secret_backend=MemoryBackend(), endpoints={"caselle_url": ""})
    try:
        checks = _checks(services)
    finally:
        services.close()
    journal = checks["journal"]
    assert journal.state == FAIL and "unreachable" in journal.summary
    assert "takes and posts no payment" in journal.hint and "never falls back" in journal.hint
    assert checks["reader_ksns"].state == FAIL


def test_two_windows_share_the_card_read_memory(pg_url, monkeypatch):
    monkeypatch.setenv(JOURNAL_URL_ENV, pg_url)
    window_a = build_services("sandbox", secret_backend=MemoryBackend())
    window_b = build_services("sandbox", secret_backend=MemoryBackend())
    try:
        assert window_a.shared_ksn_store(30).remember("FFFF9876543210E00042", "T1") is None
        assert window_b.shared_ksn_store(30).remember("FFFF9876543210E00042", "T2").serial == "T1"
    finally:
        window_a.close()
        window_b.close()
