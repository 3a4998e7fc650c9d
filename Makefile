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

.PHONY: run test lint typecheck unit timeshift setup debian clean drill bench apifuzz

setup: $(VENV)/.installed $(NODE_BIN)/azurite

# Debian packages the tests use (installed when missing; see the script): datefudge for
# `timeshift`, and headless Chromium with its driver for the console's browser tests
# (tests/test_console_browser.py), driven by Selenium through the system chromedriver.
debian:
	@devhost/ensure_debian_packages.sh datefudge=datefudge chromium=chromium \
		chromedriver=chromium-driver

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

# The whole suite, Schemathesis against the local stack and the console in Debian's Chromium
# among it (tests/test_api_fuzz.py, tests/test_console_browser.py).
unit: setup debian
	$(PY) -m pytest

# Schemathesis alone, deeper: `make apifuzz API_FUZZ_EXAMPLES=500`.
apifuzz: setup
	API_FUZZ_EXAMPLES=$(or $(API_FUZZ_EXAMPLES),40) $(PY) -m pytest -q tests/test_api_fuzz.py

timeshift: setup debian
	@shifted="$$(date -u -d '+$(TIMESHIFT_DAYS) days' '+%F %T')"; \
	echo "wall clock moved to $$(datefudge "$$shifted" date -u '+%F %T') UTC"; \
	datefudge "$$shifted" $(PY) -m pytest -p no:cacheprovider $(TIMESHIFT_TESTS)

test: lint typecheck unit timeshift

clean:
	rm -rf $(VENV) node_modules .mypy_cache .pytest_cache .ruff_cache .hypothesis
