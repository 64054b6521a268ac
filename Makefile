# The two commands of the README: `make run` (set up, then start) and `make test` (set up, then test).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check --quiet

.PHONY: setup setup-dev run test lint bench browser

$(VENV)/.setup: requirements.txt requirements-nodeps.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt
	$(PIP) install --no-deps -r requirements-nodeps.txt
	touch $@

$(VENV)/.setup-dev: $(VENV)/.setup requirements-dev.txt
	$(PIP) install -r requirements-dev.txt
	touch $@

setup: $(VENV)/.setup

setup-dev: $(VENV)/.setup-dev

run: setup
	$(PY) -m ui

# Debian's Chromium for the real-browser test (Playwright must never download its own browser).
browser:
	test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

test: setup-dev browser
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: setup-dev
	$(PY) -m ruff check .

# Speed, memory and scale benchmarks; writes bench/results/*.json and the table in bench/README.md.
bench: setup-dev
	$(PY) -m bench
