"""`mlops-scaffold new` locks a PyTorch project starting from the lock the template ships for
scikit-learn projects, so every package the two share stays at the version our suite tested and
only torch and what it needs are resolved anew (see cli/mlops_scaffold/locking.py)."""

from __future__ import annotations

import os
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest
from project_envs import new
from pytorch_index import PytorchCpuIndex

from mlops_scaffold.generate import dependency_names
from mlops_scaffold.locking import shipped_lock


def locked_versions(lock: Path) -> dict[str, set[str]]:
    """Package name -> the versions a uv.lock pins (a fork can pin two for one name)."""
    versions: dict[str, set[str]] = defaultdict(set)
    for package in tomllib.loads(lock.read_text(encoding="utf-8"))["package"]:
        if "version" in package:
            versions[package["name"]].add(package["version"])
    return dict(versions)


@pytest.mark.slow
def test_a_pytorch_lock_keeps_every_version_of_the_tested_lock(
    tmp_path: Path, pytorch_index: PytorchCpuIndex
) -> None:
    project = new(
        tmp_path / "churn-model", 4, framework="pytorch", python="3.11", extra_env=pytorch_index.env()
    )
    text = (project / "uv.lock").read_text(encoding="utf-8")
    assert 'name = "churn-model"' in text and "lock-template-project" not in text
    locked = locked_versions(project / "uv.lock")
    shipped = locked_versions(shipped_lock(4, "3.11"))
    shared = (locked.keys() & shipped.keys()) - {"churn-model"}
    assert {"numpy", "pandas", "scikit-learn", "mlflow", "fastapi", "ruff", "mypy", "pytest"} <= shared
    moved = {name: (shipped[name], locked[name]) for name in sorted(shared) if locked[name] != shipped[name]}
    assert not moved, f"(tested, locked at new) versions differ: {moved}"
    added = locked.keys() - shipped.keys() - {"churn-model"}
    assert {"torch", "sympy"} <= added
    assert added <= dependency_names(), "a package torch brings in is missing from torch-dependencies.txt"


UV_STDERR = """\
  x No solution found when resolving dependencies:
error: Failed to fetch: `https://download.pytorch.org/whl/cpu/torch/`
  Caused by: Request failed after 3 retries
  Caused by: dns error: failed to lookup address information: Name or service not known
"""


def test_a_failed_lock_is_one_clear_note_before_the_next_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uv's multi-line error becomes one sentence (no raw `  Caused by:`), and the note comes before
    the next steps, whose `uv sync` it changes."""
    from helpers import runner

    from mlops_scaffold.cli import app

    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "uv").write_text(f"#!/bin/sh\ncat >&2 <<'END'\n{UV_STDERR}END\nexit 2\n")
    (fake / "uv").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    result = runner.invoke(
        app,
        ["new", str(tmp_path / "torchy"), "--level", "1", "--framework", "pytorch", "--defaults", "--no-git"],
    )
    assert result.exit_code == 0, result.output
    note = next(line for line in result.output.splitlines() if line.startswith("Note: `uv lock` failed"))
    assert note.startswith(
        "Note: `uv lock` failed: Failed to fetch: `https://download.pytorch.org/whl/cpu/torch/` (dns error: "
        "failed to lookup address information: Name or service not known). So the project has no uv.lock yet"
    ), note
    assert "Caused by" not in result.output
    assert result.output.index(note) < result.output.index("Next steps")
    assert not (tmp_path / "torchy" / "uv.lock").exists()
