# Roleport developer entry points. Every target creates .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
PYTEST_ARGS ?=

.PHONY: run test install install-test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP) $(TEST_STAMP)

install: $(STAMP)
install-test: $(TEST_STAMP)

## make run: set up and start `roleport serve` on the embedded SQLite default
run: $(STAMP)
	$(BIN)/roleport serve

## make test: set up and pass the whole suite (unit, integration on SQLite+PostgreSQL, e2e)
test: $(TEST_STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

bench: $(TEST_STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache build dist src/*.egg-info
