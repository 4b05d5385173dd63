"""Helpers shared by the test modules."""

from __future__ import annotations

import hashlib
import subprocess
import textwrap
from collections.abc import Mapping
from pathlib import Path

from typer.testing import CliRunner

from mlops_scaffold.cli import app

runner = CliRunner()


def new_project(
    dst: Path,
    level: int,
    *,
    framework: str = "sklearn",
    ci: str = "github",
    python: str = "3.11",
    extra: tuple[str, ...] = (),
    lock: bool = False,
) -> Path:
    """Render a project through the CLI with --defaults; fail the test if it does not succeed.

    PyTorch projects are not locked (``--no-lock``) unless ``lock``: locking needs the network."""
    result = runner.invoke(
        app,
        [
            "new",
            str(dst),
            "--level",
            str(level),
            "--framework",
            framework,
            "--ci",
            ci,
            "--python",
            python,
            "--defaults",
            *([] if lock else ["--no-lock"]),
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return dst


def tree_files(root: Path) -> set[str]:
    """Every file under root (posix relative paths), ignoring the .git directory."""
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def snapshot(root: Path) -> dict[str, str]:
    """Content hash of every file under root, .git included, for byte-for-byte comparisons."""
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout


def build_file_tree(root: Path, spec: Mapping[str, str | bytes], *, dedent: bool = False) -> Path:
    """Write ``spec`` (relative path -> text or bytes) below ``root``, like copier's
    ``tests/helpers.py::build_file_tree``; ``dedent`` strips the common indentation of texts."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in spec.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content) if dedent else content, encoding="utf-8")
    return root
