"""Bring an existing repository onto the mlops-scaffold template, keeping every file its owners have.

``adopt`` works in five steps, with the same guarantees as ``upgrade``:

1. Refuse, changing nothing, what cannot be adopted safely: an unknown or unavailable level, a
   directory that is not in git or has uncommitted changes, a repository already on the template
   (use ``upgrade``) or holding another copier template's answers file.
2. Work out the template's answers from the repository: pyproject.toml / setup.cfg / setup.py
   (name, description, authors, Python version), its package, CI vendor and framework, and for
   cookiecutter-based projects the cookiecutter context (``.cruft.json``, a ``.cookiecutter.json``
   or cookiecutter's replay file for this project). What is still unknown is asked on a terminal
   (``ask``) or taken from the template's defaults; ``data`` (``--data``) overrides everything.
   The level defaults to what ``assess`` finds.
3. Render the template at that level into a scratch directory, and, when the cookiecutter
   template the project came from is available locally (``.cruft.json``'s template, the replay's,
   cookiecutter's clone cache or ``cookiecutter_template``), re-render it with the project's
   context as the merge base, as cruft does.
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
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlops_scaffold.errors import (
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
from mlops_scaffold.levels import all_levels, built_levels, get_level, require_built
from mlops_scaffold.project import full_path

Progress = Callable[[str], None]
# (question, help text, default) -> answer; given only when a person can be asked.
Ask = Callable[[str, str, str], str]

ANSWERS_FILE = ".copier-answers.yml"
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


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
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


def _python_choice(spec: str) -> str | None:
    """The template's Python version for a version or specifier ('>=3.10' -> '3.11', '^3.12' -> '3.12')."""
    found = re.findall(r"3\.(\d+)", spec)
    if not found:
        return None
    minors = sorted(int(m) for m in found)
    if spec.strip().startswith(("<", "<=")) and len(minors) == 1:
        return None
    choices = [int(c.split(".")[1]) for c in _CHOICES["python_version"]]
    lowest = minors[0]
    fitting = [c for c in choices if c >= lowest]
    return f"3.{fitting[0]}" if fitting else None


def _metadata(root: Path) -> dict[str, tuple[Any, str]]:
    """name, description, authors and Python version from the packaging files."""
    found: dict[str, tuple[Any, str]] = {}

    def put(key: str, value: Any, source: str) -> None:
        if value and key not in found:
            found[key] = (value, source)

    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        import tomllib

        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
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
    setup_cfg = root / "setup.cfg"
    if setup_cfg.is_file():
        import configparser

        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read(setup_cfg, encoding="utf-8")
            meta = dict(parser["metadata"]) if parser.has_section("metadata") else {}
            options = dict(parser["options"]) if parser.has_section("options") else {}
        except (configparser.Error, UnicodeDecodeError):
            meta, options = {}, {}
        put("project_name", meta.get("name"), "setup.cfg")
        put("description", meta.get("description"), "setup.cfg")
        put("author_name", meta.get("author"), "setup.cfg")
        put("author_email", meta.get("author_email"), "setup.cfg")
        put("python_version", options.get("python_requires"), "setup.cfg")
    setup_py = root / "setup.py"
    if setup_py.is_file():
        import ast

        try:
            tree = ast.parse(setup_py.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
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
    python_version = root / ".python-version"
    if python_version.is_file():
        try:
            text = python_version.read_text(encoding="utf-8").strip().split("\n")[0]
        except (OSError, UnicodeDecodeError):
            text = ""
        if text:
            found["python_version"] = (text, ".python-version")
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
    from mlops_scaffold.generate import check_package_name, package_name_for

    notes: list[str] = []
    found = _metadata(root)
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
        choice = _python_choice(str(found["python_version"][0]))
        if choice:
            answers["python_version"], sources["python_version"] = choice, found["python_version"][1]
        else:
            notes.append(
                f"The repository's Python ({found['python_version'][0]}) is not one the template supports "
                f"({', '.join(_CHOICES['python_version'])})."
            )

    from mlops_scaffold.assess.scan import Repository

    repo = Repository(str(root))
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
    files = []
    for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
        path = scratch / f"merge.{name}"
        path.write_bytes(data)
        files.append(str(path))
    done = subprocess.run(
        [
            "git",
            "merge-file",
            "-p",
            "--diff3",
            "-L",
            OURS_LABEL,
            "-L",
            BASE_LABEL,
            "-L",
            THEIRS_LABEL,
            *files,
        ],
        capture_output=True,
        check=False,
    )
    if done.returncode < 0 or done.returncode > 127:
        return None
    merged = done.stdout
    return (merged, done.returncode > 0) if _keeps(ours, merged) else None


def _binary(data: bytes) -> bool:
    if b"\0" in data[:8192]:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


# --- the cookiecutter merge base ----------------------------------------------------------------------


def _template_checkout(
    origin: CookiecutterOrigin | None, explicit: Path | None, scratch: Path
) -> tuple[Path | None, str]:
    """A local folder holding the cookiecutter template (at the recorded commit when it is a git repo)."""
    from urllib.parse import urlparse

    candidates: list[Path] = []
    if explicit is not None:
        candidates.append(explicit.expanduser().absolute())
    if origin is not None:
        for location in (origin.template, origin.repo_dir):
            if not location:
                continue
            parsed = urlparse(location)
            if not parsed.scheme or parsed.scheme == "file":
                candidates.append(Path(parsed.path or location).expanduser())
            else:
                try:
                    from cookiecutter.config import get_user_config

                    cache = Path(get_user_config()["cookiecutters_dir"]).expanduser()
                except Exception:  # no usable cookiecutter configuration: no clone cache either
                    continue
                name = parsed.path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
                candidates.append(cache / name)
    for folder in candidates:
        if not folder.is_dir():
            continue
        commit = origin.commit if origin is not None else None
        is_git = (
            subprocess.run(
                ["git", "-C", str(folder), "rev-parse", "--is-inside-work-tree"],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )
        if is_git and commit:
            clone = scratch / "cookiecutter-template"
            steps = (
                ["git", "clone", "--quiet", "--shared", "--no-checkout", str(folder), str(clone)],
                ["git", "-C", str(clone), "-c", "advice.detachedHead=false", "checkout", "--quiet", commit],
            )
            if all(subprocess.run(s, capture_output=True, check=False).returncode == 0 for s in steps):
                return clone, f"{origin.template if origin else folder} at {commit[:12]}"
            shutil.rmtree(clone, ignore_errors=True)
            continue  # that checkout does not hold the recorded commit
        return folder, str(origin.template if origin and origin.template else folder)
    return None, ""


def render_cookiecutter_base(
    origin: CookiecutterOrigin | None, explicit: Path | None, scratch: Path
) -> tuple[Path | None, str | None, str | None]:
    """The project as its cookiecutter template renders it with its recorded context.

    Returns (rendered project folder, what was rendered, a note when no base could be made). Hooks
    do not run: the base is a reference for the merge, not a project to set up.
    """
    if origin is None and explicit is None:
        return None, None, None
    template, label = _template_checkout(origin, explicit, scratch)
    if template is None:
        where = origin.template if origin and origin.template else "its template"
        note = (
            f"The cookiecutter context comes from {origin.source if origin else '?'}, but {where} is not "
            "available on this machine, so files both sides have are merged without a base "
            "(--cookiecutter-template DIR names a local checkout)."
        )
        if explicit is not None:
            raise CookiecutterBaseError(template=str(explicit), reason="it is not a directory")
        return None, None, note
    if origin is not None and origin.directory:
        template = template / origin.directory
    try:
        from cookiecutter.generate import generate_context, generate_files
        from cookiecutter.prompt import prompt_for_config

        recorded = {k: v for k, v in (origin.context if origin else {}).items() if not k.startswith("_")}
        context = generate_context(
            context_file=str(template / "cookiecutter.json"), default_context={}, extra_context=recorded
        )
        context["cookiecutter"] = prompt_for_config(context, no_input=True)
        context["cookiecutter"]["_template"] = str(template)
        context["_cookiecutter"] = {k: v for k, v in context["cookiecutter"].items() if not k.startswith("_")}
        output = scratch / "cookiecutter-base"
        output.mkdir()
        project = generate_files(
            repo_dir=str(template), context=context, output_dir=str(output), accept_hooks=False
        )
        return Path(project), label, None
    except Exception as error:  # cookiecutter raises many kinds; a missing base only costs a 2-way merge
        if explicit is not None:
            raise CookiecutterBaseError(
                template=str(explicit), reason=str(error).strip() or type(error).__name__
            ) from None
        return None, None, f"The cookiecutter template could not be re-rendered as a merge base ({error})."


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
        if rel not in tracked:
            kept.append(rel)
            notes.append(
                f"{rel}: yours is kept as it is; it is not tracked by git (ignored), so the template's "
                "version was not merged into it (git could neither show nor undo that)."
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


def _refuse_answers_file(root: Path) -> None:
    from mlops_scaffold.project import read_project

    if not (root / ANSWERS_FILE).exists():
        return
    try:
        project = read_project(root)
    except NotAGeneratedProjectError:
        try:
            source = (yaml.safe_load((root / ANSWERS_FILE).read_text(encoding="utf-8")) or {}).get(
                "_src_path"
            )
        except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError):
            source = "unreadable"
        raise AnswersFileTakenError(path=root, source=source) from None
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


def adopt(
    path: Path | str,
    *,
    level: object = None,
    data: Mapping[str, Any] | None = None,
    ask: Ask | None = None,
    dry_run: bool = False,
    cookiecutter_template: Path | str | None = None,
    on_progress: Progress | None = None,
) -> AdoptResult:
    """Bring the repository at ``path`` onto the template at ``level`` (default: its assessed level).

    Conflicts are not an error here: they are in ``AdoptResult.conflicts`` (the CLI exits with
    AdoptConflictsError). See the module docstring for the steps and guarantees.
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
        raise NotAGitRepositoryError(path=root)
    try:
        has_head = vcs.has_head(top)
        dirty = vcs.uncommitted_files(root, top)
        spec = root.relative_to(top).as_posix()
        tracked = {path.removeprefix(f"{spec}/") for path in vcs.index_entries(top, spec)}
    except vcs.GitError as error:
        raise AdoptFailedError(reason=str(error)) from None
    if dirty or not has_head:
        raise DirtyTreeError(files=dirty or ["(the repository has no commit yet)"])

    report("Assessing the repository")
    assessment = assess(root)
    if level is None:
        chosen = max((n for n in built_levels() if n <= assessment.level), default=min(built_levels()))
    else:
        chosen = require_built(level).number
    level_info = get_level(chosen)

    origin = find_cookiecutter_origin(root)
    answers, sources, notes = infer_answers(root, origin)
    for key, value in data.items():
        answers[key], sources[key] = value, "--data"
    defaults = _template_defaults()
    for key in _QUESTIONS:
        if key in answers or (key == "ci" and chosen < 1):  # copier.yml asks `ci` from level 1 only
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
        report(f"Rendering the template at level {chosen}")
        render = scratch / "render"
        _render(tag, render, {**answers, "level": chosen}, defaults=True)
        base, base_label, base_note = render_cookiecutter_base(
            origin, Path(cookiecutter_template) if cookiecutter_template else None, scratch
        )
        if base_note:
            notes.append(base_note)
        report("Comparing the repository with the template")
        changes, unchanged, kept, plan_notes = _plan(root, render, base, scratch, tracked)
        notes += plan_notes
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
    if any(p in {"pyproject.toml"} for p in by_kind["merged"] + by_kind["conflict"] + by_kind["added"]):
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
    from mlops_scaffold.resources import template_dir

    config = yaml.safe_load((template_dir() / "copier.yml").read_text(encoding="utf-8"))
    return {
        k: v.get("default")
        for k, v in config.items()
        if isinstance(v, dict) and "default" in v and "{{" not in str(v.get("default"))
    }


def _question_help(key: str) -> str:
    from mlops_scaffold.resources import template_dir

    config = yaml.safe_load((template_dir() / "copier.yml").read_text(encoding="utf-8"))
    entry = config.get(key)
    return str(entry.get("help", key)) if isinstance(entry, dict) else key
