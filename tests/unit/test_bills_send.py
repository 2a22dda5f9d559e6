"""Sending bill images: per-bill outcomes, already-sent files, network failures, cancel,
the Invoice Cloud template mode; and the review rows the tab shows."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from console.bills.indexer import BatchIndex, Bill, Duplicate
from console.bills.review import mark_sent, mark_written, rows_for
from console.bills.send import ALREADY_SENT, FAILED, NOT_SENT, SENT, bills_to_send, send_bills
from console.bills.split import BillFile, InvoiceRef, SplitResult
from console.config import sandbox_profile
from console.errors import AuthError, Cancelled, NetworkError, RemoteError, UserFacingError
from console.services.transfer import AlreadySent


def already_sent(name: str):
    from console.adapters.journal import Entry

    fields = Entry.__dataclass_fields__
    values = {k: None for k in fields}
    values.update(key="k", payload={"remote_path": f"/bills/{name}"}, operator="clerk1", updated_at="2026-11-20T10:00:00")
    return AlreadySent(name, Entry(**values))


class FakeTransfer:
    def __init__(self, behaviour=None):
        self.behaviour = behaviour or {}
        self.sent: list[tuple[str, str]] = []

    def send_file(self, path, *, kind, operator, final_name, cancel=None):
        action = self.behaviour.get(final_name)
        if action is not None:
            raise action
        self.sent.append((kind, final_name))

        class R:
            remote_path = f"/bills/{final_name}"

        return R()


def result_with(names, tmp_path: Path) -> SplitResult:
    files = [BillFile(n.split(".")[0], (i + 1,), n) for i, n in enumerate(names)]
    files.append(BillFile("DUP", (99,), "DUP.pdf", status="duplicate"))
    files.append(BillFile("ORPHAN", (98,), "ORPHAN.pdf", status="no-invoice"))
    return SplitResult(tmp_path, files)


def test_sends_every_ready_bill_and_nothing_held_or_without_invoice(tmp_path):
    result = result_with(["A.pdf", "B.pdf"], tmp_path)
    assert [n for _, n, _ in bills_to_send(result)] == ["A.pdf", "B.pdf"]
    t = FakeTransfer()
    report = send_bills(result, t, operator="clerk1", profile=sandbox_profile())
    assert t.sent == [("bills", "A.pdf"), ("bills", "B.pdf")]
    assert [o.status for o in report.outcomes] == [SENT, SENT]
    assert report.summary == "2 sent"


def test_failures_are_per_bill_and_already_sent_is_not_a_failure(tmp_path):
    result = result_with(["A.pdf", "B.pdf", "C.pdf"], tmp_path)
    t = FakeTransfer({"A.pdf": already_sent("A.pdf"), "B.pdf": RemoteError("disk full")})
    report = send_bills(result, t, operator="clerk1", profile=sandbox_profile())
    assert [(o.file_name, o.status) for o in report.outcomes] == [
        ("A.pdf", ALREADY_SENT), ("B.pdf", FAILED), ("C.pdf", SENT)]
    assert "disk full" in report.outcomes[1].message


def test_network_failures_in_a_row_stop_the_run(tmp_path):
    names = [f"{c}.pdf" for c in "ABCDE"]
    t = FakeTransfer({n: NetworkError("connection reset") for n in names[:3]})
    report = send_bills(result_with(names, tmp_path), t, operator="clerk1", profile=sandbox_profile())
    assert [o.status for o in report.outcomes] == [FAILED, FAILED, FAILED, NOT_SENT, NOT_SENT]
    assert "network" in report.stopped and t.sent == []


def test_cancel_marks_the_rest_not_sent(tmp_path):
    cancel = threading.Event()
    t = FakeTransfer({"B.pdf": Cancelled("cancelled")})
    report = send_bills(result_with(["A.pdf", "B.pdf", "C.pdf"], tmp_path), t, operator="clerk1", profile=sandbox_profile(), cancel=cancel)
    assert [o.status for o in report.outcomes] == [SENT, NOT_SENT, NOT_SENT]
    assert report.cancelled and t.sent == [("bills", "A.pdf")]


def test_invoice_cloud_template_mode_sends_nothing(tmp_path):
    profile = sandbox_profile().with_values(bills_mode="ic_template")
    t = FakeTransfer()
    with pytest.raises(UserFacingError, match="not sent"):
        send_bills(result_with(["A.pdf"], tmp_path), t, operator="clerk1", profile=profile)
    assert t.sent == []


def test_review_rows_follow_plan_split_and_send():
    index = BatchIndex(Path("b.pdf"), 5, [Bill("A", (1, 2)), Bill("B", (3,)), Bill("A", (4,)), Bill("C", (5,))],
                       duplicates=[Duplicate("A", ((1, 2), (4,)))])
    rows = rows_for(index, [InvoiceRef("A", "1"), InvoiceRef("B", "2")])
    assert [(r.account, r.status_text) for r in rows] == [
        ("A", "Duplicate – held"), ("B", "Ready"), ("A", "Duplicate – held"), ("C", "No invoice")]
    rows = mark_written(rows, {"B_2.pdf", "C.pdf"})
    assert [r.status_text for r in rows] == ["Duplicate – held", "Written", "Duplicate – held",
                                             "Written – no invoice"]
    from console.bills.send import SendOutcome, SendReport

    rows = mark_sent(rows, SendReport([SendOutcome("B", "B_2.pdf", FAILED, "refused")]))
    b = rows[1]
    assert b.status_text == "Send failed" and b.needs_attention and b.detail == "refused"
    assert rows[1].matches("b_2") and not rows[1].matches("zzz")
    assert rows[0].matches("2") and rows[0].matches(" 1 ") and not rows[3].matches("4")  # page numbers


def test_connection_problems_before_any_send_are_raised_for_the_caller(tmp_path):
    t = FakeTransfer({"A.pdf": AuthError("password refused")})
    with pytest.raises(AuthError):
        send_bills(result_with(["A.pdf", "B.pdf"], tmp_path), t, operator="clerk1", profile=sandbox_profile())
    t = FakeTransfer({"B.pdf": AuthError("token expired")})
    report = send_bills(result_with(["A.pdf", "B.pdf", "C.pdf"], tmp_path), t, operator="clerk1", profile=sandbox_profile())
    assert [o.status for o in report.outcomes] == [SENT, FAILED, NOT_SENT] and "token expired" in report.stopped


def test_problems_and_summary_for_the_tab():
    from console.bills.indexer import PageIssue
    from console.bills.review import problems_for, summary_for
    from console.bills.send import SendOutcome, SendReport

    index = BatchIndex(Path("cycle.pdf"), 6, [Bill("A", (2,)), Bill("B", (3, 4)), Bill("A", (5,)), Bill("Z", (6,))],
                       unmatched_pages=[1], duplicates=[Duplicate("A", ((2,), (5,)))],
                       issues=[PageIssue(1, "no-match", "page 1: no account number and no bill before it")])
    invoices = [InvoiceRef("A", "1"), InvoiceRef("B", "2"), InvoiceRef("C", "3")]
    report = SendReport([SendOutcome("B", "B_2.pdf", FAILED, "refused"), SendOutcome("Z", "Z.pdf", SENT)])
    problems = problems_for(index, invoices, report, {"Z.pdf": "missing"})
    assert [(p.text, p.page) for p in problems] == [
        ("Page 1: no account number and no bill before it", 1),
        ("Account A starts bills on pages 2, 5: held back", 2),
        ("Invoice 3 (account C) has no bill image in this batch", None),
        ("Bill for account Z has no invoice in the invoice file", 6),
        ("B_2.pdf: not sent – refused", None),
        ("Z.pdf: sent, but no longer on the server and no .snt receipt", None),
    ]
    assert summary_for(index, invoices) == ("cycle.pdf: 6 pages, 4 bills · 1 unmatched page · 1 duplicate account · "
                                            "1 invoice without a bill · 1 bill without an invoice")
    assert summary_for(index, None, None, report).endswith("1 sent, 1 failed")
