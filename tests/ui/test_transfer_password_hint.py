"""A connection without a stored password says where the password is entered, in the words the
Settings dialog uses: its Credentials page and the field's label (the Transfer page has no
password field)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QLineEdit

from console.adapters.transfer import FtpTransfer, SftpTransfer, TransferSettings
from console.errors import AuthError
from console.secrets import MemoryBackend, SecretStore
from console.ui.context import UiContext
from console.ui.settings_dialog import SECRET_LABELS, SettingsDialog, section_title
from tests.profiles import SUPERVISOR
from tests.ui.test_swipe_reader_settings_ui import _services


def _labels(dlg: SettingsDialog) -> tuple[list[str], list[str]]:
    pages = [dlg.pages.tabText(i) for i in range(dlg.pages.count())]
    fields = [f"{section_title(section)} — {label}" for section, label in SECRET_LABELS.values()]
    return pages, fields


@pytest.mark.parametrize("make", [
    lambda tmp: SftpTransfer(TransferSettings("sftp", "sftp.example.com", 22, "city", known_hosts=tmp / "kh")),
    lambda tmp: FtpTransfer(TransferSettings("ftps", "ftp.example.com", 21, "city")),
])
def test_no_password_points_to_the_credentials_page_and_field(qtbot, tmp_path: Path, make):
    backend = MemoryBackend()
    dlg = SettingsDialog(UiContext(_services(), SUPERVISOR), secret_store_factory=lambda n: SecretStore(n, backend=backend))
    qtbot.addWidget(dlg)
    pages, fields = _labels(dlg)
    with pytest.raises(AuthError) as err:
        make(tmp_path).connect()  # raised before any socket is opened
    hint = err.value.hint
    page = hint.split("Settings → ", 1)[1].split(" (", 1)[0]
    field = hint.split("(", 1)[1].rstrip(")")
    assert page in pages and field in fields, hint
    assert dlg.findChild(QLineEdit, "secret-transfer_password") is not None
