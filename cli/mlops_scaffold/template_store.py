"""A local git repository holding every version of the template this machine has used.

copier records where a project's template came from (``_src_path``) and at which git ref
(``_commit``), and ``copier update`` re-renders that old version to work out the owner's edits.
So the template must live in git, at a path that means the same on every machine: we keep it at
``~/.local/share/mlops-scaffold/template`` (``STORE_URL``, written with the ``~`` so the answers
file names no machine-specific path) and tag each template version ``v<package version>``.

``ensure_version`` copies the template this package ships into the store and tags it, which
works offline. Plain ``copier update`` then works too, once the store has the versions needed.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlops_scaffold import __version__
from mlops_scaffold.errors import ScaffoldError
from mlops_scaffold.resources import template_dir

STORE_URL = "~/.local/share/mlops-scaffold/template"

# Fixed identity and dates keep store commits reproducible and independent of the user's git config.
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "mlops-scaffold",
    "GIT_AUTHOR_EMAIL": "mlops-scaffold@localhost",
    "GIT_COMMITTER_NAME": "mlops-scaffold",
    "GIT_COMMITTER_EMAIL": "mlops-scaffold@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


class TemplateStoreError(ScaffoldError):
    exit_code = 9


def store_path() -> Path:
    return Path(STORE_URL).expanduser()


def version_tag(version: str = __version__) -> str:
    return f"v{version}"


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, **_GIT_ENV, "HOME": os.environ.get("HOME", str(repo))}
    try:
        done = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    except FileNotFoundError:
        raise TemplateStoreError(
            "git is not installed, and copier needs it to version the template.",
            fix="Install git (e.g. `apt-get install git` or `brew install git`) and retry.",
        ) from None
    except subprocess.CalledProcessError as error:
        raise TemplateStoreError(
            f"git {' '.join(args)} failed in the template store {repo}: {error.stderr.strip()}",
            fix=f"Remove {repo} (mlops-scaffold rebuilds it) and retry.",
        ) from None
    return done.stdout.strip()


@contextmanager
def _locked(repo: Path) -> Iterator[None]:
    repo.parent.mkdir(parents=True, exist_ok=True)
    with open(repo.parent / "template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _replace_worktree(repo: Path, source: Path) -> None:
    for entry in repo.iterdir():
        if entry.name == ".git":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    shutil.copytree(source, repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def ensure_version(version: str = __version__, source: Path | None = None) -> str:
    """Make the store hold ``source`` (default: the shipped template) tagged ``v<version>``.

    Returns the tag. A tag that already points at identical content is left alone; a tag whose
    content differs (a development build of the same version) is moved to the new content.
    """
    repo = store_path()
    source = source or template_dir()
    tag = version_tag(version)
    try:
        with _locked(repo):
            if not (repo / ".git").is_dir():
                repo.mkdir(parents=True, exist_ok=True)
                _git(repo, "init", "--quiet", "--initial-branch=main")
            _replace_worktree(repo, source)
            _git(repo, "add", "--all", "--force")
            tree = _git(repo, "write-tree")
            existing = _git(repo, "tag", "--list", tag)
            if existing and _git(repo, "rev-parse", f"{tag}^{{tree}}") == tree:
                return tag
            has_head = (
                bool(_git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}").strip())
                if (repo / ".git" / "refs" / "heads" / "main").exists()
                else False
            )
            parents = ["-p", "HEAD"] if has_head else []
            commit = _git(repo, "commit-tree", tree, *parents, "-m", f"mlops-scaffold template {tag}")
            _git(repo, "update-ref", "refs/heads/main", commit)
            _git(repo, "tag", "--force", tag, commit)
            return tag
    except OSError as error:
        raise TemplateStoreError(
            f"Cannot write the template store at {repo}: {error.strerror}.",
            fix="Make ~/.local/share writable for your user (or set HOME to a writable directory) and retry.",
        ) from None
