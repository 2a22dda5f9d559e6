"""Stand-in services for the diagnostics checks and the support bundle: only what they read."""

from __future__ import annotations

from dataclasses import dataclass, field

from console.config import Profile
from console.paths import Paths
from console.secrets import SecretStore


@dataclass
class FakeServices:
    """The paths, profile, secrets and endpoints of a session, without building its services
    (no journal, no clients); endpoints default to no Caselle URL."""

    paths: Paths
    profile: Profile
    secrets: SecretStore
    endpoints: dict = field(default_factory=lambda: {"caselle_url": ""})
