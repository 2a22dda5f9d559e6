# Biller Console — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(VENV)/bin/pip

.PHONY: run test test-dates venv lint bench lock clean screenshots installer installer-windows

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e '.[test]'
	touch $@

venv: $(VENV)/.installed

## Start the console on its embedded sandbox (no configuration needed).
run: venv
	$(VENV)/bin/biller-console

## Install everything and run the whole test suite (offscreen Qt).
test: venv
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/ruff check console tests benchmarks
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

## The whole suite a year and more from today (tests/conftest.py --clock-shift-days): no test
## may depend on the day it runs.
test-dates: venv
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q --clock-shift-days 400

lint: venv
	$(VENV)/bin/ruff check console tests benchmarks

bench: venv
	for b in benchmarks/bench_*.py; do echo "== $$b"; QT_QPA_PLATFORM=offscreen $(PY) $$b || exit 1; done

## Pin every version: constraints.txt (this machine's venv) and constraints-win.txt, the same
## versions resolved for Windows (win_amd64, CPython 3.12: pywin32-ctypes, pefile; no jeepney).
lock:
	$(PIP) freeze --exclude-editable | grep -v '^biller-console' > constraints.txt
	$(PIP) install -q -c constraints.txt -e '.[lock]'
	$(VENV)/bin/uv pip compile -q pyproject.toml --extra installer -c constraints.txt \
		--python-platform x86_64-pc-windows-msvc --python-version 3.12 --no-annotate \
		--custom-compile-command 'make lock' -o constraints-win.txt

installer: venv
	bash installer/build-linux.sh

## Windows program, setup.exe and .msi, built and smoke-tested under Wine (see installer/README.md).
installer-windows: venv
	bash installer/windows/build.sh

clean:
	rm -rf $(VENV) build dist .pytest_cache

## Screenshots of every tab and the lock screen at 1024x768 (Xvfb) into docs/screenshots/.
screenshots: venv
	xvfb-run -a -s "-screen 0 1024x768x24" $(PY) docs/screenshots/take.py
