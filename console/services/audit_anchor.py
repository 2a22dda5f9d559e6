"""What keeps the audit chain honest from outside the journal: its key, its anchor, the journal's identity.

- **The key** (:class:`ChainKey`): 32 random bytes made at the first start, kept in the OS
  keyring (``console.secrets``, scope ``journal``), never in the journal. Without a secure
  keyring the sandbox profile keeps it in an owner-only (0600) file in the config folder and
  says so; a production profile refuses to go on (the key would have nowhere safe to live).
- **The anchor** (:class:`AnchorFile`): ``<data folder>/audit-anchor.log``, append-only, one
  JSON line per audit append (running count and head hash) and one per *base* event (the chain
  keyed, a supervisor's acknowledgment, a restore). Every line carries an HMAC under the key,
  so a line cannot be forged or edited; deleting rows from the journal leaves the anchored
  head missing from the chain.
- **The identity** (:class:`IdentityFile`): ``<data folder>/journal-identity.json``, the
  journal's id (also kept inside the journal) and the last entry id and audit count the
  console saw. A missing, empty, foreign or older journal does not match it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets as _random
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from console.secrets import AUDIT_KEY

log = logging.getLogger(__name__)

ANCHOR_FILE = "audit-anchor.log"
IDENTITY_FILE = "journal-identity.json"
KEY_FILE = "audit-chain.key"

APPEND, KEYED, ACKNOWLEDGED, RESTORED = "append", "keyed", "acknowledged", "restored"
BASE_EVENTS = (KEYED, ACKNOWLEDGED, RESTORED)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- the key
def shared_secret_store(secrets):
    """Where the data folder's key is looked for: the profile store's backend, scope ``journal``
    (the tests' autouse fixture swaps this for one in-memory keyring per test)."""
    return secrets.shared()


class ChainKey:
    """Finds or makes the chain's key: the OS keyring, else (sandbox only) an owner-only file."""

    def __init__(self, secrets, config_dir: Path, *, sandbox: bool):
        self._store = shared_secret_store(secrets)
        self.file = Path(config_dir) / KEY_FILE
        self.sandbox = sandbox

    @property
    def secure(self) -> bool:
        return bool(self._store.secure)

    @property
    def storage(self) -> str:
        """Where the key lives, for Diagnostics."""
        if self.secure:
            return "in the OS keyring"
        if self.sandbox:
            return f"in an owner-only file, {self.file} (no secure keyring on this PC; sandbox only)"
        return "nowhere: no secure keyring on this PC"

    @property
    def can_keep(self) -> bool:
        return self.secure or self.sandbox

    def load(self) -> bytes | None:
        if self.secure:
            text = self._store.stored(AUDIT_KEY)
            if not text and self.file.exists():  # kept in a file while there was no keyring: move it in
                text = self._read_file()
                if text:
                    self._store.set(AUDIT_KEY, text)
                    self.file.unlink(missing_ok=True)
        elif self.sandbox and self.file.exists():
            text = self._read_file()
        else:
            text = None
        return bytes.fromhex(text) if text else None

    def create(self) -> bytes:
        if not self.can_keep:
            raise OSError("no secure keyring to keep the audit chain's key")
        key = _random.token_bytes(32)
        if self.secure:
            self._store.set(AUDIT_KEY, key.hex())
        else:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(key.hex())
                fh.flush()
                os.fsync(fh.fileno())
        return key

    def _read_file(self) -> str | None:
        if os.name == "posix" and self.file.stat().st_mode & 0o077:
            raise PermissionError(f"{self.file} may be read by other users: it must be owner-only (chmod 600)")
        text = self.file.read_text(encoding="ascii").strip()
        return text or None


def key_id(key: bytes) -> str:
    """A short name for a key that gives nothing of it away (shown in Diagnostics)."""
    return hmac.new(key, b"biller-console audit key id", hashlib.sha256).hexdigest()[:12]


# --------------------------------------------------------------------------- the anchor
@dataclass(frozen=True)
class Anchor:
    event: str
    journal_id: str
    count: int  # audit rows in the chain at that moment (= the seq of its last row)
    head: str  # hash of row ``count``
    keyed_from: int  # first row hashed under the key
    base_seq: int  # first row verified (1, or a supervisor's acknowledgment / a restore)
    at: str

    def summary(self) -> str:
        return f"Audit anchor: {self.count:,} entries, head {self.head[:8]}…"


@dataclass(frozen=True)
class AnchorState:
    """The anchor file read back: the newest base event raised by later appends."""

    latest: Anchor | None
    problems: tuple[str, ...] = ()


class AnchorFile:
    """``audit-anchor.log``: appended to (O_APPEND, fsync), never rewritten."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        #: (key, bytes read, their SHA-256, lines read, latest, problems) of the last read
        self._cache: tuple | None = None

    def exists(self) -> bool:
        return self.path.exists()

    def append(self, anchor: Anchor, key: bytes) -> None:
        fields = asdict(anchor)
        fields["key_id"] = key_id(key)
        fields["mac"] = _mac(key, fields)
        line = (json.dumps(fields, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def read(self, key: bytes | None) -> AnchorState:
        """The anchor as of now. Lines already read (under the same key, the file not shorter) are
        not parsed again: a check before each payment reads only what was appended since."""
        if not self.path.exists():
            self._cache = None
            return AnchorState(None)
        with self._lock:
            whole = self.path.read_bytes()
            cache = self._cache
            prefix = hashlib.sha256(whole[:cache[1]]) if cache is not None and len(whole) >= cache[1] else None
            if cache is None or cache[0] != key or prefix is None or prefix.digest() != cache[2]:
                cache, prefix = (key, 0, b"", 0, None, ()), hashlib.sha256()  # changed, not only appended to
            _, offset, _digest, number, latest, problems = cache
            data = whole[offset:]
            complete = data.rfind(b"\n") + 1  # a line without its newline yet (being written, or cut by a crash)
            found = list(problems)
            for raw in data[:complete].split(b"\n")[:-1]:
                number += 1
                if raw.strip():
                    latest = self._take(raw, key, number, latest, found)
            prefix.update(data[:complete])
            self._cache = (key, offset + complete, prefix.digest(), number, latest, tuple(found))
        return AnchorState(latest, tuple(found[:5]))

    def _take(self, raw: bytes, key: bytes | None, number: int, latest: Anchor | None, found: list[str]):
        anchor = _parse(raw, key)
        if anchor is _OTHER_KEY:
            return latest  # written under a key lost since (a supervisor acknowledged that)
        if anchor is None:
            found.append(f"line {number} of the anchor file {self.path} was changed or is not valid")
            return latest
        if anchor.event in BASE_EVENTS or latest is None:
            return anchor
        if anchor.journal_id == latest.journal_id and anchor.count > latest.count:
            return Anchor(latest.event, latest.journal_id, anchor.count, anchor.head, latest.keyed_from,
                          latest.base_seq, anchor.at)
        return latest


def _mac(key: bytes, fields: dict) -> str:
    text = json.dumps({k: v for k, v in fields.items() if k != "mac"}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


_OTHER_KEY = Anchor("other key", "", 0, "", 0, 0, "")


def _parse(raw: bytes, key: bytes | None) -> Anchor | None:
    try:
        fields = json.loads(raw)
        anchor = Anchor(str(fields["event"]), str(fields["journal_id"]), int(fields["count"]), str(fields["head"]),
                        int(fields["keyed_from"]), int(fields["base_seq"]), str(fields["at"]))
    except (ValueError, KeyError, TypeError):
        return None
    if key is not None and fields.get("key_id") != key_id(key):
        return _OTHER_KEY
    if key is not None and not hmac.compare_digest(str(fields.get("mac", "")), _mac(key, fields)):
        return None
    return anchor


# --------------------------------------------------------------------------- the identity
@dataclass(frozen=True)
class Identity:
    journal_id: str
    last_entry_id: int
    audit_count: int
    recorded_at: str

    def describe(self) -> str:
        return (f"journal {self.journal_id[:8]}… with {self.last_entry_id:,} entries and {self.audit_count:,} "
                f"audit entries, last seen {self.recorded_at.replace('T', ' ')[:16]} UTC")


class IdentityFile:
    """``journal-identity.json``, replaced atomically."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def read(self) -> Identity | None:
        if not self.path.exists():
            return None
        try:
            fields = json.loads(self.path.read_text(encoding="utf-8"))
            return Identity(str(fields["journal_id"]), int(fields["last_entry_id"]), int(fields["audit_count"]),
                            str(fields["recorded_at"]))
        except (ValueError, KeyError, TypeError):
            log.warning("the journal identity file %s is not valid", self.path)
            return Identity("(unreadable)", 0, 0, "")

    def write(self, journal_id: str, last_entry_id: int, audit_count: int) -> Identity:
        identity = Identity(journal_id, last_entry_id, audit_count, _now_iso())
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{_random.token_hex(4)}.tmp")  # one per writer
        tmp.write_text(json.dumps(asdict(identity), indent=1), encoding="utf-8")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        return identity
