"""A throwaway PostgreSQL cluster for the tests (and the benchmark): ``initdb`` into a temp folder,
``pg_ctl start`` listening on a unix socket in that folder only (no TCP port to collide with),
trust authentication, stopped and removed at the end.

As root, the server runs as the ``postgres`` user (PostgreSQL refuses to run as root). The
binaries are found on PATH or in Debian's ``/usr/lib/postgresql/<version>/bin``. Without them
the tests that need a server skip with the reason — except in CI (``$CI`` set), where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

MISSING = ("PostgreSQL binaries (initdb, pg_ctl) not found: install PostgreSQL (Debian: apt-get install "
           "postgresql) to run the PostgreSQL journal tests")


def find_bin() -> Path | None:
    """The folder holding initdb and pg_ctl (the newest Debian version when several), or None."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                    key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return debian[-1].parent if debian else None


class PgCluster:
    """One server on a unix socket in its own temp folder."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="bc-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_user = "postgres" if os.geteuid() == 0 else None
        if self.as_user:
            shutil.chown(self.root, self.as_user)
            os.chmod(self.root, 0o755)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "-N")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"\nlisten_addresses = ''\nunix_socket_directories = '{self.root}'\nmax_connections = 200\n")

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin_dir / tool), *args]
        if self.as_user:
            cmd = ["runuser", "-u", self.as_user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}")

    def start(self) -> PgCluster:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@/{dbname}?host={self.root}"

    def create_database(self, prefix: str = "t") -> str:
        """A fresh, empty database; returns its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except RuntimeError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
