"""`biller-console diagnose` against the real embedded sandbox (all green) and a dead production server."""

from __future__ import annotations

import json
import socket
import zipfile

import pytest

from console.cli import main
from console.config import Operator, Profile, ProfileStore, hash_pin
from console.paths import Paths
from console.sandbox import runner


@pytest.fixture(autouse=True)
def _stop_sandbox():
    yield
    runner.stop_embedded()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sandbox_is_all_green(capsys, tmp_path):
    code = main(["diagnose", "--json", "--bundle", str(tmp_path / "b.zip")])
    report = json.loads(capsys.readouterr().out)
    states = {c["key"]: c["state"] for c in report["checks"]}
    assert code == 0, states
    assert set(states.values()) == {"pass"}, states
    auth = next(c for c in report["checks"] if c["key"] == "caselle_auth")
    assert "valid until" in auth["summary"]
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        assert "diagnostics.json" in zf.namelist()


def test_sandbox_on_an_older_api_version_warns_with_the_features_it_lacks(capsys, monkeypatch):
    from console.sandbox.runner import SandboxOptions, ensure_sandbox

    ensure_sandbox(Paths.default(), SandboxOptions(api_version="2021.02.160"))
    code = main(["diagnose", "--json"])
    report = json.loads(capsys.readouterr().out)
    api = next(c for c in report["checks"] if c["key"] == "api_version")
    assert code == 0
    assert api["state"] == "warn"
    assert "ACH rejects: disabled on 2021.02.160 — needs 2021.05" in api["details"]


def test_unreachable_production_server_fails_with_exit_code_1(capsys):
    profile = Profile("cityhall", values={
        "caselle_url": f"https://127.0.0.1:{_closed_port()}/graphql", "caselle_client_id": "abc",
        "caselle_timeout_s": 2, "invoicecloud_biller_id": "CITY01",
        "invoicecloud_api_url": "https://ic.example.com/api", "invoicecloud_gateway_url": "https://gw.example.com",
        "transfer_host": "sftp.example.com", "transfer_user": "city"},
        operators=(Operator("sup", "Sue", "supervisor", hash_pin("4321", iterations=1000)),))
    ProfileStore(Paths.default().ensure()).save(profile)
    code = main(["--profile", "cityhall", "diagnose"])
    out = capsys.readouterr().out
    assert code == 1
    assert "[FAIL] Caselle Connect reachable" in out
    assert "fix: Check the URL, the network" in out


def test_unknown_profile_exits_2(capsys):
    assert main(["--profile", "nope", "diagnose"]) == 2
    assert "No profile named 'nope'" in capsys.readouterr().err
