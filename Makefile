# The commands people type. Every target bootstraps what it needs (a .venv, pip
# installs, built tools under ~/.cache/kopfka) and is safe to re-run.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export KOPFKA_CACHE ?= $(HOME)/.cache/kopfka

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

.PHONY: help venv lint test test-unit crds bench
help:  ## list targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort

venv: $(STAMP)  ## create .venv with the operator and dev tools

lint: $(STAMP)  ## ruff, mypy --strict, import-linter layer contracts
	$(VENV)/bin/ruff check operator tests bench e2e hack
	$(VENV)/bin/ruff format --check operator tests bench e2e hack
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test-unit: $(STAMP)  ## pure tests: model, renderers, planners
	$(PY) -m pytest tests/unit

crds: $(STAMP)  ## regenerate crds/ from the model
	$(PY) -m kopfka.model.crds crds

include $(wildcard mk/*.mk)

# Fast tiers first, so a lint or unit failure stops the run before the slow ones start.
test: lint test-unit chart-check test-integration test-kafka broker-image-check operator-image-check test-e2e  ## every tier: what CI runs

bench: bench-integration bench-kafka bench-metrics bench-e2e bench-topics bench-roll bench-roll-by-rack bench-rebalance  ## every benchmark; results in bench/results/*.json
