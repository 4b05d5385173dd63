"""Assess the MLOps maturity of any repository, with the files that prove it and a plan for the next level.

``assess(path)`` reads a repository (read-only) and returns an ``Assessment``:

- whether it is an ML project at all (``ml_project``: ML library imports or dependencies, model
  files, ML tool configuration); a repository without any gets a "not an ML project" verdict
  instead of a training-gap plan;
- for each capability of the levels manifest (maturity.yml), found or missing, with the files
  that prove it (``detectors``: parsed signals only, never a word match);
- a score per level and the level reached by the required capabilities (``rules``);
- the plan to the next level, required steps and recommended ones apart, fitted to the tools the
  repository uses (``plan``);
- template sources it contains (cookiecutter/copier/jinja), reported as templates, not scanned;
  a repository that is a project template (a cookiecutter.json, copier.yml or Databricks
  ``databricks_template_schema.json`` at its root, or template sources and no ML of its own) is
  reported as a template (``kind: template``), not as "not an ML project";
- a monorepo (``kind: monorepo``: two or more folders, each a package of its own, under a root
  that is not one) is assessed per project (``projects``), each with its own level, never pooled:
  a project's evidence is what lies in its folder plus the shared files (CI, Makefile, ...) that
  name it or name no project.

``assess_many`` and ``fleet_paths`` serve the fleet view (``fleet``: one row per repository in
text, JSON, Markdown and HTML).

The package is split by concern: ``scan`` (files, roles, parsing), ``detectors`` (evidence per
capability), ``rules`` (level and scores), ``plan`` (next-level steps), ``fleet`` (reports).
"""

from __future__ import annotations

import configparser
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlops_core.errors import InvalidInputError, ScaffoldError
from mlops_core.levels import CI_VENDORS, all_levels
from mlops_scaffold.assess.detectors import Evidence, run_detectors
from mlops_scaffold.assess.plan import Plan, Stack, Step, make_plan
from mlops_scaffold.assess.rules import Finding, LevelScore, level_reached, scores
from mlops_scaffold.assess.scan import MAX_FILES, MAX_TEXT_BYTES, File, Repository, TemplateSource, shown
from mlops_scaffold.project import full_path

__all__ = [
    "MAX_FILES",
    "MAX_TEXT_BYTES",
    "Assessment",
    "Evidence",
    "Finding",
    "LevelScore",
    "Plan",
    "Step",
    "assess",
    "assess_many",
    "find_projects",
    "fleet_paths",
]

EVIDENCE_PER_CAPABILITY = 5


@dataclass(frozen=True)
class Assessment:
    path: Path
    ml_project: bool
    level: int  # reached by the required capabilities (level 0 is the floor)
    level_name: str
    next_level: int | None  # the level the plan works toward (None: the top level is reached)
    next_level_name: str | None
    verdict: str  # one sentence: the level, or why there is none to speak of
    generated: bool  # on the mlops-scaffold template (generated or adopted)
    generated_level: int | None  # the level its answers file records
    template_version: str | None  # the template version its answers file records
    scores: list[LevelScore]
    findings: list[Finding]
    plan: Plan
    stack: Stack  # tools in use: ci, tracking, orchestrator, cloud, task_runner, packaging, git_host
    ml_signals: list[Evidence] = field(default_factory=list)
    templates: list[TemplateSource] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # What the repository is: "ml_project", "not_ml", "template" (a project template, see
    # ``templates``) or "monorepo" (several projects, each assessed in ``projects``).
    kind: str = "ml_project"
    projects: list[Assessment] = field(default_factory=list)
    error: str | None = None  # why a repository of a fleet could not be assessed (nothing else is set)

    def missing(self, level: int | None = None, *, required: bool | None = None) -> list[Finding]:
        return [
            f
            for f in self.findings
            if not f.found
            and (level is None or f.level == level)
            and (required is None or f.required == required)
        ]

    def missing_recommended(self) -> list[Finding]:
        """Recommended practices missing at the level reached and below it."""
        return [f for f in self.missing(required=False) if f.level <= self.level]

    @property
    def top_missing(self) -> Finding | None:
        """The first missing capability the plan asks for (required first)."""
        keys = [s.key for s in self.plan.required + self.plan.recommended]
        by_key = {f.key: f for f in self.findings if not f.found}
        return next((by_key[k] for k in keys if k in by_key), None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        data["projects"] = [project.to_dict() for project in self.projects]
        data["scores"] = [s.to_dict() for s in self.scores]
        data["plan"] = self.plan.to_dict()
        data["missing_recommended"] = [
            {"key": f.key, "title": f.title, "level": f.level} for f in self.missing_recommended()
        ]
        return data


def _generated_answers(root: Path, notes: list[str]) -> dict[str, Any] | None:
    """The answers of a project on the template; None otherwise (a refused answers file is noted)."""
    from mlops_core.errors import InvalidAnswersFileError
    from mlops_scaffold.project import read_project

    try:
        return read_project(root).answers
    except InvalidAnswersFileError as error:
        notes.append(f"Not used: {error.reason}; the repository was assessed without it.")
        return None
    except ScaffoldError:
        return None


def _git_host(root: Path) -> str | None:
    """The forge of the repository's first remote (github, gitlab, azure, bitbucket), if any."""
    from mlops_scaffold.bounded import NotRead, read_bytes

    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:  # read as text, never by git (which could run what it configures), and bounded
        parser.read_string(read_bytes(root / ".git" / "config", MAX_TEXT_BYTES).decode("utf-8"))
    except (configparser.Error, OSError, NotRead, UnicodeDecodeError):
        return None
    for section in parser.sections():
        url = parser.get(section, "url", fallback="") if section.startswith("remote") else ""
        for host, key in (
            ("github", "github"),
            ("gitlab", "gitlab"),
            ("dev.azure", "azure"),
            ("visualstudio", "azure"),
            ("bitbucket", "bitbucket"),
        ):
            if host in url:
                return key
    return None


_CLOUDS = {
    "sagemaker": "sagemaker",
    "stepfunctions": "sagemaker",
    "vertex": "vertex",
    "azureml": "azureml",
    "databricks": "databricks",
}


def _stack(found: dict[str, list[Evidence]], repo: Repository, root: Path) -> Stack:
    def tools(*keys: str) -> list[str]:
        counts = Counter(e.tool for k in keys for e in found.get(k, []) if e.tool)
        return [tool for tool, _ in counts.most_common()]

    every = [e for k, items in found.items() if not k.startswith("_") for e in items]
    clouds = Counter(_CLOUDS[e.tool] for e in every if e.tool in _CLOUDS)
    packaging = []
    for name, tool in (
        ("poetry.lock", "poetry"),
        ("uv.lock", "uv"),
        ("pdm.lock", "pdm"),
        ("environment.yml", "conda"),
        ("requirements.txt", "pip"),
    ):
        if repo.named(name):
            packaging.append(tool)
    for file in repo.named("pyproject.toml"):
        tool_table = repo.first(file).get("tool") or {}
        packaging += [
            t for t in ("poetry", "uv", "pdm", "hatch") if isinstance(tool_table, dict) and t in tool_table
        ]
    stack = {
        "ci": tools("ci"),
        "tracking": tools("experiment_tracking"),
        "orchestrator": tools("training_pipeline"),
        "cloud": [cloud for cloud, _ in clouds.most_common()],
        "task_runner": tools("task_runner"),
        "packaging": list(dict.fromkeys(packaging)),
        "git_host": [host] if (host := _git_host(root)) else [],
    }
    return {key: value for key, value in stack.items() if value}


def _manifest_evidence(
    answers: dict[str, Any], files: set[str], prefix: str = ""
) -> dict[str, list[Evidence]]:
    """For a project on the template: the files the manifest names for each capability.

    ``files`` are relative to the repository root; ``prefix`` is the project's folder in it.
    """
    package = str(answers.get("package_name") or "")
    ci = str(answers.get("ci") or "github")
    found: dict[str, list[Evidence]] = {}
    for level in all_levels():
        for capability in level.capabilities:
            vendors = [ci] + [v for v in CI_VENDORS if v != ci]
            paths = dict.fromkeys(
                prefix + p for v in vendors for p in capability.evidence_paths(package=package, ci=v)
            )
            found[capability.key] = [Evidence(p, "named by the level manifest") for p in paths if p in files]
    return found


_ENGINES = {"databricks": "Databricks bundle template"}
# Files whose presence at the root makes the repository a project template.
_TEMPLATE_ROOTS = ("cookiecutter.json", "copier.yml", "copier.yaml", "databricks_template_schema.json", ".")


def _template_repository(ml: bool, templates: list[TemplateSource]) -> bool:
    """A project template: its root holds the template's marker, or it holds template sources (from
    cookiecutter, copier or a Databricks bundle template) and no ML of its own."""
    return any(t.path in _TEMPLATE_ROOTS for t in templates) or (
        not ml and any(t.engine != "jinja" for t in templates)
    )


def _verdict(ml: bool, level: int, name: str, templates: list[TemplateSource], template: bool) -> str:
    if template:
        engines = ", ".join(
            sorted({_ENGINES.get(t.engine, t.engine) for t in templates if t.engine != "jinja"})
        )
        return (
            f"A project template ({engines or 'jinja'}), not a project: its template sources are reported as "
            "such and were not assessed; assess a project rendered from it."
        )
    if not ml:
        return (
            "Not an ML project: no ML library imports or dependencies, model files or ML tool configuration "
            "were found, so there is no training gap to report; its software practices are scored below."
        )
    return f"MLOps level {level} ({name})."


# Files that make a folder a project of its own (with its dependencies and name).
_PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "mlproject", "databricks.yml", "databricks.yaml")


def _names_a_project(repo: Repository, file: File) -> bool:
    """Whether a packaging file declares a project (not only tool settings, as a pyproject.toml can)."""
    if file.name == "pyproject.toml":
        data = repo.first(file)
        poetry = (data.get("tool") or {}).get("poetry") if isinstance(data.get("tool"), dict) else None
        return isinstance(data.get("project"), dict) or isinstance(poetry, dict)
    if file.name.startswith("databricks."):
        return isinstance(repo.first(file).get("bundle"), dict)
    return True


def find_projects(repo: Repository) -> list[str]:
    """The projects of a monorepo (their folders, relative to the root); [] for a single project.

    A project is a folder, below the root, with a packaging file that names a project
    (pyproject.toml with [project] or [tool.poetry], setup.py/setup.cfg, MLproject, a Databricks
    bundle) and Python code of its own; the outermost such folders are the projects. A repository
    is a monorepo when it has two or more and its root is not itself a package (a uv workspace root
    may be one). Folders that only hold a requirements.txt (a training or a serving image of one
    system, say) are parts of a project, not projects.
    """
    root_package = False
    for file in repo.named(*_PROJECT_FILES):
        if not file.dirs and _names_a_project(repo, file):
            tool = repo.first(file).get("tool") if file.name == "pyproject.toml" else None
            workspace = isinstance(tool, dict) and isinstance((tool.get("uv") or {}).get("workspace"), dict)
            root_package = root_package or not workspace
    if root_package:
        return []
    folders = sorted(
        {
            f.path.rsplit("/", 1)[0]
            for f in repo.named(*_PROJECT_FILES)
            if f.dirs and _names_a_project(repo, f)
        }
    )
    outermost = [f for f in folders if not any(f.startswith(f"{other}/") for other in folders)]
    code = {f.path.rsplit("/", 1)[0] for f in repo.python_files() if f.dirs}
    projects = [p for p in outermost if any(c == p or c.startswith(f"{p}/") for c in code)]
    return projects if len(projects) >= 2 else []


_TEXT_NAMES = ("makefile", "gnumakefile", "justfile", "dockerfile", "jenkinsfile")
_TEXT_SUFFIXES = (".yml", ".yaml", ".json", ".toml", ".cfg", ".ini", ".py", ".sh", ".tf", ".txt", ".mk")


def _project_files(repo: Repository, projects: list[str]) -> dict[str, list[File]]:
    """Each project's files: those in its folder, and the shared ones (outside every project) that
    name its folder, or name no project folder at all (then they serve every project)."""
    owned: dict[str, list[File]] = {project: [] for project in projects}
    shared: list[File] = []
    for file in repo.files:
        owner = next((p for p in projects if file.path.startswith(f"{p}/")), None)
        (owned[owner] if owner else shared).append(file)
    mention = {p: re.compile(rf"(?<![\w.-]){re.escape(p)}(?![\w-])") for p in projects}
    for file in shared:
        readable = file.suffix in _TEXT_SUFFIXES or file.stem in _TEXT_NAMES
        text = repo.text(file) if readable else None
        named = [p for p in projects if text and mention[p].search(text)]
        for project in named or projects:
            owned[project].append(file)
    return owned


def _monorepo(root: Path, repo: Repository, parts: list[Assessment]) -> Assessment:
    """A monorepo's assessment: its projects', with the capabilities every ML project has."""
    ml_parts = [p for p in parts if p.ml_project] or parts
    findings = []
    for index, finding in enumerate(ml_parts[0].findings):
        everywhere = all(p.findings[index].found for p in ml_parts)
        evidence = [e for p in ml_parts for e in p.findings[index].evidence] if everywhere else []
        findings.append(
            Finding(
                key=finding.key,
                title=finding.title,
                level=finding.level,
                required=finding.required,
                found=everywhere,
                evidence=evidence[:EVIDENCE_PER_CAPABILITY],
                more=max(0, len(evidence) - EVIDENCE_PER_CAPABILITY),
            )
        )
    level = min(p.level for p in ml_parts)
    level_name = next(lv.name for lv in all_levels() if lv.number == level)
    listed = "; ".join(
        f"{p.path.relative_to(root).as_posix()}: level {p.level}" + ("" if p.ml_project else " (not ML)")
        for p in parts
    )
    ml = any(p.ml_project for p in parts)
    verdict = f"A monorepo of {len(parts)} projects, each assessed on its own, never pooled ({listed}). " + (
        f"As a whole it is at its least mature ML project's level, {level}." if ml else "None is ML."
    )
    return Assessment(
        path=root,
        ml_project=ml,
        level=level,
        level_name=level_name,
        next_level=None,
        next_level_name=None,
        verdict=verdict,
        generated=False,
        generated_level=None,
        template_version=None,
        scores=scores(findings),
        findings=findings,
        plan=Plan(None, None),
        stack={},
        ml_signals=[s for p in parts for s in p.ml_signals][:EVIDENCE_PER_CAPABILITY],
        templates=repo.templates,
        notes=[
            *repo.notes,
            "Each project's plan is in its own assessment (`projects` in --json); a capability counts "
            "for the monorepo when every ML project has it.",
        ],
        kind="monorepo",
        projects=parts,
    )


def assess(path: Path | str) -> Assessment:
    """Inspect the repository at ``path`` (read-only) and place it on the maturity scale.

    A monorepo gets one assessment per project (``projects``), see ``find_projects``.
    """
    root = full_path(path)
    if not root.is_dir():
        reason = "does not exist" if not root.exists() else "is not a directory"
        raise InvalidInputError(
            f"Cannot assess '{root}': it {reason}.", fix="Pass the root directory of a repository."
        )
    repo = Repository(str(root))
    projects = find_projects(repo)
    if not projects:
        return _assess_files(root, repo, root)
    parts = [
        _assess_files(root / project, Repository(str(root), part_of=repo, files=files), root)
        for project, files in _project_files(repo, projects).items()
    ]
    return _monorepo(root, repo, parts)


def _assess_files(path: Path, repo: Repository, root: Path) -> Assessment:
    """The assessment of the project at ``path`` from ``repo``'s files (paths relative to ``root``)."""
    prefix = "" if path == root else f"{path.relative_to(root).as_posix()}/"
    found = run_detectors(repo)
    notes = list(repo.notes)
    answers = _generated_answers(path, notes)
    manifest = _manifest_evidence(answers, {f.path for f in repo.files}, prefix) if answers else {}

    findings: list[Finding] = []
    for manifest_level in all_levels():
        for capability in manifest_level.capabilities:
            evidence = list(manifest.get(capability.key, []))
            listed = {e.path for e in evidence}
            evidence += [e for e in found.get(capability.key, []) if e.path not in listed]
            evidence = [Evidence(shown(e.path), e.why, e.tool) for e in evidence]
            findings.append(
                Finding(
                    key=capability.key,
                    title=capability.title,
                    level=manifest_level.number,
                    required=capability.required,
                    found=bool(evidence),
                    evidence=evidence[:EVIDENCE_PER_CAPABILITY],
                    more=max(0, len(evidence) - EVIDENCE_PER_CAPABILITY),
                )
            )
    level_scores = scores(findings)
    level = level_reached(level_scores)
    level_name = next(lv.name for lv in all_levels() if lv.number == level)
    ml_signals = [Evidence(shown(e.path), e.why) for e in found.get("_ml", [])]
    ml = bool(ml_signals) or answers is not None
    stack = _stack(found, repo, root)
    notes += repo.not_read_notes()
    if prefix:
        notes.append(f"One project of the monorepo at {root}; evidence paths are relative to that root.")
    if answers is not None and int(answers.get("level", 0)) > level:
        notes.append(
            f"The answers file records level {answers.get('level')}, but not every required capability up "
            "to that level is present (see the plan)."
        )
    if repo.templates:
        shown_templates = ", ".join(f"{t.path} ({t.engine})" for t in repo.templates[:5])
        notes.append(
            f"Template sources, reported as templates and not assessed as project files: {shown_templates}."
        )

    def evidence_paths(key: str) -> list[str]:
        assert answers is not None
        capability = next(c for lv in all_levels() for c in lv.capabilities if c.key == key)
        return list(
            capability.evidence_paths(
                package=str(answers.get("package_name") or "*"), ci=str(answers.get("ci") or "github")
            )
        )

    plan = (
        make_plan(findings, level, stack, answers=answers, evidence_paths=evidence_paths)
        if ml
        else Plan(None, None)
    )
    template = _template_repository(ml, repo.templates) and answers is None
    if template:
        ml = False
        plan = Plan(None, None)
    return Assessment(
        path=path,
        ml_project=ml,
        level=level,
        level_name=level_name,
        next_level=plan.target_level,
        next_level_name=plan.target_name,
        verdict=_verdict(ml, level, level_name, repo.templates, template),
        generated=answers is not None,
        generated_level=int(answers["level"]) if answers is not None else None,
        template_version=str(answers.get("_commit")) if answers is not None else None,
        scores=level_scores,
        findings=findings,
        plan=plan,
        stack=stack,
        ml_signals=ml_signals[:EVIDENCE_PER_CAPABILITY],
        templates=repo.templates,
        notes=notes,
        kind="template" if template else "ml_project" if ml else "not_ml",
    )


def fleet_paths(directory: Path | str) -> list[Path]:
    """The repositories of a fleet directory: its subdirectories that are git repositories.

    When none is, every subdirectory that is not hidden counts (a folder of exported repositories).
    """
    root = full_path(directory)
    if not root.is_dir():
        reason = "does not exist" if not root.exists() else "is not a directory"
        raise InvalidInputError(
            f"Cannot assess the fleet in '{root}': it {reason}.",
            fix="Pass a directory whose subdirectories are the repositories (e.g. --fleet ~/src).",
        )
    children = sorted(
        p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
    )
    repositories = [p for p in children if (p / ".git").exists()]
    return repositories or children


def _not_assessed(root: Path, error: Exception) -> Assessment:
    """A fleet row for a repository whose assessment failed: every capability missing, and why."""
    from mlops_scaffold.bounded import one_line

    message = error.message if isinstance(error, ScaffoldError) else f"{type(error).__name__}: {error}"
    reason = one_line(message)
    findings = [
        Finding(key=c.key, title=c.title, level=lv.number, required=c.required, found=False, evidence=[])
        for lv in all_levels()
        for c in lv.capabilities
    ]
    return Assessment(
        path=root,
        ml_project=False,
        level=0,
        level_name=next(lv.name for lv in all_levels() if lv.number == 0),
        next_level=None,
        next_level_name=None,
        verdict=f"Not assessed: {reason}",
        generated=False,
        generated_level=None,
        template_version=None,
        scores=scores(findings),
        findings=findings,
        plan=Plan(None, None),
        stack={},
        error=reason,
    )


def assess_many(
    paths: Iterable[Path | str], *, on_progress: Callable[[str], None] | None = None
) -> list[Assessment]:
    """Assess each repository in turn; every path is checked before any is read.

    A repository whose assessment fails still gets its result: one with ``error`` set (its row
    says why), and the others are assessed, so one repository cannot cost the fleet report.
    """
    roots = [full_path(p) for p in paths]
    for root in roots:
        if not root.is_dir():
            reason = "does not exist" if not root.exists() else "is not a directory"
            raise InvalidInputError(
                f"Cannot assess '{root}': it {reason}.", fix="Pass the root directory of each repository."
            )
    results = []
    for index, root in enumerate(roots, 1):
        if on_progress:
            on_progress(f"Assessing {root.name} ({index}/{len(roots)})")
        try:
            results.append(assess(root))
        except Exception as error:  # one repository's failure, whatever it is, is that row's result
            results.append(_not_assessed(root, error))
    return results
