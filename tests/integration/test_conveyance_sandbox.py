"""Conveyance end to end against the real sandbox: an AutoPay account conveyed in its Caselle has its
AutoPay, paperless and registration released in its Invoice Cloud once; a second sync sends nothing;
a conveyance whose old account has an unposted payment waits for review; the CLI's JSON contract."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from console.adapters.journal import DONE, NEEDS_REVIEW, NewEntry
from console.app import build_services
from console.paths import Paths
from console.sandbox import ic_balances
from console.sandbox.caselle_conveyance import convey
from console.sandbox.runner import Sandbox, SandboxOptions, remove_state, write_state
from console.sandbox.seed import demo_customers
from console.secrets import MemoryBackend
from console.services.conveyance import KIND
from console.services.posting import RECEIPT

PARTS = ["console.sandbox.caselle_server", "console.sandbox.invoicecloud_server"]
UNKNOWN = set(ic_balances.not_registered_accounts())


def _enrolled(autopay: bool, n: int = 1) -> list[str]:
    return [c.account_number for c in demo_customers() if c.status == "ACTIVE" and c.autopay == autopay
            and c.account_number not in UNKNOWN][:n]


@pytest.fixture
def sandbox():
    paths = Paths.default().ensure()
    sb = Sandbox(SandboxOptions(seed=11), data_dir=paths.sandbox_dir, parts=PARTS).start()
    write_state(paths.sandbox_dir, sb.as_endpoints(embedded=False))
    yield sb, paths
    remove_state(paths.sandbox_dir)
    sb.stop()


def _services(paths: Paths):
    return build_services("sandbox", paths=paths, secret_backend=MemoryBackend(), operator_id="clerk1")


def _sends(paths: Paths) -> dict[str, int]:
    db = sqlite3.connect(paths.sandbox_dir / ic_balances.DB_NAME)
    try:
        return dict(db.execute("SELECT idempotency_key, sends FROM ic_conveyances"))
    finally:
        db.close()


def test_autopay_account_conveyed_is_released_once_and_a_second_sync_sends_nothing(sandbox):
    sb, paths = sandbox
    services = _services(paths)
    ic = services.conveyances.invoicecloud
    old = _enrolled(True)[0]
    assert ic.registration(old)["autopay"] is True
    first_sync = services.conveyances.sync(operator="clerk1")
    assert first_sync.found == 0 and not first_sync.outcomes  # the seed has no conveyances
    new = convey(sb.part("caselle").handle.store, old, "Robin New-Owner", "tester")["account_number"]
    assert new.split("-")[0] == old.split("-")[0] and new != old
    dry = services.conveyances.sync(dry_run=True)
    assert dry.found == 1 and [c.old_account for c in dry.pending] == [old] and dry.pending[0].autopay
    assert ic.registration(old)["autopay"] is True  # a dry run sends nothing
    result = services.conveyances.sync(operator="clerk1")
    assert result.complete and result.found == 1 and dict(result.outcomes) == {"sent": 1}
    assert [(c.old_account, c.new_account, c.new_owner) for c in result.done] == [(old, new, "Robin New-Owner")]
    assert "autopay" in result.done[0].detail
    reg = ic.registration(old)
    assert (reg["autopay"], reg["paperless"], reg["registered"], reg["final_bill"]) == (False, False, False, True)
    assert _sends(paths) == {f"conveyance:{old}": 1}
    again = services.conveyances.sync(operator="clerk1")
    assert again.found == 0 and not again.outcomes and again.complete
    assert _sends(paths) == {f"conveyance:{old}": 1}
    services.close()


def test_a_conveyance_with_an_unposted_payment_waits_for_review_then_is_released(sandbox):
    sb, paths = sandbox
    services = _services(paths)
    old, other = _enrolled(True, 2)
    services.journal.add_entry(NewEntry("payment:P-1", RECEIPT, {"payment_id": "P-1", "account": old,
                                                                  "amount": "20.00"}), operator="clerk1")
    store = sb.part("caselle").handle.store
    convey(store, old, "Kim Buyer", "tester")
    convey(store, other, "Lee Buyer", "tester")
    result = services.conveyances.sync(operator="clerk1")
    assert dict(result.outcomes) == {"sent": 1} and not result.complete
    assert [c.old_account for c in result.review] == [old] and "payment:P-1" in result.review[0].detail
    assert services.conveyances.invoicecloud.registration(old)["autopay"] is True  # not sent
    assert services.journal.get(f"conveyance:{old}").state == NEEDS_REVIEW
    again = services.conveyances.sync(operator="clerk1")
    assert again.found == 0 and not again.outcomes and [c.old_account for c in again.review] == [old]
    with pytest.raises(Exception, match="not posted yet"):
        services.conveyances.release([f"conveyance:{old}"], "clerk1")
    services.journal.add_entry(NewEntry("payment:P-2", RECEIPT, {"account": "none"}), operator="x")  # unrelated
    entry = services.journal.claim("t", [RECEIPT], keys=["payment:P-1"])[0]
    services.journal.finish(entry.key, "t", DONE, outcome="posted")
    released = services.conveyances.release([f"conveyance:{old}"], "clerk1")
    assert dict(released.outcomes) == {"sent": 1} and not released.review
    assert services.conveyances.invoicecloud.registration(old)["autopay"] is False
    assert [e.state for e in services.journal.entries(kinds=[KIND])] == [DONE, DONE]
    services.close()


def _cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "BILLER_CONSOLE_OPERATOR": "clerk1", "BILLER_CONSOLE_PIN": "2222"}
    env.pop("BILLER_CONSOLE_ASSUME_YES", None)  # a script that did not say yes (tests/conftest.py sets it)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_cli_sandbox_convey_and_conveyances_sync_json_contract(sandbox):
    sb, paths = sandbox
    old = _enrolled(True)[0]
    made = _cli("sandbox", "--convey", old, "Alex Buyer", "--json")
    assert made.returncode == 0, made.stderr
    new = json.loads(made.stdout)["new_account"]
    dry = _cli("conveyances", "sync", "--dry-run", "--json")
    out = json.loads(dry.stdout)
    assert dry.returncode == 0 and out["found"] == 1 and out["outcomes"] == {}
    assert [(p["old_account"], p["new_account"]) for p in out["pending"]] == [(old, new)]
    unconfirmed = _cli("conveyances", "sync", "--json")
    assert unconfirmed.returncode == 1 and "not confirmed" in json.loads(unconfirmed.stdout)["message"]
    refused = _cli("conveyances", "sync", "--yes", "--json", env_extra={"BILLER_CONSOLE_OPERATOR": "cashier1",
                                                                          "BILLER_CONSOLE_PIN": "1111"})
    assert refused.returncode == 77, refused.stdout
    sent = _cli("conveyances", "sync", "--yes", "--json")
    out = json.loads(sent.stdout)
    assert sent.returncode == 0, sent.stdout
    assert out["found"] == 1 and out["outcomes"] == {"sent": 1} and out["needs_review"] == [] and out["pending"] == []
    second = _cli("conveyances", "sync", "--json", env_extra={"BILLER_CONSOLE_ASSUME_YES": "1"})
    out = json.loads(second.stdout)
    assert second.returncode == 0 and out["found"] == 0 and out["outcomes"] == {}
    assert _sends(paths) == {f"conveyance:{old}": 1}
