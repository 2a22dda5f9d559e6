# Biller Console — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(VENV)/bin/pip

.PHONY: run test venv lint bench lock clean screenshots installer

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

lint: venv
	$(VENV)/bin/ruff check console tests benchmarks

bench: venv
	for b in benchmarks/bench_*.py; do echo "== $$b"; QT_QPA_PLATFORM=offscreen $(PY) $$b || exit 1; done

lock:
	$(PIP) freeze --exclude-editable | grep -v '^biller-console' > constraints.txt

installer: venv
	bash installer/build-linux.sh

clean:
	rm -rf $(VENV) build dist .pytest_cache
