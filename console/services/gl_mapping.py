"""The GL mapping (CloudStore item code -> GL account): one store, one service.

Where it is stored: a production profile keeps it in ``profiles.toml`` (its ``[gl_map]``);
the built-in sandbox profile cannot be written, so its edits are kept in
``<data>/sandbox/lockbox-gl-map.csv``. ``with_stored_gl_map`` applies the store to a loaded
profile once (``console.app.build_services``), so every view — the Lockbox tab, Settings,
Diagnostics, the support bundle, posting — reads the same mapping from ``services.profile``;
``save`` writes the store, updates ``services.profile`` and audits what changed, and whether
it was an edit or an import (with the file's name).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from console.errors import NotPermitted, ValidationError
from console.lockbox.glmap import GlFormat, GlMap, load_gl_map_csv, save_gl_map_csv
from console.services.operators import require

log = logging.getLogger(__name__)

AUDIT_GL_MAP = "lockbox.gl_map"
IMPORT_PREFIX = "import "  # GlMap.source of a mapping read from a file: "import <file name>"


def sandbox_gl_map_file(paths: Any) -> Path:
    """The sandbox profile is built in (read-only): its GL map edits are kept here instead."""
    return Path(paths.sandbox_dir) / "lockbox-gl-map.csv"


def gl_format(profile: Any) -> GlFormat:
    return GlFormat(str(profile.get("lockbox_gl_format") or ""))


def stored_gl_map(profile: Any, paths: Any) -> GlMap:
    """The mapping as stored for ``profile`` (the sandbox's edits file, else the profile's)."""
    if getattr(profile, "is_sandbox", False):
        f = sandbox_gl_map_file(paths)
        if f.exists():
            try:
                return replace(load_gl_map_csv(f, gl_format(profile)), source=f"profile {profile.name}")
            except ValidationError:
                log.warning("the sandbox GL map %s is not valid; using the built-in one", f)
    return GlMap(dict(profile.gl_map), source=f"profile {profile.name}")


def with_stored_gl_map(profile: Any, paths: Any) -> Any:
    """``profile`` carrying its stored mapping (the one every view shows)."""
    if not getattr(profile, "is_sandbox", False):
        return profile
    stored = stored_gl_map(profile, paths)
    return profile if dict(profile.gl_map) == stored.accounts else replace(profile, gl_map=dict(stored.accounts))


def gl_changes(before: dict[str, str], after: dict[str, str], limit: int = 100) -> dict[str, list]:
    """``{item code: [old account, new account]}`` for every code added, removed or changed."""
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return {k: [before.get(k), after.get(k)] for k in changed[:limit]}


def require_supervisor(who: Any, action: str) -> str:
    if who is None or getattr(who, "role", "") != "supervisor":
        raise NotPermitted(f"{action} needs a supervisor", hint="a supervisor must confirm with their PIN")
    return str(getattr(who, "operator_id", ""))


def save_profile_gl_map(profile: Any, paths: Any, gl_map: GlMap, *, operator: Any, audit: Any = None) -> Any:
    """Store ``gl_map`` for ``profile`` (supervisor only), audited; returns the updated profile.
    A map whose ``source`` is ``"import <file>"`` is audited as an import of that file."""
    who = require(profile, operator, "edit_gl_map", audit).operator_id
    problems = gl_map.problems(gl_format(profile))
    if problems:
        raise ValidationError("The GL mapping has problems; nothing was saved", problems)
    before = dict(profile.gl_map)
    updated = replace(profile, gl_map=dict(gl_map.accounts))
    if getattr(profile, "is_sandbox", False):
        f = sandbox_gl_map_file(paths)
        f.parent.mkdir(parents=True, exist_ok=True)
        save_gl_map_csv(f, gl_map)
    else:
        from console.config import ProfileStore

        ProfileStore(paths).save(updated)
    if audit is not None:
        source = str(getattr(gl_map, "source", "") or "")
        how = "import" if source.startswith(IMPORT_PREFIX) else "edit"
        details: dict[str, Any] = {"how": how, "changed": gl_changes(before, gl_map.accounts),
                                   "item_codes": len(gl_map.accounts)}
        if how == "import":
            details["file"] = source[len(IMPORT_PREFIX):]
        audit.record(who, AUDIT_GL_MAP, profile.name, **details)
    return updated


class GlMappingService:
    """Reads and writes the one GL mapping of ``services.profile``; the GUI and CLI use it."""

    def __init__(self, services: Any):
        self._services = services

    def current(self) -> GlMap:
        profile = self._services.profile
        return GlMap(dict(profile.gl_map), source=f"profile {profile.name}")

    def save(self, gl_map: GlMap, *, operator: Any) -> Any:
        s = self._services
        updated = save_profile_gl_map(s.profile, s.paths, gl_map, operator=operator,
                                      audit=getattr(s, "audit", None))
        s.profile = updated
        lockbox = s.__dict__.get("lockbox")  # an already-built lockbox service maps with it at once
        if lockbox is not None and hasattr(lockbox, "use_gl_map"):
            lockbox.use_gl_map(self.current())
        return updated

    def import_csv(self, path: Path, *, operator: Any) -> Any:
        """Read an ``ItemCode,GLAccount`` CSV and store it as the mapping (audited as an import)."""
        m = load_gl_map_csv(Path(path), gl_format(self._services.profile))
        return self.save(replace(m, source=IMPORT_PREFIX + Path(path).name), operator=operator)

    def export_csv(self, path: Path) -> None:
        save_gl_map_csv(Path(path), self.current())
