"""Regenerate the uv.lock files the template ships for scikit-learn projects.

Run after changing the dependencies in templates/project/project/pyproject.toml.jinja:

    python scripts/refresh_locks.py

For each Python version the template offers it renders a level-1 scikit-learn project named
LOCK_PROJECT, runs `uv lock` in it (this needs PyPI) and stores the result in
templates/project/locks/; the template substitutes the real project name when it renders.
PyTorch projects ship no lock: their torch comes from PyTorch's own index, which `make lock`
reaches on the user's machine. tests/test_generated_projects.py checks every shipped lock with
`uv lock --check --offline`, so a stale lock fails the suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "cli"))

from mlops_scaffold.generate import generate  # noqa: E402

LOCK_PROJECT = "lock-template-project"
LOCKS = REPO / "templates" / "project" / "locks"


def main() -> int:
    config = yaml.safe_load((REPO / "templates" / "project" / "copier.yml").read_text())
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["HOME"] = scratch  # keep the template store out of the real home
        for python in config["python_version"]["choices"]:
            target = LOCKS / f"sklearn-py{python}.lock"
            target.touch()  # the template includes it; its content is replaced below
            project = Path(scratch) / f"py{python}"
            generate(
                project,
                level=1,
                name=LOCK_PROJECT,
                git=False,
                data={"framework": "sklearn", "python_version": python},
            )
            (project / "uv.lock").unlink(missing_ok=True)
            subprocess.run([uv, "lock", "--python", python], cwd=project, check=True)
            shutil.copyfile(project / "uv.lock", target)
            print(f"wrote {target.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
