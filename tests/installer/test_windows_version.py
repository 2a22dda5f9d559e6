"""Version resource and installer versions of the Windows build (installer/windows/winbuild/version.py)."""

from __future__ import annotations

import pytest
from winbuild import CLI_EXE, GUI_EXE, PRODUCT, PUBLISHER
from winbuild.version import (
    VersionError,
    msi_version,
    project_version,
    version_resource,
    windows_tuple,
    write_version_files,
)

import console
from tests.installer.conftest import ROOT


def _evaluate(resource: str) -> dict:
    """Evaluate the resource as PyInstaller does (an expression of its versioninfo classes), with
    recording stand-ins for those classes."""

    def record(kind):
        return lambda *args, **kwargs: {"kind": kind, "args": args, **kwargs}

    names = ("VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable", "StringStruct",
             "VarFileInfo", "VarStruct")
    return eval(resource, {n: record(n) for n in names})  # noqa: S307 - our own generated text


def test_windows_tuple_pads_to_four_numbers():
    assert windows_tuple("0.1.0") == (0, 1, 0, 0)
    assert windows_tuple("2") == (2, 0, 0, 0)
    assert windows_tuple("1.2.3.4") == (1, 2, 3, 4)
    assert msi_version("1.2.3.4") == "1.2.3"


@pytest.mark.parametrize("bad", ["1.0.0rc1", "1.0+local", "v1.0", "", "256.0.0", "1.256.0", "1.0.65536"])
def test_versions_windows_cannot_order_are_refused(bad):
    with pytest.raises(VersionError):
        windows_tuple(bad)


def test_the_product_version_is_the_packages():
    assert project_version(ROOT / "pyproject.toml") == console.__version__


def test_version_resource_names_the_program_and_version():
    info = _evaluate(version_resource("1.2.3", exe_name=CLI_EXE, description="Biller Console (command line)"))
    fixed = info["ffi"]
    assert fixed["filevers"] == fixed["prodvers"] == (1, 2, 3, 0)
    table = info["kids"][0]["args"][0][0]
    assert table["args"][0] == "040904B0"  # US English, Unicode: what Explorer shows
    strings = {s["args"][0]: s["args"][1] for s in table["args"][1]}
    assert strings["OriginalFilename"] == CLI_EXE
    assert strings["InternalName"] == "biller-console-cli"
    assert strings["FileVersion"] == "1.2.3.0"
    assert strings["ProductVersion"] == "1.2.3"
    assert strings["ProductName"] == PRODUCT
    assert strings["CompanyName"] == PUBLISHER
    assert strings["FileDescription"] == "Biller Console (command line)"


def test_each_program_gets_its_own_resource(tmp_path):
    files = write_version_files("0.1.0", tmp_path)
    assert set(files) == {GUI_EXE, CLI_EXE}
    gui = _evaluate(files[GUI_EXE].read_text(encoding="utf-8"))
    strings = {s["args"][0]: s["args"][1] for s in gui["kids"][0]["args"][0][0]["args"][1]}
    assert strings["OriginalFilename"] == GUI_EXE
    assert "command line" not in strings["FileDescription"]
