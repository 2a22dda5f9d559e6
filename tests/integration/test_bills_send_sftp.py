"""Bill images end to end: generated batch → index → split → send to a real SFTP server
(the sandbox's, on 127.0.0.1) through the journaled transfer service."""

from __future__ import annotations

import paramiko
import pytest

from console.adapters import transfer as tx
from console.adapters.journal import SqliteJournal
from console.bills.indexer import index_batch
from console.bills.send import ALREADY_SENT, SENT, send_bills
from console.bills.service import resolve_template
from console.bills.split import InvoiceRef, split_batch
from console.config import sandbox_profile
from console.sandbox.bill_pdf import build_bill_batch
from console.sandbox.seed import demo_customers
from console.sandbox.sftp_server import DEMO_PASSWORD, DEMO_USER, SftpServer
from console.services.transfer import TransferService


@pytest.fixture(scope="module")
def host_key():
    return paramiko.ECDSAKey.generate(bits=256)


@pytest.fixture
def server(tmp_path, host_key):
    root = tmp_path / "root"
    (root / "bills").mkdir(parents=True)
    with SftpServer(root, host_key) as srv:
        yield srv


def service(tmp_path, server, *, pin: bool = True) -> TransferService:
    known = tmp_path / "known_hosts"
    if pin:
        tx.trust_host_key(known, server.host, server.port, server.host_key)
    settings = tx.TransferSettings("sftp", server.host, server.port, DEMO_USER, password=DEMO_PASSWORD,
                                   known_hosts=known, timeout=5)
    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    return TransferService(lambda: tx.SftpTransfer(settings), settings, journal, folders={"bills": "/bills"}, profile=sandbox_profile())


@pytest.fixture
def split(tmp_path):
    customers = demo_customers(6)
    pdf = tmp_path / "cycle.pdf"
    build_bill_batch(customers, pdf)
    index = index_batch(pdf, resolve_template(None))
    invoices = [InvoiceRef(c.account_number, c.invoice_number) for c in customers[:5]]  # the 6th has none
    return customers, split_batch(pdf, index, tmp_path / "out", invoices=invoices)


def test_bills_reach_the_server_once(tmp_path, server, split):
    customers, result = split
    svc = service(tmp_path, server)
    report = send_bills(result, svc, operator="clerk1", profile=sandbox_profile())
    assert [o.status for o in report.outcomes] == [SENT] * 5, report.outcomes
    on_server = sorted(p.name for p in (server.root / "bills").iterdir())
    assert on_server == sorted(f"{c.account_number}_{c.invoice_number}.pdf" for c in customers[:5])
    for c in customers[:5]:
        name = f"{c.account_number}_{c.invoice_number}.pdf"
        assert (server.root / "bills" / name).read_bytes() == (result.out_dir / name).read_bytes()

    # the batch split again (same bytes) is recognised: journaled, never sent twice
    index = index_batch(tmp_path / "cycle.pdf", resolve_template(None))
    invoices = [InvoiceRef(c.account_number, c.invoice_number) for c in customers[:5]]
    resplit = split_batch(tmp_path / "cycle.pdf", index, tmp_path / "out-again", invoices=invoices)
    again = send_bills(resplit, svc, operator="clerk1", profile=sandbox_profile())
    assert [o.status for o in again.outcomes] == [ALREADY_SENT] * 5, again.outcomes
    svc.journal.close()


def test_unknown_host_key_stops_before_anything_is_sent(tmp_path, server, split):
    _, result = split
    svc = service(tmp_path, server, pin=False)
    with pytest.raises(tx.HostKeyUnknown):
        send_bills(result, svc, operator="clerk1", profile=sandbox_profile())
    assert list((server.root / "bills").iterdir()) == []
    svc.journal.close()


def test_cancelled_batch_lists_every_bill_as_not_sent(tmp_path, server, split):
    import threading

    _, result = split
    svc = service(tmp_path, server)
    cancel = threading.Event()
    cancel.set()
    report = send_bills(result, svc, operator="clerk1", profile=sandbox_profile(), cancel=cancel)
    assert report.cancelled and {o.status for o in report.outcomes} == {"not sent"}
    assert len(report.outcomes) == 5 and list((server.root / "bills").iterdir()) == []
    svc.journal.close()
