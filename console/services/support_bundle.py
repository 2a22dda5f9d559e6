"""The support bundle: a zip support can read, holding no secret and no card data.

Contents: ``diagnostics.json`` (the checks), ``profile.toml`` (the profile's settings — never
secrets, and operators without their PIN hashes), ``logs/`` (the most recent log text,
redacted again on export with the current secret values), ``environment.json`` and a
``README.txt``. Every member is scanned for every known secret before the zip is written.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import tomli_w

from console import __version__
from console.config import FIELDS, Profile
from console.logs import redact

MAX_LOG_BYTES = 2_000_000  # the newest 2 MB of logs are plenty for support


def profile_without_secrets(profile: Profile) -> dict[str, Any]:
    """The profile as TOML-ready data: settings, GL map, operators by ID/name/role only."""
    sections: dict[str, Any] = {"name": profile.name, "training": profile.training}
    for s in FIELDS:
        v = profile.get(s.name)
        sections.setdefault(s.section, {})[s.key] = str(v) if isinstance(v, Decimal) else v
    sections["gl_map"] = dict(profile.gl_map)
    sections["operators"] = [{"id": o.operator_id, "name": o.name, "role": o.role,
                              "pin_set": bool(o.pin_hash)} for o in profile.operators]
    return sections


def recent_log_text(log_files: list[Path], max_bytes: int = MAX_LOG_BYTES) -> list[tuple[str, str]]:
    """(name, text) of the newest log files, newest first, within ``max_bytes`` in total."""
    out: list[tuple[str, str]] = []
    budget = max_bytes
    for path in sorted(log_files, key=lambda p: p.stat().st_mtime, reverse=True):
        if budget <= 0:
            break
        size = path.stat().st_size
        with path.open("rb") as fh:
            if size > budget:
                fh.seek(size - budget)
            data = fh.read(budget)
        budget -= len(data)
        text = data.decode("utf-8", errors="replace")
        if size > len(data):
            text = "[… older lines left out …]\n" + text.split("\n", 1)[-1]
        out.append((path.name, text))
    return out


def _scrub(text: str, secrets: list[str]) -> str:
    """Redact again: secrets known now (maybe not when the line was logged), PANs, tracks, tokens."""
    return redact(text, secrets)


def build_support_bundle(services, target: Path, *, operator, report=None, progress=None,
                         max_log_bytes: int = MAX_LOG_BYTES) -> Path:
    """Write the bundle zip to ``target`` (atomically) and return its path; ``operator`` must be
    allowed ``support_bundle``."""
    from console.services.diagnostics import environment, run_checks
    from console.services.operators import require

    require(services.profile, operator, "support_bundle", getattr(services, "audit", None))

    target = Path(target)
    secrets = [v for v in services.secrets.known_values() if v]
    if progress:
        progress(0, 4, "diagnostics")
    if report is None:
        report = run_checks(services, operator=operator)
    members: dict[str, str] = {}
    members["diagnostics.json"] = json.dumps(report.as_dict(), indent=2, default=str)
    if progress:
        progress(1, 4, "profile")
    members["profile.toml"] = tomli_w.dumps(profile_without_secrets(services.profile))
    if progress:
        progress(2, 4, "logs")
    paths = services.paths
    log_files = [p for p in paths.log_dir.glob(paths.log_file.name + "*") if p.is_file()]
    for name, text in recent_log_text(log_files, max_log_bytes):
        members[f"logs/{name}"] = text
    members["environment.json"] = json.dumps({
        "console_version": __version__, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "profile": services.profile.name, "keyring": services.secrets.backend_description,
        **environment()}, indent=2)
    members["README.txt"] = (
        "Biller Console support bundle\n\n"
        "diagnostics.json  every check with its state and fix hint\n"
        "profile.toml      the profile's settings (no secrets; operators without PINs)\n"
        "logs/             the most recent log lines, redacted again on export\n"
        "environment.json  console, Python and OS versions\n")
    if progress:
        progress(3, 4, "writing")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, _scrub(text, secrets))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(target)
    if progress:
        progress(4, 4, "done")
    return target


def default_bundle_name(profile_name: str) -> str:
    return f"biller-console-support-{profile_name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}.zip"
