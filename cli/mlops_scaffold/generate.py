"""Render a new ML project from the template at a chosen maturity level.

``generate`` validates everything it can before copier runs (answers, names, the destination),
renders into a held staging directory (``.NAME.XXXXXXXX.partial``, see ``scratch``) on the
destination's file system and moves the result into place only when rendering succeeded, so a
failed, interrupted or killed run never leaves a half-written project behind (a killed run's
staging directory is swept by the next run).
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from mlops_core.errors import (
    DestinationNeedsConsentError,
    DestinationNotEmptyError,
    DestinationNotWritableError,
    InvalidInputError,
    InvalidNameError,
    RunInterruptedError,
    TemplateError,
    UnknownDataKeyError,
)
from mlops_core.levels import require_built
from mlops_core.resources import shipped_yaml, template_dir
from mlops_scaffold import locking, scratch, vcs
from mlops_scaffold.project import MAX_NAME_LENGTH, PACKAGE_NAME, PROJECT_NAME, distribution_name, full_path
from mlops_scaffold.transaction import signals_held

Progress = Callable[[str], None]

# Import names that would shadow part of every generated project (besides the standard library
# and the project's dependencies, see ``dependency_names``).
_TAKEN_NAMES = frozenset({"src", "tests"})
# Dependencies whose import name is not their distribution name with '-' as '_'.
_IMPORT_NAMES = {
    "scikit-learn": "sklearn",
    "pyyaml": "yaml",
    "python-dateutil": "dateutil",
    "attrs": "attr",
    "protobuf": "google",
    "pyjwt": "jwt",
    "gitpython": "git",
    "python-dotenv": "dotenv",
    "opentelemetry-api": "opentelemetry",
    "pyasn1-modules": "pyasn1_modules",
    "nvidia-cublas": "nvidia",  # every nvidia-* package of PyTorch's CUDA build installs under nvidia/
    "cuda-bindings": "cuda",
}


@dataclass(frozen=True)
class NextStep:
    command: str
    purpose: str


@dataclass(frozen=True)
class GenerateResult:
    path: Path
    project_name: str
    package_name: str
    level: int
    answers: dict[str, Any]
    git_commit: str | None
    notes: list[str] = field(default_factory=list)
    next_steps: list[NextStep] = field(default_factory=list)


# --- names --------------------------------------------------------------------------------------------


@cache
def dependency_names() -> frozenset[str]:
    """Every package a generated project can depend on, at any level, with either framework.

    Read from the template: the requirements in its pyproject.toml, every package in the locks it
    ships (which hold the dependencies' own dependencies too) and the packages torch brings in
    (``locks/torch-dependencies.txt``: PyTorch projects are locked at `new`, so no shipped lock has
    them; scripts/refresh_torch_dependencies.py writes the list).
    """
    root = template_dir()
    names: set[str] = set()
    pyproject = (root / "project" / "pyproject.toml.jinja").read_text(encoding="utf-8")
    names.update(
        re.findall(r'"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]"]*\])?\s*(?:==|>=|<=|~=|!=|<|>)[^"]*"', pyproject)
    )
    # Each [[package]] of a uv.lock starts with its name line; a regex that starts with a literal
    # scans the ~9 MB of locks several times faster than one anchored with (?m)^.
    package = re.compile(rb'\nname = "([^"\n]+)"\n')
    for lock in sorted((root / "locks").glob("*.lock")):
        names.update(name.decode() for name in package.findall(lock.read_bytes()))
    torch_deps = (root / "locks" / "torch-dependencies.txt").read_text(encoding="utf-8")
    names.update(line for line in torch_deps.splitlines() if line and not line.startswith("#"))
    return frozenset(distribution_name(n) for n in names) - {locking.LOCK_PROJECT}


def _shadowed_imports() -> frozenset[str]:
    deps = dependency_names()
    return frozenset(d.replace("-", "_") for d in deps) | {i for d, i in _IMPORT_NAMES.items() if d in deps}


def package_name_for(project_name: str) -> str:
    """The import name of a project: 'Churn-Model' -> 'churn_model'. Raises InvalidNameError."""
    if len(project_name) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            name=project_name,
            reason=f"it has {len(project_name)} characters, more than the {MAX_NAME_LENGTH} allowed",
            fix="Pick a shorter name, e.g. --name churn-model.",
        )
    if not PROJECT_NAME.match(project_name):
        raise InvalidNameError(
            name=project_name, reason="use only letters, digits, '-' or '_', starting with a letter"
        )
    distribution = distribution_name(project_name)
    if distribution in dependency_names():
        raise InvalidNameError(
            name=project_name,
            reason=f"the project would depend on a package of the same name ('{distribution}'), "
            "which its dependency lock cannot hold",
            fix=f"Pick a name that says what the project does, e.g. --name {project_name.lower()}-models.",
        )
    return check_package_name(project_name.lower().replace("-", "_"), shown_as=project_name)


def check_package_name(package: str, *, shown_as: str | None = None) -> str:
    """Return ``package`` if it can be the project's import name; InvalidNameError otherwise."""
    project_name = shown_as or package
    if not PACKAGE_NAME.match(package):
        raise InvalidNameError(
            name=project_name,
            reason=f"the package name '{package}' must be lowercase letters, digits and '_'",
        )
    if keyword.iskeyword(package):
        raise InvalidNameError(name=project_name, reason=f"'{package}' is a Python keyword")
    if package in sys.stdlib_module_names or package in _TAKEN_NAMES or package in _shadowed_imports():
        raise InvalidNameError(
            name=project_name,
            reason=f"the package '{package}' would shadow the module of the same name "
            "(from the standard library or one of the project's dependencies)",
            fix=f"Pick a name that says what the project does, e.g. --name {package}-models.",
        )
    return package


# --- answers --------------------------------------------------------------------------------------------


@cache
def _template_config() -> dict[str, Any]:
    config: dict[str, Any] = shipped_yaml("copier.yml")
    return config


def template_questions() -> list[str]:
    """The question names of the template (what --data may set)."""
    return [key for key in _template_config() if not key.startswith("_")]


# The option of `new` that sets a question (the others are set with --data KEY=VALUE).
_OPTIONS = {"framework": "--framework", "ci": "--ci", "python_version": "--python"}


def check_choices(answers: Mapping[str, Any]) -> None:
    """InvalidInputError naming the valid values when an answer is not one of its question's choices
    (before copier, whose own message is `'jax' is not in ['sklearn', 'pytorch']`)."""
    for key, value in answers.items():
        choices = [str(c) for c in (_template_config().get(key) or {}).get("choices", [])]
        if choices and str(value) not in choices:
            option = _OPTIONS.get(key)
            given = f"{option} {value}" if option else f"--data {key}={value}"
            valid = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
            raise InvalidInputError(
                f"{given}: '{value}' is not a {key} the template offers ({valid}).",
                fix="Use one of them, e.g. "
                + (f"{option} {choices[0]}." if option else f"--data {key}={choices[0]}."),
            )


def check_data(data: Mapping[str, Any], *, command: str) -> dict[str, Any]:
    """``--data`` of ``upgrade`` and ``adopt``: template questions only; the level comes from --level."""
    if "level" in data:
        raise InvalidInputError(f"--data level=... is not how {command} takes a level.", fix="Use --level N.")
    known = [key for key in template_questions() if key != "level"]
    for key in data:
        if key not in known:
            raise UnknownDataKeyError(key=key, known=known)
    check_choices(data)
    return dict(data)


def parse_data(pairs: list[str], *, option: str = "--data") -> dict[str, str]:
    """Turn ['key=value', ...] into a dict; InvalidInputError on a pair without '=' or a key given twice
    with different values."""
    data: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(
                f"{option} '{pair}' is not of the form KEY=VALUE.",
                fix=f"Write it as e.g. {option} name=value.",
            )
        key = key.strip()
        if key in data and data[key] != value:
            raise InvalidInputError(
                f"{option} sets {key} twice, to '{data[key]}' and to '{value}'.",
                fix=f"Give {key} once.",
            )
        data[key] = value
    return data


def merge_options(data: Mapping[str, Any], options: Mapping[str, tuple[str, Any]]) -> dict[str, Any]:
    """``data`` with the answers given by named options (key -> (option, value), value None when not
    given); InvalidInputError when an option and ``--data`` give one answer two different values."""
    merged = dict(data)
    for key, (option, value) in options.items():
        if value is None:
            continue
        if key in merged and str(merged[key]) != str(value):
            raise InvalidInputError(
                f"{option} {value} and --data {key}={merged[key]} disagree.",
                fix=f"Give {key} once: with {option} or with --data.",
            )
        merged[key] = value
    return merged


# --- the destination ------------------------------------------------------------------------------------


def _name_max(directory: Path) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _existing_ancestor(path: Path) -> Path:
    return next(p for p in (path, *path.parents) if os.path.exists(p))  # False for names too long


def _check_destination(dst: Path, *, git: bool, force_nested: bool, follow_symlink: bool) -> Path:
    """The directory to create the project in (``dst``, or where a symlink ``dst`` points)."""
    try:
        ancestor = _existing_ancestor(dst)
        if ancestor != dst and not ancestor.is_dir():
            raise DestinationNotWritableError(path=dst, reason=f"'{ancestor}' is a file, not a directory")
        longest = _name_max(ancestor)
        for part in dst.relative_to(ancestor).parts:
            if len(os.fsencode(part)) > longest:
                raise DestinationNotWritableError(
                    path=dst,
                    reason=f"the name '{part[:40]}...' is longer than the {longest} bytes "
                    "this file system allows",
                    fix="Choose a shorter directory name (--name sets a project name of its own).",
                )
        is_link = dst.is_symlink()
        exists = dst.exists()
    except OSError as error:
        raise DestinationNotWritableError(path=dst, reason=error.strerror or str(error)) from None
    if is_link:
        target = Path(os.readlink(dst))
        resolved = (dst.parent / target).resolve()
        if not exists:
            raise DestinationNotWritableError(
                path=dst,
                reason=f"it is a symbolic link to '{target}', which does not exist",
                fix=f"Create '{resolved}' first (then pass --follow-symlink), or remove the link.",
            )
        if resolved.is_dir() and not follow_symlink:
            raise DestinationNeedsConsentError(
                f"'{dst}' is a symbolic link: the project would be created in '{resolved}'.",
                fix="Pass --follow-symlink to create it there, or choose another path.",
            )
        dst = resolved
    if exists and not dst.is_dir():
        raise DestinationNotWritableError(
            path=dst,
            reason="it is a file, not a directory",
            fix="Choose a directory that does not exist yet, or an empty one (the file was not touched).",
        )
    if exists:
        scratch.sweep_partials(dst)  # a killed run's staging directory is not the user's content
    if exists and any(dst.iterdir()):
        raise DestinationNotEmptyError(path=dst)
    if git and not force_nested:
        repo = vcs.top(_existing_ancestor(dst))
        if repo is not None and not vcs.is_ignored(repo, dst):
            raise DestinationNeedsConsentError(
                f"'{dst}' is inside the git repository '{repo}': the project would be a second "
                f"repository nested in it, which git in '{repo}' shows as an untracked directory.",
                fix="Create it outside that repository "
                f"(e.g. `mlops-scaffold new {repo.parent / dst.name}`), pass --force-nested to "
                f"nest it anyway, or --no-git to make it part of '{repo}'.",
            )
    return dst


# --- rendering ---------------------------------------------------------------------------------------


def _git_init(project: Path, message: str) -> str | None:
    """Make the project a git repository with one commit; None when git is unavailable.

    Through ``vcs.run`` like every git command: the project may sit inside another repository
    (``--force-nested``), whose configuration must not run anything here.
    """
    if shutil.which("git") is None:
        return None
    env: dict[str, str] = {}
    # The user's own git identity signs the first commit; a fallback only where none is set.
    for setting, fallback in (("user.name", "mlops-scaffold"), ("user.email", "mlops-scaffold@localhost")):
        if not vcs.run(project, "config", setting).stdout.strip():
            kind = setting.split(".")[1].upper()
            env.setdefault(f"GIT_AUTHOR_{kind}", os.environ.get(f"GIT_AUTHOR_{kind}", fallback))
            env.setdefault(f"GIT_COMMITTER_{kind}", os.environ.get(f"GIT_COMMITTER_{kind}", fallback))
    for args in (
        ("init", "--quiet", "--initial-branch=main"),
        ("add", "--all"),
        ("-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify", "-m", message),
    ):
        done = vcs.run(project, *args, env=env)
        if done.returncode != 0:
            raise TemplateError(
                f"git {args[0]} failed in the new project: {done.stderr.decode(errors='replace').strip()}",
                fix="Check your git configuration, or pass --no-git and initialise the repository yourself.",
            )
    return vcs.git(project, "rev-parse", "HEAD").decode().strip()


@contextmanager
def _typing_replaces_defaults(*, enabled: bool) -> Iterator[None]:
    """While copier asks questions: a text question's default is shown as a grey placeholder that
    typing replaces (Enter on an empty line takes it), not put into the input line as questionary
    does, where typed text was appended to it ("...started with mlops-scaffold.Churn model").

    copier asks each question with ``questionary.unsafe_prompt`` (imported into ``copier._main``);
    this wraps that call. Should copier stop calling it, its own prompt is used unchanged."""
    import copier._main as copier_main

    found: Callable[..., Any] | None = vars(copier_main).get("unsafe_prompt")
    if not enabled or found is None:
        yield
        return
    asked: Callable[..., Any] = found

    def ask(questions: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        return asked([_placeholder_default(question) for question in questions], *args, **kwargs)

    vars(copier_main)["unsafe_prompt"] = ask
    try:
        yield
    finally:
        vars(copier_main)["unsafe_prompt"] = asked


def _placeholder_default(question: dict[str, Any]) -> dict[str, Any]:
    default = question.get("default")
    if question.get("type") != "input" or question.get("multiline") or not isinstance(default, str):
        return question
    validate, cast = question.get("validate"), question.get("filter")
    question = {key: value for key, value in question.items() if key != "default"}
    question["placeholder"] = [("fg:ansibrightblack", default)]
    question["validate"] = lambda text: validate(text or default) if validate else True
    question["filter"] = lambda text: cast(text or default) if cast else text or default
    return question


def _render(src_tag: str, dst: Path, data: dict[str, Any], *, defaults: bool) -> None:
    import copier
    from copier.errors import CopierAnswersInterrupt, CopierError
    from jinja2 import TemplateError as JinjaError

    from mlops_scaffold.template_store import STORE_URL

    try:
        with _typing_replaces_defaults(enabled=not defaults):
            copier.run_copy(
                STORE_URL,
                dst,
                data=data,
                vcs_ref=src_tag,
                defaults=defaults,
                quiet=True,
                cleanup_on_error=False,
            )
    except CopierAnswersInterrupt:
        raise KeyboardInterrupt from None
    except ValueError as error:  # copier's question validation
        raise InvalidInputError(
            f"The template rejected an answer: {str(error).strip()}",
            fix="Correct that value (see `mlops-scaffold new --help`) and retry.",
        ) from None
    except (CopierError, JinjaError, OSError) as error:  # OSError: also git failing under copier
        raise TemplateError(
            f"copier could not render the template: {error}",
            fix="Re-run with the same options; if it fails again, report it with this message.",
        ) from None


def next_steps(path: Path, level: int, package: str) -> list[NextStep]:
    """What to run first in a new project, as its README says (uv, then make from level 1)."""
    steps = [
        NextStep(f"cd {path}", "the new project"),
        NextStep("uv sync", "create .venv with the project's Python and dependencies"),
    ]
    if level == 0:  # no Makefile before level 1
        return [
            *steps,
            NextStep("uv run pytest", "unit tests"),
            NextStep(f"uv run python -m {package}.train", "train a model; writes models/<run_id>/"),
            NextStep(f"uv run python -m {package}.evaluate", "evaluate the newest model"),
        ]
    steps += [
        NextStep("make test", "lint, type check and unit tests"),
        NextStep("make train", "train a model; writes models/<run_id>/"),
        NextStep("make evaluate", "evaluate the newest model"),
    ]
    if level >= 2:
        steps.append(NextStep("make pipeline", "the training pipeline, up to registering the model"))
    if level >= 3:
        steps.append(NextStep("make promote", "the champion/challenger gate"))
    if level >= 4:
        steps.append(NextStep("make drift", "compare live inputs with the training baseline"))
    return [*steps, NextStep("make help", "every task")]


def generate(
    dst: Path,
    *,
    level: object,
    name: str | None = None,
    data: Mapping[str, Any] | None = None,
    defaults: bool = True,
    git: bool = True,
    force_nested: bool = False,
    follow_symlink: bool = False,
    lock: bool = True,
    on_progress: Progress | None = None,
) -> GenerateResult:
    """Render a project at ``level`` into ``dst`` (which must not exist or be empty).

    ``data`` sets template answers (framework, ci, python_version, description, ...); with
    ``defaults=False`` copier asks for every answer not given (needs a terminal). A destination
    inside another git repository (with ``git``) or given as a symbolic link needs
    ``force_nested`` or ``follow_symlink``. Interrupted (Ctrl-C, SIGTERM), it removes what it
    created and raises RunInterruptedError.
    """
    created: list[Path] = []  # the project's path, once it is in place
    try:
        return _generate(
            dst,
            level=level,
            name=name,
            data=data,
            defaults=defaults,
            git=git,
            force_nested=force_nested,
            follow_symlink=follow_symlink,
            lock=lock,
            report=on_progress or (lambda _message: None),
            created=created,
        )
    except KeyboardInterrupt:
        if created:
            raise RunInterruptedError(
                outcome=f"the project had been created in {created[0]} when it came."
            ) from None
        raise RunInterruptedError(outcome="nothing was written.") from None


def _generate(
    dst: Path,
    *,
    level: object,
    name: str | None,
    data: Mapping[str, Any] | None,
    defaults: bool,
    git: bool,
    force_nested: bool,
    follow_symlink: bool,
    lock: bool,
    report: Progress,
    created: list[Path],
) -> GenerateResult:
    dst = full_path(dst)
    known = template_questions()
    answers = merge_options(data or {}, {"level": ("--level", level), "project_name": ("--name", name)})
    for key in answers:
        if key not in known:
            raise UnknownDataKeyError(key=key, known=known)
    check_choices(answers)
    if "level" not in answers:
        raise InvalidInputError(
            "No maturity level was given.",
            fix="Add --level N (0-4; `mlops-scaffold levels` shows what each level adds).",
        )
    answers["level"] = require_built(answers["level"]).number
    project_name = str(answers.get("project_name") or dst.name)
    answers["project_name"] = project_name
    answers.setdefault("package_name", package_name_for(project_name))
    check_package_name(str(answers["package_name"]))
    dst = _check_destination(dst, git=git, force_nested=force_nested, follow_symlink=follow_symlink)

    from mlops_scaffold.template_store import ensure_version

    report("Preparing the template")
    tag = ensure_version(on_wait=report)
    recorded, commit, notes = _create(
        dst, tag, answers, defaults=defaults, git=git, lock=lock, report=report, created=created
    )
    if git and not commit:
        notes.append("git was not found: the project is not a git repository yet.")
    if shutil.which("uv") is None:
        notes.append(
            "uv is not on your PATH, and the project is set up and run with it: install it "
            "(https://docs.astral.sh/uv/getting-started/installation/, e.g. `pip install uv`)."
        )
    package = str(recorded["package_name"])
    return GenerateResult(
        path=dst,
        project_name=project_name,
        package_name=package,
        level=int(recorded["level"]),
        answers=recorded,
        git_commit=commit,
        notes=notes,
        next_steps=next_steps(dst, int(recorded["level"]), package),
    )


def _create(
    dst: Path,
    tag: str,
    answers: dict[str, Any],
    *,
    defaults: bool,
    git: bool,
    lock: bool,
    report: Progress,
    created: list[Path],
) -> tuple[dict[str, Any], str | None, list[str]]:
    """Render into a staging directory on dst's file system (lock, commit), then move it into place.

    Returns the recorded answers, the first commit (None without git) and notes for the user."""
    fill = dst.exists()  # an empty directory (maybe a mount point): stage inside it, keep it
    created_parents = [] if fill else [p for p in reversed(dst.parents) if not p.exists()]
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not fill:
            scratch.sweep_partials(dst.parent)
        staging = scratch.partial_dir(dst if fill else dst.parent, dst.name)
    except OSError as error:
        for parent in created_parents[:1]:
            shutil.rmtree(parent, ignore_errors=True)
        # An existing empty directory is filled in place: then it is the one that must be writable.
        fix = f"Make '{dst}' writable for your user (`chmod u+w {dst}`), or choose another directory."
        raise DestinationNotWritableError(
            path=dst, reason=error.strerror or str(error), fix=fix if fill else ""
        ) from None
    moved: list[Path] = []
    try:
        with scratch.workspace("new"):
            report(f"Rendering {answers['project_name']} at level {answers['level']}")
            _render(tag, staging.path, answers, defaults=defaults)
            recorded = yaml.safe_load((staging.path / ".copier-answers.yml").read_text(encoding="utf-8"))
            notes: list[str] = []
            if lock and locking.needs_lock(recorded):
                report("Locking dependencies (PyPI and PyTorch's CPU index)")
                note = locking.lock(staging.path, recorded)
                notes += [note] if note else []
            commit = None
            if git:
                report("Creating the git repository")
                commit = _git_init(
                    staging.path,
                    f"Start {answers['project_name']} at MLOps level {recorded['level']} "
                    f"(mlops-scaffold {tag})",
                )
        with signals_held() as held:  # the move into place is all or nothing, Ctrl-C or not
            try:
                scratch.move_into_place(staging.path, dst, fill=fill, moved=moved)
            except OSError as error:
                raise DestinationNotWritableError(path=dst, reason=error.strerror or str(error)) from None
            created.append(dst)
    except BaseException:
        if created:  # interrupted right after the move: the project is complete, keep it
            raise
        shutil.rmtree(staging.path, ignore_errors=True)
        scratch.undo_moves(moved)
        for parent in reversed(created_parents):
            shutil.rmtree(parent, ignore_errors=True)
        raise
    finally:
        staging.release()
    if held:
        raise KeyboardInterrupt  # honoured now that the project is in place (generate says so)
    return recorded, commit, notes
