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
- template sources it contains (cookiecutter/copier/jinja), reported as templates, not scanned.

``assess_many`` and ``fleet_paths`` serve the fleet view (``fleet``: one row per repository in
text, JSON, Markdown and HTML).

The package is split by concern: ``scan`` (files, roles, parsing), ``detectors`` (evidence per
capability), ``rules`` (level and scores), ``plan`` (next-level steps), ``fleet`` (reports).
"""

from __future__ import annotations

import configparser
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlops_scaffold.assess.detectors import Evidence, run_detectors
from mlops_scaffold.assess.plan import Plan, Stack, Step, make_plan
from mlops_scaffold.assess.rules import Finding, LevelScore, level_reached, scores
from mlops_scaffold.assess.scan import MAX_FILES, MAX_TEXT_BYTES, Repository, TemplateSource, shown
from mlops_scaffold.errors import InvalidInputError, ScaffoldError
from mlops_scaffold.levels import CI_VENDORS, all_levels
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
        data["scores"] = [s.to_dict() for s in self.scores]
        data["plan"] = self.plan.to_dict()
        data["missing_recommended"] = [
            {"key": f.key, "title": f.title, "level": f.level} for f in self.missing_recommended()
        ]
        return data


def _generated_answers(root: Path) -> dict[str, Any] | None:
    from mlops_scaffold.project import read_project

    try:
        return read_project(root).answers
    except ScaffoldError:
        return None


def _git_host(root: Path) -> str | None:
    """The forge of the repository's first remote (github, gitlab, azure, bitbucket), if any."""
    config = root / ".git" / "config"
    if not config.is_file():
        return None
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        parser.read(config, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
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


def _manifest_evidence(answers: dict[str, Any], files: set[str]) -> dict[str, list[Evidence]]:
    """For a project on the template: the files the manifest names for each capability."""
    package = str(answers.get("package_name") or "")
    ci = str(answers.get("ci") or "github")
    found: dict[str, list[Evidence]] = {}
    for level in all_levels():
        for capability in level.capabilities:
            vendors = [ci] + [v for v in CI_VENDORS if v != ci]
            paths = dict.fromkeys(
                p for v in vendors for p in capability.evidence_paths(package=package, ci=v)
            )
            found[capability.key] = [Evidence(p, "named by the level manifest") for p in paths if p in files]
    return found


def _verdict(ml: bool, level: int, name: str, templates: list[TemplateSource], own_files: int) -> str:
    if not ml and templates and own_files == 0:
        engines = ", ".join(sorted({t.engine for t in templates}))
        return (
            f"A project template ({engines}), not a project: its template sources are reported as such and "
            "were not assessed; assess a project rendered from it."
        )
    if not ml:
        return (
            "Not an ML project: no ML library imports or dependencies, model files or ML tool configuration "
            "were found, so there is no training gap to report; its software practices are scored below."
        )
    return f"MLOps level {level} ({name})."


def assess(path: Path | str) -> Assessment:
    """Inspect the repository at ``path`` (read-only) and place it on the maturity scale."""
    root = full_path(path)
    if not root.is_dir():
        reason = "does not exist" if not root.exists() else "is not a directory"
        raise InvalidInputError(
            f"Cannot assess '{root}': it {reason}.", fix="Pass the root directory of a repository."
        )
    repo = Repository(str(root))
    found = run_detectors(repo)
    answers = _generated_answers(root)
    manifest = _manifest_evidence(answers, {f.path for f in repo.files}) if answers else {}

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
    notes = list(repo.notes)
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
    own_files = sum(1 for f in repo.files if f.own)
    return Assessment(
        path=root,
        ml_project=ml,
        level=level,
        level_name=level_name,
        next_level=plan.target_level,
        next_level_name=plan.target_name,
        verdict=_verdict(ml, level, level_name, repo.templates, own_files),
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


def assess_many(
    paths: Iterable[Path | str], *, on_progress: Callable[[str], None] | None = None
) -> list[Assessment]:
    """Assess each repository in turn; every path is checked before any is read."""
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
        results.append(assess(root))
    return results
