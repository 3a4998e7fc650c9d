# Two commands matter: `make run` (local stack) and `make test` (everything CI checks).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
NODE_BIN := node_modules/.bin

.PHONY: run test lint typecheck unit setup clean drill bench

setup: $(VENV)/.installed $(NODE_BIN)/azurite

$(VENV)/.installed: requirements.txt requirements-dev.txt client/pyproject.toml
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

typecheck: setup
	$(PY) -m mypy

unit: setup
	$(PY) -m pytest

test: lint typecheck unit

clean:
	rm -rf $(VENV) node_modules .mypy_cache .pytest_cache .ruff_cache .hypothesis
