#!/usr/bin/env bash
# smoke.sh SETUP.exe PRODUCT.msi OLD-SETUP.exe OLD.msi — each installer, in a fresh Wine prefix:
#   older version installed → data made → silent upgrade (one uninstall entry, data kept) →
#   --version, --self-test offscreen, --self-test with the Windows platform plugin under Xvfb
#   (CLI and GUI exe), diagnose on the sandbox profile → silent uninstall (no program folder, no
#   entry, no shortcut, data kept) → and uninstall.exe /S /PURGE removes the data.
# Prints "smoke: PASS/FAIL …" lines and "timing: …"; exits non-zero on the first failure.
# SCREENSHOT=file.png also saves the installed console's main window under Wine.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SETUP=$1 MSI=$2 OLD_SETUP=$3 OLD_MSI=$4
VERSION=$(winbuild version)
P=$WINE_HOME/smoke-prefix
PROG="$P/drive_c/Program Files/Biller Console"
WPROG='C:\Program Files\Biller Console'
DATA="$P/drive_c/users/$(id -un)/AppData/Local/biller-console"
SHORTCUTS=("$P/drive_c/ProgramData/Microsoft/Windows/Start Menu/Programs/Biller Console.lnk"
           "$P/drive_c/users/$(id -un)/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Biller Console.lnk")
passed=0

pass() { echo "smoke: PASS $*"; passed=$((passed + 1)); }
fail() { echo "smoke: FAIL $*"; exit 1; }
settle() { timeout 120 env WINEPREFIX="$P" wineserver -w || WINEPREFIX="$P" wineserver -k; }  # and flush the registry
run() { in_wine "$P" "$@"; }
cli() { run "$WPROG\\biller-console-cli.exe" "$@"; }

install() {  # install KIND FILE
    local t=$SECONDS
    if [ "$1" = nsis ]; then run "$2" /S >/dev/null || fail "$(basename "$2") /S exited $?"
    else run msiexec /i "$(winpath "$2")" /qn >/dev/null || fail "msiexec /i $(basename "$2") /qn exited $?"; fi
    settle
    pass "silent install of $(basename "$2") ($((SECONDS - t)) s)"
}

uninstall() {  # uninstall KIND FILE [/PURGE]
    local t=$SECONDS
    if [ "$1" = nsis ]; then run "$WPROG\\uninstall.exe" /S "${@:3}" >/dev/null || fail "uninstall.exe /S exited $?"
    else run msiexec /x "$(winpath "$2")" /qn >/dev/null || fail "msiexec /x /qn exited $?"; fi
    for _ in $(seq 60); do [ -e "$PROG" ] || break; sleep 1; done
    settle
    [ -e "$PROG" ] && fail "program folder left after uninstall: $(find "$PROG" | head -5)"
    winbuild check-uninstall-entry "$P/system.reg" --absent >/dev/null || fail "uninstall entry left"
    for s in "${SHORTCUTS[@]}"; do [ -e "$s" ] && fail "Start-menu shortcut left: $s"; done
    pass "silent uninstall ($1, $((SECONDS - t)) s): no program folder, no uninstall entry, no shortcut"
}

installed() {  # installed VERSION: programs, shortcut and one uninstall entry with VERSION
    for exe in biller-console.exe biller-console-cli.exe; do [ -f "$PROG/$exe" ] || fail "no $exe in Program Files"; done
    local found=
    for s in "${SHORTCUTS[@]}"; do [ -e "$s" ] && found=$s; done
    [ -n "$found" ] || fail "no Start-menu shortcut"
    winbuild check-uninstall-entry "$P/system.reg" --version "$1" || fail "uninstall entry"
    pass "installed $1: both programs in Program Files, Start-menu shortcut (${found#"$P"/drive_c/}), uninstall entry"
}

make_data() {  # the user's data the upgrade must keep: a profile folder, journal, logs, a marker
    cli --profile sandbox diagnose >/dev/null || true
    [ -d "$DATA" ] || fail "the program made no data folder at ${DATA#"$P"/}"
    echo "kept across upgrade" >"$DATA/upgrade-marker.txt"
    find "$DATA" -type f | sort >"$BUILD/data-before.txt"
}

data_kept() {
    [ -f "$DATA/upgrade-marker.txt" ] || fail "user data lost ($1)"
    local lost; lost=$(find "$DATA" -type f | sort | comm -23 "$BUILD/data-before.txt" -)
    [ -z "$lost" ] || fail "user data lost ($1): $lost"
    pass "user data kept ($1): $(wc -l <"$BUILD/data-before.txt") files in AppData\\Local\\biller-console"
}

program_checks() {  # program_checks KIND
    local out
    out=$(cli --version) || fail "--version exited $?"
    [ "$out" = "biller-console $VERSION" ] || fail "--version said '$out'"
    pass "$1: --version → $out"
    out=$(QT_QPA_PLATFORM=offscreen cli --self-test) || fail "--self-test offscreen: $out"
    pass "$1: --self-test offscreen ($(echo "$out" | grep -o '[0-9]* tabs opened'))"
    out=$(QT_QPA_PLATFORM=windows WINEDLLOVERRIDES=mscms=n cli --self-test --timing) \
        || fail "--self-test with the Windows platform plugin: $out"
    pass "$1: --self-test with the Windows platform plugin (qwindows.dll) under Xvfb"
    echo "timing: Wine, $1, windows platform: $(echo "$out" | sed -n 's/^timing: //p')"
    QT_QPA_PLATFORM=windows WINEDLLOVERRIDES=mscms=n run "$WPROG\\biller-console.exe" --self-test >/dev/null \
        || fail "GUI biller-console.exe --self-test exited $?"
    pass "$1: GUI biller-console.exe --self-test (no console window) exited 0"
    out=$(cli --profile sandbox diagnose) || fail "--profile sandbox diagnose: $out"
    pass "$1: --profile sandbox diagnose → $(echo "$out" | tail -1)"
}

screenshot() {  # the GUI program, signed in as the sandbox's demo supervisor (training PINs)
    [ -n "${SCREENSHOT:-}" ] || return 0
    command -v xdotool >/dev/null || fail "SCREENSHOT needs xdotool"
    # output piped, never to a file: Windows Python under Wine cannot start with stdout on a file
    (QT_QPA_PLATFORM=windows WINEDLLOVERRIDES=mscms=n WINEPREFIX="$P" wine "$WPROG\\biller-console.exe" \
        </dev/null 2>&1 | cat >/dev/null &)
    sleep "${SCREENSHOT_WAIT:-25}"
    xdotool type --delay 100 super1; xdotool key Tab; xdotool type --delay 100 9999; xdotool key Return
    sleep "${SCREENSHOT_WAIT:-25}"
    import -display "$DISPLAY" -window root "$SCREENSHOT"
    WINEPREFIX="$P" wineserver -k || true
    pass "screenshot of the installed console: $SCREENSHOT"
}

echo "smoke: fresh Wine prefix $P"
new_prefix "$P"
start_xvfb
trap 'stop_xvfb; WINEPREFIX="$P" wineserver -k 2>/dev/null || true' EXIT

install nsis "$OLD_SETUP"; installed 0.0.1; make_data
install nsis "$SETUP"; installed "$VERSION"; data_kept "NSIS upgrade 0.0.1 → $VERSION"
program_checks setup.exe
screenshot
uninstall nsis "$SETUP"; data_kept "NSIS uninstall"

install msi "$OLD_MSI"; installed 0.0.1
install msi "$MSI"; installed "$VERSION"; data_kept "MSI upgrade 0.0.1 → $VERSION"
program_checks msi
uninstall msi "$MSI"; data_kept "MSI uninstall"

install nsis "$SETUP"
uninstall nsis "$SETUP" /PURGE
[ -e "$DATA" ] && fail "uninstall.exe /S /PURGE left the data folder"
pass "uninstall.exe /S /PURGE removed AppData\\Local\\biller-console"
linux=$ROOT/dist/biller-console/biller-console  # the Linux build (make installer), same machine, for comparison
if [ -x "$linux" ]; then
    for platform in xcb offscreen; do
        out=$(QT_QPA_PLATFORM=$platform BILLER_CONSOLE_HOME=$BUILD/linux-home "$linux" --self-test --timing) \
            || fail "Linux build --self-test ($platform): $out"
        echo "timing: Linux build, $platform platform: $(echo "$out" | sed -n 's/^timing: //p')"
    done
fi
echo "smoke: $passed passed, 0 failed"
