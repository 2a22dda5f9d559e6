"""The lockbox service on real SQLite files: preview, build, check, duplicates, e-mail and Stratus sends."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from console.adapters.journal import DONE, SqliteJournal
from console.config import Operator, sandbox_profile
from console.errors import NotPermitted, UserFacingError, ValidationError
from console.lockbox.format import read_lockbox
from console.lockbox.glmap import GlFormat, GlMap
from console.lockbox.registry import EMAILED, HANDED_OVER, SqliteLockboxRegistry
from console.services.audit import AuditLog
from console.services.lockbox import (
    DUPLICATE,
    INCLUDED,
    UNMAPPED,
    VOIDED,
    LockboxService,
    LockboxSettings,
    load_payments_file,
)
from tests.lockbox_data import GL, payment_rows, write_payments

SUPERVISOR = Operator("super1", "Sam Supervisor", "supervisor")
CLERK = Operator("clerk1", "Blair Clerk", "clerk")
WHEN = datetime(2026, 11, 26, 8, 15)


@pytest.fixture
def env(tmp_path):
    db = tmp_path / "journal.sqlite3"
    journal, audit, registry = SqliteJournal(db), AuditLog(db), SqliteLockboxRegistry(db)
    holder = {}

    def make(**kw) -> LockboxService:
        settings = LockboxSettings(destination="TOWN01", lockbox_number=1234, gl_map=GlMap(GL, "test map"),
                                   gl_format=GlFormat("NN-NNNN-NNN"), email_to=("ar@town.test",), **kw)
        return LockboxService(settings, registry, journal=journal, audit=audit, clock=lambda: WHEN,
                              mailer=holder.get("mailer"), transfer=holder.get("transfer"), sender="clerk@town.test",
                              profile=sandbox_profile())

    yield make, holder, tmp_path, audit, journal
    journal.close()
    audit.close()
    registry.close()


def _source(tmp_path, rows, name="payments.csv"):
    return load_payments_file(write_payments(tmp_path / name, rows))


def test_preview_selects_cloudstore_payments_with_gl_accounts_and_totals(env):
    make, _, tmp, _, _ = env
    rows = payment_rows(10)
    rows[2]["InvoiceType"] = "42"  # a utility bill: posts through create_receipt, not here
    rows[5]["Status"] = "VOIDED"
    rows[5]["Amount"] = rows[5]["Amount"]
    svc = make()
    p = svc.preview(_source(tmp, rows))
    assert p.ok and p.skipped_utility == 1 and p.count(VOIDED) == 1
    assert len(p.items) == 8 and all(i.gl_account == GL[i.item_code] for i in p.items)
    amounts = [Decimal(r["Amount"]) for i, r in enumerate(rows) if i not in (2, 5)]
    assert p.total == sum(amounts)
    by_gl = {}
    for i in p.items:
        by_gl[i.gl_account] = by_gl.get(i.gl_account, Decimal(0)) + i.amount
    assert {g.gl_account: g.total for g in p.gl_totals} == by_gl
    assert [(b.number, b.items, b.deposit_date) for b in p.batches] == [(1, 8, date(2026, 11, 21))]


def test_unmapped_items_block_and_are_all_listed(env, tmp_path):
    make, _, tmp, _, _ = env
    rows = payment_rows(6)
    rows[1]["InvoiceType"] = "399"
    rows[4]["InvoiceType"] = "400"
    svc = make()
    p = svc.preview(_source(tmp, rows))
    assert not p.ok
    assert [(e.line, e.rule) for e in p.errors] == [(3, "unmapped"), (6, "unmapped")]
    assert p.count(UNMAPPED) == 2
    with pytest.raises(ValidationError):
        svc.build(p, tmp_path / "out.txt", operator="clerk1")
    assert not (tmp_path / "out.txt").exists()


def test_source_file_errors_block_the_build(env):
    make, _, tmp, _, _ = env
    rows = payment_rows(3)
    rows[1]["Amount"] = "12.345"
    p = make().preview(_source(tmp, rows))
    assert not p.ok and 3 in {e.line for e in p.errors}


def test_date_range_filters_on_the_payment_date(env):
    make, _, tmp, _, _ = env
    rows = payment_rows(3, day=18) + payment_rows(4, start=10, day=20)
    p = make().preview(_source(tmp, rows), date_from=date(2026, 11, 19), date_to=date(2026, 11, 20))
    assert len(p.items) == 4 and p.outside_dates == 3


def test_build_writes_a_verified_file_registers_it_and_audits(env):
    make, _, tmp, audit, _ = env
    svc = make()
    p = svc.preview(_source(tmp, payment_rows(1200)))
    res = svc.build(p, tmp / "lockbox.txt", operator="clerk1")
    back = read_lockbox((tmp / "lockbox.txt").read_bytes(), svc.layout)
    assert back.ok and back.fingerprint == res.fingerprint and len(back.items) == 1200
    assert [b.item_count for b in back.batches] == [999, 201] and back.total == p.total
    assert back.created == WHEN and back.destination == "TOWN01"
    reg = svc.registry.file(res.fingerprint)
    assert reg.status == "built" and reg.items == 1200 and reg.operator == "clerk1"
    assert [r.action for r in audit.rows()][-1] == "lockbox.build"
    assert res.summary.items == 1200 and res.summary.fingerprint == res.fingerprint
    check = svc.check(tmp / "lockbox.txt")
    assert check.ok and check.registered.fingerprint == res.fingerprint and check.released_elsewhere == []


def test_items_in_a_released_file_are_excluded_unless_a_supervisor_overrides(env):
    make, _, tmp, audit, _ = env
    svc = make()
    first = svc.build(svc.preview(_source(tmp, payment_rows(5), "a.csv")), tmp / "a.txt", operator="clerk1")
    # built but not released: only a warning
    again = svc.preview(_source(tmp, payment_rows(5), "a.csv"))
    assert again.ok and {w.rule for w in again.warnings} == {"in_unsent_file"}
    svc.mark_handed_over(tmp / "a.txt", operator="clerk1", note="USB stick")
    assert svc.registry.file(first.fingerprint).status == HANDED_OVER
    # the same five plus three new ones: the five are flagged and left out
    rows = payment_rows(5) + payment_rows(3, start=100)
    p = svc.preview(_source(tmp, rows, "b.csv"))
    assert p.count(DUPLICATE) == 5 and len(p.items) == 3 and p.ok
    assert all("a.txt" in x.note for x in p.lines if x.status == DUPLICATE)
    # only duplicates: nothing to build
    assert not svc.preview(_source(tmp, payment_rows(5), "c.csv")).ok
    with pytest.raises(NotPermitted):
        svc.preview(_source(tmp, rows, "b.csv"), override_duplicates_by=CLERK)
    forced = svc.preview(_source(tmp, rows, "b.csv"), override_duplicates_by=SUPERVISOR)
    assert len(forced.items) == 8 and forced.count(INCLUDED) == 8
    svc.build(forced, tmp / "b.txt", operator="clerk1")
    assert "lockbox.duplicate_override" in [r.action for r in audit.rows()]


def test_a_file_holding_released_items_cannot_be_sent_without_a_supervisor(env):
    make, _, tmp, _, _ = env
    svc = make()
    svc.build(svc.preview(_source(tmp, payment_rows(4), "a.csv")), tmp / "a.txt", operator="clerk1")
    svc.build(svc.preview(_source(tmp, payment_rows(4), "a.csv")), tmp / "a2.txt",
              created=datetime(2026, 11, 26, 9, 0), operator="clerk1")  # a second build of the same items
    svc.mark_handed_over(tmp / "a.txt", operator="clerk1")
    with pytest.raises(ValidationError) as exc:
        svc.mark_handed_over(tmp / "a2.txt", operator="clerk1")
    assert {p.rule for p in exc.value.problems} == {"duplicate"}
    assert svc.check(tmp / "a2.txt").released_elsewhere


def test_a_voided_payment_already_in_a_released_file_is_reported(env):
    make, _, tmp, _, _ = env
    svc = make()
    svc.build(svc.preview(_source(tmp, payment_rows(2), "a.csv")), tmp / "a.txt", operator="clerk1")
    svc.mark_handed_over(tmp / "a.txt", operator="clerk1")
    rows = payment_rows(2, status="VOIDED")[:1] + payment_rows(1, start=50)
    p = svc.preview(_source(tmp, rows, "v.csv"))
    assert [w.rule for w in p.warnings] == ["void_after_lockbox"] and len(p.items) == 1


def test_email_send_reaches_the_sink_once_and_again_only_with_a_supervisor(env, tmp_path):
    from console.adapters.mail import Mailer, SmtpSettings
    from console.sandbox.smtp_sink import DEMO_PASSWORD, DEMO_USER, SmtpSink

    make, holder, tmp, audit, journal = env
    with SmtpSink(tmp_path / "sandbox") as sink:
        holder["mailer"] = lambda: Mailer(SmtpSettings("127.0.0.1", sink.port, DEMO_USER, "clerk@town.test",
                                                       DEMO_PASSWORD, ca_file=sink.cert_file, timeout=5))
        svc = make(training=True)
        built = svc.build(svc.preview(_source(tmp, payment_rows(30))), tmp / "lb.txt", operator="clerk1")
        out = svc.send(tmp / "lb.txt", via="email", operator="clerk1")
        assert out.via == "email" and out.destination == "ar@town.test"
        [mail] = sink.messages()
        assert mail.attachment("lb.txt") == (tmp / "lb.txt").read_bytes()
        assert mail.subject.startswith("[TRAINING] CloudStore lockbox lb.txt: 30 items")
        from email import policy
        from email.parser import BytesParser

        body = BytesParser(policy=policy.default).parsebytes(mail.path.read_bytes()).get_body(("plain",))
        assert built.fingerprint in body.get_content()
        assert svc.registry.file(built.fingerprint).status == EMAILED
        assert [e.state for e in journal.entries(kinds=["lockbox.email"])] == [DONE]
        with pytest.raises(UserFacingError, match="already e-mailed"):
            svc.send(tmp / "lb.txt", via="email", operator="clerk1")
        with pytest.raises(NotPermitted):
            svc.send(tmp / "lb.txt", via="email", operator="clerk1", override_by=CLERK)
        svc.send(tmp / "lb.txt", via="email", operator="clerk1", override_by=SUPERVISOR)
        assert len(sink.messages()) == 2
        assert len({m.message_id for m in sink.messages()}) == 2
        assert "lockbox.send" in [r.action for r in audit.rows()]


def test_email_that_failed_before_the_data_can_be_sent_again(env, tmp_path):
    from console.adapters.mail import Mailer, SmtpSettings
    from console.errors import NetworkError
    from console.sandbox.smtp_sink import DEMO_PASSWORD, DEMO_USER, SmtpSink

    make, holder, tmp, _, journal = env
    holder["mailer"] = lambda: Mailer(SmtpSettings("127.0.0.1", 1, timeout=2))
    svc = make()
    svc.build(svc.preview(_source(tmp, payment_rows(3))), tmp / "lb.txt", operator="clerk1")
    with pytest.raises(NetworkError):
        svc.send(tmp / "lb.txt", via="email", operator="clerk1")
    with SmtpSink(tmp_path / "sandbox") as sink:
        svc._mailer = lambda: Mailer(SmtpSettings("127.0.0.1", sink.port, DEMO_USER, "c@t.test", DEMO_PASSWORD,
                                                  ca_file=sink.cert_file, timeout=5))
        svc.send(tmp / "lb.txt", via="email", operator="clerk1")
        assert len(sink.messages()) == 1
    assert [e.state for e in journal.entries(kinds=["lockbox.email"])] == [DONE]


def test_stratus_send_through_the_sftp_adapter(env, tmp_path):
    import paramiko

    from console.adapters import transfer as tx
    from console.sandbox.sftp_server import DEMO_PASSWORD, DEMO_USER, SftpServer
    from console.services.transfer import TransferService

    make, holder, tmp, _, journal = env
    root = tmp_path / "sftproot"
    (root / "lockbox").mkdir(parents=True)
    with SftpServer(root, paramiko.ECDSAKey.generate(bits=256)) as srv:
        kh = tmp_path / "known_hosts"
        tx.trust_host_key(kh, srv.host, srv.port, srv.public_key)
        settings = tx.TransferSettings("sftp", srv.host, srv.port, DEMO_USER, password=DEMO_PASSWORD,
                                       known_hosts=kh, timeout=5)
        holder["transfer"] = lambda: TransferService(lambda: tx.open_transfer(settings), settings, journal,
                                                     folders={"lockbox": "/lockbox"}, profile=sandbox_profile())
        svc = make()
        built = svc.build(svc.preview(_source(tmp, payment_rows(12))), tmp / "lb.txt", operator="clerk1")
        out = svc.send(tmp / "lb.txt", via="stratus", operator="clerk1")
        assert out.destination == "/lockbox/lb.txt" and (root / "lockbox" / "lb.txt").read_bytes() == \
            (tmp / "lb.txt").read_bytes()
        assert svc.registry.file(built.fingerprint).status == "sent"
        with pytest.raises(UserFacingError):
            svc.send(tmp / "lb.txt", via="stratus", operator="clerk1")
        # once released, no other channel either without a supervisor
        from console.services.lockbox import AlreadyReleased

        with pytest.raises(AlreadyReleased, match="already sent through Stratus"):
            svc.send(tmp / "lb.txt", via="email", operator="clerk1")


def test_summary_text_and_pdf(env):
    make, _, tmp, _, _ = env
    svc = make()
    res = svc.build(svc.preview(_source(tmp, payment_rows(1500))), tmp / "lb.txt", operator="clerk1")
    text = svc.summary_text(tmp / "lb.txt")
    assert res.fingerprint in text and "1,500" in text
    for g in res.summary.gl_totals:
        assert g.gl_account in text
    pdf = svc.summary_pdf(tmp / "lb.txt", tmp / "summary.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 1000
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(pdf))
    page_text = doc[0].get_textpage().get_text_range()
    assert res.fingerprint in page_text.replace("\r", "").replace("\n", "") and "lb.txt" in page_text
    doc.close()


def test_posting_queue_source_and_its_entries_finish_when_the_file_is_released(env):
    from console.adapters.journal import PENDING, NewEntry
    from console.services.lockbox import QUEUE_KIND, load_posting_queue

    make, _, tmp, _, journal = env
    entries = []
    for r in payment_rows(6):  # what the posting service queues for CloudStore payments
        entries.append(NewEntry(f"lockbox:{r['PaymentId']}", QUEUE_KIND, {
            "payment_id": r["PaymentId"], "confirmation": r["ConfirmationNumber"], "account": r["AccountNumber"],
            "invoice_number": r["InvoiceNumber"], "payer_name": r["PayerName"], "tender": r["Tender"],
            "amount": r["Amount"], "convenience_fee": r["ConvenienceFee"], "payment_date": "2026-11-20",
            "settlement_date": "2026-11-21", "item_code": r["InvoiceType"], "gl_account": ""}))
    journal.add_entries(entries, operator="clerk1", fingerprint="f" * 64, file_name="p.csv", file_kind="payments",
                        records=6, total="0")
    svc = make()
    source = load_posting_queue(journal)
    assert source.name == "posting queue" and len(source.payments) == 6
    p = svc.preview(source)
    assert p.ok and len(p.items) == 6 and p.batches[0].deposit_date == date(2026, 11, 21)
    svc.build(p, tmp / "q.txt", operator="clerk1")
    assert {e.state for e in journal.entries(kinds=[QUEUE_KIND])} == {PENDING}
    svc.mark_handed_over(tmp / "q.txt", operator="clerk1")
    done = journal.entries(kinds=[QUEUE_KIND])
    assert {e.state for e in done} == {DONE} and {e.remote_ref for e in done} == {"q.txt"}
    assert load_posting_queue(journal).payments == []
