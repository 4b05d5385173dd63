"""Offline runs of the demo project's stacks and of the platform stack, cached per config (the
runs are pure)."""

from __future__ import annotations

from functools import cache
from typing import Any

import pulumi

from mlops_platform.naming import physical_name
from mlops_platform.policy.rules import Resource
from mlops_stacks.config import PlatformConfig, StackConfig
from mlops_stacks.offline import REGION, OfflineRun, RecordedResource, run_offline, use_mocks
from mlops_stacks.program import build_stack, make_provider

LEVELS = (0, 1, 2, 3, 4)
SERVING_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/demo-dev:3f2a1c0"
TRAINING_TAG = "3f2a1c0"


def model_package(project: str = "demo", env: str = "dev", run: str = "run-1") -> str:
    """A model package in the artifact bucket of the stack under mocks (they name the bucket after
    its resource, ``<project>-<env>-store-artifacts``)."""
    return f"s3://{physical_name(project, env, max_length=24)}-store-artifacts/models/{run}/model.tar.gz"


def demo_config(level: int, **settings: object) -> StackConfig:
    """The demo project's stack config at ``level`` (``settings`` as in ``pulumi config``). A
    ``servingImage`` comes with a ``servingModelDataUrl`` (the stack refuses one without the
    other) unless ``settings`` name one."""
    values = {
        "project": "demo",
        "env": "dev",
        "level": level,
        "ciRepository": "acme/demo",
        "trainingImageTag": TRAINING_TAG,
        "framework": "pytorch",  # GPU hosts and multi-node jobs; framework="sklearn": Fargate CPUs
    } | settings
    if values.get("servingImage") and "servingModelDataUrl" not in values:
        values["servingModelDataUrl"] = model_package(str(values["project"]), str(values["env"]))
    return StackConfig.from_mapping(values)


@cache
def offline(level: int, **settings: object) -> OfflineRun:
    """The demo project's stack at ``level`` built under Pulumi mocks."""
    return run_offline(demo_config(level, **settings))


def ci_variables(level: int, **settings: object) -> dict[str, str]:
    """What `pulumi stack output ci_variables` prints for the demo project's stack, resolved under
    Pulumi mocks (empty where the level has no CI identity)."""
    config = demo_config(level, **settings)
    use_mocks(stack=config.stack_name)
    resolved: dict[str, str] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        outputs = build_stack(config, make_provider(config, {"region": REGION})).outputs()
        return pulumi.Output.all(**outputs.get("ci_variables", {})).apply(resolved.update)

    program()
    return resolved


@cache
def platform(**settings: object) -> OfflineRun:
    """The platform stack of environment dev built under Pulumi mocks."""
    return run_offline(PlatformConfig.from_mapping({"env": "dev"} | settings))


def named(run: OfflineRun, type_token: str, suffix: str) -> RecordedResource:
    """The one resource of ``type_token`` whose name ends with ``suffix`` (e.g. "-training-gpu")."""
    (found,) = [r for r in run.of_type(type_token) if r.name.endswith(suffix)]
    return found


def policy_resources(run: OfflineRun) -> list[Resource]:
    return [Resource(r.type, r.name, r.inputs, r.urn, r.refs) for r in run.resources]
