"""Benchmark: wall time of `mlops-scaffold plan --level 4` and `plan --platform` (offline, under
Pulumi mocks, with the policy check and the cost estimate).

Prints figures; asserts nothing. Run: `.venv/bin/python benchmarks/bench_plan.py [--runs N]`.
Goal (issue 17): `plan --level 4` in a fresh process under 3 s.

The fresh-process figures are what a person waits for at the shell. Most of that is importing
pulumi_aws, whose modules are large (sagemaker/_inputs.py alone is 1.4 MB of source): without
their bytecode, every run compiles about 750 modules again. A virtual environment holds that
bytecode when the installer wrote it (pip does by default; `uv pip install` only with
--compile-bytecode, as `make venv` now passes it) or when Python could write it on first use,
which PYTHONDONTWRITEBYTECODE=1 (set on this project's machines) prevents. The baseline, run in
the same session, is the CLI with bytecode turned off (an empty PYTHONPYCACHEPREFIX and
PYTHONDONTWRITEBYTECODE=1): what `plan` cost before `make venv` compiled the bytecode.
The in-process figures are the plan alone, repeated.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time

CLI = [sys.executable, "-m", "mlops_scaffold.cli", "plan", "--level", "4", "--json"]


def fresh_process(runs: int, env: dict[str, str] | None = None) -> float:
    """Median wall time of the CLI in a new interpreter."""
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(CLI, check=True, capture_output=True, env=env)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def has_bytecode() -> bool:
    """Whether this environment holds compiled bytecode of pulumi_aws's largest module."""
    spec = importlib.util.find_spec("pulumi_aws.sagemaker._inputs")
    if spec is None or spec.origin is None:
        return False
    return os.path.exists(importlib.util.cache_from_source(spec.origin))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="repetitions of each figure (default 5)")
    args = parser.parse_args()

    cached = fresh_process(args.runs)
    with tempfile.TemporaryDirectory() as empty:
        uncached = fresh_process(
            args.runs, env=os.environ | {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": empty}
        )

    from mlops_scaffold.infra import plan

    timings = []
    count = 0
    for _ in range(args.runs):
        start = time.perf_counter()
        result = plan(level=4)
        timings.append(time.perf_counter() - start)
        count = result.count
    print(f"plan --level 4: {count} resources, {len(result.violations)} violations")
    print(f"  bytecode of pulumi_aws in this environment: {'yes' if has_bytecode() else 'NO'}")
    print(f"  CLI, fresh process, median of {args.runs}:               {cached:.2f} s (goal < 3 s)")
    print(f"  baseline, the same without bytecode, median of {args.runs}: {uncached:.2f} s")
    print(f"  ratio with bytecode / without:                 {cached / uncached:.2f}")
    print(f"  in-process, first run:  {timings[0]:.2f} s")
    print(f"  in-process, median of {args.runs}: {statistics.median(timings):.2f} s")
    platform = []
    for _ in range(args.runs):
        start = time.perf_counter()
        shared = plan(platform=True)
        platform.append(time.perf_counter() - start)
    print(f"plan --platform: {shared.count} resources, {len(shared.violations)} violations")
    print(f"  in-process, median of {args.runs}: {statistics.median(platform):.2f} s")
    print(f"  ratio platform/level 4: {statistics.median(platform) / statistics.median(timings):.2f}")


if __name__ == "__main__":
    main()
