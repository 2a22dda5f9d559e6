"""The checks of the built Windows bundle: Qt plugins and modules collected, no Wine stand-in shipped."""

from __future__ import annotations

from pathlib import Path

import pytest
from winbuild import CLI_EXE, GUI_EXE
from winbuild.bundle import (
    REQUIRED_PLUGINS,
    STANDIN_MARKER,
    BundleError,
    check_bundle,
    file_list,
    qt_modules_used,
    standin_names,
)

from tests.installer.conftest import ROOT, WINDOWS

WINE_TEST = WINDOWS / "wine-test"
MODULES = ["QtCore", "QtGui", "QtWidgets"]


def _write(path: Path, data: bytes = b"MZ") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def source(tmp_path):
    """A console source tree importing three Qt modules."""
    src = tmp_path / "src"
    _write(src / "ui" / "a.py", b"from PySide6.QtCore import Qt\nfrom PySide6.QtWidgets import QWidget\n")
    _write(src / "ui" / "b.py", b"import PySide6.QtGui\n# from PySide6.QtPdf is only a comment here\n")
    return src


@pytest.fixture
def bundle(tmp_path):
    """A bundle as PyInstaller lays it out on Windows, with everything the checks look for."""
    b = tmp_path / "biller-console"
    _write(b / GUI_EXE)
    _write(b / CLI_EXE)
    pyside = b / "_internal" / "PySide6"
    for plugin in REQUIRED_PLUGINS:
        _write(pyside / "plugins" / plugin)
    for m in MODULES:
        _write(pyside / f"{m}.pyd")
        _write(pyside / f"Qt6{m.removeprefix('Qt')}.dll")
    _write(b / "_internal" / "python312.dll", b"MZ" + b"\0" * 100)
    return b


def test_qt_modules_are_found_in_the_source(source):
    assert qt_modules_used(source) == MODULES


def test_the_console_uses_qt_pdf_and_widgets():
    used = qt_modules_used(ROOT / "console")
    assert {"QtCore", "QtGui", "QtWidgets", "QtPdf", "QtPdfWidgets"} <= set(used)


def test_a_complete_bundle_passes_and_lists_its_files(bundle, source):
    files = check_bundle(bundle, source=source, wine_test=WINE_TEST)
    paths = [f.path for f in files]
    assert paths == sorted(paths, key=str.lower)
    assert "_internal/PySide6/plugins/platforms/qwindows.dll" in paths
    assert {f.path: f.size for f in files}["_internal/python312.dll"] == 102
    assert files == file_list(bundle)


def test_a_bundle_without_the_windows_platform_plugin_fails(bundle, source):
    (bundle / "_internal" / "PySide6" / "plugins" / "platforms" / "qwindows.dll").unlink()
    with pytest.raises(BundleError) as err:
        check_bundle(bundle, source=source, wine_test=WINE_TEST)
    assert err.value.problems == [
        "Qt plugin missing: PySide6/plugins/platforms/qwindows.dll (PyInstaller could not import PySide6 "
        "while analysing; the program would not start on Windows)"
    ]


def test_a_bundle_without_any_plugin_folder_names_each_plugin(bundle, source):
    import shutil

    shutil.rmtree(bundle / "_internal" / "PySide6" / "plugins")
    with pytest.raises(BundleError) as err:
        check_bundle(bundle, source=source, wine_test=WINE_TEST)
    assert len(err.value.problems) == len(REQUIRED_PLUGINS)


def test_a_used_qt_module_missing_fails(bundle, source):
    (bundle / "_internal" / "PySide6" / "QtGui.pyd").unlink()
    (bundle / "_internal" / "PySide6" / "Qt6Widgets.dll").unlink()
    with pytest.raises(BundleError) as err:
        check_bundle(bundle, source=source, wine_test=WINE_TEST)
    assert err.value.problems == [
        "Qt module missing: PySide6/QtGui.pyd (imported by the console)",
        "Qt library missing: PySide6/Qt6Widgets.dll (needed by PySide6.QtWidgets)",
    ]


def test_both_programs_are_required(bundle, source):
    (bundle / CLI_EXE).unlink()
    with pytest.raises(BundleError, match="program missing: biller-console-cli.exe"):
        check_bundle(bundle, source=source, wine_test=WINE_TEST)


def test_the_stand_ins_are_the_three_functions_wine_lacks():
    assert standin_names(WINE_TEST) == ["bcryptprimitives.dll", "icuuc.dll", "mscms.dll"]
    for c in WINE_TEST.glob("*.c"):  # the marker the by-content check looks for is compiled into each
        assert STANDIN_MARKER.decode() in c.read_text(encoding="utf-8"), c.name


@pytest.mark.parametrize("name", ["icuuc.dll", "ICUUC.DLL", "mscms.dll", "bcryptprimitives.dll"])
def test_a_stand_in_in_the_bundle_fails_the_build(bundle, source, name):
    _write(bundle / "_internal" / name)
    with pytest.raises(BundleError, match="Wine test stand-in in the bundle: _internal/"):
        check_bundle(bundle, source=source, wine_test=WINE_TEST)


def test_a_renamed_stand_in_is_found_by_its_marker(bundle, source):
    _write(bundle / "_internal" / "PySide6" / "icu.dll", b"MZ\0\0" + STANDIN_MARKER + b"\0")
    with pytest.raises(BundleError, match="under another name: _internal/PySide6/icu.dll"):
        check_bundle(bundle, source=source, wine_test=WINE_TEST)
