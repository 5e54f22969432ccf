# Copyright 2026 The ddpg_manipulation Authors
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# Two commands do everything on a fresh machine: `make train` and `make test`. Each creates the
# virtual environment in .venv when it is missing (torch is installed first, pinned, so that no
# other package can pull a different torch build).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# A user with a GPU or another platform may point these elsewhere, e.g.
# TORCH_PIP_ARGS='--index-url https://download.pytorch.org/whl/cpu'.
TORCH_SPEC ?= torch==2.13.0
TORCH_PIP_ARGS ?=
TASK ?= box_push
OUTPUT ?= runs
EPOCHS ?=
PYTEST_ARGS ?=

.PHONY: setup train test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: setup.py pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_PIP_ARGS) '$(TORCH_SPEC)'
	$(PY) -m pip install --quiet -e '.[dev,export,render]'
	@touch $@

train: setup
	$(VENV)/bin/ddpg-manipulation train --task $(TASK) --output $(OUTPUT) $(if $(EPOCHS),--epochs $(EPOCHS))

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) -m bench

clean:
	rm -rf build install log .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
