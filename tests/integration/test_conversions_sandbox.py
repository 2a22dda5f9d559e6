"""Conversions against the sandbox: every Caselle customer through the paged query, the file sent by SFTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from console.app import build_services
from console.files.reader import read_file
from console.paths import Paths
from console.sandbox.runner import Sandbox, SandboxOptions, remove_state, write_state
from console.sandbox.seed import demo_customers
from console.secrets import MemoryBackend

pytestmark = pytest.mark.usefixtures("cli_as_clerk")  # commands that act name who acts

PARTS = ["console.sandbox.caselle_server", "console.sandbox.sftp_server"]


@pytest.fixture
def sandbox():
    paths = Paths.default().ensure()
    sb = Sandbox(SandboxOptions(), data_dir=paths.sandbox_dir, parts=PARTS).start()
    write_state(paths.sandbox_dir, sb.as_endpoints(embedded=False))
    yield sb, paths
    remove_state(paths.sandbox_dir)
    sb.stop()


def test_paged_customers_query_returns_every_account_once(sandbox):
    _, paths = sandbox
    services = build_services("sandbox", paths=paths, secret_backend=MemoryBackend())
    seen = [c.account_number for c in services.caselle.iter_customers(page_size=97)]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == len(demo_customers())
    page = services.caselle.list_customers(limit=5)
    assert page.total_count == len(demo_customers()) and page.next_cursor == page.customers[-1].account_number
    services.close()


def test_build_from_caselle_and_send_through_the_sandbox_sftp(sandbox, tmp_path):
    _, paths = sandbox
    services = build_services("sandbox", paths=paths, secret_backend=MemoryBackend(), operator_id="clerk1")
    build = services.conversions.build()
    finals = sum(c.status == "FINAL" for c in demo_customers())
    assert build.ok, build.errors[:3]
    assert len(build.rows) == len(demo_customers()) - finals and build.skipped_final == finals
    by_account = {c.account_number: c for c in demo_customers()}
    for r in build.rows:
        c = by_account[r.account]
        assert (r.paperless, r.autopay, r.email) == (c.paperless, c.direct_pay_status == "ACTIVE", c.email)
    path = services.conversions.write(build, tmp_path / "conversion.csv", operator="clerk1")
    assert read_file(path, "ic-conversion-v1").ok
    sent = services.conversions.send(path, operator="clerk1")
    assert sent.remote_path == f"{services.profile.transfer_invoice_folder}/conversion.csv"
    remote = paths.sandbox_dir / "sftp" / "root" / sent.remote_path.lstrip("/")
    assert any(p.exists() for p in (remote, remote.with_name(remote.name + ".snt"), remote.with_suffix(".snt")))
    services.close()


def test_cli_build_send_and_second_send_refused(sandbox, tmp_path):
    env = dict(os.environ)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    out_file = tmp_path / "conv.csv"
    args = [sys.executable, "-m", "console", "conversions", "build", "--out", str(out_file),
            "--effective-date", "12/01/2026", "--send", "--json"]
    first = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["status"] == "sent" and data["counts"]["accounts"] > 500 and data["errors"] == []
    assert out_file.read_bytes().decode().splitlines()[1].endswith("12/01/2026")
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and json.loads(again.stdout)["status"] == "not_sent"
