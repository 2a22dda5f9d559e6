"""The sandbox runner: parts, ports, running.json, the embedded fallback and persistence."""

from __future__ import annotations

import datetime as dt
import os
import socket
from decimal import Decimal

import pytest
import requests

from console.adapters.caselle import CaselleClient, request_token
from console.paths import Paths
from console.sandbox import runner
from console.sandbox.caselle_server import DB_NAME, report


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _stop_embedded():
    yield
    runner.stop_embedded()


def test_missing_parts_are_skipped_and_caselle_runs(tmp_path):
    parts = ["console.sandbox.caselle_server", "console.sandbox.not_built_yet"]
    with runner.Sandbox(data_dir=tmp_path, parts=parts) as sb:
        assert "console.sandbox.not_built_yet" in sb.skipped
        e = sb.endpoints()
        assert e["urls"]["caselle_url"].startswith("http://127.0.0.1:")
        assert e["info"]["caselle_client_id"] == "sandbox-client"
        assert requests.get(e["urls"]["caselle_url"].replace("/graphql", "/health"), timeout=2).ok
    with pytest.raises(requests.ConnectionError):
        requests.get(e["urls"]["caselle_url"], timeout=2)


def test_fixed_port_goes_to_caselle_and_options_reach_the_server(tmp_path):
    port = free_port()
    options = runner.SandboxOptions(port=port, api_version="2021.02.160", latency_ms=5, seed=1)
    with runner.Sandbox(options, data_dir=tmp_path, parts=["console.sandbox.caselle_server"]) as sb:
        part = sb.part("caselle")
        assert part.urls["caselle_url"] == f"http://127.0.0.1:{port}/graphql"
        assert part.handle.api_version == "2021.02.160" and part.handle.faults.latency_ms == 5
    ctx = runner.SandboxContext(tmp_path, runner.SandboxOptions(port=7000))
    assert [ctx.port_for(i) for i in range(3)] == [7000, 7001, 7002]
    assert runner.SandboxContext(tmp_path).port_for(2) == 0


def test_state_persists_between_runs(tmp_path):
    parts = ["console.sandbox.caselle_server"]
    with runner.Sandbox(data_dir=tmp_path, parts=parts) as sb:
        server = sb.part("caselle").handle
        with CaselleClient(server.url, server.issue_token()[0]) as c:
            c.open_batch(dt.date(2026, 11, 20))
            c.create_receipt(reference="KEEP-1", account_number="100102-01", amount=Decimal("7.25"),
                             tender="CASH", receipt_date=dt.date(2026, 11, 20))
        token = request_token(server.token_url, "sandbox-client", "sandbox-secret")
    with runner.Sandbox(data_dir=tmp_path, parts=parts) as sb:
        server = sb.part("caselle").handle
        with CaselleClient(server.url, token) as c:  # tokens survive a restart too
            assert c.find_receipt("KEEP-1").amount == Decimal("7.25")
    data = report(tmp_path / DB_NAME)
    assert (data["receipts"], data["total"]) == (1, "7.25")


def test_ensure_sandbox_embeds_one_per_process_and_stops_it():
    paths = Paths.default()
    first = runner.ensure_sandbox(paths)
    assert first.embedded and first.pid == os.getpid()
    assert runner.ensure_sandbox(paths) is first
    d = first.as_dict()
    assert d["caselle_url"] == first.urls["caselle_url"] and d["caselle_client_secret"] == "sandbox-secret"
    assert requests.get(d["caselle_url"].replace("/graphql", "/health"), timeout=2).ok
    runner.stop_embedded()
    with pytest.raises(requests.ConnectionError):
        requests.get(d["caselle_url"], timeout=2)


def test_ensure_sandbox_uses_a_running_one_and_ignores_stale_state(tmp_path):
    paths = Paths.default()
    data_dir = paths.sandbox_dir
    with runner.Sandbox(data_dir=tmp_path, parts=["console.sandbox.caselle_server"]) as sb:
        live = sb.as_endpoints(embedded=False)
        runner.write_state(data_dir, live)  # this process plays the foreground sandbox
        found = runner.ensure_sandbox(paths)
        assert not found.embedded and found.urls == live.urls
    # port no longer answers -> a new embedded sandbox
    found = runner.ensure_sandbox(paths)
    assert found.embedded and found.urls != live.urls
    runner.stop_embedded()
    # dead pid -> ignored
    dead = runner.SandboxEndpoints({"caselle_url": found.urls["caselle_url"]}, {}, pid=2 ** 22 + 12345,
                                   embedded=False)
    runner.write_state(data_dir, dead)
    assert runner.running_sandbox(data_dir) is None
    runner.remove_state(data_dir, pid=1)  # not the owner: kept
    assert runner.state_file(data_dir).exists()
    runner.remove_state(data_dir, pid=dead.pid)
    assert not runner.state_file(data_dir).exists()


def test_token_lifetime_option_issues_expired_tokens(tmp_path):
    from console.errors import AuthError

    options = runner.SandboxOptions(token_lifetime_s=-5)
    with runner.Sandbox(options, data_dir=tmp_path, parts=["console.sandbox.caselle_server"]) as sb:
        e = sb.endpoints()
        token = request_token(e["urls"]["caselle_token_url"], e["info"]["caselle_client_id"],
                              e["info"]["caselle_client_secret"])
        assert token.expired()
        with CaselleClient(e["urls"]["caselle_url"], token) as c, pytest.raises(AuthError):
            c.find_receipt("x")
        assert requests.get(e["urls"]["caselle_url"], timeout=2).status_code == 405


def test_a_part_that_fails_to_start_is_reported_not_fatal_unless_strict(tmp_path, monkeypatch):
    import sys
    import types

    broken = types.ModuleType("broken_part_for_test")

    def start(ctx):
        raise OSError("port taken")

    broken.start = start
    monkeypatch.setitem(sys.modules, "broken_part_for_test", broken)
    parts = ["broken_part_for_test", "console.sandbox.caselle_server"]
    with runner.Sandbox(data_dir=tmp_path, parts=parts) as sb:
        assert "port taken" in sb.failed["broken_part_for_test"]
        assert [p.name for p in sb.running] == ["caselle"]
        assert "port taken" in sb.as_endpoints(embedded=True).as_dict()["sandbox_failed_parts"]["broken_part_for_test"]
    strict = runner.Sandbox(data_dir=tmp_path, parts=list(reversed(parts)), strict=True)
    with pytest.raises(OSError):
        strict.start()
    assert strict.running == [], "what had started was stopped again"


def test_cli_exits_1_when_its_port_is_taken(capsys):
    from console.cli import main

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        assert main(["sandbox", "--port", str(port)]) == 1
    assert "cannot start" in capsys.readouterr().err
    assert not runner.state_file(Paths.default().sandbox_dir).exists()
