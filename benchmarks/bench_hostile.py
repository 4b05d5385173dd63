"""Benchmark: every command that reads a foreign repository, on each case of the hostile corpus.

Prints figures; asserts nothing. Run: `.venv/bin/python benchmarks/bench_hostile.py [--cases a,b]`.
Target (issue 16): each command answers each hostile case within 5 s on this machine (a result or
a one-line error, nothing executed). The commands run as a person runs them (the CLI in its own
process, HOME in a scratch directory so the template store is fresh). The baseline, measured in the
same run, is the same command on an ordinary repository (tests/hostile_support.py's OWN_FILES), so
the ratio holds on a slower or busier machine.

The corpus is tests/hostile_support.py's (the one tests/test_hostile_repos.py checks). Commands run
in this order on each case, as the test does: assess, adopt --dry-run, status, upgrade, adopt;
assess --fleet runs once over every case.
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

from assess_support import build_tree, git_commit_all  # noqa: E402
from hostile_support import CASES, OWN_FILES, build_case, canaries_left  # noqa: E402

TARGET_SECONDS = 5.0
COMMANDS = {
    "assess": ["assess", "{repo}", "--json"],
    "adopt --dry-run": ["adopt", "{repo}", "--dry-run", "--level", "0", "--defaults", "--json"],
    "status": ["status", "{repo}"],
    "upgrade": ["upgrade", "{repo}", "--level", "1"],
    "adopt": ["adopt", "{repo}", "--level", "0", "--defaults", "--json"],
}


def timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int, str]:
    """Seconds, exit code and the last line of stderr of one CLI run."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mlops_scaffold", *args], env=env, cwd=cwd, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    last = (done.stderr.strip().splitlines() or [""])[-1]
    return elapsed, done.returncode, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help="comma-separated case names (default: all)")
    options = parser.parse_args()
    names = options.cases.split(",") if options.cases else list(CASES)

    with tempfile.TemporaryDirectory(prefix="bench-hostile.") as scratch:
        root = Path(scratch)
        env = {**os.environ, "HOME": str(root / "home"), "NO_COLOR": "1"}
        baseline_repo = build_tree(root / "baseline" / "ordinary", OWN_FILES)
        git_commit_all(baseline_repo)
        # Warm the template store once (a first run on a machine builds it; not what is measured).
        timed(["adopt", str(baseline_repo), "--dry-run", "--level", "0", "--defaults"], env, root)
        baseline = {
            command: timed([a.format(repo=baseline_repo) for a in args], env, baseline_repo)[0]
            for command, args in COMMANDS.items()
        }
        cases = {name: build_case(name, root) for name in names}

        print(f"{'case':<22} {'command':<16} {'seconds':>8} {'x base':>7} {'exit':>5}  outcome")
        slowest = 0.0
        for name, (repo, canaries) in cases.items():
            for command, args in COMMANDS.items():
                seconds, code, last = timed([a.format(repo=repo) for a in args], env, repo)
                slowest = max(slowest, seconds)
                flag = "" if seconds <= TARGET_SECONDS else "  OVER TARGET"
                print(
                    f"{name:<22} {command:<16} {seconds:8.2f} {seconds / baseline[command]:7.1f} "
                    f"{code:>5}  {last[:70]}{flag}"
                )
            left = canaries_left(canaries)
            if left:
                print(f"{name:<22} CANARIES LEFT: {', '.join(left)}")
        fleet = next(iter(cases.values()))[0].parent
        seconds, code, _ = timed(["assess", "--fleet", str(fleet), "--json"], env, root)
        slowest = max(slowest, seconds)
        print(f"{'(all cases)':<22} {'assess --fleet':<16} {seconds:8.2f} {'':>7} {code:>5}")
        print(
            f"\nslowest command: {slowest:.2f} s (target {TARGET_SECONDS:.0f} s); baseline on an ordinary "
            "repository: " + ", ".join(f"{c} {s:.2f} s" for c, s in baseline.items())
        )


if __name__ == "__main__":
    main()
