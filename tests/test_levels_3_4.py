"""Levels 3 and 4 without running a project: CD files valid for their vendor and secure by
default, one place for environments, and the project's side of the monitoring contract equal to
the platform's (alarm metric, namespace, EventBridge pattern). The projects' own toolchains and
LocalStack lifecycles run in test_levels_2_4.py."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from helpers import new_project

from mlops_platform.monitoring.rules import DRIFT_METRIC, drift_alarm_event_pattern
from mlops_platform.naming import metric_namespace
from mlops_scaffold.levels import built_levels

pytestmark = pytest.mark.skipif(3 not in built_levels(), reason="level 3 is not built")
STAGES = ["dev", "staging", "prod"]


def check_schema(path: Path, schema: str) -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    done = subprocess.run(
        [str(checker), "--builtin-schema", schema, str(path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def no_stored_keys(text: str) -> None:
    for secret in (
        "AWS_SECRET_ACCESS_KEY",
        "aws-secret-access-key",
        "AWS_ACCESS_KEY_ID",
        "aws-access-key-id",
    ):
        assert secret not in text, f"CD must use OIDC, not stored keys ({secret})"


def test_github_deploy_workflow_is_staged_approved_and_keyless(tmp_path: Path) -> None:
    project = new_project(tmp_path / "churn-model", 3, ci="github")
    path = project / ".github/workflows/deploy.yml"
    check_schema(path, "vendor.github-workflows")
    text = path.read_text()
    no_stored_keys(text)
    workflow = yaml.safe_load(text)
    assert workflow["permissions"] == {"contents": "read"}
    jobs = workflow["jobs"]
    assert "Dockerfile.serve" in str(jobs["image"]) and "push: true" in text
    previous = "image"
    for stage in STAGES:
        job = jobs[f"deploy-{stage}"]
        assert job["environment"] == stage
        assert previous in job["needs"]
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        commands = " ".join(step.get("run", "") for step in job["steps"])
        assert f"make deploy ENV={stage}" in commands and f"make smoke ENV={stage}" in commands
        uses = [step.get("uses", "") for step in job["steps"]]
        assert any(u.startswith("aws-actions/configure-aws-credentials") for u in uses)
        previous = f"deploy-{stage}"
    # The manual approval: the `prod` environment's required reviewers gate this job.
    assert "Protect `prod` with required reviewers" in " ".join(text.replace("#", " ").split())


def test_gitlab_deploy_pipeline_is_staged_manual_for_prod_and_keyless(tmp_path: Path) -> None:
    project = new_project(tmp_path / "churn-model", 3, ci="gitlab")
    check_schema(project / ".gitlab-ci.yml", "vendor.gitlab-ci")
    check_schema(project / ".gitlab/deploy.yml", "vendor.gitlab-ci")
    main = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert {"local": ".gitlab/deploy.yml"} in main["include"] and "deploy" in main["stages"]
    text = (project / ".gitlab/deploy.yml").read_text()
    no_stored_keys(text)
    pipeline = yaml.safe_load(text)
    assert pipeline[".aws-oidc"]["id_tokens"]["AWS_ID_TOKEN"]["aud"] == "https://gitlab.com"
    assert pipeline["deploy-dev"]["needs"] == ["serving-image"]
    assert pipeline["deploy-staging"]["needs"] == ["deploy-dev"]
    prod = pipeline["deploy-prod"]
    assert prod["needs"] == ["deploy-staging"] and prod["environment"]["name"] == "prod"
    assert prod["rules"][0]["when"] == "manual" and prod["allow_failure"] is False
    assert "make smoke" in " ".join(pipeline[".deploy"]["script"])


def test_environments_are_configured_in_one_place(tmp_path: Path) -> None:
    project = new_project(tmp_path / "churn-model", 3)
    environments = yaml.safe_load((project / "configs/pipeline.yaml").read_text())["environments"]
    deployable = [name for name, config in environments.items() if config.get("endpoint")]
    assert deployable == STAGES
    assert environments["prod"]["approval"] == "manual"
    assert all(environments[name]["endpoint"]["instance_count"] >= 1 for name in STAGES)


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(4 not in built_levels(), reason="level 4 is not built")
def test_monitoring_names_agree_with_the_platform(tmp_path: Path) -> None:
    """The drift job publishes what the platform's alarm watches, and devstack builds the same rule."""
    project = new_project(tmp_path / "churn_model-x", 4)
    alerts = _load(project / "src/churn_model_x/alerts.py", "generated_alerts")
    assert alerts.DRIFT_METRIC == DRIFT_METRIC
    for env in ("dev", "prod", "local_stack"):
        assert alerts.metric_namespace("churn_model-x", env) == metric_namespace("churn_model-x", env)
    arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:x"
    assert alerts.drift_alarm_event_pattern(arn) == drift_alarm_event_pattern(arn)
