# Two commands matter: `make run` (local stack) and `make test` (everything CI checks).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
NODE_BIN := node_modules/.bin

# Nothing may depend on today's date: these suites (the decision core, the lifecycle, the store,
# the HTTP handlers and the end-to-end walks) run again with the wall clock two years ahead.
# datefudge moves only the wall clock, for Python and Azurite alike.
TIMESHIFT_DAYS ?= 730
TIMESHIFT_TESTS := tests/test_decide.py tests/test_decide_properties.py tests/test_lifecycle.py \
	tests/test_lifecycle_machine.py tests/test_tick.py tests/test_store_contract.py \
	tests/test_http_api.py tests/test_lifecycle_http.py tests/test_fanout_core.py tests/test_e2e.py \
	tests/test_e2e_readiness.py tests/test_e2e_lifecycle.py

.PHONY: run test lint typecheck unit timeshift setup debian clean drill bench

setup: $(VENV)/.installed $(NODE_BIN)/azurite

# Debian packages the tests use (installed when missing; see the script).
debian:
	@devhost/ensure_debian_packages.sh datefudge=datefudge

$(VENV)/.installed: requirements.txt requirements-dev.txt client/pyproject.toml core/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(NODE_BIN)/azurite: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: setup
	$(PY) -m devhost.run

drill: setup
	$(PY) -m devhost.drill

bench: setup
	$(PY) -m bench.run

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: setup
	$(PY) -m mypy

unit: setup
	$(PY) -m pytest

timeshift: setup debian
	@shifted="$$(date -u -d '+$(TIMESHIFT_DAYS) days' '+%F %T')"; \
	echo "wall clock moved to $$(datefudge "$$shifted" date -u '+%F %T') UTC"; \
	datefudge "$$shifted" $(PY) -m pytest -p no:cacheprovider $(TIMESHIFT_TESTS)

test: lint typecheck unit timeshift

clean:
	rm -rf $(VENV) node_modules .mypy_cache .pytest_cache .ruff_cache .hypothesis
