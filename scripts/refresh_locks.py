"""Regenerate the uv.lock files the template ships for scikit-learn projects.

Run after changing the dependencies in templates/project/project/pyproject.toml.jinja:

    python scripts/refresh_locks.py

For each Python version the template offers and each dependency set (level 1, and every built
level from 2 up, which add dependencies) it renders a scikit-learn project named LOCK_PROJECT,
runs `uv lock` in it (this needs PyPI) and stores the result in templates/project/locks/
(sklearn-py<python>.lock for levels 0-1, sklearn-l<level>-py<python>.lock above); the template
substitutes the real project name when it renders. `--level N` refreshes only that level.

Like `uv lock` in a user's project, a refresh keeps every version the shipped lock pins and
resolves only what the dependency change needs; `--upgrade` re-resolves everything to the newest
versions (then run the generated projects' `make test` at every level before committing).
uv's shared cache (~/.cache/uv) is used even though HOME is isolated while rendering.
PyTorch projects ship no lock: their torch comes from PyTorch's own index, so `new` locks them on
the user's machine, starting from these locks (cli/mlops_scaffold/locking.py); torch's own
dependencies are listed by scripts/refresh_torch_dependencies.py.
tests/test_generated_projects.py checks every shipped lock with `uv lock --check --offline`, so a
stale lock fails the suite.
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

from mlops_core.levels import built_levels  # noqa: E402
from mlops_scaffold.generate import generate  # noqa: E402
from mlops_scaffold.locking import LOCK_PROJECT, shipped_lock  # noqa: E402


def main(argv: list[str]) -> int:
    config = yaml.safe_load((REPO / "templates" / "project" / "copier.yml").read_text())
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    levels = [1, *(level for level in built_levels() if level >= 2)]
    upgrade = "--upgrade" in argv
    argv = [arg for arg in argv if arg != "--upgrade"]
    if argv[:1] == ["--level"]:
        levels = [int(argv[1])]
    os.environ.setdefault("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv"))
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["HOME"] = scratch  # keep the template store out of the real home
        for level in levels:
            for python in config["python_version"]["choices"]:
                target = shipped_lock(level, python)
                target.touch()  # the template includes it; its content is replaced below
                project = Path(scratch) / f"l{level}-py{python}"
                generate(
                    project,
                    level=level,
                    name=LOCK_PROJECT,
                    git=False,
                    data={"framework": "sklearn", "python_version": python},
                )
                if upgrade:
                    (project / "uv.lock").unlink(missing_ok=True)
                subprocess.run([uv, "lock", "--python", python], cwd=project, check=True)
                shutil.copyfile(project / "uv.lock", target)
                print(f"wrote {target.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
