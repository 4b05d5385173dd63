"""`mlops-scaffold platform init DIR`: the platform engineer's own Pulumi project (issue 17, item 7).

Before, the only Pulumi project was this repository's root, whose `Pulumi.yaml` (toolchain pip,
virtualenv .venv) had no requirements.txt: `pulumi install` made an empty .venv and the program
failed with `No module named pulumi`. Now the root installs this checkout, and `platform init`
writes a repository whose files install a pinned release and run its stacks; the slow test does
what `pulumi install` does (a fresh venv from those files, offline from uv's cache) and runs the
program under Pulumi mocks with the installed packages only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from project_envs import user_env
from typer.testing import CliRunner

import mlops_scaffold
from mlops_scaffold.cli import app
from mlops_scaffold.platform_repo import init_platform

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
runner = CliRunner()
FILES = [
    ".gitignore",
    "Pulumi.yaml",
    "README.md",
    "__main__.py",
    "policy/PulumiPolicy.yaml",
    "policy/__main__.py",
    "policy/requirements.txt",
    "requirements.txt",
]


def _project(tmp_path: Path, *, level: int = 2, name: str = "churn") -> Path:
    """A generated project as infra-config reads it (its answers file)."""
    project = tmp_path / name
    project.mkdir()
    answers = {"_commit": "0.1.0", "project_name": name, "package_name": name, "level": level, "ci": "github"}
    (project / ".copier-answers.yml").write_text(yaml.safe_dump(answers))
    return project


def _requirements(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_the_root_pulumi_project_installs_itself() -> None:
    """`pulumi install` of the root project installs requirements.txt into its virtualenv: this
    checkout with the infra extra (pulumi, pulumi-aws, pulumi-policy)."""
    runtime = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))["runtime"]
    assert runtime["options"] == {"toolchain": "pip", "virtualenv": ".venv"}
    assert _requirements(ROOT / "requirements.txt") == ["-e .[infra]"]


def test_platform_init_writes_a_pulumi_project_pinned_to_this_release(tmp_path: Path) -> None:
    result = runner.invoke(app, ["platform", "init", str(tmp_path / "infra"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    repo = Path(data["path"])
    assert sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file()) == FILES == data["files"]
    project = yaml.safe_load((repo / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert project["name"] == "mlops-platform"  # what infra-config and the StackReference look for
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    (pin,) = map(Requirement, _requirements(repo / "requirements.txt"))
    assert (pin.name, pin.extras, str(pin.specifier)) == (
        "mlops-scaffold",
        {"infra"},
        f"=={mlops_scaffold.__version__}",
    )
    assert _requirements(repo / "policy" / "requirements.txt") == ["-r ../requirements.txt"]
    assert "from mlops_stacks.program import main" in (repo / "__main__.py").read_text(encoding="utf-8")
    assert "build_pack()" in (repo / "policy" / "__main__.py").read_text(encoding="utf-8")
    readme = (repo / "README.md").read_text(encoding="utf-8")
    for step in (
        "https://www.pulumi.com/docs/iac/download-install/",
        "aws sso login",
        "pulumi login s3://",
        "pulumi install",
        "pulumi preview --policy-pack policy",
        "pulumi up --policy-pack policy",
    ):
        assert step in readme, step
    assert readme.index("pulumi install") < readme.index("pulumi preview") < readme.index("pulumi up")
    assert "/venv/" in (repo / ".gitignore").read_text(encoding="utf-8")


def test_platform_init_refuses_a_directory_with_content_and_fills_an_empty_one(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["platform", "init", str(taken)])
    assert result.exit_code == 6, result.output
    assert "Error:" in result.stderr and "Fix:" in result.stderr
    assert [p.name for p in taken.iterdir()] == ["notes.txt"]  # untouched
    empty = tmp_path / "empty"
    empty.mkdir()
    assert init_platform(empty).files == FILES
    assert sorted(p.name for p in empty.iterdir()) == sorted({f.split("/")[0] for f in FILES})
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_infra_config_writes_the_stack_files_into_the_platform_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = init_platform(tmp_path / "infra").path
    project = _project(tmp_path)
    monkeypatch.chdir(repo)  # as the README says: run it in the repository, no --output
    result = runner.invoke(app, ["infra-config", str(project), "--env", "dev"])
    assert result.exit_code == 0, result.output
    assert (repo / "Pulumi.churn-dev.yaml").is_file() and (repo / "Pulumi.platform-dev.yaml").is_file()


DRIVER = """
# What `pulumi up` of each stack named on the command line runs, with Pulumi's mocks for the
# engine: the repository's __main__.py, the stack's config as the engine passes it
# (PULUMI_CONFIG), the installed packages only.
import json, os, runpy, sys
import yaml
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
from mlops_stacks.offline import use_mocks
import mlops_scaffold, mlops_stacks

found = {"modules": [mlops_scaffold.__file__, mlops_stacks.__file__]}
for stack in sys.argv[1:]:
    config = yaml.safe_load(open(f"Pulumi.{stack}.yaml", encoding="utf-8"))["config"]
    values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    os.environ["PULUMI_CONFIG"] = json.dumps(values)
    mocks, monitor = use_mocks(stack=stack)
    _sync_await(run_pulumi_func(lambda: runpy.run_path("__main__.py", run_name="__main__")))
    found[stack] = sorted({typ for typ, *_ in mocks.registrations})
print(json.dumps(found))
"""


@pytest.mark.slow
def test_a_platform_repository_installs_from_its_own_files_and_runs_the_stacks(tmp_path: Path) -> None:
    version = mlops_scaffold.__version__
    uv = BIN / "uv"
    env = user_env()  # a user's shell: no PYTHONPATH or VIRTUAL_ENV of ours, the shared uv cache
    # The release the pin names: a wheel of this checkout built as that version (PyPI has no
    # development builds), found by the installer like any index.
    dist = tmp_path / "dist"
    subprocess.run(
        [uv, "build", "--wheel", "--offline", "--quiet", "--out-dir", dist, ROOT],
        check=True,
        env=env | {"SETUPTOOLS_SCM_PRETEND_VERSION": version},
    )
    repo = init_platform(tmp_path / "infra").path
    # What `pulumi install` does with toolchain pip: a virtualenv, then its requirements.txt.
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, repo / "venv"], check=True, env=env)
    python = repo / "venv" / "bin" / "python"
    install = [uv, "pip", "install", "--quiet", "--python", python, "--find-links", dist]
    subprocess.run([*install, "--offline", "-r", repo / "requirements.txt"], check=True, env=env)
    # The policy pack's requirements are the same pin: nothing new to install.
    subprocess.run([*install, "--offline", "-r", repo / "policy" / "requirements.txt"], check=True, env=env)

    # infra-config of the installed release writes the stack files into the repository.
    project = _project(tmp_path, level=2)
    subprocess.run(
        [
            repo / "venv" / "bin" / "mlops-scaffold",
            "infra-config",
            project,
            "--env",
            "dev",
            "--ci-repository",
            "acme/churn",
        ],
        cwd=repo,
        check=True,
        env=env,
        capture_output=True,
    )
    stack_file = repo / "Pulumi.churn-dev.yaml"
    config = yaml.safe_load(stack_file.read_text(encoding="utf-8"))
    config["config"]["mlops:trainingImageTag"] = "3f2a1c0"  # `pulumi config set`, as the README says
    stack_file.write_text(yaml.safe_dump(config), encoding="utf-8")

    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    done = subprocess.run(
        [python, driver, "platform-dev", "churn-dev"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(str(repo / "venv") in module for module in run["modules"])  # not this checkout
    assert {"aws:ec2/vpc:Vpc", "aws:iam/openIdConnectProvider:OpenIdConnectProvider"} <= set(
        run["platform-dev"]
    )
    assert {"aws:iam/role:Role", "aws:sagemaker/mlflowApp:MlflowApp", "aws:batch/jobQueue:JobQueue"} <= set(
        run["churn-dev"]
    )
