"""The journal guard: before posting or taking a payment, is this the journal, and is its audit intact?

:meth:`JournalGuard.check` (at start, before every posting run and every counter payment, and
in Diagnostics) finds, without changing anything:

- the journal file missing or empty while an identity is recorded, or a journal whose id is
  not the recorded one (foreign), or whose last entry / audit count is below what the console
  saw (an older copy put back);
- the audit chain's key missing, the anchor file missing or edited;
- an append-only trigger dropped or changed; a row whose HMAC does not match; the anchored
  head not in the chain at the anchored count (rows deleted; others may have appended since).

Any finding stops posting and payments (:class:`JournalRefused`) until it is fixed (restore
the right journal) or a supervisor acknowledges it: :meth:`acknowledge` records the findings
in the audit log, repairs the triggers and makes the acknowledgment the chain's new verified
base (the anchor file keeps every earlier line).

The first start makes the key, the journal's id, the anchor and the identity. A journal from
before the key is migrated the same way: its old (unkeyed) chain is verified, an
``audit.chain_keyed`` row is appended under the key (it links to the old rows, so they cannot
be rewritten without breaking it), and that row is anchored. See docs/posting.md.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from console.adapters.sqlite_errors import JournalUnavailable
from console.errors import Problem, UserFacingError, ValidationError
from console.services.audit import CHAIN_KEYED, CHECK_ACKNOWLEDGED, JOURNAL_RESTORED, TRIGGERS, AuditLog
from console.services.audit_anchor import (
    ACKNOWLEDGED,
    ANCHOR_FILE,
    APPEND,
    IDENTITY_FILE,
    KEYED,
    RESTORED,
    Anchor,
    AnchorFile,
    ChainKey,
    IdentityFile,
    key_id,
)

log = logging.getLogger(__name__)

RESTORE_HINT = ("restore the right journal with 'biller-console journal restore --from FILE' (a backup from the "
                "backup folder), or a supervisor acknowledges the finding in Diagnostics to go on")


class JournalRefused(UserFacingError):
    """Posting and payments are stopped: the journal or its audit log is not what it must be."""

    def __init__(self, status: GuardStatus):
        super().__init__("Posting and payments are stopped: " + "; ".join(status.findings), hint=RESTORE_HINT)
        self.status = status


@dataclass(frozen=True)
class GuardStatus:
    findings: tuple[str, ...]
    key_storage: str
    anchor: str  # the one-line anchor summary ("" when there is none)
    identity: str  # what the console remembers of its journal

    @property
    def ok(self) -> bool:
        return not self.findings


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class JournalGuard:
    """One per console (``Services.journal_guard``); owns the keyed :class:`AuditLog`."""

    def __init__(self, journal_path: Path, config_dir: Path, secrets, *, sandbox: bool):
        self.journal_path = Path(journal_path)
        self.chain_key = ChainKey(secrets, config_dir, sandbox=sandbox)
        self.anchor_file = AnchorFile(self.journal_path.parent / ANCHOR_FILE)
        self.identity_file = IdentityFile(self.journal_path.parent / IDENTITY_FILE)
        self._lock = threading.RLock()
        self._audit: AuditLog | None = None
        self._key: bytes | None = None
        self._journal_id = ""
        self._verified: tuple[int, int, str] | None = None  # (base, seq, hash) verified by this console

    # ------------------------------------------------------------------ the audit log
    @property
    def audit(self) -> AuditLog:
        """The audit log, keyed; a first start (or a journal from before the key) is keyed here."""
        with self._lock:
            if self._audit is None:
                self._audit = self._open()
            return self._audit

    def _open(self) -> AuditLog:
        audit = AuditLog(self.journal_path)
        try:
            self._journal_id = self._db_journal_id(audit)
            keyed = audit.read("SELECT MIN(seq) FROM audit WHERE action = ?", (CHAIN_KEYED,))[0][0]
            key = self._load_key()  # after the keyed row is seen: its key was stored before it committed
            state = self.anchor_file.read(key)
            first_start = self.identity_file.read() is None and state.latest is None and keyed is None
            if first_start and self.chain_key.can_keep:
                self._key_chain(audit)
            else:
                latest = state.latest
                self._journal_id = self._db_journal_id(audit)  # read again: another console may have just made it
                audit.key = key
                audit.keyed_from = latest.keyed_from if latest else keyed
                audit.on_append = self._anchor_append
        except BaseException:
            audit.close()
            raise
        return audit

    def _load_key(self) -> bytes | None:
        try:
            self._key = self.chain_key.load()
        except (OSError, ValueError) as exc:
            log.warning("the audit chain's key could not be read: %s", exc)
            self._key = None
        return self._key

    def _key_chain(self, audit: AuditLog) -> None:
        """Key a chain that has none (a new journal, or one from before the key) and anchor it.
        Two consoles starting at once: the write lock lets one key it; the other takes its key."""
        if not self._journal_id:
            self._journal_id = self._assign_journal_id(audit)
        legacy = audit.verify()
        audit.on_append = None

        def make_key() -> bytes:
            return self.chain_key.load() or self.chain_key.create()

        def anchor(row) -> None:  # verified from row 1: a broken older chain stays a finding until acknowledged
            self.anchor_file.append(Anchor(KEYED, self._journal_id, row.seq, row.hash, row.seq, 1, _now_iso()),
                                    audit.key)

        row = audit.key_chain(make_key, anchor, "console", "audit log", journal_id=self._journal_id,
                              earlier_rows=legacy.rows, earlier_rows_verified=legacy.ok,
                              earlier_rows_finding="" if legacy.ok else str(legacy))
        if row is None:  # another console keyed it a moment ago (its key is stored before its row commits)
            self._key = audit.key = self._load_key()
            audit.keyed_from = audit.read("SELECT MIN(seq) FROM audit WHERE action = ?", (CHAIN_KEYED,))[0][0]
            audit.on_append = self._anchor_append
            return
        self._key = audit.key
        audit.on_append = self._anchor_append
        self._record_identity(audit)

    def _anchor_append(self, seq: int, head: str) -> None:
        if self._key is None:
            return
        audit = self._audit
        keyed_from = audit.keyed_from if audit is not None and audit.keyed_from else seq
        try:
            self.anchor_file.append(Anchor(APPEND, self._journal_id, seq, head, keyed_from, 0, _now_iso()), self._key)
        except OSError as exc:  # the row is committed; the next check finds the anchor behind, not wrong
            log.error("could not append to the audit anchor %s: %s", self.anchor_file.path, exc)

    @staticmethod
    def _db_journal_id(audit: AuditLog) -> str:
        rows = audit.read("SELECT journal_id FROM journal_identity WHERE id = 1")
        return rows[0][0] if rows else ""

    @staticmethod
    def _assign_journal_id(audit: AuditLog) -> str:
        new_id = uuid.uuid4().hex
        audit.write([("INSERT INTO journal_identity (id, journal_id, created_at) VALUES (1, ?, ?) "
                      "ON CONFLICT (id) DO NOTHING", (new_id, _now_iso()))])
        return JournalGuard._db_journal_id(audit)

    @staticmethod
    def _last_entry_id(audit: AuditLog) -> int:
        has_entries = audit.read("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entries'")
        return int(audit.read("SELECT COALESCE(MAX(id), 0) FROM entries")[0][0]) if has_entries else 0

    def _record_identity(self, audit: AuditLog) -> None:
        self._journal_id = self._db_journal_id(audit) or self._journal_id
        if self._journal_id:  # a journal without an id is a finding, never recorded as the one
            self.identity_file.write(self._journal_id, self._last_entry_id(audit), audit.count())

    def close(self) -> None:
        with self._lock:
            self._verified = None
            if self._audit is not None:
                self._audit.close()
                self._audit = None

    # ------------------------------------------------------------------ the check
    def anchor_summary(self) -> str:
        """One line for reports: "Audit anchor: 1,234 entries, head 9f3a…" ("" before the first)."""
        latest = self.anchor_file.read(self._key or self._load_key()).latest
        return latest.summary() if latest else "Audit anchor: none yet"

    def check(self) -> GuardStatus:
        """Everything the module docstring lists; changes nothing (but a first start's keying)."""
        with self._lock:
            identity = self.identity_file.read()
            findings = self._file_findings(identity)
            if not findings:
                try:
                    findings = self._journal_findings(identity)
                except JournalUnavailable as exc:
                    findings = [str(exc)]
            latest = self.anchor_file.read(self._key).latest if self._key else None
            return GuardStatus(tuple(findings), self.chain_key.storage, latest.summary() if latest else "",
                               identity.describe() if identity else "nothing recorded yet")

    def require_ok(self) -> GuardStatus:
        """Raise :class:`JournalRefused` when :meth:`check` finds anything; else record the identity."""
        status = self.check()
        if not status.ok:
            raise JournalRefused(status)
        with self._lock:
            self._record_identity(self.audit)
        return status

    def _file_findings(self, identity) -> list[str]:
        if identity is None:
            return []
        if not self.journal_path.exists():
            return [f"the journal {self.journal_path} is missing (the console last saw {identity.describe()})"]
        if self.journal_path.stat().st_size == 0 and self._audit is None:
            return [f"the journal {self.journal_path} is empty, 0 bytes (the console last saw {identity.describe()})"]
        return []

    def _journal_findings(self, identity) -> list[str]:
        audit = self.audit
        findings: list[str] = []
        if self._key is None:
            findings.append("the audit chain cannot be keyed: no secure keyring on this PC (a production profile "
                            "keeps the key only there)" if not self.chain_key.can_keep else
                            "the audit chain's key is missing from the keyring, so the audit log cannot be verified")
        db_id = self._db_journal_id(audit)
        if identity is not None:
            findings += self._identity_findings(audit, identity, db_id)
        state = self.anchor_file.read(self._key)
        findings += list(state.problems)
        latest = state.latest
        if latest is None and self._key is not None:
            findings.append(f"the audit anchor {self.anchor_file.path} is missing")
        if self._key is None:
            return findings
        findings += [f"audit log: {problem}" for problem in audit.trigger_problems()]
        result = self._verify_chain(audit, latest.base_seq if latest else 1)
        if not result.ok:
            findings.append(str(result) if result.first_bad_seq else f"audit log: {result.reason}")
        if latest is not None and latest.count:
            stored = audit.hash_at(latest.count)
            if stored is None:
                findings.append(f"the anchored audit entry {latest.count:,} is missing (the log has "
                                f"{audit.count():,} entries): entries were deleted")
            elif stored != latest.head:
                findings.append(f"audit entry {latest.count:,} is not the anchored one (head {latest.head[:8]}…): "
                                "the log was rewritten")
        return findings

    def _verify_chain(self, audit: AuditLog, base: int):
        """The whole chain at the first check of this console; later checks (before each payment)
        verify the rows appended since, once the last verified row is found unchanged. (An edit
        of older rows needs a trigger dropped, which every check looks for; the next start
        verifies everything again.)"""
        done = self._verified
        if done is not None and done[0] == base and audit.hash_at(done[1]) == done[2]:
            result = audit.verify(base_seq=done[1] + 1, base_prev=done[2])
        else:
            result = audit.verify(base_seq=base)
        self._verified = (base, result.rows, result.head) if result.ok and result.rows >= base else None
        return result

    def _identity_findings(self, audit: AuditLog, identity, db_id: str) -> list[str]:
        last_seen = f"the console last saw {identity.describe()}"
        if not db_id:
            empty = self._last_entry_id(audit) == 0
            what = "empty (re-created)" if empty else "not the console's journal (it has no identity)"
            return [f"the journal {self.journal_path} is {what}; {last_seen}"]
        if db_id != identity.journal_id:
            return [f"the journal {self.journal_path} is a different journal (id {db_id[:8]}…); {last_seen}"]
        last, count = self._last_entry_id(audit), audit.count()
        if last < identity.last_entry_id or count < identity.audit_count:
            return [f"the journal {self.journal_path} is older than the one the console used (last entry "
                    f"{last:,}, {count:,} audit entries); {last_seen}"]
        return []

    # ------------------------------------------------------------------ acknowledging
    def acknowledge(self, supervisor_id: str, *, note: str = "") -> GuardStatus:
        """A supervisor accepts what :meth:`check` found and goes on (audited): the triggers are
        made again, the journal gets an id if it has none, and the acknowledgment row becomes the
        chain's verified base. The caller has checked the supervisor (sign-in or PIN)."""
        with self._lock:
            status = self.check()
            if status.ok:
                raise UserFacingError("Nothing to acknowledge: the journal and its audit log passed the check")
            key = self._key or self.chain_key.create()
            self._key = key
            audit = self.audit
            audit.write([(f"DROP TRIGGER IF EXISTS {name}", ()) for name in TRIGGERS]
                        + [(sql, ()) for sql in TRIGGERS.values()])
            self._journal_id = self._db_journal_id(audit) or self._assign_journal_id(audit)
            audit.key, audit.on_append = key, None
            if audit.keyed_from is None:
                audit.keyed_from = audit.head()[0] + 1
            row = audit.record(supervisor_id, CHECK_ACKNOWLEDGED, "journal check", findings=list(status.findings),
                               note=note, key_id=key_id(key))
            self.anchor_file.append(Anchor(ACKNOWLEDGED, self._journal_id, row.seq, row.hash, audit.keyed_from,
                                           row.seq, _now_iso()), key)
            audit.on_append = self._anchor_append
            self._record_identity(audit)
            log.warning("journal check acknowledged by %s: %s", supervisor_id, "; ".join(status.findings))
        return self.check()

    # ------------------------------------------------------------------ restoring
    def restore(self, source: Path, supervisor_id: str) -> Path:
        """Put a backup back as the live journal (every console closed). The file must be a whole
        journal of this console whose audit chain verifies under the key; the replaced journal is
        kept in ``<data folder>/replaced/``; the restore is audited and anchored and the identity
        follows it. Returns where the replaced journal was kept."""
        from console.services.journal_backup import backup_journal, file_journal_id, journal_file_problems

        source = Path(source)
        problems = journal_file_problems(source)
        if problems:
            raise ValidationError(f"Cannot restore from {source}",
                                  [Problem(None, "from", "journal_file", p) for p in problems])
        with self._lock:
            identity = self.identity_file.read()
            source_id = file_journal_id(source)
            if identity is not None and source_id != identity.journal_id:
                raise ValidationError(f"{source} is another journal (id {source_id[:8]}…), not this console's",
                                      [Problem(None, "from", "journal_id", f"the console's journal is "
                                               f"{identity.journal_id[:8]}…: restore one of its backups")])
            key = self._key or self._load_key()
            if key is None:
                raise UserFacingError("The audit chain's key is missing from the keyring: a backup cannot be "
                                      "verified", hint="a supervisor acknowledges the finding in Diagnostics first")
            staged = self.journal_path.with_name("restoring.partial")
            backup_journal(source, staged)
            try:
                self._verify_staged(staged, key)
            except BaseException:
                _remove_with_wal(staged)
                raise
            self.close()
            kept = self._set_aside()
            staged.replace(self.journal_path)
            audit = self.audit
            count, head = audit.head()
            latest = self.anchor_file.read(key).latest
            base = latest.base_seq if latest and latest.base_seq <= count else 1
            self.anchor_file.append(Anchor(RESTORED, self._journal_id, count, head,
                                           audit.keyed_from or count + 1, base, _now_iso()), key)
            audit.record(supervisor_id, JOURNAL_RESTORED, str(source), replaced_kept_as=str(kept),
                         restored_entries=self._last_entry_id(audit), restored_audit_entries=count)
            self._record_identity(audit)
        return kept

    def _verify_staged(self, staged: Path, key: bytes) -> None:
        probe = AuditLog(staged)
        try:
            keyed = probe.read("SELECT MIN(seq) FROM audit WHERE action = ?", (CHAIN_KEYED,))[0][0]
            probe.key, probe.keyed_from = key, keyed
            latest = self.anchor_file.read(key).latest
            count = probe.count()
            base = latest.base_seq if latest and latest.base_seq <= count else 1
            result = probe.verify(base_seq=base, check_triggers=True)
        finally:
            probe.close()
        if not result.ok:
            raise ValidationError("The backup's audit log does not verify under this console's key",
                                  [Problem(None, "from", "audit_chain", str(result))],
                                  hint="it was changed, or it is not this console's journal")

    def _set_aside(self) -> Path:
        folder = self.journal_path.parent / "replaced"
        folder.mkdir(parents=True, exist_ok=True)
        kept = folder / f"replaced-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            live = Path(str(self.journal_path) + suffix)
            if live.exists():
                live.replace(Path(str(kept) + suffix))
        return kept


def _remove_with_wal(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
