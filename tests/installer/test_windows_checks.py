"""What the Windows build and its smoke test read: uninstall entries, signatures, the Windows pins."""

from __future__ import annotations

import re

import pytest
from winbuild import PRODUCT, PUBLISHER
from winbuild.registry import entry_problems, uninstall_entries
from winbuild.signer import SignerError, signer_of

from tests.installer.conftest import ROOT

SYSTEM_REG = r"""WINE REGISTRY Version 2
;; All keys relative to \\Machine

[Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\BillerConsole] 1765130000
#time=1dc67a1b2c3d4e5
"DisplayName"="Biller Console"
"DisplayVersion"="0.1.0"
"InstallLocation"="C:\\Program Files\\Biller Console"
"Publisher"="Biller Console Project"
"NoModify"=dword:00000001

[Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\{8E1D0D0B-1C2B-4C1F-9E0A-1D2B3C4D5E6F}] 1765130001
"DisplayName"="Some Other Tool"
"DisplayVersion"="9.9"

[Software\\Biller Console] 1765130002
"DisplayName"="Biller Console"
"""


def test_uninstall_entries_are_found_by_display_name():
    entries = uninstall_entries(SYSTEM_REG)
    assert list(entries) == [r"Software\Microsoft\Windows\CurrentVersion\Uninstall\BillerConsole"]
    values = entries[r"Software\Microsoft\Windows\CurrentVersion\Uninstall\BillerConsole"]
    assert values["InstallLocation"] == r"C:\Program Files\Biller Console"  # outside-path: ok (a registry value, not read)
    assert values["Publisher"] == PUBLISHER


def test_entry_check_wants_one_entry_with_version_and_publisher():
    assert entry_problems(SYSTEM_REG, version="0.1.0") == []
    assert entry_problems(SYSTEM_REG, version="0.2.0") == [
        r"Software\Microsoft\Windows\CurrentVersion\Uninstall\BillerConsole: DisplayVersion '0.1.0', expected '0.2.0'"
    ]
    assert entry_problems(SYSTEM_REG, version=None) == [
        r"uninstall entry left behind: Software\Microsoft\Windows\CurrentVersion\Uninstall\BillerConsole"
    ]
    msi = SYSTEM_REG.replace("Uninstall\\\\{8E1D", "Uninstall\\\\{0000").replace("Some Other Tool", PRODUCT)
    assert "2 uninstall entries" in entry_problems(msi, version="0.1.0")[0]  # an upgrade that left the old one
    assert entry_problems(SYSTEM_REG.replace(PUBLISHER, "Nobody"), version="0.1.0") == [
        r"Software\Microsoft\Windows\CurrentVersion\Uninstall\BillerConsole: Publisher 'Nobody', "
        f"expected {PUBLISHER!r}"
    ]


VERIFY_REPORT = """Current PE checksum   : 0069C2C5
Message digest algorithm  : SHA256
Current message digest    : 04D30A0A470A5024F3DB0F472DEBB566C7D3E2E9F60724F34FBD6E46E0E1CCD4
Calculated message digest : 04D30A0A470A5024F3DB0F472DEBB566C7D3E2E9F60724F34FBD6E46E0E1CCD4

Signer's certificate:
\tSigner #0:
\t\tSubject: /C=US/ST=Oregon/L=Beaverton/O=Python Software Foundation/CN=Python Software Foundation
\t\tIssuer : /C=US/O=DigiCert, Inc./CN=DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1
"""


def test_the_signer_organisation_is_read_when_the_digest_matches():
    assert signer_of(VERIFY_REPORT) == "Python Software Foundation"


def test_a_changed_or_unsigned_file_is_refused():
    changed = VERIFY_REPORT.replace("Calculated message digest : 04D3", "Calculated message digest : 14D3")
    with pytest.raises(SignerError, match="changed after it was signed"):
        signer_of(changed)
    with pytest.raises(SignerError, match="no Authenticode signature"):
        signer_of("No signature found.\nFailed\n")


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
        if m:
            pins[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return pins


def _requirements() -> list[str]:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["installer"]
    return [re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.\-]+", r).group(0)).lower() for r in reqs]


def test_windows_pins_cover_every_dependency_for_windows():
    win = _pins("constraints-win.txt")
    missing = [r for r in _requirements() if r not in win]
    assert not missing, f"not in constraints-win.txt (run make lock): {missing}"
    assert {"pywin32-ctypes", "pefile"} <= set(win)  # keyring's and PyInstaller's Windows needs
    assert not {"jeepney", "secretstorage"} & set(win)  # Linux-only keyring backends


def test_windows_pins_agree_with_the_linux_pins():
    linux, win = _pins("constraints.txt"), _pins("constraints-win.txt")
    differ = {n: (linux[n], v) for n, v in win.items() if n in linux and linux[n] != v}
    assert not differ, f"constraints-win.txt differs from constraints.txt (run make lock): {differ}"
