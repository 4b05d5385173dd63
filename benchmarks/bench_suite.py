"""How long our own test suite takes, the way CI and a contributor run it (issue: fast feedback).

Prints three figures, each against its target:

- `.ci/run` on a fresh clone of this repository's HEAD, with this machine's package caches as they
  are (warm after any earlier run): target <= 20 minutes;
- the same with cold caches (empty uv and npm caches, no pip cache; `--cold`): target <= 45 minutes;
- `make unit` (the fast tier) in that clone, after the full run built its environment: target <= 3 minutes.

    python benchmarks/bench_suite.py            # warm run + fast tier
    python benchmarks/bench_suite.py --cold     # also the cold-cache run (downloads everything again)
    python benchmarks/bench_suite.py --cold --no-warm   # the cold-cache run alone

Each run happens in a temporary clone, so the working tree is never touched; the clone's own
per-tier timing summary (printed by the suite) is shown at the end of each run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"ci-warm": 20 * 60, "ci-cold": 45 * 60, "unit": 3 * 60}


def clone(dst: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(dst)], check=True)
    return dst


def timed(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> tuple[float, int]:
    start = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    return time.monotonic() - start, done.returncode


def tier_summary(log: Path) -> str:
    text = log.read_text(errors="replace")
    match = re.search(r"=+ time per tier.*?(?=\n=|\Z)", text, re.DOTALL)
    tail = [line for line in text.splitlines() if re.search(r"\d+ (passed|failed)", line)][-1:]
    return "\n".join(([match.group(0)] if match else []) + tail)


def report(name: str, seconds: float, code: int) -> None:
    target = TARGETS[name]
    verdict = "meets" if seconds <= target and code == 0 else "MISSES"
    status = "passed" if code == 0 else f"FAILED (exit {code})"
    print(
        f"{name:>8}: {seconds / 60:6.1f} min  target {target / 60:4.0f} min  "
        f"ratio {seconds / target:4.2f}  {status}, {verdict} the target",
        flush=True,
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", action="store_true", help="also time a run with empty package caches")
    parser.add_argument("--no-warm", action="store_true", help="skip the warm run and the fast tier")
    args = parser.parse_args(argv)
    env = {**os.environ, "CI": "true"}
    env.pop("VIRTUAL_ENV", None)
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-suite.") as scratch:
        root = Path(scratch)
        runs = [] if args.no_warm else [("ci-warm", env)]
        if args.cold:
            cold = {
                **env,
                "UV_CACHE_DIR": str(root / "uv-cache"),
                "npm_config_cache": str(root / "npm-cache"),
                "PIP_NO_CACHE_DIR": "1",
            }
            runs.append(("ci-cold", cold))
        for name, run_env in runs:
            tree = clone(root / name)
            log = root / f"{name}.log"
            seconds, code = timed(["bash", ".ci/run"], tree, run_env, log)
            report(name, seconds, code)
            print(tier_summary(log), flush=True)
            failed |= code != 0
            if name == "ci-warm":
                seconds, code = timed(["make", "unit"], tree, env, root / "unit.log")
                report("unit", seconds, code)
                print(tier_summary(root / "unit.log"), flush=True)
                failed |= code != 0
            if code != 0:
                kept = REPO / ".cache" / f"bench-{name}.log"
                kept.parent.mkdir(exist_ok=True)
                shutil.copy(log, kept)
                print(f"log kept at {kept}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
