"""Which component a maturity level needs, read through the levels manifest (pure).

A component is part of a level's stack when the level has any of the capabilities it serves.
Level numbers never appear here: moving a capability to another level in maturity.yml moves
its infrastructure with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_core.contract import parameter_names
from mlops_core.levels import capabilities_up_to


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    capabilities: tuple[str, ...]  # included when the level has any of these
    requires: tuple[str, ...]  # components whose outputs it consumes
    publishes: tuple[str, ...]  # SSM contract names it writes (templates/project/contract.yml)
    summary: str
    platform: tuple[str, ...] = ()  # what it needs from the platform stack (PLATFORM_OUTPUTS groups)


# In dependency order: the project stack builds them top to bottom. The network, the OIDC
# providers and the access-log bucket are per account and environment: the platform stack builds
# them once (PLATFORM_COMPONENTS) and project stacks read their IDs.
COMPONENTS: tuple[ComponentSpec, ...] = (
    # CI holds AWS credentials only where its jobs change something on AWS: it publishes the
    # training image AWS Batch runs (training pipeline, GPU training) and deploys the serving
    # image (staged deployment). CI that lints, tests and builds the image (`ci`,
    # `training_image`) needs neither a role nor a repository (docs/infrastructure.md).
    ComponentSpec(
        "ci_identity",
        ("training_pipeline", "gpu_training", "staged_deployment"),
        (),
        (),
        "This environment's CI deploy role (GitHub/GitLab OIDC) and the training image repository",
        ("oidc",),
    ),
    ComponentSpec(
        "storage",
        ("training_pipeline", "experiment_tracking", "feature_store"),
        (),
        ("data-bucket", "artifact-bucket"),
        "KMS key and the data and artifact buckets (access logs to the platform's log bucket)",
        ("access_logs",),
    ),
    ComponentSpec(
        "tracking",
        ("experiment_tracking",),
        ("storage",),
        ("mlflow-tracking-uri",),
        "SageMaker serverless MLflow (or a tracking server) and the model package group",
    ),
    ComponentSpec(
        "feature_store",
        ("feature_store",),
        ("storage",),
        ("feature-store-offline-uri",),
        "Feast offline store location and online store (DynamoDB) permissions",
    ),
    ComponentSpec(
        "training",
        ("gpu_training", "training_pipeline"),
        ("storage", "ci_identity", "tracking"),
        (
            "training-job-queue",
            "training-job-definition",
            "training-state-machine-arn",
            "training-multinode-job-queue",  # PyTorch only (the contract names each one's framework)
            "training-multinode-job-definition",
        ),
        "AWS Batch compute (GPU hosts and multi-node jobs for PyTorch, Fargate CPUs for scikit-learn), "
        "job queue and definition, Step Functions training pipeline",
        ("network",),
    ),
    ComponentSpec(
        "serving",
        ("serving",),
        ("storage", "ci_identity", "tracking"),
        ("serving-endpoint-name",),
        "Serving image repository, SageMaker endpoint (serverless or instances) and the CI deploy rights",
        ("network",),
    ),
    ComponentSpec(
        "monitoring",
        ("drift_monitoring", "alerts", "automated_retraining"),
        ("training", "serving"),
        ("alerts-topic-arn", "drift-metric-namespace"),
        "CloudWatch alarms and dashboard, SNS alerts, scheduled drift job, EventBridge retraining trigger",
        ("network",),
    ),
)

# The platform stack (platform-<env>): what every project of an account and environment shares.
PLATFORM_COMPONENTS: tuple[str, ...] = ("network", "ci_oidc", "access_logs")
# Which platform component provides each group of outputs a project component needs.
PLATFORM_OUTPUTS = {"network": "network", "oidc": "ci_oidc", "access_logs": "access_logs"}

_BY_NAME = {spec.name: spec for spec in COMPONENTS}


def get_component(name: str) -> ComponentSpec:
    return _BY_NAME[name]


def components_for_level(level: int) -> list[str]:
    """Names of the components a stack at ``level`` builds, in build order."""
    capabilities = {capability.key for capability in capabilities_up_to(level)}
    chosen = [spec.name for spec in COMPONENTS if capabilities.intersection(spec.capabilities)]
    for name in chosen:
        missing = [required for required in _BY_NAME[name].requires if required not in chosen]
        if missing:  # only possible if maturity.yml moved a capability without its prerequisites
            raise RuntimeError(
                f"Level {level} needs the {name} component but not {', '.join(missing)}, which it builds on; "
                "fix the capability table in mlops_platform/components.py or maturity.yml."
            )
    return chosen


def platform_needs(components: list[str]) -> list[str]:
    """The platform output groups (``network``, ``oidc``, ``access_logs``) these components read."""
    needs = {need for name in components for need in _BY_NAME[name].platform}
    return [need for need in PLATFORM_OUTPUTS if need in needs]


def published_by(component: str, framework: str | None = None) -> list[str]:
    """The SSM contract names ``component`` publishes for a project of ``framework`` (every
    framework's, when left out)."""
    names = set(parameter_names(framework=framework))
    return [name for name in _BY_NAME[component].publishes if name in names]


def published_names(level: int, framework: str | None = None) -> list[str]:
    """The SSM contract names the components of ``level`` publish (for a project of ``framework``)."""
    return [name for component in components_for_level(level) for name in published_by(component, framework)]
