"""What the Windows build computes, kept out of shell so it can be unit-tested without Wine.

``python -m winbuild <command>`` (run with ``installer/windows`` on ``sys.path``, as
``installer/windows/build.sh`` does) exposes each piece to the build script:

- ``version.py``: the product version, the PyInstaller version resource and the MSI/NSIS version.
- ``icon.py``: the application icon (drawn, multi-size ``.ico``).
- ``bundle.py``: the bundle's file list, the Qt plugin/module check and the stand-in check.
- ``wxs.py``: the WiX source wixl turns into the MSI.
"""

PRODUCT = "Biller Console"
PUBLISHER = "Biller Console Project"
GUI_EXE = "biller-console.exe"
CLI_EXE = "biller-console-cli.exe"
BUNDLE = "biller-console"  # the one-folder program: dist/windows/biller-console/
