"""Run generated projects the way their README tells a user to: `uv sync --locked`, then `make`.

Nothing here assembles an environment differently from a user: ``sync`` runs uv in the project
(from the lock the project ships) and ``make`` runs the project's own Makefile targets, which call
its tools through `uv run`. What the harness provides is what a user's machine provides:

- ``uv`` (a dev dependency of this repository) and the Python interpreters the template offers,
  linked into one directory put first on PATH (``tool_dir``); our own virtual environment is
  taken off PATH, so no tool of ours leaks into a project;
- one uv cache shared by every project, run and worktree on the machine (``UV_CACHE``, outside the
  clone): after the first run, `uv sync` hard-links packages from it and costs seconds.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHONS = ("3.11", "3.12", "3.13")


def _real_home() -> Path:
    """The user's home directory, whatever HOME says (the suite points HOME at a temporary one)."""
    return Path(pwd.getpwuid(os.getuid()).pw_dir)


def uv_cache() -> Path:
    """uv's cache for the whole suite: UV_CACHE_DIR when set, else uv's default for this user."""
    explicit = os.environ.get("UV_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "uv" if xdg else _real_home() / ".cache" / "uv"


UV_CACHE = uv_cache()


def _runs(python: str, version: str) -> bool:
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == version


def find_interpreter(version: str) -> str | None:
    """A working ``python<version>``: on PATH, or under pyenv (whose shims refuse to run a version
    that no pyenv setting selects)."""
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", _real_home() / ".pyenv"))
    candidates += [str(p) for p in sorted((pyenv_root / "versions").glob(f"{version}.*/bin/python{version}"))]
    return next((c for c in candidates if c and _runs(c, version)), None)


def tool_dir() -> Path:
    """A directory holding `uv` and `python3.11`..`python3.13`, as a user's PATH would."""
    tools = REPO / ".cache" / "tools"
    tools.mkdir(parents=True, exist_ok=True)
    uv = Path(sys.executable).with_name("uv")
    links = {"uv": str(uv)}
    for version in PYTHONS:
        found = find_interpreter(version)
        if found:
            links[f"python{version}"] = found
    for name, target in links.items():
        link = tools / name
        if not (link.is_symlink() and os.readlink(link) == target):
            partial = tools / f".{name}.{os.getpid()}"
            partial.unlink(missing_ok=True)
            partial.symlink_to(target)
            partial.replace(link)  # atomic: parallel workers never see a missing link
    return tools


def require_python(version: str) -> None:
    """Fail (not skip) when a Python the template offers is missing: CI must provide it."""
    if find_interpreter(version) is None:
        raise AssertionError(
            f"python{version} is not installed (looked on PATH and under pyenv); generated projects "
            f"on Python {version} need it. Install it (e.g. `pyenv install {version}`)."
        )


def user_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a user's shell: our tools first on PATH, nothing of our venv, no
    variables that would point a project at other resources (MLOPS_*, MLFLOW_*, AWS_*)."""
    ours = str(Path(sys.executable).parent)
    path = [str(tool_dir())] + [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != ours]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLOPS_", "MLFLOW_", "AWS_", "UV_", "PYTHON", "VIRTUAL_ENV", "CONDA"))
    }
    env.update(
        {
            "PATH": os.pathsep.join(path),
            "UV_CACHE_DIR": str(UV_CACHE),
            "UV_PYTHON_DOWNLOADS": "never",  # a user's uv may download Python; ours must not need to
            "UV_NO_PROGRESS": "1",
            # Not a sub-make of ours (`make test`): its output would gain "make[1]: Entering ..." lines.
            "MAKEFLAGS": "",
            "MAKELEVEL": "",
            "MFLAGS": "",
        }
    )
    env.update(extra or {})
    return env


def run(
    cmd: Sequence[str],
    project: Path,
    extra_env: dict[str, str] | None = None,
    timeout: float = 1200,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in ``project`` as a user would; fail the test, with its output, if it fails."""
    done = subprocess.run(
        list(cmd), cwd=project, env=user_env(extra_env), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{' '.join(cmd)} failed in {project}:\n{done.stdout}\n{done.stderr}"
    return done


def sync(project: Path) -> Path:
    """`uv sync --locked`: the README's `uv sync`, refusing a lock that does not match pyproject.toml."""
    run(["uv", "sync", "--locked"], project)
    return project / ".venv" / "bin"


def make(project: Path, *args: str, extra_env: dict[str, str] | None = None) -> str:
    """`make ARGS` in the project (its tools run through `uv run`); its standard output."""
    return run(["make", *args], project, extra_env).stdout
