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
# Headless MuJoCo rendering (EGL with Mesa's software rasterizer, OSMesa as the fallback).
GL_PACKAGES := libegl1 libegl-mesa0 libgl1-mesa-dri libopengl0 libosmesa6

.PHONY: setup system-deps train test colcon-test lint bench clean

setup: $(VENV)/.installed

# Installed when missing if we may (root with apt-get); otherwise a note, and the rendering
# tests skip with that reason.
system-deps:
	@if command -v dpkg >/dev/null && ! dpkg -s $(GL_PACKAGES) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo 'installing headless GL for rendering: $(GL_PACKAGES)'; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends $(GL_PACKAGES) >/dev/null; \
	  else \
	    echo 'note: rendering needs: sudo apt-get install $(GL_PACKAGES)'; \
	  fi; \
	fi

$(VENV)/.installed: setup.py pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_PIP_ARGS) '$(TORCH_SPEC)'
	$(PY) -m pip install --quiet -e '.[dev,export,render]'
	@touch $@

train: setup
	$(VENV)/bin/ddpg-manipulation train --task $(TASK) --output $(OUTPUT) $(if $(EPOCHS),--epochs $(EPOCHS))

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

# `colcon build` + `colcon test` as docs/ros.md sets them up, with colcon and the ament linters
# from PyPI (no ROS needed): a fresh venv and workspace in a temporary directory.
colcon-test:
	PYTHON=$(PYTHON) TORCH_SPEC='$(TORCH_SPEC)' TORCH_PIP_ARGS='$(TORCH_PIP_ARGS)' .ci/colcon_test.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/flake8 --config .ci/ament_flake8.ini ddpg_manipulation launch test bench scripts setup.py
	$(VENV)/bin/mypy

bench: setup
	$(PY) -m bench

clean:
	rm -rf build install log .pytest_cache .ruff_cache .mypy_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
