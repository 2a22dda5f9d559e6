"""``biller-console counter today|check`` against a running sandbox (Caselle + IC card gateway)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from console.adapters.journal import NewEntry
from console.app import build_services
from console.cli import main
from console.devices.sred import parse_frame
from console.paths import Paths
from console.sandbox import seed
from console.sandbox.runner import Sandbox, SandboxOptions, remove_state, write_state
from console.secrets import MemoryBackend
from console.services.counter import CARD_AUTH
from tests.swipe_frames import FrameSpec, build_frame

PARTS = ["console.sandbox.caselle_server", "console.sandbox.invoicecloud_server"]


@pytest.fixture
def sandbox(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    paths = Paths.default().ensure()
    sb = Sandbox(SandboxOptions(), data_dir=paths.sandbox_dir, parts=PARTS).start()
    write_state(paths.sandbox_dir, sb.as_endpoints(embedded=False))
    yield paths
    remove_state(paths.sandbox_dir)
    sb.stop()


def _run(capsys, *argv) -> tuple[int, dict]:
    code = main(["counter", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_today_and_check_resolve_an_unconfirmed_card_payment(sandbox, capsys):
    services = build_services("sandbox", secret_backend=MemoryBackend(), operator_id="cashier1")
    try:
        accounts = [c for c in seed.demo_customers() if c.amount_due > 5][:2]
        view = services.counter.account(accounts[0].account_number)
        card = parse_frame(build_frame(FrameSpec(ksn="62994900000000F00001")))
        paid = services.counter.take_payment(view, view.amount_due, card, "cashier1")
        assert paid.status == "posted"
        # a payment whose answer was lost and never learned: journaled, charged at the gateway, left pending
        lost = services.counter.account(accounts[1].account_number)
        key = f"ctr:{dt.date.today():%Y%m%d}:LOSTANSWERCLITST"
        services.journal.add_entry(NewEntry(key, CARD_AUTH, {
            "account": lost.account_number, "name": lost.name, "amount": str(lost.amount_due),
            "masked_pan": "5454********5454", "last4": "5454", "brand": "Mastercard", "operator": "cashier1",
            "taken_at": dt.datetime.now(dt.UTC).isoformat()}), operator="cashier1")
        services.gateway.authorize(parse_frame(build_frame(FrameSpec(ksn="62994900000000F00002",
                                                                     pan="5454545454545454"))),
                                   lost.amount_due, key, account=lost.account_number)
    finally:
        services.close()

    code, out = _run(capsys, "today")
    assert code == 2
    states = {p["key"]: p["state"] for p in out["payments"]}
    assert states == {paid.key: "posted", key: "unconfirmed"}
    assert all("4111111111111111" not in json.dumps(p) for p in out["payments"])

    code, out = _run(capsys, "check", "--operator", "cashier1")
    assert code == 0 and out["resolved"] == {key: "approved"} and out["attention"] == []

    code, out = _run(capsys, "today")
    assert code == 0 and {p["state"] for p in out["payments"]} == {"posted"}
    assert all(p["receipt"] for p in out["payments"])

    assert main(["counter", "today"]) == 0
    text = capsys.readouterr().out
    assert "Mastercard 5454********5454" in text and "Posted" in text
