"""Send a file to Invoice Cloud exactly once, with proof of delivery.

Every send is a journal entry keyed by (file fingerprint, destination, final name), written
*before* anything is sent. The file's fingerprint (SHA-256 of its bytes) is registered in
the journal's file registry as ``sent:<sha256>``:

- a file whose fingerprint was already delivered is refused (:class:`AlreadySent`) unless a
  supervisor overrides; the override is a new journal entry and an audit row;
- a send whose earlier attempt lost its connection (outcome unknown) first **reconciles**:
  is the final name — or its ``.snt`` receipt — on the server with the right size? Then it
  is done and no second file is sent. Otherwise stale temporaries are removed and the
  file is sent again under the same entry;
- a send the operator cancelled, or that the server refused, can simply be sent again.

Delivery: after the upload the file waits under its final name ("awaiting pickup") until
Stratus renames it to ``.snt`` ("delivered"). A ``.snt`` receipt that was already there
before this send (last cycle's file of the same name) is remembered in the entry, so it is
never mistaken for this send's receipt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.adapters import transfer as tx
from console.adapters.journal import (
    DONE,
    IN_FLIGHT,
    NEEDS_REVIEW,
    PENDING,
    REJECTED,
    Entry,
    Journal,
    NewEntry,
    lease_owner_id,
)
from console.adapters.transfer import DeliveryStatus, RemoteFile, Transfer, TransferSettings
from console.config import Operator, Profile
from console.domain.wording import agree, counted
from console.errors import AuthError, Cancelled, NetworkError, NotPermitted, RemoteError, UserFacingError
from console.formatting import format_datetime
from console.paths import Paths
from console.secrets import TRANSFER_KEY_PASSPHRASE, TRANSFER_PASSWORD, SecretStore
from console.services.operators import require_send

log = logging.getLogger(__name__)

KINDS = ("invoices", "bills", "lockbox", "balances")
DEFAULT_PORTS = {"sftp": 22, "ftps": 21, "ftp": 21}
JOURNAL_KIND_PREFIX = "transfer."
AUDIT_SEND = "transfer.send"
AUDIT_OVERRIDE = "file.override"
AUDIT_TRUST = "transfer.trust_host_key"
AUDIT_FORGET = "transfer.forget_host_key"
LEASE_S = 300.0

ProgressFn = Callable[..., None]
TransferFactory = Callable[[], Transfer]


class AlreadySent(UserFacingError):
    """This exact file was delivered before; only a supervisor may send it again."""

    def __init__(self, name: str, previous: Entry):
        p = previous.payload
        when = format_datetime(previous.updated_at) if previous.updated_at else "an unknown date"
        super().__init__(
            f"{name} was already sent on {when} by {previous.operator or 'unknown'} "
            f"to {p.get('remote_path', '?')}",
            hint="a supervisor may override to send it again",
        )
        self.previous = previous


class FileChanged(UserFacingError):
    """The file on disk is not the one that was checked."""


class SendInProgress(UserFacingError):
    """Another window or process is sending this file right now."""


@dataclass(frozen=True)
class SendResult:
    key: str
    remote_path: str
    size: int
    fingerprint: str
    status: DeliveryStatus
    protocol: str
    reconciled: bool = False  # an earlier attempt had delivered it; nothing was sent again
    override: bool = False
    insecure: bool = False  # plain FTP: show PLAIN_FTP_WARNING
    checksum: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def remote_name(self) -> str:
        return posixpath.basename(self.remote_path)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "remote_path": self.remote_path, "remote_name": self.remote_name,
                "size": self.size, "fingerprint": self.fingerprint, "status": str(self.status),
                "protocol": self.protocol, "reconciled": self.reconciled, "override": self.override,
                "insecure": self.insecure, "checksum": self.checksum, "warnings": list(self.warnings)}


@dataclass(frozen=True)
class _Plan:
    local_path: Path
    kind: str
    remote_path: str
    sha256: str
    size: int
    entry: Entry | None  # an unfinished entry to resume, or None for a new one
    history: list[Entry]
    delivered: list[Entry]
    supervisor: str
    override: bool


@dataclass
class BatchResult:
    sent: list[SendResult] = field(default_factory=list)
    already_sent: list[tuple[Path, Entry]] = field(default_factory=list)
    failed: list[tuple[Path, BaseException]] = field(default_factory=list)
    not_attempted: list[Path] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failed and not self.not_attempted

    def summary(self) -> str:
        parts = [f"{len(self.sent)} sent"]
        if self.already_sent:
            parts.append(f"{len(self.already_sent)} already sent before (skipped)")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.not_attempted:
            parts.append(f"{len(self.not_attempted)} not attempted")
        return ", ".join(parts)


class BatchCancelled(Cancelled):
    """The operator cancelled a batch; ``batch`` says what was sent before."""

    def __init__(self, batch: BatchResult):
        super().__init__(f"cancelled after {batch.summary()}")
        self.batch = batch


def file_fingerprint(path: Path, *, cancel: tx.CancelFlag | None = None) -> tuple[str, int]:
    """SHA-256 hex of the file's bytes and its size."""
    h = hashlib.sha256()
    size = 0
    with Path(path).open("rb") as fh:
        while chunk := fh.read(1 << 20):
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled")
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def grouped(sha256: str) -> str:
    """The hex fingerprint in groups of 8 ("1f3a…:…"): what payloads and audit rows store.

    A plain hex digest often holds a run of 13+ digits that passes the Luhn check, which the
    journal's card-data guard rightly refuses; groups of 8 can never look like a card number.
    """
    return ":".join(sha256[i:i + 8] for i in range(0, len(sha256), 8))


def _registry_fingerprint(sha256: str) -> str:
    return f"sent:{sha256}"


def send_history(journal: Journal, sha256: str) -> list[Entry]:
    """Every journaled send of the file with this SHA-256 (oldest first). Reads the journal only."""
    return [e for e in journal.entries(fingerprint=_registry_fingerprint(sha256))
            if e.kind.startswith(JOURNAL_KIND_PREFIX)]


def last_delivery(journal: Journal, sha256: str) -> Entry | None:
    """The newest delivered send of the file with this SHA-256 (any destination), or None.
    Reads the journal only: no connection, no transfer settings needed (a tab asks it on open)."""
    done = [e for e in send_history(journal, sha256) if e.state == DONE]
    return done[-1] if done else None


@dataclass
class TransferService:
    """Sends files through one profile's transfer connection, journaled and reconciled."""

    transfer_factory: TransferFactory
    settings: TransferSettings
    journal: Journal
    audit: Any = None  # console.services.audit.AuditLog (record(operator, action, subject, **details))
    folders: dict[str, str] = field(default_factory=dict)  # kind -> remote folder
    owner: str = field(default_factory=lease_owner_id)
    profile: Any = None  # whose roles decide who may send what (operators.SEND_ACTIONS); none = nobody

    # ---- helpers
    @property
    def destination(self) -> str:
        s = self.settings
        return f"{s.protocol}://{s.user}@{s.host}:{s.port}"

    def folder_for(self, kind: str) -> str:
        if kind not in self.folders:
            raise ValueError(f"unknown transfer kind {kind!r}; one of {', '.join(sorted(self.folders))}")
        return self.folders[kind]

    def key_for(self, sha256: str, remote_path: str) -> str:
        return f"transfer:{sha256}:{self.destination}{remote_path}"

    def connect(self) -> Transfer:
        t = self.transfer_factory()
        t.connect()
        return t

    def history(self, sha256: str) -> list[Entry]:
        return send_history(self.journal, sha256)

    def previous_delivery(self, path: Path) -> Entry | None:
        """The last delivered send of this exact file (any destination), or None."""
        sha, _size = file_fingerprint(path)
        return last_delivery(self.journal, sha)

    def _audit(self, operator: str, action: str, subject: str, **details: Any) -> None:
        if self.audit is None:
            log.info("audit (no audit log wired): %s %s %s %s", operator, action, subject, details)
            return
        self.audit.record(operator, action, subject, **details)

    # ---- the send
    def send_file(self, local_path: Path, remote_folder: str | None = None, *, kind: str, operator: str,
                  override: bool = False, override_by: Operator | None = None, final_name: str | None = None,
                  expected_sha256: str | None = None, progress: ProgressFn | None = None,
                  cancel: tx.CancelFlag | None = None) -> SendResult:
        """Send ``local_path`` to ``remote_folder`` (default: the profile's folder for ``kind``).

        ``override`` (with ``override_by``, a supervisor whose PIN the caller checked) sends
        a file that was already delivered once more; it is journaled and audited.
        ``expected_sha256`` (the fingerprint the file had when it was checked) refuses a file
        that changed on disk since.
        """
        with self.session() as session:  # connects only after the journal allows the send
            return session.send_file(local_path, remote_folder, kind=kind, operator=operator, override=override,
                                     override_by=override_by, final_name=final_name,
                                     expected_sha256=expected_sha256, progress=progress, cancel=cancel)

    def session(self) -> TransferSession:
        """One connection for many sends: ``with service.session() as s: s.send_file(...)``.

        Each ``send_file`` is journaled on its own, exactly like :meth:`send_file`; the
        connection is opened on first use and reopened after a lost connection."""
        return TransferSession(self)

    def send_files(self, paths: list[Path | tuple[Path, str]], remote_folder: str | None = None, *, kind: str,
                   operator: str, progress: ProgressFn | None = None,
                   cancel: tx.CancelFlag | None = None) -> BatchResult:
        """Send many files over ONE connection (bill images, lockbox files), each journaled on its own.

        ``paths`` holds paths, or (path, final remote name) pairs. A file already delivered is
        skipped (listed in ``already_sent``; no override in a batch). A refused file is listed in
        ``failed`` and the batch goes on; a lost connection stops the batch (the rest is
        ``not_attempted``; sending the same batch again reconciles). Progress is in bytes over
        the whole batch.
        """
        require_send(self.profile, operator, kind, self.audit)
        items = [(Path(p[0]), p[1]) if isinstance(p, tuple) else (Path(p), None) for p in paths]
        plain = [path for path, _name in items]
        batch = BatchResult()
        total = sum(p.stat().st_size for p in plain if p.is_file())
        base = 0
        with self.session() as session:
            for i, (path, name) in enumerate(items):
                if cancel is not None and cancel.is_set():
                    batch.not_attempted.extend(plain[i:])
                    raise BatchCancelled(batch)
                offset = base

                def report(done: int, _total: int | None, message: str = "", _offset: int = offset) -> None:
                    if progress is not None:
                        progress(_offset + done, total, message)

                try:
                    batch.sent.append(session.send_file(path, remote_folder, kind=kind, operator=operator,
                                                        final_name=name, progress=report, cancel=cancel))
                except AlreadySent as exc:
                    batch.already_sent.append((path, exc.previous))
                except Cancelled:
                    batch.not_attempted.extend(plain[i:])
                    raise BatchCancelled(batch) from None
                except NetworkError as exc:
                    batch.failed.append((path, exc))
                    batch.not_attempted.extend(plain[i + 1:])
                    break
                except UserFacingError as exc:
                    if isinstance(exc, tx.HostKeyUnknown | tx.HostKeyChanged | AuthError) and not batch.sent:
                        raise  # about the server, not this file: the caller trusts / fixes and starts again
                    batch.failed.append((path, exc))
                if path.is_file():
                    base += path.stat().st_size
                if progress is not None:
                    progress(base, total, f"{i + 1} of {len(items)} files")
        return batch

    def _plan(self, local_path: Path, remote_folder: str | None, *, kind: str, override: bool = False,
              override_by: Operator | None = None, final_name: str | None = None,
              progress: ProgressFn | None = None, cancel: tx.CancelFlag | None = None) -> _Plan:
        """Fingerprint the file and decide from the journal: resume, refuse, or a new entry."""
        local_path = Path(local_path)
        if not local_path.is_file():
            raise UserFacingError(f"{local_path} does not exist or is not a file")
        folder = remote_folder if remote_folder is not None else self.folder_for(kind)
        name = final_name or local_path.name
        remote_path = posixpath.join(folder or "/", name)
        if progress is not None:
            progress(0, None, f"Fingerprinting {name}")
        sha, size = file_fingerprint(local_path, cancel=cancel)
        self.journal.recover_dead_leases()
        history = self.history(sha)
        delivered = [e for e in history if e.state == DONE]
        # An unfinished attempt of this file to this remote path (even through another host or
        # port, e.g. the sandbox's) is resumed: it is reconciled before anything is sent.
        resumable = [e for e in history if e.state != DONE and e.payload.get("remote_path") == remote_path]

        supervisor = ""
        if override:
            who = override_by
            if who is None or who.role != "supervisor":
                raise NotPermitted("Sending a file again needs a supervisor's override",
                                   hint="a supervisor must confirm with their PIN")
            supervisor = who.operator_id

        # Without an override, only an attempt whose outcome is unknown may be resumed once the
        # file was delivered (it is reconciled, never blindly re-sent).
        if resumable and (not delivered or override or resumable[-1].state in (NEEDS_REVIEW, IN_FLIGHT)):
            entry: Entry | None = resumable[-1]
        elif delivered and not override:
            raise AlreadySent(name, delivered[-1])
        else:
            entry = None
        return _Plan(local_path, kind, remote_path, sha, size, entry, history, delivered, supervisor,
                     override=bool(delivered) and override)

    def _execute(self, t: Transfer, plan: _Plan, operator: str, *, progress: ProgressFn | None,
                 cancel: tx.CancelFlag | None) -> SendResult:
        entry = plan.entry
        if entry is None:
            base_key = self.key_for(plan.sha256, plan.remote_path)
            key = base_key if not plan.history else f"{base_key}#send-{len(plan.history) + 1}"
            entry = self._journal_new(key, plan.kind, plan.local_path, plan.remote_path, plan.sha256, plan.size,
                                      operator, registry_override=bool(plan.history), supervisor=plan.supervisor,
                                      reason="override" if plan.delivered else "",
                                      previous_receipt=self._previous_receipt(t, plan.remote_path))
            if plan.delivered:
                self._audit(plan.supervisor, AUDIT_OVERRIDE, f"{plan.local_path.name} → {plan.remote_path}",
                            fingerprint=grouped(plan.sha256), requested_by=operator,
                            previous_entry=plan.delivered[-1].id, entry=entry.id)
        return self._run(t, entry, plan.local_path, plan.remote_path, plan.sha256, plan.size, operator,
                         override=plan.override, progress=progress, cancel=cancel)

    def _journal_new(self, key: str, kind: str, local_path: Path, remote_path: str, sha: str, size: int,
                     operator: str, *, registry_override: bool, supervisor: str, reason: str,
                     previous_receipt: dict[str, Any] | None) -> Entry:
        payload: dict[str, Any] = {"local_name": local_path.name, "remote_path": remote_path,
                                   "destination": self.destination, "size": size, "sha256": grouped(sha), "kind": kind}
        if previous_receipt:
            payload["previous_receipt"] = previous_receipt
        if supervisor:
            payload["override_by"] = supervisor
        if reason:
            payload["reason"] = reason
        self.journal.add_entries(
            [NewEntry(key, JOURNAL_KIND_PREFIX + kind, payload)], operator=operator,
            fingerprint=_registry_fingerprint(sha), file_name=local_path.name, file_kind=JOURNAL_KIND_PREFIX + kind,
            records=1, total=str(size), override=registry_override)
        entry = self.journal.get(key)
        assert entry is not None
        return entry

    def _claim(self, entry: Entry, operator: str) -> Entry:
        if entry.state in (REJECTED, NEEDS_REVIEW):
            self.journal.reopen([entry.key], operator=operator)
        claimed = self.journal.claim(self.owner, [entry.kind], keys=[entry.key], lease_s=LEASE_S)
        if not claimed:
            current = self.journal.get(entry.key)
            if current is not None and current.state == IN_FLIGHT:
                raise SendInProgress(f"{entry.payload.get('local_name', 'This file')} is being sent right now "
                                     "from another window or computer", hint="wait for it to finish")
            raise SendInProgress(f"Could not start the send of {entry.payload.get('local_name')}: "
                                 f"its journal entry is {current.state if current else 'missing'}")
        return claimed[0]

    def _run(self, t: Transfer, entry: Entry, local_path: Path, remote_path: str, sha: str, size: int,
             operator: str, *, override: bool, progress: ProgressFn | None,
             cancel: tx.CancelFlag | None) -> SendResult:
        folder, name = posixpath.split(remote_path)
        entry = self._claim(entry, operator)
        key = entry.key
        try:
            reconciled = (self._reconcile(t, entry, local_path, remote_path, size)
                          if entry.needs_reconcile else None)
            if reconciled is not None:
                self._finish(key, DONE, outcome="already_there", remote_ref=reconciled.path,
                             detail=f"an earlier attempt had delivered it ({reconciled.path})")
                self._audit(operator, AUDIT_SEND, f"{name} → {remote_path}", entry=entry.id,
                            fingerprint=grouped(sha), outcome="reconciled", size=size)
                status = DeliveryStatus.DELIVERED if reconciled.path != remote_path \
                    else DeliveryStatus.AWAITING_PICKUP
                return SendResult(key, remote_path, size, sha, status, t.protocol, reconciled=True,
                                  override=override, insecure=t.insecure,
                                  warnings=(tx.PLAIN_FTP_WARNING,) if t.insecure else ())
            previous_receipt = entry.payload.get("previous_receipt")
            last_renew = time.monotonic()

            def report(done: int, total: int | None, message: str = "") -> None:
                nonlocal last_renew
                if time.monotonic() - last_renew > LEASE_S / 3:
                    self.journal.renew(key, self.owner, LEASE_S)
                    last_renew = time.monotonic()
                if progress is not None:
                    progress(done, total, message)

            result = t.upload(local_path, folder, name, progress=report, cancel=cancel)
        except Cancelled:
            self._finish(key, REJECTED, outcome="cancelled", detail=f"cancelled by {operator}")
            raise
        except NetworkError as exc:
            self._finish(key, NEEDS_REVIEW, outcome="connection_lost",
                         detail=json.dumps({"error": str(exc), "remote_path": remote_path}))
            raise
        except tx.RemoteFileExists as exc:
            if exc.remote.size == size and self._same_content(t, exc.remote, local_path, require_checksum=True):
                self._finish(key, DONE, outcome="already_there", remote_ref=exc.remote.path,
                             detail="this same file was already waiting on the server")
                self._audit(operator, AUDIT_SEND, f"{name} → {remote_path}", entry=entry.id,
                            fingerprint=grouped(sha), outcome="already_there", size=size)
                return SendResult(key, remote_path, size, sha, DeliveryStatus.AWAITING_PICKUP, t.protocol,
                                  reconciled=True, override=override, insecure=t.insecure,
                                  warnings=(tx.PLAIN_FTP_WARNING,) if t.insecure else ())
            self._finish(key, REJECTED, outcome="name_taken", detail=str(exc))
            raise RemoteError(f"A different file named {name} is already waiting on the server "
                              f"({exc.remote.size:,} bytes; this file has {size:,})", system=t.system,
                              hint="wait for the pickup, or ask the provider before replacing it") from exc
        except BaseException as exc:
            self._finish(key, REJECTED, outcome="refused", detail=str(exc) or type(exc).__name__)
            raise
        self._finish(key, DONE, outcome="sent", remote_ref=result.remote_path,
                     detail=result.checksum or "size verified")
        self._audit(operator, AUDIT_SEND, f"{name} → {remote_path}", entry=entry.id, fingerprint=grouped(sha),
                    size=size, protocol=t.protocol, insecure=t.insecure, override=override)
        status = self._status(t, remote_path, previous_receipt)
        return SendResult(key, result.remote_path, size, sha, status, result.protocol, override=override,
                          insecure=result.insecure, checksum=result.checksum, warnings=result.warnings)

    def _finish(self, key: str, state: str, **kwargs: Any) -> None:
        if not self.journal.finish(key, self.owner, state, **kwargs):
            log.warning("lost the journal lease of %s before recording %s", key, state)

    def _reconcile(self, t: Transfer, entry: Entry, local_path: Path, remote_path: str,
                   size: int) -> RemoteFile | None:
        """Did an earlier attempt deliver it? The final name, or a .snt receipt that was not there
        before this send, with the same size (and the same SHA-1 when the server can tell)."""
        folder, name = posixpath.split(remote_path)
        found = t.delivery(remote_path)
        prev = entry.payload.get("previous_receipt")
        if found.file is not None and found.file.size == size and not _same_receipt(found.file, prev) \
                and self._same_content(t, found.file, local_path):
            return found.file
        removed = t.remove_stale_temps(folder, name)
        if removed:
            log.info("removed %s of %s", counted(removed, "stale temporary file"), name)
        return None

    @staticmethod
    def _same_content(t: Transfer, remote: RemoteFile, local_path: Path, *, require_checksum: bool = False) -> bool:
        """Same bytes as far as the server can tell: its checksum when it has one, else (for our own
        earlier attempt only) the size the caller already compared."""
        remote_sum = t.remote_checksum(remote.path, remote.size)
        if remote_sum is None:
            return not require_checksum
        return remote_sum == tx.local_checksum(local_path)

    @staticmethod
    def _previous_receipt(t: Transfer, remote_path: str) -> dict[str, Any] | None:
        d = t.delivery(remote_path)
        if d.status == DeliveryStatus.DELIVERED and d.file is not None:
            return {"path": d.file.path, "size": d.file.size, "mtime": d.file.mtime}
        return None

    @staticmethod
    def _status(t: Transfer, remote_path: str, previous_receipt: dict[str, Any] | None) -> DeliveryStatus:
        d = t.delivery(remote_path)
        if d.status == DeliveryStatus.DELIVERED and _same_receipt(d.file, previous_receipt):
            return DeliveryStatus.MISSING
        return d.status

    # ---- delivery status (for polling)
    def delivery_status(self, key_or_result: str | SendResult) -> DeliveryStatus:
        """Where the sent file is now: awaiting pickup, delivered (.snt) or missing."""
        key = key_or_result.key if isinstance(key_or_result, SendResult) else key_or_result
        entry = self.journal.get(key)
        if entry is None:
            raise UserFacingError(f"No send is journaled under {key}")
        remote_path = entry.payload.get("remote_path") or entry.remote_ref  # remote_ref may be the .snt
        with self.transfer_factory() as t:
            return self._status(t, remote_path, entry.payload.get("previous_receipt"))

    def remote_status(self, remote_path: str) -> DeliveryStatus:
        with self.transfer_factory() as t:
            return t.delivery_status(remote_path)

    def list_folder(self, folder: str) -> list[RemoteFile]:
        with self.transfer_factory() as t:
            return [f for f in t.list(folder) if not tx.is_temp_name(f.name)]

    def test_connection(self, *, progress: ProgressFn | None = None,
                        cancel: tx.CancelFlag | None = None) -> ConnectionReport:
        """Log in and look at every configured folder. Never raises for remote trouble: reports it."""
        s = self.settings
        base = dict(destination=self.destination, protocol=s.protocol, insecure=s.insecure)
        if progress is not None:
            progress(0, len(self.folders) + 1, f"Connecting to {s.host}")
        try:
            t = self.transfer_factory()
            t.connect()
        except tx.HostKeyUnknown as exc:
            return ConnectionReport(HOST_KEY_UNKNOWN, **base, fingerprint=exc.fingerprint, message=exc.message,
                                    hint=exc.hint or "", unknown_key=exc)
        except tx.HostKeyChanged as exc:
            return ConnectionReport(HOST_KEY_CHANGED, **base, fingerprint=exc.offered, message=exc.message,
                                    hint=exc.hint or "")
        except AuthError as exc:
            return ConnectionReport(AUTH_FAILED, **base, message=exc.message, hint=exc.hint or "")
        except NetworkError as exc:
            return ConnectionReport(UNREACHABLE, **base, message=exc.message, hint=exc.hint or "")
        except UserFacingError as exc:
            return ConnectionReport(REFUSED, **base, message=exc.message, hint=exc.hint or "")
        folders = []
        try:
            fingerprint = getattr(t, "server_fingerprint", "")
            for i, (kind, folder) in enumerate(sorted(self.folders.items()), 1):
                if cancel is not None and cancel.is_set():
                    raise Cancelled("connection test cancelled")
                if progress is not None:
                    progress(i, len(self.folders) + 1, f"Looking at {folder}")
                try:
                    names = [f.name for f in t.list(folder)]
                except NetworkError:
                    raise
                except RemoteError as exc:
                    folders.append(FolderState(kind, folder, False, error=exc.message))
                    continue
                folders.append(FolderState(
                    kind, folder, True,
                    awaiting_pickup=sum(1 for n in names if not tx.is_temp_name(n) and not n.endswith(tx.SNT)),
                    delivered=sum(1 for n in names if n.endswith(tx.SNT)),
                    temporary=sum(1 for n in names if tx.is_temp_name(n))))
        except NetworkError as exc:
            return ConnectionReport(UNREACHABLE, **base, folders=tuple(folders), message=exc.message)
        finally:
            t.close()
        missing = [f.folder for f in folders if not f.exists]
        message = f"Signed in to {s.host} as {s.user}"
        if missing:
            message += f"; missing or unreadable {agree(len(missing), 'folder', 'folders')}: {', '.join(missing)}"
        return ConnectionReport(CONNECTED, **base, fingerprint=fingerprint, folders=tuple(folders), message=message,
                                hint="check the remote folders in Settings → Transfer" if missing else "")

    def pinned_hosts(self) -> list[tuple[str, str, str]]:
        if self.settings.known_hosts is None:
            return []
        return tx.pinned_hosts(self.settings.known_hosts)

    def forget_host_key(self, host: str, port: int, *, operator: str) -> bool:
        """Remove a pinned key (after the provider confirmed a new one); audited. The next
        connection shows the new fingerprint for an explicit trust."""
        if self.settings.known_hosts is None:
            return False
        removed = tx.forget_host_key(self.settings.known_hosts, host, port)
        if removed:
            self._audit(operator, AUDIT_FORGET, tx.known_hosts_name(host, port))
        return removed

    def trust_host_key(self, error: tx.HostKeyUnknown, *, operator: str) -> str:
        """Pin the key an operator explicitly trusted (after comparing the fingerprint)."""
        if self.settings.known_hosts is None:
            raise UserFacingError("This connection has no known_hosts file")
        fp = tx.trust_host_key(self.settings.known_hosts, error.host, error.port, error.key)
        self._audit(operator, AUDIT_TRUST, tx.known_hosts_name(error.host, error.port), fingerprint=fp,
                    key_type=error.key_type)
        return fp


class TransferSession:
    """Many sends over one connection (see :meth:`TransferService.session`)."""

    def __init__(self, service: TransferService):
        self.service = service
        self._t: Transfer | None = None

    def _connection(self) -> Transfer:
        if self._t is None:
            t = self.service.transfer_factory()
            t.connect()
            self._t = t
        return self._t

    def send_file(self, local_path: Path, remote_folder: str | None = None, *, kind: str, operator: str,
                  override: bool = False, override_by: Operator | None = None, final_name: str | None = None,
                  expected_sha256: str | None = None, progress: ProgressFn | None = None,
                  cancel: tx.CancelFlag | None = None) -> SendResult:
        svc = self.service
        require_send(svc.profile, operator, kind, svc.audit)
        plan = svc._plan(local_path, remote_folder, kind=kind, override=override, override_by=override_by,
                         final_name=final_name, progress=progress, cancel=cancel)
        if expected_sha256 and expected_sha256.lower() != plan.sha256:
            raise FileChanged(f"{plan.local_path.name} changed since it was checked; nothing was sent",
                              hint="check the file again, then send it")
        try:
            return svc._execute(self._connection(), plan, operator, progress=progress, cancel=cancel)
        except NetworkError:
            self.close()  # reconnect on the next send
            raise

    def close(self) -> None:
        if self._t is not None:
            self._t.close()
            self._t = None

    def __enter__(self) -> TransferSession:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@dataclass(frozen=True)
class FolderState:
    kind: str
    folder: str
    exists: bool
    awaiting_pickup: int = 0
    delivered: int = 0
    temporary: int = 0
    error: str = ""


CONNECTED = "connected"
HOST_KEY_UNKNOWN = "host key unknown"
HOST_KEY_CHANGED = "host key changed"
AUTH_FAILED = "auth failed"
UNREACHABLE = "unreachable"
REFUSED = "refused"


@dataclass(frozen=True)
class ConnectionReport:
    """What a connection test found: can we log in, which key, what is in each folder."""

    state: str
    destination: str
    protocol: str
    insecure: bool
    fingerprint: str = ""  # SFTP: the server's host key (pinned when connected, offered when unknown)
    folders: tuple[FolderState, ...] = ()
    message: str = ""
    hint: str = ""
    unknown_key: tx.HostKeyUnknown | None = field(default=None, repr=False, compare=False)  # to trust it

    @property
    def ok(self) -> bool:
        return self.state == CONNECTED and all(f.exists and not f.error for f in self.folders)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "state": self.state, "destination": self.destination, "protocol": self.protocol,
                "insecure": self.insecure, "fingerprint": self.fingerprint, "message": self.message,
                "hint": self.hint, "folders": [f.__dict__ for f in self.folders]}


def _same_receipt(file: RemoteFile | None, prev: dict[str, Any] | None) -> bool:
    if file is None or not prev:
        return False
    return file.path == prev.get("path") and file.size == prev.get("size") and file.mtime == prev.get("mtime")


# ---- building the settings for a profile ----------------------------------------------------

def settings_for_profile(profile: Profile, secrets: SecretStore, paths: Paths,
                         endpoints: dict[str, Any] | None = None) -> TransferSettings:
    """The transfer settings of ``profile``; the sandbox's come from the running sandbox.

    The sandbox is the one case where a host key is pinned without an operator's click: its
    key is read from the sandbox's own data folder on this computer (not from the network),
    so there is nothing to compare. Every other host needs the explicit trust.
    """
    endpoints = endpoints or {}
    if profile.is_sandbox:
        host = str(endpoints.get("transfer_host") or "127.0.0.1")
        port = int(endpoints.get("transfer_port") or 0)
        settings = TransferSettings(
            protocol="sftp", host=host, port=port,
            user=str(endpoints.get("transfer_user") or profile.transfer_user or "demo"),
            password=str(endpoints.get("transfer_password") or ""),
            known_hosts=paths.known_hosts_file, timeout=10.0)
        key = _sandbox_host_key(endpoints, paths)
        if key is not None and port:
            tx.trust_host_key(paths.known_hosts_file, host, port, key, replace=True)
            _forget_old_sandbox_ports(paths.known_hosts_file, host, port, tx.host_key_fingerprint(key))
        return settings
    auth = str(profile.transfer_auth)
    protocol = str(profile.transfer_protocol)
    # a port the profile does not set follows the protocol (the declared default, 22, is SFTP's)
    port = endpoints.get("transfer_port") or profile.values.get("transfer_port") or DEFAULT_PORTS[protocol]
    return TransferSettings(
        protocol=protocol, host=str(endpoints.get("transfer_host") or profile.transfer_host),
        port=int(port), user=str(profile.transfer_user),
        auth=auth, password=secrets.get(TRANSFER_PASSWORD),
        key_file=Path(str(profile.transfer_key_file)).expanduser() if profile.transfer_key_file else None,
        key_passphrase=secrets.get(TRANSFER_KEY_PASSPHRASE) if auth == "key" else None,
        ca_file=Path(str(profile.transfer_ca_file)).expanduser() if profile.transfer_ca_file else None,
        known_hosts=paths.known_hosts_file)


def _forget_old_sandbox_ports(known_hosts: Path, host: str, port: int, fingerprint: str) -> None:
    """The embedded sandbox gets a new port each run: drop its key pinned under earlier ports."""
    current = tx.known_hosts_name(host, port)
    for name, _key_type, fp in tx.pinned_hosts(known_hosts):
        if fp == fingerprint and name != current and name.startswith(f"[{host}]:"):
            tx.forget_host_key(known_hosts, host, int(name.rsplit(":", 1)[1]))


def _sandbox_host_key(endpoints: dict[str, Any], paths: Paths):
    from console.sandbox import sftp_server

    line = endpoints.get("transfer_host_key")
    if line:
        return sftp_server.public_key_from_line(str(line))
    return sftp_server.local_host_key(paths.sandbox_dir)


def folders_for_profile(profile: Profile) -> dict[str, str]:
    return {"invoices": profile.transfer_invoice_folder, "bills": profile.transfer_bills_folder,
            "lockbox": profile.transfer_lockbox_folder, "balances": profile.transfer_balance_folder}


def build_transfer_service(profile: Profile, secrets: SecretStore, paths: Paths, journal: Journal, *,
                           endpoints: dict[str, Any] | None = None, audit: Any = None) -> TransferService:
    settings = settings_for_profile(profile, secrets, paths, endpoints)
    return TransferService(transfer_factory=lambda: tx.open_transfer(settings), settings=settings,
                           journal=journal, audit=audit, folders=folders_for_profile(profile), profile=profile)


def diagnostic_check(services: Any) -> Any:
    """A check for the diagnostics page (``console.services.diagnostics.Check``): the transfer login,
    the host key and the remote folders."""
    from console.services.diagnostics import FAIL, PASS, WARN, Check

    title = "File transfer (Stratus / SFTP)"
    try:
        report = services.transfer.test_connection()
    except Exception as exc:  # noqa: BLE001 - a diagnostic never raises
        return Check("transfer", title, FAIL, f"The transfer could not be set up: {exc}",
                     "Check Settings → Transfer")
    details = [f"{report.protocol}: {report.destination}"]
    if report.fingerprint:
        details.append(f"host key {report.fingerprint}")
    for f in report.folders:
        details.append(f"{f.kind}: {f.folder} — " + (f"{f.awaiting_pickup} awaiting pickup, {f.delivered} delivered"
                                                     if f.exists else f"not usable ({f.error})"))
    if report.state != CONNECTED:
        state = WARN if report.state == HOST_KEY_UNKNOWN else FAIL
        return Check("transfer", title, state, f"{report.state}: {report.message}", report.hint, details)
    if not report.ok:
        return Check("transfer", title, WARN, report.message, report.hint, details)
    if report.insecure:
        return Check("transfer", title, WARN, f"{report.message} over plain FTP (unencrypted)",
                     "Ask the provider for SFTP or FTPS", details)
    return Check("transfer", title, PASS, report.message, "", details)


__all__ = ["KINDS", "PENDING", "AlreadySent", "BatchCancelled", "BatchResult", "FileChanged", "SendInProgress",
           "SendResult", "TransferService", "TransferSession",
           "build_transfer_service", "diagnostic_check", "file_fingerprint", "folders_for_profile",
           "settings_for_profile"]
