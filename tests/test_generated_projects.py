"""Every generated project passes its own lint, type check and tests, and its training runs.

These run the generated project's toolchain (ruff, mypy, pytest, its Makefile) in an environment
holding exactly the requirements its pyproject.toml declares (see project_envs.py).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import git, new_project
from project_envs import ensure_env
from project_envs import run_in_env as run

from mlops_scaffold.levels import built_levels

pytestmark = pytest.mark.slow

MATRIX = list(itertools.product([0, 1], ["sklearn", "pytorch"], ["github", "gitlab"]))


@pytest.mark.parametrize(("level", "framework", "ci"), MATRIX)
def test_generated_project_passes_its_own_checks_and_trains(
    tmp_path: Path, level: int, framework: str, ci: str
) -> None:
    project = new_project(tmp_path / "churn-model", level, framework=framework, ci=ci)
    bin_dir = ensure_env(project)

    if level >= 1:
        out = run(["make", "test", "RUN="], project, bin_dir).stdout
        for step in ("ruff check .", "ruff format --check .", "mypy", "pytest"):
            assert step in out, f"`make test` did not run {step}"
        assert "passed" in out and "failed" not in out
    else:
        run(["ruff", "check", "."], project, bin_dir)
        run(["ruff", "format", "--check", "."], project, bin_dir)
        run(["mypy"], project, bin_dir)
        assert " passed" in run(["pytest", "-q"], project, bin_dir).stdout

    # Training from a clean checkout writes a model with a valid lineage record.
    train = [str(bin_dir / "python"), "-m", "churn_model.train", "--ticket", "ML-42", "--run-id", "first"]
    run(train, project, bin_dir)
    record = yaml.safe_load((project / "models" / "first" / "lineage.yaml").read_text())
    assert record["ticket"] == "ML-42"
    assert record["code_version"] == {"git_sha": git(project, "rev-parse", "HEAD").strip(), "dirty": False}
    assert record["model"]["framework"] == framework
    evaluation = run([str(bin_dir / "python"), "-m", "churn_model.evaluate"], project, bin_dir).stdout
    assert '"run_id": "first"' in evaluation
    assert git(project, "status", "--porcelain") == "", "training outputs must be git-ignored"


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_ci_configuration_is_valid_for_its_vendor(tmp_path: Path, ci: str) -> None:
    project = new_project(tmp_path / "p", 1, ci=ci)
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
    if shutil.which(f"python{python}") is None:
        pytest.skip(f"python{python} is not installed; uv needs it to check the lock for Python {python}")
    project = new_project(tmp_path / "lock-me", level, python=python)
    uv = Path(sys.executable).with_name("uv")
    done = subprocess.run(
        [str(uv), "lock", "--check", "--offline", "--python", python],
        cwd=project,
        env={**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_PYTHON_DOWNLOADS": "never"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"stale lock: run `python scripts/refresh_locks.py`\n{done.stderr}"
    assert 'name = "lock-me"' in (project / "uv.lock").read_text()


def test_pre_commit_config_is_valid(tmp_path: Path) -> None:
    project = new_project(tmp_path / "p", 1)
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format", "mypy"} <= hooks
    for repo in config["repos"]:
        assert repo["repo"] == "local" or repo["rev"].startswith("v")


def test_documented_uv_workflow_of_a_level_1_project(tmp_path: Path) -> None:
    """The README's path for a new project: `make sync`, `make test`, `make train` with real uv.

    Uses the default Python of the template (3.12) and the shipped uv.lock, so `uv sync --locked`
    must succeed against PyPI exactly as on a user's machine.
    """
    if shutil.which("python3.12") is None:
        pytest.skip("python3.12 is not installed; uv needs it for a project pinned to Python 3.12")
    project = tmp_path / "demo"
    from mlops_scaffold.generate import generate

    generate(project, level=1)
    uv_bin = Path(sys.executable).parent  # uv is a dev dependency of this repository
    env = {
        **os.environ,
        "PATH": f"{uv_bin}{os.pathsep}{os.environ['PATH']}",
        "UV_CACHE_DIR": str(Path(__file__).resolve().parents[1] / ".cache" / "uv"),
        "UV_PYTHON_DOWNLOADS": "never",
    }
    env.pop("VIRTUAL_ENV", None)
    for target in ("sync", "test", "train", "evaluate"):
        done = subprocess.run(
            ["make", target], cwd=project, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, f"make {target}:\n{done.stdout}\n{done.stderr}"
    assert (project / ".venv").is_dir()
    assert len(list((project / "models").glob("*/lineage.yaml"))) == 1
