# Roleport developer entry points. Every target creates .venv on first use, from uv.lock:
# a fresh clone installs the same versions every time (`make lock` refreshes them on purpose).
PYTHON ?= python3
VENV   ?= .venv
TOOLS  ?= .tools
BIN    := $(VENV)/bin
UV     := $(TOOLS)/bin/uv
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
PYTEST_ARGS ?=
BENCH_ARGS ?=

# uv installs into .venv with the machine's Python; it never downloads an interpreter.
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_NO_PROGRESS := 1
# Bytecode compiled at install: where PYTHONDONTWRITEBYTECODE is set (containers, CI images)
# Python would otherwise compile every module again at each start (seconds per process).
export UV_COMPILE_BYTECODE := 1

.PHONY: run test install install-test lock lock-check lint bench bench-logs soak crash fuzz clean

# uv itself, pinned with hashes (requirements/uv.txt), in a venv of its own
$(UV): requirements/uv.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --require-hashes -r requirements/uv.txt
	touch $(UV)

$(STAMP): pyproject.toml uv.lock $(UV)
	$(UV) sync --quiet --locked --inexact
	$(BIN)/python -m compileall -q src >/dev/null
	touch $(STAMP)

$(TEST_STAMP): pyproject.toml uv.lock $(UV)
	$(UV) sync --quiet --locked --extra test
	$(BIN)/python -m compileall -q src >/dev/null
	touch $(STAMP) $(TEST_STAMP)

install: $(STAMP)
install-test: $(TEST_STAMP)

## make run: set up and start `roleport serve` on the embedded SQLite default
run: $(STAMP)
	$(BIN)/roleport serve

## make test: set up and pass the whole suite (unit, integration on SQLite+PostgreSQL, e2e)
test: $(TEST_STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

## make lock: re-resolve uv.lock to the newest versions pyproject.toml's ranges allow
lock: $(UV)
	$(UV) lock --upgrade

## make lock-check: fail when uv.lock no longer matches pyproject.toml
lock-check: $(UV)
	$(UV) lock --check

## make fuzz: schemathesis against a live server, >= 100,000 requests over every served
## operation (FUZZ_EXAMPLES cases per operation and mode); figures in fuzz-report.jsonl
FUZZ_EXAMPLES ?= 1050
fuzz: $(TEST_STAMP)
	rm -f fuzz-report.jsonl
	ROLEPORT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) ROLEPORT_FUZZ_RANDOM=1 \
	ROLEPORT_FUZZ_REPORT=$(CURDIR)/fuzz-report.jsonl \
	$(BIN)/python -m pytest -n 2 tests/e2e/test_fuzz.py $(PYTEST_ARGS)
	$(BIN)/python tests/e2e/fuzz_report.py fuzz-report.jsonl

## make crash: the crash-safety tests with twenty seeds instead of two (SIGKILL of the
## server and of a worker under a concurrent write load, SQLite and PostgreSQL)
crash: $(TEST_STAMP)
	ROLEPORT_CRASH_SEEDS=$$(seq -s, 1 20) $(BIN)/python -m pytest -n 2 \
		tests/e2e/test_crash_safety.py $(PYTEST_ARGS)

## make bench: the benchmarks (bench/README.md); installs wrk (Debian) when it is missing
bench: $(TEST_STAMP)
	@command -v wrk >/dev/null 2>&1 || { echo "installing wrk (apt-get)"; \
	  apt-get install -y -qq wrk >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; }
	$(BIN)/python bench/run.py $(BENCH_ARGS)

## make soak: mixed traffic at 80% of the measured peak for SOAK_SECONDS (default 600);
## fails on any error or growing memory; results in bench/results/ and bench/README.md
SOAK_SECONDS ?= 600
soak: $(TEST_STAMP)
	$(BIN)/python bench/soak.py --seconds $(SOAK_SECONDS)

## make bench-logs: what the access log and the audit trail cost, on and off in one run
bench-logs: $(TEST_STAMP)
	$(BIN)/python bench/log_cost.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache build dist src/*.egg-info
