"""Benchmark: wall time of `mlops-scaffold plan --level 4` and `plan --platform` (offline, under
Pulumi mocks, with the policy check and the cost estimate).

Prints figures; asserts nothing. Run: `.venv/bin/python benchmarks/bench_plan.py [--runs N]`.
The first figure includes a fresh interpreter's imports (what a person waits for at the shell);
the in-process figures are the plan alone, repeated.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="in-process repetitions (default 5)")
    args = parser.parse_args()

    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mlops_scaffold.cli", "plan", "--level", "4", "--json"],
        check=True,
        capture_output=True,
    )
    cold = time.perf_counter() - start

    from mlops_scaffold.infra import plan

    timings = []
    count = 0
    for _ in range(args.runs):
        start = time.perf_counter()
        result = plan(level=4)
        timings.append(time.perf_counter() - start)
        count = result.count
    print(f"plan --level 4: {count} resources, {len(result.violations)} violations")
    print(f"  CLI, fresh process:     {cold:.2f} s")
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
