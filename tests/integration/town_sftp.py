"""A production profile, "town", whose transfer goes to a real SFTP server on 127.0.0.1: for
the CLI tests that need a host key nobody has pinned yet (the sandbox pins its own)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paramiko
import pytest

from console import app
from console.config import Profile, ProfileStore
from console.paths import Paths
from console.sandbox.sftp_server import DEMO_PASSWORD, DEMO_USER, SftpServer
from console.secrets import TRANSFER_PASSWORD, MemoryBackend


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
            "invoicecloud_api_url": "https://ic.example", "invoicecloud_gateway_url": "https://gw.example"}))
        yield server
