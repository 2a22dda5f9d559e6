"""The Caselle client against the stand-in over real HTTP: data, receipts, batches, errors, faults."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from console.adapters.caselle import (
    AccessToken,
    CaselleClient,
    CaselleRemoteError,
    StoredToken,
    request_token,
)
from console.errors import AuthError, NetworkError, UnsupportedVersionError
from console.sandbox import seed
from console.sandbox.caselle_server import CaselleServer, Faults

_dates = itertools.count()


def fresh_date() -> dt.date:
    """A batch date no other test uses (the server is shared by the module)."""
    return dt.date(2025, 1, 1) + dt.timedelta(days=next(_dates))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with CaselleServer(tmp_path_factory.mktemp("caselle"), faults=Faults(seed=7, timeout_sleep_s=1.0)) as s:
        yield s


@pytest.fixture(autouse=True)
def no_faults(server):
    server.faults.update(latency_ms=0, error_rate=0.0, timeout_rate=0.0, drop_after_commit_rate=0.0)
    yield
    server.faults.update(latency_ms=0, error_rate=0.0, timeout_rate=0.0, drop_after_commit_rate=0.0)


@pytest.fixture(scope="module")
def token(server):
    return request_token(server.token_url, "sandbox-client", "sandbox-secret")


@pytest.fixture
def client(server, token):
    with CaselleClient(server.url, token, timeout=0.5, retry_backoff=0.01, operator="cashier1") as c:
        yield c


def some_customer(**want) -> seed.DemoCustomer:
    for c in seed.demo_customers():
        if all(getattr(c, k) == v for k, v in want.items()):
            return c
    raise LookupError(want)


def post(client, date, reference, amount="10.00", account=None, tender="CARD"):
    account = account or seed.demo_customers()[5].account_number
    return client.create_receipt(reference=reference, account_number=account, amount=Decimal(amount),
                                 tender=tender, receipt_date=date)


# ---------------------------------------------------------------- accounts
def test_search_by_name_ignores_accents_and_case(client):
    result = client.search_accounts("jose nunez", by="NAME")
    names = [a.name for a in result]
    assert "José Núñez" in names
    assert all("nunez" in a.name.lower().replace("ú", "u").replace("ñ", "n") for a in result)


def test_search_by_account_prefix_phone_and_address(client):
    target = some_customer(status="ACTIVE")
    by_account = client.search_accounts(target.account_number[:6], by="ACCOUNT_NUMBER")
    assert [a.account_number for a in by_account] == [target.account_number]
    assert by_account.accounts[0].balance == target.balance
    with_phone = next(c for c in seed.demo_customers() if c.phone)
    digits = re.sub(r"\D", "", with_phone.phone)
    assert with_phone.account_number in {a.account_number for a in client.search_accounts(digits, by="PHONE")}
    street = target.service_address.split(" Unit")[0]
    assert target.account_number in {a.account_number
                                     for a in client.search_accounts(street, by="SERVICE_ADDRESS", limit=500)}
    assert client.search_accounts("zzzz-no-such-name").total_count == 0


def test_customer_detail_matches_the_seed(client):
    demo = next(c for c in seed.demo_customers() if c.adjustments and c.partial_payments_allowed)
    detail = client.customer_detail(demo.account_number)
    assert detail.name == demo.name and detail.email == demo.email and detail.phone == demo.phone
    assert detail.balance == demo.balance and detail.amount_due == demo.amount_due
    assert detail.minimum_due == demo.minimum_due and detail.due_date == demo.due_date
    assert detail.bill_expires == demo.bill_expires and detail.partial_payments_allowed is True
    assert detail.autopay == demo.autopay and detail.paperless == demo.paperless
    assert [a.adjustment_id for a in detail.adjustments] == [a.adjustment_id for a in demo.adjustments]
    assert [a.balance_after for a in detail.adjustments] == [a.balance_after for a in demo.adjustments]
    assert [u.period for u in detail.usage] == [u.period for u in demo.usage] and len(detail.usage) == 24
    assert [(u.consumption, u.billed) for u in detail.usage] == [(u.consumption, u.billed) for u in demo.usage]
    assert client.customer_detail(demo.account_number, usage_months=3).usage == detail.usage[-3:]
    assert client.customer_detail("999999-99") is None


def test_credit_balance_account_owes_nothing(client):
    demo = next(c for c in seed.demo_customers() if c.balance < 0)
    detail = client.customer_detail(demo.account_number)
    assert detail.balance < 0 and detail.amount_due == Decimal("0.00") and detail.minimum_due == Decimal("0.00")


def test_update_customer_and_direct_pay(client):
    demo = next(c for c in seed.demo_customers() if not c.email and not c.paperless)
    with pytest.raises(CaselleRemoteError) as err:
        client.update_customer(demo.account_number, paperless=True)
    assert err.value.code == "INVALID_INPUT" and "e-mail" in str(err.value)
    updated = client.update_customer(demo.account_number, paperless=True, email="new.owner@example.com",
                                     phone="(435) 555-0199")
    assert updated.paperless and updated.email == "new.owner@example.com" and updated.phone == "(435) 555-0199"
    enrolled = client.set_direct_pay_status(demo.account_number, True)
    assert enrolled.autopay and enrolled.direct_pay_status == "ACTIVE"
    assert client.set_direct_pay_status(demo.account_number, "PENDING").direct_pay_status == "PENDING"


def test_adjustments_since_watermark_and_sandbox_create(client):
    seeded = client.adjustments_since(limit=5000)
    assert len(seeded) == len(seed.demo_adjustments())
    watermark = max(a.sequence for a in seeded)
    assert client.adjustments_since(after_sequence=watermark) == []
    account = seed.demo_customers()[3].account_number
    before = client.customer_detail(account).balance
    made = client.create_adjustment(account, Decimal("-12.50"), "Leak credit")
    assert made.amount == Decimal("-12.50") and made.balance_after == before - Decimal("12.50")
    new = client.adjustments_since(after_sequence=watermark)
    assert [a.adjustment_id for a in new] == [made.adjustment_id]
    assert client.customer_detail(account).balance == before - Decimal("12.50")
    assert client.adjustments_since(after_sequence=made.sequence) == []


# ---------------------------------------------------------------- receipts and batches
def test_create_receipt_is_idempotent_on_reference(client):
    day = fresh_date()
    client.open_batch(day)
    account = seed.demo_customers()[7].account_number
    balance = client.customer_detail(account).balance
    first = post(client, day, "IC-IDEM-1", "25.10", account)
    again = post(client, day, "IC-IDEM-1", "25.10", account)
    assert not first.existing and again.existing
    assert re.fullmatch(r"5\.\d{5}", first.receipt.receipt_number)
    assert again.receipt.receipt_number == first.receipt.receipt_number
    assert client.find_receipt("IC-IDEM-1") == first.receipt
    assert client.customer_detail(account).balance == balance - Decimal("25.10"), "posted once"
    assert client.batch_totals(day).receipt_count == 1


def test_receipt_needs_an_open_batch(client):
    day = fresh_date()
    with pytest.raises(CaselleRemoteError) as err:
        post(client, day, "IC-NOBATCH")
    assert err.value.code == "BATCH_NOT_OPEN"
    batch = client.open_batch(day)
    assert client.open_batch(day).batch_id == batch.batch_id, "open_batch is idempotent"
    client.close_batch(batch.batch_id)
    with pytest.raises(CaselleRemoteError) as err:
        post(client, day, "IC-CLOSED")
    assert err.value.code == "BATCH_CLOSED"
    with pytest.raises(CaselleRemoteError) as err:
        client.open_batch(day)
    assert err.value.code == "BATCH_CLOSED"
    assert client.find_receipt("IC-NOBATCH") is None and client.find_receipt("IC-CLOSED") is None


def test_batch_totals_and_close(client):
    day = fresh_date()
    batch = client.open_batch(day)
    amounts = ["10.00", "0.01", "99.99", "1234.56"]
    for i, amount in enumerate(amounts):
        post(client, day, f"IC-TOT-{i}", amount)
    totals = client.batch_totals(day)
    assert totals.receipt_count == 4 and totals.total == sum(Decimal(a) for a in amounts)
    assert [r.reference for r in client.batch_receipts(batch.batch_id)] == [f"IC-TOT-{i}" for i in range(4)]
    closed = client.close_batch(batch.batch_id)
    assert closed.status == "CLOSED" and closed.closed_at is not None and closed.total == totals.total
    assert client.close_batch(batch.batch_id).status == "CLOSED"
    assert batch.batch_id in {b.batch_id for b in client.list_batches(day, day)}
    assert client.batch_totals(fresh_date()) is None


def test_void_keeps_the_receipt_and_records_who_when_why(client):
    day = fresh_date()
    client.open_batch(day)
    keep = post(client, day, "IC-VOID-KEEP", "40.00")
    gone = post(client, day, "IC-VOID-GONE", "15.00")
    result = client.void_receipt(gone.receipt.receipt_number, "Duplicate payment")
    assert not result.already_voided and result.receipt.voided
    assert result.receipt.void_reason == "Duplicate payment"
    assert result.receipt.extra["voidedBy"] == "cashier1" and result.receipt.extra["voidedAt"]
    again = client.void_receipt(gone.receipt.receipt_number, "Duplicate payment")
    assert again.already_voided
    found = client.find_receipt("IC-VOID-GONE")
    assert found.voided and found.receipt_number == gone.receipt.receipt_number, "kept, marked void"
    totals = client.batch_totals(day)
    assert (totals.receipt_count, totals.total) == (1, keep.receipt.amount)
    assert (totals.voided_count, totals.voided_total) == (1, Decimal("15.00"))
    with pytest.raises(CaselleRemoteError) as err:
        client.void_receipt("5.99999", "x")
    assert err.value.code == "NOT_FOUND"
    client.close_batch(totals.batch_id)
    with pytest.raises(CaselleRemoteError) as err:
        client.void_receipt(keep.receipt.receipt_number, "too late")
    assert err.value.code == "BATCH_CLOSED"


def test_ach_reject_reverses_with_nsf_fee_even_after_the_batch_closed(client):
    day = fresh_date()
    batch = client.open_batch(day)
    account = seed.demo_customers()[11].account_number
    balance = client.customer_detail(account).balance
    paid = post(client, day, "IC-ACH-1", "60.00", account, tender="ACH")
    client.close_batch(batch.batch_id)
    result = client.ach_reject("IC-ACH-1", "R01", "Insufficient funds", Decimal("25.00"))
    assert not result.already_reversed and result.receipt.extra["status"] == "REVERSED"
    assert result.receipt.extra["reversal"]["return_code"] == "R01"
    assert result.nsf_adjustment.amount == Decimal("25.00")
    assert client.customer_detail(account).balance == balance + Decimal("25.00")
    assert client.ach_reject("IC-ACH-1", "R01", "Insufficient funds", Decimal("25.00")).already_reversed
    assert client.customer_detail(account).balance == balance + Decimal("25.00"), "reversed once"
    assert paid.receipt.receipt_number == result.receipt.receipt_number
    card = post(client, client.open_batch(fresh_date()).batch_date, "IC-ACH-CARD", "5.00")
    with pytest.raises(CaselleRemoteError):
        client.ach_reject(card.receipt.reference, "R01", "not ACH")


def test_concurrent_clients_post_each_reference_once(server, token):
    day = fresh_date()
    refs = [f"IC-CONC-{i}" for i in range(40)]
    with CaselleClient(server.url, token, timeout=5) as c:
        c.open_batch(day)

        def send(ref):
            return post(c, day, ref, "1.00")

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(send, refs * 3))
        assert sum(not r.existing for r in results) == 40
        by_ref = {}
        for r in results:
            by_ref.setdefault(r.receipt.reference, set()).add(r.receipt.receipt_number)
        assert all(len(numbers) == 1 for numbers in by_ref.values())
        totals = c.batch_totals(day)
        assert (totals.receipt_count, totals.total) == (40, Decimal("40.00"))


# ---------------------------------------------------------------- auth and versions
def test_expired_and_invalid_tokens_raise_auth_error(server):
    expired = request_token(server.token_url, "sandbox-client", "sandbox-secret", expires_in=-60)
    assert expired.expired()
    with CaselleClient(server.url, expired, timeout=2) as c:
        with pytest.raises(AuthError) as err:
            c.search_accounts("smith")
        assert "expired" in str(err.value)
        assert c.token_status().state == "expired"
    with CaselleClient(server.url, "not-a-token", timeout=2) as c, pytest.raises(AuthError):
        c.find_receipt("x")
    with pytest.raises(AuthError):
        request_token(server.token_url, "sandbox-client", "wrong-secret")


def test_token_expiry_is_known_and_warned_ahead(server):
    soon = request_token(server.token_url, "sandbox-client", "sandbox-secret", expires_in=3 * 86400)
    with CaselleClient(server.url, soon) as c:
        status = c.token_status()
        assert status.state == "warn" and "expires in" in status.message
    default = request_token(server.token_url, "sandbox-client", "sandbox-secret")
    left = default.expires_at - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=175) < left < dt.timedelta(days=190), "6 months by default"
    # a bare token: the expiry is learnt from the server
    with CaselleClient(server.url, default.value) as c:
        assert abs((c.token_expires_at - default.expires_at).total_seconds()) < 2
        assert c.token_status().state == "ok"


def test_stored_token_renews_an_expired_token(server):
    class Secrets(dict):
        def get(self, name):
            return super().get(name)

        def set(self, name, value):
            self[name] = value

    secrets = Secrets()
    expired = request_token(server.token_url, "sandbox-client", "sandbox-secret", expires_in=-1)
    secrets.set(StoredToken.TOKEN, expired.to_json())
    secrets.set(StoredToken.CLIENT_SECRET, "sandbox-secret")
    provider = StoredToken(secrets, token_url=server.token_url, client_id="sandbox-client")
    with CaselleClient(server.url, provider) as c:
        assert c.capabilities().version == "2021.05"
    renewed = AccessToken.from_secret(secrets[StoredToken.TOKEN])
    assert renewed.value != expired.value and not renewed.expired()
    with pytest.raises(AuthError):
        StoredToken(Secrets())()


def test_version_2021_02_lacks_ach_reject_and_direct_pay(tmp_path):
    with CaselleServer(tmp_path, api_version="2021.02.160") as old:
        token = old.issue_token()[0]
        with CaselleClient(old.url, token, timeout=2) as c:
            caps = c.capabilities()
            assert caps.version == "2021.02.160"
            assert not caps.has("ach_reject") and not caps.has("set_direct_pay_status")
            account = seed.demo_customers()[0].account_number
            with pytest.raises(UnsupportedVersionError) as err:
                c.set_direct_pay_status(account, True)
            assert "2021.05" in str(err.value)
            with pytest.raises(UnsupportedVersionError):
                c.ach_reject("any", "R01", "x")
            # the server itself refuses too, whatever the client believes
            with pytest.raises(UnsupportedVersionError) as err:
                c.execute("ach_reject", {"reference": "x", "returnCode": "R01", "reason": "x"})
            assert "not supported in this version" in str(err.value)
            assert c.update_customer(account, phone="(435) 555-0100").phone == "(435) 555-0100"


# ---------------------------------------------------------------- faults
def test_latency_is_added(server, client):
    client.find_receipt("warm-up")
    server.faults.update(latency_ms=150)
    start = time.perf_counter()
    client.find_receipt("nothing")
    assert time.perf_counter() - start >= 0.15


def test_5xx_queries_are_retried_mutations_are_not(server, client):
    day = fresh_date()
    client.open_batch(day)
    server.faults.update(error_rate=1.0)
    before = server.graphql_requests
    with pytest.raises(CaselleRemoteError) as err:
        client.find_receipt("IC-5XX")
    assert err.value.code == "HTTP_503" and err.value.retryable
    assert server.graphql_requests - before == 3, "a query: first try + 2 retries"
    before = server.graphql_requests
    with pytest.raises(CaselleRemoteError) as err:
        post(client, day, "IC-5XX")
    assert server.graphql_requests - before == 1, "a mutation is sent once"
    assert err.value.outcome_unknown and not err.value.retryable
    server.faults.update(error_rate=0.0)
    assert client.find_receipt("IC-5XX") is None, "a 503 from the stand-in executes nothing"


def test_timeout_raises_network_error_with_unknown_outcome(server, client):
    day = fresh_date()
    client.open_batch(day)
    server.faults.update(timeout_rate=1.0, timeout_sleep_s=1.0)
    start = time.perf_counter()
    with pytest.raises(NetworkError) as err:
        post(client, day, "IC-TIMEOUT")
    assert time.perf_counter() - start < 0.9, "the client gives up at its own timeout"
    assert err.value.kind == "timeout" and err.value.outcome_unknown and not err.value.retryable
    server.faults.update(timeout_rate=0.0)
    assert client.find_receipt("IC-TIMEOUT") is None


def test_commit_then_drop_is_found_by_reference_afterwards(server, client):
    day = fresh_date()
    client.open_batch(day)
    server.faults.update(drop_after_commit_rate=1.0)
    with pytest.raises(NetworkError) as err:
        post(client, day, "IC-DROP", "33.33")
    assert err.value.outcome_unknown and err.value.kind == "dropped"
    server.faults.update(drop_after_commit_rate=0.0)
    found = client.find_receipt("IC-DROP")
    assert found is not None and found.amount == Decimal("33.33"), "committed before the drop"
    assert post(client, day, "IC-DROP", "33.33").existing
    assert client.batch_totals(day).receipt_count == 1


def test_connection_refused_is_a_network_error_with_known_outcome(token):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with CaselleClient(f"http://127.0.0.1:{port}/graphql", token, timeout=1, retry_backoff=0) as c:
        with pytest.raises(NetworkError) as err:
            c.create_receipt(reference="x", account_number="x", amount=Decimal("1.00"), tender="CASH",
                             receipt_date=dt.date(2026, 1, 1))
    assert err.value.kind == "refused" and not err.value.outcome_unknown


def test_faults_are_repeatable_with_a_seed():
    a = Faults(error_rate=0.1, timeout_rate=0.05, drop_after_commit_rate=0.05, seed=42)
    b = Faults(error_rate=0.1, timeout_rate=0.05, drop_after_commit_rate=0.05, seed=42)
    rolls_a = [a.roll() for _ in range(500)]
    assert rolls_a == [b.roll() for _ in range(500)]
    assert 30 < rolls_a.count("error") < 80 and rolls_a.count("timeout") > 5 and rolls_a.count("drop") > 5
    with pytest.raises(ValueError):
        Faults(error_rate=0.7, timeout_rate=0.5)


def test_fault_mix_under_load_posts_each_reference_once(server, token):
    """A small chaos run: every create either answers or is reconciled by reference, never doubled."""
    day = fresh_date()
    server.faults.update(error_rate=0.15, timeout_rate=0.0, drop_after_commit_rate=0.15, seed=3)
    refs = [f"IC-CHAOS-{i}" for i in range(60)]
    with CaselleClient(server.url, token, timeout=2, retry_backoff=0.0) as c:
        while True:
            try:
                c.open_batch(day)
                break
            except (NetworkError, CaselleRemoteError):
                continue
        for ref in refs:
            while True:
                try:
                    post(c, day, ref, "2.00")
                    break
                except (NetworkError, CaselleRemoteError):
                    try:
                        if c.find_receipt(ref) is not None:
                            break
                    except (NetworkError, CaselleRemoteError):
                        pass
        server.faults.update(error_rate=0.0, drop_after_commit_rate=0.0)
        totals = c.batch_totals(day)
    assert (totals.receipt_count, totals.total) == (60, Decimal("120.00"))


def test_health_and_missing_bearer(server):
    import requests

    assert requests.get(server.base_url + "/health", timeout=2).json()["ok"] is True
    r = requests.post(server.url, json={"query": "{ apiInfo { version } }"}, timeout=2)
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_money_must_be_a_string_never_a_float(server, token):
    import requests

    day = fresh_date().isoformat()
    r = requests.post(server.url, headers={"Authorization": f"Bearer {token.value}"}, timeout=2, json={
        "query": "mutation($i: CreateReceiptInput!) { create_receipt(input: $i) { existing } }",
        "variables": {"i": {"reference": "F1", "accountNumber": "x", "amount": 12.3, "tender": "CASH",
                            "receiptDate": day}}})
    assert "Money must be a string" in r.json()["errors"][0]["message"]
    assert threading.active_count() >= 1


def test_a_refused_token_is_renewed_once_when_credentials_are_known(server):
    class Secrets(dict):
        def get(self, name):
            return super().get(name)

        def set(self, name, value):
            self[name] = value

    secrets = Secrets({StoredToken.TOKEN: "left-over-from-a-reset-sandbox"})
    provider = StoredToken(secrets, token_url=server.token_url, client_id="sandbox-client",
                           client_secret="sandbox-secret")
    with CaselleClient(server.url, provider) as c:
        info = c.server_info()
        assert info["api_version"] == "2021.05" and "ach_reject" in info["features"] and info["sandbox"]
        assert info["token_expires_at"] is not None and c.api_version == "2021.05"
    assert secrets[StoredToken.TOKEN] != "left-over-from-a-reset-sandbox"
    no_renew = StoredToken(Secrets({StoredToken.TOKEN: "bad"}), renew=False)
    with CaselleClient(server.url, no_renew) as c, pytest.raises(AuthError):
        c.server_info()


def test_faults_can_be_changed_over_http_while_running(server, token):
    import requests

    headers = {"Authorization": f"Bearer {token.value}"}
    r = requests.post(server.base_url + "/sandbox/faults", json={"latency_ms": 3, "error_rate": 0.25},
                      headers=headers, timeout=2)
    assert r.ok and r.json()["latency_ms"] == 3 and server.faults.error_rate == 0.25
    bad = requests.post(server.base_url + "/sandbox/faults", json={"error_rate": 2}, headers=headers, timeout=2)
    assert bad.status_code == 400
    assert requests.get(server.base_url + "/sandbox/faults", timeout=2).status_code == 401


def test_stored_token_reads_the_secret_store_once(server, token):
    class CountingSecrets(dict):
        reads = 0

        def get(self, name):
            CountingSecrets.reads += 1
            return super().get(name)

        def set(self, name, value):
            self[name] = value

    secrets = CountingSecrets({StoredToken.TOKEN: token.to_json()})
    with CaselleClient(server.url, StoredToken(secrets, renew=False)) as c:
        for _ in range(5):
            c.find_receipt("x")
    assert CountingSecrets.reads == 1


def test_update_customer_rejects_a_malformed_phone(client):
    account = seed.demo_customers()[20].account_number
    with pytest.raises(CaselleRemoteError) as err:
        client.update_customer(account, phone="12")
    assert err.value.code == "INVALID_INPUT"
    assert client.update_customer(account, phone="").phone == ""


def test_two_servers_on_one_database_still_post_each_reference_once(tmp_path):
    """Two embedded sandboxes (two processes) share the SQLite file: still exactly once."""
    day = dt.date(2026, 3, 3)
    with CaselleServer(tmp_path) as a, CaselleServer(tmp_path) as b:
        ta, tb = a.issue_token()[0], b.issue_token()[0]
        with CaselleClient(a.url, ta, timeout=10) as ca, CaselleClient(b.url, tb, timeout=10) as cb:
            ca.open_batch(day)
            assert cb.open_batch(day).batch_id == ca.batch_totals(day).batch_id
            refs = [f"SHARED-{i}" for i in range(30)]

            def send(job):
                c, ref = job
                return post(c, day, ref, "3.00")

            jobs = [(c, ref) for ref in refs for c in (ca, cb)]
            with ThreadPoolExecutor(6) as pool:
                results = list(pool.map(send, jobs))
            numbers = {r.receipt.reference: r.receipt.receipt_number for r in results if not r.existing}
            assert sorted(numbers) == sorted(refs)
            assert len(set(numbers.values())) == 30, "receipt numbers never collide"
            totals = cb.batch_totals(day)
            assert (totals.receipt_count, totals.total) == (30, Decimal("90.00"))


def test_an_internal_server_failure_leaves_a_mutation_outcome_unknown(server, client, monkeypatch):
    day = fresh_date()
    client.open_batch(day)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(server.store, "create_receipt", broken)
    with pytest.raises(CaselleRemoteError) as err:
        post(client, day, "IC-INTERNAL")
    assert err.value.code == "INTERNAL" and err.value.outcome_unknown
    monkeypatch.setattr(server.store, "receipt_by_reference", broken)
    before = server.graphql_requests
    with pytest.raises(CaselleRemoteError) as err:
        client.find_receipt("IC-INTERNAL")
    assert err.value.retryable and server.graphql_requests - before == 3


def test_search_wildcards_are_literal(client):
    assert client.search_accounts("%").total_count == 0
    assert client.search_accounts("100_0", by="ACCOUNT_NUMBER").total_count == 0


def test_malformed_requests_get_400_and_the_server_keeps_serving(server, client):
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as s:
        s.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 400")
    import requests

    r = requests.post(server.url, data=b"not json", timeout=2,
                      headers={"Authorization": f"Bearer {server.issue_token()[0]}"})
    assert r.status_code == 400
    assert client.capabilities(refresh=True).version == "2021.05"
