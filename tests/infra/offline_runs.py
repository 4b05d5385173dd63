"""Offline runs of the demo project's stacks and of the platform stack, cached per config (the
runs are pure)."""

from __future__ import annotations

from functools import cache

from mlops_platform.policy.rules import Resource
from mlops_stacks.config import PlatformConfig, StackConfig
from mlops_stacks.offline import OfflineRun, run_offline

LEVELS = (0, 1, 2, 3, 4)
SERVING_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/demo-dev:3f2a1c0"
TRAINING_TAG = "3f2a1c0"


@cache
def offline(level: int, **settings: object) -> OfflineRun:
    """The demo project's stack at ``level`` built under Pulumi mocks."""
    values = {
        "project": "demo",
        "env": "dev",
        "level": level,
        "ciRepository": "acme/demo",
        "trainingImageTag": TRAINING_TAG,
    } | settings
    return run_offline(StackConfig.from_mapping(values))


@cache
def platform(**settings: object) -> OfflineRun:
    """The platform stack of environment dev built under Pulumi mocks."""
    return run_offline(PlatformConfig.from_mapping({"env": "dev"} | settings))


def policy_resources(run: OfflineRun) -> list[Resource]:
    return [Resource(r.type, r.name, r.inputs, r.urn, r.refs) for r in run.resources]
