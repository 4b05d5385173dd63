"""Distributed training and parallel tuning of generated projects, measured as users run them.

PyTorch (level 2): `make train` (one process) against `make train NPROC=2` (torchrun, two
processes, Gloo on the CPU), on the shipped sample data and on the same rows repeated ROWS_FACTOR
times. Each row prints the command's wall time (process start, imports, rendezvous included) and
the training throughput (rows x epochs / the lineage record's training_seconds), with the ratio of
the two processes to the one, measured in the same run.

scikit-learn (level 2): `make tune` with the 4 configurations of configs/tune.yaml, in parallel
(one process per configuration, up to the CPU count) against one after another (`--jobs 1`),
with their ratio.

    python benchmarks/bench_distributed.py [--skip-pytorch] [--skip-sklearn] [--epochs 60]

No target: these are figures for the generated README's "when to use which". The PyTorch project
is locked against PyTorch's CPU index, served here from the CPU wheel on this machine
(tests/pytorch_index.py), as the test suite does.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from project_envs import new, run  # noqa: E402
from pytorch_index import PytorchCpuIndex, find_torch_wheel  # noqa: E402

PACKAGE = "bench"
ROWS_FACTOR = 20


def timed(command: list[str], project: Path, env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.monotonic()
    done = run(command, project, env)
    return time.monotonic() - start, done.stdout


def enlarge(source: Path, target: Path, factor: int) -> int:
    """The sample data repeated ``factor`` times, each copy with its own customer ids."""
    with source.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    with target.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        for copy in range(factor):
            for row in rows:
                writer.writerow(row | {"customer_id": f"{row['customer_id']}-{copy}"})
    return len(rows) * factor


def pytorch(scratch: Path, epochs: int) -> None:
    wheel = find_torch_wheel()
    if wheel is None:
        print("pytorch: skipped, no CPU wheel of torch on this machine (see tests/pytorch_index.py)")
        return
    index = PytorchCpuIndex(wheel, scratch / "index")
    try:
        net = index.env()
        project = new(scratch / PACKAGE, 2, framework="pytorch", python="3.11", extra_env=net)
        run(["uv", "sync", "--locked"], project, net)
        # Warm the page cache first: the first import of torch after the install reads it from disk.
        run(["uv", "run", "python", "-c", f"import torch, {PACKAGE}.train"], project, net)
        big = project / "data" / "raw" / "churn-large.csv"
        rows = enlarge(project / "data" / "raw" / "churn.csv", big, ROWS_FACTOR)
        print(f"\nPyTorch level 2, {epochs} epochs; wall: the whole command, rows/s: training loop")
        header = ("data", "processes", "wall s", "rows/s", "wall ratio", "rows/s ratio")
        print("{:<22} {:>9} {:>8} {:>10} {:>10} {:>12}".format(*header))
        datasets = (("sample (600 rows)", "data/raw/churn.csv"), (f"x{ROWS_FACTOR} ({rows} rows)", str(big)))
        for label, data in datasets:
            config = yaml.safe_load((project / "configs" / "train.yaml").read_text())
            config["data"]["path"] = data
            config["model"]["hyperparameters"]["epochs"] = epochs
            config["model"]["device"] = "cpu"
            (project / "configs" / "train.yaml").write_text(yaml.safe_dump(config))
            baseline: tuple[float, float] | None = None
            for nproc in (1, 2):
                run_id = f"{'large' if data != 'data/raw/churn.csv' else 'sample'}-{nproc}"
                wall, _ = timed(["make", "train", f"NPROC={nproc}", f"RUN_ID={run_id}"], project, net)
                record = yaml.safe_load((project / "models" / run_id / "lineage.yaml").read_text())
                trained = record["dataset"]["rows"] * (1 - config["data"]["test_size"]) * epochs
                throughput = trained / record["training_seconds"]
                baseline = baseline or (wall, throughput)
                print(
                    f"{label:<22} {nproc:>9} {wall:8.1f} {throughput:10.0f} "
                    f"{wall / baseline[0]:10.2f} {throughput / baseline[1]:12.2f}",
                    flush=True,
                )
    finally:
        index.close()


def sklearn(scratch: Path) -> None:
    project = new(scratch / f"{PACKAGE}-sklearn", 2, framework="sklearn", python="3.12")
    run(["uv", "sync", "--locked"], project)
    count = len(yaml.safe_load((project / "configs" / "tune.yaml").read_text())["configurations"])
    print(f"\nscikit-learn level 2, `make tune`: {count} configurations on {os.cpu_count()} CPUs")
    print(f"{'mode':<34} {'wall s':>8} {'ratio':>8}")
    run(["uv", "run", "python", "-c", f"import sklearn, {PACKAGE}_sklearn.tune"], project)  # warm
    serial, _ = timed(["uv", "run", "python", "-m", f"{PACKAGE}_sklearn.tune", "run", "--jobs", "1"], project)
    print(f"{'one after another (--jobs 1)':<34} {serial:8.1f} {1.0:8.2f}", flush=True)
    parallel, out = timed(["make", "tune"], project)
    assert re.search(r"registered \S+ version", out), out
    print(f"{'in parallel (make tune)':<34} {parallel:8.1f} {parallel / serial:8.2f}", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-pytorch", action="store_true")
    parser.add_argument("--skip-sklearn", action="store_true")
    parser.add_argument("--epochs", type=int, default=60, help="epochs of each PyTorch run (default 60)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-distributed.") as scratch:
        home = Path(scratch) / "home"
        home.mkdir()
        os.environ["HOME"] = str(home)  # keep the template store out of the real home
        if not args.skip_pytorch:
            pytorch(Path(scratch), args.epochs)
        if not args.skip_sklearn:
            sklearn(Path(scratch))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
