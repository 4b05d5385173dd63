"""Bring an existing repository onto the mlops-scaffold template, keeping every file its owners have.

``adopt`` works in five steps, with the same guarantees as ``upgrade``:

1. Refuse, changing nothing, what cannot be adopted safely: an unknown or unavailable level, a
   directory that is not in git or has uncommitted changes, a repository already on the template
   (use ``upgrade``) or holding another copier template's answers file, and one that ``assess``
   does not find to be an ML project (no ML, a project template, a monorepo's root) unless forced
   or confirmed by a person.
2. Work out the template's answers from the repository: pyproject.toml / setup.cfg / setup.py
   (name, description, authors), its package, CI vendor and framework, the Python version every
   Python requirement admits (the closest offered one, with a note, when none does), and for
   cookiecutter-based projects the cookiecutter context (``.cruft.json``, a ``.cookiecutter.json``
   or cookiecutter's replay file for this project). What is still unknown is asked on a terminal
   (``ask``) or taken from the template's defaults; ``data`` (``--data``) overrides everything.
   The level defaults to what ``assess`` finds.
3. Render the template at that level into a scratch directory, with the repository's dependencies
   (pyproject.toml, requirements.txt, conda environments) carried into its pyproject.toml, and,
   when the cookiecutter template the project came from is available locally (``.cruft.json``'s
   template when it is an absolute path, the replay's, cookiecutter's clone cache or
   ``cookiecutter_template``), re-render it with the project's context as the merge base, as cruft
   does. That template is foreign input: it is rendered only in the sandbox (``sandbox``), never by
   cookiecutter's own unsandboxed Jinja, and its hooks never run.
4. Compare: a file only the template has is added; a file only the repository has is left alone,
   and so is one git does not track (an ignored file: git could not give its bytes back); a file
   both have is merged. With a merge base the merge is 3-way (your edits since the
   cookiecutter render and the template's lines merge where they do not overlap), used only when
   it keeps every line of yours; otherwise a line merge keeps the lines both sides share and puts
   each difference in a conflict block (``<<<<<<< yours`` ... ``>>>>>>> mlops-scaffold``), so no
   byte of yours is ever dropped. ``dry_run`` stops here.
5. Write the result, all or nothing (upgrade's backup and restore), record each conflicted file
   as unmerged in the git index (stages 1-3, as git and ``copier update`` do), and add
   ``.copier-answers.yml`` (level, answers, template version), so that from then on ``upgrade``
   treats your files as your edits of the template. Nothing is committed.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mlops_core.errors import (
    AdoptFailedError,
    AdoptInterruptedError,
    AlreadyAdoptedError,
    AnswersFileTakenError,
    CookiecutterBaseError,
    DirtyTreeError,
    InvalidInputError,
    InvalidNameError,
    NotAGeneratedProjectError,
    NotAGitRepositoryError,
    RunInterruptedError,
    ScaffoldError,
)
from mlops_core.levels import all_levels, built_levels, get_level, require_built
from mlops_scaffold.bounded import printable
from mlops_scaffold.project import full_path

if TYPE_CHECKING:
    from mlops_scaffold.assess.scan import File, Repository

Progress = Callable[[str], None]
# (question) -> yes or no; given only when a person can be asked.
Confirm = Callable[[str], bool]
# (question, help text, default) -> answer; given only when a person can be asked.
Ask = Callable[[str, str, str], str]

ANSWERS_FILE = ".copier-answers.yml"
CLOSEST = "the closest version the template offers"  # the source of an answer that is a compromise
LOCK_FILE = "uv.lock"
OURS_LABEL = "yours"
THEIRS_LABEL = "mlops-scaffold"
BASE_LABEL = "cookiecutter template"
_QUESTIONS = (
    "project_name",
    "package_name",
    "description",
    "author_name",
    "author_email",
    "framework",
    "ci",
    "python_version",
)
_CHOICES = {
    "framework": ("sklearn", "pytorch"),
    "ci": ("github", "gitlab"),
    "python_version": ("3.11", "3.12", "3.13"),
}


@dataclass(frozen=True)
class AdoptResult:
    path: Path
    level: int
    level_name: str
    assessed_level: int  # what `assess` found before adopting
    template_version: str
    dry_run: bool
    answers: dict[str, Any]
    answer_sources: dict[str, str]  # question -> where its answer came from
    added: list[str] = field(default_factory=list)  # files the template adds
    merged: list[str] = field(default_factory=list)  # files merged without a conflict
    conflicts: list[str] = field(default_factory=list)  # files with conflict blocks
    unchanged: list[str] = field(default_factory=list)  # files identical on both sides
    kept: list[str] = field(default_factory=list)  # template files not written (see notes)
    capabilities: list[dict[str, Any]] = field(default_factory=list)  # what the level adds to the repo
    merge_base: str | None = None  # the cookiecutter template re-rendered as the merge base
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path)}


# --- what the repository says about itself -----------------------------------------------------------


@dataclass
class CookiecutterOrigin:
    """Where a cookiecutter-based project came from, and the context it was rendered with."""

    context: dict[str, Any]
    source: str  # the file the context was read from
    template: str | None = None  # the template's URL or path
    commit: str | None = None
    directory: str | None = None
    repo_dir: str | None = None  # the local template folder cookiecutter used (replay files)


MAX_FILE_BYTES = 1_000_000  # a packaging or cookiecutter file read for answers; larger ones are not read
MAX_MERGE_BYTES = 10_000_000  # a file of yours larger than this is kept as it is, never merged


def _read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str | None:
    """A repository file's UTF-8 text (bounded, never through a symlink); None when not read."""
    from mlops_scaffold.bounded import NotRead, read_bytes

    try:
        return read_bytes(path, limit).decode("utf-8")
    except (OSError, NotRead, UnicodeDecodeError):
        return None


def _read_json(path: Path) -> Any:
    from mlops_scaffold.bounded import NotRead, load_json

    text = _read_text(path)
    try:
        return load_json(text) if text is not None else None
    except (ValueError, NotRead):  # NotRead: nested too deeply
        return None


def _replay_dir() -> Path | None:
    try:
        from cookiecutter.config import get_user_config

        return Path(get_user_config()["replay_dir"]).expanduser()
    except Exception:  # an unreadable ~/.cookiecutterrc only means there is no replay to use
        return None


def find_cookiecutter_origin(root: Path) -> CookiecutterOrigin | None:
    """The cookiecutter context of a project: .cruft.json, .cookiecutter.json, or a replay file."""
    cruft = _read_json(root / ".cruft.json")
    if isinstance(cruft, dict) and isinstance((cruft.get("context") or {}).get("cookiecutter"), dict):
        return CookiecutterOrigin(
            context=dict(cruft["context"]["cookiecutter"]),
            source=".cruft.json",
            template=cruft.get("template"),
            commit=cruft.get("commit"),
            directory=cruft.get("directory") or None,
        )
    recorded = _read_json(root / ".cookiecutter.json")
    if isinstance(recorded, dict):
        context: dict[str, Any] = (
            recorded["cookiecutter"] if isinstance(recorded.get("cookiecutter"), dict) else recorded
        )
        return CookiecutterOrigin(
            context=dict(context), source=".cookiecutter.json", template=context.get("_template")
        )
    replay_dir = _replay_dir()
    if replay_dir is None or not replay_dir.is_dir():
        return None
    # cookiecutter keeps the last context per template; it is this project's when it rendered here.
    for replay in sorted(replay_dir.glob("*.json")):
        replayed = (_read_json(replay) or {}).get("cookiecutter")
        if not isinstance(replayed, dict) or Path(str(replayed.get("_output_dir", ""))) != root.parent:
            continue
        if root.name in {str(v) for v in replayed.values() if isinstance(v, str)}:
            return CookiecutterOrigin(
                context=dict(replayed),
                source=f"cookiecutter replay {replay}",
                template=replayed.get("_template"),
                commit=replayed.get("_checkout"),
                repo_dir=replayed.get("_repo_dir"),
            )
    return None


def _clean_name(value: str) -> str | None:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", value.strip()).strip("-_")
    name = re.sub(r"^[^A-Za-z]+", "", name)
    return name or None


def _author(raw: Any) -> tuple[str | None, str | None]:
    if isinstance(raw, dict):
        return raw.get("name"), raw.get("email")
    if isinstance(raw, str):
        match = re.match(r"^\s*([^<]*?)\s*(?:<([^>]+)>)?\s*$", raw)
        if match:
            return match.group(1) or None, match.group(2)
    return None, None


def python_specifier(raw: str) -> Any:
    """A Python requirement as a ``packaging`` SpecifierSet, None when it cannot be read.

    Reads PEP 440 (``>=3.10``, ``~=3.10.0``, ``==3.11.*``: requires-python, python_requires),
    Poetry's ``^3.12`` and ``~3.10``, and a bare version (``3.12.1`` from .python-version,
    ``3.10`` or ``3.10.*`` from a conda ``python=3.10``), which means that minor version.
    """
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    parts: list[str] = []
    for part in (p.strip() for p in raw.strip().split(",")):
        if not part or part == "*":
            continue
        caret = re.fullmatch(r"\^\s*(\d+)((?:\.\d+){0,2})", part)
        tilde = re.fullmatch(r"~\s*(\d+)\.(\d+)((?:\.\d+)?)", part)
        bare = re.fullmatch(r"(\d+)\.(\d+)(?:\.(?:\d+|\*))?", part)
        if caret:
            parts += [f">={caret.group(1)}{caret.group(2)}", f"<{int(caret.group(1)) + 1}"]
        elif tilde:
            major, minor = tilde.group(1), int(tilde.group(2))
            parts += [f">={major}.{minor}{tilde.group(3)}", f"<{major}.{minor + 1}"]
        elif bare:
            parts.append(f"=={bare.group(1)}.{bare.group(2)}.*")
        else:
            parts.append(part)
    try:
        return SpecifierSet(",".join(parts))
    except InvalidSpecifier:
        return None


def _admits(specifier: Any, minor: int) -> bool:
    """Whether a specifier admits some Python 3.<minor> release."""
    patches = {0, 99} | {int(p) for p in re.findall(rf"\b3\.{minor}\.(\d+)", str(specifier))}
    return any(specifier.contains(f"3.{minor}.{p}", prereleases=True) for p in patches)


def python_choice(constraints: list[tuple[str, str]]) -> tuple[str | None, str | None]:
    """The template's Python version for the repository's constraints, and a note when none fits.

    The choice is the oldest version the template offers that every constraint admits (what a
    `requires-python = ">=3.10"` project runs on). When none admits any (`~=3.10.0`: 3.10 only), the
    closest version the template offers is chosen and the note says so: adopting then moves the
    project to it, and pyproject.toml's requires-python conflicts for you to settle.
    """
    specifiers = [(python_specifier(raw), raw, source) for raw, source in constraints]
    readable = [(s, raw, source) for s, raw, source in specifiers if s is not None]
    unreadable = [f"{raw!r} ({source})" for s, raw, source in specifiers if s is None]
    offered = [int(c.split(".")[1]) for c in _CHOICES["python_version"]]
    fitting = [m for m in offered if all(_admits(s, m) for s, _, _ in readable)]
    if not readable:
        shown = printable(", ".join(unreadable))[:200]
        return None, (f"The repository's Python {shown} could not be read." if unreadable else None)
    if fitting:
        return f"3.{fitting[0]}", None
    admitted = [m for m in range(0, 30) if all(_admits(s, m) for s, _, _ in readable)] or [
        m for m in range(0, 30) if _admits(readable[0][0], m)
    ]
    if not admitted:
        return (
            None,
            f"The repository's Python ({readable[0][1]}, {readable[0][2]}) admits no Python 3 release.",
        )
    closest = min(offered, key=lambda m: (min(abs(m - a) for a in admitted), m))
    asked = "; ".join(f"{raw} ({source})" for _, raw, source in readable)
    offered_text = ", ".join(_CHOICES["python_version"])
    return f"3.{closest}", (
        f"The repository's Python requirement, {asked}, admits none of the versions the template offers "
        f"({offered_text}): adopting moves the project to 3.{closest}, the closest one. Its pyproject.toml's "
        "requires-python and the tool settings for that version will differ from yours; keep the template's "
        "to move, or adopt later, once the project runs on one of them."
    )


def _metadata(root: Path, repo: Repository) -> dict[str, tuple[Any, str]]:
    """name, description, authors and Python version from the packaging files."""
    found: dict[str, tuple[Any, str]] = {}
    pythons: list[tuple[str, str]] = []  # every Python requirement, with where it is written

    def put(key: str, value: Any, source: str) -> None:
        if key == "python_version":
            if isinstance(value, str) and value.strip():
                pythons.append((value.strip(), source))
        elif value and key not in found:
            found[key] = (value, source)

    pyproject = _read_text(root / "pyproject.toml")
    if pyproject is not None:
        from mlops_scaffold.bounded import load_toml

        try:
            data = load_toml(pyproject)
        except ValueError:  # invalid TOML, or nested too deeply (NotRead)
            data = {}
        project: dict[str, Any] = data["project"] if isinstance(data.get("project"), dict) else {}
        poetry = (data.get("tool") or {}).get("poetry") or {}
        for table, source in (
            (project, "pyproject.toml [project]"),
            (poetry, "pyproject.toml [tool.poetry]"),
        ):
            if not isinstance(table, dict):
                continue
            put("project_name", table.get("name"), source)
            put("description", table.get("description"), source)
            authors = table.get("authors") or []
            if authors:
                name, email = _author(authors[0])
                put("author_name", name, source)
                put("author_email", email, source)
        put("python_version", project.get("requires-python"), "pyproject.toml [project]")
        if isinstance(poetry, dict):
            put(
                "python_version",
                (poetry.get("dependencies") or {}).get("python"),
                "pyproject.toml [tool.poetry]",
            )
    setup_cfg = _read_text(root / "setup.cfg")
    if setup_cfg is not None:
        import configparser

        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(setup_cfg)
            meta = dict(parser["metadata"]) if parser.has_section("metadata") else {}
            options = dict(parser["options"]) if parser.has_section("options") else {}
        except (configparser.Error, UnicodeDecodeError):
            meta, options = {}, {}
        put("project_name", meta.get("name"), "setup.cfg")
        put("description", meta.get("description"), "setup.cfg")
        put("author_name", meta.get("author"), "setup.cfg")
        put("author_email", meta.get("author_email"), "setup.cfg")
        put("python_version", options.get("python_requires"), "setup.cfg")
    setup_py = _read_text(root / "setup.py")
    if setup_py is not None:
        import ast

        try:
            tree = ast.parse(setup_py)  # parsed, never run
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            tree = None
        for node in ast.walk(tree) if tree else ():
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", "")) == "setup"
            ):
                for kw in node.keywords:
                    if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                        key = {
                            "name": "project_name",
                            "description": "description",
                            "author": "author_name",
                            "author_email": "author_email",
                            "python_requires": "python_version",
                        }.get(kw.arg or "")
                        if key:
                            put(key, kw.value.value, "setup.py")
    python_version = _read_text(root / ".python-version", limit=4096)
    if python_version is not None:
        text = python_version.strip().split("\n")[0]
        if text:
            pythons.append((text, ".python-version"))
    for conda in conda_files(repo):
        for entry in _conda_entries(repo, conda)[0]:
            name, _, version = entry.partition("=")
            if name.strip().lower() == "python" and version.strip():
                pythons.append((version.strip().lstrip("=").split("=")[0], conda.path))
    if pythons:
        found["python_version"] = (pythons, "")
    return found


def _packages(root: Path) -> list[str]:
    """Top-level import packages of the repository (flat and src layouts)."""
    names = []
    for base in (root / "src", root):
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            if (
                child.is_dir()
                and not child.is_symlink()
                and (child / "__init__.py").is_file()
                and child.name not in ("tests", "test", "docs", "notebooks", "scripts")
            ):
                names.append(child.name if base.name != "src" or base == root else f"src/{child.name}")
    return names


_CONTEXT_KEYS = {
    "project_name": ("project_slug", "repo_name", "project_name", "package_name"),
    "package_name": ("module_name", "package_name", "project_slug", "repo_name"),
    "description": ("description", "project_description", "project_short_description"),
    "author_name": ("author_name", "author", "full_name"),
    "author_email": ("author_email", "email"),
    "python_version": ("python_version", "python_version_number", "python"),
}


def infer_answers(
    root: Path, origin: CookiecutterOrigin | None
) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Answers to the template's questions found in the repository, where each came from, and notes."""
    from mlops_scaffold.assess.detectors import CI_VENDORS
    from mlops_scaffold.assess.scan import Repository
    from mlops_scaffold.generate import check_package_name, package_name_for

    notes: list[str] = []
    repo = Repository(str(root))
    found = _metadata(root, repo)
    if origin is not None:
        for key, candidates in _CONTEXT_KEYS.items():
            for candidate in candidates:
                value = origin.context.get(candidate)
                if isinstance(value, str | int | float) and str(value).strip() and key not in found:
                    found[key] = (str(value), f"cookiecutter context ({origin.source})")
                    break
    answers: dict[str, Any] = {}
    sources: dict[str, str] = {}

    raw_name = found.get("project_name", (root.name, "the directory name"))
    name = _clean_name(str(raw_name[0])) or _clean_name(root.name) or "project"
    answers["project_name"], sources["project_name"] = name, raw_name[1]

    packages = _packages(root)
    wanted = name.lower().replace("-", "_")
    ordered = sorted(packages, key=lambda p: p.split("/")[-1] != wanted)
    package: str | None = None
    package_source = ""
    for candidate in [p.split("/")[-1] for p in ordered] + (
        [str(found["package_name"][0])] if "package_name" in found else []
    ):
        try:
            package = check_package_name(candidate)
            package_source = (
                "the repository's package"
                if candidate in [p.split("/")[-1] for p in packages]
                else (found["package_name"][1])
            )
            break
        except InvalidNameError:
            continue
    if package is None:
        try:
            package, package_source = package_name_for(name), "derived from the project name"
        except InvalidNameError:
            package, package_source = "ml_project", "a placeholder (the project name is not a valid package)"
    answers["package_name"], sources["package_name"] = package, package_source
    flat = [p for p in packages if "/" not in p and p == package]
    if flat:
        notes.append(
            f"Your package is at {package}/ (flat layout) and the template's at src/{package}/: move yours "
            f"under src/ (`git mv {package} src/{package}`) so both are one package, or adopt with "
            "--data package_name=<another name>."
        )

    for key in ("description", "author_name", "author_email"):
        if key in found:
            answers[key], sources[key] = str(found[key][0]).strip(), found[key][1]
    if "python_version" in found:
        value, source = found["python_version"]
        constraints = value if isinstance(value, list) else [(str(value), source)]
        choice, note = python_choice(constraints)
        if note:
            notes.append(note)
        if choice:
            answers["python_version"] = choice
            where = " and ".join(dict.fromkeys(s for _, s in constraints))
            sources["python_version"] = f"{CLOSEST} ({where})" if note else where

    if any(f.path.startswith(".github/workflows/") for f in repo.files):
        answers["ci"], sources["ci"] = "github", ".github/workflows"
    elif repo.named(".gitlab-ci.yml"):
        answers["ci"], sources["ci"] = "gitlab", ".gitlab-ci.yml"
    else:
        from mlops_scaffold.assess.detectors import find_pipelines

        others = sorted({p.vendor for p in find_pipelines(repo)})
        if others:
            notes.append(
                f"The repository uses {', '.join(CI_VENDORS[v] for v in others)}; the template writes GitHub "
                "Actions or GitLab CI (--data ci=gitlab): port its jobs to your CI, then delete its files."
            )
    framework = None
    for file in repo.python_files():
        facts = repo.python(file)
        if facts and facts.uses("torch", "lightning", "pytorch_lightning"):
            framework = ("pytorch", f"imports torch ({file.path})")
            break
    if framework is None and any(f.own for f in repo.python_files()):
        framework = ("sklearn", "no PyTorch import")
    if framework:
        answers["framework"], sources["framework"] = framework
    return answers, sources, notes


# --- dependencies carried over ----------------------------------------------------------------------------

_CONDA_FILES = ("environment.yml", "environment.yaml", "conda.yml", "conda.yaml")
# conda packages that are no PyPI distribution (the interpreter, pip, CUDA and system libraries)
_CONDA_ONLY = frozenset(
    {"python", "pip", "cudatoolkit", "cudnn", "nccl", "mkl", "nomkl", "openssl", "ca-certificates", "blas"}
)
# conda names whose PyPI distribution is named otherwise
_CONDA_TO_PYPI = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "py-xgboost": "xgboost",
    "py-opencv": "opencv-python",
    "python-graphviz": "graphviz",
    "pytables": "tables",
    "matplotlib-base": "matplotlib",
}


def conda_files(repo: Repository) -> list[File]:
    """The repository's conda environments: environment.yml or conda.yaml at the root; without one,
    the files shaped like one (``dependencies`` with ``channels`` or ``name``: MLflow's conda.yaml,
    Azure ML's train-conda.yml) outside tests and docs, CI and development ones left out."""
    at_root = [f for f in repo.named(*_CONDA_FILES) if not f.dirs]
    if at_root:
        return at_root
    from mlops_scaffold.assess.scan import tokens

    shaped = []
    for file in repo.suffixed(".yml", ".yaml"):
        doc = repo.first(file) if file.own else {}
        if (
            isinstance(doc.get("dependencies"), list)
            and ("channels" in doc or "name" in doc)
            and not tokens(file.stem) & {"ci", "test", "tests", "dev", "docs", "lint"}
        ):
            shaped.append(file)
    return shaped[:5]


def _conda_entries(repo: Repository, file: File) -> tuple[list[str], list[str]]:
    """(conda package specs, pip requirement lines) of a conda environment file."""
    dependencies = repo.first(file).get("dependencies")
    conda: list[str] = []
    pip: list[str] = []
    for item in dependencies if isinstance(dependencies, list) else []:
        if isinstance(item, str):
            conda.append(item.strip())
        elif isinstance(item, dict) and isinstance(item.get("pip"), list):
            pip += [line.strip() for line in item["pip"] if isinstance(line, str)]
    return conda, pip


def _from_conda(spec: str) -> str | None:
    """A conda package spec as a PEP 508 requirement ('numpy=1.26' -> 'numpy==1.26.*'); None for
    what PyPI does not have (python, pip, CUDA and system libraries, R packages)."""
    spec = spec.split("::")[-1].strip()  # conda-forge::numpy
    match = re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", spec)
    if match is None:
        return None
    name, rest = match.group(1), match.group(2).strip()
    name = _CONDA_TO_PYPI.get(name.lower(), name)
    if name.lower() in _CONDA_ONLY or name.lower().startswith(("r-", "lib", "cuda-", "_")):
        return None
    if not rest:
        return name
    if rest[0].isdigit():
        rest = "=" + rest.replace(" ", "=")  # 'numpy 1.26.*' is 'numpy=1.26.*'
    if rest.startswith("=") and not rest.startswith("=="):
        version = rest[1:].split("=")[0]  # a build string ('=py311h64a7726_0') says nothing to pip
        exact = version.count(".") >= 2 or version.endswith("*")
        return f"{name}=={version}" if exact else f"{name}=={version}.*"
    return f"{name}{rest}"


def carried_dependencies(
    repo: Repository, answers: Mapping[str, Any], declared: list[str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """The repository's dependencies that the template's pyproject.toml (``declared``) lacks:
    (requirement, where it is written) from pyproject.toml's [project] dependencies, a root
    requirements.txt and its conda environments (their pip section as written, their conda
    packages as PyPI requirements), and notes on what was left out."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    def name_of(requirement: str) -> str:
        return canonicalize_name(Requirement(requirement).name)

    template = {name_of(r): r for r in declared}
    wanted: list[tuple[str, str]] = []
    for file in repo.named("pyproject.toml"):
        if not file.dirs:
            project = repo.first(file).get("project")
            lines = project.get("dependencies") if isinstance(project, dict) else None
            wanted += [(line, file.path) for line in lines or [] if isinstance(line, str)]
    for file in repo.named("requirements.txt"):
        if not file.dirs:
            wanted += [
                (line.split(" #")[0].strip(), file.path) for line in (repo.text(file) or "").split("\n")
            ]
    skipped: list[str] = []
    for file in conda_files(repo):
        conda, pip = _conda_entries(repo, file)
        for spec in conda:
            requirement = _from_conda(spec)
            if requirement is None:
                skipped.append(spec)
            else:
                wanted.append((requirement, file.path))
        wanted += [(line, file.path) for line in pip]
    own = {canonicalize_name(str(answers.get(k, ""))) for k in ("project_name", "package_name")}
    carried: dict[str, tuple[str, str]] = {}
    kept: list[str] = []
    unreadable: list[str] = []
    for line, source in wanted:
        if not line or line.startswith(("#", "-")):
            continue  # comments and pip options (-r, -e ., --index-url)
        try:
            name = name_of(line)
        except InvalidRequirement:
            unreadable.append(f"{line} ({source})")
            continue
        if name in own or name in carried:
            continue
        if name == "torch" and answers.get("framework") == "pytorch":
            kept.append(f"{line} ({source}: the template's cpu and cuda groups pin torch)")
        elif name in template:
            if Requirement(line).specifier:
                kept.append(f"{line} ({source}: the template's {template[name]} is kept)")
        else:
            carried[name] = (line, source)
    notes = []
    if carried:
        where = ", ".join(dict.fromkeys(source for _, source in carried.values()))
        notes.append(
            f"pyproject.toml: {len(carried)} of your dependencies carried over from {where}: "
            + ", ".join(line for line, _ in carried.values())
            + "."
        )
    if kept:
        notes.append("Not carried over, the template declares them: " + "; ".join(kept) + ".")
    if skipped:
        notes.append("conda packages not carried over (not on PyPI): " + ", ".join(skipped) + ".")
    if unreadable:
        notes.append("Requirements not carried over (not PEP 508): " + "; ".join(unreadable) + ".")
    # The lines are the repository's text: shown escaped, so they cannot drive the terminal.
    return list(carried.values()), [printable(note) for note in notes]


def _add_dependencies(pyproject: Path, requirements: list[tuple[str, str]]) -> bool:
    """Add requirements to the rendered pyproject.toml's [project] dependencies (last, commented)."""
    import tomllib

    text = pyproject.read_text(encoding="utf-8")
    start = text.find("\ndependencies = [\n")
    end = text.find("\n]\n", start)
    if start < 0 or end < 0:
        return False
    sources = ", ".join(dict.fromkeys(source for _, source in requirements))
    lines = [f"    # Carried over by `mlops-scaffold adopt` from {sources}."]
    lines += [f"    {json.dumps(line)}," for line, _ in requirements]
    updated = text[: end + 1] + "\n".join(lines) + text[end:]
    try:
        data = tomllib.loads(updated)
    except tomllib.TOMLDecodeError:
        return False
    if len(data["project"]["dependencies"]) != len(tomllib.loads(text)["project"]["dependencies"]) + len(
        requirements
    ):
        return False
    pyproject.write_text(updated, encoding="utf-8")
    return True


# --- merging -------------------------------------------------------------------------------------------


def _lines(data: bytes) -> list[bytes]:
    lines = data.splitlines(keepends=True)
    if lines and not lines[-1].endswith(b"\n"):
        lines[-1] += b"\n"
    return lines


def two_way_merge(ours: bytes, theirs: bytes) -> tuple[bytes, bool]:
    """Lines both sides share kept once; each difference a conflict block (ours first). No byte dropped."""
    a, b = _lines(ours), _lines(theirs)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    out: list[bytes] = []
    conflicts = False
    pending: tuple[list[bytes], list[bytes]] | None = None
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            # Blank lines between two differences do not split them into two conflicts.
            if pending is not None and all(not line.strip() for line in a[i1:i2]) and i2 < len(a):
                pending[0].extend(a[i1:i2])
                pending[1].extend(b[j1:j2])
                continue
            if pending is not None:
                out += _block(*pending)
                pending = None
            out.extend(a[i1:i2])
            continue
        conflicts = True
        if pending is None:
            pending = ([], [])
        pending[0].extend(a[i1:i2])
        pending[1].extend(b[j1:j2])
    if pending is not None:
        out += _block(*pending)
    return b"".join(out), conflicts


def _block(ours: list[bytes], theirs: list[bytes]) -> list[bytes]:
    return [
        f"<<<<<<< {OURS_LABEL}\n".encode(),
        *ours,
        b"=======\n",
        *theirs,
        f">>>>>>> {THEIRS_LABEL}\n".encode(),
    ]


def _keeps(ours: bytes, merged: bytes) -> bool:
    """Whether every line of ``ours`` is still in ``merged``, in order."""
    remaining = iter(_lines(merged))
    return all(any(line == candidate for candidate in remaining) for line in _lines(ours))


def three_way_merge(ours: bytes, base: bytes, theirs: bytes, scratch: Path) -> tuple[bytes, bool] | None:
    """git's 3-way merge (diff3 conflict style); None when it would drop a line of ``ours``."""
    from mlops_scaffold import vcs

    try:
        merged, conflicted = vcs.merge_file(
            scratch, ours, base, theirs, labels=(OURS_LABEL, BASE_LABEL, THEIRS_LABEL), diff3=True
        )
    except vcs.GitError:
        return None
    return (merged, conflicted) if _keeps(ours, merged) else None


def _binary(data: bytes) -> bool:
    if b"\0" in data[:8192]:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


# --- the cookiecutter merge base ----------------------------------------------------------------------


_GIT_REF = re.compile(r"[0-9A-Za-z][0-9A-Za-z._/-]{0,199}")


def _template_checkout(
    origin: CookiecutterOrigin | None, explicit: Path | None, scratch: Path
) -> tuple[Path | None, str, list[str]]:
    """A local folder holding the cookiecutter template (at the recorded commit when it is a git repo),
    what it is, and notes on the template locations that were not looked at.

    A location the repository records is used only when it is absolute (or ``~/...``): a relative
    one would be resolved against the current directory, which the repository does not choose.
    A recorded commit is used only when it looks like a commit or ref name (never an option).
    """
    from urllib.parse import urlparse

    from mlops_scaffold import vcs

    candidates: list[Path] = []
    skipped: list[str] = []
    if explicit is not None:
        candidates.append(explicit.expanduser().absolute())
    if origin is not None:
        for location in (origin.template, origin.repo_dir):
            if not location or not isinstance(location, str):
                continue
            parsed = urlparse(location)
            if not parsed.scheme or parsed.scheme == "file":
                local = Path(parsed.path or location).expanduser()
                if local.is_absolute():
                    candidates.append(local)
                else:
                    skipped.append(
                        f"The cookiecutter template path '{printable(location)[:200]}' in {origin.source} "
                        "is relative, so it "
                        "was not looked up (it would depend on the current directory)."
                    )
            else:
                try:
                    from cookiecutter.config import get_user_config

                    cache = Path(get_user_config()["cookiecutters_dir"]).expanduser()
                except Exception:  # no usable cookiecutter configuration: no clone cache either
                    continue
                name = parsed.path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
                if name and name not in (".", ".."):
                    candidates.append(cache / name)
    commit = origin.commit if origin is not None and isinstance(origin.commit, str) else None
    if commit is not None and not _GIT_REF.fullmatch(commit):
        skipped.append(f"The recorded template commit {commit[:40]!r} is not a commit name; it was ignored.")
        commit = None
    for folder in candidates:
        if not folder.is_dir():
            continue
        is_git = vcs.run(folder, "rev-parse", "--is-inside-work-tree").returncode == 0
        if is_git and commit:
            clone = scratch / "cookiecutter-template"
            steps = (
                (scratch, ("clone", "--quiet", "--shared", "--no-checkout", "--", str(folder), str(clone))),
                (clone, ("-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit)),
            )
            if all(vcs.run(cwd, *args).returncode == 0 for cwd, args in steps):
                named = printable(str(origin.template if origin else folder))
                return clone, f"{named} at {commit[:12]}", skipped
            shutil.rmtree(clone, ignore_errors=True)
            continue  # that checkout does not hold the recorded commit
        return folder, printable(str(origin.template if origin and origin.template else folder)), skipped
    return None, "", skipped


def render_cookiecutter_base(
    origin: CookiecutterOrigin | None, explicit: Path | None, scratch: Path
) -> tuple[Path | None, str | None, list[str]]:
    """The project as its cookiecutter template renders it with its recorded context.

    Returns (rendered project folder, what was rendered, notes: why no base could be made). The
    template is foreign input: it is rendered only in the sandbox (``sandbox``: sandboxed Jinja in
    a time- and memory-limited child process, no hooks, no extensions, no path outside the output),
    whether the repository named it or ``explicit`` (--cookiecutter-template) did.
    """
    from mlops_scaffold.sandbox import SandboxError, render_cookiecutter

    if origin is None and explicit is None:
        return None, None, []
    template, label, notes = _template_checkout(origin, explicit, scratch)
    if template is None:
        if explicit is not None:
            raise CookiecutterBaseError(template=str(explicit), reason="it is not a directory")
        where = printable(origin.template) if origin and isinstance(origin.template, str) else "its template"
        found = "was not looked up" if notes else "is not available on this machine"
        notes.append(
            f"The cookiecutter context comes from {origin.source if origin else '?'}, but {where} {found}, "
            "so files both sides have are merged without a base (--cookiecutter-template DIR names a "
            "local checkout)."
        )
        return None, None, notes
    recorded = {k: v for k, v in (origin.context if origin else {}).items() if not k.startswith("_")}
    directory = origin.directory if origin is not None and isinstance(origin.directory, str) else None
    try:
        project = render_cookiecutter(template, recorded, scratch, directory=directory)
    except SandboxError as error:  # a template that cannot be rendered only costs the merge base
        if explicit is not None:
            raise CookiecutterBaseError(template=str(explicit), reason=str(error)) from None
        notes.append(
            f"The cookiecutter template {label} could not be re-rendered as a merge base ({error}), so "
            "files both sides have are merged without a base."
        )
        return None, None, notes
    return project, label, notes


# --- adopt -----------------------------------------------------------------------------------------


def _files(root: Path) -> dict[str, Path]:
    found = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            path = Path(folder, name)
            found[path.relative_to(root).as_posix()] = path
    return found


@dataclass
class _Change:
    path: str
    kind: str  # added, merged, conflict
    data: bytes
    mode: int
    base: bytes | None = None
    theirs: bytes = b""


def _plan(
    root: Path, render: Path, base: Path | None, scratch: Path, tracked: set[str]
) -> tuple[list[_Change], list[str], list[str], list[str]]:
    """The changes adopting makes: (changes, unchanged, kept, notes).

    ``tracked``: the repository's files that git tracks (relative to ``root``). Any other file
    (an ignored one) is left alone: git could not give back its bytes, nor show what changed.
    """
    changes: list[_Change] = []
    unchanged: list[str] = []
    kept: list[str] = []
    notes: list[str] = []
    for rel, source in sorted(_files(render).items()):
        target = root / rel
        theirs = source.read_bytes()
        mode = stat.S_IMODE(source.stat().st_mode)
        blocked = next(
            (
                p
                for p in [*reversed(target.parents)]
                if p.is_relative_to(root)
                and p != root
                and (p.is_symlink() or (p.exists() and not p.is_dir()))
            ),
            None,
        )
        if blocked is not None or target.is_symlink() or target.is_dir():
            kept.append(rel)
            what = blocked or target
            notes.append(
                f"{rel}: not written, {what.relative_to(root)} is a "
                f"{'symlink' if what.is_symlink() else 'file' if what.is_file() else 'folder'} in the "
                "repository."
            )
            continue
        if not target.exists():
            changes.append(_Change(rel, "added", theirs, mode))
            continue
        if rel == LOCK_FILE:
            continue  # never merged as text: regenerated from the merged pyproject.toml (_relock)
        if rel not in tracked:
            kept.append(rel)
            notes.append(
                f"{rel}: yours is kept as it is; it is not tracked by git (ignored), so the template's "
                "version was not merged into it (git could neither show nor undo that)."
            )
            continue
        if target.stat().st_size > MAX_MERGE_BYTES:
            kept.append(rel)
            notes.append(
                f"{rel}: yours is kept; it is larger than {MAX_MERGE_BYTES // 1_000_000} MB, so it "
                "was not merged."
            )
            continue
        ours = target.read_bytes()
        if ours == theirs:
            unchanged.append(rel)
            continue
        own_mode = stat.S_IMODE(target.stat().st_mode)
        if _binary(ours) or _binary(theirs):
            kept.append(rel)
            notes.append(
                f"{rel}: yours is kept; the template's differs and is not text, so it was not merged."
            )
            continue
        base_file = base / rel if base is not None else None
        base_data = base_file.read_bytes() if base_file is not None and base_file.is_file() else None
        result = three_way_merge(ours, base_data, theirs, scratch) if base_data is not None else None
        merged, conflicted = result if result is not None else two_way_merge(ours, theirs)
        if merged == ours:
            unchanged.append(rel)
            continue
        kind = "conflict" if conflicted else "merged"
        changes.append(
            _Change(rel, kind, merged, own_mode, base_data if result is not None else None, theirs)
        )
    return changes, unchanged, kept, notes


def _relock(root: Path, changes: list[_Change], scratch: Path, *, dry_run: bool) -> list[str]:
    """Regenerate the repository's uv.lock from the merged pyproject.toml; never merge two locks.

    A lock file merged line by line is hundreds of conflict blocks (or a clean merge no resolver
    made). So when the repository has a uv.lock and adopting changes its pyproject.toml, `uv lock`
    runs on the merged pyproject.toml in a scratch folder, starting from the repository's lock
    (uv keeps its versions where they still fit), and the result replaces uv.lock. When
    pyproject.toml has conflict blocks, or uv cannot resolve, uv.lock stays as it is and a note
    says what to run. (A repository without a uv.lock gets the template's, as any added file.)
    Returns the notes; adds the regenerated lock to ``changes``.
    """
    from mlops_scaffold.locking import relock

    lock = root / LOCK_FILE
    pyproject = next((c for c in changes if c.path == "pyproject.toml"), None)
    if not lock.is_file() or lock.is_symlink() or pyproject is None:
        return []
    later = "then run `uv lock` (or `make lock`) so that uv.lock holds your dependencies and the template's"
    if pyproject.kind == "conflict":
        return [
            f"uv.lock is kept as it was (lock files are regenerated, never merged): resolve pyproject.toml, "
            f"{later}."
        ]
    if dry_run:
        return ["uv.lock would be regenerated with `uv lock` from the merged pyproject.toml."]
    folder = scratch / "relock"
    folder.mkdir()
    (folder / "pyproject.toml").write_bytes(pyproject.data)
    (folder / LOCK_FILE).write_bytes(lock.read_bytes())
    reason = relock(folder)
    if reason is not None:
        return [f"uv.lock is kept as it was: `uv lock` could not regenerate it ({reason}); {later}."]
    locked = (folder / LOCK_FILE).read_bytes()
    if locked != lock.read_bytes():
        changes.append(_Change(LOCK_FILE, "merged", locked, stat.S_IMODE(lock.stat().st_mode)))
    return [
        "uv.lock was regenerated with `uv lock` from the merged pyproject.toml, starting from yours (lock "
        "files are never merged as text): run `uv sync` and your tests before you commit."
    ]


def _refuse_answers_file(root: Path) -> None:
    from mlops_scaffold.bounded import NotRead, load_yaml
    from mlops_scaffold.project import MAX_ANSWERS_BYTES, read_project

    if not (root / ANSWERS_FILE).exists() and not (root / ANSWERS_FILE).is_symlink():
        return
    try:
        project = read_project(root)
    except NotAGeneratedProjectError:
        text = _read_text(root / ANSWERS_FILE, limit=MAX_ANSWERS_BYTES)
        try:
            answers = load_yaml(text) if text is not None else None
        except (yaml.YAMLError, NotRead):
            answers = None
        source = answers.get("_src_path") if isinstance(answers, dict) else None
        shown = printable(source)[:200] if isinstance(source, str) else "unreadable"
        raise AnswersFileTakenError(path=root, source=shown) from None
    raise AlreadyAdoptedError(path=root, level=project.level)


def _apply(changes: list[_Change], root: Path, top: Path, scratch: Path) -> None:
    """Write the changes and record conflicts as unmerged paths, all or nothing (``transaction``)."""
    from mlops_scaffold import transaction, vcs

    rel = root.relative_to(top).as_posix()
    prefix = f"{rel}/" if rel and rel != "." else ""
    staged = scratch / "staged"
    staged.mkdir()
    try:
        with transaction.atomic(root, index_file=vcs.index_file(top)) as written:
            tracked = vcs.index_entries(top, rel or ".")
            for number, change in enumerate(changes):
                source = staged / str(number)
                source.write_bytes(change.data)
                os.chmod(source, change.mode)
                written.copy(source, change.path)
            # Conflicts become unmerged paths, as git and `copier update` leave them: stage 1 the
            # cookiecutter base (when there is one), stage 2 yours (HEAD's blob), stage 3 the template's.
            updates: dict[str, list[str]] = {}
            for change in changes:
                path = prefix + change.path
                ours = [meta for meta in tracked.get(path, []) if meta.split()[2] == "0"]
                if change.kind != "conflict" or not ours:
                    continue  # an untracked (ignored) file has no index entry to mark
                mode, ours_sha = ours[0].split()[:2]
                stages = [f"{mode} {ours_sha} 2", f"{mode} {vcs.write_blob(top, change.theirs)} 3"]
                if change.base is not None:
                    stages.insert(0, f"{mode} {vcs.write_blob(top, change.base)} 1")
                updates[path] = stages
            if updates:
                vcs.set_index_entries(top, updates)
    except KeyboardInterrupt:
        raise AdoptInterruptedError() from None
    except ScaffoldError:
        raise
    except (OSError, vcs.GitError) as error:
        raise AdoptFailedError(reason=f"writing the files failed: {error}") from None
    if written.signals:  # Ctrl-C or SIGTERM came while writing: the writing finished first
        raise RunInterruptedError(
            outcome="the repository had been adopted when it came. Review it with `git status` and "
            "`git diff`, resolve any conflicts, then commit."
        )


def _capabilities_added(level: int, assessment: Any) -> list[dict[str, Any]]:
    missing = {f.key for f in assessment.findings if not f.found}
    return [
        {"key": c.key, "title": c.title, "level": lv.number, "required": c.required}
        for lv in all_levels()
        if lv.number <= level
        for c in lv.capabilities
        if c.key in missing
    ]


def _refuse_not_ml(
    root: Path, assessment: Any, *, force: bool, dry_run: bool, confirm: Confirm | None
) -> list[str]:
    """Refuse a repository `assess` does not find to be an ML project, unless forced or confirmed.

    Returns the notes to report when it goes on anyway.
    """
    from mlops_core.errors import NotAnMLProjectError

    if assessment.kind == "ml_project":
        return []
    fix = ""
    if assessment.kind == "monorepo":
        projects = [p.path.relative_to(root).as_posix() for p in assessment.projects if p.ml_project]
        fix = (
            "Adopt each project on its own: "
            + ", ".join(f"`mlops-scaffold adopt {root / p}`" for p in projects[:3])
            + " (or pass --force to adopt the root anyway; nothing was changed)."
        )
    elif assessment.kind == "template":
        fix = (
            "Adopt a project rendered from this template instead (or pass --force to adopt the template's "
            "own repository anyway; nothing was changed)."
        )
    if force:
        return [f"Adopted although `assess` says: {assessment.verdict}"]
    if dry_run:
        return [f"Adopting it needs --force (or a yes on a terminal), as `assess` says: {assessment.verdict}"]
    question = f"`assess` says: {assessment.verdict} Adopt it anyway?"
    if confirm is not None and confirm(question):
        return [f"Adopted on your word, although `assess` says: {assessment.verdict}"]
    raise NotAnMLProjectError(path=root, verdict=assessment.verdict, fix=fix)


def _carry_dependencies(root: Path, pyproject: Path, answers: Mapping[str, Any]) -> list[str]:
    """Carry the repository's dependencies into the rendered pyproject.toml; the notes to report."""
    import tomllib

    from mlops_scaffold.assess.scan import Repository

    try:
        declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return []
    carried, notes = carried_dependencies(Repository(str(root)), answers, declared)
    if carried and not _add_dependencies(pyproject, carried):
        return [f"Your dependencies could not be added to the template's pyproject.toml: {carried}."]
    return notes


def adopt(
    path: Path | str,
    *,
    level: object = None,
    data: Mapping[str, Any] | None = None,
    ask: Ask | None = None,
    dry_run: bool = False,
    cookiecutter_template: Path | str | None = None,
    on_progress: Progress | None = None,
    force: bool = False,
    confirm: Confirm | None = None,
) -> AdoptResult:
    """Bring the repository at ``path`` onto the template at ``level`` (default: its assessed level).

    Conflicts are not an error here: they are in ``AdoptResult.conflicts`` (the CLI exits with
    AdoptConflictsError). A repository that `assess` does not find to be an ML project (no ML, a
    project template, a monorepo's root) is adopted only with ``force``, or when ``confirm`` (a
    person asked on a terminal) says yes; otherwise NotAnMLProjectError, nothing changed (a dry run
    goes on, with a note). See the module docstring for the steps and guarantees.
    """
    from mlops_scaffold import vcs
    from mlops_scaffold.assess import assess
    from mlops_scaffold.generate import _render, check_data
    from mlops_scaffold.template_store import ensure_version

    report = on_progress or (lambda _message: None)
    if level is not None:
        get_level(level)  # an unknown level is refused before anything else
    data = check_data(data or {}, command="adopt")
    root = full_path(path)
    if not root.is_dir():
        reason = "does not exist" if not root.exists() else "is not a directory"
        raise InvalidInputError(
            f"Cannot adopt '{root}': it {reason}.", fix="Pass the root directory of a repository."
        )
    report("Checking the repository")
    _refuse_answers_file(root)
    top = vcs.top(root)
    if top is None:
        raise NotAGitRepositoryError(path=root, command="adopt")
    try:
        has_head = vcs.has_head(top)
        dirty = vcs.uncommitted_files(root, top)
        spec = root.relative_to(top).as_posix()
        tracked = {path.removeprefix(f"{spec}/") for path in vcs.index_entries(top, spec)}
    except vcs.GitError as error:
        raise AdoptFailedError(reason=str(error)) from None
    if dirty or not has_head:
        raise DirtyTreeError(files=dirty or ["(the repository has no commit yet)"], command="adopt")

    report("Assessing the repository")
    assessment = assess(root)
    refusal_notes = _refuse_not_ml(root, assessment, force=force, dry_run=dry_run, confirm=confirm)
    if level is None:
        chosen = max((n for n in built_levels() if n <= assessment.level), default=min(built_levels()))
    else:
        chosen = require_built(level).number
    level_info = get_level(chosen)

    origin = find_cookiecutter_origin(root)
    answers, sources, notes = infer_answers(root, origin)
    notes[:0] = refusal_notes
    for key, value in data.items():
        answers[key], sources[key] = value, "--data"
    defaults = _template_defaults()
    for key in _QUESTIONS:
        if key == "ci" and chosen < 1:  # copier.yml asks `ci` from level 1 only
            continue
        if ask is not None and sources.get(key, "").startswith(CLOSEST):
            # No version the template offers fits the repository: a person decides (the note says why).
            answers[key], sources[key] = ask(key, _question_help(key), str(answers[key])), "asked"
            continue
        if key in answers:
            continue
        default = str(defaults.get(key, ""))
        if ask is not None:
            answers[key], sources[key] = ask(key, _question_help(key), default), "asked"
        elif key in defaults:
            answers[key], sources[key] = default, "the template's default"
    for key, choices in _CHOICES.items():
        if key in answers and str(answers[key]) not in choices and sources.get(key) != "--data":
            notes.append(
                f"{key} '{answers[key]}' is not one of {', '.join(choices)}; using {defaults.get(key)}."
            )
            answers[key], sources[key] = defaults.get(key), "the template's default"
    from mlops_scaffold.generate import check_package_name

    check_package_name(str(answers["package_name"]))

    report("Preparing the template")
    tag = ensure_version()
    with _held_scratch() as scratch:
        # The merge base first: a --cookiecutter-template that cannot be rendered fails fast.
        if origin is not None or cookiecutter_template is not None:
            report("Re-rendering the cookiecutter template in a sandbox")
        base, base_label, base_notes = render_cookiecutter_base(
            origin, Path(cookiecutter_template) if cookiecutter_template else None, scratch
        )
        notes += base_notes
        report(f"Rendering the template at level {chosen}")
        render = scratch / "render"
        _render(tag, render, {**answers, "level": chosen}, defaults=True)
        notes += _carry_dependencies(root, render / "pyproject.toml", answers)
        report("Comparing the repository with the template")
        changes, unchanged, kept, plan_notes = _plan(root, render, base, scratch, tracked)
        notes += plan_notes
        notes += _relock(root, changes, scratch, dry_run=dry_run)
        if not dry_run:
            report("Writing the changes")
            try:
                _apply(changes, root, top, scratch)
            except vcs.GitError as error:
                raise AdoptFailedError(reason=str(error)) from None
        recorded = yaml.safe_load((render / ANSWERS_FILE).read_text(encoding="utf-8"))

    by_kind = {
        kind: sorted(c.path for c in changes if c.kind == kind) for kind in ("added", "merged", "conflict")
    }
    added_caps = _capabilities_added(chosen, assessment)
    if added_caps:
        notes.insert(
            0,
            f"Level {chosen} adds to this repository: "
            + ", ".join(c["title"].lower() for c in added_caps)
            + ".",
        )
    if "pyproject.toml" in by_kind["merged"] + by_kind["conflict"] + by_kind["added"] and not any(
        LOCK_FILE in note for note in notes
    ):
        notes.append(
            "Dependencies changed: resolve pyproject.toml, then `uv lock` so the lock holds yours and the "
            "template's."
        )
    if not dry_run:
        notes.append(
            "Nothing was committed: review with `git status` and `git diff`"
            + (", resolve the conflicts and `git add` them" if by_kind["conflict"] else "")
            + ", then commit. From then on `mlops-scaffold upgrade --level N` moves the project up."
        )
    return AdoptResult(
        path=root,
        level=chosen,
        level_name=level_info.name,
        assessed_level=assessment.level,
        template_version=tag,
        dry_run=dry_run,
        answers={k: v for k, v in recorded.items() if not str(k).startswith("_")},
        answer_sources=sources,
        added=by_kind["added"],
        merged=by_kind["merged"],
        conflicts=by_kind["conflict"],
        unchanged=sorted(unchanged),
        kept=sorted(kept),
        capabilities=added_caps,
        merge_base=base_label,
        notes=notes,
    )


@contextmanager
def _held_scratch() -> Iterator[Path]:
    """A scratch directory in the system temp, held with an exclusive flock while adopt works in it.

    The lock is how mlops-scaffold's runs tell a working scratch directory from the leftover of a
    killed one (the kernel drops it when the process dies): a sweep of leftovers never takes it.
    """
    import fcntl

    with tempfile.TemporaryDirectory(prefix="mlops-scaffold-adopt.") as name:
        handle = os.open(name, os.O_RDONLY)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            yield Path(name)
        finally:
            os.close(handle)


def _template_defaults() -> dict[str, Any]:
    from mlops_core.resources import template_dir

    config = yaml.safe_load((template_dir() / "copier.yml").read_text(encoding="utf-8"))
    return {
        k: v.get("default")
        for k, v in config.items()
        if isinstance(v, dict) and "default" in v and "{{" not in str(v.get("default"))
    }


def _question_help(key: str) -> str:
    from mlops_core.resources import template_dir

    config = yaml.safe_load((template_dir() / "copier.yml").read_text(encoding="utf-8"))
    entry = config.get(key)
    return str(entry.get("help", key)) if isinstance(entry, dict) else key
