# One task runner for developers and CI (.ci/run calls `make test`).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.DEFAULT_GOAL := help
.PHONY: help venv localstack iam-sim browser test lint unit slow bench bench-suite history clean

# pytest-xdist workers: one per CPU by default; slow tests are scheduled first (tests/conftest.py)
# and an idle worker takes tests queued on a busy one (worksteal), so no worker idles at the end.
WORKERS ?= auto
PYTEST := $(PY) -m pytest -n $(WORKERS) --dist worksteal --durations=15

help: ## List the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-12s %s\n", $$1, $$2}'

# uv installs in seconds from its cache (~/.cache/uv, shared with the generated projects the tests run).
# --compile-bytecode: without it (uv's default) and with PYTHONDONTWRITEBYTECODE set, every process
# compiles pulumi_aws's ~750 modules again: `plan --level 4` took 5-6 s instead of 2 (bench_plan.py).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check 'uv>=0.5'
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -e '.[dev,infra]'
	touch $@

venv: $(VENV)/.installed ## Create .venv with the package and everything the tests need

# LocalStack (host mode, no Docker) for the LocalStack-marked tests: its own Python 3.13 venv
# with the pins tests/localstack.py lists; the tests start it, or use LOCALSTACK_ENDPOINT.
.venv-localstack/.installed: tests/localstack.py | $(VENV)/.installed
	$(PY) tests/localstack.py install

localstack: .venv-localstack/.installed ## Install LocalStack for the tests (.venv-localstack)

# The IAM simulator of the IAM sufficiency tests (tests/infra/test_iam_sufficiency.py): Node >= 20.
tests/infra/iam/node_modules/.package-lock.json: tests/infra/iam/package-lock.json
	npm ci --prefix tests/infra/iam --no-audit --no-fund

iam-sim: tests/infra/iam/node_modules/.package-lock.json ## Install the IAM simulator (npm ci) for the IAM tests

# Chromium for the fleet report's headless-browser test (tests/test_fleet_browser.py); only when absent.
# Where it cannot be installed (no root, no Debian mirror) the test is skipped and says why.
browser: ## Install Chromium for the browser test (Debian package), if missing
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } || \
		echo "WARNING: Chromium could not be installed; tests/test_fleet_browser.py will be skipped" >&2

lint: venv ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: venv localstack iam-sim browser lint ## The whole suite, what CI runs: unit + slow tiers (about 12 min on 2 cores)
	$(PYTEST)

unit: venv iam-sim ## Fast tier: everything that neither installs a generated project nor needs LocalStack (~3 min)
	$(PYTEST) -m "not slow and not localstack"

slow: venv localstack ## Slow tier only: generated projects installed and run as users do, LocalStack
	$(PYTEST) -m "slow or localstack"

bench: venv ## Print the benchmark figures (quick ones; bench-suite times the whole suite)
	$(PY) benchmarks/bench_new.py
	$(PY) benchmarks/bench_plan.py
	$(PY) benchmarks/bench_cost.py
	$(PY) benchmarks/bench_generated.py
	$(PY) benchmarks/bench_assess.py
	$(PY) benchmarks/bench_fleet_upgrade.py
	$(PY) benchmarks/bench_hostile.py
	$(PY) benchmarks/bench_distributed.py

bench-suite: venv ## Time .ci/run on a fresh clone and the fast tier against their targets (~20 min)
	$(PY) benchmarks/bench_suite.py

history: venv ## Rebuild templates/project/history.bundle from the v* release tags (run before tagging a release)
	$(PY) scripts/build_template_history.py

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .venv-localstack .cache .pytest_cache .mypy_cache .ruff_cache
