"""Saving a profile's settings: the protected action ``settings``.

The role is checked against the profile in force (``current``), never against the draft being
saved, so nobody gives themselves a role by saving it. A profile without operators yet is set
up by the set-up operator (a supervisor; see ``console.services.operators.SETUP_OPERATOR``).
"""

from __future__ import annotations

from typing import Any

from console.config import Profile, ProfileStore
from console.services.operators import require


def save_profile(store: ProfileStore, profile: Profile, *, current: Profile, operator: Any,
                 make_default: bool = False, audit: Any = None) -> Profile:
    """Write ``profile`` (validated by the store) when ``operator`` may change ``current``'s settings."""
    require(current, operator, "settings", audit)
    store.save(profile, make_default=make_default)
    return profile
