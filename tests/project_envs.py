"""Virtual environments for running generated projects' own toolchains inside our test suite.

A generated project is meant to be set up with `uv sync`. Our tests install the same
requirements (read from the generated pyproject.toml: dependencies, the dev group and, for
PyTorch, the cpu group) with pip instead, because pip finds the CPU build of PyTorch that this
machine keeps on disk, where uv would download a multi-GB CUDA build. Environments are cached
under .cache/project-envs/, keyed by the requirement list, so a dependency change in the
template builds a fresh one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "project-envs"


def requirements(project: Path) -> list[str]:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    groups = pyproject.get("dependency-groups", {})
    wanted = [*pyproject["project"]["dependencies"], *groups.get("dev", []), *groups.get("cpu", [])]
    return sorted({r for r in wanted if isinstance(r, str)})


def ensure_env(project: Path) -> Path:
    """The bin/ directory of an environment holding everything ``project`` needs."""
    reqs = requirements(project)
    key = hashlib.sha256("\n".join([sys.version, *reqs]).encode()).hexdigest()[:16]
    env = CACHE / key
    if (env / ".complete").is_file():
        return env / "bin"
    shutil.rmtree(env, ignore_errors=True)
    env.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    done = subprocess.run(
        [
            str(env / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *reqs,
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"installing {reqs} failed:\n{done.stdout}\n{done.stderr}")
    (env / ".complete").write_text("\n".join(reqs))
    return env / "bin"


def run_in_env(
    cmd: list[str],
    project: Path,
    bin_dir: Path,
    extra_env: dict[str, str] | None = None,
    timeout: float = 1800,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in ``project`` with its environment first on PATH; fail the test if it fails.

    PYTHONPATH=src stands in for the editable install `uv sync` makes. Variables that point a
    project at other resources (MLOPS_*, MLFLOW_*, AWS_*) are not inherited, only set explicitly.
    """
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "MLFLOW_", "AWS_"))},
        # Not a sub-make of ours (`make test`): its output would gain "make[1]: Entering ..." lines.
        **dict.fromkeys(("MAKEFLAGS", "MAKELEVEL", "MFLAGS"), ""),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(project / "src"),
        "VIRTUAL_ENV": str(bin_dir.parent),
        **(extra_env or {}),
    }
    env.pop("PYTHONHOME", None)
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd)} failed in {project}:\n{done.stdout}\n{done.stderr}"
    return done
