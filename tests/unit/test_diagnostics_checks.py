"""Diagnostics checks: each state with its hint, from fake services and a recorded probe (no sockets)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from console.config import Operator, hash_pin, sandbox_profile
from console.config import Profile as P
from console.errors import AuthError, NetworkError
from console.formatting import format_date
from console.paths import Paths
from console.secrets import MemoryBackend, SecretStore
from console.services import diagnostics as d
from tests.diagnostics_services import FakeServices
from tests.profiles import SUPPORT_DESK, VALID

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def production(**values) -> P:
    base = {**VALID, "biller_minimum_payment": Decimal("1.00"), **values}
    return P("cityhall", values=base, operators=(Operator("boss", "Boss", "supervisor", hash_pin("2468", iterations=1000)),))


@pytest.fixture
def paths():
    return Paths.default().ensure()


def services(paths, profile=None, secure=True):
    profile = profile or production()
    store = SecretStore(profile.name, backend=MemoryBackend())
    if not secure:
        store._backend = None  # what SecretStore holds when no secure keyring exists
    return FakeServices(paths, profile, store, {"caselle_url": profile.get("caselle_url")})


def probe(**kw) -> d.CaselleProbe:
    base = dict(url="https://caselle.example.gov/graphql", reachable=True, auth_ok=True, api_version="2021.05",
                server_date=NOW, token_expires=NOW + timedelta(days=150), latency_ms=12)
    base.update(kw)
    return d.CaselleProbe(**base)


def run(svc, **probe_kw) -> dict[str, d.Check]:
    report = d.run_checks(svc, operator=SUPPORT_DESK, now=NOW, caselle_probe=lambda: probe(**probe_kw))
    return {c.key: c for c in report.checks}


def fill_secrets(svc):
    for name, _label in d.required_secrets(svc.profile):
        svc.secrets.set(name, "s3cr3t-" + name)


def test_healthy_production_profile_is_all_green(paths):
    svc = services(paths)
    fill_secrets(svc)
    checks = run(svc)
    assert {k: c.state for k, c in checks.items() if c.state != d.PASS} == {}
    assert format_date(date(2026, 7, 29)) in checks["caselle_auth"].summary  # one local date format


def test_invalid_profile_fails_with_the_settings_hint(paths):
    checks = run(services(paths, production(caselle_url="ftp://nope", invoicecloud_biller_id="")))
    c = checks["profile"]
    assert c.state == d.FAIL and "Settings" in c.hint
    assert any("Caselle Connect URL" in x for x in c.details)
    assert any("Biller ID is required" in x for x in c.details)


def test_memory_only_keyring_warns_in_production_not_in_training(paths):
    checks = run(services(paths, secure=False))
    assert checks["keyring"].state == d.WARN and "keyring" in checks["keyring"].hint.lower()
    store = SecretStore("sandbox", backend=MemoryBackend())
    store._backend = None
    sandbox = FakeServices(paths, sandbox_profile(), store, {})
    assert run(sandbox)["keyring"].state == d.PASS


def test_missing_credentials_fail_and_are_named(paths):
    svc = services(paths)
    c = run(svc)["secrets"]
    assert c.state == d.FAIL
    assert "Caselle OAuth token" in c.details and "Invoice Cloud web-service key" in c.details
    assert "Transfer (SFTP/FTP) password" in c.details


@pytest.mark.parametrize("days, state", [(150, d.PASS), (29, d.WARN), (1, d.WARN), (-1, d.FAIL)])
def test_token_expiry_is_warned_ahead(paths, days, state):
    c = run(services(paths), token_expires=NOW + timedelta(days=days, hours=1))["caselle_auth"]
    assert c.state == state
    if state != d.PASS:
        assert "token" in c.hint.lower()


def test_non_expiring_token_passes(paths):
    assert run(services(paths), token_expires=None)["caselle_auth"].state == d.PASS


def test_refused_credentials_fail(paths):
    c = run(services(paths), auth_ok=False, error=AuthError("token expired", system="Caselle"))["caselle_auth"]
    assert c.state == d.FAIL and "new token" in c.hint


def test_unreachable_caselle_fails_with_a_network_hint(paths):
    checks = run(services(paths), reachable=False, auth_ok=None,
                 error=NetworkError("connection refused", system="Caselle"))
    assert checks["caselle_reachable"].state == d.FAIL
    assert "network" in checks["caselle_reachable"].hint
    assert checks["caselle_auth"].state == d.WARN  # not checked rather than a second failure


def test_older_api_version_disables_features_with_an_explanation(paths):
    svc = services(paths, production(caselle_api_version="2021.02.160"))
    c = run(svc, api_version="2021.02.160")["api_version"]
    assert c.state == d.WARN
    assert "ACH rejects: disabled on 2021.02.160 — needs 2021.05" in c.details
    assert any(x.startswith("Receipts (create_receipt): enabled") for x in c.details)


def test_server_older_than_the_profile_warns_and_names_what_is_disabled(paths):
    c = run(services(paths), api_version="2021.02.160", features=None)["api_version"]
    assert c.state == d.WARN and "2021.02.160" in c.hint
    assert "ACH rejects" in c.summary


def test_server_reported_features_win_over_the_version_table(paths):
    svc = services(paths, production(caselle_api_version="2021.02.160"))
    c = run(svc, api_version="2021.02.160", features=frozenset({"create_receipt", "void_receipt"}))["api_version"]
    assert c.state == d.WARN
    assert "Adjustments: disabled on 2021.02.160 — needs 2021.02.160" in c.details


def test_a_version_older_than_supported_fails(paths):
    svc = services(paths, production(caselle_api_version="2021.02.160"))
    assert run(svc, api_version="2020.01")["api_version"].state == d.FAIL


def test_features_for_versions():
    new = {name: ok for name, ok, _ in d.features_for("2021.05")}
    old = {name: ok for name, ok, _ in d.features_for("2021.02.160")}
    assert all(new.values())
    assert old["ACH rejects"] is False and old["Receipts (create_receipt)"] is True
    assert d.version_key("2021.05") > d.version_key("2021.02.160")


@pytest.mark.parametrize("skew_s, state", [(5, d.PASS), (-90, d.WARN), (600, d.FAIL)])
def test_clock_is_compared_with_the_server(paths, skew_s, state):
    c = run(services(paths), server_date=NOW - timedelta(seconds=skew_s))["clock"]
    assert c.state == state
    if state != d.PASS:
        assert ("ahead of" if skew_s > 0 else "behind") in c.summary


def test_clock_without_server_date_warns_in_production(paths):
    assert run(services(paths), server_date=None)["clock"].state == d.WARN


def test_journal_location_not_writable_fails(paths, monkeypatch):
    monkeypatch.setattr(d, "_writable", lambda folder: "PermissionError: denied")
    checks = run(services(paths))
    assert checks["journal"].state == d.FAIL and "write access" in checks["journal"].hint
    assert checks["logs"].state == d.WARN


def test_low_disk_space(paths, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 10**8, 10**8))
    assert run(services(paths))["disk"].state == d.FAIL


def test_a_crashing_check_is_reported_not_raised(paths, monkeypatch):
    def boom(_run):
        raise RuntimeError("kaput")

    monkeypatch.setattr(d, "CHECKS", (("Disk space", boom), *d.CHECKS[1:]))
    report = d.run_checks(services(paths), operator=SUPPORT_DESK, now=NOW, caselle_probe=probe)
    assert report.checks[0].state == d.FAIL and "kaput" in report.checks[0].summary
    assert len(report.checks) == len(d.CHECKS) - 2  # no transfer service and no audit log here


def test_report_json_and_overall(paths):
    report = d.run_checks(services(paths), operator=SUPPORT_DESK, now=NOW, caselle_probe=probe)
    data = json.loads(json.dumps(report.as_dict(), default=str))
    assert data["overall"] == d.FAIL and report.failed  # credentials are missing
    assert data["counts"]["fail"] >= 1
    assert {c["key"] for c in data["checks"]} >= {"profile", "keyring", "caselle_auth", "clock", "journal"}


def test_cancel_stops_the_run(paths):
    import threading

    from console.errors import Cancelled

    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        d.run_checks(services(paths), operator=SUPPORT_DESK, now=NOW, caselle_probe=probe, cancel=ev)


def test_connection_status_summary(paths, monkeypatch):
    svc = services(paths)
    monkeypatch.setattr(d, "probe_caselle", lambda s: probe(token_expires=NOW + timedelta(days=10)))
    st = d.connection_status(svc, now=NOW)
    assert st.ok and st.api_version == "2021.05" and "10 day" in st.token_warning
    monkeypatch.setattr(d, "probe_caselle", lambda s: probe(reachable=False, error=NetworkError("down")))
    assert d.connection_status(svc, now=NOW).state == "unreachable"
    monkeypatch.setattr(d, "probe_caselle", lambda s: d.CaselleProbe(configured=False))
    assert d.connection_status(svc, now=NOW).state == "not configured"


class _FakeClient:
    def __init__(self, info=None, exc=None, expires=None):
        self.info, self.exc, self.token_expires_at = info, exc, expires

    def api_info(self):
        if self.exc:
            raise self.exc
        return self.info


def _with_client(paths, client):
    @dataclass
    class WithCaselle(FakeServices):
        @property
        def caselle(self):
            return client

    svc = services(paths)
    return WithCaselle(svc.paths, svc.profile, svc.secrets, svc.endpoints)


def test_probe_reads_version_features_time_and_token_from_the_client(paths):
    expires = NOW + timedelta(days=100)
    client = _FakeClient({"version": "2021.02.160", "features": ["create_receipt"], "serverTime": "2026-03-01T12:00:05Z",
                          "tokenExpiresAt": None, "sandbox": False}, expires=expires)
    p = d.probe_caselle(_with_client(paths, client))
    assert p.reachable and p.auth_ok and p.error is None
    assert p.api_version == "2021.02.160" and p.features == frozenset({"create_receipt"})
    assert p.server_date == NOW + timedelta(seconds=5) and p.token_expires == expires


def test_probe_maps_network_errors_to_unreachable(paths):
    p = d.probe_caselle(_with_client(paths, _FakeClient(exc=NetworkError("refused", system="Caselle"))))
    assert not p.reachable and isinstance(p.error, NetworkError)


def test_probe_never_raises(paths):
    p = d.probe_caselle(_with_client(paths, _FakeClient(exc=KeyError("bug"))))
    assert not p.reachable and isinstance(p.error, KeyError)


@dataclass(frozen=True)
class _Folder:
    kind: str
    folder: str
    exists: bool
    awaiting_pickup: int = 0
    delivered: int = 0
    temporary: int = 0
    error: str = ""


@dataclass(frozen=True)
class _TransferReport:
    state: str
    destination: str = "sftp://city@sftp.example.com:22"
    protocol: str = "sftp"
    insecure: bool = False
    fingerprint: str = "SHA256:abc"
    folders: tuple = ()
    message: str = ""
    hint: str = ""


def _with_transfer(paths, report):
    class _Transfer:
        def test_connection(self):
            return report

    svc = services(paths)
    svc.overrides = {"transfer": True}
    svc.transfer = _Transfer()
    return svc


@pytest.mark.parametrize("report, state", [
    (_TransferReport("connected", folders=(_Folder("invoices", "/invoices", True, 2, 5),), message="Signed in"), d.PASS),
    (_TransferReport("connected", folders=(_Folder("bills", "/bills", False, error="no such folder"),),
                     message="Signed in; missing"), d.WARN),
    (_TransferReport("host key unknown", message="Unknown host key"), d.WARN),
    (_TransferReport("host key changed", message="The host key CHANGED"), d.FAIL),
    (_TransferReport("auth failed", message="Password refused"), d.FAIL),
    (_TransferReport("unreachable", message="Connection refused"), d.FAIL),
])
def test_transfer_server_check(paths, report, state):
    c = run(_with_transfer(paths, report))["transfer"]
    assert c.state == state
    if state != d.PASS:
        assert c.hint
    assert any("fingerprint" in x or "SHA256" in x for x in c.details)


def test_transfer_check_is_left_out_without_a_transfer_service(paths):
    assert "transfer" not in run(services(paths))


def _status(findings=(), anchor="Audit anchor: 9 entries, head 9f3a1c2b…"):
    from console.services.journal_guard import GuardStatus

    return GuardStatus(tuple(findings), "in the OS keyring", anchor, "journal 1234abcd… with 40 entries")


def _with_journal_and_audit(paths, counts, status):
    class _Journal:
        def counts(self):
            return counts

    class _Guard:
        def check(self):
            return status

    @dataclass
    class Full(FakeServices):
        @property
        def journal(self):
            return _Journal()

        @property
        def journal_guard(self):
            return _Guard()

    svc = services(paths)
    paths.journal_file.write_bytes(b"x")
    return Full(svc.paths, svc.profile, svc.secrets, svc.endpoints)


def test_postings_needing_review_are_a_warning_with_a_hint(paths):
    checks = run(_with_journal_and_audit(paths, {"pending": 3, "needs_review": 2, "done": 40}, _status()))
    assert checks["journal"].state == d.WARN and "2 postings need review" in checks["journal"].summary
    assert "Posting tab" in checks["journal"].hint
    assert checks["audit"].state == d.PASS and "9 entries" in checks["audit"].summary


def test_a_tampered_audit_log_fails(paths):
    found = "audit log tampered at row 4: content does not match its hash"
    checks = run(_with_journal_and_audit(paths, {"done": 1}, _status([found])))
    assert checks["journal"].state == d.PASS
    c = checks["audit"]
    assert c.state == d.FAIL and "row 4" in c.summary and "stopped" in c.hint and found in c.details


def test_audit_check_is_left_out_without_an_audit_log(paths):
    assert "audit" not in run(services(paths))


def test_a_profile_without_a_supervisor_warns(paths):
    bare = P("cityhall", values=production().values)
    check = d.check_profile(d._Run(services(paths, bare), NOW, lambda: probe()))
    assert check.state == d.WARN and "supervisor" in check.summary
