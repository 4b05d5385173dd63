"""Levels 3 and 4 without running a project: one place for environments, and the project's side
of the monitoring contract equal to the platform's (alarm metric, namespace, EventBridge pattern).
The CD files' security and vendor validity are checked in test_cd_security.py; the projects' own
toolchains and LocalStack lifecycles run in test_levels_2_4.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from helpers import new_project

from mlops_core.levels import built_levels
from mlops_platform.monitoring.rules import DRIFT_METRIC, drift_alarm_event_pattern
from mlops_platform.naming import metric_namespace

pytestmark = pytest.mark.skipif(3 not in built_levels(), reason="level 3 is not built")
STAGES = ["dev", "staging", "prod"]


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
