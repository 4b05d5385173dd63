"""Benchmark: `assess` on a 1 MB YAML file and on a 20,000-file repository, both generated here.

Prints figures; asserts nothing. Run: `.venv/bin/python benchmarks/bench_assess.py [--runs N]`.
Targets (issue 10): a 1 MB YAML file is assessed in under a second, a 20,000-file repository in
under 10 s. Each figure comes with a baseline measured in the same run on the same input, so the
ratio holds on a slower or busier machine:

- 1 MB YAML: PyYAML's own ``yaml.safe_load`` of the file (parsing alone, no assessment);
- 20,000 files: walking the tree and reading every file's bytes (the I/O floor of any assessment);
- 100,000 template folders: sorting their paths (the listing of template sources must stay linear).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from mlops_scaffold.assess import assess
from mlops_scaffold.assess.scan import _template_list


def big_yaml(target_bytes: int = 1_048_576) -> str:
    """A GitLab CI file of many train/deploy jobs (block style, anchors, scripts, environments)."""
    parts = [
        "stages: [test, train, deploy]\n",
        ".defaults: &defaults\n  image: python:3.12\n  tags: [gpu]\n  retry: 2\n",
    ]
    index = 0
    while sum(map(len, parts)) < target_bytes:
        env = ("dev", "staging", "production")[index % 3]
        parts.append(
            f"train-{index}:\n  <<: *defaults\n  stage: train\n  variables:\n    MODEL: churn-{index}\n"
            f"    ACCELERATOR_TYPE: null\n  script:\n    - python -m churn.train --seed {index}\n"
            f"    - python -m churn.evaluate --run {index}\n  rules:\n"
            f'    - if: $CI_PIPELINE_SOURCE == "schedule"\n'
            f"deploy-{index}:\n  <<: *defaults\n  stage: deploy\n  environment:\n    name: {env}\n"
            f"  script:\n    - make deploy ENV={env} RUN={index}\n  when: manual\n"
        )
        index += 1
    return "".join(parts)


MODULE = """\
\"\"\"Module {i}.\"\"\"
from __future__ import annotations

import json
{extra}

def load_{i}(path: str) -> dict:
    with open(path) as handle:
        return json.load(handle)


def transform_{i}(rows: list[dict], threshold: float = 0.5) -> list[dict]:
    kept = [row for row in rows if row.get("score", 0) > threshold]
    return sorted(kept, key=lambda row: row["id"])


class Step{i}:
    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, rows: list[dict]) -> list[dict]:
        return transform_{i}(rows)
"""
EXTRAS = ("import numpy as np", "from sklearn.linear_model import LogisticRegression", "import mlflow", "")


def big_repository(root: Path, count: int = 20_000) -> None:
    """A repository of ``count`` files: code, tests, configs, notebooks, docs and data."""
    rng = random.Random(10)
    kinds = ["py"] * 8 + ["test"] * 2 + ["yaml"] * 3 + ["json"] + ["md"] * 2 + ["csv"] * 2 + ["png", "ipynb"]
    (root / "pyproject.toml").parent.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text('[project]\nname = "big"\ndependencies = ["scikit-learn"]\n')
    for i in range(count - 1):
        kind = kinds[i % len(kinds)]
        folder = root / f"pkg{i % 40}" / f"sub{i % 13}"
        if kind == "test":
            folder = root / "tests" / f"unit{i % 20}"
        folder.mkdir(parents=True, exist_ok=True)
        if kind in ("py", "test"):
            name = f"test_mod{i}.py" if kind == "test" else f"mod{i}.py"
            body = MODULE.format(i=i, extra=EXTRAS[i % len(EXTRAS)])
            if kind == "test":
                body += f"\n\ndef test_{i}() -> None:\n    assert transform_{i}([]) == []\n"
            (folder / name).write_text(body)
        elif kind == "yaml":
            (folder / f"config{i}.yaml").write_text(
                f"name: job-{i}\nresources:\n  cpu: 2\n  memory: 4Gi\nparams:\n"
                + "".join(f"  p{k}: {rng.random():.4f}\n" for k in range(20))
            )
        elif kind == "json":
            (folder / f"data{i}.json").write_text(json.dumps({"id": i, "values": list(range(50))}))
        elif kind == "md":
            (folder / f"notes{i}.md").write_text(f"# Notes {i}\n\n" + "Some text about training. " * 30)
        elif kind == "csv":
            (folder / f"rows{i}.csv").write_text(
                "a,b,c\n" + "".join(f"{k},{k * 2},{k * 3}\n" for k in range(100))
            )
        elif kind == "png":
            (folder / f"plot{i}.png").write_bytes(bytes(rng.getrandbits(8) for _ in range(2048)))
        else:
            cells = [
                {
                    "cell_type": "code",
                    "source": ["import pandas as pd\n", f"df = pd.read_csv('rows{i}.csv')\n"],
                }
            ]
            (folder / f"explore{i}.ipynb").write_text(json.dumps({"cells": cells}))


def read_everything(root: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            with open(os.path.join(folder, name), "rb") as handle:
                total += len(handle.read())
    return total


def timed(run: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions per figure (median; default 3)")
    parser.add_argument("--files", type=int, default=20_000, help="files in the generated repository")
    parser.add_argument("--templates", type=int, default=100_000, help="template folders to list")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-assess.") as scratch:
        yaml_repo = Path(scratch) / "yaml-repo"
        yaml_repo.mkdir()
        text = big_yaml()
        (yaml_repo / ".gitlab-ci.yml").write_text(text)
        (yaml_repo / "requirements.txt").write_text("scikit-learn==1.5.2\n")
        result = assess(yaml_repo)
        ours = timed(lambda: assess(yaml_repo), args.runs)
        base = timed(lambda: yaml.safe_load(text), args.runs)
        print(f"1 MB YAML ({len(text) / 1_048_576:.2f} MiB .gitlab-ci.yml), target < 1 s:")
        report("assess", ours, f"level {result.level}, median of {args.runs}", "yaml.safe_load", base)

        big = Path(scratch) / "big-repo"
        start = time.perf_counter()
        big_repository(big, args.files)
        made = time.perf_counter() - start
        read_everything(big)  # warm the page cache for both measurements alike
        result = assess(big)
        ours = timed(lambda: assess(big), args.runs)
        base = timed(lambda: read_everything(big), args.runs)
        print(f"{args.files}-file repository (generated in {made:.1f} s), target < 10 s:")
        report("assess", ours, f"level {result.level}, median of {args.runs}", "walk + read all", base)

    # Many template folders side by side (a monorepo of cookiecutter templates, say): the listing
    # of template sources must stay linear. Baseline: sorting the same paths.
    # Side by side and nested in a template folder listed first, so none is left unchecked.
    paths = {f"pkg{i:06d}/{{{{cookiecutter.name}}}}": "cookiecutter" for i in range(args.templates)}
    paths |= {f"a/deep/{i}.j2": "jinja" for i in range(args.templates)} | {"a": "copier"}
    ours = timed(lambda: _template_list(paths), args.runs)
    base = timed(lambda: sorted(paths), args.runs)
    print(f"{2 * args.templates} template paths, listing the outermost ones:")
    report("_template_list", ours, f"median of {args.runs}", "sorted(paths)", base)


def report(name: str, ours: float, detail: str, baseline: str, base: float) -> None:
    """One measurement against the baseline measured in the same run."""
    print(f"  {name + ':':<26}{ours:.3f} s  ({detail})")
    print(f"  {'baseline ' + baseline + ':':<26}{base:.3f} s")
    print(f"  {'ratio:':<26}{ours / base:.2f}")


if __name__ == "__main__":
    main()
