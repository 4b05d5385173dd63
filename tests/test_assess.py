"""`mlops-scaffold assess`: the level of any repository, with evidence and a plan for the next one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import new_project, runner

from mlops_scaffold.assess import MAX_TEXT_BYTES, Assessment, assess
from mlops_scaffold.cli import app
from mlops_scaffold.levels import all_levels, built_levels, get_level


def build_tree(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


def found(result: Assessment) -> dict[str, list[str]]:
    """capability key -> evidence paths, for the capabilities found."""
    return {f.key: [e.path for e in f.evidence] for f in result.findings if f.found}


# --- generated projects ---------------------------------------------------------------------------


@pytest.mark.parametrize("ci", ["github", "gitlab"])
@pytest.mark.parametrize("level", built_levels())
def test_each_generated_level_is_assessed_as_that_level(tmp_path: Path, level: int, ci: str) -> None:
    project = new_project(tmp_path / "churn-model", level, ci=ci)
    result = assess(project)
    assert (result.level, result.generated, result.generated_level) == (level, True, level)
    evidence = found(result)
    for finding in result.findings:
        if finding.level <= level:
            manifest_paths = get_level(finding.level)
            capability = next(c for c in manifest_paths.capabilities if c.key == finding.key)
            assert set(capability.evidence_paths(package="churn_model", ci=ci)) & set(evidence[finding.key])
        else:
            assert not finding.found, f"level {level} project shows {finding.key}: {finding.evidence}"
    following = next((lv for lv in all_levels() if lv.number == level + 1), None)
    if following is None:
        assert result.next_level is None
    elif following.built:
        assert result.next_level == following.number
        assert any(f"mlops-scaffold upgrade --level {following.number}" in step for step in result.plan)
    else:
        assert result.plan[0].startswith(f"Level {following.number} is not available")
        assert len(result.plan) == 1 + len(following.capabilities)


def test_generated_pytorch_project_needs_its_lock_for_level_1(tmp_path: Path) -> None:
    """PyTorch projects lock with `make lock` (PyTorch's index): until then, level 1 is incomplete."""
    project = new_project(tmp_path / "torch-model", 1, framework="pytorch")
    result = assess(project)
    assert (result.level, result.next_level, result.generated_level) == (0, 1, 1)
    assert [f.key for f in result.missing(1)] == ["locked_dependencies"]
    assert "uv.lock" in result.plan[0] and "uv lock" in result.plan[0]
    assert result.notes and "records level 1" in result.notes[0]

    (project / "uv.lock").write_text("version = 1\n")
    assert assess(project).level == 1


def test_a_deleted_generated_file_lowers_the_level(tmp_path: Path) -> None:
    project = new_project(tmp_path / "churn-model", 1)
    (project / "Dockerfile").unlink()
    result = assess(project)
    assert result.level == 0 and result.next_level == 1
    assert [f.key for f in result.missing(1)] == ["training_image"]
    assert "Dockerfile" in result.plan[0]


# --- repositories mlops-scaffold did not generate ----------------------------------------------------

NOTEBOOK = json.dumps(
    {"cells": [{"cell_type": "code", "source": ["import pandas as pd\n", "df = pd.read_csv('churn.csv')\n"]}]}
)
BARE_NOTEBOOK = {
    "analysis.ipynb": NOTEBOOK,
    "churn.csv": "id,churn\n1,0\n",
    "README.md": "# Churn analysis\n",
}
CI_ONLY = {
    ".github/workflows/ci.yml": "on: push\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps: []\n",
    "main.py": "print('hello')\n",
}
LEVEL_1 = {
    "pyproject.toml": '[tool.poetry]\nname = "churn"\n\n'
    '[tool.poetry.scripts]\nchurn-train = "churn.train:main"\n',
    "poetry.lock": "# locked\n",
    "churn/__init__.py": "",
    "churn/train.py": "def main() -> None:\n    pass\n",
    "tests/test_model.py": "def test_trains() -> None:\n    assert True\n",
    "data/raw.csv.dvc": "outs:\n- md5: 1a2b\n  path: raw.csv\n",
    "docs/decisions/0001-use-poetry.md": "# Use poetry\n",
    ".gitlab-ci.yml": "test:\n  script: pytest\n",
    ".pre-commit-config.yaml": "repos: []\n",
    "docker/train.Dockerfile": "FROM python:3.12\n",
    "justfile": "test:\n    pytest\n",
}
LEVEL_2 = {
    **LEVEL_1,
    "pipelines/training.py": "from kfp import dsl\n\n@dsl.pipeline\ndef training() -> None: ...\n",
    "churn/tracking.py": "import mlflow\n\n"
    "mlflow.sklearn.log_model(None, 'model', registered_model_name='churn')\n",
    "features/feature_store.yaml": "project: churn\nprovider: local\n",
    "churn/schema.py": "import pandera as pa\n",
    "k8s/train-job.yaml": "resources:\n  limits:\n    nvidia.com/gpu: 1\n",
}
LEVEL_3 = {
    **LEVEL_2,
    "churn/app.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
    ".github/workflows/deploy.yml": "jobs:\n  deploy-staging:\n    environment: staging\n"
    "  deploy-production:\n    environment: production\n    steps:\n      - run: make deploy\n",
    "churn/promote.py": "def promote(champion: float, challenger: float) -> bool:\n"
    "    return challenger > champion\n",
}
LEVEL_4 = {
    **LEVEL_3,
    "monitoring/checks.py": "from evidently.report import Report\n",
    "infra/alarms.tf": 'resource "aws_cloudwatch_metric_alarm" "drift" {}\n',
    ".github/workflows/retrain.yml": "on:\n  schedule:\n    - cron: '0 3 * * 1'\njobs:\n  train:\n"
    "    steps:\n      - run: make train\n",
    "docs/model_card.md": "# Churn model card\n",
}


@pytest.mark.parametrize(
    ("files", "level", "next_level", "present"),
    [
        (BARE_NOTEBOOK, 0, 0, set()),
        (CI_ONLY, 0, 0, {"ci"}),
        (LEVEL_1, 1, 2, {"layout", "entry_points", "unit_tests", "lineage", "adr", "ci", "pre_commit",
                         "training_image", "task_runner", "locked_dependencies"}),
        (LEVEL_2, 2, 3, {"training_pipeline", "experiment_tracking", "feature_store", "data_validation",
                         "gpu_training"}),
        (LEVEL_3, 3, 4, {"serving", "staged_deployment", "promotion_gate"}),
        (LEVEL_4, 4, None, {"drift_monitoring", "alerts", "automated_retraining", "model_cards"}),
    ],
    ids=["bare-notebook", "ci-only", "level-1", "level-2", "level-3", "level-4"],
)  # fmt: skip
def test_hand_made_repositories(
    tmp_path: Path, files: dict[str, str], level: int, next_level: int | None, present: set[str]
) -> None:
    result = assess(build_tree(tmp_path / "repo", files))
    assert (result.level, result.next_level, result.generated) == (level, next_level, False)
    evidence = found(result)
    assert present <= set(evidence), present - set(evidence)
    for key in present:
        assert all((tmp_path / "repo" / path).is_file() for path in evidence[key]), evidence[key]
    if next_level is None:
        assert "Every capability of level 4" in result.plan[0]
    else:
        missing = result.missing(next_level)
        assert missing and len(result.plan) == len(
            [f for f in result.findings if not f.found and f.level <= next_level]
        )
        assert not any("mlops-scaffold upgrade" in step for step in result.plan)


def test_evidence_names_the_files_that_prove_each_capability(tmp_path: Path) -> None:
    evidence = found(assess(build_tree(tmp_path / "repo", LEVEL_4)))
    # The paths the manifest names come first.
    assert evidence["ci"] == [
        ".gitlab-ci.yml",
        ".github/workflows/deploy.yml",
        ".github/workflows/retrain.yml",
    ]
    assert evidence["lineage"] == ["data/raw.csv.dvc"]
    assert evidence["training_image"] == ["docker/train.Dockerfile"]
    assert evidence["locked_dependencies"] == ["poetry.lock"]
    assert "churn/tracking.py" in evidence["experiment_tracking"]
    assert evidence["feature_store"] == ["features/feature_store.yaml"]
    assert evidence["gpu_training"] == ["k8s/train-job.yaml"]
    assert evidence["staged_deployment"] == [".github/workflows/deploy.yml"]
    assert evidence["alerts"] == ["infra/alarms.tf"]
    assert evidence["automated_retraining"] == [".github/workflows/retrain.yml"]


def test_levels_are_cumulative(tmp_path: Path) -> None:
    """Tracking, serving and CI without tests or entry points is still level 0."""
    files = {**CI_ONLY, "serve.py": "from fastapi import FastAPI\n", "track.py": "import mlflow\n"}
    result = assess(build_tree(tmp_path / "repo", files))
    assert result.level == 0 and result.next_level == 0
    assert {"ci", "serving", "experiment_tracking"} <= set(found(result))
    assert result.plan[0].startswith("Reproducible project layout:")


def test_tools_environments_and_tests_are_not_evidence(tmp_path: Path) -> None:
    files = {
        ".venv/lib/python3.12/site-packages/mlflow/__init__.py": "import mlflow\n",
        "node_modules/x/Dockerfile": "FROM node\n",
        "env2/pyvenv.cfg": "home = /usr\n",
        "env2/lib/fastapi_app.py": "from fastapi import FastAPI\n",
        "tests/test_tracking.py": "import mlflow\n\ndef test_x() -> None: ...\n",
        "docs/notes.md": "We should add drift monitoring and import mlflow one day.\n",
    }
    keys = set(found(assess(build_tree(tmp_path / "repo", files))))
    assert keys == {"unit_tests"}


# --- odd layouts ---------------------------------------------------------------------------------------


def test_odd_layouts_do_not_crash(tmp_path: Path) -> None:
    repo = build_tree(tmp_path / "repo", {"README.md": "odd\n"})
    (repo / "loop").symlink_to(repo, target_is_directory=True)  # a symlink loop
    (repo / "dangling.py").symlink_to(repo / "nowhere.py")  # a broken symlink
    (tmp_path / "outside.py").write_text("def test_elsewhere() -> None: ...\n")
    (repo / "test_outside.py").symlink_to(tmp_path / "outside.py")  # never read through
    os.mkfifo(repo / "test_pipe.py")  # would block a reader forever
    (repo / "test_binary.py").write_bytes(b"\x00\xff\xfe\x80\n" * 100 + b"def test_bytes() -> None: ...\n")
    (repo / "test_big.py").write_text("def test_big() -> None: ...\n" + "#" * MAX_TEXT_BYTES)
    os.makedirs(repo / os.fsdecode(b"caf\xe9"))  # a folder name that is not UTF-8
    (repo / os.fsdecode(b"caf\xe9") / os.fsdecode(b"train_\xff.py")).write_text("x = 1\n")
    deep = repo.joinpath(*[f"d{i}" for i in range(60)])
    deep.mkdir(parents=True)
    (deep / "Dockerfile").write_text("FROM scratch\n")

    result = assess(repo)
    evidence = found(result)
    assert result.level == 0
    assert "unit_tests" in evidence and evidence["unit_tests"] == ["test_binary.py"]
    assert evidence["training_image"] == ["/".join(f"d{i}" for i in range(60)) + "/Dockerfile"]
    assert evidence["entry_points"] == ["caf\ufffd/train_\ufffd.py"]
    cli = runner.invoke(app, ["assess", str(repo), "--json"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout)["level"] == 0
    text = runner.invoke(app, ["assess", str(repo)])
    assert text.exit_code == 0, text.output


def test_empty_directory_is_level_0_with_a_full_plan(tmp_path: Path) -> None:
    result = assess(tmp_path)
    assert (result.level, result.next_level) == (0, 0)
    assert not found(result)
    assert len(result.plan) == len(get_level(0).capabilities)


def test_what_is_not_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    for target in (tmp_path / "file.txt", tmp_path / "missing"):
        result = runner.invoke(app, ["assess", str(target)])
        assert result.exit_code == 2, result.output
        assert "Cannot assess" in result.output and "Fix:" in result.output


def test_cli_prints_evidence_and_the_plan(tmp_path: Path) -> None:
    repo = build_tree(tmp_path / "repo", LEVEL_1)
    result = runner.invoke(app, ["assess", str(repo)])
    assert result.exit_code == 0, result.output
    assert "MLOps level 1" in result.output and "poetry.lock" in result.output
    assert "To reach level 2" in result.output and "Training pipeline:" in result.output
    report = json.loads(runner.invoke(app, ["assess", str(repo), "--json"]).stdout)
    assert report["level"] == 1 and report["next_level"] == 2 and report["generated"] is False
    ci = next(f for f in report["findings"] if f["key"] == "ci")
    assert ci["found"] is True and ci["evidence"][0]["path"] == ".gitlab-ci.yml"
