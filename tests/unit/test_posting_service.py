"""The posting engine against an in-memory Caselle fake (faults included) and a real journal file."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.adapters.journal import (
    DONE,
    IN_FLIGHT,
    NEEDS_REVIEW,
    PENDING,
    REJECTED,
    REPORTED,
    DuplicateFileError,
    SqliteJournal,
)
from console.config import Profile, sandbox_profile
from console.domain.models import CustomerDetail, Receipt
from console.errors import NetworkError, NotPermitted, RemoteError, UnsupportedVersionError, ValidationError
from console.services.audit import AuditLog
from console.services.operators import SignInError
from console.services.posting import LOCKBOX_ITEM, RECEIPT, PostingService, RetryPolicy
from tests.profiles import POSTER

TODAY = dt.date(2026, 11, 26)


class Code(RemoteError):
    def __init__(self, code, message="refused"):
        super().__init__(message, system="Caselle")
        self.code = code


def raise_scripted_fault(faults: list[str], when: str) -> None:
    """Pop and raise the next scripted fault if it is due ``when`` ("before" or "after" the call
    commits): "drop_…" a dropped connection, "5xx_…" a 503 whose outcome is unknown."""
    if faults and faults[0].endswith(when):
        f = faults.pop(0)
        if f.startswith("5xx"):
            e = Code("HTTP_503", "503")
            e.outcome_unknown = True
            raise e
        raise NetworkError("dropped", system="Caselle")


class FakeCaselle:
    """Caselle in memory, idempotent by reference like the real one, with scripted faults."""

    def __init__(self, version="2021.05"):
        self.version = version
        self.receipts: dict[str, Receipt] = {}
        self.batches: dict[dt.date, dict] = {}
        self.customers = {f"1000{i:02d}-01": CustomerDetail(f"1000{i:02d}-01", "N", "", "", "4355550100",
                                                           "a@example.com", Decimal("0"), Decimal("0"), Decimal("0"),
                                                           None, None, True, False, False) for i in range(20)}
        self.faults: list[str] = []  # popped per mutation call: "drop_before", "drop_after", "5xx_after"
        self.calls: list[tuple] = []
        self.counter = 0
        self.lock = threading.Lock()

    def _fault(self, when):
        raise_scripted_fault(self.faults, when)

    def require(self, feature):
        if feature in ("ach_reject", "set_direct_pay_status") and self.version != "2021.05":
            raise UnsupportedVersionError(f"{feature} needs 2021.05", system="Caselle")

    def find_receipt(self, reference):
        self.calls.append(("find", reference))
        return self.receipts.get(reference)

    def list_batches(self, start=None, end=None):
        from types import SimpleNamespace

        out = []
        for b in self.batches.values():
            live = [r for r in self.receipts.values() if r.batch_id == b["id"] and not r.voided]
            out.append(SimpleNamespace(batch_id=b["id"], status=b["status"], receipt_count=len(live),
                                       total=sum((r.amount for r in live), Decimal("0.00")),
                                       voided_count=sum(1 for r in self.receipts.values()
                                                        if r.batch_id == b["id"] and r.voided)))
        return out

    def receipt_by_number(self, number):
        return next((r for r in self.receipts.values() if r.receipt_number == number), None)

    def open_batch(self, d):
        self.calls.append(("open_batch", d))
        b = self.batches.setdefault(d, {"id": f"CR{d:%Y%m%d}", "status": "OPEN"})
        if b["status"] == "CLOSED":
            raise Code("BATCH_CLOSED")
        return b["id"]

    def batch_totals(self, d):
        from types import SimpleNamespace

        self.calls.append(("batch_totals", d))
        b = self.batches.get(d)
        return SimpleNamespace(batch_id=b["id"], status=b["status"]) if b is not None else None

    def close_batch(self, batch_id):
        self.calls.append(("close_batch", batch_id))
        for b in self.batches.values():
            if b["id"] == batch_id:
                b["status"] = "CLOSED"

    def create_receipt(self, *, reference, account_number, amount, tender, receipt_date, batch_date, payer_name="",
                       memo=""):
        self.calls.append(("create", reference))
        self._fault("before")
        with self.lock:
            if reference not in self.receipts:
                if account_number not in self.customers:
                    raise Code("NOT_FOUND", f"no account {account_number}")
                b = self.batches.get(batch_date)
                if b is None or b["status"] != "OPEN":
                    raise Code("BATCH_CLOSED")
                self.counter += 1
                self.receipts[reference] = Receipt(f"5.{self.counter:05d}", reference, account_number, amount,
                                                   b["id"], receipt_date, tender, extra={"status": "POSTED"})
        self._fault("after")
        return self.receipts[reference]

    def void_receipt(self, number, reason):
        self.calls.append(("void", number))
        self._fault("before")
        ref = next(k for k, r in self.receipts.items() if r.receipt_number == number)
        self.receipts[ref] = replace(self.receipts[ref], voided=True, void_reason=reason,
                                     extra={**self.receipts[ref].extra, "status": "VOIDED"})
        self._fault("after")
        return self.receipts[ref]

    def ach_reject(self, reference, return_code, reason, nsf_fee=None):
        self.calls.append(("reject", reference, return_code, nsf_fee))
        self.require("ach_reject")
        self.receipts[reference] = replace(self.receipts[reference], extra={"status": "REVERSED"})
        return self.receipts[reference]

    def customer_detail(self, account):
        return self.customers.get(account)

    def update_customer(self, account, **changes):
        self.calls.append(("update", account, changes))
        self.customers[account] = replace(self.customers[account], **changes)

    def set_direct_pay_status(self, account, status):
        self.calls.append(("direct_pay", account, status))
        self.customers[account] = replace(self.customers[account], autopay=status == "ACTIVE")

    def creates(self):
        return [c for c in self.calls if c[0] == "create"]


def pay(i, *, status="APPROVED", inv_type="42", amount="10.00", fee="2.95", account=None, tender="CARD",
        day=dt.date(2026, 11, 25)):
    return {"PaymentId": f"P{i:06d}", "ConfirmationNumber": f"C{i:012d}", "AccountNumber": account or f"1000{i % 20:02d}-01",
            "InvoiceNumber": f"INV{i}", "InvoiceType": int(inv_type), "PayerName": "DOE JANE", "Tender": tender,
            "CardLast4": "1234" if tender == "CARD" else "", "Amount": Decimal(amount),
            "ConvenienceFee": Decimal(fee), "PaymentDate": dt.datetime.combine(day, dt.time(10, 0)),
            "SettlementDate": day + dt.timedelta(days=1), "Status": status}


@pytest.fixture
def env(tmp_path):
    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    audit = AuditLog(tmp_path / "journal.sqlite3")
    fake = FakeCaselle()
    # one worker: the fakes' scripted faults and these tests' call orders are sequential
    svc = PostingService(journal, fake, sandbox_profile(), audit, retry=RetryPolicy(base_s=0.001, cap_s=0.01),
                         today=lambda: TODAY, workers=1)
    yield svc, fake, journal, audit
    journal.close()
    audit.close()


def _import(svc, kind, rows, fp="fp", operator="clerk1", **kw):
    plan = svc.plan_records(kind, [(i + 2, r) for i, r in enumerate(rows)], name=f"{fp}.csv", fingerprint=fp)
    return svc.import_plan(plan, operator, **kw)


def test_receipts_posted_once_without_fee_in_payment_date_batch(env):
    svc, fake, journal, audit = env
    _import(svc, "payments", [pay(i) for i in range(10)] + [pay(99, day=dt.date(2026, 11, 24))])
    res = svc.post_pending(operator="clerk1")
    assert res.outcomes["posted"] == 11 and res.complete
    assert len(fake.receipts) == 11 and fake.receipts["P000000"].amount == Decimal("10.00")
    assert fake.receipts["P000099"].batch_id == "CR20261124"
    e = journal.get("P000003")
    assert e.state == DONE and e.remote_ref == fake.receipts["P000003"].receipt_number
    assert e.payload["batch_id"] == "CR20261125"
    # auto close: both dates are before "today"
    assert sorted(res.batches_closed) == ["CR20261124", "CR20261125"]
    assert svc.post_pending(operator=POSTER).processed == 0  # nothing twice
    assert len(fake.creates()) == 11
    assert audit.verify().ok and audit.rows(action="posting.run")
    audited = [e for row in audit.rows(action="posting.entries") for e in row.details["entries"]]
    assert sorted(k for k, *_ in audited) == sorted(f"P{i:06d}" for i in [*range(10), 99])
    assert all(state == "done" and ref.startswith("5.") for _, state, _, ref in audited)


def test_today_batch_stays_open_and_auto_close_can_be_off(env):
    svc, fake, journal, _ = env
    _import(svc, "payments", [pay(1, day=TODAY)])
    assert svc.post_pending(operator=POSTER).batches_closed == []
    svc.profile = svc.profile.with_values(biller_batch_auto_close=False)
    _import(svc, "payments", [pay(2)], fp="fp2")
    assert svc.post_pending(operator=POSTER).batches_closed == []
    assert fake.batches[dt.date(2026, 11, 25)]["status"] == "OPEN"


def test_late_payment_for_closed_batch_goes_to_todays_batch(env):
    svc, fake, journal, _ = env
    fake.batches[dt.date(2026, 11, 20)] = {"id": "CR20261120", "status": "CLOSED"}
    _import(svc, "payments", [pay(1, day=dt.date(2026, 11, 20))])
    svc.post_pending(operator=POSTER)
    r = fake.receipts["P000001"]
    assert r.batch_id == "CR20261126" and r.receipt_date == dt.date(2026, 11, 20)


def test_cloudstore_types_go_to_the_lockbox_queue(env):
    svc, fake, journal, _ = env
    _import(svc, "payments", [pay(1), pay(2, inv_type="803"), pay(3, inv_type="805", status="APPROVED")])
    res = svc.post_pending(operator=POSTER)
    assert set(fake.receipts) == {"P000001"} and res.complete
    items = journal.entries(kinds=[LOCKBOX_ITEM])
    assert [e.key for e in items] == ["lockbox:P000002", "lockbox:P000003"]
    assert all(e.state == PENDING for e in items)
    assert items[0].payload["gl_account"] == "10-4300-000" and items[0].payload["item_code"] == "803"
    assert items[0].payload["amount"] == "10.00" and "card_last4" not in items[0].payload


@pytest.mark.parametrize("fault", ["drop_after", "5xx_after"])
def test_unknown_outcome_is_reconciled_not_resent(env, fault):
    svc, fake, journal, _ = env
    _import(svc, "payments", [pay(1)])
    fake.faults = [fault]
    res = svc.post_pending(operator=POSTER)
    assert res.outcomes["already_there"] == 1 and len(fake.creates()) == 1
    assert ("find", "P000001") in fake.calls
    assert journal.get("P000001").state == DONE


def test_failure_before_commit_is_resent_after_reconcile(env):
    svc, fake, journal, _ = env
    _import(svc, "payments", [pay(1)])
    fake.faults = ["drop_before", "drop_before"]
    res = svc.post_pending(operator=POSTER)
    assert res.outcomes["posted"] == 1 and len(fake.creates()) == 3 and len(fake.receipts) == 1
    calls = [c[0] for c in fake.calls if c[0] in ("find", "create")]
    assert calls == ["create", "find", "create", "find", "create"]  # never two sends without a look


def test_permanent_refusal_is_rejected_and_retryable(env):
    svc, fake, journal, audit = env
    _import(svc, "payments", [pay(1, account="999999-01")])
    res = svc.post_pending(operator=POSTER)
    e = journal.get("P000001")
    assert e.state == REJECTED and e.outcome == "NOT_FOUND" and "999999-01" in e.detail
    assert not res.complete or res.outcomes["NOT_FOUND"] == 1
    fake.customers["999999-01"] = fake.customers["100001-01"]
    assert svc.retry_entries(["P000001"], "super1") == 1
    svc.post_pending(operator=POSTER)
    assert journal.get("P000001").state == DONE
    assert audit.rows(action="posting.retry")


def test_receipt_under_reference_with_other_amount_goes_to_review(env):
    svc, fake, journal, _ = env
    _import(svc, "payments", [pay(1)])
    # Caselle already holds another receipt under this reference (keyed by hand, other amount)
    fake.receipts["P000001"] = Receipt("5.09999", "P000001", "100001-01", Decimal("99.00"), "CR", TODAY, "CARD",
                                       extra={"status": "POSTED"})
    res = svc.post_pending(operator=POSTER)
    e = journal.get("P000001")
    assert e.state == NEEDS_REVIEW and e.evidence["differences"]["amount"] == {"journal": "10.00", "caselle": "99.00"}
    assert not res.complete or res.outcomes["mismatch"] == 1
    svc.resolve_review("P000001", "super1", resolution=REJECTED, note="duplicate keyed by hand")
    assert journal.get("P000001").state == REJECTED


def test_crashed_entry_in_flight_is_reconciled_on_next_run(env):
    svc, fake, journal, _ = env
    _import(svc, "payments", [pay(1), pay(2)])
    # a process claimed P000001, sent it (Caselle committed) and died
    [e] = journal.claim("somehost:1:dead", [RECEIPT], lease_s=0.0)
    svc.ensure_batch(dt.date(2026, 11, 25))
    fake.create_receipt(reference=e.key, account_number="100001-01", amount=Decimal("10.00"), tender="CARD",
                        receipt_date=dt.date(2026, 11, 25), batch_date=dt.date(2026, 11, 25))
    res = svc.post_pending(operator=POSTER)
    assert res.outcomes == {"already_there": 1, "posted": 1}
    assert len(fake.creates()) == 2 and len(fake.receipts) == 2


def test_voids(env):
    svc, fake, journal, _ = env
    _import(svc, "payments", [pay(1), pay(2)], fp="a")
    svc.post_pending(operator=POSTER)
    svc.profile = svc.profile.with_values(biller_batch_auto_close=False)
    fake.batches[dt.date(2026, 11, 25)]["status"] = "OPEN"
    _import(svc, "payments", [pay(1, status="VOIDED"), pay(7, status="VOIDED")], fp="b")
    res = svc.post_pending(operator=POSTER)
    assert fake.receipts["P000001"].voided and not fake.receipts["P000002"].voided
    assert journal.get("void:P000001").state == DONE
    v = journal.get("void:P000007")
    assert v.state == REPORTED and v.outcome == "void_not_posted" and "never posted" in v.detail
    assert res.complete
    assert "P000007" not in fake.receipts  # nothing invented


def test_void_waits_for_its_receipt_in_the_same_run(env):
    svc, fake, journal, _ = env
    _import(svc, "payments", [pay(1)], fp="a")
    _import(svc, "payments", [pay(1, status="VOIDED")], fp="b")
    svc.post_pending(operator=POSTER)
    assert journal.get("void:P000001").state == DONE and fake.receipts["P000001"].voided


def test_duplicate_file_refused_and_supervisor_override(env):
    svc, fake, journal, audit = env
    _import(svc, "payments", [pay(1)])
    plan = svc.plan_records("payments", [(2, pay(1))], name="again.csv", fingerprint="fp")
    assert plan.already_imported is not None
    with pytest.raises(DuplicateFileError):
        svc.import_plan(plan, "clerk1")
    with pytest.raises(NotPermitted):
        svc.import_plan(plan, "clerk1", override=True)
    res = svc.import_plan(plan, "clerk1", override=True, approver="super1")
    assert res.added == 0 and res.already_journaled == ["P000001"]
    assert audit.rows(action="file.override")[0].details["approved_by"] == "super1"
    svc.post_pending(operator=POSTER)
    assert len(fake.creates()) == 1


def test_same_payment_id_with_other_content_is_an_error(env):
    svc, _, journal, _ = env
    _import(svc, "payments", [pay(1)], fp="a")
    with pytest.raises(ValidationError) as err:
        _import(svc, "payments", [pay(2), pay(1, amount="11.00")], fp="b")
    assert err.value.problems[0].line == 3 and err.value.problems[0].rule == "payment_id_conflict"
    assert journal.get("P000002") is None  # nothing journaled from the bad file


def test_rejects_reverse_with_fee_and_report_unposted(env):
    svc, fake, journal, _ = env
    _import(svc, "payments", [pay(1, tender="ACH")], fp="a")
    svc.post_pending(operator=POSTER)
    rows = [{"PaymentId": "P000001", "AccountNumber": "100001-01", "Amount": Decimal("10.00"), "ReturnCode": "R01",
             "ReturnDate": dt.date(2027, 1, 20), "Reason": "Insufficient funds"},
            {"PaymentId": "P000555", "AccountNumber": "100001-01", "Amount": Decimal("5.00"), "ReturnCode": "R02",
             "ReturnDate": dt.date(2027, 1, 20), "Reason": ""}]
    _import(svc, "rejects", rows, fp="r")
    svc.post_pending(operator=POSTER)
    assert ("reject", "P000001", "R01", Decimal("25.00")) in fake.calls  # 60 days later, batch closed: fine
    assert journal.get("reject:P000001").state == DONE
    assert journal.get("reject:P000555").outcome == "reject_not_posted"


def test_reject_amount_must_match_payment(env):
    svc, _, _, _ = env
    _import(svc, "payments", [pay(1, tender="ACH")], fp="a")
    rows = [{"PaymentId": "P000001", "AccountNumber": "100001-01", "Amount": Decimal("10.01"), "ReturnCode": "R01",
             "ReturnDate": dt.date(2027, 1, 20), "Reason": ""}]
    with pytest.raises(ValidationError) as err:
        _import(svc, "rejects", rows, fp="r")
    assert err.value.problems[0].rule == "reject_amount" and err.value.problems[0].column == "Amount"


def test_rejects_disabled_on_2021_02(env):
    svc, _, journal, _ = env
    svc.profile = svc.profile.with_values(caselle_api_version="2021.02.160")
    with pytest.raises(UnsupportedVersionError, match="2021.05"):
        _import(svc, "rejects", [], fp="r")
    assert journal.file_record("r") is None  # can be imported after the upgrade


def _chg(i, account, fld, new, at):
    return {"ChangeId": f"CH{i}", "AccountNumber": account, "ChangedAt": at, "Field": fld, "OldValue": "",
            "NewValue": new}


def test_changes_latest_wins_noops_and_version_gate(env):
    svc, fake, journal, _ = env
    t = dt.datetime(2026, 11, 20, 9, 0)
    rows = [
        _chg(1, "100001-01", "PAPERLESS", "Y", t + dt.timedelta(hours=2)),
        _chg(2, "100001-01", "PAPERLESS", "N", t),  # older: superseded
        _chg(3, "100002-01", "EMAIL", "A@Example.com", t),  # already holds: no-op
        _chg(4, "100003-01", "PHONE", "(801) 555-0199", t),
        _chg(5, "100004-01", "AUTOPAY", "ENROLLED", t),
    ]
    _import(svc, "changes", rows)
    svc.post_pending(operator=POSTER)
    assert journal.get("change:CH1").state == DONE and fake.customers["100001-01"].paperless is True
    assert journal.get("change:CH2").outcome == "superseded"
    assert journal.get("change:CH3").state == REPORTED and journal.get("change:CH3").outcome == "no_op"
    assert fake.customers["100003-01"].phone == "(801) 555-0199"
    assert fake.customers["100004-01"].autopay is True
    # a later file with an older change for the same field is superseded too
    _import(svc, "changes", [_chg(6, "100001-01", "PAPERLESS", "N", t + dt.timedelta(hours=1))], fp="2")
    assert journal.get("change:CH6").outcome == "superseded"


def test_autopay_changes_rejected_on_old_api(env):
    svc, fake, journal, _ = env
    svc.profile = svc.profile.with_values(caselle_api_version="2021.02.160")
    t = dt.datetime(2026, 11, 20, 9, 0)
    _import(svc, "changes", [_chg(1, "100004-01", "AUTOPAY", "ENROLLED", t), _chg(2, "100004-01", "PAPERLESS", "Y", t)])
    svc.post_pending(operator=POSTER)
    e = journal.get("change:CH1")
    assert e.state == REJECTED and e.outcome == "unsupported_version" and "2021.05" in e.detail
    assert journal.get("change:CH2").state == DONE
    assert not any(c[0] == "direct_pay" for c in fake.calls)


def test_cancel_stops_and_resume_finishes(env):
    svc, fake, journal, _ = env
    _import(svc, "payments", [pay(i) for i in range(30)])
    cancel = threading.Event()
    seen = []

    def progress(done, total, message=""):
        seen.append((done, total))
        if done >= 5:
            cancel.set()

    res = svc.post_pending(progress, cancel, operator=POSTER)
    assert res.cancelled and not res.complete and 5 <= len(fake.receipts) < 30
    assert seen[0][1] == 30
    res2 = svc.post_pending(operator=POSTER)
    assert res2.complete and len(fake.receipts) == 30 and len(fake.creates()) == 30


def test_entry_that_never_gets_an_answer_goes_to_review(env):
    svc, fake, journal, _ = env
    svc.retry = RetryPolicy(base_s=0.0, cap_s=0.0, max_attempts=3)
    _import(svc, "payments", [pay(1)])
    fake.find_receipt = lambda ref: (_ for _ in ()).throw(NetworkError("down", system="Caselle"))
    fake.faults = ["drop_before"]
    svc.post_pending(operator=POSTER)
    e = journal.get("P000001")
    assert e.state == NEEDS_REVIEW and e.outcome == "gave_up" and e.evidence["attempts"] == 4


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["drop_before", "drop_after", "5xx_after", "ok"]), max_size=30))
def test_any_fault_sequence_posts_each_payment_exactly_once(tmp_path_factory, faults):
    path = tmp_path_factory.mktemp("j") / "j.sqlite3"
    journal = SqliteJournal(path)
    fake = FakeCaselle()
    fake.faults = [f for f in faults if f != "ok"]
    svc = PostingService(journal, fake, sandbox_profile(), retry=RetryPolicy(base_s=0.0, cap_s=0.0, max_attempts=50),
                         today=lambda: TODAY, workers=1)  # the scripted faults come in order
    rows = [pay(i, amount=f"{i + 1}.25") for i in range(8)]
    _import(svc, "payments", rows)
    res = svc.post_pending(operator=POSTER)
    assert res.complete
    assert sorted(fake.receipts) == sorted(r["PaymentId"] for r in rows)
    assert sum(r.amount for r in fake.receipts.values()) == sum(r["Amount"] for r in rows)
    assert all(e.state == DONE for e in journal.entries())
    assert journal.counts()[IN_FLIGHT] == 0
    journal.close()


def _counter_receipt(fake, number="5.00777", by="cashier1", day=TODAY, ref="CTR-1"):
    r = Receipt(number, ref, "100001-01", Decimal("40.00"), "CR20261126", day, "CASH",
                extra={"status": "POSTED", "createdBy": by})
    fake.receipts[ref] = r
    return r


def test_manual_void_own_same_day_receipt_by_cashier(env):
    svc, fake, journal, audit = env
    r = _counter_receipt(fake)
    e = svc.void_receipt_manually(r, "WRONG_AMOUNT", "keyed 40 instead of 4", "cashier1")
    assert e.state == DONE and fake.receipts["CTR-1"].voided
    assert fake.receipts["CTR-1"].void_reason == "Wrong amount keyed: keyed 40 instead of 4"
    row = audit.rows(action="receipt.void")[-1]
    assert row.operator == "cashier1" and row.details["reason"] == "WRONG_AMOUNT" and row.details["approved_by"] is None
    # a second request voids nothing twice
    assert svc.void_receipt_manually(r.receipt_number, "WRONG_AMOUNT", "again", "cashier1").state == DONE
    assert [c for c in fake.calls if c[0] == "void"] == [("void", "5.00777")]


@pytest.mark.parametrize("case", ["other_cashier", "yesterday", "profile_forbids"])
def test_manual_void_needs_supervisor(env, case):
    svc, fake, journal, audit = env
    by, day = ("cashier1", TODAY)
    if case == "other_cashier":
        by = "clerk1"
    if case == "yesterday":
        day = TODAY - dt.timedelta(days=1)
    if case == "profile_forbids":
        svc.profile = svc.profile.with_values(biller_cashier_voids_own_same_day=False)
    r = _counter_receipt(fake, by=by, day=day)
    with pytest.raises(NotPermitted, match="supervisor"):
        svc.void_receipt_manually(r, "DUPLICATE", "entered twice", "cashier1")
    with pytest.raises(SignInError, match="PIN is wrong"):
        svc.void_receipt_manually(r, "DUPLICATE", "entered twice", "cashier1", supervisor_pin="0000")
    assert not fake.receipts["CTR-1"].voided
    e = svc.void_receipt_manually(r, "DUPLICATE", "entered twice", "cashier1", supervisor_pin="9999")
    assert e.state == DONE and fake.receipts["CTR-1"].voided
    assert audit.rows(action="receipt.void")[-1].details["approved_by"] == "super1"
    assert audit.rows(action="receipt.void_refused")
    assert audit.verify().ok


def test_manual_void_by_supervisor_and_input_rules(env):
    svc, fake, _, _ = env
    r = _counter_receipt(fake, by="clerk1", day=TODAY - dt.timedelta(days=3))
    with pytest.raises(ValidationError, match="reason"):
        svc.void_receipt_manually(r, "BECAUSE", "x y z", "super1")
    with pytest.raises(ValidationError, match="comment"):
        svc.void_receipt_manually(r, "OTHER", "  ", "super1")
    assert svc.void_receipt_manually(r, "OTHER", "customer moved", "super1").state == DONE


def test_reconciliation_report_counts_and_exports(env, tmp_path):
    from console.services import reconciliation

    svc, fake, journal, _ = env
    rows = [pay(1, amount="10.00"), pay(2, amount="20.00", tender="ACH"), pay(3, amount="5.00", inv_type="801"),
            pay(4, amount="7.00", account="999999-01"), pay(5, status="VOIDED", amount="3.00")]
    _import(svc, "payments", rows, fp="day1")
    svc.post_pending(operator=POSTER)
    rep = reconciliation.build_report(journal, fingerprints=["day1"])
    t = rep.total
    assert t.counts["in_file"] == 5 and t.amounts["in_file"] == Decimal("45.00")
    assert t.counts["posted"] == 2 and t.amounts["posted"] == Decimal("30.00")
    assert t.counts["rejected"] == 1 and t.amounts["rejected"] == Decimal("7.00")
    assert t.counts["lockbox"] == 1 and t.counts["void_not_posted"] == 1
    assert rep.by_tender["ACH"].amounts["posted"] == Decimal("20.00")
    assert rep.by_batch["CR20261125"].counts["posted"] == 2
    assert [x.key for x in rep.exceptions] == ["P000004"]
    text = reconciliation.to_csv(rep, tmp_path / "r.csv")
    assert "Total,All,5,45.00,2,30.00,1,7.00" in text
    pdf = reconciliation.to_pdf(rep, tmp_path / "r.pdf", training=True)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    today = reconciliation.build_report(journal)  # files imported today (local)
    assert today.total.counts["in_file"] == 5
    # Caselle's side: the batch also holds a counter receipt taken by a cashier
    fake.receipts["CTR"] = Receipt("5.09000", "CTR", "100001-01", Decimal("4.00"), "CR20261125", TODAY, "CASH")
    reconciliation.add_caselle_batches(rep, fake)
    cb = rep.caselle_batches["CR20261125"]
    assert cb.receipts == 3 and cb.total == Decimal("34.00") and rep.batch_difference("CR20261125") == Decimal("4.00")
    assert "Caselle batches" in reconciliation.to_csv(rep)
    assert reconciliation.to_pdf(rep, tmp_path / "r2.pdf").stat().st_size > 1000

    class Down:
        def list_batches(self):
            raise NetworkError("down", system="Caselle")

    rep2 = reconciliation.add_caselle_batches(reconciliation.build_report(journal, fingerprints=["day1"]), Down())
    assert rep2.caselle_batches == {} and "could not be read" in rep2.caselle_note


def test_giving_up_looks_once_more_before_review(env):
    svc, fake, journal, _ = env
    svc.retry = RetryPolicy(base_s=0.0, cap_s=0.0, max_attempts=2)
    _import(svc, "payments", [pay(1)])
    real_find = fake.find_receipt
    calls = {"n": 0}

    def flaky_find(ref):
        calls["n"] += 1
        if calls["n"] < 2:
            raise NetworkError("down", system="Caselle")
        return real_find(ref)

    fake.find_receipt = flaky_find
    fake.faults = ["drop_after"]  # committed, answer lost; the reconciling lookup fails too
    svc.post_pending(operator=POSTER)
    e = journal.get("P000001")
    assert e.state == DONE and e.outcome == "already_there" and len(fake.creates()) == 1


def test_auth_refusal_stops_the_run_and_leaves_entries_pending(env):
    from console.errors import AuthError

    svc, fake, journal, audit = env
    _import(svc, "payments", [pay(i) for i in range(5)])

    def refuse(**kw):
        raise AuthError("token expired", system="Caselle")

    real = fake.create_receipt
    fake.create_receipt = refuse
    res = svc.post_pending(operator=POSTER)
    assert res.aborted and "credentials" in res.aborted and not res.complete
    assert journal.counts()[PENDING] == 5 and not fake.receipts
    fake.create_receipt = real
    assert svc.post_pending(operator=POSTER).complete and len(fake.receipts) == 5


def test_batch_closed_behind_our_back_goes_to_todays_batch(env):
    svc, fake, journal, _ = env
    _import(svc, "payments", [pay(1)], fp="a")
    svc.profile = svc.profile.with_values(biller_batch_auto_close=False)
    svc.post_pending(operator=POSTER)
    fake.batches[dt.date(2026, 11, 25)]["status"] = "CLOSED"  # a clerk closed it in Caselle
    _import(svc, "payments", [pay(2)], fp="b")
    res = svc.post_pending(operator=POSTER)
    assert res.complete and fake.receipts["P000002"].batch_id == "CR20261126"
    assert fake.receipts["P000002"].receipt_date == dt.date(2026, 11, 25)


def test_override_always_needs_a_supervisor(env):
    svc, _, journal, _ = env
    plan = svc.plan_records("payments", [(2, pay(1))], name="new.csv", fingerprint="fresh")
    assert plan.already_imported is None
    with pytest.raises(NotPermitted):
        svc.import_plan(plan, "clerk1", override=True)  # even for a file not seen (yet)
    assert journal.file_record("fresh") is None


def test_a_bug_mid_chunk_leaves_nothing_stuck_in_flight(env):
    svc, fake, journal, _ = env
    _import(svc, "payments", [pay(i) for i in range(5)])
    real = fake.create_receipt
    calls = {"n": 0}

    def explode(**kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ZeroDivisionError("bug")
        return real(**kw)

    fake.create_receipt = explode
    with pytest.raises(ZeroDivisionError):
        svc.post_pending(operator=POSTER)
    assert journal.counts()[IN_FLIGHT] == 0
    assert journal.get("P000002").attempts == 1 and journal.get("P000003").attempts == 0  # never sent
    fake.create_receipt = real
    assert svc.post_pending(operator=POSTER).complete and len(fake.receipts) == 5
    assert ("find", "P000002") in fake.calls and ("find", "P000003") not in fake.calls


def test_cancel_takes_back_unsent_claims(env):
    svc, fake, journal, _ = env
    _import(svc, "payments", [pay(i) for i in range(10)])
    cancel = threading.Event()
    svc.post_pending(lambda d, t, m="": cancel.set() if d >= 2 else None, cancel, operator=POSTER)
    assert journal.counts()[IN_FLIGHT] == 0
    unsent = [e for e in journal.entries() if e.state == PENDING]
    assert unsent and all(e.attempts == 0 for e in unsent)


def test_voided_cloudstore_payment_leaves_the_lockbox_queue_or_goes_to_review(env):
    svc, fake, journal, _ = env
    _import(svc, "payments", [pay(1, inv_type="802"), pay(2, inv_type="803")], fp="a")
    # the lockbox helper sends item 2 in a lockbox file
    [e] = journal.claim("lockbox", [LOCKBOX_ITEM], keys=["lockbox:P000002"])
    journal.finish(e.key, "lockbox", DONE, outcome="in_lockbox", remote_ref="LB20261126.txt")
    _import(svc, "payments", [pay(1, inv_type="802", status="VOIDED"), pay(2, inv_type="803", status="VOIDED"),
                              pay(3, inv_type="804", status="VOIDED")], fp="b")
    svc.post_pending(operator=POSTER)
    assert journal.get("lockbox:P000001").state == REPORTED and journal.get("lockbox:P000001").outcome == "voided"
    assert journal.get("void:P000001").outcome == "removed_from_lockbox"
    v2 = journal.get("void:P000002")
    assert v2.state == NEEDS_REVIEW and v2.evidence["lockbox_file"] == "LB20261126.txt"
    assert journal.get("void:P000003").outcome == "void_not_posted"
    assert not any(c[0] == "void" for c in fake.calls)  # nothing sent to Caselle cash receipting


def test_reject_waits_for_its_receipt_in_the_same_run(env):
    svc, fake, journal, _ = env
    rows = [{"PaymentId": "P000001", "AccountNumber": "100001-01", "Amount": Decimal("10.00"), "ReturnCode": "R01",
             "ReturnDate": dt.date(2026, 11, 28), "Reason": ""}]
    _import(svc, "rejects", rows, fp="r")  # journaled before the payment it reverses
    _import(svc, "payments", [pay(1, tender="ACH")], fp="a")
    svc.post_pending(operator=POSTER)
    assert journal.get("reject:P000001").state == DONE
    assert fake.receipts["P000001"].extra["status"] == "REVERSED"


def test_planning_reports_progress(env):
    svc, _, _, _ = env
    seen = []
    rows = [(i + 2, pay(i)) for i in range(12)]
    svc.plan_records("payments", rows, name="p.csv", fingerprint="x",
                     progress=lambda d, t, m="": seen.append((d, t)))
    assert seen[0] == (0, 12) and seen[-1] == (12, 12)


def test_reconciliation_pdf_tables_stay_on_the_page(tmp_path):
    """QA: the 'To lockbox' column ran past the right edge of the page (8 × 30 mm + 34 mm > Letter landscape)."""
    import pypdfium2

    from console.services import reconciliation

    big = reconciliation.Tally()
    for m in reconciliation.METRICS:
        big.counts[m] = 12345
        big.amounts[m] = Decimal("1234567.89")
    rep = reconciliation.ReconciliationReport("Reconciliation - files imported 11/26/2026",
                                              dt.datetime(2026, 11, 26, 17, 0), ["a.csv"], big,
                                              {"CARD": big}, {"CR20261126": big}, [])
    path = reconciliation.to_pdf(rep, tmp_path / "wide.pdf", training=True)
    doc = pypdfium2.PdfDocument(str(path))
    page = doc[0]
    width = page.get_width()
    text = page.get_textpage()
    rights = [text.get_charbox(i)[2] for i in range(text.count_chars())]
    assert rights and max(rights) <= width - 10  # inside the right margin, not clipped
    assert text.get_text_range().count("$1,234,567.89") == 3 * len(reconciliation.METRICS)


def test_a_profile_without_operators_lets_nobody_void(env):
    svc, *_ = env
    svc.profile = Profile(name="fresh", values={})
    receipt = Receipt("5.00001", "P1", "100001-01", Decimal("10.00"), "CR1", TODAY, "CARD",
                      extra={"createdBy": "anyone"})
    assert "no operators" in svc.void_permission(receipt, "anyone")


def test_autopay_and_paperless_changes_are_reported_where_not_offered(env):
    svc, fake, journal, _ = env
    svc.profile = svc.profile.with_values(biller_autopay=False, biller_paperless=False)
    t = dt.datetime(2026, 11, 20, 9, 0)
    _import(svc, "changes", [_chg(1, "100004-01", "AUTOPAY", "ENROLLED", t), _chg(2, "100001-01", "PAPERLESS", "Y", t),
                             _chg(3, "100003-01", "PHONE", "(801) 555-0199", t)])
    svc.post_pending(operator=POSTER)
    for key, field in (("change:CH1", "Autopay"), ("change:CH2", "Paperless")):
        e = journal.get(key)
        assert (e.state, e.outcome) == (REPORTED, "not_offered") and f"{field} is not offered" in e.detail
    assert journal.get("change:CH3").state == DONE  # phone changes are not a biller option
    assert not any(c[0] in ("direct_pay", "update") and c[1] != "100003-01" for c in fake.calls)
    assert fake.customers["100004-01"].autopay is False
