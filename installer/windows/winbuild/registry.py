"""The uninstall entries ("Apps & features") in a Wine prefix's ``system.reg``.

The smoke test reads the registry file rather than ``wine reg query``: an MSI's entry is keyed
by its product code, a new GUID per build, so it has to be found by its display name.
"""

from __future__ import annotations

import re

from winbuild import PRODUCT, PUBLISHER

UNINSTALL = r"Software\Microsoft\Windows\CurrentVersion\Uninstall"
_SECTION = re.compile(r"^\[(.+?)\](?: \d+)?$")
_STRING = re.compile(r'^"((?:[^"\\]|\\.)*)"="((?:[^"\\]|\\.)*)"$')


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def uninstall_entries(system_reg: str, display_name: str = PRODUCT) -> dict[str, dict[str, str]]:
    """Uninstall key → its string values, for every entry whose DisplayName is ``display_name``."""
    keys: dict[str, dict[str, str]] = {}
    current = None
    for line in system_reg.splitlines():
        section = _SECTION.match(line)
        if section:
            current = _unescape(section.group(1))
            continue
        value = _STRING.match(line)
        if value and current and current.lower().startswith(UNINSTALL.lower() + "\\"):
            keys.setdefault(current, {})[_unescape(value.group(1))] = _unescape(value.group(2))
    return {k: v for k, v in keys.items() if v.get("DisplayName") == display_name}


def entry_problems(system_reg: str, *, version: str | None) -> list[str]:
    """With a version: exactly one entry, with that version and our publisher. Without: none."""
    entries = uninstall_entries(system_reg)
    if version is None:
        return [f"uninstall entry left behind: {k}" for k in entries]
    if len(entries) != 1:
        return [f"{len(entries)} uninstall entries for {PRODUCT!r}, expected one: {sorted(entries)}"]
    (key, values), = entries.items()
    problems = []
    if values.get("DisplayVersion") != version:
        problems.append(f"{key}: DisplayVersion {values.get('DisplayVersion')!r}, expected {version!r}")
    if values.get("Publisher") != PUBLISHER:
        problems.append(f"{key}: Publisher {values.get('Publisher')!r}, expected {PUBLISHER!r}")
    return problems
