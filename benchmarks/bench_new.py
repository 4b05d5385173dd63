"""Benchmark `mlops-scaffold new` against raw `copier copy`, and `mlops-scaffold --help`.

    python benchmarks/bench_new.py [--runs 7]

Prints median wall times over several rounds, measured in this run on this machine (each round runs
copier and both `new` variants in turn, so that other load on the machine weighs on all alike):
- `mlops-scaffold new demo --level 1 --defaults --no-git` and, as the baseline, `copier copy`
  of the same template version with the same answers; the ratio is our overhead (validation,
  template store, staging directory);
- `mlops-scaffold new ... ` with git initialisation (the default);
- `mlops-scaffold --help` (start-up cost; heavy imports are lazy).
This is a script that prints figures, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def interleaved(
    commands: dict[str, list[str]], env: dict[str, str], runs: int, before: object
) -> dict[str, float]:
    """The median time of each command, the commands run in turn in every round: a load that
    comes and goes on the machine then weighs on all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            if callable(before):
                before()
            samples[name].append(timed(cmd, env))
    return {name: statistics.median(times) for name, times in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        env = {**os.environ, "HOME": str(work / "home")}
        target = work / "demo"

        def clean() -> None:
            shutil.rmtree(target, ignore_errors=True)

        cli = str(BIN / "mlops-scaffold")
        new = [cli, "new", str(target), "--level", "1", "--defaults"]
        subprocess.run([*new, "--no-git"], env=env, check=True, capture_output=True)  # warms the store
        answers = (target / ".copier-answers.yml").read_text().splitlines()
        tag = next(line.split(": ", 1)[1] for line in answers if line.startswith("_commit:"))
        store = str(work / "home" / ".local" / "share" / "mlops-scaffold" / "template")
        copier = [
            str(BIN / "copier"),
            "copy",
            "--defaults",
            "--quiet",
            "--vcs-ref",
            tag,
            "-d",
            "project_name=demo",
            "-d",
            "level=1",
            store,
            str(target),
        ]

        medians = interleaved({"copier": copier, "ours": [*new, "--no-git"], "git": new}, env, runs, clean)
        baseline, ours, with_git = medians["copier"], medians["ours"], medians["git"]
        help_time = statistics.median(timed([cli, "--help"], env) for _ in range(runs))

    print(f"runs per figure (median):                 {runs}")
    print(f"copier copy (baseline):                   {baseline:.3f} s")
    print(
        f"mlops-scaffold new --level 1 --no-git:    {ours:.3f} s  ratio {ours / baseline:.2f}x (target 1.3x)"
    )
    print(f"mlops-scaffold new --level 1 (with git):  {with_git:.3f} s  ratio {with_git / baseline:.2f}x")
    print(f"mlops-scaffold --help:                    {help_time:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
