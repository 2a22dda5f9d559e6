"""Where the console keeps things: platform directories, overridable for tests and kiosks.

``BILLER_CONSOLE_HOME`` (if set) puts config, data, logs and cache under one folder — the
tests use it so they never touch the real user directories.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP = "biller-console"
RESOURCES = Path(__file__).resolve().parent.parent / "resources"
DOCS = Path(__file__).resolve().parent.parent / "docs"  # operator help (Help › F1)


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    log_dir: Path
    cache_dir: Path

    @classmethod
    def default(cls) -> Paths:
        home = os.environ.get("BILLER_CONSOLE_HOME")
        if home:
            root = Path(home)
            return cls(root / "config", root / "data", root / "logs", root / "cache")
        return cls(
            Path(platformdirs.user_config_dir(APP, appauthor=False)),
            Path(platformdirs.user_data_dir(APP, appauthor=False)),
            Path(platformdirs.user_log_dir(APP, appauthor=False)),
            Path(platformdirs.user_cache_dir(APP, appauthor=False)),
        )

    def ensure(self) -> Paths:
        for p in (self.config_dir, self.data_dir, self.log_dir, self.cache_dir):
            p.mkdir(parents=True, exist_ok=True)
        return self

    @property
    def profiles_file(self) -> Path:
        return self.config_dir / "profiles.toml"

    @property
    def journal_file(self) -> Path:
        return self.data_dir / "journal.sqlite3"

    @property
    def sandbox_dir(self) -> Path:
        return self.data_dir / "sandbox"

    @property
    def known_hosts_file(self) -> Path:
        return self.config_dir / "known_hosts"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "console.log"


def resource(*parts: str) -> Path:
    """A file shipped under ``resources/`` (layouts, GraphQL, icons, seed data)."""
    return RESOURCES.joinpath(*parts)
