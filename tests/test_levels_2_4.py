"""Levels 2-4: the generated project's ML lifecycle really runs, locally and against LocalStack.

For each built level above 1 we render a project, install exactly what its pyproject.toml
declares (project_envs.py), and run its own `make test` (lint, type check, unit tests, which run
the pipeline on local backends) and `make integration` (its LocalStack-marked lifecycle tests)
against the one LocalStack of this session (tests/localstack.py). They must pass, not skip.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from helpers import git, new_project
from localstack import LocalStack
from project_envs import ensure_env

from mlops_scaffold.contract import parameters
from mlops_scaffold.levels import built_levels
from mlops_scaffold.resources import template_dir

ABOVE_1 = [level for level in built_levels() if level >= 2]


def run(
    cmd: list[str], project: Path, bin_dir: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "MLFLOW_", "AWS_"))},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(project / "src"),  # what `uv sync` achieves with its editable install
        "VIRTUAL_ENV": str(bin_dir.parent),
        **(extra_env or {}),
    }
    env.pop("PYTHONHOME", None)
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"{' '.join(cmd)} failed in {project}:\n{done.stdout}\n{done.stderr}"
    return done


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


@pytest.mark.parametrize("level", ABOVE_1)
def test_settings_module_is_rendered_from_the_contract(tmp_path: Path, level: int) -> None:
    """The project's settings.py and mlops_scaffold.contract (which the stacks use) agree."""
    project = new_project(tmp_path / "contract-check", level)
    settings = _load(project / "src" / "contract_check" / "settings.py", f"settings_{level}")
    expected = {p.name: p.env_var for p in parameters(level)}
    assert {name: p.env_var for name, p in settings.PARAMETERS.items()} == expected
    contract = yaml.safe_load((template_dir() / "contract.yml").read_text())
    assert contract["prefix"] == settings.PREFIX
    assert settings.parameter_path("data-bucket", "dev") == "/mlops/contract-check/dev/data-bucket"
    # A parameter of a higher level is not part of a lower-level project.
    higher = {p.name for p in parameters()} - set(expected)
    assert all(name not in settings.PARAMETERS for name in higher)


def _summary(output: str) -> str:
    lines = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    assert lines, f"no pytest summary in:\n{output}"
    return lines[-1]


@pytest.mark.slow
@pytest.mark.localstack
@pytest.mark.parametrize("framework", ["sklearn", "pytorch"])
@pytest.mark.parametrize("level", ABOVE_1)
def test_generated_project_lifecycle_runs_locally_and_on_localstack(
    tmp_path: Path, localstack: LocalStack, level: int, framework: str
) -> None:
    project = new_project(tmp_path / "churn-model", level, framework=framework)
    bin_dir = ensure_env(project)

    out = run(["make", "test", "RUN="], project, bin_dir).stdout
    for step in ("ruff check .", "ruff format --check .", "mypy", "pytest"):
        assert step in out, f"`make test` did not run {step}"
    summary = _summary(out)
    assert "passed" in summary and "failed" not in summary and "skipped" not in summary, summary

    out = run(["make", "integration", "RUN="], project, bin_dir, localstack.env()).stdout
    summary = _summary(out)
    assert "passed" in summary, summary
    assert not re.search(r"failed|skipped|error", summary), f"integration tests must all pass: {summary}"

    # The documented command trains and registers on local backends from a clean checkout.
    out = run(["make", "pipeline", "RUN="], project, bin_dir).stdout
    assert "registered churn-model version 1" in out
    assert git(project, "status", "--porcelain") == "", "pipeline outputs must be git-ignored"


@pytest.mark.slow
@pytest.mark.localstack
def test_localstack_harness_serves_s3_and_ssm(localstack: LocalStack) -> None:
    """The session's LocalStack answers through pytest-localstack's RunningSession."""
    session = localstack.running_session(("s3", "ssm"))
    s3 = session.boto3.client("s3")
    s3.create_bucket(Bucket="harness-check")
    s3.put_object(Bucket="harness-check", Key="k", Body=b"v")
    assert s3.get_object(Bucket="harness-check", Key="k")["Body"].read() == b"v"
    ssm = session.boto3.client("ssm")
    ssm.put_parameter(
        Name="/mlops/harness/it/data-bucket", Value="harness-check", Type="String", Overwrite=True
    )
    assert ssm.get_parameter(Name="/mlops/harness/it/data-bucket")["Parameter"]["Value"] == "harness-check"
