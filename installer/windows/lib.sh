# Shared by build.sh and smoke.sh (sourced): paths, Wine prefixes, running Windows programs.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WIN=$ROOT/installer/windows
BUILD=$ROOT/build/windows
DIST=$ROOT/dist/windows
VENV=${VENV:-$ROOT/.venv}
# Wine prefixes live outside the work tree: their drive Z: is a link to /, and setuptools (pip
# install -e .) follows links while listing the project's files — it would walk the whole disk.
WINE_HOME=${BILLER_WINE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/biller-console-wine/$(printf %s "$ROOT" | sha1sum | cut -c1-12)}
export WINEARCH=win64 WINEDEBUG=${WINEDEBUG:--all}

# The Linux-side helper (python -m winbuild …) with the project's virtual environment.
winbuild() { PYTHONPATH="$WIN" "$VENV/bin/python" -m winbuild "$@"; }

# A Unix path as Wine sees it (drive Z: is /).
winpath() { local p; p=$(realpath -m "$1"); printf 'Z:%s' "${p//\//\\}"; }

# new_prefix DIR: an empty 64-bit Windows 10 prefix with the test-only stand-ins in system32.
new_prefix() {
    local prefix=$1
    rm -rf "$prefix" && mkdir -p "$(dirname "$prefix")"  # Wine makes the prefix, not its parents
    WINEPREFIX=$prefix WINEDLLOVERRIDES="mscoree,mshtml=" wineboot -i >"$prefix.log" 2>&1 \
        || { cat "$prefix.log" >&2; echo "wineboot failed for $prefix" >&2; return 1; }
    WINEPREFIX=$prefix wine reg add 'HKCU\Software\Wine' /v Version /d win10 /f </dev/null 2>/dev/null | cat >/dev/null
    WINEPREFIX=$prefix wineserver -w
    cp "$BUILD"/wine-test/*.dll "$prefix/drive_c/windows/system32/"
}

# in_wine PREFIX PROGRAM ARGS…: run a Windows program, output piped (Windows Python dies when its
# stdout is a file under Wine) with Windows line ends made Unix ones, stdin from /dev/null, its
# exit status kept.
in_wine() {
    local prefix=$1; shift
    WINEPREFIX=$prefix wine "$@" </dev/null 2>&1 | tr -d '\r'
    return "${PIPESTATUS[0]}"
}

# start_xvfb: a virtual screen on a free display number; sets DISPLAY and XVFB_PID.
start_xvfb() {
    local out=$BUILD/xvfb.display
    rm -f "$out"
    Xvfb -displayfd 1 -screen 0 1280x800x24 -nolisten tcp >"$out" 2>/dev/null &
    XVFB_PID=$!
    for _ in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
    [ -s "$out" ] || { echo "Xvfb did not start" >&2; return 1; }
    export DISPLAY=":$(head -1 "$out")"
}

stop_xvfb() { [ -n "${XVFB_PID:-}" ] && kill "$XVFB_PID" 2>/dev/null; XVFB_PID=; }

mb() { du -sm "$1" | cut -f1; }
