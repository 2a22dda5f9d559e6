"""What a tab receives: the services, the profile, the signed-in operator and a status line.

A tab is ``QWidget`` subclass taking ``(ctx: UiContext)``. It does its work through
``console.ui.operations.Operation`` with service calls from ``ctx.services`` and shows
short messages with ``ctx.status("Posted 12 receipts")``. UI state (column widths,
splitters, last folder) goes through ``ctx.ui_state("my_tab")`` — a QSettings group per
screen, stored next to the profiles; never settings or secrets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from console.config import Operator, Profile


class UiState:
    """UI state of one screen (geometry, splitter, header state, last tab, last folder)."""

    def __init__(self, settings: QSettings, screen: str):
        self._settings = settings
        self.screen = screen

    def _key(self, key: str) -> str:
        return f"{self.screen}/{key}"

    def value(self, key: str, default: Any = None) -> Any:
        return self._settings.value(self._key(key), default)

    def set_value(self, key: str, value: Any) -> None:
        self._settings.setValue(self._key(key), value)

    def bytes(self, key: str) -> QByteArray | None:
        value = self._settings.value(self._key(key))
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def sync(self) -> None:
        self._settings.sync()


def ui_settings(config_dir) -> QSettings:
    """The console's UI-state file (INI), in the config directory so tests stay isolated."""
    return QSettings(str(config_dir / "ui-state.ini"), QSettings.Format.IniFormat)


@dataclass
class UiContext:
    services: Any  # console.app.Services
    operator: Operator | None = None
    status_sink: Callable[[str, int], None] | None = None
    settings: QSettings | None = field(default=None, repr=False)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone(), repr=False)

    def now(self) -> datetime:
        """The current local time (tests inject ``clock``)."""
        return self.clock()

    @property
    def profile(self) -> Profile:
        return self.services.profile

    @property
    def training(self) -> bool:
        return bool(self.services.profile.training)

    @property
    def operator_id(self) -> str:
        return self.operator.operator_id if self.operator else ""

    @property
    def role(self) -> str:
        return self.operator.role if self.operator else ""

    def can(self, action: str) -> bool:
        """Whether the signed-in operator's role allows ``action`` (buttons are enabled by it;
        the services check again). A profile without operators has no roles to show."""
        if not self.profile.operators or self.operator is None:
            return True
        from console.services.operators import can

        return can(self.profile, self.operator, action)

    def status(self, message: str, timeout_ms: int = 6000) -> None:
        """Show a short message in the main window's status bar (no-op without a window)."""
        if self.status_sink is not None:
            self.status_sink(message, timeout_ms)

    def ui_state(self, screen: str) -> UiState:
        if self.settings is None:
            self.settings = ui_settings(self.services.paths.config_dir)
        return UiState(self.settings, screen)
