"""Journal backups (SQLite's online backup API) and SQLite's own integrity checks.

- :func:`backup_journal` copies the live journal while consoles keep using it (a consistent
  snapshot, WAL included) to a file that is never named ``journal*.sqlite3`` (that name is the
  live journal's alone, so a copy is never mistaken for it).
- :func:`backup_if_due` is the daily backup: at start and before posting or taking a payment,
  when the newest copy in the profile's backup folder (``journal_backup_folder``; default
  ``<data folder>/backups``) is older than a day, a new one is made and only the newest
  ``journal_backup_keep`` are kept.
- :func:`integrity_problems` runs ``PRAGMA quick_check`` (or ``integrity_check``, which also
  reads every index, on demand) on a journal or the card-read memory.
"""

from __future__ import annotations

import fnmatch
import logging
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from console.adapters.sqlite_errors import JournalUnavailable, journal_errors
from console.errors import Problem, ValidationError

log = logging.getLogger(__name__)

BACKUP_PATTERN = "backup-*.sqlite3"
DAY_S = 24 * 3600
STAMP = "%Y%m%dT%H%M%SZ"
REQUIRED_TABLES = ("entries", "files", "watermarks", "audit", "audit_head", "journal_identity")


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    at: float  # epoch seconds (the file's time)

    def age_text(self, now: float | None = None) -> str:
        hours = max(0.0, ((now or time.time()) - self.at) / 3600)
        return f"{hours:.0f} h ago" if hours < 48 else f"{hours / 24:.0f} days ago"


def refuse_journal_name(path: Path) -> None:
    """A backup is never named like the live journal (``journal*.sqlite3``)."""
    if fnmatch.fnmatch(Path(path).name.lower(), "journal*.sqlite3"):
        raise ValidationError(f"A backup may not be named {Path(path).name!r}",
                              [Problem(None, "out", "backup_name",
                                       "journal*.sqlite3 is the live journal's name: choose another name")])


def backup_journal(journal_path: Path, out: Path) -> BackupInfo:
    """Copy the journal to ``out`` with SQLite's online backup (written beside, checked with
    ``quick_check``, then renamed)."""
    out = Path(out)
    refuse_journal_name(out)
    if not Path(journal_path).exists():
        raise ValidationError(f"There is no journal to back up at {journal_path}")
    if out.resolve() == Path(journal_path).resolve():
        raise ValidationError("The backup cannot replace the live journal")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    tmp.unlink(missing_ok=True)
    with journal_errors(Path(journal_path)):
        src = sqlite3.connect(str(journal_path), timeout=30.0)
        try:
            dst = sqlite3.connect(str(tmp))
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            finally:
                dst.close()
        finally:
            src.close()
    damage = integrity_problems(tmp)
    if damage:  # never let a damaged copy take the place of a good backup
        tmp.unlink(missing_ok=True)
        raise JournalUnavailable(f"{journal_path} is damaged ({damage[0]}): no backup was made; restore the last "
                                 "good backup with 'biller-console journal restore --from FILE'",
                                 kind="damaged", path=Path(journal_path))
    tmp.replace(out)
    stat = out.stat()
    return BackupInfo(out, stat.st_size, stat.st_mtime)


def backup_folder(paths, profile) -> Path:
    from console.config import resolve_path

    configured = resolve_path(str(profile.get("journal_backup_folder") or ""))
    return configured if configured is not None else paths.data_dir / "backups"


def backups(folder: Path) -> list[BackupInfo]:
    """The daily backups in ``folder``, newest first."""
    if not Path(folder).is_dir():
        return []
    found = []
    for p in Path(folder).glob(BACKUP_PATTERN):
        try:
            stat = p.stat()
        except OSError:
            continue
        found.append(BackupInfo(p, stat.st_size, _stamp_time(p.name) or stat.st_mtime))
    return sorted(found, key=lambda b: b.at, reverse=True)


def _stamp_time(name: str) -> float | None:
    """The time in a daily backup's name (``backup-20261207T183612Z.sqlite3``), None if none."""
    try:
        return datetime.strptime(name[len("backup-"):].split(".")[0], STAMP).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def backup_if_due(journal_path: Path, folder: Path, *, keep: int, now: float | None = None) -> BackupInfo | None:
    """Make today's backup when the newest is older than a day (None: not due); prune to ``keep``."""
    now = time.time() if now is None else now
    existing = backups(folder)
    if existing and now - existing[0].at < DAY_S:
        return None
    if not Path(journal_path).exists():
        return None
    stamp = datetime.fromtimestamp(now, UTC).strftime(STAMP)
    info = backup_journal(journal_path, Path(folder) / f"backup-{stamp}.sqlite3")
    for old in backups(folder)[max(1, int(keep)):]:
        try:
            old.path.unlink()
        except OSError as exc:
            log.warning("could not delete the old backup %s: %s", old.path, exc)
    log.info("journal backed up to %s (%d bytes)", info.path, info.size)
    return info


def integrity_problems(path: Path, *, thorough: bool = False) -> list[str]:
    """What SQLite's ``quick_check`` (``integrity_check`` when ``thorough``) says is wrong (empty = fine)."""
    pragma = "integrity_check" if thorough else "quick_check"
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=10.0)
    except sqlite3.Error as exc:
        return [f"cannot be opened: {exc}"]
    try:
        rows = conn.execute(f"PRAGMA {pragma}(20)").fetchall()
    except sqlite3.Error as exc:
        return [str(exc)]
    finally:
        conn.close()
    messages = [str(r[0]) for r in rows]
    return [] if messages == ["ok"] else messages


def journal_file_problems(path: Path) -> list[str]:
    """Why ``path`` cannot be restored as the journal (empty = it can): damaged, not a journal."""
    path = Path(path)
    if not path.is_file():
        return [f"{path} does not exist"]
    if path.stat().st_size == 0:
        return [f"{path} is empty"]
    problems = integrity_problems(path, thorough=True)
    if problems:
        return [f"{path} is damaged or not an SQLite file: {problems[0]}"]
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            return [f"{path} is not a journal of this console (no {', '.join(missing)} table)"]
        if not conn.execute("SELECT journal_id FROM journal_identity WHERE id = 1").fetchone():
            return [f"{path} is a journal without an identity (made before journal backups existed)"]
    finally:
        conn.close()
    return []


def file_journal_id(path: Path) -> str:
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        return str(conn.execute("SELECT journal_id FROM journal_identity WHERE id = 1").fetchone()[0])
    finally:
        conn.close()
