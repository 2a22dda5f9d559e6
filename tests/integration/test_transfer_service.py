"""The send service: journaled, reconciled, refused twice unless a supervisor overrides.

Real pieces throughout: the SQLite journal, the audit log, the sandbox SFTP server."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import paramiko
import pytest

from console.adapters import transfer as tx
from console.adapters.journal import DONE, NEEDS_REVIEW, REJECTED, SqliteJournal
from console.config import Operator, sandbox_profile
from console.errors import Cancelled, NetworkError, NotPermitted
from console.sandbox.sftp_server import DEMO_PASSWORD, DEMO_USER, SftpServer, StratusPickup
from console.services.audit import AuditLog
from console.services.transfer import AlreadySent, TransferService

CLERK = "clerk1"
SUPERVISOR = Operator("super1", "Sam Supervisor", "supervisor")
CASHIER = Operator("cashier1", "Casey Cashier", "cashier")


@pytest.fixture(scope="module")
def host_key():
    return paramiko.ECDSAKey.generate(bits=256)


@pytest.fixture
def server(tmp_path, host_key):
    root = tmp_path / "root"
    (root / "invoices").mkdir(parents=True)
    with SftpServer(root, host_key) as srv:
        yield srv


class _LoseRenameReply(tx.SftpTransfer):
    """Renames on the server, then loses the connection before the reply arrives."""

    def _rename(self, src, dst):
        super()._rename(src, dst)
        raise NetworkError("connection lost after rename (test)", system="SFTP")


@pytest.fixture
def make_service(tmp_path, server):
    kh = tmp_path / "known_hosts"
    tx.trust_host_key(kh, server.host, server.port, server.public_key)
    settings = tx.TransferSettings("sftp", server.host, server.port, DEMO_USER, password=DEMO_PASSWORD,
                                   known_hosts=kh, timeout=5)
    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    audit = AuditLog(tmp_path / "journal.sqlite3")
    cls_holder = {"cls": tx.SftpTransfer}

    def factory():
        return cls_holder["cls"](settings)

    def make(transfer_cls=tx.SftpTransfer):
        cls_holder["cls"] = transfer_cls
        return TransferService(factory, settings, journal, audit, folders={"invoices": "/invoices"}, profile=sandbox_profile())

    yield make
    journal.close()
    audit.close()


def files(server: SftpServer) -> list[str]:
    return sorted(os.listdir(server.root / "invoices"))


def invoice_file(tmp_path: Path, size: int = 180_000, name: str = "ICExport.txt") -> Path:
    p = tmp_path / name
    p.write_bytes(os.urandom(size))
    return p


def test_send_is_journaled_audited_and_refused_the_second_time(make_service, server, tmp_path):
    svc = make_service()
    src = invoice_file(tmp_path)
    progress: list[int] = []
    result = svc.send_file(src, kind="invoices", operator=CLERK, progress=lambda d, t, m="": progress.append(d))
    assert result.remote_path == "/invoices/ICExport.txt"
    assert result.status == "awaiting pickup"
    assert not result.reconciled and not result.override
    assert progress[-1] == src.stat().st_size
    entry = svc.journal.get(result.key)
    assert entry.state == DONE and entry.operator == CLERK and entry.remote_ref == result.remote_path
    assert [r.action for r in svc.audit.rows()] == ["transfer.send"]

    with pytest.raises(AlreadySent) as info:
        svc.send_file(src, kind="invoices", operator=CLERK)
    assert "already sent" in str(info.value)
    # also under another name or to another folder: the fingerprint decides
    with pytest.raises(AlreadySent):
        svc.send_file(src, "/invoices", kind="invoices", operator=CLERK, final_name="renamed.txt")
    assert files(server) == ["ICExport.txt"]


def test_override_needs_a_supervisor_and_is_journaled_and_audited(make_service, server, tmp_path):
    svc = make_service()
    src = invoice_file(tmp_path)
    first = svc.send_file(src, kind="invoices", operator=CLERK)
    StratusPickup(server.root, delay=0).scan_once()
    assert files(server) == ["ICExport.txt.snt"]

    with pytest.raises(NotPermitted):
        svc.send_file(src, kind="invoices", operator=CLERK, override=True, override_by=CASHIER)
    with pytest.raises(NotPermitted):
        svc.send_file(src, kind="invoices", operator=CLERK, override=True)

    again = svc.send_file(src, kind="invoices", operator=CLERK, override=True, override_by=SUPERVISOR)
    assert again.override and again.key != first.key
    assert again.status == "awaiting pickup"  # the old .snt is not this send's receipt
    assert files(server) == ["ICExport.txt", "ICExport.txt.snt"]
    entries = svc.history(first.fingerprint)
    assert [e.state for e in entries] == [DONE, DONE]
    assert entries[1].payload["override_by"] == "super1"
    overrides = svc.audit.rows(action="file.override")
    assert len(overrides) == 1 and overrides[0].operator == "super1"
    assert overrides[0].details["requested_by"] == CLERK
    assert svc.audit.verify().ok


def test_dropped_connection_then_resend_delivers_exactly_one_file(make_service, server, tmp_path):
    svc = make_service()
    src = invoice_file(tmp_path, size=400_000)
    server.faults.drop_after_bytes = 150_000
    with pytest.raises(NetworkError):
        svc.send_file(src, kind="invoices", operator=CLERK)
    assert "ICExport.txt" not in files(server)  # no partial final file
    entry = svc.history(tx_fp(src))[0]
    assert entry.state == NEEDS_REVIEW and entry.outcome == "connection_lost"

    result = svc.send_file(src, kind="invoices", operator=CLERK)  # no override needed: never delivered
    assert not result.reconciled
    assert files(server) == ["ICExport.txt"]  # the stale temporary is gone, one final file
    assert (server.root / "invoices" / "ICExport.txt").read_bytes() == src.read_bytes()
    entries = svc.history(result.fingerprint)
    assert len(entries) == 1 and entries[0].state == DONE and entries[0].attempts == 2


def test_lost_reply_after_rename_reconciles_without_a_second_upload(make_service, server, tmp_path):
    src = invoice_file(tmp_path)
    with pytest.raises(NetworkError):
        make_service(_LoseRenameReply).send_file(src, kind="invoices", operator=CLERK)
    assert files(server) == ["ICExport.txt"]
    final = server.root / "invoices" / "ICExport.txt"
    before = final.stat().st_mtime_ns

    StratusPickup(server.root, delay=0).scan_once()  # picked up meanwhile: the receipt proves delivery
    result = make_service().send_file(src, kind="invoices", operator=CLERK)
    assert result.reconciled and result.status == "delivered"
    assert files(server) == ["ICExport.txt.snt"]
    assert (server.root / "invoices" / "ICExport.txt.snt").stat().st_mtime_ns == before  # not sent again
    entry = make_service().journal.get(result.key)
    assert entry.state == DONE and entry.outcome == "already_there"
    assert make_service().delivery_status(result) == "delivered"  # polled later: still the receipt


def test_last_cycles_receipt_of_the_same_size_is_not_taken_for_this_send(make_service, server, tmp_path):
    """Fixed-width files of one cycle and the next often have the same size."""
    old = server.root / "invoices" / "ICExport.txt.snt"
    old.write_bytes(os.urandom(180_000))
    os.utime(old, (1_700_000_000, 1_700_000_000))
    src = invoice_file(tmp_path, size=180_000)
    server.faults.drop_after_bytes = 70_000
    with pytest.raises(NetworkError):
        make_service().send_file(src, kind="invoices", operator=CLERK)
    result = make_service().send_file(src, kind="invoices", operator=CLERK)
    assert not result.reconciled
    assert result.status == "awaiting pickup"
    assert (server.root / "invoices" / "ICExport.txt").read_bytes() == src.read_bytes()
    StratusPickup(server.root, delay=0).scan_once()
    assert make_service().delivery_status(result) == "delivered"


def test_cancel_removes_the_temp_and_the_file_can_be_sent_later(make_service, server, tmp_path):
    svc = make_service()
    src = invoice_file(tmp_path, size=500_000)
    cancel = threading.Event()

    def progress(done, total, message=""):
        if done >= 128 * 1024:
            cancel.set()

    with pytest.raises(Cancelled):
        svc.send_file(src, kind="invoices", operator=CLERK, progress=progress, cancel=cancel)
    assert files(server) == []
    entry = svc.history(tx_fp(src))[0]
    assert entry.state == REJECTED and entry.outcome == "cancelled"
    result = svc.send_file(src, kind="invoices", operator=CLERK)
    assert files(server) == ["ICExport.txt"] and result.status == "awaiting pickup"


def test_a_different_file_waiting_under_the_name_is_not_replaced(make_service, server, tmp_path):
    (server.root / "invoices" / "ICExport.txt").write_bytes(b"another clerk's upload")
    src = invoice_file(tmp_path)
    with pytest.raises(Exception, match="already waiting"):
        make_service().send_file(src, kind="invoices", operator=CLERK)
    assert (server.root / "invoices" / "ICExport.txt").read_bytes() == b"another clerk's upload"


def test_unknown_host_key_sends_nothing_until_trusted(tmp_path, server):
    kh = tmp_path / "fresh_known_hosts"
    settings = tx.TransferSettings("sftp", server.host, server.port, DEMO_USER, password=DEMO_PASSWORD,
                                   known_hosts=kh, timeout=5)
    journal = SqliteJournal(tmp_path / "j2.sqlite3")
    audit = AuditLog(tmp_path / "j2.sqlite3")
    svc = TransferService(lambda: tx.SftpTransfer(settings), settings, journal, audit,
                          folders={"invoices": "/invoices"}, profile=sandbox_profile())
    src = invoice_file(tmp_path)
    with pytest.raises(tx.HostKeyUnknown) as info:
        svc.send_file(src, kind="invoices", operator=CLERK)
    assert files(server) == [] and journal.entries() == []
    svc.trust_host_key(info.value, operator="support1")
    assert svc.send_file(src, kind="invoices", operator=CLERK).status == "awaiting pickup"
    assert audit.rows(action="transfer.trust_host_key")[0].details["fingerprint"] == server.fingerprint
    journal.close()
    audit.close()


def tx_fp(path: Path) -> str:
    from console.services.transfer import file_fingerprint

    return file_fingerprint(path)[0]


def test_an_attempt_through_another_port_is_resumed_and_reconciled(make_service, server, tmp_path):
    """The sandbox's port changes between runs: the unfinished entry is still found and reconciled."""
    src = invoice_file(tmp_path)
    with pytest.raises(NetworkError):
        make_service(_LoseRenameReply).send_file(src, kind="invoices", operator=CLERK)
    svc = make_service()
    moved = TransferService(svc.transfer_factory, tx.TransferSettings(**{**svc.settings.__dict__, "port": 1}),
                            svc.journal, svc.audit, folders=svc.folders, profile=sandbox_profile())
    assert moved.destination != svc.destination
    result = moved.send_file(src, kind="invoices", operator=CLERK)
    assert result.reconciled
    assert files(server) == ["ICExport.txt"]
    assert len(svc.history(result.fingerprint)) == 1


def test_the_same_file_already_waiting_is_recognised_by_its_checksum(make_service, server, tmp_path):
    src = invoice_file(tmp_path)
    (server.root / "invoices" / "ICExport.txt").write_bytes(src.read_bytes())  # e.g. uploaded by hand
    result = make_service().send_file(src, kind="invoices", operator=CLERK)
    assert result.reconciled and result.status == "awaiting pickup"
    assert files(server) == ["ICExport.txt"]
    same_size = tmp_path / "other" / "ICExport.txt"
    same_size.parent.mkdir()
    same_size.write_bytes(os.urandom(180_000))
    StratusPickup(server.root, delay=0).scan_once()
    (server.root / "invoices" / "ICExport.txt").write_bytes(os.urandom(180_000))  # same size, other bytes
    with pytest.raises(Exception, match="already waiting"):
        make_service().send_file(same_size, kind="invoices", operator=CLERK)


def test_batch_over_one_connection_skips_sent_files_and_resumes_after_a_drop(make_service, server, tmp_path):
    folder = tmp_path / "bills"
    folder.mkdir()
    pdfs = []
    for i in range(4):
        p = folder / f"10010{i}-01_{i}.pdf"
        p.write_bytes(os.urandom(90_000 + i))
        pdfs.append(p)
    svc = make_service()
    connections = []
    real_factory = svc.transfer_factory

    def counting_factory():
        connections.append(1)
        return real_factory()

    svc.transfer_factory = counting_factory
    svc.folders["bills"] = "/invoices"
    server.faults.drop_after_bytes = 90_000 * 2 + 500  # the connection drops during the third file
    seen: list[int] = []
    batch = svc.send_files(pdfs, kind="bills", operator=CLERK, progress=lambda d, t, m="": seen.append(d))
    assert len(connections) == 1
    assert [r.remote_name for r in batch.sent] == [pdfs[0].name, pdfs[1].name]
    assert [p for p, _ in batch.failed] == [pdfs[2]] and batch.not_attempted == [pdfs[3]]
    assert not batch.complete
    assert pdfs[2].name not in files(server)

    again = svc.send_files(pdfs, kind="bills", operator=CLERK)
    assert [p for p, _ in again.already_sent] == pdfs[:2]
    assert [r.remote_name for r in again.sent] == [pdfs[2].name, pdfs[3].name]
    assert again.complete and "2 sent" in again.summary()
    assert files(server) == sorted(p.name for p in pdfs)
    assert seen == sorted(seen)


def test_batch_cancel_reports_what_was_sent(make_service, server, tmp_path):
    from console.services.transfer import BatchCancelled

    paths = []
    for i in range(3):
        p = tmp_path / f"f{i}.txt"
        p.write_bytes(os.urandom(1000))
        paths.append(p)
    cancel = threading.Event()
    svc = make_service()
    svc.folders["lockbox"] = "/invoices"

    def progress(done, total, message=""):
        if "1 of 3" in message:
            cancel.set()

    with pytest.raises(BatchCancelled) as info:
        svc.send_files(paths, kind="lockbox", operator=CLERK, progress=progress, cancel=cancel)
    assert [r.remote_name for r in info.value.batch.sent] == ["f0.txt"]
    assert info.value.batch.not_attempted == paths[1:]
    assert files(server) == ["f0.txt"]


def test_a_fingerprint_that_looks_like_a_card_number_is_still_journaled(make_service, server, tmp_path):
    """About 1 % of SHA-256 hex digests hold a Luhn-valid 13–19 digit run; sends must not fail on it."""
    import re

    from console.adapters.journal import card_data_problems, luhn_ok
    from console.services.transfer import file_fingerprint, grouped

    def looks_like_a_card(text: str) -> bool:
        return any(13 <= len(m) <= 19 and luhn_ok(m) for m in re.findall(r"[0-9]{13,}", text))

    src = tmp_path / "ICExport.txt"
    for i in range(100_000):
        src.write_bytes(b"invoice file %d\n" % i)
        sha = file_fingerprint(src)[0]
        if looks_like_a_card(sha):
            break
    else:
        pytest.fail("no look-alike digest found")
    assert card_data_problems({"fingerprint": sha}) == []  # a digest is not a card number
    assert card_data_problems({"fingerprint": grouped(sha)}) == []
    svc = make_service()
    result = svc.send_file(src, kind="invoices", operator=CLERK)
    assert result.status == "awaiting pickup"
    assert svc.audit.rows(action="transfer.send")[0].details["fingerprint"] == grouped(sha)


def test_a_file_changed_since_it_was_checked_is_not_sent(make_service, server, tmp_path):
    from console.services.transfer import FileChanged, file_fingerprint

    src = invoice_file(tmp_path)
    checked = file_fingerprint(src)[0]
    src.write_bytes(src.read_bytes() + b"edited after the check\r\n")
    svc = make_service()
    with pytest.raises(FileChanged):
        svc.send_file(src, kind="invoices", operator=CLERK, expected_sha256=checked)
    assert files(server) == [] and svc.journal.entries() == []
    assert svc.send_file(src, kind="invoices", operator=CLERK,
                         expected_sha256=file_fingerprint(src)[0]).status == "awaiting pickup"


def test_session_reuses_one_connection_and_reconnects_after_a_drop(make_service, server, tmp_path):
    svc = make_service()
    opened = []
    real = svc.transfer_factory
    svc.transfer_factory = lambda: (opened.append(1), real())[1]
    paths = []
    for i in range(4):
        p = tmp_path / f"bill{i}.pdf"
        p.write_bytes(os.urandom(50_000))
        paths.append(p)
    with svc.session() as session:
        session.send_file(paths[0], "/invoices", kind="bills", operator=CLERK, final_name="100100-01_A.pdf")
        session.send_file(paths[1], "/invoices", kind="bills", operator=CLERK, final_name="100101-01_B.pdf")
        assert len(opened) == 1
        server.faults.drop_after_bytes = 20_000
        with pytest.raises(NetworkError):
            session.send_file(paths[2], "/invoices", kind="bills", operator=CLERK)
        session.send_file(paths[2], "/invoices", kind="bills", operator=CLERK)  # reconnects, resumes
        assert len(opened) == 2
    batch = svc.send_files([(paths[3], "100103-01_D.pdf")], "/invoices", kind="bills", operator=CLERK)
    assert [r.remote_name for r in batch.sent] == ["100103-01_D.pdf"]
    assert files(server) == ["100100-01_A.pdf", "100101-01_B.pdf", "100103-01_D.pdf", "bill2.pdf"]
