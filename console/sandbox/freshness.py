"""Keeps the sandbox's stored demo data in step with the demo generator — SANDBOX ONLY.

The Caselle stand-in (``caselle.sqlite3``) and the Invoice Cloud balance stand-in
(``ic_balances.sqlite3``) store the demo customers once, with the day they were seeded for
(``as_of``) and the generator's :data:`~console.sandbox.seed.SEED_VERSION` in their ``meta``
table. Everything else (the training invoice file, bill PDFs, payment exports) is generated
for today. :func:`refresh` runs before the sandbox's parts start and reseeds both stores
together when

- a store was made by an older generator (no ``seed_version``, or a lower one): its accounts
  are not those of today's invoice file;
- its bills are more than :data:`REFRESH_AFTER_DAYS` days old (the training file's bills would
  no longer be the stored ones);
- the two stores hold the bills of different days (one was seeded later, or is missing).

It is demo data: a reseed clears what the sandbox did on top of the seed (Caselle receipts,
batches and created adjustments, the balance updates Invoice Cloud received), as
``biller-console sandbox --reset`` does, but keeps the rest of the folder (SFTP host key, mail
certificate and mailbox, files). It is said at INFO in the log and by ``biller-console
sandbox``. Only those two files in the sandbox folder are ever touched, and only when their
``meta`` says they were seeded by the sandbox; a production profile's data is never read.
Store data made by a *newer* generator is left alone (a warning is logged).
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from console.sandbox import seed as demo

log = logging.getLogger(__name__)

#: Stored demo bills older than this many days are rolled forward (reseeded for today).
REFRESH_AFTER_DAYS = 14
CASELLE_DB = "caselle.sqlite3"  # console.sandbox.caselle_server.DB_NAME
BALANCES_DB = "ic_balances.sqlite3"  # console.sandbox.ic_balances.DB_NAME
#: Version a seeded store without a ``seed_version`` was made by.
UNMARKED_VERSION = 1


@dataclass(frozen=True)
class StoredSeed:
    """What a seeded store says about its data."""

    path: Path
    seed_version: int
    as_of: dt.date | None


def stored_seed(db_path: Path) -> StoredSeed | None:
    """The seed marker of a store file (read-only); None when there is no file or it was never
    seeded (the store seeds it itself when it opens)."""
    db_path = Path(db_path)
    if not db_path.is_file():
        return None
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        try:
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.OperationalError:  # no meta table: not a seeded store
            return None
    finally:
        db.close()
    if "seeded_at" not in meta:
        return None
    try:
        version = int(meta.get("seed_version", UNMARKED_VERSION))
    except ValueError:
        version = UNMARKED_VERSION
    try:
        as_of = dt.date.fromisoformat(meta["as_of"]) if meta.get("as_of") else None
    except ValueError:
        as_of = None
    return StoredSeed(db_path, version, as_of)


def outdated(data_dir: Path, *, today: dt.date | None = None,
             max_age_days: int = REFRESH_AFTER_DAYS) -> str | None:
    """Why the stored demo data in ``data_dir`` should be reseeded, or None when it is current."""
    today = today or demo.demo_today()
    data_dir = Path(data_dir)
    stores = {name: stored_seed(data_dir / name) for name in (CASELLE_DB, BALANCES_DB)}
    present = [s for s in stores.values() if s is not None]
    if not present:
        return None  # nothing stored yet: each store is seeded for today when it opens
    newer = [s for s in present if s.seed_version > demo.SEED_VERSION]
    if newer:
        log.warning("sandbox data in %s was made by a newer version (seed version %s, this one %s); kept as is",
                    data_dir, max(s.seed_version for s in newer), demo.SEED_VERSION)
        return None
    if any(s.seed_version < demo.SEED_VERSION for s in present):
        return "was made by an older version"
    days = [s.as_of for s in present if s.as_of is not None]
    if len(days) < len(present):
        return "had no date"
    oldest = min(days)
    if (today - oldest).days > max_age_days:
        return f"was dated {oldest.isoformat()}, more than {max_age_days} days ago"
    # a missing store is seeded for today when its part starts
    if len(set(days) | ({today} if len(present) < len(stores) else set())) > 1:
        return "held the bills of different days in Caselle and Invoice Cloud"
    return None


def refresh(data_dir: Path, *, today: dt.date | None = None, max_age_days: int = REFRESH_AFTER_DAYS) -> str | None:
    """Reseed the stored demo data in ``data_dir`` for ``today`` when :func:`outdated` says so.

    Returns the notice to show (also logged at INFO), or None when nothing was done."""
    from console.sandbox.caselle_server import CaselleStore
    from console.sandbox.ic_balances import BalanceStore

    today = today or demo.demo_today()
    reason = outdated(data_dir, today=today, max_age_days=max_age_days)
    if reason is None:
        return None
    data_dir = Path(data_dir)
    for name, store_class in ((CASELLE_DB, CaselleStore), (BALANCES_DB, BalanceStore)):
        if stored_seed(data_dir / name) is None:
            continue  # missing (or never seeded): seeded for today when its part opens it
        store = store_class(data_dir / name)
        try:
            store.reseed(today)
        finally:
            store.close()
    notice = (f"sandbox data {reason}: reseeded for {today.isoformat()} (demo data; the sandbox's receipts, "
              f"batches, created adjustments and Invoice Cloud balance updates were cleared)")
    log.info("%s [%s]", notice, data_dir)
    return notice
