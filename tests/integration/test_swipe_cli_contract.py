"""The swipe contract (``../shared/tools/contract-check swipe``: plain ``swipe parse`` of every
public sample, clear tracks and damaged frames refused with exit 2) holds on the sandbox and on
a default production profile, and the real command does read the profile's reader settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.config import Profile, ProfileStore
from console.paths import Paths
from tests.profiles import VALID

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT.parent / "shared" / "tools" / "contract-check"
CLI = Path(sys.executable).with_name("biller-console")

pytestmark = pytest.mark.skipif(not (CHECKER.exists() and CLI.exists()),
                                reason="needs ../shared/tools/contract-check and the installed biller-console")


def _contract(home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "BILLER_CONSOLE_PROFILE"}
    env.update(BC=str(CLI), BILLER_CONSOLE_HOME=str(home))
    return subprocess.run([sys.executable, str(CHECKER), "swipe"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)


def test_contract_passes_on_the_sandbox_profile(console_home):
    result = _contract(console_home)
    assert result.returncode == 0 and "swipe: PASS" in result.stdout, result.stdout + result.stderr


def test_contract_passes_on_a_default_production_profile_and_the_profile_is_read(console_home):
    store = ProfileStore(Paths.default().ensure())
    store.save(Profile("cityhall", values=dict(VALID)), make_default=True)
    result = _contract(console_home)
    assert result.returncode == 0 and "swipe: PASS" in result.stdout, result.stdout + result.stderr
    # a preamble set in that profile is required by the plain command (the samples have none)
    store.save(Profile("cityhall", values={**VALID, "reader_preamble": "\\x02#"}), make_default=True)
    result = _contract(console_home)
    assert result.returncode == 1 and "swipe: FAIL" in result.stdout
    assert "4111111111111111" not in result.stdout
