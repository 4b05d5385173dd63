"""Helpers for the assess, adopt and fleet tests: fixture repositories built inside the tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from helpers import build_file_tree

from mlops_scaffold.assess import Assessment


def build_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``files`` (relative path -> content) under ``root``; return ``root``."""
    return build_file_tree(root, files)


def found(result: Assessment) -> dict[str, list[str]]:
    """capability key -> evidence paths, for the capabilities found."""
    return {f.key: [e.path for e in f.evidence] for f in result.findings if f.found}


def git_commit_all(root: Path, message: str = "Owner's work") -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Owner",
        "GIT_AUTHOR_EMAIL": "owner@example.com",
        "GIT_COMMITTER_NAME": "Owner",
        "GIT_COMMITTER_EMAIL": "owner@example.com",
    }
    if not (root / ".git").exists():
        subprocess.run(["git", "init", "--quiet", "--initial-branch=main"], cwd=root, check=True, env=env)
    for args in (
        ["add", "--all"],
        ["-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify", "-m", message],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, env=env, capture_output=True)


# A minimal ML project at level 0: package, declared dependencies, a training script, a test.
LEVEL_0 = {
    "pyproject.toml": '[project]\nname = "churn"\ndependencies = ["scikit-learn"]\n',
    "churn/__init__.py": "",
    "churn/train.py": "from sklearn.linear_model import LogisticRegression\n\n\n"
    "def main() -> None:\n    LogisticRegression().fit([[0.0], [1.0]], [0, 1])\n\n\n"
    'if __name__ == "__main__":\n    main()\n',
    "tests/test_train.py": "from churn.train import main\n\n\ndef test_main() -> None:\n    main()\n",
}
GITHUB_CI = {
    ".github/workflows/ci.yml": "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
    "    steps:\n      - uses: actions/checkout@v4\n      - run: pytest\n",
}
LEVEL_1 = {**LEVEL_0, **GITHUB_CI}
LEVEL_2 = {
    **LEVEL_1,
    "pipelines/training.py": "from kfp import dsl\n\n\n@dsl.pipeline\ndef training() -> None: ...\n",
    "churn/tracking.py": "import mlflow\n\n"
    "mlflow.sklearn.log_model(None, 'model', registered_model_name='churn')\n",
}
LEVEL_3 = {
    **LEVEL_2,
    "churn/app.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
    ".github/workflows/deploy.yml": "on: workflow_dispatch\njobs:\n  staging:\n    runs-on: ubuntu-latest\n"
    "    environment: staging\n    steps:\n      - run: make deploy\n  production:\n"
    "    runs-on: ubuntu-latest\n    environment: production\n    steps:\n      - run: make deploy\n",
    "churn/promote.py": "def promote(champion_auc: float, challenger_auc: float, margin: float) -> bool:\n"
    "    return challenger_auc > champion_auc + margin\n",
}
LEVEL_4 = {
    **LEVEL_3,
    "monitoring/checks.py": "from evidently import Report\n",
    ".github/workflows/retrain.yml": "on:\n  schedule:\n    - cron: '0 3 * * 1'\njobs:\n  retrain:\n"
    "    runs-on: ubuntu-latest\n    steps:\n      - run: python -m churn.train\n",
}
