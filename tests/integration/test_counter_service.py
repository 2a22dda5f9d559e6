"""Counter payments against the real sandbox over HTTP (Caselle stand-in + IC card gateway), with a
real SQLite journal and the posting service's claim loop: approve, decline, timeout-after-commit
(reconciled, charged once), a Caselle failure after the charge (posted exactly once), void,
amount rules, receipt document."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

import console.sandbox.ic_gateway as ic_gateway
from console.adapters.caselle import CaselleClient, request_token
from console.adapters.gateway import GatewayClient
from console.adapters.journal import DONE, PENDING, REPORTED, SqliteJournal
from console.config import sandbox_profile
from console.devices.sred import parse_frame
from console.errors import NetworkError, NotPermitted, ValidationError
from console.sandbox import seed
from console.sandbox.caselle_server import CaselleServer
from console.sandbox.invoicecloud_server import DEMO_WEB_SERVICE_KEY, InvoiceCloudServer
from console.services.audit import AuditLog
from console.services.counter import CARD_AUTH, CounterService, PaymentUnconfirmed
from console.services.posting import PostingService, RetryPolicy
from tests.swipe_frames import FrameSpec, build_frame

_ksn = itertools.count(0x100)


def swipe(**spec):
    spec.setdefault("ksn", f"62994900000000B{next(_ksn):05X}")
    return parse_frame(build_frame(FrameSpec(**spec)))


@pytest.fixture(scope="module")
def caselle_server(tmp_path_factory):
    with CaselleServer(tmp_path_factory.mktemp("caselle")) as s:
        yield s


@pytest.fixture(scope="module")
def ic_server():
    with InvoiceCloudServer() as s:
        ic_gateway.store_of(s).stall_s = 4.0  # well past the client timeout, even on a busy machine
        yield s


@pytest.fixture(scope="module")
def token(caselle_server):
    return request_token(caselle_server.token_url, "sandbox-client", "sandbox-secret")


class FlakyCaselle:
    """The real client; the next ``fail_creates`` create_receipt calls commit, then lose the answer."""

    def __init__(self, real: CaselleClient):
        self.real = real
        self.fail_creates = 0
        self.creates = 0
        self.down = False

    def create_receipt(self, **kw):
        if self.down:  # no answer at all: nothing committed
            err = NetworkError("Caselle did not answer create_receipt", system="Caselle")
            err.outcome_unknown = True
            raise err
        self.creates += 1
        result = self.real.create_receipt(**kw)
        if self.fail_creates:
            self.fail_creates -= 1
            err = NetworkError("the connection to Caselle dropped during create_receipt", system="Caselle")
            err.outcome_unknown = True
            raise err
        return result

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.fixture
def env(caselle_server, ic_server, token, tmp_path):
    profile = sandbox_profile()
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    audit = AuditLog(tmp_path / "journal.sqlite")
    clients = {op: FlakyCaselle(CaselleClient(caselle_server.url, token, timeout=5, operator=op))
               for op in ("cashier1", "clerk1")}

    def make(operator="cashier1", **kw):
        caselle = clients[operator]
        posting = PostingService(journal, caselle, profile, audit, retry=RetryPolicy(base_s=0.05, cap_s=0.1))
        gateway = GatewayClient(ic_server.url, DEMO_WEB_SERVICE_KEY, timeout=2.0)
        svc = CounterService(caselle=caselle, gateway=gateway, journal=journal, posting=posting, profile=profile,
                             audit=audit, find_pause_s=0.05, **kw)
        svc.flaky = caselle
        return svc

    yield make
    journal.close()
    audit.close()


_accounts = iter(seed.demo_customers())


def next_account(svc, *, partial: bool | None = None):
    for c in _accounts:
        if partial is not None and c.partial_payments_allowed != partial:
            continue
        if c.amount_due > Decimal("5.00"):
            return svc.account(c.account_number)
    raise AssertionError("out of demo accounts")


def over(account, cents: str) -> Decimal:
    """An amount just above the amount due whose cents pick a gateway test rule (an overpayment)."""
    return Decimal(int(account.amount_due) + 1) + Decimal(cents)


def gateway_count(ic_server, **filters):
    store = ic_gateway.store_of(ic_server)
    with store.lock:
        return sum(all(getattr(t, k) == v for k, v in filters.items()) for t in store.by_id.values())


def test_search_finds_by_number_name_and_phone(env):
    svc = env()
    c = seed.demo_customers()[3]
    assert c.account_number in [a.account_number for a in svc.search(c.account_number, "ACCOUNT_NUMBER")]
    assert c.account_number in [a.account_number for a in svc.search(c.name)]
    assert c.account_number in [a.account_number for a in svc.search(c.phone, "PHONE")]
    with pytest.raises(ValidationError):
        svc.search("   ")


def test_account_view_has_everything_the_panel_shows(env):
    svc = env()
    view = next_account(svc)
    assert view.name and view.service_address
    assert len(view.usage) == 24 and view.usage[0].period < view.usage[-1].period
    assert view.usage[-1].billed is not None
    assert view.suggested_amount == view.amount_due


def test_approved_payment_is_journaled_charged_and_posted_once(env, ic_server, caselle_server):
    svc = env()
    account = next_account(svc)
    result = svc.take_payment(account, account.amount_due, swipe(), "cashier1")
    assert result.status == "posted", result.message
    assert result.receipt_number and result.auth_code and result.masked_pan == "4111********1111"
    auth = svc.journal.get(result.key)
    assert auth.kind == CARD_AUTH and auth.state == DONE and auth.remote_ref == result.transaction_id
    assert auth.payload["masked_pan"] == "4111********1111" and "." in auth.payload["ksn"]
    receipt = svc.caselle.find_receipt(result.transaction_id)
    assert receipt.receipt_number == result.receipt_number and receipt.amount == account.amount_due
    assert receipt.tender == "CARD" and receipt.account_number == account.account_number
    assert gateway_count(ic_server, idempotency_key=result.key) == 1
    doc = svc.receipt_document(result.payment)
    assert doc.receipt_number == result.receipt_number and doc.training and doc.operator_name == "Casey Cashier"
    assert ("Card", "Visa 4111********1111") in doc.lines()


def test_decline_rule_01_charges_nothing_and_posts_nothing(env, ic_server):
    svc = env()
    account = next_account(svc, partial=True)
    amount = over(account, "0.01")
    result = svc.take_payment(account, amount, swipe(), "cashier1", confirmed=True)
    assert result.status == "declined" and result.reason == "Do not honor" and not result.charged
    assert svc.journal.get(result.key).state == "rejected"
    assert svc.journal.get(result.transaction_id) is None  # no receipt entry
    assert svc.caselle.find_receipt(result.transaction_id) is None
    assert svc.payment(result.key).state == "declined"


def test_timeout_after_commit_is_reconciled_and_charged_once(env, ic_server):
    svc = env()
    account = next_account(svc, partial=True)
    amount = over(account, "0.02")
    before = ic_gateway.store_of(ic_server).counts()["authorize_calls"]
    result = svc.take_payment(account, amount, swipe(), "cashier1", confirmed=True)
    assert result.status == "posted", result.message
    assert gateway_count(ic_server, idempotency_key=result.key) == 1
    assert gateway_count(ic_server, account=account.account_number, status="approved", amount=str(amount)) == 1
    assert ic_gateway.store_of(ic_server).counts()["authorize_calls"] == before + 1  # found by key, not re-sent
    assert svc.caselle.find_receipt(result.transaction_id).amount == amount


def test_unavailable_gateway_retries_under_the_same_key_then_says_not_charged(env, ic_server):
    svc = env()
    account = next_account(svc, partial=True)
    amount = over(account, "0.05")
    before = ic_gateway.store_of(ic_server).counts()["authorize_calls"]
    with pytest.raises(Exception) as info:
        svc.take_payment(account, amount, swipe(), "cashier1", confirmed=True)
    assert "NOT charged" in str(info.value)
    assert ic_gateway.store_of(ic_server).counts()["authorize_calls"] == before + svc.max_sends
    entry = [e for e in svc.journal.entries(kinds=[CARD_AUTH]) if e.payload["account"] == account.account_number][-1]
    assert entry.state == REPORTED and entry.outcome == "not_charged"


def test_caselle_failing_once_after_the_charge_still_posts_exactly_once(env, ic_server):
    svc = env()
    account = next_account(svc)
    svc.flaky.fail_creates = 1
    creates = svc.flaky.creates
    result = svc.take_payment(account, account.amount_due, swipe(), "cashier1")
    assert result.status == "posted", result.message
    assert svc.flaky.creates == creates + 1  # reconciled by reference: found, not re-sent
    receipts = [r for r in svc.caselle.batch_receipts(svc.caselle.find_receipt(result.transaction_id).batch_id)
                if r.reference == result.transaction_id]
    assert len(receipts) == 1


def test_caselle_down_after_the_charge_keeps_the_receipt_queued_and_says_so(env, ic_server):
    svc = env(post_wait_s=0.5)
    account = next_account(svc)
    svc.flaky.down = True
    try:
        result = svc.take_payment(account, account.amount_due, swipe(), "cashier1")
    finally:
        svc.flaky.down = False
    assert result.status == "queued" and result.charged and "WAS charged" in result.message
    assert svc.journal.get(result.transaction_id).state in (PENDING, "in_flight")
    assert svc.payment(result.key).state == "queued"
    doc = svc.receipt_document(result.key)
    assert doc.receipt_number == "" and "follow" in doc.status
    # "Check again" (or the Posting tab's run) posts it through the posting machinery, once
    out = svc.reconcile(keys=[result.key], operator="cashier1")
    assert out.resolved == {result.transaction_id: "posted"}
    assert svc.payment(result.key).state == "posted"
    assert svc.caselle.find_receipt(result.transaction_id).amount == account.amount_due
    assert gateway_count(ic_server, idempotency_key=result.key) == 1


def test_unconfirmed_payment_blocks_a_second_charge_until_reconciled(env, ic_server):
    svc = env()
    svc.find_attempts = 1
    account = next_account(svc, partial=True)
    real_find = svc.gateway.find

    def broken_find(key):
        raise NetworkError("gateway unreachable", system="card gateway")

    svc.gateway.find = broken_find
    try:
        with pytest.raises(PaymentUnconfirmed) as info:
            svc.take_payment(account, over(account, "0.02"), swipe(), "cashier1", confirmed=True)
        key = info.value.key
        assert svc.payment(key).state == "unconfirmed"
        with pytest.raises(PaymentUnconfirmed):  # same account again: refused while unconfirmed
            svc.take_payment(account, over(account, "0.00"), swipe(), "cashier1", confirmed=True)
    finally:
        svc.gateway.find = real_find
    out = svc.reconcile(keys=[key])
    assert out.resolved == {key: "approved"}
    assert svc.payment(key).state == "posted"
    assert gateway_count(ic_server, idempotency_key=key) == 1


def test_void_own_same_day_receipt_voids_caselle_and_the_card(env, ic_server):
    svc = env()
    account = next_account(svc)
    result = svc.take_payment(account, account.amount_due, swipe(), "cashier1")
    assert svc.void_permission(result.payment, "cashier1") == ""
    out = svc.void_counter_payment(result.payment, "WRONG_AMOUNT", "keyed the wrong amount", "cashier1")
    assert out.complete, out.message
    assert svc.caselle.receipt_by_number(result.receipt_number).voided
    assert ic_gateway.store_of(ic_server).by_id[result.transaction_id].voided
    assert svc.payment(result.key).state == "voided"
    with pytest.raises(ValidationError):
        svc.void_counter_payment(result.key, "WRONG_AMOUNT", "again", "cashier1")


def test_void_of_someone_elses_receipt_needs_a_supervisor(env, ic_server):
    svc = env("clerk1")
    account = next_account(svc)
    result = svc.take_payment(account, account.amount_due, swipe(), "clerk1")
    cashier = env("cashier1")
    assert "taken by clerk1" in cashier.void_permission(result.payment, "cashier1")
    with pytest.raises(NotPermitted):
        cashier.void_counter_payment(result.key, "DUPLICATE", "customer paid twice", "cashier1")
    assert not ic_gateway.store_of(ic_server).by_id[result.transaction_id].voided  # nothing done
    out = cashier.void_counter_payment(result.key, "DUPLICATE", "customer paid twice", "cashier1",
                                       supervisor_pin="9999")
    assert out.complete


def test_todays_payments_lists_every_state(env):
    svc = env()
    a = next_account(svc)
    svc.take_payment(a, a.amount_due, swipe(), "cashier1")
    svc.take_payment(a, over(a, "0.01"), swipe(), "cashier1", confirmed=True)
    voided = svc.take_payment(a, over(a, "0.00"), swipe(), "cashier1", confirmed=True)
    svc.void_counter_payment(voided.key, "DUPLICATE", "paid twice", "cashier1")
    rows = svc.todays_payments()
    assert [p.state for p in rows] == ["voided", "declined", "posted"]
    assert svc.todays_payments(operator="clerk1") == []
    assert all(p.taken_at.date() == dt.date.today() for p in rows)
    assert rows == sorted(rows, key=lambda p: p.taken_at, reverse=True)


# ---------------------------------------------------------------- amount rules (no network needed)
def _view(svc, **kw):
    from console.services.counter import AccountView

    base = dict(account_number="100001-01", name="A", service_address="", mail_address="", phone="", email="",
                balance=Decimal("80.00"), amount_due=Decimal("80.00"), minimum_due=Decimal("25.00"),
                due_date=dt.date.today(), bill_expires=None, bill_expired=False, partial_allowed=True,
                autopay=False, paperless=False)
    base.update(kw)
    return AccountView(**base)


@pytest.mark.parametrize("text,rule,ok", [
    ("", "required", False), ("abc", "amount", False), ("0", "positive", False), ("12.345", "amount", False),
    ("100000", "too_large", False), ("0.50", "minimum_payment", False), ("10.00", "minimum_due", False),
    ("25.00", "partial", True), ("80", "full", True), ("$80.00", "full", True), ("85.00", "overpayment", True),
])
def test_amount_rules(env, text, rule, ok):
    svc = env()
    check = svc.check_amount(_view(svc), text)
    assert check.ok is ok
    assert (check.problems[0].rule if check.problems else None) == rule


def test_partial_not_allowed_and_overpayment_limit(env):
    svc = env()
    check = svc.check_amount(_view(svc, partial_allowed=False), "79.99")
    assert not check.ok and "not accepted" in check.error
    over = svc.check_amount(_view(svc), "90.00")
    assert over.ok and over.needs_confirmation and "$10.00 more" in over.needs_confirmation
    svc.profile = svc.profile.with_values(biller_overpayment_limit=Decimal("20.00"))
    small = svc.check_amount(_view(svc), "90.00")
    assert small.ok and not small.needs_confirmation and small.kind == "overpayment"
    with pytest.raises(ValidationError):  # an unconfirmed overpayment is refused before any charge
        env().take_payment(_view(svc), Decimal("95.00"), swipe(), "cashier1")


def test_expired_bill_under_the_profile_pays_toward_the_balance(env):
    svc = env()
    svc.profile = svc.profile.with_values(biller_expire_bill=True)
    view = _view(svc, bill_expired=True, balance=Decimal("120.00"), notices=("The bill expired",))
    assert view.payable_due == Decimal("120.00")
    check = svc.check_amount(view, "10.00")  # the old bill's minimum no longer applies
    assert check.ok and any(p.rule == "bill_expired" for p in check.problems)


def test_receipt_voided_from_the_posting_tab_shows_the_card_charge_stands(env, ic_server):
    svc = env()
    account = next_account(svc)
    result = svc.take_payment(account, account.amount_due, swipe(), "cashier1")
    svc.posting.void_receipt_manually(result.receipt_number, "WRONG_ACCOUNT", "re-post to the right account",
                                      "cashier1")
    p = svc.payment(result.key)
    assert p.state == "receipt_voided" and "not reversed" in p.detail
    assert not ic_gateway.store_of(ic_server).by_id[result.transaction_id].voided  # no silent refund
    assert svc.receipt_document(p).status == "RECEIPT VOIDED"


def test_cash_payment_with_change_is_posted_once_and_voided(env):
    svc = env()
    account = next_account(svc)
    with pytest.raises(ValidationError):
        svc.take_other_payment(account, account.amount_due, "CASH", "cashier1", tendered="1.00")
    result = svc.take_other_payment(account, account.amount_due, "CASH", "cashier1",
                                    tendered=account.amount_due + Decimal("10.00"))
    assert result.status == "posted" and "Change due: $10.00" in result.message
    receipt = svc.caselle.find_receipt(result.key)
    assert receipt.tender == "CASH" and receipt.amount == account.amount_due
    doc = svc.receipt_document(result.key)
    assert ("Paid by", "Cash") in doc.lines() and ("Change", "$10.00") in doc.lines()
    assert not any(label == "Card" for label, _ in doc.lines())
    assert svc.todays_payments()[0].key == result.key
    out = svc.void_counter_payment(result.key, "CUSTOMER_REQUEST", "changed mind", "cashier1")
    assert out.caselle_state == DONE and "give back the cash" in out.message
    assert svc.payment(result.key).state == "voided"


def test_check_payment_needs_a_check_number(env):
    svc = env()
    account = next_account(svc)
    with pytest.raises(ValidationError):
        svc.take_other_payment(account, account.amount_due, "CHECK", "cashier1", check_number="12a")
    result = svc.take_other_payment(account, account.amount_due, "CHECK", "cashier1", check_number="1042")
    assert result.status == "posted"
    assert svc.caselle.find_receipt(result.key).tender == "CHECK"
    assert svc.payment(result.key).paid_by == "Check 1042"


def test_console_died_during_the_authorization_is_recovered_by_key(env, ic_server):
    """The console journaled card_auth, sent it, and died (its lease owner's process is gone):
    "Check again" asks the gateway by key, records the approval and posts the receipt, once."""
    from console.adapters.journal import NewEntry

    svc = env()
    account = next_account(svc)
    key = "ctr:20261126:DIEDDURINGAUTHQQ"
    svc.journal.add_entry(NewEntry(key, CARD_AUTH, {"account": account.account_number, "name": account.name,
                                                    "amount": str(account.amount_due), "masked_pan": "4111********1111",
                                                    "last4": "1111", "brand": "Visa", "operator": "cashier1",
                                                    "taken_at": dt.datetime.now(dt.UTC).isoformat()}),
                          operator="cashier1")
    import socket

    dead_owner = f"{socket.gethostname()}:999999:deadbeef"  # no such process
    assert svc.journal.claim(dead_owner, [CARD_AUTH], keys=[key])
    svc.gateway.authorize(swipe(), account.amount_due, key, account=account.account_number)  # it reached the gateway
    assert svc.payment(key).state == "unconfirmed"
    out = svc.reconcile()
    assert out.resolved.get(key) == "approved"
    p = svc.payment(key)
    assert p.state == "posted" and p.receipt_number
    assert gateway_count(ic_server, idempotency_key=key) == 1


def test_crash_between_approval_and_receipt_entry_is_repaired(env, ic_server):
    """card_auth recorded as approved, but the receipt entry was never written: reconcile adds and posts it."""
    from console.adapters.journal import NewEntry, lease_owner_id

    svc = env()
    account = next_account(svc)
    key = "ctr:20261126:CRASHBETWEENWRQQ"
    svc.journal.add_entry(NewEntry(key, CARD_AUTH, {"account": account.account_number, "name": account.name,
                                                    "amount": str(account.amount_due), "masked_pan": "4111********1111",
                                                    "last4": "1111", "brand": "Visa", "operator": "cashier1",
                                                    "taken_at": dt.datetime.now(dt.UTC).isoformat()}),
                          operator="cashier1")
    owner = lease_owner_id()
    svc.journal.claim(owner, [CARD_AUTH], keys=[key])
    auth = svc.gateway.authorize(swipe(), account.amount_due, key)
    svc.journal.finish(key, owner, DONE, outcome="approved", remote_ref=auth.transaction_id,
                       payload_update={"transaction_id": auth.transaction_id, "auth_code": auth.auth_code})
    assert svc.payment(key).state == "queued"
    svc.reconcile()
    assert svc.payment(key).state == "posted"
    assert svc.caselle.find_receipt(auth.transaction_id).amount == account.amount_due
