"""The swipe contract (the shared ``contract-check swipe``, ported to ``tests/contracts.py``:
plain ``swipe parse`` of every public sample, clear tracks and damaged frames refused with
exit 2) holds on the sandbox and on a default production profile, and the real command does
read the profile's reader settings. The invoices contract holds on the copied samples too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.config import Profile, ProfileStore
from console.paths import Paths
from tests.contracts import TEST_PAN, invoices_failures, swipe_failures
from tests.profiles import VALID

CLI = Path(sys.executable).with_name("biller-console")

pytestmark = pytest.mark.skipif(not CLI.exists(), reason="needs the installed biller-console")


def _runner(home: Path):
    env = {k: v for k, v in os.environ.items() if k != "BILLER_CONSOLE_PROFILE"}
    env.update(BILLER_CONSOLE_HOME=str(home), BILLER_CONSOLE_OPERATOR="super1", BILLER_CONSOLE_PIN="9999",
               BILLER_CONSOLE_ASSUME_YES="1")

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(CLI), *args], input=stdin, capture_output=True, text=True, timeout=120, env=env)

    return run


def test_contract_passes_on_the_sandbox_profile(console_home):
    assert swipe_failures(_runner(console_home)) == []


def test_contract_passes_on_a_default_production_profile_and_the_profile_is_read(console_home):
    store = ProfileStore(Paths.default().ensure())
    store.save(Profile("cityhall", values=dict(VALID)), make_default=True)
    assert swipe_failures(_runner(console_home)) == []
    # a preamble set in that profile is required by the plain command (the samples have none)
    store.save(Profile("cityhall", values={**VALID, "reader_preamble": "\\x02#"}), make_default=True)
    fails = swipe_failures(_runner(console_home))
    assert fails and all(not f.startswith(("clear tracks", "first char", "last chars")) for f in fails)
    assert TEST_PAN not in "".join(fails)


def test_invoices_contract_on_the_copied_samples(console_home):
    assert invoices_failures(_runner(console_home)) == []
