"""Checks of the built one-folder program that PyInstaller under Wine does not make itself.

PyInstaller reports success when ``import PySide6.QtCore`` failed during analysis (under Wine
without an ICU): the bundle then has no Qt plugins and cannot start on a Windows PC. And the
test-only stand-ins for what Wine lacks (``installer/windows/wine-test/``) must never ship.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from winbuild import CLI_EXE, GUI_EXE

# Qt plugins the console cannot run without on Windows: the platform itself, the native
# style, and the .ico reader (window and taskbar icon).
REQUIRED_PLUGINS = (
    "platforms/qwindows.dll",
    "styles/qmodernwindowsstyle.dll",
    "imageformats/qico.dll",
)
# Every stand-in is built with this text in it, so a renamed copy is caught too.
STANDIN_MARKER = b"biller-console wine-test stand-in"
_QT_IMPORT = re.compile(r"^\s*(?:from|import)\s+PySide6\.(Qt\w+)", re.MULTILINE)


class BundleError(Exception):
    """The bundle is not fit to ship; ``problems`` says each reason on its own line."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class BundleFile:
    path: str  # relative to the bundle folder, with forward slashes
    size: int


def file_list(bundle: Path) -> list[BundleFile]:
    """Every file of the bundle, sorted by path (what the MSI installs and the build counts)."""
    files = [BundleFile(p.relative_to(bundle).as_posix(), p.stat().st_size) for p in bundle.rglob("*") if p.is_file()]
    return sorted(files, key=lambda f: f.path.lower())


def qt_modules_used(source: Path) -> list[str]:
    """The ``PySide6.QtXxx`` modules the console's code imports (found in its source, so a new one is checked too)."""
    found = set()
    for py in source.rglob("*.py"):
        found.update(_QT_IMPORT.findall(py.read_text(encoding="utf-8")))
    return sorted(found)


def missing_qt_parts(bundle: Path, qt_modules: list[str]) -> list[str]:
    """What of Qt the bundle lacks: each required plugin, and each used module's ``.pyd`` and ``Qt6*.dll``."""
    internal = bundle / "_internal"
    pyside = internal / "PySide6"
    problems = []
    for plugin in REQUIRED_PLUGINS:
        if not (pyside / "plugins" / plugin).is_file():
            problems.append(f"Qt plugin missing: PySide6/plugins/{plugin} (PyInstaller could not import PySide6 "
                            "while analysing; the program would not start on Windows)")
    for module in qt_modules:
        if not (pyside / f"{module}.pyd").is_file():
            problems.append(f"Qt module missing: PySide6/{module}.pyd (imported by the console)")
        dll = f"Qt6{module.removeprefix('Qt')}.dll"
        if not (pyside / dll).is_file():
            problems.append(f"Qt library missing: PySide6/{dll} (needed by PySide6.{module})")
    return problems


def standins_in(bundle: Path, standin_names: list[str]) -> list[str]:
    """Stand-ins found in the bundle: by file name, or by the marker every stand-in carries."""
    names = {n.lower() for n in standin_names}
    found = []
    for p in sorted(bundle.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(bundle).as_posix()
        if p.name.lower() in names:
            found.append(f"Wine test stand-in in the bundle: {rel} (installer/windows/wine-test/ is for the Wine prefix only)")
        elif p.suffix.lower() in (".dll", ".pyd", ".exe") and STANDIN_MARKER in p.read_bytes():
            found.append(f"Wine test stand-in in the bundle under another name: {rel}")
    return found


def standin_names(wine_test: Path) -> list[str]:
    """The DLL each stand-in source builds: ``wine-test/<name>.c`` → ``<name>.dll``."""
    return sorted(f"{c.stem}.dll" for c in wine_test.glob("*.c"))


def check_bundle(bundle: Path, *, source: Path, wine_test: Path) -> list[BundleFile]:
    """Raise ``BundleError`` unless the bundle has both programs, all of Qt it needs and no stand-in."""
    problems = [f"program missing: {exe}" for exe in (GUI_EXE, CLI_EXE) if not (bundle / exe).is_file()]
    problems += missing_qt_parts(bundle, qt_modules_used(source))
    problems += standins_in(bundle, standin_names(wine_test))
    if problems:
        raise BundleError(problems)
    return file_list(bundle)
