"""The gateway port against the sandbox card gateway over real HTTP: approve, the decline and
timeout rules, idempotency, lookup by key, void, the card checks, and what goes over the wire."""

from __future__ import annotations

import itertools
import json
import time
from decimal import Decimal

import pytest
import requests

import console.sandbox.ic_gateway as ic_gateway
from console.adapters.gateway import GatewayClient, GatewayError, card_fields
from console.devices.sred import parse_frame
from console.errors import AuthError, NetworkError
from console.sandbox.invoicecloud_server import DEMO_WEB_SERVICE_KEY, KEY_HEADER, InvoiceCloudServer
from tests.swipe_frames import FrameSpec, build_frame

_ksn = itertools.count(1)
_key = itertools.count(1)


def swipe(**spec):
    """A fresh card read (new KSN, as a reader gives on every swipe), encrypted with the ANSI test BDK."""
    spec.setdefault("ksn", f"62994900000000A{next(_ksn):05X}")
    return parse_frame(build_frame(FrameSpec(**spec)))


def key() -> str:
    return f"test-key-{next(_key):06d}-abc"


@pytest.fixture(scope="module")
def server():
    with InvoiceCloudServer() as s:
        ic_gateway.store_of(s).stall_s = 4.0  # well past the client timeout, even on a busy machine
        yield s


@pytest.fixture
def gw(server):
    with GatewayClient(server.url, DEMO_WEB_SERVICE_KEY, timeout=2.0) as c:
        yield c


def test_approve_returns_masked_card_auth_code_and_transaction(gw):
    a = gw.authorize(swipe(), Decimal("42.10"), key(), account="100001-01", operator="cashier1")
    assert a.approved and a.status == "approved"
    assert a.amount == Decimal("42.10")
    assert a.masked_pan == "4111********1111" and a.last4 == "1111" and a.brand == "Visa"
    assert len(a.auth_code) == 6 and a.transaction_id.startswith("GW")
    assert gw.transaction(a.transaction_id) == a


@pytest.mark.parametrize("cents,code,reason", [("0.01", "05", "Do not honor"), ("0.03", "54", "Expired card"),
                                               ("0.04", "51", "Insufficient funds")])
def test_decline_rules(gw, cents, code, reason):
    a = gw.authorize(swipe(), Decimal("10") + Decimal(cents), key())
    assert not a.approved and a.reason_code == code and a.reason == reason and not a.auth_code


def test_timeout_after_commit_is_found_by_key_and_charged_once(gw, server):
    k = key()
    card = swipe()
    started = time.monotonic()
    with pytest.raises(NetworkError) as info:
        gw.authorize(card, Decimal("20.02"), k)
    assert info.value.outcome_unknown and time.monotonic() - started < 4.0
    found = gw.find(k)
    assert found is not None and found.approved and found.amount == Decimal("20.02")
    calls_before = ic_gateway.store_of(server).counts()
    again = gw.find(k)
    assert again == found
    assert ic_gateway.store_of(server).counts()["approved"] == calls_before["approved"]


def test_same_key_answers_the_first_result_and_charges_nothing_more(gw, server):
    k, card = key(), swipe()
    first = gw.authorize(card, Decimal("15.00"), k)
    before = ic_gateway.store_of(server).counts()
    second = gw.authorize(card, Decimal("15.00"), k)
    assert second == first
    after = ic_gateway.store_of(server).counts()
    assert after["transactions"] == before["transactions"] and after["approved"] == before["approved"]


def test_same_key_other_request_is_refused(gw):
    k, card = key(), swipe()
    gw.authorize(card, Decimal("15.00"), k)
    with pytest.raises(GatewayError) as info:
        gw.authorize(card, Decimal("16.00"), k)
    assert info.value.code == "idempotency_conflict" and not info.value.outcome_unknown


def test_replayed_card_read_under_a_new_key_is_declined(gw):
    card = swipe()
    assert gw.authorize(card, Decimal("5.00"), key()).approved
    again = gw.authorize(card, Decimal("5.00"), key())
    assert not again.approved and again.reason_code == "DU"


def test_find_unknown_key_is_none(gw):
    assert gw.find("never-used-key-xyz") is None
    assert gw.transaction("GW000000-NOPE") is None


def test_void_is_idempotent_and_refused_for_a_decline(gw):
    a = gw.authorize(swipe(), Decimal("30.00"), key())
    v1 = gw.void(a.transaction_id, key(), reason="customer request")
    v2 = gw.void(a.transaction_id, key())
    assert v1.voided and not v1.already_voided and v2.already_voided
    assert gw.transaction(a.transaction_id).voided
    declined = gw.authorize(swipe(), Decimal("30.01"), key())
    with pytest.raises(GatewayError) as info:
        gw.void(declined.transaction_id, key())
    assert info.value.code == "not_approved"


def test_card_checks_expired_luhn_and_wrong_key(gw):
    assert gw.authorize(swipe(expiry="2001"), Decimal("9.00"), key()).reason_code == "54"
    assert gw.authorize(swipe(pan="4111111111111112"), Decimal("9.00"), key()).reason_code == "14"
    wrong_bdk = swipe(bdk=bytes.fromhex("00112233445566778899AABBCCDDEEFF"))
    assert gw.authorize(wrong_bdk, Decimal("9.00"), key()).reason_code == "DK"


@pytest.mark.parametrize("spec", [dict(format="original", rendering="hex", checks="bytes"), dict(format="keyed"),
                                  dict(aes=True), dict(pan="5454545454545454", name="DOE/JANE")])
def test_other_reader_formats_approve(gw, spec):
    a = gw.authorize(swipe(**spec), Decimal("11.00"), key())
    assert a.approved, a.reason


def test_unavailable_rule_is_a_retryable_unknown_outcome_and_commits_nothing(gw):
    k = key()
    with pytest.raises(GatewayError) as info:
        gw.authorize(swipe(), Decimal("7.05"), k)
    assert info.value.retryable and info.value.outcome_unknown
    assert gw.find(k) is None


def test_wrong_key_and_unreachable_gateway(server):
    with GatewayClient(server.url, "wrong-key", timeout=0.4) as bad, pytest.raises(AuthError):
        bad.find("anything-at-all")
    with GatewayClient("http://127.0.0.1:9", DEMO_WEB_SERVICE_KEY, timeout=0.4) as down:
        with pytest.raises(NetworkError) as info:
            down.authorize(swipe(), Decimal("1.00"), key())
        assert info.value.outcome_unknown is False  # refused: nothing was sent


def test_only_encrypted_frame_and_masked_fields_go_over_the_wire(server, monkeypatch):
    spec = FrameSpec(ksn=f"62994900000000A{next(_ksn):05X}")
    card = parse_frame(build_frame(spec))
    sent = []
    real = requests.Session.request

    def spy(self, method, url, **kw):
        sent.append(json.dumps(kw.get("json") or {}))
        return real(self, method, url, **kw)

    monkeypatch.setattr(requests.Session, "request", spy)
    with GatewayClient(server.url, DEMO_WEB_SERVICE_KEY, timeout=2) as gw:
        gw.authorize(card, Decimal("3.00"), key())
    body = sent[0]
    assert spec.pan not in body and "=2812" not in body and "^2812" not in body
    assert json.loads(body)["card"]["ksn"] == spec.ksn
    assert set(card_fields(card)) == {"encrypted_frame", "ksn", "encryption", "format", "masked_pan", "last4",
                                      "brand", "name", "expiry", "serial"}


def test_sandbox_settings_route(server):
    url = f"{server.url}/sandbox/gateway"
    before = ic_gateway.store_of(server).stall_s
    r = requests.post(url, json={"stall_s": 2.5}, headers={KEY_HEADER: DEMO_WEB_SERVICE_KEY}, timeout=2)
    assert r.status_code == 200 and r.json()["stall_s"] == 2.5
    assert requests.get(url, timeout=2).status_code == 401
    requests.post(url, json={"stall_s": before}, headers={KEY_HEADER: DEMO_WEB_SERVICE_KEY}, timeout=2)
    assert ic_gateway.store_of(server).stall_s == before


def test_gateway_from_services_uses_the_gateway_url_only(server):
    from console.adapters.gateway import gateway_from_services
    from console.app import build_services
    from console.secrets import MemoryBackend

    sandbox = build_services("sandbox", secret_backend=MemoryBackend(),
                             endpoints={"ic_api_url": server.url, "ic_web_service_key": DEMO_WEB_SERVICE_KEY})
    gw = gateway_from_services(sandbox)
    assert gw.base_url == server.url and gw.verify is True
    assert gw.find("never-used-key-abc") is None
    production = build_services("sandbox", secret_backend=MemoryBackend(),
                                endpoints={"ic_api_url": server.url, "ic_gateway_url": ""})
    production.profile = production.profile.__class__(name="town", values=dict(production.profile.values))
    with pytest.raises(Exception) as info:
        gateway_from_services(production)
    assert "No card gateway URL" in str(info.value)
