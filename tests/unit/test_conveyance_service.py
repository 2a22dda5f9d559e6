"""Conveyance service with in-memory Caselle and Invoice Cloud fakes and the real journal: detection
(final-billed / opened events), review for unposted payments, reconciliation before a re-send."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from console.adapters.journal import DONE, NEEDS_REVIEW, NewEntry
from console.app import build_services
from console.errors import NetworkError, NotPermitted
from console.secrets import MemoryBackend
from console.services.conveyance import KIND, ConveyanceService
from console.services.posting import RECEIPT, RetryPolicy


class FakeCaselle:
    def __init__(self):
        self.events: list[dict] = []
        self.autopay = {"100102-01": True}

    def add(self, kind, account, related="", name="Owner"):
        self.events.append({"sequence": len(self.events) + 1, "kind": kind, "accountNumber": account,
                            "location": account.split("-")[0], "occurredAt": "2026-12-01T10:00:00Z",
                            "name": name, "relatedAccount": related or None})

    def execute(self, operation, variables):
        assert operation == "account_events"
        after, first = variables["afterSequence"] or 0, variables["first"]
        return {"accountEvents": [e for e in self.events if e["sequence"] > after][:first]}

    def customer_detail(self, account, usage_months=24):
        return SimpleNamespace(autopay=self.autopay.get(account, False), paperless=False)


class FakeIC:
    def __init__(self):
        self.store: dict[str, dict] = {}
        self.posts: list[str] = []
        self.lookups: list[str] = []
        self.fail_after_commit = 0
        self.unknown: set[str] = set()

    def post_conveyance(self, body, key):
        self.posts.append(key)
        if body["OldAccountNumber"] in self.unknown:
            err = NetworkError("nope")
            err.code = "ACCOUNT_NOT_REGISTERED"
            raise err
        replayed = key in self.store
        self.store.setdefault(key, {"old_account_number": body["OldAccountNumber"], "autopay_was": True,
                                    "conveyance_id": f"CNV-{len(self.store) + 1}"})
        if self.fail_after_commit:
            self.fail_after_commit -= 1
            raise NetworkError("dropped after commit")
        return {**self.store[key], "replayed": replayed}

    def find_conveyance(self, key):
        self.lookups.append(key)
        return self.store.get(key)


@pytest.fixture
def svc():
    services = build_services("sandbox", secret_backend=MemoryBackend())
    caselle, ic = FakeCaselle(), FakeIC()
    service = ConveyanceService(services.journal, caselle, ic, services.profile, services.audit,
                                operators=services.operators, retry=RetryPolicy(0.0, 0.0), page_size=2)
    service.caselle_fake, service.ic_fake = caselle, ic
    yield service
    services.close()


def test_final_billed_and_opened_events_make_one_conveyance_per_old_account(svc):
    c = svc.caselle_fake
    c.add("FINAL_BILLED", "100102-01", "100102-02")
    c.add("OPENED", "100102-02", "100102-01", name="Robin Buyer")
    c.add("OPENED", "100300-01")  # a new location: no previous account, not a conveyance
    c.add("FINAL_BILLED", "100400-03")  # moved out, nobody moved in yet
    dry = svc.sync(dry_run=True)
    assert dry.found == 2 and svc.ic_fake.posts == []
    assert [(x.old_account, x.new_account, x.new_owner, x.autopay) for x in dry.pending] == [
        ("100102-01", "100102-02", "Robin Buyer", True), ("100400-03", "", "", False)]
    result = svc.sync(operator="clerk1")
    assert result.complete and dict(result.outcomes) == {"sent": 2}
    assert sorted(svc.ic_fake.posts) == ["conveyance:100102-01", "conveyance:100400-03"]
    again = svc.sync(operator="clerk1")
    assert again.found == 0 and not again.outcomes and len(svc.ic_fake.posts) == 2


def test_an_unknown_outcome_is_looked_up_before_any_resend(svc):
    svc.caselle_fake.add("FINAL_BILLED", "100102-01", "100102-02")
    svc.ic_fake.fail_after_commit = 1  # Invoice Cloud stored it, the answer was lost
    result = svc.sync(operator="clerk1")
    assert result.complete and dict(result.outcomes) == {"already_there": 1}
    assert svc.ic_fake.posts == ["conveyance:100102-01"] and svc.ic_fake.lookups == ["conveyance:100102-01"]
    assert svc.journal.get("conveyance:100102-01").state == DONE


def test_not_enrolled_old_account_is_done_with_nothing_to_release(svc):
    svc.caselle_fake.add("FINAL_BILLED", "100900-01")
    svc.ic_fake.unknown.add("100900-01")
    result = svc.sync(operator="clerk1")
    assert dict(result.outcomes) == {"not_enrolled": 1} and result.complete
    assert "nothing to release" in svc.journal.get("conveyance:100900-01").detail


def test_only_the_conveyance_with_an_unposted_payment_waits_for_review(svc):
    svc.journal.add_entry(NewEntry("payment:P-9", RECEIPT, {"account": "100102-01", "amount": "5.00"}),
                          operator="clerk1")
    svc.caselle_fake.add("FINAL_BILLED", "100102-01", "100102-02")
    svc.caselle_fake.add("FINAL_BILLED", "100200-01", "100200-02")
    result = svc.sync(operator="clerk1")
    assert dict(result.outcomes) == {"sent": 1}
    assert [(x.old_account, x.outcome) for x in result.review] == [("100102-01", "payment_pending")]
    assert result.as_dict()["needs_review"][0]["waiting_for"] == ["payment:P-9"]
    assert "payment_pending" not in result.outcomes
    states = {e.key: e.state for e in svc.journal.entries(kinds=[KIND])}
    assert states == {"conveyance:100102-01": NEEDS_REVIEW, "conveyance:100200-01": DONE}


def test_sending_needs_the_account_sync_permission(svc):
    svc.caselle_fake.add("FINAL_BILLED", "100102-01", "100102-02")
    with pytest.raises(NotPermitted):
        svc.sync(operator="cashier1")
    assert svc.ic_fake.posts == [] and svc.journal.entries(kinds=[KIND]) == []
    assert svc.sync(dry_run=True).found == 1  # looking is not sending


def test_a_page_of_events_without_a_conveyance_still_moves_the_watermark(svc):
    svc.caselle_fake.add("OPENED", "100300-01")  # a new location: nobody moved out
    svc.caselle_fake.add("OPENED", "100301-01")
    first = svc.sync(operator="clerk1")
    assert first.found == 0 and not first.outcomes and first.watermark_after == 2
    svc.caselle_fake.add("FINAL_BILLED", "100102-01", "100102-02")
    second = svc.sync(operator="clerk1")
    assert second.found == 1 and dict(second.outcomes) == {"sent": 1} and second.watermark_after == 3
