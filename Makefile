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

.PHONY: help venv lint test test-unit crds
help:  ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort

venv: $(STAMP)  ## create .venv with the operator and dev tools

lint: $(STAMP)  ## ruff, mypy --strict, import-linter layer contracts
	$(VENV)/bin/ruff check operator tests
	$(VENV)/bin/ruff format --check operator tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test-unit: $(STAMP)  ## pure tests: model, renderers, planners
	$(PY) -m pytest tests/unit

crds: $(STAMP)  ## regenerate crds/ from the model
	$(PY) -m kopfka.model.crds crds

include $(wildcard mk/*.mk)

test: lint test-unit  ## every tier: what CI runs
