"""Render a new ML project from the template at a chosen maturity level.

``generate`` validates everything it can before copier runs, renders into a temporary directory
beside the destination and moves the result into place only when rendering succeeded, so a
failed run never leaves a half-written project behind.
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlops_scaffold import locking
from mlops_scaffold.errors import (
    DestinationNotEmptyError,
    DestinationNotWritableError,
    InvalidInputError,
    InvalidNameError,
    ScaffoldError,
    TemplateError,
    UnknownDataKeyError,
)
from mlops_scaffold.levels import require_built
from mlops_scaffold.resources import template_dir

Progress = Callable[[str], None]

_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
# Package names that would shadow a dependency of every generated project.
_TAKEN_NAMES = frozenset(
    {"numpy", "pandas", "sklearn", "scikit_learn", "torch", "yaml", "jsonschema", "pytest", "src", "tests"}
)


class AbortedError(ScaffoldError):
    exit_code = 130

    def __init__(self) -> None:
        super().__init__("Aborted; nothing was written.")


@dataclass(frozen=True)
class GenerateResult:
    path: Path
    project_name: str
    package_name: str
    level: int
    answers: dict[str, Any]
    git_commit: str | None
    notes: list[str] = field(default_factory=list)


def package_name_for(project_name: str) -> str:
    """The import name of a project: 'Churn-Model' -> 'churn_model'. Raises InvalidNameError."""
    if not _NAME_PATTERN.match(project_name):
        raise InvalidNameError(
            name=project_name, reason="use only letters, digits, '-' or '_', starting with a letter"
        )
    return check_package_name(project_name.lower().replace("-", "_"), shown_as=project_name)


def check_package_name(package: str, *, shown_as: str | None = None) -> str:
    """Return ``package`` if it can be the project's import name; InvalidNameError otherwise."""
    project_name = shown_as or package
    if not re.match(r"^[a-z][a-z0-9_]*$", package):
        raise InvalidNameError(
            name=project_name,
            reason=f"the package name '{package}' must be lowercase letters, digits and '_'",
        )
    if keyword.iskeyword(package):
        raise InvalidNameError(name=project_name, reason=f"'{package}' is a Python keyword")
    if package in sys.stdlib_module_names or package in _TAKEN_NAMES:
        raise InvalidNameError(
            name=project_name, reason=f"the package '{package}' would shadow the module of the same name"
        )
    return package


def template_questions() -> list[str]:
    """The question names of the template (what --data may set)."""
    config = yaml.safe_load((template_dir() / "copier.yml").read_text(encoding="utf-8"))
    return [key for key in config if not key.startswith("_")]


def parse_data(pairs: list[str], *, option: str = "--data") -> dict[str, str]:
    """Turn ['key=value', ...] into a dict; InvalidInputError on a pair without '='."""
    data: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(
                f"{option} '{pair}' is not of the form KEY=VALUE.",
                fix=f"Write it as e.g. {option} name=value.",
            )
        data[key.strip()] = value
    return data


def _check_destination(dst: Path) -> None:
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise DestinationNotEmptyError(path=dst)


def _git_init(project: Path, message: str) -> str | None:
    """Make the project a git repository with one commit; None when git is unavailable."""
    if shutil.which("git") is None:
        return None
    env = dict(os.environ)
    # The user's own git identity signs the first commit; a fallback only where none is set.
    for setting, fallback in (("user.name", "mlops-scaffold"), ("user.email", "mlops-scaffold@localhost")):
        configured = subprocess.run(["git", "config", setting], cwd=project, capture_output=True, text=True)
        if not configured.stdout.strip():
            kind = setting.split(".")[1].upper()
            env.setdefault(f"GIT_AUTHOR_{kind}", fallback)
            env.setdefault(f"GIT_COMMITTER_{kind}", fallback)
    for args in (
        ["init", "--quiet", "--initial-branch=main"],
        ["add", "--all"],
        ["-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify", "-m", message],
    ):
        try:
            subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as error:
            raise TemplateError(
                f"git {args[0]} failed in the new project: {error.stderr.strip()}",
                fix="Check your git configuration, or pass --no-git and initialise the repository yourself.",
            ) from None
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    )
    return head.stdout.strip()


def _render(src_tag: str, dst: Path, data: dict[str, Any], *, defaults: bool) -> None:
    import copier
    from copier.errors import CopierAnswersInterrupt, CopierError
    from jinja2 import TemplateError as JinjaError

    from mlops_scaffold.template_store import STORE_URL

    try:
        copier.run_copy(
            STORE_URL, dst, data=data, vcs_ref=src_tag, defaults=defaults, quiet=True, cleanup_on_error=False
        )
    except (KeyboardInterrupt, CopierAnswersInterrupt):
        raise AbortedError() from None
    except ValueError as error:  # copier's question validation
        raise InvalidInputError(
            f"The template rejected an answer: {str(error).strip()}",
            fix="Correct that value (see `mlops-scaffold new --help`) and retry.",
        ) from None
    except (CopierError, JinjaError) as error:
        raise TemplateError(
            f"copier could not render the template: {error}",
            fix="Re-run with the same options; if it fails again, report it with this message.",
        ) from None


def generate(
    dst: Path,
    *,
    level: object,
    name: str | None = None,
    data: Mapping[str, Any] | None = None,
    defaults: bool = True,
    git: bool = True,
    lock: bool = True,
    on_progress: Progress | None = None,
) -> GenerateResult:
    """Render a project at ``level`` into ``dst`` (which must not exist or be empty).

    ``data`` sets template answers (framework, ci, python_version, description, ...); with
    ``defaults=False`` copier asks for every answer not given (needs a terminal).
    """
    from mlops_scaffold.template_store import ensure_version

    report = on_progress or (lambda _message: None)
    dst = Path(dst).expanduser().absolute()
    answers: dict[str, Any] = dict(data or {})
    known = template_questions()
    for key in answers:
        if key not in known:
            raise UnknownDataKeyError(key=key, known=known)
    answers["level"] = require_built(answers.get("level") if level is None else level).number
    project_name = name or str(answers.get("project_name") or dst.name)
    answers["project_name"] = project_name
    answers.setdefault("package_name", package_name_for(project_name))
    check_package_name(str(answers["package_name"]))
    _check_destination(dst)

    report("Preparing the template")
    tag = ensure_version()

    created_parents = [p for p in reversed(dst.parents) if not p.exists()]
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".partial", dir=dst.parent))
    except OSError as error:
        for parent in created_parents[:1]:
            shutil.rmtree(parent, ignore_errors=True)
        raise DestinationNotWritableError(path=dst, reason=error.strerror or str(error)) from None
    try:
        report(f"Rendering {project_name} at level {answers['level']}")
        _render(tag, staging, answers, defaults=defaults)
        recorded = yaml.safe_load((staging / ".copier-answers.yml").read_text(encoding="utf-8"))
        notes: list[str] = []
        if lock and locking.needs_lock(recorded):
            report("Locking dependencies (PyPI and PyTorch's CPU index)")
            note = locking.lock(staging)
            notes += [note] if note else []
        commit = None
        if git:
            report("Creating the git repository")
            commit = _git_init(
                staging, f"Start {project_name} at MLOps level {recorded['level']} (mlops-scaffold {tag})"
            )
        if dst.exists():  # an empty directory the user made: fill it, keep it
            for entry in staging.iterdir():
                entry.rename(dst / entry.name)
            staging.rmdir()
        else:
            staging.rename(dst)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for parent in reversed(created_parents):
            shutil.rmtree(parent, ignore_errors=True)
        raise
    if git and not commit:
        notes.append("git was not found: the project is not a git repository yet.")
    return GenerateResult(
        path=dst,
        project_name=project_name,
        package_name=str(recorded["package_name"]),
        level=int(recorded["level"]),
        answers=recorded,
        git_commit=commit,
        notes=notes,
    )
