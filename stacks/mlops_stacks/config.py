"""Stack configuration: the ``mlops:*`` keys of ``Pulumi.<stack>.yaml`` as typed objects (pure).

Two kinds of stacks share the Pulumi project: the platform stack of an environment
(``platform-<env>``, ``mlops:tier: platform``) and the project stacks (``<project>-<env>``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, TypeVar

from mlops_core.contract import FRAMEWORKS
from mlops_core.errors import STACK_CONFIG_NAMESPACE, InvalidInputError
from mlops_core.errors import StackConfigError as StackConfigError  # defined there, raised here
from mlops_core.levels import get_level
from mlops_platform.components import components_for_level, get_component, platform_needs
from mlops_platform.naming import is_model_package_url, is_pinned_image

NAMESPACE = STACK_CONFIG_NAMESPACE
PROD_ENVS = ("prod", "production")
TIERS = ("project", "platform")

# Keys earlier versions accepted in project stacks, and where their setting lives now.
MOVED = {
    "vpcCidr": "the platform stack (Pulumi.platform-<env>.yaml)",
    "azCount": "the platform stack (Pulumi.platform-<env>.yaml)",
    "interfaceEndpoints": "the platform stack (Pulumi.platform-<env>.yaml)",
    "ciRef": "mlops:ciSubject (one exact token subject) or, for GitLab, mlops:ciBranch",
}


def _check_env(env: object) -> None:
    if not re.match(r"^[a-z][a-z0-9-]{0,19}$", str(env)):
        raise StackConfigError(
            key="env",
            problem=f"= {env!r} is not an environment name",
            fix="Use a short lower-case name such as dev, staging or prod.",
        )


@dataclass(frozen=True)
class StackConfig:
    """A project stack; field ``gpu_instance_types`` is config key ``mlops:gpuInstanceTypes``."""

    project: str
    env: str
    level: int
    tier: str = "project"
    package_name: str = ""  # default: project name in snake case
    ci_vendor: str = "github"
    ci_repository: str | None = None  # "owner/repo" whose CI may assume the deploy role
    ci_branch: str = "main"  # GitLab: the protected branch the deploy jobs run on
    ci_subject: str | None = None  # the exact OIDC token subject, when not the derived one
    # The platform this project runs on: its stack (default platform-<env>) or its plain IDs.
    platform_stack: str | None = None
    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] | None = None
    security_group_id: str | None = None
    oidc_provider_arn: str | None = None
    access_log_bucket: str | None = None
    # The project's framework, from its answers: it decides what training runs on (PyTorch: GPU
    # hosts, and multi-node jobs; scikit-learn: CPUs on Fargate). Required from the level that trains.
    framework: str | None = None
    gpu_instance_types: tuple[str, ...] = ("g5", "g6")
    spot: bool = False
    max_vcpus: int = 64
    # PyTorch multi-node jobs: the nodes' instance type (one type: the job's nodes are alike) and
    # how many nodes a job has unless `make submit NODES=N` says otherwise.
    multi_node_instance_type: str = "g5.xlarge"
    training_nodes: int = 2
    training_image_tag: str | None = None  # the tag CI pushed; required from the level that trains
    mlflow: str = "app"  # "app": serverless MLflow App; "server": a tracking server
    mlflow_server_size: str = "Small"
    serving_image: str | None = None  # no image: the endpoint is not created yet
    serving_model_data_url: str | None = None
    serving_mode: str | None = None  # serverless | provisioned; default: provisioned in prod only
    serving_instance_type: str = "ml.m5.large"
    serving_instance_count: int | None = None  # default: 2 in prod, else 1
    serving_max_instances: int | None = None  # default: twice the instance count
    serverless_memory_mb: int = 2048
    serverless_max_concurrency: int = 5
    alert_email: str | None = None
    drift_threshold: float = 0.2
    drift_schedule: str = "rate(1 day)"
    force_destroy: bool = False
    # Build only these of the level's components, e.g. what LocalStack community can host.
    # The stack then publishes only part of the SSM contract: for local testing, never for projects.
    only_components: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not re.match(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$", str(self.project)):
            raise StackConfigError(
                key="project",
                problem=f"= {self.project!r} is not a project name",
                fix="Use the project's name: letters, digits, '-' or '_'.",
            )
        if self.project == "platform":
            raise StackConfigError(
                key="project",
                problem="= 'platform' is the name of the platform stacks",
                fix="Rename the project.",
            )
        _check_env(self.env)
        try:
            get_level(self.level)
        except InvalidInputError as error:
            raise StackConfigError(
                key="level", problem=f"= {self.level!r} is not a level", fix=error.fix
            ) from None
        if self.training_image_tag == "latest" or (self.serving_image or "").endswith(":latest"):
            key = "trainingImageTag" if self.training_image_tag == "latest" else "servingImage"
            raise StackConfigError(
                key=key,
                problem="names the tag 'latest', but the ECR repositories have immutable tags: 'latest' "
                "could be pushed once, and the stack would never see a new image",
                fix=f"Set mlops:{key} to the tag CI pushed, the git commit SHA (e.g. 3f2a1c0).",
            )
        if self.serving_image and not is_pinned_image(self.serving_image):
            raise StackConfigError(
                key="servingImage",
                problem=f"= {self.serving_image!r} names no tag or digest, which means 'latest' (the "
                "repository's tags are immutable)",
                fix="Set mlops:servingImage to REPOSITORY_URI:TAG with the tag CI pushed (the git commit "
                "SHA), or REPOSITORY_URI@sha256:DIGEST.",
            )
        self._check_serving_model()
        for key, value, choices in (
            ("framework", self.framework, (None, *FRAMEWORKS)),
            ("mlflow", self.mlflow, ("app", "server")),
            ("servingMode", self.serving_mode, (None, "serverless", "provisioned")),
        ):
            if value not in choices:
                raise StackConfigError(
                    key=key, problem=f"= {value!r} is not one of {[c for c in choices if c]}", fix=""
                )
        if not self.package_name:
            object.__setattr__(self, "package_name", self.project.lower().replace("-", "_"))
        if self.only_components is not None:
            level_components = components_for_level(self.level)
            for name in self.only_components:
                if name not in level_components:
                    raise StackConfigError(
                        key="onlyComponents",
                        problem=f"names {name!r}, which level {self.level} does not build",
                        fix=f"Use some of {level_components}.",
                    )
                missing = [r for r in get_component(name).requires if r not in self.only_components]
                if missing:
                    raise StackConfigError(
                        key="onlyComponents",
                        problem=f"has {name!r} without {missing}, which it builds on",
                        fix=f"Add {missing} or remove {name!r}.",
                    )

    def _check_serving_model(self) -> None:
        """The endpoint starts only from a registered model package: the serving image embeds no
        model, and on SageMaker the app loads only what SageMaker unpacks from ModelDataUrl (its
        role may not read SSM or MLflow, and in prod it runs with network isolation)."""
        image, url = self.serving_image, self.serving_model_data_url
        if url is not None and not is_model_package_url(url):
            raise StackConfigError(
                key="servingModelDataUrl",
                problem=f"= {url!r} is not a model package in the artifact bucket's models/ prefix, the "
                "one place the endpoint's role may read",
                fix="Set it to the champion's package, s3://<artifact bucket>/models/<run>/model.tar.gz "
                "(the project's deploy job prints it while the endpoint does not exist yet).",
            )
        if image and not url:
            raise StackConfigError(
                key="servingModelDataUrl",
                problem="is not set, but mlops:servingImage is: the serving image embeds no model, so "
                "the endpoint would fail its health check",
                fix="Run `pulumi config set mlops:servingModelDataUrl s3://<artifact bucket>/models/<run>/"
                "model.tar.gz` with the champion's package (the project's deploy job prints both values "
                "while the endpoint does not exist yet), or remove mlops:servingImage.",
            )
        if url and not image:
            raise StackConfigError(
                key="servingImage",
                problem="is not set, but mlops:servingModelDataUrl is: a model package needs the image "
                "that serves it",
                fix="Run `pulumi config set mlops:servingImage REPOSITORY_URI:TAG` with the serving image "
                "CI pushed, or remove mlops:servingModelDataUrl.",
            )

    @property
    def stack_name(self) -> str:
        return f"{self.project}-{self.env}"

    @property
    def components(self) -> list[str]:
        """The components this stack builds, in build order."""
        chosen = components_for_level(self.level)
        if self.only_components is not None:
            chosen = [name for name in chosen if name in self.only_components]
        return chosen

    @property
    def is_prod(self) -> bool:
        return self.env in PROD_ENVS

    @property
    def effective_serving_mode(self) -> str:
        return self.serving_mode or ("provisioned" if self.is_prod else "serverless")

    @property
    def effective_instance_count(self) -> int:
        return self.serving_instance_count or (2 if self.is_prod else 1)

    @property
    def platform_reference(self) -> str:
        """The platform stack's name, as StackReference takes it after the organization/project."""
        return self.platform_stack or f"platform-{self.env}"

    @property
    def uses_platform_ids(self) -> bool:
        """True when the platform's IDs are given as plain config (a platform not managed by Pulumi)."""
        return any(
            value is not None
            for value in (
                self.vpc_id,
                self.subnet_ids,
                self.security_group_id,
                self.oidc_provider_arn,
                self.access_log_bucket,
            )
        )

    def required_platform_ids(self) -> dict[str, Any]:
        """The plain platform IDs this stack's components need, or StackConfigError naming a missing one."""
        needed: dict[str, dict[str, Any]] = {
            "network": {
                "vpcId": self.vpc_id,
                "subnetIds": self.subnet_ids,
                "securityGroupId": self.security_group_id,
            },
            "oidc": {"oidcProviderArn": self.oidc_provider_arn},
            "access_logs": {"accessLogBucket": self.access_log_bucket},
        }
        values: dict[str, Any] = {}
        for need in platform_needs(self.components):
            for key, value in needed[need].items():
                if value is None:
                    raise StackConfigError(
                        key=key,
                        problem="is not set, but other platform IDs are (a platform Pulumi does not manage)",
                        fix=f"Set every platform ID this level needs ({', '.join(needed[need])}), or none of "
                        "them to read the platform stack.",
                    )
                values[key] = value
        return values

    def require_ci_repository(self) -> str:
        if not self.ci_repository:
            raise StackConfigError(
                key="ciRepository",
                problem="is not set, and the CI deploy role must trust one repository only",
                fix="Run `pulumi config set mlops:ciRepository OWNER/REPO` (GitLab: GROUP/PROJECT).",
            )
        return self.ci_repository

    def require_framework(self) -> str:
        if not self.framework:
            raise StackConfigError(
                key="framework",
                problem="is not set: training runs on GPU hosts for PyTorch and on CPUs for scikit-learn, "
                "so the stack must know the project's framework",
                fix="Re-run `mlops-scaffold infra-config PROJECT_PATH`, or run "
                "`pulumi config set mlops:framework sklearn` (or pytorch).",
            )
        return self.framework

    def require_training_image_tag(self) -> str:
        if not self.training_image_tag:
            raise StackConfigError(
                key="trainingImageTag",
                problem="is not set: the training job definition needs the tag of an image CI pushed "
                "(the repository's tags are immutable, so there is no 'latest')",
                fix="Run `pulumi config set mlops:trainingImageTag <git commit SHA CI pushed>`.",
            )
        return self.training_image_tag

    def to_config(self) -> dict[str, Any]:
        """The ``mlops:*`` keys for a stack file, leaving out values that equal the defaults."""
        return _to_config(self, always=("project", "env", "level"))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> StackConfig:
        """Build from config keys, with or without the ``mlops:`` prefix (``gpuInstanceTypes`` or
        ``gpu_instance_types``); values may be the strings Pulumi config holds."""
        config = _from_mapping(cls, values, required=("project", "env", "level"))
        if config.tier != "project":
            raise StackConfigError(key="tier", problem=f"= {config.tier!r} in a project stack", fix="")
        return config


@dataclass(frozen=True)
class PlatformConfig:
    """The platform stack of one environment (``platform-<env>``)."""

    env: str
    tier: str = "platform"
    vpc_cidr: str = "10.42.0.0/16"
    az_count: int = 2
    endpoint_az_count: int = 1
    # nat | endpoints. "nat" by default: the projects' default MLflow App has no VPC endpoint
    # (network.MLFLOW_APP_HOST), so their training and drift jobs reach it through the NAT gateway.
    # "endpoints" (no internet path) suits platforms whose projects all use mlops:mlflow: server.
    egress: str = "nat"
    interface_endpoints: tuple[str, ...] | None = (
        None  # None: what the runtime needs (network.RUNTIME_ENDPOINTS)
    )
    github_oidc_provider: str = "create"  # create | lookup | none | ARN
    gitlab_oidc_provider: str = "create"
    log_retention_days: int = 365
    force_destroy: bool = False

    def __post_init__(self) -> None:
        _check_env(self.env)

    @property
    def stack_name(self) -> str:
        return f"platform-{self.env}"

    @property
    def components(self) -> list[str]:
        from mlops_platform.components import PLATFORM_COMPONENTS

        return list(PLATFORM_COMPONENTS)

    def to_config(self) -> dict[str, Any]:
        return _to_config(self, always=("tier", "env"))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PlatformConfig:
        config = _from_mapping(cls, values, required=("env",))
        if config.tier != "platform":
            raise StackConfigError(key="tier", problem=f"= {config.tier!r} in a platform stack", fix="")
        return config


def check_mlflow_egress(mlflow: str, egress: str | None, *, platform: str) -> None:
    """Refuse an MLflow App on a platform whose VPC has no path to it: the App has no interface
    endpoint (network.MLFLOW_APP_HOST), so with egress "endpoints" the training and drift jobs'
    MLflow calls would time out. ``egress`` None: unknown (an older platform stack), allowed."""
    if mlflow == "app" and egress == "endpoints":
        raise StackConfigError(
            key="mlflow",
            problem=f"= 'app', but the jobs run in the VPC of {platform}, whose egress is 'endpoints': "
            "an MLflow App has no VPC endpoint, so they could not reach it",
            fix=f"Set mlops:egress: nat in {platform}'s stack file and run `pulumi up` there, "
            "or set mlops:mlflow: server in this stack.",
        )


AnyConfig = StackConfig | PlatformConfig
C = TypeVar("C", StackConfig, PlatformConfig)


def load_config(values: Mapping[str, Any]) -> AnyConfig:
    """The config of either kind of stack, told apart by ``mlops:tier`` (default ``project``)."""
    tier = next((str(v) for k, v in values.items() if k.split(":", 1)[-1] == "tier"), "project")
    if tier not in TIERS:
        raise StackConfigError(key="tier", problem=f"= {tier!r} is not one of {list(TIERS)}", fix="")
    return PlatformConfig.from_mapping(values) if tier == "platform" else StackConfig.from_mapping(values)


def read_stack_values() -> dict[str, Any]:
    """The ``mlops:*`` values of the running Pulumi stack (inside a Pulumi program only)."""
    from pulumi.runtime import config as runtime_config

    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return {key: value for key, value in values.items() if key.startswith(f"{NAMESPACE}:")}


_INT_FIELDS = {
    "level",
    "az_count",
    "endpoint_az_count",
    "max_vcpus",
    "training_nodes",
    "serving_instance_count",
    "serving_max_instances",
    "serverless_memory_mb",
    "serverless_max_concurrency",
    "log_retention_days",
}
_BOOL_FIELDS = {"spot", "force_destroy"}
_TUPLE_FIELDS = {"gpu_instance_types", "interface_endpoints", "only_components", "subnet_ids"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _to_config(config: AnyConfig, *, always: tuple[str, ...]) -> dict[str, Any]:
    defaults = {f.name: f.default for f in fields(config)}
    result: dict[str, Any] = {}
    for name, value in asdict(config).items():
        if name in always or value != defaults[name]:
            if name == "package_name" and value == getattr(config, "project", "").lower().replace("-", "_"):
                continue
            result[f"{NAMESPACE}:{_camel(name)}"] = list(value) if isinstance(value, tuple) else value
    return result


def _from_mapping(cls: type[C], values: Mapping[str, Any], *, required: tuple[str, ...]) -> C:
    known = {f.name: f for f in fields(cls)}
    by_key = {_camel(name): name for name in known}
    kwargs: dict[str, Any] = {}
    for raw_key, raw_value in values.items():
        key = raw_key.split(":", 1)[1] if raw_key.startswith(f"{NAMESPACE}:") else raw_key
        name = by_key.get(key) or (key if key in known else None)
        if name is None:
            kind = "platform stacks" if cls is PlatformConfig else "project stacks"
            raise StackConfigError(
                key=key,
                problem=f"is not a setting of the mlops {kind}"
                + (f"; it moved to {MOVED[key]}" if key in MOVED else ""),
                fix=f"Remove it or use one of: {', '.join(sorted(by_key))} (see docs/infrastructure.md).",
            )
        if raw_value is not None:
            kwargs[name] = _parse(name, key, raw_value)
    for name in required:
        if name not in kwargs and known[name].default is MISSING:
            raise StackConfigError(
                key=_camel(name),
                problem="is not set",
                fix="Write the stack file with `mlops-scaffold infra-config PROJECT_PATH`.",
            )
    return cls(**kwargs)


def _parse(name: str, key: str, value: Any) -> Any:
    try:
        if name in _INT_FIELDS:
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if name == "drift_threshold":
            return float(value)
        if name in _BOOL_FIELDS:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise ValueError
        if name in _TUPLE_FIELDS:
            if isinstance(value, str) and value.lstrip().startswith("["):
                value = json.loads(value)  # Pulumi hands YAML lists to programs as JSON
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(item).strip() for item in items if str(item).strip())
    except (TypeError, ValueError):
        raise StackConfigError(
            key=key, problem=f"= {value!r} is not a valid {name.replace('_', ' ')}"
        ) from None
    return str(value)
