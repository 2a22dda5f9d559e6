"""End to end against the sandbox: the counter's card payments come back in Invoice Cloud's
payment export (the stand-in includes them, as IC's biller portal does); posting recognises them
by their IC payment ID as "taken at the counter" and never posts a second receipt — nor voids
a counter void again."""

from __future__ import annotations

from console.adapters.invoicecloud import InvoiceCloudClient
from console.sandbox.invoicecloud_server import DEMO_WEB_SERVICE_KEY
from console.services.posting import PostingService
from tests.cash_env import account_with_due, card_amount, swipe


def test_counter_card_payments_in_the_export_are_taken_at_the_counter(env, ic_server, tmp_path):
    e = env()
    svc = e.counter()
    kept, voided = account_with_due(svc), account_with_due(svc)
    paid = svc.take_payment(kept, card_amount(kept), swipe(), "cashier1", confirmed=True)
    gone = svc.take_payment(voided, card_amount(voided), swipe(), "cashier1", confirmed=True)
    svc.void_counter_payment(gone.key, "DUPLICATE", "swiped twice", "cashier1")
    def caselle_receipts() -> int:
        return sum(b.receipt_count + b.voided_count for b in svc.caselle.list_batches())

    before = caselle_receipts()
    posting = PostingService(e.journal, svc.caselle, e.profile, e.audit, inbox_dir=tmp_path / "inbox")
    client = InvoiceCloudClient(ic_server.url, DEMO_WEB_SERVICE_KEY, timeout=5)
    try:
        plan = posting.fetch_and_preview("payments", client, count=20)
    finally:
        client.close()
    rows = {r.key: r for r in plan.rows}
    assert rows[paid.transaction_id].outcome == "taken_at_counter"
    assert f"receipt {paid.receipt_number}" in rows[paid.transaction_id].detail
    assert rows[f"void:{gone.transaction_id}"].action == "void taken at the counter"
    assert plan.records == 20 + 2  # the generated payments and the counter's two card charges
    result = posting.import_plan(plan, "clerk1")
    assert result.added == 20  # nothing journaled for the counter's payments
    posting.post_pending(operator="clerk1")
    assert e.journal.get(paid.transaction_id).file_fingerprint == ""  # still the counter's entry
    assert e.journal.get(f"void:{gone.transaction_id}") is None  # the counter's void stands
    posted = [x for x in e.journal.entries(fingerprint=plan.fingerprint) if x.kind == "receipt" and x.state == "done"]
    assert caselle_receipts() == before + len(posted)  # no second receipt for a counter payment
