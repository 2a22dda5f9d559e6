"""A production profile, "town", whose transfer goes to a real SFTP server on 127.0.0.1: for
the CLI tests that need a host key nobody has pinned yet (the sandbox pins its own)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paramiko
import pytest

from console import app
from console.config import Operator, Profile, ProfileStore, hash_pin
from console.paths import Paths
from console.sandbox.sftp_server import DEMO_PASSWORD, DEMO_USER, SftpServer
from console.secrets import TRANSFER_PASSWORD, MemoryBackend

# The town's operators, with the sandbox's demo IDs and PINs (commands that act check them)
TOWN_OPERATORS = tuple(Operator(i, n, r, hash_pin(pin, iterations=1000)) for i, n, r, pin in (
    ("clerk1", "Blair Clerk", "clerk", "2222"), ("super1", "Sam Supervisor", "supervisor", "9999"),
    ("cashier1", "Casey Cashier", "cashier", "1111")))


@contextmanager
def town_sftp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SftpServer]:
    """Serve SFTP from ``tmp_path/root`` (with an empty invoices folder), save the "town" profile
    pointing at it, and give every ``build_services`` of the test one in-memory keyring holding
    the transfer password. Yields the running server."""
    paths = Paths.default().ensure()
    backend = MemoryBackend()
    real_build = app.build_services

    def build(name=None, **kw):
        services = real_build(name, secret_backend=backend, **kw)
        services.secrets.set(TRANSFER_PASSWORD, DEMO_PASSWORD)
        return services

    monkeypatch.setattr(app, "build_services", build)
    with SftpServer(tmp_path / "root", paramiko.ECDSAKey.generate(bits=256)) as server:
        (server.root / "invoices").mkdir()
        ProfileStore(paths).save(Profile("town", values={
            "transfer_host": "127.0.0.1", "transfer_port": server.port, "transfer_user": DEMO_USER,
            "caselle_url": "https://caselle.example", "caselle_client_id": "x", "invoicecloud_biller_id": "T1",
            "invoicecloud_api_url": "https://ic.example", "invoicecloud_gateway_url": "https://gw.example"},
            operators=TOWN_OPERATORS))
        yield server
