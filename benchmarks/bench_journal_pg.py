"""The PostgreSQL journal vs the SQLite journal, in one run.

1. Posting: ``--count`` payments (default 2,000) through the full pipeline
   (``PostingService.import_file`` + ``post_pending``, one worker) against the sandbox's Caselle
   stand-in with the same added latency (default 20 ms per request), once with the SQLite
   journal and once with the PostgreSQL journal (each against its own fresh stand-in).
   Target: PostgreSQL / SQLite <= 1.2.
2. Claim throughput: ``--entries`` entries (default 6,000) claimed one at a time and finished
   (claim + finish: two transactions each) by 1, 4 and 8 threads, each its own lease owner —
   entries per second for both journals.

The PostgreSQL server is a throwaway cluster (initdb into a temp folder, unix socket, default
durability: fsync on, synchronous_commit on) unless ``--url postgresql://…`` names one.

    .venv/bin/python benchmarks/bench_journal_pg.py [--count 2000] [--latency-ms 20] [--entries 6000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_RATIO = 1.2


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--latency-ms", type=int, default=20)
    ap.add_argument("--entries", type=int, default=6000)
    ap.add_argument("--url", default="", help="an existing PostgreSQL server (a fresh database is created on it)")
    args = ap.parse_args()
    cluster = None
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["BILLER_CONSOLE_HOME"] = str(Path(tmp) / "home")
        if args.url:
            make_db = _creator(args.url)
        else:
            from tests.pg_cluster import MISSING, PgCluster, find_bin

            bin_dir = find_bin()
            if bin_dir is None:
                print(MISSING, file=sys.stderr)
                return 1
            cluster = PgCluster(bin_dir).start()
            make_db = cluster.create_database
        try:
            code = _posting(Path(tmp), args.count, args.latency_ms, make_db)
            _claims(Path(tmp), args.entries, make_db)
        finally:
            if cluster is not None:
                cluster.destroy()
    return code


def _creator(url: str):
    import uuid

    import psycopg

    def make_db() -> str:
        name = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return psycopg.conninfo.make_conninfo(url, dbname=name)

    return make_db


def _open(kind: str, tmp: Path, make_db, name: str):
    if kind == "sqlite":
        from console.adapters.journal import SqliteJournal

        return SqliteJournal(tmp / f"{name}.sqlite3")
    from console.adapters.journal_pg import PgJournal
    from console.adapters.pg import PgDatabase

    return PgJournal(PgDatabase(make_db(), max_size=10), owns_db=True)


def _post_once(kind: str, tmp: Path, payments_file: Path, days, latency_ms: int, make_db) -> tuple[float, dict]:
    from console.adapters.caselle import CaselleClient
    from console.config import sandbox_profile
    from console.sandbox.caselle_server import CaselleServer, Faults
    from console.services.posting import PostingService

    with CaselleServer(tmp / f"caselle-{kind}", faults=Faults(latency_ms=0)) as server:
        token, _ = server.issue_token()
        with CaselleClient(server.url, token, timeout=10) as client:
            for d in days:
                client.open_batch(d)
            client.find_receipt("warm-up")
        server.faults.update(latency_ms=latency_ms)
        journal = _open(kind, tmp, make_db, "posting")
        with CaselleClient(server.url, token, timeout=10) as client:
            svc = PostingService(journal, client, sandbox_profile().with_values(biller_batch_auto_close=False))
            t0 = time.perf_counter()
            svc.import_file(payments_file, "payments", "bench")
            result = svc.post_pending(operator="bench")
            elapsed = time.perf_counter() - t0
        journal.close()
    return elapsed, dict(result.outcomes)


def _posting(tmp: Path, count: int, latency_ms: int, make_db) -> int:
    from console.files.reader import read_file
    from console.sandbox import exports

    payments_file = tmp / "payments.csv"
    exports.write_export("payments", payments_file, count, 5, receipts_only=True)
    days = sorted({r["PaymentDate"].date() for r in read_file(payments_file, "ic-payments-v1").records})
    times = {}
    for kind in ("sqlite", "postgresql"):
        elapsed, outcomes = _post_once(kind, tmp, payments_file, days, latency_ms, make_db)
        if outcomes.get("posted") != count:
            print(f"{kind}: the pipeline did not post everything: {outcomes}", file=sys.stderr)
            return 1
        times[kind] = elapsed
        print(f"{kind:<11} journal: {count} payments in {elapsed:7.2f} s ({count / elapsed:6.1f} /s)")
    ratio = times["postgresql"] / times["sqlite"]
    print(f"ratio PostgreSQL / SQLite: {ratio:.3f} at {latency_ms} ms latency (target <= {TARGET_RATIO}) "
          f"{'OK' if ratio <= TARGET_RATIO else 'SLOW'}")
    return 0 if ratio <= TARGET_RATIO else 1


def _claims(tmp: Path, n: int, make_db) -> None:
    from console.adapters.journal import DONE, NewEntry, lease_owner_id

    for kind in ("sqlite", "postgresql"):
        figures = []
        for workers in (1, 4, 8):
            journal = _open(kind, tmp, make_db, f"claims-{workers}")
            journal.add_entries([NewEntry(f"C{i:07d}", "receipt", {"amount": "1.00"}) for i in range(n)],
                                operator="bench", fingerprint=f"fp{workers}", file_name="bench", file_kind="payments",
                                records=n, total="0")
            taken: list[int] = []

            def worker(journal=journal, taken=taken) -> None:
                owner, mine = lease_owner_id(), 0
                while batch := journal.claim(owner, ["receipt"], limit=1):
                    journal.finish(batch[0].key, owner, DONE, outcome="posted", remote_ref="r")
                    mine += 1
                taken.append(mine)

            threads = [threading.Thread(target=worker) for _ in range(workers)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
            assert sum(taken) == n and journal.counts()[DONE] == n, (taken, journal.counts())
            journal.close()
            figures.append(f"{workers} worker{'s' if workers > 1 else ''} {n / elapsed:7.0f}/s")
        print(f"claim + finish, {kind:<10}: " + ", ".join(figures))


if __name__ == "__main__":
    raise SystemExit(main())
