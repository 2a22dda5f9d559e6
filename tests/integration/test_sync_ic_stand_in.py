"""The Invoice Cloud stand-in's balance routes through the real client: idempotency, lookups, what IC
shows, unknown accounts, validation, fault injection."""

from __future__ import annotations

import pytest

from console.adapters.invoicecloud import InvoiceCloudClient, InvoiceCloudRemoteError
from console.errors import AuthError, NetworkError
from console.sandbox import ic_balances
from console.sandbox.invoicecloud_server import InvoiceCloudServer
from console.sandbox.seed import demo_customer, demo_customers

ACCOUNT = "100102-01"


def _row(adj="ADJ-1", account=ACCOUNT, at="2026-11-26T10:00:00Z", amount="-5.00", balance="10.00", minimum="10.00"):
    return {"AdjustmentId": adj, "AccountNumber": account, "InvoiceNumber": "INV", "AdjustedAt": at,
            "AdjustmentAmount": amount, "BalanceDue": balance, "MinimumAmountDue": minimum, "Reason": "Leak, kitchen"}


@pytest.fixture
def server():
    s = InvoiceCloudServer()
    ic_balances.attach(s)
    s.start()
    yield s
    s.stop()
    ic_balances.close(s)


@pytest.fixture
def client(server):
    c = InvoiceCloudClient(server.url, server.web_service_key, timeout=2)
    yield c
    c.close()


def test_put_is_idempotent_per_key_and_other_content_is_refused(client, server):
    first = client.put_balance(_row(), "ADJ-1")
    assert first["replayed"] is False and first["balance_due"] == "10.00"
    again = client.put_balance(_row(), "ADJ-1")
    assert again["replayed"] is True and again["balance_id"] == first["balance_id"]
    with pytest.raises(InvoiceCloudRemoteError) as info:
        client.put_balance(_row(balance="11.00", minimum="0.00"), "ADJ-1")
    assert info.value.code == "IDEMPOTENCY_CONFLICT" and info.value.status == 409
    assert client.find_balance("ADJ-1")["balance_due"] == "10.00"
    assert client.find_balance("ADJ-404") is None
    assert ic_balances.store_of(server).get("ADJ-1")["sends"] == 2


def test_unknown_account_is_refused_and_nothing_is_stored(client, server):
    unknown = ic_balances.not_registered_accounts()
    assert len(unknown) == 4 and demo_customers()[-1].account_number in unknown  # every 150th, the last one too
    with pytest.raises(InvoiceCloudRemoteError) as info:
        client.put_balance(_row(adj="ADJ-2", account=unknown[0]), "ADJ-2")
    assert info.value.code == "ACCOUNT_NOT_REGISTERED" and unknown[0] in str(info.value)
    assert client.find_balance("ADJ-2") is None
    with pytest.raises(InvoiceCloudRemoteError):
        client.account_balance(unknown[0])


def test_what_invoice_cloud_shows_is_the_newest_of_the_invoice_and_the_updates(client):
    c = demo_customer(ACCOUNT)
    shown = client.account_balance(ACCOUNT)
    assert shown["source"] == "invoice" and shown["balance_due"] == str(c.balance)
    before_bill = f"{c.bill_date.replace(day=1).isoformat()}T00:00:00Z" if c.bill_date.day > 1 else "2020-01-01"
    client.put_balance(_row(adj="OLD", at=before_bill, balance="1.00", minimum="0.00"), "OLD")
    assert client.account_balance(ACCOUNT)["source"] == "invoice"  # older than the bill: the bill wins
    client.put_balance(_row(adj="B", at="2030-01-02T00:00:00Z", balance="20.00", minimum="5.00"), "B")
    client.put_balance(_row(adj="A", at="2030-01-01T00:00:00Z", balance="30.00", minimum="5.00"), "A")
    shown = client.account_balance(ACCOUNT)
    assert (shown["adjustment_id"], shown["balance_due"]) == ("B", "20.00")  # by AdjustedAt, not arrival


@pytest.mark.parametrize(("row", "why"), [
    (_row(minimum="11.00"), "MinimumAmountDue"),
    (_row(balance="-1.00", minimum="1.00"), "MinimumAmountDue"),
    (_row(amount="1.005"), "two decimals"),
    (_row(at="yesterday"), "AdjustedAt"),
    ({**_row(), "AccountNumber": ""}, "AccountNumber"),
])
def test_bad_rows_are_refused(client, row, why):
    with pytest.raises(InvoiceCloudRemoteError) as info:
        client.put_balance(row, row["AdjustmentId"])
    assert info.value.status == 400 and why in str(info.value)


def test_float_amounts_and_key_mismatch_are_refused(client, server):
    import requests

    h = {"X-IC-WebServiceKey": server.web_service_key}
    r = requests.put(f"{server.url}/api/v1/balances", json={**_row(), "BalanceDue": 10.0}, headers=h, timeout=5)
    assert r.status_code == 400 and "float" in r.json()["error"]
    r = requests.put(f"{server.url}/api/v1/balances", json=_row(), headers={**h, "Idempotency-Key": "X"}, timeout=5)
    assert r.status_code == 400
    r = requests.put(f"{server.url}/api/v1/balances", json=_row(), timeout=5)
    assert r.status_code == 401


def test_wrong_key_is_an_auth_error(server):
    c = InvoiceCloudClient(server.url, "wrong", timeout=2)
    try:
        with pytest.raises(AuthError):
            c.put_balance(_row(), "ADJ-1")
    finally:
        c.close()


def test_faults_5xx_timeout_and_commit_then_drop(client, server):
    faults = ic_balances.faults_of(server)
    faults.update(error_rate=1.0)
    with pytest.raises(InvoiceCloudRemoteError) as info:
        client.put_balance(_row(), "ADJ-1")
    assert info.value.retryable and info.value.outcome_unknown
    faults.update(error_rate=0.0)
    assert client.find_balance("ADJ-1") is None  # the 503 came before anything was stored
    faults.update(timeout_rate=1.0, timeout_sleep_s=3.0)
    with pytest.raises(NetworkError) as info:
        client.put_balance(_row(), "ADJ-1")
    assert getattr(info.value, "outcome_unknown", False)
    faults.update(timeout_rate=0.0, drop_after_commit_rate=1.0)
    with pytest.raises(NetworkError) as info:
        client.put_balance(_row(), "ADJ-1")
    assert info.value.outcome_unknown
    faults.update(drop_after_commit_rate=0.0)
    assert client.find_balance("ADJ-1")["balance_due"] == "10.00"  # committed before the drop
    import requests

    r = requests.post(f"{server.url}/sandbox/balances/faults", json={"latency_ms": 5},
                      headers={"X-IC-WebServiceKey": server.web_service_key}, timeout=5)
    assert r.status_code == 200 and r.json()["latency_ms"] == 5
