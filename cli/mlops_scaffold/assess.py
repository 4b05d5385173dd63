"""Assess the MLOps maturity of any repository, with the files that prove it.

For each capability of the levels manifest (maturity.yml) ``assess`` looks for signs in the
repository's files: the paths the manifest names for generated projects, and the signs common in
the field (CI configuration of any vendor, lock files of any tool, imports of tracking, validation,
serving and monitoring libraries, pipeline definitions, GPU job specs, ...). It reads only small
regular files, skips virtual environments and caches, and never follows symlinks, so odd layouts
cannot make it crash or hang.

Levels are cumulative: a repository is at level N when every capability of levels 0 to N is
present. Level 0 (No MLOps) is the floor of the scale, so a repository that lacks some level-0
capabilities is at level 0 too, and its plan works toward completing level 0 first.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlops_scaffold.errors import InvalidInputError, ScaffoldError
from mlops_scaffold.levels import CI_VENDORS, Capability, Level, all_levels

MAX_FILES = 20_000
MAX_TEXT_BYTES = 1_000_000
EVIDENCE_PER_CAPABILITY = 5
# Folders that hold tools, environments or outputs rather than the repository's own work.
_SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".env",
        "env",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",
        "site-packages",
        ".eggs",
        ".cache",
        ".idea",
        "mlruns",
        "wandb",
    }
)

CODE = ("*.py",)
NOTEBOOKS = ("*.ipynb",)
CONFIG = ("*.yml", "*.yaml", "*.json", "*.toml", "*.cfg", "*.ini", "*.tf")
CI_FILES = (
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".gitlab-ci.yml",
    ".gitlab/*.yml",
    ".circleci/config.yml",
    "jenkinsfile",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
    ".travis.yml",
    ".drone.yml",
    ".buildkite/*.yml",
    "cloudbuild.yaml",
    ".woodpecker.yml",
    ".woodpecker/*.yml",
)
TEST_FILES = ("tests/*", "test/*", "*/tests/*", "*/test/*")
DEPENDENCY_FILES = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "requirements*.txt",
    "environment.yml",
    "environment.yaml",
    "pipfile",
)


@dataclass(frozen=True)
class _Sign:
    """One way a capability shows in a repository.

    ``paths``: file patterns (a pattern with '/' matches the whole relative path, '*' crossing
    folders; one without matches the file name; case-insensitive). ``text``: a regex that must
    occur in a file matching ``paths`` (or ``within`` when ``paths`` is empty). ``also``: patterns
    of which one more file must exist. ``why``: what a match means, shown with the evidence.
    """

    why: str
    paths: tuple[str, ...] = ()
    text: str | None = None
    within: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


def _imports(*modules: str) -> str:
    return rf"\b(?:import|from)\s+(?:{'|'.join(modules)})\b"


# Signs in any repository, per capability key of the manifest. A capability added to the
# manifest without signs here is still found through its manifest evidence paths.
SIGNS: dict[str, tuple[_Sign, ...]] = {
    "layout": (
        _Sign(
            "a Python package with declared dependencies",
            paths=("*/__init__.py", "__init__.py"),
            also=DEPENDENCY_FILES,
            exclude=(*TEST_FILES, "docs/*", "notebooks/*"),
        ),
    ),
    "entry_points": (
        _Sign("a training script", paths=("train*.py", "*_train.py", "fit.py"), exclude=TEST_FILES),
        _Sign(
            "a training command",
            paths=("pyproject.toml", "setup.cfg"),
            text=r"(?m)^\s*[\w.-]*train[\w.-]*\s*=",
        ),
        _Sign("a train task", paths=("makefile", "justfile"), text=r"(?m)^train\s*:"),
        _Sign("a DVC train stage", paths=("dvc.yaml",), text=r"(?m)^\s+train\s*:"),
    ),
    "unit_tests": (
        _Sign(
            "pytest tests",
            paths=("test_*.py", "*_test.py"),
            text=r"(?m)^\s*(?:async\s+)?def test_|^class Test",
        ),
    ),
    "lineage": (
        _Sign(
            "lineage records",
            paths=("*lineage*.py", "*lineage*.json", "*lineage*.yaml", "*lineage*.yml"),
            exclude=TEST_FILES,
        ),
        _Sign("DVC-tracked data and pipelines", paths=("dvc.yaml", "dvc.lock", "*.dvc")),
        _Sign("lineage logging", within=CODE, text=_imports("openlineage") + r"|mlflow\.log_input\b"),
    ),
    "adr": (
        _Sign(
            "architecture decision records",
            paths=(
                "adr/*.md",
                "*/adr/*.md",
                "adrs/*.md",
                "*/adrs/*.md",
                "*/decisions/*.md",
                "decisions/*.md",
                "*/decision-records/*.md",
                ".adr-dir",
            ),
        ),
    ),
    "ci": (_Sign("CI configuration", paths=CI_FILES),),
    "pre_commit": (
        _Sign(
            "pre-commit hooks",
            paths=(".pre-commit-config.yaml", ".pre-commit-config.yml", "lefthook.yml", ".husky/pre-commit"),
        ),
    ),
    "training_image": (
        _Sign("a container image", paths=("dockerfile", "dockerfile.*", "*.dockerfile", "containerfile")),
    ),
    "task_runner": (
        _Sign(
            "a task runner",
            paths=(
                "makefile",
                "gnumakefile",
                "justfile",
                "taskfile.yml",
                "taskfile.yaml",
                "noxfile.py",
                "tox.ini",
            ),
        ),
        _Sign(
            "tasks in pyproject.toml",
            paths=("pyproject.toml",),
            text=r"(?m)^\[tool\.(?:poe\.tasks|taskipy\.tasks|pdm\.scripts|hatch\.envs\.[\w.-]+\.scripts)\]",
        ),
        _Sign("invoke tasks", paths=("tasks.py",), text=_imports("invoke")),
    ),
    "locked_dependencies": (
        _Sign(
            "a lock file",
            paths=(
                "uv.lock",
                "poetry.lock",
                "pipfile.lock",
                "pdm.lock",
                "pixi.lock",
                "conda-lock.yml",
                "*.conda-lock.yml",
                "requirements*.lock",
            ),
        ),
        _Sign(
            "compiled requirements",
            paths=("requirements*.txt",),
            text=r"autogenerated by (?:pip-compile|uv)|--hash=sha256:",
        ),
    ),
    "training_pipeline": (
        _Sign(
            "a pipeline definition",
            paths=(
                "pipeline.py",
                "*_pipeline.py",
                "pipelines/*.py",
                "*/pipelines/*.py",
                "dags/*.py",
                "*/dags/*.py",
            ),
            exclude=TEST_FILES,
        ),
        _Sign("DVC pipeline stages", paths=("dvc.yaml",), text=r"(?m)^stages\s*:"),
        _Sign(
            "a pipeline framework",
            within=CODE,
            text=_imports("kfp", "airflow", "zenml", "metaflow", "prefect", "dagster", "flytekit", "kedro")
            + r"|sagemaker\.workflow|@dsl\.pipeline",
        ),
    ),
    "experiment_tracking": (
        _Sign(
            "experiment tracking",
            within=CODE + NOTEBOOKS,
            text=_imports("mlflow", "wandb", "neptune", "comet_ml", "clearml", "aim", "dvclive"),
        ),
        _Sign(
            "model registry use",
            within=CODE + NOTEBOOKS,
            text=r"\bregister_model\s*\(|registered_model_name\s*=",
        ),
    ),
    "feature_store": (
        _Sign("a feature store repository", paths=("feature_store.yaml", "feature_store.yml")),
        _Sign(
            "a feature store client",
            within=CODE,
            text=_imports("feast", "hopsworks", "tecton", "featureform") + r"|sagemaker\.feature_store",
        ),
    ),
    "data_validation": (
        _Sign(
            "data validation",
            within=CODE + NOTEBOOKS,
            text=_imports(
                "pandera",
                "great_expectations",
                "deepchecks",
                "tensorflow_data_validation",
                "soda",
                "frictionless",
                "pointblank",
            ),
        ),
        _Sign("Great Expectations configuration", paths=("great_expectations.yml",)),
    ),
    "gpu_training": (
        _Sign(
            "a job spec that requests GPUs",
            within=CONFIG + CODE + ("*.sh",),
            text=r"nvidia\.com/gpu|\"type\"\s*:\s*\"GPU\"|\bml\.(?:p[2-5]|g[4-6])[a-z0-9]*\.\w+|"
            r"accelerator_?type|--gpus\b|runs-on:.*\bgpu\b",
        ),
    ),
    "serving": (
        _Sign(
            "a serving entry point",
            paths=("serve.py", "serving.py", "*/serving/*.py", "predictor.py"),
            exclude=TEST_FILES,
        ),
        _Sign(
            "model serving code",
            within=CODE,
            text=_imports("fastapi", "flask", "bentoml", "litserve", "mlserver", "kserve", "seldon_core")
            + r"|from\s+ray\s+import\s+serve|\bray\.serve\b",
        ),
    ),
    "staged_deployment": (
        _Sign(
            "CI/CD deploying to staging and production",
            within=(*CI_FILES, "deploy*.yml", "deploy*.yaml", "*/deploy/*.yml", "*/deploy/*.yaml"),
            text=r"(?is)(?=.*\bstaging\b)(?=.*\bprod(?:uction)?\b).*\bdeploy",
        ),
    ),
    "promotion_gate": (
        _Sign(
            "a model promotion gate",
            within=CODE,
            text=r"(?i)\bchampion\b|\bchallenger\b|transition_model_version_stage|set_registered_model_alias|"
            r"ModelApprovalStatus",
        ),
    ),
    "drift_monitoring": (
        _Sign("drift monitoring code", paths=("*drift*.py",), exclude=TEST_FILES),
        _Sign(
            "a drift monitoring library",
            within=CODE + NOTEBOOKS,
            text=_imports("evidently", "alibi_detect", "nannyml", "whylogs", "frouros")
            + r"|\bks_2samp\b|population_stability|\bModelMonitor\b",
        ),
    ),
    "alerts": (
        _Sign("alerting code", paths=("*alert*.py",), exclude=TEST_FILES),
        _Sign(
            "alarms or alert rules",
            within=CODE + CONFIG,
            text=r"put_metric_alarm|aws_cloudwatch_metric_alarm|\bMetricAlarm\b|PrometheusRule|alertmanager|"
            r"pagerduty|opsgenie|hooks\.slack\.com|(?m:^\s*-?\s*alert\s*:\s*\S)",
        ),
    ),
    "automated_retraining": (
        _Sign("retraining code", paths=("*retrain*.py",), exclude=TEST_FILES),
        _Sign(
            "scheduled training",
            within=(*CI_FILES, "*.yml", "*.yaml"),
            text=r"(?is)(?=.*\bschedule\b)(?=.*\bcron\b).*\b(?:re)?train",
        ),
        _Sign("retraining trigger", within=CODE, text=r"\bdef \w*retrain\w*\s*\("),
    ),
    "model_cards": (
        _Sign("model cards", paths=("*model_card*", "*model-card*", "*modelcard*")),
        _Sign("a model card library", within=CODE, text=r"model_card_toolkit|\bModelCard\b"),
    ),
}

# What to do about a missing capability in a repository mlops-scaffold did not generate.
STEPS: dict[str, str] = {
    "layout": "Move the code into an importable package (src/<package>/) with its dependencies declared in "
    "pyproject.toml; keep data in data/, notebooks in notebooks/ and tests in tests/.",
    "entry_points": "Turn notebook training into `train` and `evaluate` scripts that run from a clean "
    "checkout (e.g. `python -m <package>.train`).",
    "unit_tests": "Add pytest tests (tests/test_*.py) for data loading, training and evaluation.",
    "lineage": "Record lineage for every training run next to the model: data hash, parameters, code "
    "version and metrics (or track data and stages with DVC).",
    "adr": "Keep architecture decision records in docs/adr/, one Markdown file per decision.",
    "ci": "Add CI (e.g. .github/workflows/ci.yml or .gitlab-ci.yml) that lints, type-checks and tests "
    "every push.",
    "pre_commit": "Add .pre-commit-config.yaml running the same lint and format checks as CI.",
    "training_image": "Add a Dockerfile that runs training the same way on every machine.",
    "task_runner": "Add one task runner (Makefile, justfile or poe tasks) that developers and CI both call.",
    "locked_dependencies": "Commit a lock file (`uv lock`, `poetry lock` or pip-compile output).",
    "training_pipeline": "Turn training into a pipeline of testable steps (ingest, validate, features, "
    "train, evaluate, register), e.g. with SageMaker Pipelines, Kubeflow, Airflow or DVC stages.",
    "experiment_tracking": "Track every run with MLflow (or W&B): parameters, metrics and the model; "
    "register models that pass evaluation.",
    "feature_store": "Define features in a feature store (e.g. a Feast feature_store.yaml) and read training "
    "features through it.",
    "data_validation": "Validate data against a schema before every run (pandera or Great Expectations).",
    "gpu_training": "Add a batch job spec that requests GPUs (AWS Batch, SageMaker, or a Kubernetes job with "
    "nvidia.com/gpu) for the same training entry point.",
    "serving": "Serve the model from an HTTP app (e.g. FastAPI) built into its own image.",
    "staged_deployment": "Deploy from CI/CD through staging to production, with a smoke test and a manual "
    "approval before production.",
    "promotion_gate": "Promote a challenger model only when it beats the champion by a set margin.",
    "drift_monitoring": "Compare production inputs with the training data for drift (PSI/KS, e.g. "
    "Evidently).",
    "alerts": "Publish drift and service metrics and alarm on them (CloudWatch alarms, Prometheus rules).",
    "automated_retraining": "Retrain automatically when drift crosses a threshold (with a cooldown) or on a "
    "schedule.",
    "model_cards": "Write a model card for every registered model version from its lineage and evaluation.",
}


@dataclass(frozen=True)
class Evidence:
    path: str  # relative to the repository root
    why: str  # what the file shows


@dataclass(frozen=True)
class Finding:
    key: str
    title: str
    level: int
    found: bool
    evidence: list[Evidence]


@dataclass(frozen=True)
class Assessment:
    path: Path
    level: int
    level_name: str
    next_level: int | None  # the level the plan works toward (None: level 4 is complete)
    next_level_name: str | None
    generated: bool  # the repository is a project generated by mlops-scaffold
    generated_level: int | None  # the level its answers file records
    findings: list[Finding]
    plan: list[str]
    notes: list[str] = field(default_factory=list)

    def missing(self, level: int | None = None) -> list[Finding]:
        return [f for f in self.findings if not f.found and (level is None or f.level == level)]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path)}


def _shown(path: str) -> str:
    """A file name safe to print and to encode as JSON (undecodable bytes become U+FFFD)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _walk(root: Path, notes: list[str]) -> Iterator[str]:
    """Relative posix paths of the repository's files, tools and environments left out."""
    count = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in _SKIP_DIRS
            and not d.endswith(".egg-info")
            and not Path(folder, d, "pyvenv.cfg").exists()
            and not Path(folder, d).is_symlink()
        )
        for name in sorted(files):
            count += 1
            if count > MAX_FILES:
                notes.append(
                    f"Stopped after {MAX_FILES} files; the rest of the repository was not inspected."
                )
                return
            yield Path(folder, name).relative_to(root).as_posix()


def _matches(path: str, patterns: tuple[str, ...]) -> bool:
    lowered = path.lower()
    name = lowered.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(lowered if "/" in p else name, p.lower()) for p in patterns)


class _Repository:
    def __init__(self, root: Path, files: list[str]) -> None:
        self.root = root
        self.files = files
        self._texts: dict[str, str | None] = {}

    def text(self, path: str) -> str | None:
        if path not in self._texts:
            self._texts[path] = None
            try:
                info = os.lstat(self.root / path)  # a symlink is never read through
                if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_TEXT_BYTES:
                    self._texts[path] = (self.root / path).read_bytes().decode("utf-8", errors="replace")
            except OSError:
                pass
        return self._texts[path]

    def find(self, sign: _Sign) -> list[str]:
        # Text found anywhere in the code counts only outside the tests.
        exclude = sign.exclude or (TEST_FILES if not sign.paths else ())
        candidates = [
            f for f in self.files if _matches(f, sign.paths or sign.within) and not _matches(f, exclude)
        ]
        if sign.text is not None:
            pattern = re.compile(sign.text)
            candidates = [
                f for f in candidates if (text := self.text(f)) is not None and pattern.search(text)
            ]
        if candidates and sign.also:
            companion = next((f for f in self.files if _matches(f, sign.also)), None)
            if companion is None:
                return []
            candidates = [*candidates, companion]
        return candidates


def _manifest_sign(capability: Capability, package: str | None) -> _Sign:
    """The capability's evidence paths from the manifest, for any package name and CI vendor."""
    paths = {p for ci in CI_VENDORS for p in capability.evidence_paths(package=package or "*", ci=ci)}
    return _Sign("named by the level manifest", paths=tuple(sorted(paths)))


def _generated_answers(root: Path) -> dict[str, Any] | None:
    from mlops_scaffold.project import read_project

    try:
        return read_project(root).answers
    except ScaffoldError:
        return None


def _plan(findings: list[Finding], target: Level | None, answers: dict[str, Any] | None) -> list[str]:
    if target is None:
        return ["Every capability of level 4 is present; keep the evidence above passing in CI."]
    missing = [f for f in findings if not f.found and f.level <= target.number]
    steps: list[str] = []
    by_key = {c.key: c for lv in all_levels() for c in lv.capabilities}
    if answers is not None:
        own_level = int(answers.get("level", 0))
        package, ci = str(answers.get("package_name") or "*"), str(answers.get("ci") or "github")
        lost = [f for f in missing if f.level <= own_level]
        for finding in lost:
            paths = ", ".join(by_key[finding.key].evidence_paths(package=package, ci=ci))
            steps.append(
                f"{finding.title}: missing although the project is at level {own_level} ({paths}). "
                + STEPS.get(finding.key, by_key[finding.key].description)
            )
        added = [f for f in missing if f.level > own_level]
        if added and target.built:
            paths = ", ".join(p for f in added for p in by_key[f.key].evidence_paths(package=package, ci=ci))
            titles = ", ".join(f.title.lower() for f in added)
            steps.append(
                f"Run `mlops-scaffold upgrade --level {target.number}`: it adds {titles} ({paths}), keeping "
                "your edits."
            )
            return steps
        if added:
            steps.append(
                f"Level {target.number} is not available in this mlops-scaffold version yet; until it is:"
            )
        missing = added
    steps.extend(f"{f.title}: {STEPS.get(f.key, by_key[f.key].description)}" for f in missing)
    return steps


def assess(path: Path) -> Assessment:
    """Inspect the repository at ``path`` (read-only) and place it on the maturity scale."""
    root = Path(path).expanduser().absolute()
    if not root.is_dir():
        reason = "does not exist" if not root.exists() else "is not a directory"
        raise InvalidInputError(
            f"Cannot assess '{root}': it {reason}.", fix="Pass the root directory of a repository."
        )
    notes: list[str] = []
    repository = _Repository(root, list(_walk(root, notes)))
    answers = _generated_answers(root)
    package = str(answers["package_name"]) if answers and answers.get("package_name") else None

    by_manifest = {c.key: _manifest_sign(c, package) for lv in all_levels() for c in lv.capabilities}
    findings: list[Finding] = []
    for lv in all_levels():
        for capability in lv.capabilities:
            # The manifest's own paths first, then the other signs, each group sorted.
            manifest_sign = by_manifest[capability.key]
            manifest = {_shown(f): manifest_sign.why for f in repository.find(manifest_sign)}
            others: dict[str, str] = {}
            for sign in SIGNS.get(capability.key, ()):
                for found in repository.find(sign):
                    others.setdefault(_shown(found), sign.why)
            evidence = sorted(manifest.items()) + sorted(i for i in others.items() if i[0] not in manifest)
            shown = [Evidence(p, why) for p, why in evidence[:EVIDENCE_PER_CAPABILITY]]
            findings.append(Finding(capability.key, capability.title, lv.number, bool(evidence), shown))

    complete = [lv.number for lv in all_levels() if all(f.found for f in findings if f.level <= lv.number)]
    level = max(complete, default=0)
    target_number = level + 1 if complete else 0
    target = next((lv for lv in all_levels() if lv.number == target_number), None)
    if answers is not None and int(answers.get("level", 0)) > level:
        notes.append(
            f"The answers file records level {answers.get('level')}, but not every capability up to that "
            "level is present (see the plan)."
        )
    return Assessment(
        path=root,
        level=level,
        level_name=next(lv.name for lv in all_levels() if lv.number == level),
        next_level=target.number if target else None,
        next_level_name=target.name if target else None,
        generated=answers is not None,
        generated_level=int(answers["level"]) if answers is not None else None,
        findings=findings,
        plan=_plan(findings, target, answers),
        notes=notes,
    )
