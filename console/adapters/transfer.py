"""File transfer to Invoice Cloud: SFTP (Stratus) with paramiko, FTPS / plain FTP with ftplib.

One port, :class:`Transfer`, with two implementations. Every upload follows the same
protocol, whatever the wire:

1. write to a hidden temporary name in the target folder (``.<name>.part-<uuid>``),
2. verify the remote size (and a SHA-1 through the ``check-file`` extension when the SFTP
   server offers it),
3. rename to the final name (``posix-rename@openssh.com`` when available).

So a failed or cancelled transfer never leaves a partial file under the final name; the
temporary file is removed when the connection still allows it, and a later send removes
stale temporaries of the same name (:meth:`Transfer.remove_stale_temps`).

Host keys (SFTP) are pinned in the console's own ``known_hosts`` file (never the user's
``~/.ssh``). An unknown host raises :class:`HostKeyUnknown` carrying the SHA-256 fingerprint;
only an explicit :func:`trust_host_key` pins it. A changed key raises :class:`HostKeyChanged`
and is never accepted automatically.

Stratus semantics: the pickup renames a delivered file to ``.snt``; that rename is the
delivery receipt (:meth:`Transfer.delivery_status`). Both ``<name>.snt`` and
``<stem>.snt`` are recognised.

Errors: :class:`~console.errors.NetworkError` when the connection could not be made or
dropped (outcome unknown — reconcile before retrying), :class:`~console.errors.AuthError`
for refused credentials, :class:`~console.errors.RemoteError` for anything else the server
refused.
"""

from __future__ import annotations

import contextlib
import ftplib
import hashlib
import logging
import os
import posixpath
import socket
import ssl
import stat as stat_mod
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import paramiko

from console.errors import AuthError, Cancelled, NetworkError, RemoteError, UserFacingError

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
SNT = ".snt"
PROTOCOLS = ("sftp", "ftps", "ftp")
PLAIN_FTP_WARNING = ("Plain FTP: the password and the file travel unencrypted. "
                     "Ask the provider for SFTP or FTPS.")

ProgressFn = Callable[..., None]


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


# ---- results and errors ----------------------------------------------------------------

class DeliveryStatus(StrEnum):
    AWAITING_PICKUP = "awaiting pickup"
    DELIVERED = "delivered"
    MISSING = "missing"


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    mtime: float | None = None

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)


@dataclass(frozen=True)
class UploadResult:
    remote_path: str
    size: int
    protocol: str
    insecure: bool = False  # plain FTP: the UI must show the warning
    checksum: str | None = None  # e.g. "sha1:…" when the server confirmed it
    warnings: tuple[str, ...] = ()

    @property
    def remote_name(self) -> str:
        return posixpath.basename(self.remote_path)


@dataclass(frozen=True)
class Delivery:
    status: DeliveryStatus
    file: RemoteFile | None = None  # the final file or its .snt receipt


class RemoteFileExists(RemoteError):
    """The final name is already taken on the server (and overwrite was not asked for)."""

    def __init__(self, remote: RemoteFile, *, system: str = ""):
        super().__init__(f"{remote.path} already exists on the server ({remote.size:,} bytes)",
                         system=system)
        self.remote = remote


def host_key_fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH-style ``SHA256:…`` fingerprint of a public key."""
    return key.fingerprint


def known_hosts_name(host: str, port: int) -> str:
    return host if int(port) == 22 else f"[{host}]:{int(port)}"


class HostKeyUnknown(UserFacingError):
    """The server's host key is not pinned yet: show the fingerprint, let the operator trust it."""

    def __init__(self, host: str, port: int, key: paramiko.PKey):
        self.host = host
        self.port = int(port)
        self.key = key
        self.key_type = key.get_name()
        self.fingerprint = host_key_fingerprint(key)
        super().__init__(
            f"The SFTP server {known_hosts_name(host, port)} is not known yet. "
            f"Its {self.key_type} host key fingerprint is {self.fingerprint}.",
            hint="compare it with the fingerprint your provider gave you, then choose Trust this host",
        )


class HostKeyChanged(UserFacingError):
    """The server offered a different key than the pinned one. Never accepted automatically."""

    def __init__(self, host: str, port: int, *, expected: str, offered: str):
        self.host = host
        self.port = int(port)
        self.expected = expected
        self.offered = offered
        super().__init__(
            f"WARNING: the host key of {known_hosts_name(host, port)} HAS CHANGED. "
            f"Pinned {expected}, the server now offers {offered}. Nothing was sent.",
            hint="this can mean someone is intercepting the connection; ask the provider before "
                 "removing the old key from the console's known_hosts",
        )


# ---- host key pinning ------------------------------------------------------------------

_known_hosts_lock = threading.Lock()


def load_known_hosts(path: Path) -> paramiko.HostKeys:
    keys = paramiko.HostKeys()
    if path.exists():
        keys.load(str(path))
    return keys


def pinned_key(path: Path, host: str, port: int) -> paramiko.PKey | None:
    entry = load_known_hosts(path).lookup(known_hosts_name(host, port))
    if not entry:
        return None
    return next(iter(entry.values()), None)


def trust_host_key(known_hosts: Path, host: str, port: int, key: paramiko.PKey, *,
                   replace: bool = False) -> str:
    """Pin ``key`` for host:port in the console's known_hosts; returns its fingerprint.

    Refuses (``HostKeyChanged``) to overwrite a different pinned key unless ``replace`` —
    which only the sandbox uses, for its own locally known key.
    """
    name = known_hosts_name(host, port)
    with _known_hosts_lock:
        keys = load_known_hosts(known_hosts)
        existing = keys.lookup(name) or {}
        for old in existing.values():
            if old == key:
                return host_key_fingerprint(key)
        if existing and not replace:
            old = next(iter(existing.values()))
            raise HostKeyChanged(host, port, expected=host_key_fingerprint(old), offered=host_key_fingerprint(key))
        if replace and name in keys:
            del keys[name]
        keys.add(name, key.get_name(), key)
        known_hosts.parent.mkdir(parents=True, exist_ok=True)
        tmp = known_hosts.with_name(f".{known_hosts.name}.{uuid.uuid4().hex[:8]}")
        keys.save(str(tmp))
        os.replace(tmp, known_hosts)
    log.info("pinned %s host key for %s: %s", key.get_name(), name, host_key_fingerprint(key))
    return host_key_fingerprint(key)


def pinned_hosts(known_hosts: Path) -> list[tuple[str, str, str]]:
    """Every pinned host as (known_hosts name, key type, SHA-256 fingerprint)."""
    keys = load_known_hosts(known_hosts)
    return sorted((name, key_type, host_key_fingerprint(key))
                  for name in keys.keys() for key_type, key in keys[name].items())


def forget_host_key(known_hosts: Path, host: str, port: int) -> bool:
    """Remove the pinned key of host:port (after the provider confirmed a key change). True if removed."""
    name = known_hosts_name(host, port)
    with _known_hosts_lock:
        keys = load_known_hosts(known_hosts)
        if name not in keys:
            return False
        del keys[name]
        tmp = known_hosts.with_name(f".{known_hosts.name}.{uuid.uuid4().hex[:8]}")
        keys.save(str(tmp))
        os.replace(tmp, known_hosts)
    log.warning("forgot the pinned host key of %s", name)
    return True


# ---- settings --------------------------------------------------------------------------

@dataclass(frozen=True)
class TransferSettings:
    """Everything one connection needs. Secrets are kept out of ``repr``."""

    protocol: str  # sftp | ftps | ftp
    host: str
    port: int
    user: str
    auth: str = "password"  # password | key (SFTP only)
    password: str | None = field(default=None, repr=False)
    key_file: Path | None = None
    key_passphrase: str | None = field(default=None, repr=False)
    known_hosts: Path | None = None  # SFTP: the console's own pinning file
    ca_file: Path | None = None  # FTPS: trust this CA / self-signed cert instead of the system store
    timeout: float = 20.0

    @property
    def insecure(self) -> bool:
        return self.protocol == "ftp"

    @property
    def display(self) -> str:
        return f"{self.protocol}://{self.user}@{self.host}:{self.port}"


def temp_name_for(name: str) -> str:
    return f".{name}.part-{uuid.uuid4().hex[:12]}"


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and ".part-" in name


def _join(folder: str, name: str) -> str:
    folder = folder or "/"
    return posixpath.join(folder, name)


def _check_cancel(cancel: CancelFlag | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("transfer cancelled")


# ---- the port ----------------------------------------------------------------------------

class Transfer(ABC):
    """A connection to one transfer server. Use as a context manager."""

    protocol = ""
    system = "transfer"

    def __init__(self, settings: TransferSettings):
        self.settings = settings

    @property
    def insecure(self) -> bool:
        return self.settings.insecure

    # -- connection
    @abstractmethod
    def connect(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Transfer:
        self.connect()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- primitives each protocol implements
    @abstractmethod
    def list(self, folder: str) -> list[RemoteFile]:
        """Regular files in ``folder`` (hidden temporaries included)."""

    @abstractmethod
    def stat(self, path: str) -> RemoteFile | None:
        """The file at ``path``, or None when there is none."""

    @abstractmethod
    def remove(self, path: str) -> None: ...

    @abstractmethod
    def _put(self, fh: BinaryIO, temp_path: str, total: int, progress: ProgressFn | None,
             cancel: CancelFlag | None, label: str) -> None: ...

    @abstractmethod
    def _rename(self, src: str, dst: str) -> None: ...

    def remote_checksum(self, path: str, size: int) -> str | None:
        """The server's :func:`local_checksum` of ``path`` when it can compute one, else None."""
        return None

    def _discard(self, path: str) -> None:
        """Best effort removal of a temporary after a failure (never raises)."""
        try:
            self.remove(path)
        except Exception as exc:  # noqa: BLE001 - the connection may be gone; a later send cleans up
            log.info("could not remove temporary %s now (%s); a later send removes it", path, type(exc).__name__)

    # -- shared protocol
    def exists(self, path: str) -> bool:
        return self.stat(path) is not None

    def upload(self, local_path: Path, remote_folder: str, final_name: str | None = None, *,
               overwrite: bool = False, progress: ProgressFn | None = None,
               cancel: CancelFlag | None = None) -> UploadResult:
        """Temp name → size (and checksum) verified → rename. Never a partial final file."""
        local_path = Path(local_path)
        name = final_name or local_path.name
        if "/" in name or name in ("", ".", "..") or name.startswith("."):
            raise RemoteError(f"{name!r} is not a usable remote file name", system=self.system)
        final = _join(remote_folder, name)
        total = local_path.stat().st_size
        _check_cancel(cancel)
        existing = self.stat(final)
        if existing is not None and not overwrite:
            raise RemoteFileExists(existing, system=self.system)
        temp = _join(remote_folder, temp_name_for(name))
        try:
            with local_path.open("rb") as fh:
                self._put(fh, temp, total, progress, cancel, f"Sending {name}")
            _check_cancel(cancel)
            got = self.stat(temp)
            if got is None or got.size != total:
                raise RemoteError(
                    f"{name}: the server holds {got.size if got else 0:,} bytes, {total:,} were sent; "
                    "the upload was discarded", system=self.system, retryable=True)
            checksum = self.remote_checksum(temp, total)
            if checksum is not None and checksum != local_checksum(local_path):
                raise RemoteError(f"{name}: the server's checksum does not match the file sent; "
                                  "the upload was discarded", system=self.system, retryable=True)
            _check_cancel(cancel)
            self._rename(temp, final)
        except BaseException:
            self._discard(temp)
            raise
        if progress is not None:
            progress(total, total, f"Sent {name}")
        warnings = (PLAIN_FTP_WARNING,) if self.insecure else ()
        return UploadResult(remote_path=final, size=total, protocol=self.protocol, insecure=self.insecure,
                            checksum=checksum, warnings=warnings)

    def find_delivered(self, remote_path: str) -> RemoteFile | None:
        """The final file, or its ``.snt`` receipt, whichever is there."""
        return self.delivery(remote_path).file

    def delivery(self, remote_path: str) -> Delivery:
        final = self.stat(remote_path)
        if final is not None:
            return Delivery(DeliveryStatus.AWAITING_PICKUP, final)
        folder, name = posixpath.split(remote_path)
        candidates = [name + SNT]
        stem, dot, _ext = name.rpartition(".")
        if dot and stem:
            candidates.append(stem + SNT)
        for candidate in candidates:
            receipt = self.stat(_join(folder, candidate))
            if receipt is not None:
                return Delivery(DeliveryStatus.DELIVERED, receipt)
        return Delivery(DeliveryStatus.MISSING, None)

    def delivery_status(self, remote_path: str) -> DeliveryStatus:
        """"awaiting pickup" (final name present), "delivered" (renamed to .snt) or "missing"."""
        return self.delivery(remote_path).status

    def remove_stale_temps(self, remote_folder: str, name: str) -> int:
        """Remove leftover ``.<name>.part-*`` temporaries of earlier failed sends."""
        prefix = f".{name}.part-"
        removed = 0
        for f in self.list(remote_folder):
            if f.name.startswith(prefix):
                self.remove(f.path)
                removed += 1
        return removed


CHECK_BLOCK = 65536  # check-file block size: paramiko's server mis-hashes blocks above 64 KiB
CHECK_MAX_BYTES = 64 * 1024 * 1024  # larger files rely on the size check alone


def local_checksum(path: Path) -> str:
    """SHA-1 of every 64 KiB block (the ``check-file`` extension's block form), summarised."""
    blocks = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(CHECK_BLOCK):
            blocks.update(hashlib.sha1(block, usedforsecurity=False).digest())
    return _checksum_label(blocks.digest())


def _checksum_label(digest: bytes) -> str:
    """A short, comparable name: SHA-256 over the concatenated block SHA-1s."""
    return "sha1-64k:" + digest.hex()[:40]


# ---- SFTP --------------------------------------------------------------------------------

class _PinnedHostKeyPolicy(paramiko.RejectPolicy):
    """RejectPolicy that hands the offered key back to the caller instead of a bare refusal."""

    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        raise HostKeyUnknown(self.host, self.port, key)


class SftpTransfer(Transfer):
    protocol = "sftp"
    system = "SFTP"

    def __init__(self, settings: TransferSettings):
        super().__init__(settings)
        if settings.known_hosts is None:
            raise ValueError("SFTP needs the console's known_hosts file")
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._posix_rename = True
        self._check_file = True

    # -- connection
    def connect(self) -> None:
        s = self.settings
        client = paramiko.SSHClient()
        if s.known_hosts.exists():  # the console's own file only; never ~/.ssh/known_hosts
            client.get_host_keys().load(str(s.known_hosts))
        client.set_missing_host_key_policy(_PinnedHostKeyPolicy(s.host, s.port))
        kwargs: dict[str, Any] = dict(hostname=s.host, port=int(s.port), username=s.user, timeout=s.timeout,
                                      banner_timeout=s.timeout, auth_timeout=s.timeout,
                                      channel_timeout=s.timeout, allow_agent=False, look_for_keys=False)
        if s.auth == "key":
            kwargs["pkey"] = self._load_key()
        else:
            if not s.password:
                raise AuthError(f"No password is stored for {s.display}", system=self.system,
                                hint="enter it in Settings → Credentials (Transfer — Password)")
            kwargs["password"] = s.password
        try:
            client.connect(**kwargs)
            _no_delay(client.get_transport())
            client.get_transport().set_keepalive(30)  # long bill batches through NAT / firewalls
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(s.timeout)
        except (HostKeyUnknown, HostKeyChanged):
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyChanged(s.host, s.port, expected=host_key_fingerprint(exc.expected_key),
                                 offered=host_key_fingerprint(exc.key)) from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            raise AuthError(f"The SFTP server {s.host} refused the user name or "
                            f"{'key' if s.auth == 'key' else 'password'} for {s.user!r}",
                            system=self.system, hint="check them in Settings → Transfer") from exc
        except (OSError, EOFError, paramiko.SSHException) as exc:
            client.close()
            raise NetworkError(f"Could not connect to {s.host}:{s.port} ({_describe(exc)})",
                               system=self.system) from exc
        self._client, self._sftp = client, sftp

    def _load_key(self) -> paramiko.PKey:
        s = self.settings
        if not s.key_file:
            raise AuthError("Key authentication is chosen but no private key file is set",
                            system=self.system, hint="choose one in Settings → Transfer")
        try:
            return paramiko.PKey.from_path(Path(s.key_file).expanduser(),
                                          s.key_passphrase.encode() if s.key_passphrase else None)
        except (paramiko.PasswordRequiredException, TypeError) as exc:  # TypeError: encrypted, no password
            if s.key_passphrase:
                raise AuthError(f"The private key {s.key_file} could not be opened", system=self.system) from exc
            raise AuthError(f"The private key {s.key_file} is protected by a passphrase and none is stored",
                            system=self.system,
                            hint="enter the passphrase in Settings → Credentials (Transfer — Key passphrase)") from exc
        except FileNotFoundError as exc:
            raise AuthError(f"The private key file {s.key_file} does not exist", system=self.system) from exc
        except (paramiko.SSHException, ValueError, OSError) as exc:
            raise AuthError(f"The private key {s.key_file} could not be opened (wrong passphrase or "
                            "unsupported format)", system=self.system) from exc

    def close(self) -> None:
        if self._sftp is not None:
            with contextlib.suppress(Exception):
                self._sftp.close()
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
        self._sftp = self._client = None

    @property
    def connected(self) -> bool:
        t = self._client.get_transport() if self._client else None
        return bool(t and t.is_active())

    @property
    def server_fingerprint(self) -> str:
        t = self._client.get_transport() if self._client else None
        return host_key_fingerprint(t.get_remote_server_key()) if t is not None else ""

    @property
    def _s(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            raise NetworkError("Not connected", system=self.system)
        return self._sftp

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except (Cancelled, UserFacingError):
            raise
        except (OSError, EOFError, paramiko.SSHException) as exc:
            if not self.connected or isinstance(exc, (EOFError, socket.timeout, paramiko.SSHException)):
                raise NetworkError(f"The connection to {self.settings.host} was lost while {action} "
                                   f"({_describe(exc)}); the outcome is unknown until reconciled",
                                   system=self.system) from exc
            raise RemoteError(f"The SFTP server refused {action}: {_describe(exc)}", system=self.system) from exc

    # -- primitives
    def list(self, folder: str) -> list[RemoteFile]:
        with self._errors(f"listing {folder}"):
            return [RemoteFile(_join(folder, a.filename), int(a.st_size or 0), a.st_mtime)
                    for a in self._s.listdir_attr(folder) if a.st_mode is None or stat_mod.S_ISREG(a.st_mode)]

    def stat(self, path: str) -> RemoteFile | None:
        with self._errors(f"looking up {path}"):
            try:
                a = self._s.stat(path)
            except FileNotFoundError:
                return None
        if a.st_mode is not None and not stat_mod.S_ISREG(a.st_mode):
            return None
        return RemoteFile(path, int(a.st_size or 0), a.st_mtime)

    def remove(self, path: str) -> None:
        with self._errors(f"removing {path}"):
            self._s.remove(path)

    def _put(self, fh: BinaryIO, temp_path: str, total: int, progress: ProgressFn | None,
             cancel: CancelFlag | None, label: str) -> None:
        done = 0
        with self._errors(f"uploading {label.removeprefix('Sending ')}"):
            with self._s.open(temp_path, "wb") as remote:
                remote.set_pipelined(True)
                while True:
                    _check_cancel(cancel)
                    chunk = fh.read(CHUNK)
                    if not chunk:
                        break
                    remote.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total, label)

    def _rename(self, src: str, dst: str) -> None:
        with self._errors(f"renaming to {posixpath.basename(dst)}"):
            if self._posix_rename:
                try:
                    self._s.posix_rename(src, dst)
                    return
                except OSError as exc:
                    if not self.connected:
                        raise
                    log.info("posix-rename not available (%s); using rename", _describe(exc))
                    self._posix_rename = False
            self._s.rename(src, dst)

    def remote_checksum(self, path: str, size: int) -> str | None:
        # check-file needs blocks of at least 256 bytes; huge files would mean huge replies
        if not self._check_file or size < 256 or size > CHECK_MAX_BYTES or size % CHECK_BLOCK and \
                size % CHECK_BLOCK < 256:
            return None
        try:
            with self._s.open(path, "rb") as f:
                return _checksum_label(hashlib.sha256(f.check("sha1", 0, size, CHECK_BLOCK)).digest())
        except OSError as exc:
            if not self.connected:
                raise NetworkError(f"The connection to {self.settings.host} was lost while verifying "
                                   f"({_describe(exc)})", system=self.system) from exc
            self._check_file = False  # the server has no check-file; the size check stands
            return None


# ---- FTP / FTPS --------------------------------------------------------------------------

class FtpTransfer(Transfer):
    """FTPS (explicit TLS, ``PROT P``, certificate verified) or — only when configured — plain FTP."""

    system = "FTP"

    def __init__(self, settings: TransferSettings):
        super().__init__(settings)
        self.protocol = settings.protocol
        self._ftp: ftplib.FTP | None = None

    def _context(self) -> ssl.SSLContext:
        cafile = str(self.settings.ca_file) if self.settings.ca_file else None
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def connect(self) -> None:
        s = self.settings
        if not s.password:
            raise AuthError(f"No password is stored for {s.display}", system=self.system,
                            hint="enter it in Settings → Credentials (Transfer — Password)")
        ftp: ftplib.FTP
        if s.protocol == "ftps":
            ftp = _SessionReusingFTP_TLS(context=self._context(), timeout=s.timeout)
        else:
            ftp = ftplib.FTP(timeout=s.timeout)
            log.warning("plain FTP to %s: credentials and files travel unencrypted", s.host)
        try:
            ftp.connect(s.host, int(s.port))
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.auth()
            ftp.login(s.user, s.password)
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            ftp.set_pasv(True)
            ftp.voidcmd("TYPE I")
        except BaseException as exc:
            with contextlib.suppress(Exception):
                ftp.close()
            raise self._map(exc, "connecting") from exc
        self._ftp = ftp

    def close(self) -> None:
        if self._ftp is not None:
            try:
                self._ftp.quit()
            except Exception:  # noqa: BLE001
                with contextlib.suppress(Exception):
                    self._ftp.close()
        self._ftp = None

    def _map(self, exc: BaseException, action: str) -> BaseException:
        s = self.settings
        if isinstance(exc, (Cancelled, UserFacingError)) or not isinstance(exc, Exception):
            return exc
        if isinstance(exc, ssl.SSLCertVerificationError):
            return RemoteError(f"The FTPS certificate of {s.host} could not be verified ({exc.verify_message})",
                               system=self.system, hint="the server must present a certificate for this host "
                               "name signed by a trusted authority")
        if isinstance(exc, ftplib.error_perm):
            code = str(exc)[:3]
            if code == "530":
                return AuthError(f"The FTP server {s.host} refused the user name or password for {s.user!r}",
                                 system=self.system, hint="check them in Settings → Transfer")
            if action == "connecting" and code in ("500", "502", "504", "534"):
                return RemoteError(f"The FTP server {s.host} does not offer TLS ({exc})", system=self.system,
                                   hint="choose plain FTP only if the provider has no FTPS or SFTP")
            return RemoteError(f"The FTP server refused {action}: {exc}", system=self.system)
        if isinstance(exc, ftplib.error_temp):
            return NetworkError(f"The FTP server {s.host} failed while {action} ({exc}); "
                                "the outcome is unknown until reconciled", system=self.system)
        if isinstance(exc, (OSError, EOFError, ftplib.error_reply, ftplib.error_proto)):
            return NetworkError(f"The connection to {s.host}:{s.port} was lost or refused while {action} "
                                f"({_describe(exc)}); the outcome is unknown until reconciled",
                                system=self.system)
        return exc

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            mapped = self._map(exc, action)
            if mapped is exc:
                raise
            raise mapped from exc

    @property
    def _f(self) -> ftplib.FTP:
        if self._ftp is None:
            self.connect()
        assert self._ftp is not None
        return self._ftp

    def list(self, folder: str) -> list[RemoteFile]:
        with self._errors(f"listing {folder}"):
            try:
                entries = list(self._f.mlsd(folder, facts=["type", "size", "modify"]))
            except ftplib.error_perm as exc:
                if not str(exc).startswith("500") and not str(exc).startswith("502"):
                    raise
                names = [posixpath.basename(n) for n in self._f.nlst(folder)]
                return [f for f in (self.stat(_join(folder, n)) for n in names) if f is not None]
        return [RemoteFile(_join(folder, name), int(facts.get("size", 0)), None)
                for name, facts in entries if facts.get("type", "file") == "file"]

    def stat(self, path: str) -> RemoteFile | None:
        with self._errors(f"looking up {path}"):
            try:
                size = self._f.size(path)
            except ftplib.error_perm as exc:
                if str(exc).startswith("550"):
                    return None
                raise
        return None if size is None else RemoteFile(path, int(size), None)

    def remove(self, path: str) -> None:
        with self._errors(f"removing {path}"):
            self._f.delete(path)

    def _discard(self, path: str) -> None:
        # After an aborted STOR the control connection is out of step: start a fresh one.
        self.close()
        try:
            self.connect()
        except Exception as exc:  # noqa: BLE001
            log.info("could not reconnect to remove %s (%s); a later send removes it", path, type(exc).__name__)
            return
        super()._discard(path)

    def _put(self, fh: BinaryIO, temp_path: str, total: int, progress: ProgressFn | None,
             cancel: CancelFlag | None, label: str) -> None:
        done = 0

        def sent(block: bytes) -> None:
            nonlocal done
            done += len(block)
            if progress is not None:
                progress(done, total, label)
            _check_cancel(cancel)

        _check_cancel(cancel)
        with self._errors(f"uploading {label.removeprefix('Sending ')}"):
            self._f.storbinary(f"STOR {temp_path}", fh, blocksize=CHUNK, callback=sent)  # type: ignore[arg-type]

    def _rename(self, src: str, dst: str) -> None:
        with self._errors(f"renaming to {posixpath.basename(dst)}"):
            self._f.rename(src, dst)


class _SessionReusingFTP_TLS(ftplib.FTP_TLS):  # noqa: N801 - ftplib's naming
    """Data connections resume the control connection's TLS session.

    Many FTPS servers (vsftpd ``require_ssl_reuse``, FileZilla Server, ProFTPD) refuse a data
    connection that starts a new TLS session ("425 … TLS session of data connection not
    resumed"); ftplib does not resume by default."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            session = getattr(self.sock, "session", None)
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=session)
        return conn, size


# ---- factory -------------------------------------------------------------------------------

def open_transfer(settings: TransferSettings) -> Transfer:
    """The implementation for ``settings.protocol`` (not yet connected)."""
    if settings.protocol == "sftp":
        return SftpTransfer(settings)
    if settings.protocol in ("ftps", "ftp"):
        return FtpTransfer(settings)
    raise ValueError(f"unknown transfer protocol {settings.protocol!r}; one of {', '.join(PROTOCOLS)}")


def _no_delay(transport: paramiko.Transport | None) -> None:
    """Small SFTP requests (stat, close, rename) otherwise wait ~40 ms on Nagle + delayed ACK."""
    sock = getattr(transport, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
