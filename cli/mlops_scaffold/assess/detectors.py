"""Detectors: for each capability of the levels manifest, the files that prove it, from parsed content.

A detector gets a ``Context`` (the repository with its files read and parsed once) and returns
``Evidence``: a file, what it shows, and the tool it shows it with (``github``, ``mlflow``, ...),
which the plan uses to give steps that fit what the repository already uses.

What counts is what a file does, never a word it contains: Python imports, calls, decorators,
keyword arguments with a constant value and metric comparisons (``scan.PyFacts``); YAML/JSON/TOML
keys with a value that is really set (``scan.present``: not null, empty, zero or "unspecified");
file roles judged by location and content (a Dockerfile under ``.devcontainer/`` is not a training
image, ``test_train.py`` is not a training entry point). Names are compared word by word
(``scan.tokens``), so ``constrain`` never reads as ``train``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mlops_scaffold.assess.scan import (
    File,
    PyFacts,
    Repository,
    dockerfile_instructions,
    jenkinsfile,
    nodes,
    present,
    requirement_names,
    task_targets,
    terraform,
    tokens,
)


@dataclass(frozen=True)
class Evidence:
    path: str  # relative to the repository root
    why: str  # what the file shows
    tool: str | None = None  # the vendor or library it shows it with


TRAIN_WORDS = frozenset({"train", "training", "trainer", "retrain", "retraining", "finetune", "fit"})
DEPLOY_WORDS = frozenset({"deploy", "deployment", "release", "rollout", "promote", "publish"})
PROD_WORDS = frozenset({"prod", "production", "prd", "live"})
PREPROD_WORDS = frozenset({"staging", "stage", "stg", "preprod", "uat", "qa", "dev", "development"})
ENV_WORDS = PROD_WORDS | PREPROD_WORDS

# Libraries whose import makes a repository an ML project.
ML_LIBRARIES = {
    "sklearn": "scikit-learn",
    "torch": "PyTorch",
    "tensorflow": "TensorFlow",
    "keras": "Keras",
    "xgboost": "XGBoost",
    "lightgbm": "LightGBM",
    "catboost": "CatBoost",
    "transformers": "Hugging Face Transformers",
    "jax": "JAX",
    "flax": "Flax",
    "lightning": "Lightning",
    "pytorch_lightning": "Lightning",
    "statsmodels": "statsmodels",
    "prophet": "Prophet",
    "mlflow": "MLflow",
    "wandb": "W&B",
    "sagemaker": "SageMaker",
    "vertexai": "Vertex AI",
    "google.cloud.aiplatform": "Vertex AI",
    "azure.ai.ml": "Azure ML",
    "azureml": "Azure ML",
    "zenml": "ZenML",
    "kfp": "Kubeflow Pipelines",
    "metaflow": "Metaflow",
    "feast": "Feast",
    "optuna": "Optuna",
    "hyperopt": "Hyperopt",
    "ray.train": "Ray Train",
    "ray.tune": "Ray Tune",
    "ray.serve": "Ray Serve",
    "spacy": "spaCy",
    "fastai": "fastai",
    "timm": "timm",
    "onnx": "ONNX",
    "onnxruntime": "ONNX Runtime",
    "datasets": "Hugging Face Datasets",
    "diffusers": "Diffusers",
    "sentence_transformers": "sentence-transformers",
    "autogluon": "AutoGluon",
    "pycaret": "PyCaret",
    "h2o": "H2O",
    "mxnet": "MXNet",
    "paddle": "PaddlePaddle",
    "skorch": "skorch",
    "imblearn": "imbalanced-learn",
    "tfx": "TFX",
    "bentoml": "BentoML",
    "evidently": "Evidently",
    "neptune": "Neptune",
    "comet_ml": "Comet",
    "clearml": "ClearML",
    "dvclive": "DVC",
    "nannyml": "NannyML",
    "alibi_detect": "alibi-detect",
    "deepchecks": "deepchecks",
    "tensorflow_data_validation": "TFDV",
}
ML_PACKAGES = {
    "scikit-learn",
    "sklearn",
    "torch",
    "tensorflow",
    "tensorflow-cpu",
    "keras",
    "xgboost",
    "lightgbm",
    "catboost",
    "transformers",
    "jax",
    "lightning",
    "pytorch-lightning",
    "mlflow",
    "mlflow-skinny",
    "wandb",
    "sagemaker",
    "google-cloud-aiplatform",
    "azure-ai-ml",
    "zenml",
    "kfp",
    "metaflow",
    "feast",
    "optuna",
    "bentoml",
    "dvc",
    "evidently",
    "tfx",
    "prophet",
    "statsmodels",
    "fastai",
    "timm",
    "autogluon",
    "pycaret",
}
MODEL_SUFFIXES = (
    ".onnx",
    ".pt",
    ".pth",
    ".h5",
    ".keras",
    ".joblib",
    ".safetensors",
    ".ckpt",
    ".mar",
    ".tflite",
)


def module_names(path: str) -> list[str]:
    """The dotted names a module is imported by: 'src/churn/train.py' -> 'src.churn.train', 'churn.train'."""
    dotted = path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
    return [dotted, dotted.removeprefix("src.")] if dotted.startswith("src.") else [dotted]


def _imported(facts: PyFacts, table: dict[str, str]) -> list[str]:
    """The values of ``table`` whose module (key) the file imports."""
    return [label for module, label in table.items() if module in facts.imports]


def scalar_text(value: Any) -> str:
    """A parsed scalar as text; '' for containers (which may be shared a billion times over)."""
    return str(value) if isinstance(value, str | int | float | bool) else ""


def _strings(node: Any) -> Iterator[str]:
    """Every string (keys and values) below a parsed node."""
    for inner in nodes([node]):
        items = inner.items() if isinstance(inner, dict) else enumerate(inner)
        for key, value in items:
            if isinstance(key, str):
                yield key
            if isinstance(value, str):
                yield value
    if isinstance(node, str):
        yield node


def _trains(words: set[str]) -> bool:
    """Whether words speak of training: 'train', 'trained', 'training', 'retrain', 'finetune', 'fit'."""
    return any(w.startswith(("train", "retrain", "finetun")) or w == "fit" for w in words)


def _touches(facts: PyFacts, names: set[str]) -> bool:
    """Whether a call goes through one of ``names`` (``aiplatform.Endpoint.create`` touches Endpoint)."""
    return any(names.intersection(call.split(".")) for call in facts.calls)


def _words(texts: Iterable[str]) -> set[str]:
    words: set[str] = set()
    for text in texts:
        if len(text) < 2000:
            words |= tokens(text)
    return words


_CRON = re.compile(
    r"^(?:@(?:yearly|annually|monthly|weekly|daily|midnight|hourly)|(?:rate|cron)\(.{1,80}\)"
    r"|(?:[0-9*/,?LW#A-Za-z-]+\s+){4,6}[0-9*/,?LW#A-Za-z-]+)$"
)


_PIECES = re.compile(r"[\s'\"=,;()\[\]]+")
_CODE = (".py", ".ipynb", ".sh", ".r", ".scala", ".sql", ".jar")  # files whose name says what runs


def is_schedule(value: Any) -> bool:
    return isinstance(value, str) and len(value) < 120 and bool(_CRON.match(value.strip()))


# --- CI pipelines ----------------------------------------------------------------------------------


@dataclass
class Pipeline:
    """One CI/CD definition file, reduced to what the detectors need."""

    file: File
    vendor: str
    environments: set[str] = field(default_factory=set)  # deployment environments it declares
    schedules: list[str] = field(default_factory=list)  # cron triggers
    commands: list[str] = field(default_factory=list)  # shell commands and actions used
    names: list[str] = field(default_factory=list)  # job, stage and step names
    # GitLab: the names and commands of the jobs that only schedules run (a schedule there runs
    # those jobs, not the whole file); None where a schedule runs the whole file.
    scheduled: list[str] | None = None

    def words(self) -> set[str]:
        return _words([*self.commands, *self.names])


CI_VENDORS = {
    "github": "GitHub Actions",
    "gitlab": "GitLab CI",
    "azure": "Azure DevOps Pipelines",
    "cloudbuild": "Google Cloud Build",
    "jenkins": "Jenkins",
    "circleci": "CircleCI",
    "buildkite": "Buildkite",
    "bitbucket": "Bitbucket Pipelines",
    "travis": "Travis CI",
    "codebuild": "AWS CodeBuild",
    "drone": "Drone/Woodpecker",
}
_GITLAB_RESERVED = frozenset(
    {"stages", "variables", "default", "include", "workflow", "image", "services", "cache"}
    | {"before_script", "after_script", "spec"}
)
_AZURE_STEP_KEYS = ("task", "script", "bash", "pwsh", "powershell", "checkout", "template", "download")


# Jobs that name an environment without deploying to it: GitLab's `environment: action:` prepare,
# verify, access and stop (https://docs.gitlab.com/ci/yaml/#environmentaction), and GitHub's
# `environment: deployment: false` (https://docs.github.com/en/actions/how-tos/deploy/
# configure-and-manage-deployments/control-deployments#using-environments-without-deployments).
_NOT_DEPLOYING = frozenset({"prepare", "verify", "access", "stop"})


def _env_name(value: Any) -> str | None:
    """The environment a job deploys to, if it deploys."""
    if isinstance(value, dict):
        if value.get("action") in _NOT_DEPLOYING or value.get("deployment") is False:
            return None
        value = value.get("name") or value.get("resourceName")
    return value if isinstance(value, str) and value and "$" not in value[:1] else None


def _commands(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _github(pipeline: Pipeline, doc: dict[str, Any]) -> None:
    triggers = doc.get("on")
    if isinstance(triggers, dict) and isinstance(triggers.get("schedule"), list):
        pipeline.schedules += [
            s["cron"] for s in triggers["schedule"] if isinstance(s, dict) and present(s.get("cron"))
        ]
    if isinstance(doc.get("name"), str):
        pipeline.names.append(doc["name"])
    for job_id, job in doc["jobs"].items():
        if not isinstance(job, dict):
            continue
        pipeline.names += [str(job_id), *_commands(job.get("name"))]
        if env := _env_name(job.get("environment")):
            pipeline.environments.add(env)
        if isinstance(job.get("uses"), str):
            pipeline.commands.append(job["uses"])
        for step in job.get("steps") or []:
            if isinstance(step, dict):
                pipeline.commands += _commands(step.get("run")) + _commands(step.get("uses"))
                pipeline.names += _commands(step.get("name"))


def _gitlab(pipeline: Pipeline, doc: dict[str, Any]) -> None:
    for job_id, job in doc.items():
        if not isinstance(job, dict) or job_id in _GITLAB_RESERVED:
            continue
        pipeline.names.append(str(job_id))
        if env := _env_name(job.get("environment")):
            pipeline.environments.add(env)
        for key in ("script", "before_script", "after_script"):
            pipeline.commands += _commands(job.get(key))
        conditions = [
            rule.get("if") for rule in job.get("rules") or [] if isinstance(rule, dict) and rule.get("if")
        ]
        only = job.get("only")
        only = _commands(only.get("refs") if isinstance(only, dict) else only)
        if (
            any("schedule" in scalar_text(c) and "!=" not in scalar_text(c) for c in conditions)
            or "schedules" in only
        ):
            pipeline.schedules.append(f"GitLab pipeline schedule ({job_id})")
            parents = [doc.get(name) for name in _commands(job.get("extends"))]
            pipeline.scheduled = (pipeline.scheduled or []) + [
                str(job_id),
                *(
                    command
                    for part in [job, *parents]
                    if isinstance(part, dict)
                    for key in ("script", "before_script", "after_script")
                    for command in _commands(part.get(key))
                ),
            ]


def _azure(pipeline: Pipeline, doc: dict[str, Any]) -> None:
    for schedule in doc.get("schedules") or []:
        if isinstance(schedule, dict) and present(schedule.get("cron")):
            pipeline.schedules.append(scalar_text(schedule["cron"]))
    for node in nodes([doc]):
        if not isinstance(node, dict):
            continue
        for key in ("stage", "job", "deployment", "displayName"):
            if isinstance(node.get(key), str):
                pipeline.names.append(node[key])
        if "deployment" in node and (env := _env_name(node.get("environment"))):
            pipeline.environments.add(env)
        for key in ("script", "bash", "pwsh", "powershell", "inlineScript", "scriptPath", "task"):
            pipeline.commands += _commands(node.get(key))


def _is_azure(doc: dict[str, Any]) -> bool:
    for key, marker in (("stages", "stage"), ("jobs", "job"), ("jobs", "deployment")):
        items = doc.get(key)
        if isinstance(items, list) and any(isinstance(i, dict) and marker in i for i in items):
            return True
    steps = doc.get("steps")
    return isinstance(steps, list) and any(
        isinstance(step, dict) and any(k in step for k in _AZURE_STEP_KEYS) for step in steps
    )


def _generic_steps(pipeline: Pipeline, doc: dict[str, Any]) -> None:
    """Commands and names of CircleCI, Buildkite, Cloud Build, Bitbucket, Drone, CodeBuild, Travis."""
    for node in nodes([doc]):
        if not isinstance(node, dict):
            continue
        for key in ("run", "command", "commands", "script", "args", "entrypoint"):
            value = node.get(key)
            if isinstance(value, dict):
                value = value.get("command")
            pipeline.commands += _commands(value)
        for key in ("name", "label", "id", "step"):
            if isinstance(node.get(key), str):
                pipeline.names.append(node[key])
        if env := _env_name(node.get("deployment")):
            pipeline.environments.add(env)
        triggers = node.get("triggers")
        for trigger in triggers if isinstance(triggers, list) else []:
            if isinstance(trigger, dict) and isinstance(trigger.get("schedule"), dict):
                pipeline.schedules += _commands(trigger["schedule"].get("cron"))
        if isinstance(node.get("build"), dict):  # CodeBuild phases
            pipeline.commands += _commands(node["build"].get("commands"))


def find_pipelines(repo: Repository) -> list[Pipeline]:
    pipelines: list[Pipeline] = []
    for file in repo.config_files():
        if file.suffix not in (".yml", ".yaml", ".json"):
            continue
        name, dirs = file.name, file.dirs
        doc = repo.first(file) if file.size else {}
        if not doc:
            continue
        vendor: str | None = None
        if dirs[-2:] == (".github", "workflows") and isinstance(doc.get("jobs"), dict):
            vendor = "github"
        elif (name.endswith(".gitlab-ci.yml") or ".gitlab" in dirs) and any(
            isinstance(v, dict) and ("script" in v or "extends" in v or "trigger" in v) for v in doc.values()
        ):
            vendor = "gitlab"
        elif dirs[-1:] == (".circleci",) and ("jobs" in doc or "workflows" in doc):
            vendor = "circleci"
        elif (".buildkite" in dirs or name.startswith("buildkite.")) and "steps" in doc:
            vendor = "buildkite"
        elif name.startswith("bitbucket-pipelines.") and "pipelines" in doc:
            vendor = "bitbucket"
        elif name == ".travis.yml":
            vendor = "travis"
        elif name.startswith(("buildspec", "codebuild")) and "phases" in doc:
            vendor = "codebuild"
        elif name.startswith((".drone.", ".woodpecker")) or ".woodpecker" in dirs:
            vendor = "drone"
        elif (name.startswith("cloudbuild") or "steps" in doc) and any(
            isinstance(s, dict) and "name" in s and ("args" in s or "script" in s or "entrypoint" in s)
            for s in (doc["steps"] if isinstance(doc.get("steps"), list) else [])
        ):
            vendor = "cloudbuild"
        elif _is_azure(doc):
            vendor = "azure"
        if vendor is None:
            continue
        pipeline = Pipeline(file, vendor)
        {"github": _github, "gitlab": _gitlab, "azure": _azure}.get(vendor, _generic_steps)(pipeline, doc)
        pipelines.append(pipeline)
    for file in repo.files:
        if file.own and (file.stem == "jenkinsfile" or file.name.endswith(".jenkinsfile")):
            text = repo.text(file) or ""
            stages, crons, commands = jenkinsfile(text)
            if stages or commands:
                pipeline = Pipeline(file, "jenkins", schedules=crons, commands=commands, names=stages)
                pipelines.append(pipeline)
    return pipelines


# --- the context the detectors share ---------------------------------------------------------------


class Context:
    """The repository with its parsed files, and what several detectors need, computed once."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self.found: dict[str, list[Evidence]] = {}  # results of the detectors run so far
        self._file_trains: dict[str, bool] = {}

    @cached_property
    def python(self) -> list[tuple[File, PyFacts]]:
        """The project's own Python modules and notebooks (tests, docs and templates left out)."""
        parsed = ((f, self.repo.python(f)) for f in self.repo.python_files())
        return [(f, facts) for f, facts in parsed if facts is not None]

    @cached_property
    def python_tests(self) -> list[tuple[File, PyFacts]]:
        parsed = ((f, self.repo.python(f)) for f in self.repo.python_files(tests=True) if f.test)
        return [(f, facts) for f, facts in parsed if facts is not None]

    @cached_property
    def configs(self) -> list[File]:
        return self.repo.config_files()

    @cached_property
    def pipelines(self) -> list[Pipeline]:
        return find_pipelines(self.repo)

    @cached_property
    def terraform(self) -> list[tuple[File, set[str], list[tuple[str, str]]]]:
        return [(f, *terraform(self.repo.text(f) or "")) for f in self.repo.suffixed(".tf")]

    @cached_property
    def cloudformation(self) -> list[tuple[File, set[str]]]:
        """Files declaring CloudFormation resources or Kubernetes objects, with their types."""
        out = []
        for file in self.configs:
            keys = self.repo.keys(file)
            types = {
                t for k in ("Type", "kind") for t in keys.get(k, []) if isinstance(t, str) and len(t) < 80
            }
            if types:
                out.append((file, types))
        return out

    @cached_property
    def training_modules(self) -> set[str]:
        """Dotted modules and paths of the training entry points (to tie jobs and images to them)."""
        names: set[str] = set()
        for evidence in self.found.get("entry_points", []) + self.found.get("training_pipeline", []):
            path = evidence.path
            if path.endswith(".py"):
                names.add(path)
                dotted = path[:-3].replace("/", ".")
                names.add(dotted.removeprefix("src."))
        return names

    @cached_property
    def modules(self) -> dict[str, tuple[File, PyFacts]]:
        """The project's own Python modules by dotted name ('churn.train'; 'src.' left off)."""
        found: dict[str, tuple[File, PyFacts]] = {}
        for file, facts in self.python:
            if file.suffix == ".py":
                for name in module_names(file.path):
                    found.setdefault(name, (file, facts))
        return found

    def project_imports(self, file: File, facts: PyFacts) -> list[tuple[File, PyFacts]]:
        """The project's own modules that a module imports (absolute and relative imports)."""
        names = {name for name in facts.imports if name in self.modules}
        package = module_names(file.path)[0].split(".")
        if file.name != "__init__.py":
            package = package[:-1]
        for relative in facts.relative_imports:
            dots = len(relative) - len(relative.lstrip("."))
            base = package[: len(package) - (dots - 1)] if dots - 1 <= len(package) else []
            names.add(".".join([*base, *filter(None, relative[dots:].split("."))]))
        return [self.modules[name] for name in sorted(names) if name in self.modules]

    def reaches(self, start: tuple[File, PyFacts], wanted: Callable[[File, PyFacts], bool]) -> bool:
        """Whether a module, or one it imports from the project (a few imports deep), is ``wanted``."""
        seen = {start[0].path}
        layer = [start]
        for _depth in range(5):
            if any(wanted(file, facts) for file, facts in layer):
                return True
            following = []
            for file, facts in layer:
                for module in self.project_imports(file, facts):
                    if module[0].path not in seen and len(seen) < 500:
                        seen.add(module[0].path)
                        following.append(module)
            layer = following
        return False

    def trains(self, texts: Iterable[str]) -> bool:
        """Whether commands or names refer to training: a training word or a training module."""
        texts = [text for text in texts if len(text) < 2000]
        return _trains(_words(texts)) or self._names_training_module(
            piece for text in texts for piece in _PIECES.split(text)
        )

    def _names_training_module(self, pieces: Iterable[str]) -> bool:
        modules = self.training_modules
        return bool(modules) and any(
            piece == module or module.endswith(f"/{piece}") or piece.endswith(f"/{module}")
            for piece in pieces
            if piece
            for module in modules
        )

    def runs_training(self, texts: Iterable[str]) -> bool:
        """Whether job names or commands run training (a scheduled job that retrains).

        Stricter than ``trains``: a command counts by what it runs (a program, a module, a task, a
        code file), never by a word inside a path argument (``rm -rf /tmp/training-cache``) or an
        option (``--training-data``).
        """
        pieces = [piece for text in texts if len(text) < 2000 for piece in _PIECES.split(text) if piece]
        names = []
        for piece in pieces:
            if piece.endswith(_CODE):
                names.append(piece.rsplit("/", 1)[-1].rsplit(".", 1)[0])  # train.py, ../notebooks/Train.py
            elif not (piece.startswith(("-", "$", "~", ".")) or "/" in piece):
                names.append(piece)  # a program, module, task or job name; paths and options say where
        return _trains(_words(names)) or self._names_training_module(pieces)

    def file_trains(self, file: File) -> bool:
        """Whether a configuration file's strings refer to training (see ``trains``)."""
        if file.path not in self._file_trains:
            self._file_trains[file.path] = self.trains(self.repo.strings(file))
        return self._file_trains[file.path]

    def dependencies(self) -> Iterator[tuple[File, str, str]]:
        """(file, normalised package name, version spec) of every declared dependency."""
        for file in self.repo.files:
            if not file.own:
                continue
            if file.name.startswith("requirements") and file.suffix in (".txt", ".in"):
                for name, spec in requirement_names((self.repo.text(file) or "").split("\n")):
                    yield file, name, spec
            elif file.name == "pyproject.toml":
                data = self.repo.first(file)
                project: dict[str, Any] = data["project"] if isinstance(data.get("project"), dict) else {}
                lines = list(project.get("dependencies") or [])
                for extra in (project.get("optional-dependencies") or {}).values():
                    lines += extra if isinstance(extra, list) else []
                for group in (data.get("dependency-groups") or {}).values():
                    lines += [g for g in group if isinstance(g, str)] if isinstance(group, list) else []
                poetry = (data.get("tool") or {}).get("poetry") or {}
                if isinstance(poetry, dict):
                    lines += list((poetry.get("dependencies") or {}).keys())
                    for group in (poetry.get("group") or {}).values():
                        lines += list(((group or {}).get("dependencies") or {}).keys())
                for name, spec in requirement_names(scalar_text(line) for line in lines):
                    yield file, name, spec
            elif file.name in ("environment.yml", "environment.yaml"):
                deps = self.repo.first(file).get("dependencies") or []
                flat = [d for d in deps if isinstance(d, str)]
                for item in deps:
                    if isinstance(item, dict):
                        flat += [p for p in item.get("pip") or [] if isinstance(p, str)]
                for name, spec in requirement_names(
                    d.replace("=", "==", 1) if "==" not in d else d for d in flat
                ):
                    yield file, name, spec


Detector = Callable[[Context], list[Evidence]]


def _py(
    ctx: Context,
    table: dict[str, str],
    why: str,
    *,
    tests: bool = False,
    require: Callable[[PyFacts], bool] | None = None,
) -> list[Evidence]:
    """Evidence from Python files (notebooks included) importing a module of ``table``."""
    found = []
    for file, facts in ctx.python + (ctx.python_tests if tests else []):
        labels = _imported(facts, table)
        if labels and (require is None or require(facts)):
            found.append(Evidence(file.path, f"{why} ({labels[0]})", _tool(labels[0])))
    return found


def _tool(label: str) -> str:
    """A short tool key for a label: 'MLflow' -> 'mlflow', 'Vertex AI' -> 'vertex'."""
    return {
        "W&B": "wandb",
        "Vertex AI": "vertex",
        "Vertex AI Pipelines": "vertex",
        "Azure ML": "azureml",
        "Azure ML pipelines": "azureml",
        "SageMaker Pipelines": "sagemaker",
        "Kubeflow Pipelines": "kubeflow",
        "Databricks Feature Engineering": "databricks",
        "Databricks": "databricks",
        "Step Functions": "stepfunctions",
        "Great Expectations": "great_expectations",
    }.get(label, label.lower().replace(" ", "_"))


# --- level 0 ---------------------------------------------------------------------------------------

_DEPENDENCY_FILES = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "environment.yml",
    "environment.yaml",
    "pipfile",
)
TRAIN_STEM_WORDS = frozenset({"train", "training", "trainer", "finetune", "retrain"})


def _conda_environment(ctx: Context, file: File) -> bool:
    """A conda environment file by its shape (``dependencies`` with ``channels`` or ``name``),
    whatever it is called: Azure's MLOps v2 keeps ``data-science/environment/train-conda.yml``."""
    if file.suffix not in (".yml", ".yaml") or not file.own:
        return False
    doc = ctx.repo.first(file)
    return isinstance(doc.get("dependencies"), list) and ("channels" in doc or "name" in doc)


def detect_layout(ctx: Context) -> list[Evidence]:
    """Code kept as Python modules (not only notebooks) with its dependencies declared.

    Where they live is the repository's business: ``src/{pkg}`` with a pyproject.toml is this
    scaffold's habit, not what makes a layout reproducible. Dependencies count in any declaration
    file anywhere in the tree (requirements*.txt, pyproject.toml, setup.py/setup.cfg, Pipfile, a
    conda environment file), code in any of the project's own modules.
    """
    repo = ctx.repo
    declared = repo.named(*_DEPENDENCY_FILES) + [
        f for f in repo.files if f.own and f.name.startswith("requirements") and f.suffix == ".txt"
    ]
    declared += [
        f for f in repo.suffixed(".yml", ".yaml") if f not in declared and _conda_environment(ctx, f)
    ]
    if not declared:
        return []
    packages = [f for f in repo.named("__init__.py") if f.dirs and not {"notebooks", "scripts"} & set(f.dirs)]
    modules = [f for f, _ in ctx.python if f.suffix == ".py" and f.name != "__init__.py"]
    code = sorted(packages, key=lambda f: len(f.dirs))[:2] or modules[:2]
    if not code:
        return []
    found = [
        Evidence(f.path, "a Python package" if f.name == "__init__.py" else "Python modules") for f in code
    ]
    return found + [Evidence(f.path, "declared dependencies") for f in declared[:2]]


def detect_entry_points(ctx: Context) -> list[Evidence]:
    if not ctx.found.get("_ml"):
        return []  # without ML there is no training: a trainer.py or `make train` is something else
    found = []
    for file, facts in ctx.python:
        if file.suffix != ".py":
            continue
        words = tokens(file.stem)
        if (words & TRAIN_STEM_WORDS or file.stem == "fit") and (
            facts.main_guard or facts.functions or facts.called & {"fit", "train", "fit_transform"}
        ):
            found.append(Evidence(file.path, "a training script"))
    repo = ctx.repo
    for file in repo.named("pyproject.toml", "setup.cfg"):
        data = repo.first(file) if file.suffix == ".toml" else {}
        scripts: dict[str, Any] = {}
        if data:
            scripts.update((data.get("project") or {}).get("scripts") or {})
            scripts.update(((data.get("tool") or {}).get("poetry") or {}).get("scripts") or {})
        else:
            text = repo.text(file) or ""
            scripts = {
                line.split("=")[0].strip(): line
                for line in text.split("\n")
                if "=" in line and ":" in line and not line.lstrip().startswith(("#", ";"))
            }
        for name, target in scripts.items():
            if _trains(
                tokens(scalar_text(name)) | tokens(scalar_text(target).split(":")[0].rsplit(".", 1)[-1])
            ):
                found.append(Evidence(file.path, f"a training command ({name})"))
                break
    for file in repo.named("makefile", "gnumakefile", "justfile", ".justfile"):
        targets = task_targets(repo.text(file) or "", just="just" in file.name)
        trained = [t for t in targets if _trains(tokens(t))]
        if trained:
            found.append(Evidence(file.path, f"a training task ({trained[0]})"))
    for file in repo.named("dvc.yaml"):
        stages = repo.first(file).get("stages") or {}
        if isinstance(stages, dict) and any(
            _trains(tokens(scalar_text(name))) or ctx.trains(_commands((s or {}).get("cmd")))
            for name, s in stages.items()
            if isinstance(s, dict | type(None))
        ):
            found.append(Evidence(file.path, "a DVC training stage", "dvc"))
    for file in repo.named("mlproject"):
        entries = (repo.first(file) or {}).get("entry_points") or {}
        if isinstance(entries, dict) and entries:
            found.append(Evidence(file.path, "MLflow Project entry points", "mlflow"))
    return found


_HTTP_CLIENTS = ("requests.", "httpx.", "urllib.request.", "urllib3.", "aiohttp.")
_HTTP_CALLS = frozenset({"get", "post", "put", "patch", "delete", "request", "urlopen"})
# What serves or fakes HTTP inside the test run: a test that uses one is not calling a deployment.
_LOCAL_HTTP = (
    "fastapi.testclient",
    "starlette.testclient",
    "werkzeug.test",
    "responses",
    "requests_mock",
    "respx",
    "httpretty",
    "pytest_httpserver",
    "unittest.mock",
    "mock",
)


def _calls_deployment(facts: PyFacts) -> bool:
    """Whether test code calls a deployed endpoint over the network (a smoke test of a deployment)."""
    remote = "invoke_endpoint" in facts.called or any(
        call.startswith(_HTTP_CLIENTS) and call.rsplit(".", 1)[-1] in _HTTP_CALLS for call in facts.calls
    )
    return remote and not facts.uses(*_LOCAL_HTTP) and "test_client" not in facts.called


def detect_unit_tests(ctx: Context) -> list[Evidence]:
    """Test modules with at least one test that can fail: placeholders (``assert False`` under
    ``xfail``, a body of ``pass``/``assert True``, ``skip``) and smoke tests that call a deployed
    endpoint are not unit tests; conftest.py holds fixtures, not tests."""
    return [
        Evidence(file.path, "pytest/unittest tests")
        for file, facts in ctx.python_tests
        if facts.real_tests
        and file.suffix == ".py"
        and file.name != "conftest.py"
        and not _calls_deployment(facts)
    ]


# A lineage record is written (a file, a run's tags) and pins a version (a digest, a git commit).
_RECORD_WRITES = frozenset(
    {"dump", "safe_dump", "write_text", "write", "log_dict", "set_tags", "log_artifact", "put_object"}
)
_DIGESTS = frozenset({"sha256", "sha1", "md5", "blake2b", "file_digest", "hexdigest"})


def detect_lineage(ctx: Context) -> list[Evidence]:
    repo = ctx.repo
    found = []
    for file in repo.named("dvc.yaml", "dvc.lock") + [f for f in repo.suffixed(".dvc")]:
        doc = repo.first(file) if file.suffix != ".dvc" else (repo.data(file) or [{}])[0]
        if isinstance(doc, dict) and (doc.get("stages") or doc.get("outs")):
            found.append(Evidence(file.path, "DVC-tracked data and stages", "dvc"))
    lineage_libs = {"openlineage": "OpenLineage", "marquez": "Marquez", "mlflow.data": "MLflow datasets"}
    found += _py(ctx, lineage_libs, "lineage records")
    for file, facts in ctx.python:
        if "log_input" in facts.called and "mlflow" in facts.imports:
            found.append(Evidence(file.path, "dataset inputs logged with runs (MLflow)", "mlflow"))
        elif (
            ("lineage" in tokens(file.stem) or any("lineage" in tokens(n) for n in facts.functions))
            and facts.called & _RECORD_WRITES
            and (facts.called & _DIGESTS or any("rev-parse" in s for s in facts.strings))
        ):
            found.append(Evidence(file.path, "lineage records (code or data versions) written by code"))
    return found


def detect_adr(ctx: Context) -> list[Evidence]:
    adr_dirs = {"adr", "adrs", "decisions", "decision-records", "architecture-decisions"}
    found = [
        Evidence(f.path, "architecture decision records")
        for f in ctx.repo.files
        if not f.template and f.suffix in (".md", ".rst", ".adoc") and adr_dirs & set(f.dirs)
    ]
    return found + [Evidence(f.path, "an adr-tools folder marker") for f in ctx.repo.named(".adr-dir")]


# --- level 1 ---------------------------------------------------------------------------------------


def detect_ci(ctx: Context) -> list[Evidence]:
    return [
        Evidence(p.file.path, f"CI configuration ({CI_VENDORS[p.vendor]})", p.vendor) for p in ctx.pipelines
    ]


def detect_pre_commit(ctx: Context) -> list[Evidence]:
    repo = ctx.repo
    found = [
        Evidence(f.path, "pre-commit hooks", "pre-commit")
        for f in repo.named(".pre-commit-config.yaml", ".pre-commit-config.yml")
        if repo.first(f).get("repos")
    ]
    found += [
        Evidence(f.path, "lefthook hooks", "lefthook") for f in repo.named("lefthook.yml", ".lefthook.yml")
    ]
    return found + [
        Evidence(f.path, "husky hooks", "husky") for f in repo.named("pre-commit") if ".husky" in f.dirs
    ]


_NOT_TRAINING_DIRS = frozenset(
    {
        ".devcontainer",
        ".github",
        ".gitlab",
        ".circleci",
        ".buildkite",
        ".ci",
        "ci",
        "jenkins",
        "runner",
        "runners",
    }
)
_ML_IMAGES = (
    "pytorch/",
    "tensorflow/",
    "nvidia/cuda",
    "nvcr.io/",
    "huggingface/",
    "-training",
    "azureml",
    "rocm/",
    "jupyter/",
    "deepspeed",
    "gcr.io/deeplearning-platform",
)
# TFX's images (the TFX CLI writes `FROM tensorflow/tfx:<version>`, older ones gcr.io/tfx-oss-public/tfx):
# the pipeline's components, the Trainer among them, run in them.
_TFX_IMAGES = ("tensorflow/tfx", "tfx-oss-public/")
_SERVE_WORDS = frozenset(
    {"uvicorn", "gunicorn", "serve", "serving", "inference", "bentoml", "torchserve", "flask"}
)
_ML_PIP = frozenset(
    {"torch", "tensorflow", "scikit", "sklearn", "xgboost", "lightgbm", "transformers", "keras"}
)


def _dockerfiles(repo: Repository) -> list[File]:
    return [
        f
        for f in repo.files
        if not f.template
        and not f.doc
        and (f.stem in ("dockerfile", "containerfile") or f.name.endswith(".dockerfile"))
    ]


def _console_scripts(ctx: Context) -> dict[str, str]:
    """The project's console scripts: command name -> the module it runs ('churn-train' -> 'churn.train')."""
    scripts: dict[str, str] = {}
    for file in ctx.repo.named("pyproject.toml"):
        data = ctx.repo.first(file)
        tables = [
            (data.get("project") or {}).get("scripts"),
            ((data.get("tool") or {}).get("poetry") or {}).get("scripts"),
        ]
        for table in tables:
            for name, target in table.items() if isinstance(table, dict) else ():
                scripts[str(name)] = scalar_text(target).split(":")[0].strip()
    for file in ctx.repo.named("setup.cfg"):
        for line in (ctx.repo.text(file) or "").split("\n"):
            name, equals, target = line.partition("=")
            if equals and ":" in target and not line.lstrip().startswith(("#", ";")):
                scripts[name.strip()] = target.split(":")[0].strip()
    return scripts


def _started_modules(ctx: Context, starts: list[str]) -> list[tuple[File, PyFacts]]:
    """The project's modules an image's ENTRYPOINT/CMD runs: a console script, `-m module`, a file."""
    scripts = _console_scripts(ctx)
    pieces = [piece for text in starts for piece in _PIECES.split(text) if piece]
    names = [scripts[p] for p in pieces if p in scripts]
    names += [after for before, after in itertools.pairwise(pieces) if before == "-m"]
    modules = [ctx.modules[n] for name in names for n in (name, f"{name}.__main__") if n in ctx.modules]
    files = [p.removeprefix("./") for p in pieces if p.endswith(".py")]
    return modules + [
        (f, facts) for f, facts in ctx.python if any(f.path == p or f.path.endswith(f"/{p}") for p in files)
    ]


def detect_training_image(ctx: Context) -> list[Evidence]:
    if not ctx.found.get("_ml"):
        return []
    found = []
    training = ctx.training_modules

    def trains(file: File, facts: PyFacts) -> bool:
        return bool(training.intersection(module_names(file.path))) or file.path in training

    for file in _dockerfiles(ctx.repo):
        path_words = tokens(file.path)
        if _NOT_TRAINING_DIRS & set(file.dirs) or {"devcontainer", "dev", "ci", "runner", "docs"} & tokens(
            file.name
        ):
            continue
        instructions = dockerfile_instructions(ctx.repo.text(file) or "")
        runs = [a for k, a in instructions if k in ("CMD", "ENTRYPOINT", "RUN")]
        starts = [a for k, a in instructions if k in ("CMD", "ENTRYPOINT")]
        base = " ".join(a.lower() for k, a in instructions if k == "FROM")
        if _trains(path_words) or ctx.trains(runs):
            found.append(Evidence(file.path, "an image that runs training"))
        elif _words(starts) & _SERVE_WORDS or path_words & _SERVE_WORDS:
            continue  # a serving image
        elif any(ctx.reaches(module, trains) for module in _started_modules(ctx, starts)):
            found.append(Evidence(file.path, "an image whose entry point is the project's training CLI"))
        elif any(image in base for image in _TFX_IMAGES):
            found.append(Evidence(file.path, "a TFX pipeline image (it runs the pipeline's training)", "tfx"))
        elif any(image in base for image in _ML_IMAGES) or _words(runs) & _ML_PIP:
            found.append(Evidence(file.path, "an image with an ML framework"))
    return found


def detect_task_runner(ctx: Context) -> list[Evidence]:
    repo = ctx.repo
    found = []
    for file in repo.named("makefile", "gnumakefile"):
        if task_targets(repo.text(file) or ""):
            found.append(Evidence(file.path, "make targets", "make"))
    for file in repo.named("justfile", ".justfile"):
        if task_targets(repo.text(file) or "", just=True):
            found.append(Evidence(file.path, "just recipes", "just"))
    for file in repo.named("taskfile.yml", "taskfile.yaml"):
        if repo.first(file).get("tasks"):
            found.append(Evidence(file.path, "Task (go-task) tasks", "task"))
    for file in repo.named("mise.toml", ".mise.toml", "pixi.toml"):
        if repo.first(file).get("tasks"):
            found.append(Evidence(file.path, f"{file.stem.strip('.')} tasks", file.stem.strip(".")))
    found += [
        Evidence(f.path, "mise file tasks", "mise")
        for f in repo.files
        if f.own
        and (f.dirs[-2:] in ((".mise", "tasks"), ("mise", "tasks")) or f.dirs[-1:] == ("mise-tasks",))
    ][:1]
    for file in repo.named("tox.ini"):
        found.append(Evidence(file.path, "tox environments", "tox"))
    for file in repo.named("setup.cfg"):
        if "[tox:tox]" in (repo.text(file) or ""):
            found.append(Evidence(file.path, "tox environments", "tox"))
    for file in repo.named("noxfile.py"):
        facts = repo.python(file)
        if facts and "nox" in facts.imports:
            found.append(Evidence(file.path, "nox sessions", "nox"))
    for file, facts in ctx.python:  # tasks.py, or a tasks/ package of invoke collections
        if "invoke" in facts.imports and any(d.startswith("invoke") for d in facts.decorators):
            found.append(Evidence(file.path, "invoke tasks", "invoke"))
    for file in repo.named("pyproject.toml", "hatch.toml"):
        tool = (
            repo.first(file).get("tool") or {}
            if file.name == "pyproject.toml"
            else {"hatch": repo.first(file)}
        )
        if not isinstance(tool, dict):
            continue
        for name, tasks, label in (
            ("tox", tool.get("tox"), "tox environments ([tool.tox])"),
            ("poe", (tool.get("poe") or {}).get("tasks"), "poe tasks"),
            ("taskipy", (tool.get("taskipy") or {}).get("tasks"), "taskipy tasks"),
            ("pdm", (tool.get("pdm") or {}).get("scripts"), "pdm scripts"),
            ("pixi", (tool.get("pixi") or {}).get("tasks"), "pixi tasks"),
            (
                "hatch",
                [
                    e.get("scripts")
                    for e in ((tool.get("hatch") or {}).get("envs") or {}).values()
                    if isinstance(e, dict) and e.get("scripts")
                ],
                "hatch scripts",
            ),
        ):
            if present(tasks):
                found.append(Evidence(file.path, label, name))
    return found


_LOCK_FILES = (
    "uv.lock",
    "poetry.lock",
    "pipfile.lock",
    "pdm.lock",
    "pixi.lock",
    "conda-lock.yml",
    "conda-lock.yaml",
)


def detect_locked_dependencies(ctx: Context) -> list[Evidence]:
    repo = ctx.repo
    found = [
        Evidence(f.path, "a lock file", f.stem.split("-")[0]) for f in repo.named(*_LOCK_FILES) if f.size
    ]
    found += [
        Evidence(f.path, "a conda lock file", "conda-lock")
        for f in repo.files
        if f.own and f.name.endswith((".conda-lock.yml", ".conda-lock.yaml"))
    ]
    for file in repo.files:
        if not (
            file.own
            and file.suffix in (".txt", ".lock")
            and file.name.startswith(("requirements", "constraints"))
        ):
            continue
        text = repo.text(file) or ""
        requirements = requirement_names(text.split("\n"))
        if "--hash=sha256:" in text:
            found.append(Evidence(file.path, "hashed requirements", "pip-tools"))
        elif requirements and all(spec.startswith("==") for _, spec in requirements):
            found.append(Evidence(file.path, "fully pinned requirements", "pip"))
    return found


# --- level 2 ---------------------------------------------------------------------------------------

# Orchestrators made for ML pipelines count as they are; general-purpose ones must show training.
ML_PIPELINES = {
    "kfp": "Kubeflow Pipelines",
    "zenml": "ZenML",
    "metaflow": "Metaflow",
    "sagemaker.workflow": "SageMaker Pipelines",
    "azure.ai.ml.dsl": "Azure ML pipelines",
    "tfx": "TFX",
    "kedro.pipeline": "Kedro",
    "flytekit": "Flyte",
}
GENERAL_PIPELINES = {
    "airflow": "Airflow",
    "prefect": "Prefect",
    "dagster": "Dagster",
    "luigi": "Luigi",
    "stepfunctions": "Step Functions",
    "aws_cdk.aws_stepfunctions": "Step Functions",
    "databricks.sdk": "Databricks",
}


def _ml_code(facts: PyFacts) -> bool:
    return bool(_imported(facts, ML_LIBRARIES))


_PIPELINE_WORDS = frozenset(
    {"pipeline", "pipelines", "workflow", "workflows", "flow", "flows", "dag", "dags"}
)
_STAGE_WORDS = frozenset(
    {
        "ingest",
        "load",
        "extract",
        "validate",
        "validation",
        "features",
        "feature",
        "preprocess",
        "prepare",
        "split",
        "evaluate",
        "evaluation",
        "score",
        "register",
        "package",
        "export",
        "tune",
    }
)


_DATABRICKS_TASKS = frozenset(
    {"notebook_task", "spark_python_task", "python_wheel_task", "pipeline_task", "task_key"}
)
_ARGO_KINDS = frozenset({"Workflow", "WorkflowTemplate", "CronWorkflow"})


_PIPELINE_DEFINERS = frozenset(
    {
        "pipeline",
        "flow",
        "flowspec",
        "dag",
        "job",
        "asset",
        "workflow",
        "statemachine",
        "graph",
        "definitions",
    }
)


def _defines_pipeline(facts: PyFacts) -> bool:
    """Whether the module defines a pipeline (@pipeline, @flow, @dag, FlowSpec, Pipeline()), not a step."""
    names = [*facts.decorators, *facts.bases, *facts.calls]
    return any(name.rsplit(".", 1)[-1].lower() in _PIPELINE_DEFINERS for name in names)


# A job module that runs the whole training path in one run: reads the data, validates it (with a
# data validation library), trains, scores and registers the model (with a tracker's registry).
_READ_CALLS = frozenset(
    {
        "read",
        "read_csv",
        "read_parquet",
        "read_table",
        "read_json",
        "read_sql",
        "read_excel",
        "read_feather",
        "load_data",
        "load_dataset",
        "from_delimited_files",
        "get_historical_features",
    }
)
_VALIDATE_CALLS = frozenset({"validate", "check", "validate_data", "run_checkpoint", "check_types"})
_SCORE_CALLS = frozenset({"score", "evaluate", "log_metric", "log_metrics"})
_REGISTER_CALLS = frozenset({"register", "register_model", "create_model_version", "create_registered_model"})


def _job_pipeline(ctx: Context, file: File, facts: PyFacts) -> bool:
    """Whether a module reads, validates, trains, scores and registers a model in one run."""
    called = facts.called
    scores = called & _SCORE_CALLS or any(c.endswith(("_score", "_error")) for c in called)
    registers = called & _REGISTER_CALLS or any(v is not None for v in facts.kw("registered_model_name"))
    if not (called & _READ_CALLS and called & _VALIDATE_CALLS and called & {"fit", "train"}):
        return False
    if not (scores and registers):
        return False
    imported = {f.path for f, _ in ctx.project_imports(file, facts)}
    validators = {e.path for e in ctx.found.get("data_validation", [])}
    trackers = {e.path for e in ctx.found.get("experiment_tracking", [])}
    return bool(
        (facts.uses(*VALIDATORS) or imported & validators) and (facts.uses(*TRACKERS) or imported & trackers)
    )


# Ray job specs: Anyscale's job config (https://docs.anyscale.com/reference/job-api) and KubeRay's
# RayJob (https://docs.ray.io/en/latest/cluster/kubernetes/getting-started/rayjob-quick-start.html).
_RAY_JOB_KEYS = frozenset(
    {"compute_config", "cluster_env", "image_uri", "containerfile", "runtime_env", "working_dir"}
)


def _shell_commands(text: str) -> list[str]:
    """The commands of a shell script: comments dropped, continuation lines joined."""
    commands: list[str] = []
    current = ""
    for line in text.split("\n"):
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        if len(current) < 2000:
            commands.append(current)
        current = ""
    return commands


def _with_scripts(ctx: Context, commands: Iterable[str]) -> list[str]:
    """Commands, each shell script they run (`bash deploy/jobs/workloads.sh`) replaced by its commands."""
    scripts = ctx.repo.suffixed(".sh")
    out: list[str] = []
    for command in commands:
        named = [piece.removeprefix("./") for piece in _PIECES.split(command) if piece.endswith(".sh")]
        run = [f for f in scripts if any(f.path == n or f.path.endswith(f"/{n}") for n in named)]
        if run:
            out += [c for f in run[:3] for c in _shell_commands(ctx.repo.text(f) or "")]
        else:
            out.append(command)
    return out


def _stages(ctx: Context, commands: Iterable[str]) -> list[str]:
    """The stages a run of commands goes through, in order: data checks, train, evaluate, save."""
    stages: dict[str, None] = {}
    for command in (part.strip() for text in commands for part in re.split(r"&&|;", text)):
        if command.startswith(("export ", "echo ", "cat ", "mkdir ")) or re.match(r"^\w+=", command):
            continue  # settings and bookkeeping, not a stage
        words = tokens(command)
        if ctx.runs_training([command]):
            stages["train"] = None
        elif words & {"evaluate", "evaluation", "eval"}:
            stages["evaluate"] = None
        elif words & {"validate", "validation", "expectations", "pandera"} or (
            "pytest" in words and words & {"data", "dataset", "datasets"}
        ):
            stages["data checks"] = None
        elif words & {"register", "registry", "upload", "publish"} or {"cp", "s", "3"} <= words:
            stages["save"] = None
    return list(stages)


def _staged_training(stages: list[str]) -> bool:
    return "train" in stages and len(stages) >= 3


def _ray_jobs(ctx: Context) -> list[Evidence]:
    """Ray/Anyscale jobs whose entry point trains in stages, and the CI jobs that submit them."""
    found = []
    specs: dict[str, list[str]] = {}  # job spec path -> its stages
    for file in ctx.configs:
        doc = ctx.repo.first(file)
        ray_job = doc.get("kind") == "RayJob" and isinstance(doc.get("spec"), dict)
        spec = doc["spec"] if ray_job else doc
        entry = spec.get("entrypoint")
        if not (isinstance(entry, str) and len(entry) < 2000 and (ray_job or _RAY_JOB_KEYS & set(spec))):
            continue
        stages = _stages(ctx, _with_scripts(ctx, [entry]))
        tool = "anyscale" if {"compute_config", "cluster_env", "project_id"} & set(spec) else "ray"
        if _staged_training(stages):
            specs[file.path] = stages
            where = "Anyscale" if tool == "anyscale" else "Ray"
            found.append(Evidence(file.path, f"a training job on {where} ({' -> '.join(stages)})", tool))
    for pipeline in ctx.pipelines:
        for command in pipeline.commands:
            words = tokens(command) if len(command) < 2000 else set()
            if not ("submit" in words and words & {"ray", "anyscale"}):
                continue
            named = [path for path in specs if path in command]
            _, dashes, inline = command.partition(" -- ")
            if named:
                stages = specs[named[0]]
            else:
                stages = _stages(ctx, _with_scripts(ctx, [inline])) if dashes else []
            if _staged_training(stages):
                what = f"the job in {named[0]}" if named else "a training job"
                why = f"CI submits {what} to Ray ({' -> '.join(stages)})"
                found.append(Evidence(pipeline.file.path, why, "ray"))
                break
    return found


def detect_training_pipeline(ctx: Context) -> list[Evidence]:
    found = _py(ctx, ML_PIPELINES, "a training pipeline", require=_defines_pipeline)
    for file, facts in ctx.python:
        # Azure ML SDK v1: a Pipeline of PythonScriptSteps (train -> evaluate -> register), which is
        # also how batch scoring is run: it counts when its steps train.
        if (
            facts.uses("azureml.pipeline")
            and _defines_pipeline(facts)
            and ctx.trains([*facts.strings, *facts.functions])
        ):
            found.append(Evidence(file.path, "a training pipeline (Azure ML SDK v1 pipeline)", "azureml"))
        if file.suffix == ".py" and _job_pipeline(ctx, file, facts):
            found.append(
                Evidence(file.path, "a training pipeline in one job (read, validate, train, score, register)")
            )
        # A hand-written pipeline: a pipeline module whose functions are the stages, training among them.
        stage_words = {w for name in facts.functions for w in tokens(name)}
        if (
            file.suffix == ".py"
            and (tokens(file.stem) | _words(file.dirs[-1:])) & _PIPELINE_WORDS
            and stage_words & (TRAIN_WORDS - {"retrain", "retraining"})
            and len(stage_words & _STAGE_WORDS) >= 2
        ):
            found.append(Evidence(file.path, "a training pipeline in code (its stages are functions)"))
        if "google.cloud.aiplatform" in facts.imports and _touches(facts, {"PipelineJob"}):
            found.append(Evidence(file.path, "a training pipeline (Vertex AI Pipelines)", "vertex"))
        labels = _imported(facts, GENERAL_PIPELINES)
        if (
            labels
            and _defines_pipeline(facts)
            and (ctx.trains([*facts.functions, *facts.strings, file.stem]) or _ml_code(facts))
        ):
            found.append(Evidence(file.path, f"a training pipeline ({labels[0]})", _tool(labels[0])))
    repo = ctx.repo
    for file in repo.named("dvc.yaml"):
        stages = repo.first(file).get("stages")
        if isinstance(stages, dict) and len(stages) > 1 and ctx.trains(_strings(stages)):
            found.append(Evidence(file.path, "DVC pipeline stages", "dvc"))
    for file in ctx.configs:
        doc = repo.first(file)
        if not doc:
            continue
        schema = scalar_text(doc.get("$schema", ""))
        if (doc.get("type") == "pipeline" and isinstance(doc.get("jobs"), dict)) or "pipelineJob" in schema:
            found.append(Evidence(file.path, "a training pipeline (Azure ML pipelines)", "azureml"))
        elif "pipelineSpec" in doc or ("pipelineInfo" in doc and "root" in doc):
            found.append(Evidence(file.path, "a compiled Kubeflow/Vertex pipeline", "kubeflow"))
        elif "StartAt" in doc and isinstance(doc.get("States"), dict) and ctx.trains(_strings(doc["States"])):
            found.append(Evidence(file.path, "a Step Functions training workflow", "stepfunctions"))
        else:
            keys = repo.keys(file)
            tasks = [t for value in keys.get("tasks", []) if isinstance(value, list) for t in value]
            if any(isinstance(t, dict) and _DATABRICKS_TASKS & set(t) for t in tasks) and ctx.trains(
                s for t in tasks for s in _strings(t)
            ):
                found.append(Evidence(file.path, "a Databricks training job", "databricks"))
            elif _ARGO_KINDS.intersection(t for t in keys.get("kind", []) if isinstance(t, str)) and (
                ctx.file_trains(file)
            ):
                found.append(Evidence(file.path, "an Argo training workflow", "argo"))
    for file, types in ctx.cloudformation:
        if "AWS::StepFunctions::StateMachine" in types and ctx.file_trains(file):
            found.append(Evidence(file.path, "a Step Functions training workflow", "stepfunctions"))
        if "AWS::SageMaker::Pipeline" in types:
            found.append(Evidence(file.path, "a SageMaker pipeline", "sagemaker"))
    for file, types, settings in ctx.terraform:
        if types & {"aws_sfn_state_machine", "aws_sagemaker_pipeline", "databricks_job"} and ctx.trains(
            [file.stem, *(v for _, v in settings)]
        ):
            found.append(Evidence(file.path, "a training workflow (Terraform)", "terraform"))
    return found + _ray_jobs(ctx)


TRACKERS = {
    "mlflow": "MLflow",
    "wandb": "W&B",
    "neptune": "Neptune",
    "comet_ml": "Comet",
    "clearml": "ClearML",
    "dvclive": "DVC",
    "aim": "Aim",
}


def detect_experiment_tracking(ctx: Context) -> list[Evidence]:
    found = _py(ctx, TRACKERS, "experiment tracking")
    for file, facts in ctx.python:
        calls = facts.called
        if facts.uses("google.cloud.aiplatform", "vertexai") and (
            calls & {"start_run", "log_metrics", "log_params", "upload", "upload_scikit_learn_model_file"}
            or facts.kw("experiment")
        ):
            found.append(
                Evidence(file.path, "experiment tracking (Vertex AI Experiments/Model Registry)", "vertex")
            )
        if facts.uses("azure.ai.ml", "azureml.core") and (
            calls & {"create_or_update", "register", "log", "start_logging"} or "mlflow" in facts.imports
        ):
            found.append(Evidence(file.path, "experiment tracking (Azure ML)", "azureml"))
        if facts.uses("sagemaker") and (
            facts.uses("sagemaker.experiments", "sagemaker.model_metrics")
            or calls & {"RegisterModel", "register", "ModelPackage", "create_model_package_group", "Run"}
        ):
            found.append(Evidence(file.path, "experiment tracking / model registry (SageMaker)", "sagemaker"))
        if "boto3" in facts.imports and calls & {"create_model_package", "create_model_package_group"}:
            found.append(Evidence(file.path, "the SageMaker model registry", "sagemaker"))
    repo = ctx.repo
    for file in repo.named("dvc.yaml"):
        doc = repo.first(file)
        if any(present(doc.get(k)) for k in ("metrics", "params", "plots", "artifacts")):
            found.append(Evidence(file.path, "DVC experiments and artifacts", "dvc"))
    for file in repo.named("mlproject"):
        found.append(Evidence(file.path, "an MLflow Project", "mlflow"))
    for file in ctx.configs:
        schema = scalar_text(repo.first(file).get("$schema", ""))
        if "azureml" in schema and ("commandJob" in schema or "model" in schema.lower()):
            found.append(Evidence(file.path, "an Azure ML job or model", "azureml"))
        elif file.suffix in (".yml", ".yaml") and any(
            isinstance(v, dict)
            for k in ("registered_models", "experiments")
            for v in repo.keys(file).get(k, [])
        ):
            found.append(Evidence(file.path, "Databricks experiments/registered models", "databricks"))
    for file, types in ctx.cloudformation:
        if types & {"AWS::SageMaker::ModelPackageGroup", "AWS::SageMaker::ModelPackage"}:
            found.append(Evidence(file.path, "the SageMaker model registry", "sagemaker"))
    for file, types, _ in ctx.terraform:
        if types & {
            "aws_sagemaker_model_package_group",
            "google_vertex_ai_tensorboard",
            "databricks_mlflow_model",
        }:
            found.append(Evidence(file.path, "a model registry (Terraform)", "terraform"))
    return found


FEATURE_STORES = {
    "feast": "Feast",
    "databricks.feature_engineering": "Databricks Feature Engineering",
    "databricks.feature_store": "Databricks Feature Engineering",
    "sagemaker.feature_store": "SageMaker Feature Store",
    "hopsworks": "Hopsworks",
    "hsfs": "Hopsworks",
    "tecton": "Tecton",
    "featureform": "Featureform",
    "feathr": "Feathr",
    "vertexai.resources.preview.feature_store": "Vertex AI Feature Store",
}


def detect_feature_store(ctx: Context) -> list[Evidence]:
    repo = ctx.repo
    found = [
        Evidence(f.path, "a Feast feature repository", "feast")
        for f in repo.named("feature_store.yaml", "feature_store.yml")
        if present(repo.first(f).get("project"))
    ]
    found += _py(ctx, FEATURE_STORES, "a feature store")
    for file, facts in ctx.python:
        if facts.uses("google.cloud.aiplatform") and _touches(
            facts, {"Featurestore", "FeatureOnlineStore", "FeatureView", "EntityType", "create_featurestore"}
        ):
            found.append(Evidence(file.path, "a feature store (Vertex AI Feature Store)", "vertex"))
        if facts.called & {"create_feature_group", "put_record"} and "boto3" in facts.imports:
            found.append(Evidence(file.path, "a feature store (SageMaker Feature Store)", "sagemaker"))
    for file, types in ctx.cloudformation:
        if "AWS::SageMaker::FeatureGroup" in types:
            found.append(Evidence(file.path, "a SageMaker feature group", "sagemaker"))
    for file, types, _ in ctx.terraform:
        if any(t.startswith(("aws_sagemaker_feature_group", "google_vertex_ai_feature")) for t in types):
            found.append(Evidence(file.path, "a feature store (Terraform)", "terraform"))
    return found


VALIDATORS = {
    "pandera": "pandera",
    "great_expectations": "Great Expectations",
    "tensorflow_data_validation": "TFDV",
    "deepchecks": "deepchecks",
    "soda": "Soda",
    "frictionless": "Frictionless",
    "pointblank": "pointblank",
}


def detect_data_validation(ctx: Context) -> list[Evidence]:
    # Validation suites often live under tests/: they count.
    found = _py(ctx, VALIDATORS, "data validation", tests=True)
    repo = ctx.repo
    found += [
        Evidence(f.path, "a Great Expectations project", "great_expectations")
        for f in repo.named("great_expectations.yml", own=False)
        if not f.template
    ]
    return found


_GPU_INSTANCE = re.compile(
    r"^(?:ml\.)?(?:p[2-6]|g[3-6]|g4dn|g5g|trn1|inf[12]|dl1)[a-z0-9]*\.\w+$|^(?:standard_)?n[cdv]\d|^a[23]-|^g2-"
    r"|^n1-.*-gpu|nvidia"
)


def _gpu_value(key: str, value: Any) -> bool:
    """Whether a setting requests an accelerator (the key normalised: lower case, no '_' or '-')."""
    if not present(value):
        return False
    value_text = scalar_text(value).strip().lower()
    if not value_text or len(value_text) > 200:
        return False  # a container is a section, not a setting
    if key in (
        "nvidia.com/gpu",
        "amd.com/gpu",
        "gpus",
        "gpu",
        "numgpus",
        "gpucount",
        "acceleratorcount",
        "gpunum",
    ):
        return value_text not in ("0", "false")
    if key in ("acceleratortype", "gputype"):
        return value_text not in ("cpu", "auto") and "unspecified" not in value_text
    if key in ("instancetype", "vmsize", "size", "nodetypeid", "drivernodetypeid", "machinetype"):
        return bool(_GPU_INSTANCE.search(value_text))
    if key == "usegpu":
        return value is True or value_text == "true"
    return False


def _norm(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


def _batch_job_runs_training(ctx: Context, keys: dict[str, list[Any]]) -> bool:
    """An AWS Batch job (a SubmitJob request or a job definition) whose command runs training."""
    if not {"jobDefinition", "containerProperties"} & set(keys):
        return False
    commands = [v for v in keys.get("command", []) if isinstance(v, list)]
    return ctx.runs_training(" ".join(scalar_text(part) for part in command) for command in commands)


def detect_gpu_training(ctx: Context) -> list[Evidence]:
    found = []
    repo = ctx.repo
    for file in ctx.configs:
        if file.name in ("package.json", "package-lock.json"):
            continue
        keys = repo.keys(file)
        hit = next((k for k, values in keys.items() if any(_gpu_value(_norm(k), v) for v in values)), None)
        # AWS Batch: {"type": "GPU", "value": "1"}
        if (
            hit is None
            and "GPU" in [scalar_text(v).upper() for v in keys.get("type", [])]
            and any(
                scalar_text(m.get("type")).upper() == "GPU" and present(m.get("value"))
                for m in repo.mappings(file)
            )
        ):
            hit = "type: GPU"
        if hit is None and any(
            "gpu" in [scalar_text(c).lower() for c in v]
            for v in keys.get("capabilities", [])
            if isinstance(v, list)
        ):
            hit = "capabilities: [gpu]"
        if hit is not None:
            found.append(Evidence(file.path, f"a job spec that requests GPUs ({hit})"))
        elif _batch_job_runs_training(ctx, keys):
            # Classical ML trains on CPUs: a cloud job without an accelerator is the right request.
            found.append(Evidence(file.path, "an AWS Batch job spec that runs training (CPUs)"))
    for file, facts in ctx.python:
        requested = [
            k for k in facts.kwargs if any(_gpu_value(_norm(k), v) for v in facts.kwargs[k] if v is not ...)
        ]
        if requested or facts.called & {"set_gpu_limit", "set_accelerator_type", "set_accelerator_limit"}:
            found.append(
                Evidence(file.path, f"a job that requests GPUs ({(requested or ['kfp accelerator'])[0]})")
            )
    for file, _types, settings in ctx.terraform:
        if any(_gpu_value(_norm(k), v) for k, v in settings):
            found.append(Evidence(file.path, "infrastructure that requests GPUs (Terraform)", "terraform"))
    for pipeline in ctx.pipelines:
        if pipeline.vendor == "github":
            jobs = repo.first(pipeline.file).get("jobs") or {}
            runners = [str(j.get("runs-on")) for j in jobs.values() if isinstance(j, dict)]
            if any("gpu" in tokens(r) for r in runners):
                found.append(Evidence(pipeline.file.path, "CI jobs on GPU runners", "github"))
    return found


# --- level 3 ---------------------------------------------------------------------------------------

SERVERS = {
    "bentoml": "BentoML",
    "ray.serve": "Ray Serve",
    "kserve": "KServe",
    "seldon_core": "Seldon",
    "mlserver": "MLServer",
    "litserve": "LitServe",
    "ts.torch_handler": "TorchServe",
}
_SERVING_KINDS = {
    "InferenceService": "KServe",
    "SeldonDeployment": "Seldon",
    "ServingRuntime": "KServe",
    "AWS::SageMaker::Endpoint": "SageMaker",
    "AWS::SageMaker::EndpointConfig": "SageMaker",
}


# Batch deployment: SageMaker batch transform, Azure ML batch endpoints, Vertex batch prediction.
_BATCH_CALLS = frozenset(
    {"Transformer", "TransformStep", "BatchEndpoint", "ModelBatchDeployment", "batch_predict"}
)


def detect_serving(ctx: Context) -> list[Evidence]:
    found = _py(ctx, SERVERS, "model serving")
    ml_repo = bool(ctx.found.get("_ml"))
    for file, facts in ctx.python:
        calls = facts.calls
        if ml_repo and calls & {"fastapi.FastAPI", "flask.Flask", "litestar.Litestar"}:
            found.append(
                Evidence(
                    file.path,
                    "an HTTP app serving the model",
                    "fastapi" if "fastapi.FastAPI" in calls else "flask",
                )
            )
        elif (facts.uses("sagemaker") and facts.called & {"deploy", "Predictor", "ModelStep"}) or (
            "boto3" in facts.imports and "create_endpoint" in facts.called
        ):
            found.append(Evidence(file.path, "a SageMaker endpoint", "sagemaker"))
        elif facts.uses("google.cloud.aiplatform") and _touches(
            facts, {"deploy", "Endpoint", "create_endpoint"}
        ):
            found.append(Evidence(file.path, "a Vertex AI endpoint", "vertex"))
        elif facts.uses("azure.ai.ml") and _touches(
            facts, {"ManagedOnlineEndpoint", "ManagedOnlineDeployment", "KubernetesOnlineEndpoint"}
        ):
            found.append(Evidence(file.path, "an Azure ML online endpoint", "azureml"))
        elif facts.uses("azureml.core") and "deploy" in facts.called and "InferenceConfig" in facts.called:
            found.append(Evidence(file.path, "an Azure ML web service (Model.deploy)", "azureml"))
        elif "mlflow.pyfunc.spark_udf" in facts.calls or facts.called & _BATCH_CALLS:
            found.append(Evidence(file.path, "batch inference with the registered model"))
        elif facts.calls & {"mlflow.models.serve", "mlflow.deployments.get_deploy_client"}:
            found.append(Evidence(file.path, "MLflow model serving", "mlflow"))
    found += _deployed_scoring_scripts(ctx)
    repo = ctx.repo
    for file, types in ctx.cloudformation:
        kinds = [label for kind, label in _SERVING_KINDS.items() if kind in types]
        if kinds:
            found.append(Evidence(file.path, f"a model endpoint ({kinds[0]})", _tool(kinds[0])))
    for file in ctx.configs:
        schema = scalar_text(repo.first(file).get("$schema", ""))
        if "OnlineEndpoint" in schema or "OnlineDeployment" in schema:
            found.append(Evidence(file.path, "an Azure ML online endpoint", "azureml"))
        elif any(present(v) for v in repo.keys(file).get("model_serving_endpoints", [])):
            found.append(Evidence(file.path, "a Databricks model serving endpoint", "databricks"))
        elif "batchEndpoint" in schema or "batchDeployment" in schema:
            found.append(Evidence(file.path, "an Azure ML batch endpoint", "azureml"))
        else:
            tasks = [t for v in repo.keys(file).get("tasks", []) if isinstance(v, list) for t in v]
            if any(
                isinstance(t, dict)
                and _DATABRICKS_TASKS & set(t)
                and _words(_strings(t)) & {"inference", "predict", "prediction", "scoring"}
                for t in tasks
            ):
                found.append(Evidence(file.path, "a Databricks batch inference job", "databricks"))
    for file in repo.named("bentofile.yaml", "model-settings.json", "config.pbtxt"):
        found.append(Evidence(file.path, "a model server configuration", file.stem))
    for file, types, _ in ctx.terraform:
        if types & {
            "aws_sagemaker_endpoint",
            "google_vertex_ai_endpoint",
            "azurerm_machine_learning_inference_cluster",
        }:
            found.append(Evidence(file.path, "a model endpoint (Terraform)", "terraform"))
    commands = [(p.file, c) for p in ctx.pipelines for c in p.commands]
    for file in repo.named("makefile", "gnumakefile", "justfile", ".justfile"):
        targets = task_targets(repo.text(file) or "", just="just" in file.name)
        commands += [(file, command) for lines in targets.values() for command in lines]
    for file in _dockerfiles(repo):
        starts = [a for k, a in dockerfile_instructions(repo.text(file) or "") if k in ("CMD", "ENTRYPOINT")]
        commands += [(file, command) for command in starts]
        if ml_repo and (_words(starts) | tokens(file.path)) & _SERVE_WORDS:
            found.append(Evidence(file.path, "a serving image"))
    for file, command in commands:
        words = tokens(command)
        if (
            {"mlflow", "models", "serve"} <= words
            or {"torchserve", "start"} <= words
            or {"bentoml", "serve"} <= words
        ):
            found.append(Evidence(file.path, "a model server command"))
    return found


_ENTRY_SCRIPT_KEYS = ("entryScript", "entry_script", "scoring_script", "scoringScript", "scoring_script_path")


def _deployed_scoring_scripts(ctx: Context) -> list[Evidence]:
    """Scoring scripts with the Azure ML contract (``init()`` loads the model, ``run()`` scores a
    request: https://learn.microsoft.com/azure/machine-learning/how-to-deploy-online-endpoints)
    that a CD pipeline deploys: it names the script, or an inference configuration whose entry
    script it is (`az ml model deploy --ic inference_config.yml`)."""
    scripts = [
        (f, facts) for f, facts in ctx.python if f.suffix == ".py" and {"init", "run"} <= facts.functions
    ]
    if not scripts:
        return []
    deploying = [
        (p, "\n".join([*p.commands, *p.names, *ctx.repo.strings(p.file)]))
        for p in ctx.pipelines
        if p.environments or p.words() & DEPLOY_WORDS
    ]
    found = []
    for file, _facts in scripts:
        configs = [
            c.name
            for c in ctx.configs
            if any(
                scalar_text(v).rsplit("/", 1)[-1] == file.name
                for k in _ENTRY_SCRIPT_KEYS
                for v in ctx.repo.keys(c).get(k, [])
            )
        ]
        named = re.compile("|".join(rf"(?<![\w.-]){re.escape(n)}(?!\w)" for n in [file.name, *configs]))
        pipeline = next((p for p, text in deploying if named.search(text)), None)
        if pipeline is not None:
            why = f"a scoring script (init()/run()) that {pipeline.file.path} deploys"
            found.append(Evidence(file.path, why, "azureml"))
    return found


# Folders of deployment manifests whose names are no words (tokens() splits "k8s" into k, 8, s).
_DEPLOY_DIRS = frozenset({"k8s", "kubernetes", "helm", "kustomize", "manifests", "terraform", "tf"})


def detect_staged_deployment(ctx: Context) -> list[Evidence]:
    """Deployments to a pre-production and a production environment, declared or commanded."""
    envs: dict[str, set[str]] = {}  # path -> environment words
    for pipeline in ctx.pipelines:
        words = set()
        for env in pipeline.environments:
            words |= tokens(env) & (ENV_WORDS | {"test"})
        for text in [*pipeline.commands, *pipeline.names]:
            text_words = tokens(text) if len(text) < 2000 else set()
            if text_words & DEPLOY_WORDS:
                words |= text_words & ENV_WORDS
        if words:
            envs[pipeline.file.path] = words
    repo = ctx.repo
    for file in repo.named("databricks.yml", "databricks.yaml", "bundle.yml"):
        targets = repo.first(file).get("targets") or repo.first(file).get("environments") or {}
        if isinstance(targets, dict):
            envs.setdefault(file.path, set()).update(
                w for t in targets for w in tokens(scalar_text(t)) & ENV_WORDS
            )
    # Per-environment deployment configuration (deploy/staging-config.json, overlays/prod/,
    # config-infra-prod.yml, ...), counted only where a CI job that deploys uses it: names the file
    # or its folder (`template: ../../config-infra-prod.yml`, `kubectl apply -k overlays/prod`).
    deploying = [
        "\n".join([*p.commands, *p.names, *ctx.repo.strings(p.file)]).lower()
        for p in ctx.pipelines
        if p.environments or p.words() & DEPLOY_WORDS
    ]
    for file in repo.files if deploying else []:
        if not file.own or file.suffix not in (".json", ".yml", ".yaml", ".tfvars", ".env", ".conf"):
            continue
        context_words = _words(file.dirs) | tokens(file.stem)
        if not (
            context_words & (DEPLOY_WORDS | {"environments", "envs", "overlays", "infra"})
            or _DEPLOY_DIRS & set(file.dirs)
        ):
            continue
        words = (tokens(file.stem) | _words(file.dirs[-1:])) & ENV_WORDS
        if not words:
            continue
        folder = "/".join(file.path.split("/")[:-1])
        if any(file.name in text for text in deploying):
            envs.setdefault(file.path, set()).update(words)
        elif _words(file.dirs[-1:]) & ENV_WORDS and any(folder.lower() in text for text in deploying):
            envs.setdefault(f"{folder}/", set()).update(words)  # overlays/prod/, used as a whole
    every = set().union(*envs.values()) if envs else set()
    if not (every & PROD_WORDS and every & (PREPROD_WORDS | {"test"})):
        return []
    return [
        Evidence(path, f"deploys to {', '.join(sorted(words))}")
        for path, words in sorted(envs.items())
        if words
    ]


def detect_promotion_gate(ctx: Context) -> list[Evidence]:
    """A champion/challenger comparison: the challenger's metrics against the champion's (or a
    baseline model's), not a fixed bar (`auc > 0.8`, a SageMaker condition against a number, MLflow
    thresholds without a baseline model) nor an alias set unconditionally."""
    found = []
    for file, facts in ctx.python:
        baseline = any(v is not None for v in facts.kw("baseline_model", "baseline_result"))
        if facts.gates:
            tool = "sagemaker" if facts.uses("sagemaker.workflow") else None
            found.append(
                Evidence(file.path, f"a promotion decided by comparing metrics ({facts.gates[0]})", tool)
            )
        elif (
            facts.uses("tfx", "tensorflow_model_analysis")
            and {"Evaluator", "GenericChangeThreshold"} <= facts.called
            and facts.called & {"Resolver", "ResolverNode"}
            and baseline
        ):
            # https://www.tensorflow.org/tfx/guide/evaluator: a change threshold against the model
            # that the resolver returns (the latest blessed one) blesses the challenger or not.
            found.append(
                Evidence(file.path, "a TFX Evaluator that compares with the blessed baseline", "tfx")
            )
        elif "mlflow" in facts.imports and (
            baseline or any(v is not None for v in facts.kw("min_relative_change", "min_absolute_change"))
        ):
            # https://mlflow.org/docs/latest/ml/evaluation/: thresholds relative to a baseline model.
            found.append(Evidence(file.path, "MLflow model validation against the baseline model", "mlflow"))
    return found


# --- level 4 ---------------------------------------------------------------------------------------

MONITORS = {
    "evidently": "Evidently",
    "whylogs": "whylogs",
    "nannyml": "NannyML",
    "alibi_detect": "alibi-detect",
    "frouros": "Frouros",
    "sagemaker.model_monitor": "SageMaker Model Monitor",
    "databricks.lakehouse_monitoring": "Databricks quality monitors",
    "azureml.datadrift": "Azure ML data drift",
}


# Two-sample statistics (scipy.stats, scipy.spatial.distance) that compare live data with a baseline.
_DRIFT_STATISTICS = frozenset(
    {
        "ks_2samp",
        "kstest",
        "anderson_ksamp",
        "cramervonmises_2samp",
        "wasserstein_distance",
        "chisquare",
        "chi2_contingency",
        "entropy",
        "jensenshannon",
    }
)


def detect_drift_monitoring(ctx: Context) -> list[Evidence]:
    found = _py(ctx, MONITORS, "drift monitoring")
    for file, facts in ctx.python:
        if facts.uses("google.cloud.aiplatform") and (
            facts.uses("google.cloud.aiplatform.model_monitoring")
            or _touches(facts, {"ModelDeploymentMonitoringJob", "create_model_deployment_monitoring_job"})
        ):
            found.append(Evidence(file.path, "drift monitoring (Vertex AI model monitoring)", "vertex"))
        elif any(c.endswith("quality_monitors.create") for c in facts.calls):
            found.append(Evidence(file.path, "drift monitoring (Databricks quality monitors)", "databricks"))
        elif facts.called & _DRIFT_STATISTICS and (
            "drift" in tokens(file.stem) or any("drift" in tokens(name) for name in facts.functions)
        ):
            found.append(Evidence(file.path, "drift statistics computed in code"))
    repo = ctx.repo
    for file in ctx.configs:
        if any(present(v) for v in repo.keys(file).get("quality_monitors", [])):
            found.append(Evidence(file.path, "Databricks quality monitors", "databricks"))
    for file, types in ctx.cloudformation:
        if types & {"AWS::SageMaker::MonitoringSchedule", "AWS::SageMaker::DataQualityJobDefinition"}:
            found.append(Evidence(file.path, "SageMaker Model Monitor schedules", "sagemaker"))
    for file, types, _ in ctx.terraform:
        if types & {"aws_sagemaker_monitoring_schedule", "databricks_quality_monitor"}:
            found.append(Evidence(file.path, "model monitoring (Terraform)", "terraform"))
    return found


_ALARM_CALLS = frozenset({"put_metric_alarm", "MetricAlarm", "Alarm", "CfnAlarm", "create_alert_policy"})
_PAGERS = {"pdpyras": "PagerDuty", "pagerduty": "PagerDuty", "opsgenie_sdk": "Opsgenie", "slack_sdk": "Slack"}


def detect_alerts(ctx: Context) -> list[Evidence]:
    found = _py(ctx, _PAGERS, "alert notifications")
    for file, facts in ctx.python:
        if facts.called & _ALARM_CALLS and facts.uses(
            "boto3", "pulumi_aws", "aws_cdk", "google.cloud.monitoring_v3"
        ):
            found.append(Evidence(file.path, "metric alarms"))
        elif any(s.startswith("https://hooks.slack.com/services/") and len(s) > 40 for s in facts.strings):
            found.append(Evidence(file.path, "alerts to a Slack webhook"))
        elif {"AlarmActions", "ComparisonOperator"} <= set(facts.strings):
            found.append(Evidence(file.path, "a metric alarm with actions (CloudWatch PutMetricAlarm)"))
        elif "publish" in facts.called and facts.kw("TopicArn") and facts.uses("boto3"):
            found.append(Evidence(file.path, "alert notifications to an SNS topic"))
        elif facts.called & {"EmailAlertConfig", "AlertConfig"} or facts.kw("alert_config"):
            found.append(Evidence(file.path, "monitoring alerts (Vertex AI)", "vertex"))
    repo = ctx.repo
    for file in ctx.configs:
        keys = repo.keys(file)
        if "alert" in keys and "expr" in keys:
            if any(isinstance(m.get("alert"), str) and "expr" in m for m in repo.mappings(file)):
                found.append(Evidence(file.path, "Prometheus alert rules", "prometheus"))
        elif "receivers" in keys and "route" in keys:
            found.append(Evidence(file.path, "Alertmanager routing", "prometheus"))
    for file, types in ctx.cloudformation:
        if types & {"AWS::CloudWatch::Alarm", "PrometheusRule", "AWS::CloudWatch::CompositeAlarm"}:
            found.append(Evidence(file.path, "metric alarms"))
    for file, types, _ in ctx.terraform:
        if types & {
            "aws_cloudwatch_metric_alarm",
            "google_monitoring_alert_policy",
            "azurerm_monitor_metric_alert",
        }:
            found.append(Evidence(file.path, "metric alarms (Terraform)", "terraform"))
    return found


# Calls that start a training job or the pipeline that trains (SageMaker, Step Functions, AWS
# Batch, Azure ML, Vertex AI, Databricks, Airflow, MLflow). Fitting in-process is training, not a
# trigger: a retrain script that only calls `fit` waits for someone to run it.
_TRIGGER_CALLS = frozenset(
    {
        "start_pipeline_execution",
        "start_execution",
        "submit_job",
        "run_pipeline",
        "create_training_job",
        "submit",
        "PipelineJob",
        "run_now",
        "trigger_dag",
        "run_job",
    }
)
_SCHEDULE_KEYS = (
    "quartz_cron_expression",
    "ScheduleExpression",
    "schedule_expression",
    "cron",
    "schedule",
    "expression",
)
_SCHEDULE_KWARGS = (
    "schedule_expression",
    "ScheduleExpression",
    "cron",
    "cron_expression",
    "cron_schedule",
    "schedule",
    "schedule_interval",
    "quartz_cron_expression",
    "expression",
)


def detect_automated_retraining(ctx: Context) -> list[Evidence]:
    """Schedules (cron, Quartz, EventBridge) tied to a training job, or drift-triggered retraining."""
    found = []
    for pipeline in ctx.pipelines:
        scope = (
            pipeline.scheduled if pipeline.scheduled is not None else [*pipeline.commands, *pipeline.names]
        )
        if pipeline.schedules and ctx.runs_training(scope):
            found.append(
                Evidence(pipeline.file.path, f"scheduled training ({pipeline.schedules[0]})", pipeline.vendor)
            )
    repo = ctx.repo
    ci_paths = {p.file.path for p in ctx.pipelines}
    for file in ctx.configs:
        if file.path in ci_paths:
            continue
        keys = repo.keys(file)
        schedule = next((v for k in _SCHEDULE_KEYS for v in keys.get(k, []) if is_schedule(v)), None)
        if schedule is not None and ctx.runs_training(repo.strings(file)):
            found.append(Evidence(file.path, f"scheduled training ({schedule})"))
    for file, facts in ctx.python:
        scheduled = [v for v in facts.kw(*_SCHEDULE_KWARGS) if is_schedule(v)]
        scheduled += ["@schedule"] * any(d.endswith(".schedule") or d == "schedule" for d in facts.decorators)
        if scheduled and ctx.trains([*facts.functions, *facts.strings, file.stem]):
            found.append(Evidence(file.path, f"scheduled training ({scheduled[0]})"))
        elif facts.called & _TRIGGER_CALLS and (
            tokens(file.stem) & {"retrain", "retraining"}
            or any(tokens(name) & {"retrain", "retraining"} for name in facts.functions)
        ):
            found.append(Evidence(file.path, "retraining triggered by code (it starts a training job)"))
    for file, _types, settings in ctx.terraform:
        scheduled = [
            v
            for k, v in settings
            if k in ("schedule_expression", "quartz_cron_expression") and is_schedule(v)
        ]
        if scheduled and ctx.trains([file.stem, *(v for _, v in settings)]):
            found.append(Evidence(file.path, f"scheduled training ({scheduled[0]})", "terraform"))
    return found


def detect_model_cards(ctx: Context) -> list[Evidence]:
    found = []
    for file in ctx.repo.files:
        if file.template or file.test:
            continue
        words = tokens(file.stem)
        if {"model", "card"} <= words or "modelcard" in words:
            found.append(Evidence(file.path, "a model card"))
    cards = {"model_card_toolkit": "Model Card Toolkit", "sagemaker.model_card": "SageMaker Model Cards"}
    found += _py(ctx, cards, "model cards")
    for file, facts in ctx.python:
        if "huggingface_hub.ModelCard" in facts.calls or "create_model_card" in facts.called:
            found.append(Evidence(file.path, "model cards written by code"))
    return found


# --- is it ML at all? --------------------------------------------------------------------------------


def detect_ml(ctx: Context) -> list[Evidence]:
    """Signs that the repository builds ML models: ML library imports and dependencies, model files."""
    found = []
    for file, facts in ctx.python:
        labels = _imported(facts, ML_LIBRARIES)
        if labels:
            found.append(Evidence(file.path, f"imports {labels[0]}"))
    for file, name, _ in ctx.dependencies():
        if name in ML_PACKAGES:
            found.append(Evidence(file.path, f"depends on {name}"))
    repo = ctx.repo
    found += [
        Evidence(f.path, "a model file") for f in repo.files if f.own and f.name.endswith(MODEL_SUFFIXES)
    ]
    found += [
        Evidence(f.path, "ML tool configuration")
        for f in repo.named("dvc.yaml", "mlproject", "feature_store.yaml", "bentofile.yaml")
    ]
    return found


# The order matters where a detector uses another's result (through ``Context.found``).
DETECTORS: dict[str, Detector] = {
    "_ml": detect_ml,
    "layout": detect_layout,
    "entry_points": detect_entry_points,
    "unit_tests": detect_unit_tests,
    "lineage": detect_lineage,
    "adr": detect_adr,
    "ci": detect_ci,
    "pre_commit": detect_pre_commit,
    "task_runner": detect_task_runner,
    "locked_dependencies": detect_locked_dependencies,
    "experiment_tracking": detect_experiment_tracking,
    "data_validation": detect_data_validation,
    "training_pipeline": detect_training_pipeline,  # after tracking and validation (a job that uses both)
    "training_image": detect_training_image,
    "feature_store": detect_feature_store,
    "gpu_training": detect_gpu_training,
    "serving": detect_serving,
    "staged_deployment": detect_staged_deployment,
    "promotion_gate": detect_promotion_gate,
    "drift_monitoring": detect_drift_monitoring,
    "alerts": detect_alerts,
    "automated_retraining": detect_automated_retraining,
    "model_cards": detect_model_cards,
}


def run_detectors(repo: Repository) -> dict[str, list[Evidence]]:
    """Evidence per capability key (and '_ml' for the ML signals), each path once per capability."""
    ctx = Context(repo)
    for key, detector in DETECTORS.items():
        seen: set[str] = set()
        unique = []
        for evidence in detector(ctx):
            if evidence.path not in seen:
                seen.add(evidence.path)
                unique.append(evidence)
        ctx.found[key] = unique
        if key == "training_pipeline":
            ctx.__dict__.pop("training_modules", None)  # entry points and pipelines are both known now
            if not ctx.found["entry_points"]:
                # A training pipeline is a scripted way to train from a clean checkout too.
                ctx.found["entry_points"] = [
                    Evidence(e.path, "a training pipeline (the training entry point)", e.tool) for e in unique
                ]
    return ctx.found
