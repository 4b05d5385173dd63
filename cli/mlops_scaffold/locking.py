"""Lock a project's dependencies with uv: a new PyTorch project's, and any project's whose
``pyproject.toml`` an upgrade or an adoption changed (``relock``).

scikit-learn projects get the lock the template ships (rendered offline). A PyTorch project's lock
needs PyTorch's own CPU index (https://download.pytorch.org/whl/cpu) besides PyPI, so it cannot be
shipped ready-made for every platform: `new` runs `uv lock` in the rendered project instead, before
the first commit. It starts from the scikit-learn lock the template ships for the same level and
Python, which uv keeps as its preferences: every package the two projects share stays at the
version the template was tested with, and only torch and what it needs are resolved anew. When uv
is missing or cannot reach the indexes, the project is still created, without a lock, and the note
says how to lock it later.

A lock file is never merged as text (a 3-way merge of two locks is hundreds of conflict blocks, or
worse, a clean merge that no resolver made): `upgrade` and `adopt` merge ``pyproject.toml`` and then
``relock``: `uv lock`, offline from uv's cache when it can, else with the package index.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from mlops_core.resources import template_dir
from mlops_scaffold.project import distribution_name

LOCK_TIMEOUT = 600.0
LOCK_PROJECT = "lock-template-project"  # the project's own name in the shipped locks


def needs_lock(answers: Mapping[str, object]) -> bool:
    """Whether `new` locks the project itself (PyTorch projects from level 1, where a lock belongs)."""
    return answers.get("framework") == "pytorch" and int(str(answers.get("level", 0))) >= 1


def shipped_lock(level: int, python: str) -> Path:
    """The scikit-learn lock the template ships for a level's dependencies (levels 0-1 share one)."""
    name = f"sklearn-py{python}.lock" if level <= 1 else f"sklearn-l{level}-py{python}.lock"
    return template_dir() / "locks" / name


def seed(project: Path, answers: Mapping[str, object]) -> None:
    """Write the shipped scikit-learn lock of the project's level and Python as its uv.lock, under
    the project's name (what the template does for a scikit-learn project's uv.lock)."""
    level, python = int(str(answers["level"])), str(answers["python_version"])
    own_name = distribution_name(str(answers["project_name"]))
    text = shipped_lock(level, python).read_text(encoding="utf-8")
    (project / "uv.lock").write_text(text.replace(f'"{LOCK_PROJECT}"', f'"{own_name}"'), encoding="utf-8")


def lock(project: Path, answers: Mapping[str, object]) -> str | None:
    """Run `uv lock` in ``project``, starting from the shipped lock (see ``seed``); None on
    success, else a note saying how to lock it later (the project is then left without uv.lock)."""
    later = "run `make lock` in the project (it needs PyPI and download.pytorch.org) and commit uv.lock."
    uv = shutil.which("uv")
    if uv is None:
        return f"uv is not installed, so the project has no uv.lock yet: install uv, then {later}"
    seed(project, answers)
    try:
        done = subprocess.run(
            [uv, "lock", "--quiet"], cwd=project, capture_output=True, text=True, timeout=LOCK_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        (project / "uv.lock").unlink(missing_ok=True)
        return f"`uv lock` took over {LOCK_TIMEOUT:.0f} s, so the project has no uv.lock yet: {later}"
    if done.returncode != 0:
        (project / "uv.lock").unlink(missing_ok=True)
        return f"`uv lock` failed: {uv_error(done.stderr)}. So the project has no uv.lock yet: {later}"
    return None


def uv_error(stderr: str) -> str:
    """uv's error in one line: its `error:` line and its last `Caused by:` line, without uv's
    prefixes and indentation ("Failed to fetch ... (dns error: ...)")."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "uv printed no reason"

    def bare(line: str) -> str:
        for prefix in ("error:", "caused by:", "cause:", "warning:"):
            if line.lower().startswith(prefix):
                return line[len(prefix) :].strip()
        return line

    error = next((line for line in lines if line.lower().startswith("error:")), lines[0])
    causes = [line for line in lines if line.lower().startswith(("caused by:", "cause:"))]
    reason = bare(error).rstrip(".:")
    return f"{reason} ({bare(causes[-1]).rstrip('.')})" if causes else reason


def relock(project: Path) -> str | None:
    """Regenerate ``project``'s uv.lock from its pyproject.toml with `uv lock`, starting from the
    uv.lock in place (uv keeps its versions where they still fit): offline from uv's cache first,
    then with the package index. None on success; else why not, in a few words (uv.lock is then
    left as it was)."""
    uv = shutil.which("uv")
    if uv is None:
        return "uv is not installed"
    reason = ""
    for mode in (["--offline"], []):
        try:
            done = subprocess.run(
                [uv, "lock", "--quiet", "--no-progress", *mode],
                cwd=project,
                capture_output=True,
                text=True,
                timeout=LOCK_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            reason = f"`uv lock` took over {LOCK_TIMEOUT:.0f} s"
            continue
        if done.returncode == 0:
            return None
        reason = uv_error(done.stderr)
    return reason
