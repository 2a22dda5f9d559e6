"""Test isolation: every test runs with its own console home, offscreen Qt and an in-memory keyring."""

from __future__ import annotations

import datetime as dt
import os
import sys

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import console.ui  # noqa: E402,F401 - applies the PySide6 6.12 / Python 3.11 None-refcount guard first


@pytest.fixture(autouse=True)
def no_leftover_swipe_capture():
    """A test that opened a reader test or counter tab leaves no app-wide key capture behind."""
    yield
    module = sys.modules.get("console.ui.swipe_capture")
    if module is not None:
        module.SwipeCapture.remove_installed()


@pytest.fixture(autouse=True)
def no_leftover_error_box():
    """An error box a test left open (a failing tab, an unexpected error) must not become the
    active window of the next test and take its keyboard."""
    yield
    module = sys.modules.get("console.ui.errors")
    if module is not None:
        for box in module.find_error_boxes():
            box.close()


@pytest.fixture(autouse=True)
def console_home(tmp_path, monkeypatch):
    """Config, data, logs and cache under a temp folder; never the real user directories."""
    home = tmp_path / "console-home"
    monkeypatch.setenv("BILLER_CONSOLE_HOME", str(home))
    # sending commands run without a terminal here: they confirm as a script does (a test of the
    # refusal removes it: tests/unit/test_confirm.py)
    monkeypatch.setenv("BILLER_CONSOLE_ASSUME_YES", "1")
    return home


@pytest.fixture(autouse=True)
def audit_key_keyring(monkeypatch):
    """One in-memory keyring per test for the audit chain's key, shared by every console the test
    builds (as the OS keyring is), whatever secret backend each one was given."""
    from console.secrets import MemoryBackend, SecretStore
    from console.services import audit_anchor

    store = SecretStore("journal", backend=MemoryBackend())
    monkeypatch.setattr(audit_anchor, "shared_secret_store", lambda secrets: store)
    return store


@pytest.fixture
def cli_as_clerk(monkeypatch):
    """Commands that act run as the sandbox's demo clerk (clerk1, PIN 2222), as an operator would
    set them: ``BILLER_CONSOLE_OPERATOR`` and ``BILLER_CONSOLE_PIN`` (console/cli/acting.py)."""
    monkeypatch.setenv("BILLER_CONSOLE_OPERATOR", "clerk1")
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "2222")
    return "clerk1"


def pytest_addoption(parser):
    parser.addoption("--clock-shift-days", type=int, default=int(os.environ.get("BILLER_TEST_CLOCK_SHIFT_DAYS", "0")),
                     help="run the whole session with the wall clock (date.today, datetime.now, time.time) moved by "
                          "this many days, to prove no test depends on the day it runs (monotonic clocks, OpenSSL "
                          "and subprocesses are not moved); also $BILLER_TEST_CLOCK_SHIFT_DAYS")


def pytest_configure(config):
    """With ``--clock-shift-days N`` the session runs N days away from today, the clock ticking on;
    it starts before any test module is imported, so module-level dates move too."""
    days = config.getoption("--clock-shift-days")
    if days:
        import time_machine

        config._clock_shift = time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=days), tick=True)
        config._clock_shift.start()


def pytest_unconfigure(config):
    shift = getattr(config, "_clock_shift", None)
    if shift is not None:
        shift.stop()


@pytest.fixture(autouse=True)
def no_journal_url_from_outside(monkeypatch):
    """A developer's ``$BILLER_CONSOLE_JOURNAL_URL`` must not point the tests at a real journal."""
    monkeypatch.delenv("BILLER_CONSOLE_JOURNAL_URL", raising=False)


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL cluster for the whole session (tests/pg_cluster.py). Skips with the
    reason when PostgreSQL is not installed — but fails in CI (``$CI`` set), where it must be."""
    from tests.pg_cluster import MISSING, PgCluster, find_bin

    bin_dir = find_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail(MISSING + " (CI must run them: .ci/run installs it)")
        pytest.skip(MISSING)
    cluster = PgCluster(bin_dir).start()
    yield cluster
    cluster.destroy()


@pytest.fixture
def pg_url(pg_cluster):
    """The URL of a fresh, empty database on the session's cluster."""
    return pg_cluster.create_database()
