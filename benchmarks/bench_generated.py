"""How long a generated project's own unit tier takes, at every level, the way its README runs it.

For each built level it renders a scikit-learn project with `mlops-scaffold new`, installs it with
`uv sync --locked` from the lock it ships (plain `uv sync` at level 0, which ships none; untimed:
uv's cache makes it seconds) and times `make test` (ruff, ruff format,
mypy, pytest; `uv run pytest` plus the linters at level 0, which has no Makefile), twice: the first
run with cold tool caches (.mypy_cache, .ruff_cache: a fresh clone), the second warm (an
edit-test loop). Target: <= 60 s per level on a 2-core machine. The ratio column compares each
level with level 0 measured in the same run.

    python benchmarks/bench_generated.py [--framework sklearn|pytorch] [--levels 0,4]

PyTorch projects lock against PyTorch's index at `new`; on a machine that cannot reach it, run the
PyTorch variant through the test suite instead (tests/test_generated_projects.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from project_envs import run, user_env  # noqa: E402

TARGET = 60.0


def unit_tier(project: Path, level: int) -> float:
    commands = (
        [["make", "test"]]
        if level >= 1
        else [["uv", "run", *tool] for tool in (["ruff", "check", "."], ["ruff", "format", "--check", "."])]
        + [["uv", "run", "mypy"], ["uv", "run", "pytest"]]
    )
    start = time.monotonic()
    for command in commands:
        run(command, project)
    return time.monotonic() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--framework", default="sklearn", choices=["sklearn", "pytorch"])
    parser.add_argument("--levels", default="0,1,2,3,4")
    args = parser.parse_args(argv)
    levels = [int(level) for level in args.levels.split(",")]
    cli = str(Path(sys.executable).with_name("mlops-scaffold"))
    print(f"{'level':>5} {'cold s':>8} {'warm s':>8} {'cold/L0':>8}  target {TARGET:.0f} s (cold)")
    baseline = None
    with tempfile.TemporaryDirectory(prefix="bench-generated.") as scratch:
        home = Path(scratch) / "home"
        home.mkdir()
        os.environ["HOME"] = str(home)  # keep the template store out of the real home
        for level in levels:
            project = Path(scratch) / f"level-{level}"
            new = [cli, "new", str(project), "--level", str(level), "--framework", args.framework]
            subprocess.run([*new, "--defaults"], env=user_env(), check=True, capture_output=True)
            run(["uv", "sync", *(["--locked"] if level >= 1 else [])], project)  # as its README says
            cold = unit_tier(project, level)
            warm = unit_tier(project, level)
            baseline = baseline or cold
            verdict = "meets" if cold <= TARGET else "MISSES"
            print(f"{level:>5} {cold:8.1f} {warm:8.1f} {cold / baseline:8.2f}  {verdict}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
