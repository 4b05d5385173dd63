"""Lock a new PyTorch project's dependencies with uv.

scikit-learn projects get the lock the template ships (rendered offline). A PyTorch project's lock
needs PyTorch's own CPU index (https://download.pytorch.org/whl/cpu) besides PyPI, so it cannot be
shipped ready-made for every platform: `new` runs `uv lock` in the rendered project instead, before
the first commit. When uv is missing or cannot reach the indexes, the project is still created and
the note says how to lock it later.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

LOCK_TIMEOUT = 600.0


def needs_lock(answers: dict[str, object]) -> bool:
    """Whether `new` locks the project itself (PyTorch projects from level 1, where a lock belongs)."""
    return answers.get("framework") == "pytorch" and int(str(answers.get("level", 0))) >= 1


def lock(project: Path) -> str | None:
    """Run `uv lock` in ``project``; None on success, else a note saying how to lock it later."""
    later = "run `make lock` in the project (it needs PyPI and download.pytorch.org) and commit uv.lock."
    uv = shutil.which("uv")
    if uv is None:
        return f"uv is not installed, so the project has no uv.lock yet: install uv, then {later}"
    try:
        done = subprocess.run(
            [uv, "lock", "--quiet"], cwd=project, capture_output=True, text=True, timeout=LOCK_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return f"`uv lock` took over {LOCK_TIMEOUT:.0f} s, so the project has no uv.lock yet: {later}"
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        (project / "uv.lock").unlink(missing_ok=True)
        return f"`uv lock` failed ({reason}), so the project has no uv.lock yet: {later}"
    return None
