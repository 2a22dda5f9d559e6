#!/usr/bin/env bash
# Build the one-folder Linux program with PyInstaller into dist/biller-console/ and check it:
# it must answer --version and pass --self-test (offscreen, every tab opened).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PY="$VENV/bin/python"
[ -x "$PY" ] || { echo "no virtual environment at $VENV: run 'make venv' first" >&2; exit 1; }

# PyInstaller from the pinned extra (pyproject.toml [installer], versions in constraints.txt).
want=$(sed -n 's/^installer = \["pyinstaller==\(.*\)"\]/\1/p' pyproject.toml)
have=$("$PY" -c 'import PyInstaller; print(PyInstaller.__version__)' 2>/dev/null || true)
if [ -z "$have" ] || [ "$have" != "$want" ]; then
    "$VENV/bin/pip" install -q -c constraints.txt -e '.[installer]'
fi

"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller installer/biller-console.spec

app=dist/biller-console/biller-console
echo "== $app --version"
"$app" --version
echo "== $app --self-test --timing (offscreen, throw-away home)"
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
QT_QPA_PLATFORM=offscreen BILLER_CONSOLE_HOME="$home" "$app" --self-test --timing
echo "built: $(du -sh dist/biller-console | cut -f1) in dist/biller-console/"
