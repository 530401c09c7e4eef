# kurator-py: every target bootstraps what it needs on a machine with only Python 3.11+.
#   make up     set up, then run the whole system (embedded NATS + all five services)
#   make test   set up, then lint, type-check, check the architecture and run every test
#   make bench  set up, then run the benchmarks (prints a table, writes bench/results/*.json)

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
export UV_PYTHON ?= $(PYTHON)
export UV_PYTHON_DOWNLOADS ?= never

.PHONY: setup up run test lint typecheck architecture pytest bench clean

setup:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --locked

up run: setup
	$(UV) run kurator up

test: setup lint typecheck architecture pytest

lint:
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck:
	$(UV) run mypy shared/src cli/src simulator/src services/fleet/src services/apps/src services/edge/src \
		services/observability/src services/backup/src

architecture:
	$(UV) run lint-imports

pytest:
	$(UV) run pytest

bench: setup
	$(UV) run python -m bench

clean:
	rm -rf .kurator .pytest_cache .mypy_cache .ruff_cache
