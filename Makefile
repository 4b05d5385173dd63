# One task runner for developers and CI (.ci/run calls `make test`).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.DEFAULT_GOAL := help
.PHONY: help venv localstack browser test lint unit bench history clean

help: ## List the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-8s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,infra]'
	touch $@

venv: $(VENV)/.installed ## Create .venv with the package and everything the tests need

# LocalStack (host mode, no Docker) for the LocalStack-marked tests: its own Python >= 3.12 venv
# with the pins tests/localstack.py lists; the tests start it, or use LOCALSTACK_ENDPOINT.
.venv-localstack/.installed: tests/localstack.py | $(VENV)/.installed
	$(PY) tests/localstack.py install

localstack: .venv-localstack/.installed ## Install LocalStack for the tests (.venv-localstack)

# Chromium for the fleet report's headless-browser test (tests/test_fleet_browser.py); only when absent.
browser: ## Install Chromium for the browser test (Debian package), if missing
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

lint: venv ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: venv localstack lint ## The whole test suite (what CI runs)
	$(PY) -m pytest

unit: venv ## The fast tests only (skips running generated projects' toolchains)
	$(PY) -m pytest -m "not slow"

bench: venv ## Print the benchmark figures
	$(PY) benchmarks/bench_new.py
	$(PY) benchmarks/bench_plan.py
	$(PY) benchmarks/bench_assess.py

history: venv ## Rebuild templates/project/history.bundle from the v* release tags (run before tagging a release)
	$(PY) scripts/build_template_history.py

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .venv-localstack .cache .pytest_cache .mypy_cache .ruff_cache
