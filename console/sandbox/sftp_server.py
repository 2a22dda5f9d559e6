"""The sandbox's SFTP server (standing in for Invoice Cloud's Stratus host) and its pickup.

A real SSH/SFTP server on 127.0.0.1 built from paramiko's ``ServerInterface`` and
``SFTPServerInterface`` over a folder under the sandbox data dir:

- its own persistent ECDSA host key (``<data>/sftp/host_key``), so its fingerprint stays the
  same between runs and the sandbox profile can pin it without a prompt — the key is read
  from this computer's sandbox folder, not learned from the network;
- password authentication with the demo credentials (``demo`` / :data:`DEMO_PASSWORD`),
  public-key authentication for keys listed in ``<data>/sftp/authorized_keys`` (optional);
- every path is confined to the root folder (``..`` and symlinks cannot leave it);
- ``check-file`` (SHA-1) and ``posix-rename@openssh.com`` work, as paramiko provides them.

:class:`StratusPickup` simulates Stratus: a delivered file (a final name — never a hidden
``.<name>.part-…`` temporary) is renamed to ``<name>.snt`` once it has been there, with an
unchanged size, for ``delay`` seconds (default 3).

Tests use :class:`SftpServer` directly, with :class:`Faults` to drop the connection after N
uploaded bytes.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import paramiko
from paramiko import SFTPAttributes, SFTPHandle, SFTPServer, SFTPServerInterface
from paramiko.sftp import SFTP_FAILURE, SFTP_NO_SUCH_FILE, SFTP_OK, SFTP_PERMISSION_DENIED

log = logging.getLogger(__name__)

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-sftp"  # training sandbox only; shown by `biller-console sandbox`
DEFAULT_PICKUP_DELAY_S = 3.0
FOLDERS = ("invoices", "bills", "lockbox", "balances")
SNT = ".snt"


# ---- host key ------------------------------------------------------------------------------

def host_key_file(sandbox_dir: Path) -> Path:
    return Path(sandbox_dir) / "sftp" / "host_key"


def load_or_create_host_key(path: Path) -> paramiko.PKey:
    """The server's persistent private host key (created once, mode 0600)."""
    path = Path(path)
    if path.exists():
        return paramiko.ECDSAKey.from_private_key_file(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = paramiko.ECDSAKey.generate(bits=256)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        key.write_private_key(fh)
    os.replace(tmp, path)
    return key


def local_host_key(sandbox_dir: Path) -> paramiko.PKey | None:
    """The sandbox server's public host key as stored on this computer (None before first start)."""
    path = host_key_file(sandbox_dir)
    if not path.exists():
        return None
    private = paramiko.ECDSAKey.from_private_key_file(str(path))
    return paramiko.ECDSAKey(data=private.asbytes())


def public_key_line(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.get_base64()}"


def public_key_from_line(line: str) -> paramiko.PKey:
    key_type, b64 = line.split()[:2]
    return paramiko.PKey.from_type_string(key_type, base64.b64decode(b64))


# ---- fault injection (tests) -------------------------------------------------------------

class Faults:
    """One-shot faults a test arms on a running server.

    ``drop_after_bytes = N``: once N more bytes have been uploaded (over any files and
    connections), the connection is cut mid-write, like a network failure would.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._drop_after: int | None = None
        self._counted = 0
        self.dropped = 0

    @property
    def drop_after_bytes(self) -> int | None:
        return self._drop_after

    @drop_after_bytes.setter
    def drop_after_bytes(self, value: int | None) -> None:
        with self.lock:
            self._drop_after = value
            self._counted = 0

    def take_drop(self, incoming: int) -> int | None:
        """How many of ``incoming`` bytes to keep before dropping, or None (no drop)."""
        with self.lock:
            limit = self._drop_after
            if limit is None:
                return None
            if self._counted + incoming < limit:
                self._counted += incoming
                return None
            keep = max(0, limit - self._counted)
            self._drop_after = None
            self._counted = 0
            self.dropped += 1
            return keep


# ---- the SSH side --------------------------------------------------------------------------

class _SshServer(paramiko.ServerInterface):
    def __init__(self, server: SftpServer, sock: socket.socket):
        self.server = server
        self.sock = sock

    def get_allowed_auths(self, username: str) -> str:
        return "password,publickey" if self.server.authorized_keys else "password"

    def check_auth_password(self, username: str, password: str) -> int:
        expected = self.server.users.get(username)
        if expected is not None and paramiko.util.constant_time_bytes_eq(expected.encode(), password.encode()):
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if username in self.server.users and any(key == k for k in self.server.authorized_keys):
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        return name == "sftp" and super().check_channel_subsystem_request(channel, name)

    def drop(self) -> None:
        """Cut the connection like a network failure would (no SSH goodbye)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()


class _Handle(SFTPHandle):
    def __init__(self, flags: int, real: Path, ssh: _SshServer):
        super().__init__(flags)
        self.real = real
        self.ssh = ssh
        self.written = 0

    def stat(self) -> Any:
        try:
            return SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as exc:
            return SFTPServer.convert_errno(exc.errno)

    def chattr(self, attr: SFTPAttributes) -> int:
        return SFTP_OK

    def write(self, offset: int, data: bytes) -> int:
        keep = self.ssh.server.faults.take_drop(len(data))
        if keep is not None:
            if keep:
                super().write(offset, data[:keep])
                with contextlib.suppress(Exception):
                    self.writefile.flush()
            log.info("sandbox SFTP: dropping the connection after %d bytes (fault injection)",
                     self.written + keep)
            self.ssh.drop()
            return SFTP_FAILURE
        result = super().write(offset, data)
        if result == SFTP_OK:
            self.written += len(data)
        return result


class _FolderSftp(SFTPServerInterface):
    """SFTP over one folder; paths are confined to it."""

    def __init__(self, server: _SshServer, *args: Any, **kwargs: Any):
        super().__init__(server, *args, **kwargs)
        self.ssh = server
        self.root = server.server.root.resolve()

    def _real(self, path: str) -> Path:
        parts = [p for p in str(path).replace("\\", "/").split("/") if p not in ("", ".")]
        clean: list[str] = []
        for p in parts:
            if p == "..":
                if clean:
                    clean.pop()
            else:
                clean.append(p)
        real = self.root.joinpath(*clean)
        resolved = real.resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise PermissionError(f"{path} is outside the SFTP root")
        return real

    def canonicalize(self, path: str) -> str:
        parts = [p for p in str(path).split("/") if p not in ("", ".")]
        clean: list[str] = []
        for p in parts:
            if p == "..":
                if clean:
                    clean.pop()
            else:
                clean.append(p)
        return "/" + "/".join(clean)

    @staticmethod
    def _err(exc: OSError) -> int:
        if isinstance(exc, PermissionError):
            return SFTP_PERMISSION_DENIED
        return SFTPServer.convert_errno(exc.errno) if exc.errno else SFTP_FAILURE

    def list_folder(self, path: str) -> Any:
        try:
            real = self._real(path)
            out = []
            for entry in sorted(os.listdir(real)):
                attr = SFTPAttributes.from_stat(os.stat(real / entry))
                attr.filename = entry
                out.append(attr)
            return out
        except OSError as exc:
            return self._err(exc)

    def stat(self, path: str) -> Any:
        try:
            return SFTPAttributes.from_stat(os.stat(self._real(path)))
        except OSError as exc:
            return self._err(exc)

    lstat = stat

    def open(self, path: str, flags: int, attr: SFTPAttributes) -> Any:
        try:
            real = self._real(path)
            fd = os.open(real, flags | getattr(os, "O_BINARY", 0), 0o644)
        except OSError as exc:
            return self._err(exc)
        if flags & os.O_WRONLY:
            mode = "ab" if flags & os.O_APPEND else "wb"
        elif flags & os.O_RDWR:
            mode = "a+b" if flags & os.O_APPEND else "r+b"
        else:
            mode = "rb"
        try:
            f = os.fdopen(fd, mode)
        except OSError as exc:
            os.close(fd)
            return self._err(exc)
        handle = _Handle(flags, real, self.ssh)
        handle.filename = str(real)
        handle.readfile = f
        handle.writefile = f
        return handle

    def remove(self, path: str) -> int:
        try:
            os.remove(self._real(path))
        except OSError as exc:
            return self._err(exc)
        return SFTP_OK

    def rename(self, oldpath: str, newpath: str) -> int:
        """SFTP v3 rename: refuses to replace an existing file."""
        try:
            old, new = self._real(oldpath), self._real(newpath)
            if new.exists():
                return SFTP_FAILURE
            os.rename(old, new)
        except OSError as exc:
            return self._err(exc)
        return SFTP_OK

    def posix_rename(self, oldpath: str, newpath: str) -> int:
        try:
            os.replace(self._real(oldpath), self._real(newpath))
        except OSError as exc:
            return self._err(exc)
        return SFTP_OK

    def mkdir(self, path: str, attr: SFTPAttributes) -> int:
        try:
            os.mkdir(self._real(path))
        except OSError as exc:
            return self._err(exc)
        return SFTP_OK

    def rmdir(self, path: str) -> int:
        try:
            os.rmdir(self._real(path))
        except OSError as exc:
            return self._err(exc)
        return SFTP_OK

    def chattr(self, path: str, attr: SFTPAttributes) -> int:
        return SFTP_OK if self._real(path).exists() else SFTP_NO_SUCH_FILE

    def symlink(self, target_path: str, path: str) -> int:
        return SFTP_PERMISSION_DENIED

    def readlink(self, path: str) -> Any:
        return SFTP_NO_SUCH_FILE


# ---- the server ----------------------------------------------------------------------------

_TRANSPORT_LOG = "console.sandbox.sftp_server.ssh"


class _QuietDisconnects(logging.Filter):
    """A client that hangs up is normal for a server: keep it out of the operator's terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not ("Socket exception" in text or "EOF in transport thread" in text)


logging.getLogger(_TRANSPORT_LOG).addFilter(_QuietDisconnects())

class SftpServer:
    """A threaded SFTP server on ``host:port`` (port 0 = any free port) over ``root``."""

    def __init__(self, root: Path, host_key: paramiko.PKey, *, users: dict[str, str] | None = None,
                 authorized_keys: list[paramiko.PKey] | None = None, host: str = "127.0.0.1", port: int = 0):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.host_key = host_key
        self.users = dict(users if users is not None else {DEMO_USER: DEMO_PASSWORD})
        self.authorized_keys = list(authorized_keys or [])
        self.faults = Faults()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.host, self.port = self._sock.getsockname()[:2]
        self._stop = threading.Event()
        self._transports: list[paramiko.Transport] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name=f"sandbox-sftp-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        user = next(iter(self.users), DEMO_USER)
        return f"sftp://{user}@{self.host}:{self.port}"

    @property
    def fingerprint(self) -> str:
        return self.host_key.fingerprint

    @property
    def public_key(self) -> paramiko.PKey:
        return paramiko.PKey.from_type_string(self.host_key.get_name(), self.host_key.asbytes())

    def start(self) -> SftpServer:
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            try:
                self._handle(conn)
            except Exception:  # noqa: BLE001 - one bad client must not stop the server
                log.exception("sandbox SFTP: connection setup failed")
                with contextlib.suppress(OSError):
                    conn.close()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(None)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle/delayed-ACK stalls
        transport = paramiko.Transport(conn)
        transport.set_log_channel(_TRANSPORT_LOG)
        transport.add_server_key(self.host_key)
        ssh = _SshServer(self, conn)
        transport.set_subsystem_handler("sftp", SFTPServer, _FolderSftp)
        with self._lock:
            self._transports = [t for t in self._transports if t.is_active()]
            self._transports.append(transport)
        # start_server negotiates in the transport's own thread; do not block the accept loop
        threading.Thread(target=self._negotiate, args=(transport, ssh), daemon=True,
                         name="sandbox-sftp-negotiate").start()

    @staticmethod
    def _negotiate(transport: paramiko.Transport, ssh: _SshServer) -> None:
        try:
            transport.start_server(server=ssh)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            log.info("sandbox SFTP: handshake failed: %s", exc)
            transport.close()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._sock.close()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        with self._lock:
            transports, self._transports = self._transports, []
        for t in transports:
            with contextlib.suppress(Exception):
                t.close()

    def __enter__(self) -> SftpServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


# ---- the simulated Stratus pickup ---------------------------------------------------------------

class StratusPickup:
    """Renames delivered files to ``<name>.snt`` after ``delay`` seconds of an unchanged size."""

    def __init__(self, root: Path, *, delay: float = DEFAULT_PICKUP_DELAY_S, interval: float | None = None):
        self.root = Path(root)
        self.delay = float(delay)
        self.interval = interval if interval is not None else max(0.05, min(0.5, self.delay / 4))
        self._seen: dict[Path, tuple[float, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-stratus-pickup", daemon=True)
        self.picked_up: list[Path] = []

    @staticmethod
    def is_candidate(path: Path) -> bool:
        name = path.name
        return not name.startswith(".") and not name.endswith(SNT)

    def scan_once(self, now: float | None = None) -> list[Path]:
        """One pass; returns the receipts created."""
        now = time.monotonic() if now is None else now
        created: list[Path] = []
        present: set[Path] = set()
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for filename in filenames:
                path = Path(dirpath) / filename
                if not self.is_candidate(path):
                    continue
                try:
                    size = path.stat().st_size
                except OSError:
                    continue
                present.add(path)
                first, last_size = self._seen.get(path, (now, size))
                if last_size != size:
                    first = now
                self._seen[path] = (first, size)
                if now - first >= self.delay:
                    receipt = path.with_name(path.name + SNT)
                    try:
                        os.replace(path, receipt)
                    except OSError as exc:
                        log.info("sandbox pickup could not rename %s: %s", path, exc)
                        continue
                    present.discard(path)
                    self._seen.pop(path, None)
                    created.append(receipt)
                    log.info("sandbox Stratus pickup: %s → %s", path.name, receipt.name)
        for gone in set(self._seen) - present:
            self._seen.pop(gone, None)
        self.picked_up.extend(created)
        return created

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.scan_once()
            except Exception:  # noqa: BLE001 - keep picking up
                log.exception("sandbox pickup scan failed")

    def start(self) -> StratusPickup:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)


# ---- runner part -------------------------------------------------------------------------------------

def _authorized_keys(path: Path) -> list[paramiko.PKey]:
    if not path.exists():
        return []
    keys = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            try:
                keys.append(public_key_from_line(line))
            except (ValueError, paramiko.SSHException) as exc:
                log.warning("sandbox SFTP: skipping an authorized_keys line: %s", exc)
    return keys


def start_server(sandbox_dir: Path, *, port: int = 0, pickup_delay: float = DEFAULT_PICKUP_DELAY_S,
                 pickup: bool = True) -> tuple[SftpServer, StratusPickup | None]:
    """Start the sandbox SFTP server (and the pickup) over ``<sandbox_dir>/sftp/root``."""
    base = Path(sandbox_dir) / "sftp"
    root = base / "root"
    for folder in FOLDERS:
        (root / folder).mkdir(parents=True, exist_ok=True)
    key = load_or_create_host_key(host_key_file(sandbox_dir))
    server = SftpServer(root, key, authorized_keys=_authorized_keys(base / "authorized_keys"), port=port).start()
    picker = StratusPickup(root, delay=pickup_delay).start() if pickup else None
    return server, picker


def pickup_delay_from(options: Any) -> float:
    """The pickup delay: ``options.pickup_delay_s`` if the runner has it, else
    ``BILLER_CONSOLE_SANDBOX_PICKUP_DELAY`` (seconds), else 3 s."""
    value = getattr(options, "pickup_delay_s", None)
    if value is None:
        value = os.environ.get("BILLER_CONSOLE_SANDBOX_PICKUP_DELAY")
    try:
        return max(0.0, float(value)) if value not in (None, "") else DEFAULT_PICKUP_DELAY_S
    except ValueError:
        log.warning("sandbox: ignoring a pickup delay that is not a number: %r", value)
        return DEFAULT_PICKUP_DELAY_S


def start(ctx: Any) -> Any:
    """Runner part: the SFTP server and the Stratus pickup."""
    from console.sandbox.runner import RunningPart

    delay = pickup_delay_from(getattr(ctx, "options", None))
    server, picker = start_server(ctx.data_dir, port=ctx.port_for(0), pickup_delay=delay)

    def stop() -> None:
        if picker is not None:
            picker.stop()
        server.stop()

    info = {
        "transfer_host": server.host,
        "transfer_port": server.port,
        "transfer_user": DEMO_USER,
        "transfer_password": DEMO_PASSWORD,
        "transfer_host_key": public_key_line(server.public_key),
        "transfer_host_key_fingerprint": server.fingerprint,
        "transfer_root": str(server.root),
        "transfer_pickup_delay_s": delay,
    }
    return RunningPart(name="sftp", urls={"transfer_url": server.url}, info=info, stop=stop,
                       handle=(server, picker))


def report(sandbox_dir: Path) -> dict[str, Any]:
    """What waits in the sandbox SFTP folders and what Stratus has picked up (``.snt``)."""
    root = Path(sandbox_dir) / "sftp" / "root"
    out: dict[str, Any] = {}
    for folder in FOLDERS:
        d = root / folder
        names = sorted(p.name for p in d.iterdir() if p.is_file()) if d.exists() else []
        out[folder] = {"awaiting_pickup": [n for n in names if not n.startswith(".") and not n.endswith(SNT)],
                       "delivered": [n for n in names if n.endswith(SNT)],
                       "temporary": [n for n in names if n.startswith(".")]}
    return out
