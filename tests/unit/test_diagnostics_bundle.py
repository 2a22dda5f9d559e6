"""Logs and the support bundle never contain a secret; the bundle has what support needs."""

from __future__ import annotations

import json
import logging
import zipfile

import pytest

from console import secrets as sec
from console.config import Operator, Profile, hash_pin
from console.logs import setup_logging
from console.paths import Paths
from console.secrets import MemoryBackend, SecretStore
from console.services.support_bundle import build_support_bundle, profile_without_secrets, recent_log_text
from tests.diagnostics_services import FakeServices
from tests.profiles import SUPPORT_DESK

SECRET = "Zq9-very-secret-client-value-77"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.abc123"
LATE_SECRET = "learned-after-logging-5521"


@pytest.fixture
def svc():
    paths = Paths.default().ensure()
    profile = Profile("cityhall", values={"caselle_client_id": "client-1"},
                      operators=(Operator("sup", "Sue Pervisor", "supervisor", hash_pin("4321", iterations=1000)),))
    store = SecretStore(profile.name, backend=MemoryBackend())
    store.set(sec.CASELLE_CLIENT_SECRET, SECRET)
    store.set(sec.CASELLE_TOKEN, TOKEN)
    handler = setup_logging(paths, secret_source=store.known_values)
    yield FakeServices(paths, profile, store)
    logging.getLogger().removeHandler(handler)
    handler.close()


def _log_secret_lines():
    log = logging.getLogger("console.test")
    log.info("connecting with client secret %s", SECRET)
    log.warning("token refused: %s", TOKEN)
    log.info("Authorization: Bearer %s", TOKEN)
    try:
        raise ValueError(f"bad secret {SECRET}")
    except ValueError:
        log.exception("while signing in")
    log.info("card 4111 1111 1111 1111 swiped")
    for h in logging.getLogger().handlers:
        h.flush()


def _members(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        return {n: zf.read(n).decode("utf-8") for n in zf.namelist()}


def test_log_file_contains_no_secret(svc):
    _log_secret_lines()
    text = svc.paths.log_file.read_text(encoding="utf-8")
    assert "connecting with client secret" in text  # the lines are there …
    assert SECRET not in text and TOKEN not in text  # … without the secrets
    assert "4111 1111 1111 1111" not in text


def test_support_bundle_contains_no_secret_and_what_support_needs(svc, tmp_path):
    _log_secret_lines()
    # a line written before the secret was known to the store (e.g. an older log): redacted on export
    with svc.paths.log_file.open("a", encoding="utf-8") as fh:
        fh.write(f"2026-01-01 00:00:00 INFO old: value {LATE_SECRET}\n")
    svc.secrets.set(sec.SMTP_PASSWORD, LATE_SECRET)
    out = build_support_bundle(svc, tmp_path / "bundle.zip", operator=SUPPORT_DESK)
    members = _members(out)
    assert {"diagnostics.json", "profile.toml", "environment.json", "README.txt", "logs/console.log"} <= set(members)
    blob = "\n".join(members.values())
    for secret in (SECRET, TOKEN, LATE_SECRET):
        assert secret not in blob
    assert "pbkdf2" not in blob  # operators' PIN hashes stay out
    assert "connecting with client secret" in members["logs/console.log"]
    assert "old: value [SECRET REDACTED]" in members["logs/console.log"]
    diag = json.loads(members["diagnostics.json"])
    assert diag["profile"] == "cityhall" and len(diag["checks"]) >= 8
    assert 'client_id = "client-1"' in members["profile.toml"]
    assert not (tmp_path / "bundle.zip.part").exists()


def test_profile_export_drops_pin_hashes():
    p = Profile("x", operators=(Operator("a", "A", "cashier", "pbkdf2_sha256$1$00$11"),))
    data = profile_without_secrets(p)
    assert data["operators"] == [{"id": "a", "name": "A", "role": "cashier", "pin_set": True}]


def test_recent_logs_keep_the_newest_bytes(tmp_path):
    f = tmp_path / "console.log"
    f.write_text("".join(f"line {i}\n" for i in range(1000)))
    [(name, text)] = recent_log_text([f], max_bytes=200)
    assert name == "console.log"
    assert text.startswith("[… older lines left out …]") and text.rstrip().endswith("line 999")
    assert "line 1\n" not in text
