"""Levels 2-4: the generated project's ML lifecycle really runs, against LocalStack.

For levels above 1 we render a project, install it as its README says (`uv sync --locked`, see
project_envs.py) and run its `make integration` (its LocalStack-marked lifecycle tests) against
the one LocalStack of this run (tests/localstack.py) and its `make pipeline`; the level-4
walkthrough runs the README's one-machine loop command by command. Each project's `make test`
runs in test_generated_projects.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from helpers import git
from infra.iam.recording import assert_calls_covered, recording_env
from localstack import LocalStack, health
from project_envs import make, new, run, tool_dir, user_env
from pytorch_index import PytorchCpuIndex

from mlops_core.contract import parameters
from mlops_core.levels import built_levels
from mlops_core.resources import template_dir

ABOVE_1 = [level for level in built_levels() if level >= 2]
# Levels are cumulative: a level-4 project's integration tests include those of levels 2 and 3.
# Level 2 runs with both frameworks, level 3 with PyTorch (serving a torch model) and level 4 with
# scikit-learn (the walkthrough below runs it end to end too).
FRAMEWORKS = {2: ["sklearn", "pytorch"], 3: ["pytorch"], 4: ["sklearn"]}
CASES = [(level, framework) for level in ABOVE_1 for framework in FRAMEWORKS[level]]


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
def test_settings_module_is_rendered_from_the_contract(rendered: Callable[..., Path], level: int) -> None:
    """The project's settings.py and mlops_core.contract (which the stacks use) agree."""
    project = rendered(level, name="contract-check")
    settings = _load(project / "src" / "contract_check" / "settings.py", f"settings_{level}")
    expected = {p.name: p.env_var for p in parameters(level, framework="sklearn")}
    assert {name: p.env_var for name, p in settings.PARAMETERS.items()} == expected
    contract = yaml.safe_load((template_dir() / "contract.yml").read_text())
    assert contract["prefix"] == settings.PREFIX
    assert settings.parameter_path("data-bucket", "dev") == "/mlops/contract-check/dev/data-bucket"
    # A parameter of a higher level, or of the other framework, is not part of the project.
    higher = {p.name for p in parameters()} - set(expected)
    assert all(name not in settings.PARAMETERS for name in higher)


def test_make_localstack_installs_what_the_suite_runs() -> None:
    """The generated `make localstack` and our suite's LocalStack (tests/localstack.py) pin the same
    packages: the set known to start and serve offline in host mode."""
    import ast

    import localstack

    module = (
        template_dir()
        / "project"
        / "src"
        / "{{ package_name }}"
        / "{% if level >= 2 %}localstack.py{% endif %}"
    )
    assigned = {
        target.id: node.value
        for node in ast.parse(module.read_text(encoding="utf-8")).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert ast.literal_eval(assigned["PINS"]) == localstack.PINS


def _summary(output: str) -> str:
    lines = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    assert lines, f"no pytest summary in:\n{output}"
    return lines[-1]


def synced_project(
    dst: Path, level: int, framework: str, index: PytorchCpuIndex | None
) -> tuple[Path, dict[str, str]]:
    """A new project, installed as its README says; and the environment a user's machine gives it."""
    net = index.env() if index else {}
    python = "3.11" if framework == "pytorch" else "3.12"  # the CPU wheel here is for Python 3.11
    project = new(dst, level, framework=framework, python=python, extra_env=net)
    run(["uv", "sync", "--locked"], project, net)
    return project, net


@pytest.mark.slow
@pytest.mark.localstack
@pytest.mark.parametrize(("level", "framework"), CASES)
def test_generated_project_lifecycle_runs_on_localstack(
    tmp_path: Path, request: pytest.FixtureRequest, localstack: LocalStack, level: int, framework: str
) -> None:
    index = request.getfixturevalue("pytorch_index") if framework == "pytorch" else None
    project, net = synced_project(tmp_path / "churn-model", level, framework, index)

    calls = tmp_path / "aws-calls.jsonl"  # every AWS call must be one the IAM tests evaluate
    aws = localstack.env() | recording_env(calls)
    out = make(project, "integration", extra_env={**net, **aws})
    summary = _summary(out)
    assert "passed" in summary, summary
    assert not re.search(r"failed|skipped|error", summary), f"integration tests must all pass: {summary}"
    assert_calls_covered(calls, level)

    # The documented command trains and registers on local backends from a clean checkout.
    assert "registered churn-model version 1" in make(project, "pipeline", extra_env=net)
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _serving(project: Path, env: dict[str, str], port: int) -> Iterator[str]:
    """`make serve ENV=localstack PORT=...` in the background, until /ping answers; then stopped."""
    log = (project.parent / "serve.log").open("wb")
    process = subprocess.Popen(
        ["make", "serve", "ENV=localstack", f"PORT={port}"],
        cwd=project,
        env=user_env(env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: make and the server stop together
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (project.parent / "serve.log").read_text()
            try:
                with urllib.request.urlopen(f"{url}/ping", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, "no /ping answer within 120 s"
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def _json(output: str) -> dict[str, object]:
    """The JSON document a command printed last (make echoes the command line before it)."""
    start = output.index("\n{") + 1 if "\n{" in output else output.index("{")
    loaded: dict[str, object] = json.loads(output[start:])
    return loaded


def _without_python_313(tmp_path: Path) -> dict[str, str]:
    """A PATH with uv and the project's Python 3.12 but no Python 3.13, which uv may not download."""
    bare = tmp_path / "no-python-3.13"
    bare.mkdir()
    for name in ("uv", "python3.12"):
        (bare / name).symlink_to(os.readlink(tool_dir() / name))
    return {"PATH": os.pathsep.join([str(bare), "/usr/bin", "/bin"]), "UV_PYTHON_DOWNLOADS": "never"}


@pytest.mark.slow
@pytest.mark.localstack
@pytest.mark.skipif(4 not in built_levels(), reason="level 4 is not built")
def test_level_4_documented_loop_on_one_machine(tmp_path: Path) -> None:
    """The README's loop of a level-4 project, command by command, with the environment it exports,
    against the LocalStack its own `make localstack` starts: train, register, promote, serve, inject
    drift, detect it (the alarm in ALARM), retrain once (the champion stays: same data, same score),
    then the cooldown holds; `make localstack-stop` stops LocalStack."""
    project, _ = synced_project(tmp_path / "churn-model", 4, "sklearn", None)
    calls = tmp_path / "aws-calls.jsonl"
    endpoint = f"http://localhost:{_free_port()}"
    readme = {  # what the README exports
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    aws = readme | recording_env(calls)

    def step(*args: str) -> str:
        return make(project, *args, extra_env=aws)

    # Without Python 3.13 (and no download allowed) `make localstack` says what to install.
    refused = subprocess.run(
        ["make", "localstack"],
        cwd=project,
        env=user_env(readme | _without_python_313(tmp_path)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode != 0
    assert "Error: LocalStack runs on Python 3.13, which uv could neither find nor download" in (
        refused.stderr
    ), refused.stderr
    assert "Fix: Install Python 3.13 (`uv python install 3.13`" in refused.stderr
    assert "LocalStack answers at" in step("localstack")
    try:
        devstack = _json(step("devstack"))
        assert any(str(name).endswith("/alerts-topic-arn") for name in devstack["parameters"])  # type: ignore[union-attr]
        assert "registered churn-model version 1" in step("pipeline", "ENV=localstack")
        assert _json(step("promote", "ENV=localstack"))["promoted"] is True
        with _serving(project, aws, _free_port()) as url:
            assert _json(step("smoke", f"URL={url}"))["version"] == "1"
            assert "sent 300 rows" in step("traffic", f"URL={url}")
            calm = _json(step("drift", "ENV=localstack"))
            assert calm["verdict"] == "no drift", calm
            assert isinstance(calm["published"], int) and calm["published"] > 0
            assert "sent 300 shifted rows" in step("traffic", f"URL={url}", "DRIFT=1")
        drift = run(["make", "drift", "ENV=localstack"], project, aws)
        found = _json(drift.stdout)
        assert found["verdict"] == "drift" and found["rows"] == 605, found  # smoke + calm + shifted
        # The alarm line agrees with the score just published: the job waited for its evaluation.
        [alarm] = found["alarms"]  # type: ignore[misc]
        line = f"alarm {alarm['name']}: ALARM (DriftScore {found['drift_score']:g} >= threshold 0.2)"
        assert line in drift.stderr.splitlines(), drift.stderr
        page = Path(str(found["html_path"])).read_text(encoding="utf-8")
        assert "<strong>drift</strong>" in page and f"Alarm {alarm['name']}: ALARM (DriftScore" in page
        retrained = _json(step("retrain", "ENV=localstack"))
        assert retrained["triggered"] is True and retrained["registered_version"] == "2", retrained
        assert str(retrained["execution_arn"]).startswith("arn:aws:states:")
        # As the README says: trained on the same labelled data, version 2 scores as version 1 does.
        assert retrained["promoted"] is False and retrained["champion"] == "1", retrained
        assert "does not beat the champion's" in str(retrained["promotion_reason"])
        held = _json(step("retrain", "ENV=localstack"))
        assert held["triggered"] is False and str(held["reason"]).startswith("cooldown"), held
    finally:
        stopped = step("localstack-stop")
    assert "stopped" in stopped and not health(endpoint)
    assert_calls_covered(calls, 4)
    assert git(project, "status", "--porcelain") == "", "lifecycle outputs must be git-ignored"
