# Every target builds its own virtual environment with a Python >= 3.12 found on this machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTHON_CANDIDATES := python3.13 python3.12 python3 $(wildcard /root/.pyenv/versions/3.1[2-9]*/bin/python3) $(wildcard /usr/local/bin/python3.1[2-9]) $(wildcard /usr/bin/python3.1[2-9])
FIND_PYTHON := for p in $(PYTHON_CANDIDATES); do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    command -v $$p; break; fi; done

.PHONY: run run-offline test test-postgres lint bench clean ui native

$(VENV)/.installed: pyproject.toml
	@base="$$($(FIND_PYTHON))"; \
	  if [ -z "$$base" ]; then echo "error: no Python >= 3.12 found (tried: $(PYTHON_CANDIDATES))" >&2; exit 1; fi; \
	  echo "using $$base"; \
	  [ -x $(PY) ] || $$base -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# The indicator calculators compiled with mypyc (infrastructure/native.py) when one is missing
# or older than its source; without a C compiler the same source runs interpreted, only slower.
native: $(VENV)/.installed
	@$(PY) -m infrastructure.native build --if-needed || \
	  echo "warning: the indicators could not be compiled; they run interpreted (slower)" >&2

# The dashboard (ui/): npm ci when the lock file changes, a build when a source changes.
UI_SOURCES := $(shell find ui/src ui/index.html ui/vite.config.ts ui/tsconfig.json -type f 2>/dev/null)

ui/node_modules/.installed: ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund
	touch $@

ui/dist/index.html: ui/node_modules/.installed $(UI_SOURCES)
	cd ui && npm run build
	node ui/scripts/bundle-size.mjs | tail -n 1
	touch $@

ui: ui/dist/index.html

# The sample replayed, a token, the API and dashboard, plus the Alpaca simulator at 60x and
# `openbell live` trading sample bots on it (bots trade within a minute).
run: native ui/dist/index.html
	$(VENV)/bin/openbell up --live-demo

# make run without the simulator and live trader.
run-offline: native ui/dist/index.html
	$(VENV)/bin/openbell up

# Vitest (the dashboard's hooks and formatting), then pytest (the browser test in tests/ui too).
test: native ui/dist/index.html
	cd ui && npm test
	$(VENV)/bin/pytest

test-postgres: native
	OPENBELL_TEST_POSTGRES_URL=$${OPENBELL_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test} \
	  $(VENV)/bin/pytest -m postgres

# The chaos test (tests/alpaca/test_chaos.py, issue 11) on several seeds, SQLite and PostgreSQL
# (skipped if unreachable): CHAOS_SEEDS=5 runs CHAOS_SEED (default 1) and the next four, or list
# them (CHAOS_SEEDS=3,17,42). About two minutes a seed and store; `make test` runs one seed.
.PHONY: chaos
chaos: native
	CHAOS_SEEDS=$${CHAOS_SEEDS:-5} $(VENV)/bin/pytest -m chaos -s tests/alpaca/test_chaos.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: native
	$(PY) bench/replay.py

clean:
	[ ! -x $(PY) ] || $(PY) -m infrastructure.native clean
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache ui/dist ui/node_modules
