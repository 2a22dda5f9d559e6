"""File transfer benchmark (figures printed): what the safe upload protocol costs.

Against the sandbox's in-process SFTP server on 127.0.0.1, in the same run:

1. One 48 MB invoice-sized file: a bare ``paramiko`` ``putfo`` (the baseline) vs the console's
   ``Transfer.upload`` (temporary name, size check, server-side checksum, rename) vs the
   journaled ``TransferService.send_file`` (fingerprint, journal entry, reconcile bookkeeping,
   audit). MB/s and the ratio to the baseline.
2. 300 bill-image-sized files (40 KB): ``send_files`` over one connection vs ``send_file`` per
   file (a connection each). Files/s and the ratio.

    .venv/bin/python benchmarks/bench_transfer.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paramiko  # noqa: E402

from console.adapters import transfer as tx  # noqa: E402
from console.adapters.journal import SqliteJournal  # noqa: E402
from console.config import sandbox_profile
from console.sandbox.sftp_server import DEMO_PASSWORD, DEMO_USER, SftpServer  # noqa: E402
from console.services.transfer import TransferService  # noqa: E402

BIG_MB = 48
SMALL_N = 300
SMALL_BYTES = 40_000


def timed(fn):
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-transfer-"))
    root = work / "root"
    for f in ("invoices", "bills", "raw"):
        (root / f).mkdir(parents=True)
    server = SftpServer(root, paramiko.ECDSAKey.generate(bits=256)).start()
    kh = work / "known_hosts"
    tx.trust_host_key(kh, server.host, server.port, server.public_key)
    settings = tx.TransferSettings("sftp", server.host, server.port, DEMO_USER, password=DEMO_PASSWORD,
                                   known_hosts=kh, timeout=30)
    journal = SqliteJournal(work / "journal.sqlite3")
    svc = TransferService(lambda: tx.SftpTransfer(settings), settings, journal,
                          folders={"invoices": "/invoices", "bills": "/bills"}, profile=sandbox_profile())
    try:
        big = work / "ICExport.txt"
        big.write_bytes(os.urandom(BIG_MB * 1024 * 1024))
        mb = big.stat().st_size / 1e6

        def bare():
            client = paramiko.SSHClient()
            client.get_host_keys().load(str(kh))
            client.connect(server.host, server.port, DEMO_USER, DEMO_PASSWORD, allow_agent=False,
                           look_for_keys=False)
            sftp = client.open_sftp()
            with big.open("rb") as fh:
                sftp.putfo(fh, "/raw/ICExport.txt")
            client.close()

        def protocol():
            with tx.SftpTransfer(settings) as t:
                return t.upload(big, "/raw", "ICExport-2.txt")

        t_bare, _ = timed(bare)
        t_proto, result = timed(protocol)
        t_send, sent = timed(lambda: svc.send_file(big, kind="invoices", operator="clerk1"))
        print(f"1. one {mb:.0f} MB file over SFTP (127.0.0.1)")
        print(f"   bare paramiko putfo        {t_bare:6.2f} s  {mb / t_bare:7.1f} MB/s   (baseline)")
        print(f"   upload (temp+verify+rename) {t_proto:5.2f} s  {mb / t_proto:7.1f} MB/s   "
              f"ratio {t_proto / t_bare:.2f}x  checksum={'yes' if result.checksum else 'no'}")
        print(f"   send_file (journaled)      {t_send:6.2f} s  {mb / t_send:7.1f} MB/s   ratio {t_send / t_bare:.2f}x"
              f"  status={sent.status}")

        small_dir = work / "bills"
        small_dir.mkdir()
        smalls = []
        for i in range(SMALL_N):
            p = small_dir / f"{100000 + i}-01_{i}.pdf"
            p.write_bytes(os.urandom(SMALL_BYTES))
            smalls.append(p)
        half = SMALL_N // 2
        t_batch, batch = timed(lambda: svc.send_files(smalls[:half], kind="bills", operator="clerk1"))

        def one_by_one():
            for p in smalls[half:]:
                svc.send_file(p, kind="bills", operator="clerk1")

        t_each, _ = timed(one_by_one)
        n_batch, n_each = len(batch.sent), SMALL_N - half
        print(f"2. {SMALL_N} files of {SMALL_BYTES // 1000} KB (bill images)")
        print(f"   send_files, one connection {n_batch / t_batch:7.1f} files/s  ({t_batch:.2f} s for {n_batch})")
        print(f"   send_file, one connection each {n_each / t_each:5.1f} files/s  ({t_each:.2f} s for {n_each})"
              f"   batch is {(n_batch / t_batch) / (n_each / t_each):.1f}x faster")
        left = sorted(os.listdir(root / "bills"))
        assert len(left) == SMALL_N and not any(tx.is_temp_name(n) for n in left), "files missing or temps left"
    finally:
        journal.close()
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
