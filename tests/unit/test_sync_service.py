"""Account sync service with in-memory fakes: rows, watermark, exactly once, reconciliation, reporting."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest

from console.adapters.caselle import AdjustmentRecord, CustomerRecord
from console.adapters.invoicecloud import InvoiceCloudRemoteError
from console.adapters.journal import DONE, NEEDS_REVIEW, PENDING, REJECTED, SqliteJournal
from console.config import sandbox_profile
from console.errors import AuthError, NetworkError
from console.services.account_sync import BALANCE, WATERMARK, AccountSyncService, check_rows
from console.services.posting import RetryPolicy

T0 = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


def _customer(account: str, minimum: str = "40.00", invoice: str = "INV-1") -> CustomerRecord:
    return CustomerRecord(account_number=account, name="Pat Doe", service_address="1 Main St", mail_address="",
                          phone="", email="", balance=Decimal("50.00"), amount_due=Decimal("50.00"),
                          minimum_due=Decimal(minimum), due_date=None, bill_expires=None,
                          partial_payments_allowed=True, autopay=False, paperless=False, invoice_number=invoice)


class FakeCaselle:
    def __init__(self):
        self.adjustments: list[AdjustmentRecord] = []
        self.customers: dict[str, CustomerRecord] = {}
        self.detail_calls: list[str] = []
        self.fail_detail_for: set[str] = set()

    def add(self, account: str, amount: str, balance_after: str, reason: str = "Leak credit") -> AdjustmentRecord:
        seq = len(self.adjustments) + 1
        a = AdjustmentRecord(adjustment_id=f"ADJ-{seq:06d}", account_number=account,
                             adjusted_at=T0 + dt.timedelta(minutes=seq), amount=Decimal(amount), reason=reason,
                             balance_after=Decimal(balance_after), sequence=seq, entered_by="UBCLERK")
        self.adjustments.append(a)
        self.customers.setdefault(account, _customer(account))
        return a

    def adjustments_since(self, since=None, *, after_sequence=None, limit=500):
        return [a for a in self.adjustments if a.sequence > (after_sequence or 0)][:limit]

    def customer_detail(self, account, *, usage_months=24):
        self.detail_calls.append(account)
        if account in self.fail_detail_for:
            raise NetworkError("Caselle did not answer")
        return self.customers.get(account)


class FakeIC:
    """Invoice Cloud's balances in memory; ``lose_answer`` stores the update but raises (a dropped answer)."""

    def __init__(self, unknown=()):
        self.store: dict[str, dict] = {}
        self.puts: list[str] = []
        self.lookups: list[str] = []
        self.unknown = set(unknown)
        self.lose_answer: set[str] = set()
        self.fail_before: set[str] = set()
        self.auth_fails = False
        self.lock = threading.Lock()

    def put_balance(self, row, key):
        with self.lock:
            if self.auth_fails:
                raise AuthError("Invoice Cloud refused the web-service key", system="Invoice Cloud")
            self.puts.append(key)
            if key in self.fail_before:
                self.fail_before.discard(key)
                err = InvoiceCloudRemoteError("HTTP 503", code="HTTP_503", status=503, retryable=True)
                err.outcome_unknown = True
                raise err
            if row["AccountNumber"] in self.unknown:
                raise InvoiceCloudRemoteError("not registered", code="ACCOUNT_NOT_REGISTERED", status=404)
            stored = {"balance_id": f"BAL-{len(self.store) + 1}", "adjustment_id": key,
                      "account_number": row["AccountNumber"], "balance_due": row["BalanceDue"],
                      "adjustment_amount": row["AdjustmentAmount"], "minimum_amount_due": row["MinimumAmountDue"]}
            old = self.store.get(key)
            if old is not None:
                return {**old, "replayed": True}
            self.store[key] = stored
            if key in self.lose_answer:
                self.lose_answer.discard(key)
                err = NetworkError("the connection dropped", system="Invoice Cloud")
                err.outcome_unknown = True
                raise err
            return {**stored, "replayed": False}

    def find_balance(self, adjustment_id):
        self.lookups.append(adjustment_id)
        return self.store.get(adjustment_id)


@pytest.fixture
def journal(tmp_path):
    j = SqliteJournal(tmp_path / "journal.sqlite3")
    yield j
    j.close()


def _svc(journal, caselle, ic, **kw):
    return AccountSyncService(journal, caselle, ic, sandbox_profile(), retry=RetryPolicy(base_s=0.0, cap_s=0.0),
                              **kw)


def test_rows_balance_after_minimum_clamped_invoice_from_detail_details_read_once(journal):
    c, ic = FakeCaselle(), FakeIC()
    c.add("100102-01", "-12.50", "30.00")  # minimum 40.00 > balance 30.00 -> 30.00
    c.add("100102-01", "-40.00", "-10.00")  # credit balance -> minimum 0.00
    c.add("100105-01", "5.00", "95.00")
    c.customers["100105-01"] = _customer("100105-01", minimum="12.00", invoice="INV-9")
    svc = _svc(journal, c, ic)
    rows = svc.preview()
    assert [(r.balance_due, r.minimum_due, r.invoice_number) for r in rows] == [
        (Decimal("30.00"), Decimal("30.00"), "INV-1"), (Decimal("-10.00"), Decimal("0.00"), "INV-1"),
        (Decimal("95.00"), Decimal("12.00"), "INV-9")]
    assert sorted(c.detail_calls) == ["100102-01", "100105-01"]  # once per account per run
    assert journal.counts(kinds=[BALANCE])[PENDING] == 0 and svc.watermark() == 0  # preview journals nothing


def test_sync_sends_each_once_second_sync_sends_nothing(journal):
    c, ic = FakeCaselle(), FakeIC()
    for i in range(7):
        c.add(f"10010{i}-01", f"-{i + 1}.00", f"{20 + i}.00")
    svc = _svc(journal, c, ic, page_size=3)  # three pages
    r = svc.sync(operator="clerk1")
    assert r.complete and r.outcomes["sent"] == 7 and r.found == 7 and r.journaled == 7
    assert sorted(ic.puts) == [a.adjustment_id for a in c.adjustments]
    assert svc.watermark() == 7 and r.watermark_after == 7
    assert ic.store["ADJ-000003"]["balance_due"] == "22.00"
    again = svc.sync(operator="clerk1")
    assert again.complete and again.found == 0 and not again.outcomes and len(ic.puts) == 7
    c.add("100100-01", "3.00", "24.00")
    third = svc.sync(operator="clerk1")
    assert third.outcomes == {"sent": 1} and len(ic.puts) == 8 and svc.watermark() == 8


def test_dry_run_journals_and_sends_nothing(journal):
    c, ic = FakeCaselle(), FakeIC()
    c.add("100102-01", "-1.00", "9.00")
    r = _svc(journal, c, ic).sync(dry_run=True)
    assert r.dry_run and len(r.pending) == 1 and r.found == 1
    assert ic.puts == [] and journal.entries(kinds=[BALANCE]) == [] and journal.get_watermark(WATERMARK) is None


def test_unknown_account_is_reported_not_dropped(journal):
    c, ic = FakeCaselle(), FakeIC(unknown={"102451-01"})
    c.add("102451-01", "5.00", "95.00")
    c.add("100102-01", "-5.00", "45.00")
    svc = _svc(journal, c, ic)
    r = svc.sync(operator="clerk1")
    assert r.complete  # reported counts as finished: exit 0
    assert r.outcomes == {"sent": 1, "not_in_invoice_cloud": 1}
    assert [(x.account, x.state, x.outcome) for x in r.reported] == [("102451-01", REJECTED, "not_in_invoice_cloud")]
    assert "102451-01" in r.reported[0].detail and "register" in r.reported[0].detail
    assert svc.watermark() == 2
    # registered later: the operator retries; it is looked up first, then sent
    ic.unknown.clear()
    again = svc.retry([r.reported[0].key], "clerk1")
    assert again.outcomes == {"sent": 1} and "ADJ-000001" in ic.lookups
    assert journal.get("balance:ADJ-000001").state == DONE


def test_lost_answer_is_looked_up_before_any_resend(journal):
    c, ic = FakeCaselle(), FakeIC()
    c.add("100102-01", "-5.00", "45.00")
    c.add("100105-01", "-6.00", "44.00")
    ic.lose_answer.add("ADJ-000001")  # committed in IC, answer lost
    ic.fail_before.add("ADJ-000002")  # 503 before anything was stored
    r = _svc(journal, c, ic).sync(operator="clerk1")
    assert r.complete, r
    assert r.outcomes == {"already_there": 1, "sent": 1}
    assert ic.puts.count("ADJ-000001") == 1  # found by the lookup: never sent twice
    assert ic.puts.count("ADJ-000002") == 2 and ic.lookups.count("ADJ-000002") == 1  # looked up, then re-sent
    assert journal.get("balance:ADJ-000001").outcome == "already_there"


def test_watermark_moves_only_over_journaled_pages(journal):
    c, ic = FakeCaselle(), FakeIC()
    for i in range(5):
        c.add(f"10010{i}-01", "-1.00", "9.00")
    c.fail_detail_for.add("100104-01")  # the second page cannot be read
    svc = _svc(journal, c, ic, page_size=3)
    with pytest.raises(NetworkError):
        svc.sync(operator="clerk1")
    assert svc.watermark() == 3
    assert len(journal.entries(kinds=[BALANCE])) == 3  # page 1 journaled with its watermark, page 2 not
    c.fail_detail_for.clear()
    r = svc.sync(operator="clerk1")
    assert r.complete and svc.watermark() == 5 and sorted(ic.puts) == [f"ADJ-00000{i}" for i in range(1, 6)]


def test_invalid_row_and_missing_caselle_account_are_rejected_with_the_reason(journal):
    c, ic = FakeCaselle(), FakeIC()
    c.add("BAD ACCOUNT!", "-1.00", "9.00")
    c.add("100102-01", "-1.00", "9.00")
    c.add("999999-01", "-1.00", "9.00")
    del c.customers["999999-01"]
    r = _svc(journal, c, ic).sync(operator="clerk1")
    assert r.complete
    states = {e.payload["account"]: (e.state, e.outcome) for e in journal.entries(kinds=[BALANCE])}
    assert states == {"BAD ACCOUNT!": (REJECTED, "invalid"), "100102-01": (DONE, "sent"),
                      "999999-01": (REJECTED, "no_caselle_account")}
    assert r.outcomes["invalid"] == 1 and r.outcomes["no_caselle_account"] == 1
    detail = journal.get("balance:ADJ-000001").detail
    assert "AccountNumber" in detail and "1 to 20 letters" in detail
    assert ic.puts == ["ADJ-000002"]


def test_other_content_under_the_key_needs_review(journal):
    c, ic = FakeCaselle(), FakeIC()
    c.add("100102-01", "-5.00", "45.00")
    ic.store["ADJ-000001"] = {"adjustment_id": "ADJ-000001", "account_number": "100102-01", "balance_due": "99.00",
                              "adjustment_amount": "-5.00"}
    journal_entry_key = "balance:ADJ-000001"
    r = _svc(journal, c, ic).sync(operator="clerk1")
    assert not r.complete and [x.key for x in r.review] == [journal_entry_key]
    e = journal.get(journal_entry_key)
    assert e.state == NEEDS_REVIEW and e.evidence["differences"]["balance_due"]["invoice_cloud"] == "99.00"


def test_auth_refusal_stops_the_run_and_keeps_entries_pending(journal):
    c, ic = FakeCaselle(), FakeIC()
    c.add("100102-01", "-5.00", "45.00")
    ic.auth_fails = True
    r = _svc(journal, c, ic).sync(operator="clerk1")
    assert not r.complete and "Invoice Cloud refused the credentials" in r.aborted
    assert journal.get("balance:ADJ-000001").state == PENDING and r.remaining == 1
    ic.auth_fails = False
    assert _svc(journal, c, ic).sync(operator="clerk1").outcomes == {"sent": 1}


def test_cancel_before_sending_leaves_everything_resumable(journal):
    c, ic = FakeCaselle(), FakeIC()
    c.add("100102-01", "-5.00", "45.00")
    cancel = threading.Event()
    cancel.set()
    r = _svc(journal, c, ic).sync(cancel=cancel, operator="clerk1")
    assert r.cancelled and not r.complete and ic.puts == []
    assert _svc(journal, c, ic).sync(operator="clerk1").outcomes == {"sent": 1}


def test_check_rows_uses_the_layout():
    c = FakeCaselle()
    a = c.add("100102-01", "-5.00", "45.00")
    from console.services.account_sync import BalanceUpdate

    ok = BalanceUpdate(a.adjustment_id, 1, "100102-01", T0, Decimal("-5.00"), "Leak, kitchen", Decimal("45.00"),
                       Decimal("45.00"), "INV")
    too_high = BalanceUpdate("ADJ-2", 2, "100102-01", T0, Decimal("-5.00"), "x", Decimal("45.00"),
                             Decimal("50.00"), "INV")
    checked = check_rows([ok, too_high])
    assert checked[0].problem == ""
    assert "MinimumAmountDue" in checked[1].problem and checked[1].problem_code == "invalid"


def test_a_caselle_history_that_changed_under_the_watermark_stops_the_sync(journal):
    c, ic = FakeCaselle(), FakeIC()
    c.add("100102-01", "-5.00", "45.00")
    c.add("100105-01", "-6.00", "44.00")
    svc = _svc(journal, c, ic)
    assert svc.sync(operator="clerk1").outcomes == {"sent": 2}
    # Caselle restored from an older backup (or the sandbox reset): sequence 2 is another adjustment now
    c.adjustments[1] = AdjustmentRecord(adjustment_id="ADJ-999999", account_number="100105-01", adjusted_at=T0,
                                        amount=Decimal("1.00"), reason="x", balance_after=Decimal("1.00"), sequence=2)
    c.add("100106-01", "-1.00", "9.00")
    from console.errors import UserFacingError

    with pytest.raises(UserFacingError, match="do not match the last sync"):
        svc.sync(operator="clerk1")
    assert len(ic.puts) == 2  # nothing was sent


def test_balance_file_names_never_look_like_card_numbers(journal, tmp_path):
    from console.adapters.journal import card_data_problems
    from console.services.account_sync import BalanceUpdate

    svc = _svc(journal, FakeCaselle(), FakeIC(), outbox_dir=tmp_path)
    u = BalanceUpdate("ADJ-1", 4111111, "100102-01", T0, Decimal("-1.00"), "x", Decimal("1.00"), Decimal("0.00"), "")
    path = svc._write_file([u, BalanceUpdate(**{**u.__dict__, "adjustment_id": "ADJ-2", "sequence": 1111111})])
    assert card_data_problems({"remote_path": f"/balances/{path.name}"}) == []
    assert path.read_bytes().decode().startswith("AdjustmentId,AccountNumber,InvoiceNumber,AdjustedAt")


def test_file_mode_splits_a_large_backlog_and_sends_each_entry_in_one_file(journal, tmp_path, monkeypatch):
    import console.services.account_sync as account_sync

    monkeypatch.setattr(account_sync, "FILE_MAX_ROWS", 3)

    class Sent:
        def __init__(self, path):
            self.remote_path = f"/balances/{path.name}"

        def as_dict(self):
            return {"remote_path": self.remote_path, "status": "awaiting pickup"}

    class Transfer:
        def __init__(self):
            self.files = []

        def send_file(self, path, **kw):
            self.files.append(path.read_bytes().decode())
            return Sent(path)

    c, transfer = FakeCaselle(), Transfer()
    for i in range(7):
        c.add(f"10010{i}-01", "-1.00", "9.00")
    profile = sandbox_profile().with_values(sync_adjustments_via="file")
    svc = AccountSyncService(journal, c, None, profile, transfer=transfer, outbox_dir=tmp_path)
    r = svc.sync(operator="clerk1")
    assert r.complete and r.outcomes == {"sent_in_file": 7} and len(transfer.files) == 3
    ids = [line.split(",")[0] for f in transfer.files for line in f.splitlines()[1:-1]]
    assert sorted(ids) == [f"ADJ-00000{i}" for i in range(1, 8)]
    assert journal.counts(kinds=[BALANCE])[DONE] == 7
    assert svc.sync(operator="clerk1").outcomes == {} and len(transfer.files) == 3


def test_a_missing_invoice_cloud_configuration_stops_before_any_entry_is_claimed(journal):
    from console.errors import RemoteError

    c = FakeCaselle()
    c.add("100102-01", "-5.00", "45.00")

    def no_client():
        raise RemoteError("No Invoice Cloud API URL is configured", system="Invoice Cloud")

    svc = AccountSyncService(journal, c, no_client, sandbox_profile())
    with pytest.raises(RemoteError, match="No Invoice Cloud API URL"):
        svc.sync(operator="clerk1")
    e = journal.get("balance:ADJ-000001")
    assert e.state == PENDING and e.attempts == 0  # journaled, never claimed, nothing rejected
