"""Diagnostics of the journal itself: the guard's check (identity, keyed audit chain, anchor),
SQLite's integrity checks of the journal and the card-read memory, and the daily backups.

``quick_check`` runs every time; ``integrity_check`` (slower: it also reads every index) when
asked for (``run_checks(thorough=True)``: the Diagnostics tab's "Full integrity check" button,
``biller-console diagnose --integrity``).
"""

from __future__ import annotations

import time

PASS, WARN, FAIL = "pass", "warn", "fail"  # as console.services.diagnostics (which imports this module)

AUDIT_TITLE = "Journal and audit log"
INTEGRITY_TITLE = "Journal integrity (SQLite)"
BACKUP_TITLE = "Journal backups"
BACKUP_WARN_S = 2 * 24 * 3600

_AUDIT_FIX = ("Posting and payments are stopped. Restore the right journal ('biller-console journal restore "
              "--from FILE', a backup from the backup folder), or a signed-in supervisor acknowledges the finding "
              "(Diagnostics › Acknowledge, or 'biller-console journal acknowledge --operator ID'); export the "
              "support bundle and the audit log first")


def _server_note(run, key: str, title: str):
    """On a PostgreSQL journal these local-file checks do not apply (the server's forms of the
    identity, anchor and backup are still to come): said as a warning, never silently passed."""
    from console.services.diagnostics import Check

    if not getattr(run.services, "journal_is_server", False):
        return None
    return Check(key, title, WARN, "The journal is on the PostgreSQL server: this check covers a local SQLite journal",
                 "Back the server up with pg_dump and check it with the server's own tools", [])


def check_audit(run):
    """The check made before posting and payments (console.services.journal_guard)."""
    from console.services.diagnostics import Check

    services = run.services
    if not hasattr(type(services), "journal_guard"):
        return None
    status = services.journal_check() if hasattr(services, "journal_check") else services.journal_guard.check()
    details = [status.anchor or "Audit anchor: none yet", f"identity: {status.identity}",
               f"audit key: {status.key_storage}"]
    if status.ok:
        return Check("audit", AUDIT_TITLE, PASS,
                     f"Intact ({status.anchor.removeprefix('Audit anchor: ')}; keyed chain verified, key "
                     f"{_short_storage(status.key_storage)})", "", details)
    return Check("audit", AUDIT_TITLE, FAIL, "; ".join(status.findings), _AUDIT_FIX,
                 [*status.findings, *details])


def _short_storage(storage: str) -> str:
    return storage.split(",")[0] if "owner-only file" in storage else storage


def check_integrity(run):
    """``quick_check`` (or ``integrity_check``) on the journal and the card-read memory."""
    from console.devices.ksn_memory import FILE_NAME
    from console.services.diagnostics import Check
    from console.services.journal_backup import integrity_problems

    if (note := _server_note(run, "integrity", INTEGRITY_TITLE)) is not None:
        return note
    thorough = bool(getattr(run, "thorough", False))
    paths = run.services.paths
    files = [("journal", paths.journal_file), ("card-read memory", paths.data_dir / FILE_NAME)]
    what = "integrity_check" if thorough else "quick_check"
    found, details = [], []
    for name, path in files:
        if not path.exists():
            details.append(f"{name}: not created yet ({path})")
            continue
        started = time.monotonic()
        problems = integrity_problems(path, thorough=thorough)
        ms = int((time.monotonic() - started) * 1000)
        if problems:
            found.append(f"the {name} is damaged: {problems[0]}")
            details += [f"{name} ({path}): {p}" for p in problems[:10]]
        else:
            details.append(f"{name}: ok ({what}, {ms} ms, {path.stat().st_size / 1e6:.1f} MB)")
    if found:
        return Check("integrity", INTEGRITY_TITLE, FAIL, "; ".join(found),
                     "Stop posting and taking payments; restore the journal from the newest backup "
                     "('biller-console journal restore --from FILE'); for the card-read memory, close the console "
                     "and rename the file (it is made again)", details)
    return Check("integrity", INTEGRITY_TITLE, PASS, f"No damage found ({what})", "", details)


def check_backups(run):
    """The newest daily backup: made at start and before posting when the newest is a day old."""
    from console.services.diagnostics import Check
    from console.services.journal_backup import backup_folder, backups

    if (note := _server_note(run, "backups", BACKUP_TITLE)) is not None:
        return note
    services = run.services
    folder = backup_folder(services.paths, services.profile)
    found = backups(folder)
    details = [f"folder {folder}", f"keeps {services.profile.get('journal_backup_keep')} daily copies"]
    if not found:
        return Check("backups", BACKUP_TITLE, PASS, "None yet: the first is made before the first posting or "
                     "payment", "", details)
    newest = found[0]
    details.append(f"newest {newest.path.name} ({newest.size / 1e6:.1f} MB)")
    summary = f"{len(found)} kept, the newest {newest.age_text()}"
    if time.time() - newest.at > BACKUP_WARN_S:
        return Check("backups", BACKUP_TITLE, WARN, summary,
                     "The daily backup has not run for two days: check the backup folder (Settings › Journal) is "
                     "reachable and writable, or run 'biller-console journal backup --out FILE'", details)
    return Check("backups", BACKUP_TITLE, PASS, summary, "", details)
