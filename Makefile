# One command per habit. `make demo` and `make test` work on a fresh machine: they create .venv first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast test-unit reliability audit lint format typecheck bench check clean

# deploy/requirements.lock (the image's exact pins) constrains the install, so the tests and CI run the
# versions the image ships; the dev tools, which the lock does not list, resolve freely around them.
$(STAMP): pyproject.toml deploy/requirements.lock
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c deploy/requirements.lock -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tranchewatch demo

test: $(STAMP)
	scripts/ensure-services
	$(BIN)/pytest -q

# The reliability suite at full size (50,000 events, 10 kills, 10,000 bad messages); `make test` runs it small.
reliability: $(STAMP)
	scripts/ensure-services
	TW_RELIABILITY_FULL=1 $(BIN)/pytest -q -m reliability tests/reliability

# Known vulnerabilities in the image's pins; says so plainly (and passes) when the service is unreachable.
audit: $(STAMP)
	$(BIN)/python scripts/audit_dependencies.py

test-unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

# Every test that needs no broker and no Redis (unit, deploy/ checks): .ci/run's unit stage. Markers are set
# by directory and by fixture in tests/conftest.py; ensure-services provides promtool for tests/deploy.
FAST_MARKERS := not integration and not reliability and not bench
test-fast: $(STAMP)
	scripts/ensure-services
	$(BIN)/pytest -q -m "$(FAST_MARKERS)"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

# Throughput and latency against raw aiokafka, faust and a naive loop (about 15 minutes; see BENCHMARKS.md).
# CI size: make bench BENCH_ARGS="--quotes 5000 --tranches 100 --latency-quotes 2000"
bench: $(STAMP)
	scripts/ensure-services
	$(BIN)/tranchewatch bench $(BENCH_ARGS)

check: lint typecheck test

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
