"""The MSI's WiX source made from the bundle's file list (installer/windows/winbuild/wxs.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from winbuild import GUI_EXE, PUBLISHER
from winbuild.bundle import BundleFile
from winbuild.wxs import UPGRADE_CODE, component_guid, wxs

NS = {"w": "http://schemas.microsoft.com/wix/2006/wi"}
FILES = [
    BundleFile("biller-console-cli.exe", 10),
    BundleFile("biller-console.exe", 10),
    BundleFile("_internal/PySide6/plugins/platforms/qwindows.dll", 5),
    BundleFile("_internal/PySide6/Qt6Core.dll", 5),
    BundleFile("_internal/resources/layouts/a & b.toml", 1),
]


def _product(version="1.2.3"):
    root = ET.fromstring(wxs(FILES, version=version, bundle="biller-console", icon="../res/app.ico"))
    return root.find("w:Product", NS)


def _install_dir(product):
    return product.find(".//w:Directory[@Id='INSTALLDIR']", NS)


def test_per_machine_64_bit_with_a_fixed_upgrade_code():
    product = _product()
    assert product.get("Version") == "1.2.3"
    assert product.get("UpgradeCode") == UPGRADE_CODE
    assert product.get("Id") == "*"  # a new product code per build: MajorUpgrade replaces the older one
    assert product.get("Manufacturer") == PUBLISHER
    package = product.find("w:Package", NS)
    assert package.get("InstallScope") == "perMachine"
    assert product.find("w:MajorUpgrade", NS) is not None
    assert product.find(".//w:Directory[@Id='ProgramFiles64Folder']/w:Directory[@Id='INSTALLDIR']", NS) is not None


def test_every_file_is_installed_once_in_its_folder_with_a_relative_source():
    install = _install_dir(_product())
    files = install.findall(".//w:File", NS)
    assert sorted(f.get("Source") for f in files) == sorted(f"biller-console/{f.path}" for f in FILES)
    assert all(not f.get("Source").startswith("/") for f in files)  # wixl refuses absolute paths
    qwindows = install.find("w:Directory[@Name='_internal']/w:Directory[@Name='PySide6']/"
                            "w:Directory[@Name='plugins']/w:Directory[@Name='platforms']//w:File", NS)
    assert qwindows.get("Name") == "qwindows.dll"
    assert install.find("w:Component/w:File[@Name='biller-console.exe']", NS) is not None


def test_every_component_is_in_the_feature_with_a_stable_unique_guid():
    product = _product()
    components = product.findall(".//w:Component", NS)
    guids = [c.get("Guid") for c in components]
    assert len(set(guids)) == len(guids) == len(FILES) + 1  # + the Start-menu shortcut's
    refs = {r.get("Id") for r in product.findall("w:Feature/w:ComponentRef", NS)}
    assert refs == {c.get("Id") for c in components}
    # the same file keeps its component across versions (Windows Installer's reference counting)
    assert guids == [c.get("Guid") for c in _product("1.2.4").findall(".//w:Component", NS)]
    assert component_guid("_internal/PySide6/Qt6Core.dll") == component_guid("_internal/pyside6/qt6core.dll")


def test_start_menu_shortcut_opens_the_gui_program():
    shortcut = _product().find(".//w:Directory[@Id='ProgramMenuFolder']//w:Shortcut", NS)
    assert shortcut.get("Target") == f"[INSTALLDIR]{GUI_EXE}"
    assert shortcut.get("Name") == "Biller Console"


def test_identifiers_are_valid_for_windows_installer():
    product = _product()
    for el in product.iter():
        ident = el.get("Id")
        if ident and ident != "*" and not el.tag.endswith("}Media"):  # a disk's Id is its number
            assert len(ident) <= 72 and (ident[0].isalpha() or ident[0] == "_"), ident
            assert all(ch.isalnum() or ch in "_." for ch in ident), ident
