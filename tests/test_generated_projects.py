"""Every generated project works the way its README says: `uv sync` from its lock, `make test`,
training and evaluation. Nothing is installed for it by the suite (see project_envs.py).

The matrix covers every level with both frameworks; the CI vendor only changes CI files (checked
by their linters elsewhere), so it alternates, and level 4 runs with both vendors. PyTorch projects
are locked by `mlops-scaffold new` against PyTorch's CPU index, served here from the CPU wheel on
this machine (pytorch_index.py), so they run on the Python of that wheel.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from helpers import git, new_project
from project_envs import make, new, require_python, run, user_env

from mlops_core.levels import built_levels

PACKAGE = "churn_model"

# (level, framework, ci, python)
MATRIX = [
    (0, "sklearn", "github", "3.12"),
    (0, "pytorch", "github", "3.11"),
    (1, "sklearn", "gitlab", "3.12"),
    (1, "pytorch", "github", "3.11"),
    (2, "sklearn", "github", "3.13"),
    (2, "pytorch", "gitlab", "3.11"),
    (3, "sklearn", "gitlab", "3.12"),
    (3, "pytorch", "github", "3.11"),
    (4, "sklearn", "github", "3.12"),
    (4, "sklearn", "gitlab", "3.12"),
    (4, "pytorch", "gitlab", "3.11"),
]
MATRIX = [combo for combo in MATRIX if combo[0] in built_levels()]


def pytest_summary(output: str) -> str:
    lines = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    assert lines, f"no pytest summary in:\n{output}"
    return lines[-1]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("level", "framework", "ci", "python"), MATRIX, ids=["-".join(map(str, combo)) for combo in MATRIX]
)
def test_generated_project_works_as_its_readme_says(
    tmp_path: Path, request: pytest.FixtureRequest, level: int, framework: str, ci: str, python: str
) -> None:
    require_python(python)
    index = request.getfixturevalue("pytorch_index") if framework == "pytorch" else None
    net = index.env() if index else None  # a user's machine reaches PyTorch's index; ours, this one
    project = new(tmp_path / "churn-model", level, framework=framework, ci=ci, python=python, extra_env=net)
    if level >= 1:
        assert "uv.lock" in git(project, "ls-files").split(), "from level 1 every project ships its lock"
        run(["uv", "sync", "--locked"], project, net)  # the README's `uv sync`, refusing a stale lock
    else:
        assert not (project / "uv.lock").exists(), "locked dependencies are a level-1 capability"
        run(["uv", "sync"], project, net)
    if framework == "pytorch":
        lock = (project / "uv.lock").read_text()
        assert "https://download.pytorch.org/whl/cpu/torch-2.13.0%2Bcpu-" in lock, "CPU torch, locked"
        version = run(["uv", "run", "python", "-c", "import torch; print(torch.__version__)"], project, net)
        assert version.stdout.strip() == "2.13.0+cpu", "the default install is PyTorch's CPU build"

    if level >= 1:
        out = make(project, "test", extra_env=net)
        for step in ("ruff check .", "ruff format --check .", "mypy", "pytest"):
            assert step in out, f"`make test` did not run {step}"
    else:  # level 0 has no Makefile; its README runs the tools with `uv run`
        for tool in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]):
            run(["uv", "run", *tool], project, net)
        out = run(["uv", "run", "pytest"], project, net).stdout
    summary = pytest_summary(out)
    assert "passed" in summary and not re.search(r"failed|error|skipped", summary), summary
    if level == 2 and framework == "pytorch":  # issue 18: torchrun, 2 processes, Gloo on the CPU
        distributed = pytest_summary(make(project, "distributed", extra_env=net))
        assert re.fullmatch(r"1 passed, \d+ deselected in .*", distributed.strip("= ")), distributed

    # Training from a clean checkout writes a model with a valid lineage record.
    train = ["uv", "run", "python", "-m", f"{PACKAGE}.train", "--ticket", "ML-42", "--run-id", "first"]
    run(train, project, net)
    record = yaml.safe_load((project / "models" / "first" / "lineage.yaml").read_text())
    assert record["ticket"] == "ML-42"
    assert record["model"]["framework"] == framework
    evaluate = ["make", "evaluate"] if level >= 1 else ["uv", "run", "python", "-m", f"{PACKAGE}.evaluate"]
    assert '"run_id": "first"' in run(evaluate, project, net).stdout
    untracked = "" if level >= 1 else "?? uv.lock\n"  # `uv sync` wrote the level-0 project's first lock
    assert git(project, "status", "--porcelain") == untracked, "environments and outputs are git-ignored"
    if level >= 1:
        assert record["code_version"] == {
            "git_sha": git(project, "rev-parse", "HEAD").strip(),
            "dirty": False,
        }


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_ci_configuration_is_valid_for_its_vendor(rendered: Callable[..., Path], ci: str) -> None:
    project = rendered(1, ci=ci)
    path, schema = {
        "github": (".github/workflows/ci.yml", "vendor.github-workflows"),
        "gitlab": (".gitlab-ci.yml", "vendor.gitlab-ci"),
    }[ci]
    checker = Path(sys.executable).with_name("check-jsonschema")
    done = subprocess.run(
        [str(checker), "--builtin-schema", schema, str(project / path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = (project / path).read_text()
    for target in ("make lint", "make typecheck", "make unit"):
        assert target in text
    assert "docker" in text.lower() or "build-push-action" in text


@pytest.mark.parametrize("level", [level for level in built_levels() if level >= 1])
@pytest.mark.parametrize("python", ["3.11", "3.12", "3.13"])
def test_shipped_lock_matches_the_generated_pyproject(tmp_path: Path, python: str, level: int) -> None:
    """`uv lock --check --offline` with an empty cache: the lock must fit pyproject.toml as rendered."""
    require_python(python)
    project = new_project(tmp_path / "lock-me", level, python=python)
    done = subprocess.run(
        ["uv", "lock", "--check", "--offline", "--python", python],
        cwd=project,
        env=user_env({"UV_CACHE_DIR": str(tmp_path / "uv-cache")}),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"stale lock: run `python scripts/refresh_locks.py`\n{done.stderr}"
    assert 'name = "lock-me"' in (project / "uv.lock").read_text()


@pytest.mark.parametrize("framework", ["pytorch", "sklearn"])
def test_make_train_and_submit_scale_out_as_the_readme_says(
    rendered: Callable[..., Path], framework: str
) -> None:
    """`make train NPROC=2` is torchrun with two processes on this machine, `make submit NODES=2`
    a multi-node job (PyTorch); scikit-learn tunes instead (`make tune`). Checked with `make -n`."""
    project = rendered(2, framework=framework)

    def dry(*args: str) -> str:
        command = ["make", "-n", *args]
        done = subprocess.run(command, cwd=project, env=user_env(), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    if framework == "pytorch":
        assert dry("train") == "uv run python -m churn_model.train"
        assert dry("train", "NPROC=2", "RUN_ID=r1") == (
            "uv run torchrun --standalone --nproc_per_node=2 -m churn_model.train --run-id r1"
        )
        assert dry("submit", "ENV=dev", "NODES=2").endswith("pipeline submit --env dev --nodes 2")
    else:
        assert dry("tune") == "uv run python -m churn_model.tune run --env local"
        assert dry("tune", "ENV=dev") == "uv run python -m churn_model.tune submit --env dev"
        assert "--nodes" not in dry("submit", "ENV=dev")


def test_pre_commit_config_is_valid(rendered: Callable[..., Path]) -> None:
    project = rendered(1)
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format", "mypy"} <= hooks
    for repo in config["repos"]:
        assert repo["repo"] == "local" or repo["rev"].startswith("v")


def test_no_environment_variable_of_ours_reaches_a_project() -> None:
    """The harness gives projects a user's shell: no venv of ours, no resource overrides."""
    os.environ["MLOPS_LEAK"] = "1"
    try:
        env = user_env()
    finally:
        del os.environ["MLOPS_LEAK"]
    assert "MLOPS_LEAK" not in env and "VIRTUAL_ENV" not in env
    assert str(Path(sys.executable).parent) not in env["PATH"].split(os.pathsep)
