"""Stack configuration: the ``mlops:*`` keys of ``Pulumi.<stack>.yaml`` as a typed object (pure)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from mlops_platform.components import components_for_level, get_component
from mlops_scaffold.errors import InvalidInputError
from mlops_scaffold.levels import get_level

NAMESPACE = "mlops"


class StackConfigError(InvalidInputError):
    """A stack configuration value is missing or not acceptable."""

    exit_code = 23

    def __init__(self, *, key: str, problem: str, fix: str = "") -> None:
        self.key = key
        super().__init__(
            f"Stack config {NAMESPACE}:{key} {problem}.",
            fix=fix or f"Set it with `pulumi config set {NAMESPACE}:{key} VALUE`.",
        )


@dataclass(frozen=True)
class StackConfig:
    """Everything the program needs; field ``gpu_instance_types`` is config key ``mlops:gpuInstanceTypes``."""

    project: str
    env: str
    level: int
    package_name: str = ""  # default: project name in snake case
    ci_vendor: str = "github"
    ci_repository: str | None = None  # "owner/repo" whose CI may assume the deploy role
    ci_ref: str = "*"
    oidc_provider_arn: str | None = None  # reuse the account's provider instead of creating one
    vpc_cidr: str = "10.42.0.0/16"
    az_count: int = 2
    interface_endpoints: tuple[str, ...] | None = None  # None: the network component's default set
    gpu_instance_types: tuple[str, ...] = ("g5", "g6")
    spot: bool = False
    max_vcpus: int = 64
    training_image_tag: str = "latest"
    serving_image: str | None = None  # no image: the endpoint is not created yet
    serving_model_data_url: str | None = None
    serving_instance_type: str = "ml.m5.large"
    alert_email: str | None = None
    drift_threshold: float = 0.2
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
        if not re.match(r"^[a-z][a-z0-9-]{0,19}$", str(self.env)):
            raise StackConfigError(
                key="env",
                problem=f"= {self.env!r} is not an environment name",
                fix="Use a short lower-case name such as dev, staging or prod.",
            )
        try:
            get_level(self.level)
        except InvalidInputError as error:
            raise StackConfigError(
                key="level", problem=f"= {self.level!r} is not a level", fix=error.fix
            ) from None
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

    def require_ci_repository(self) -> str:
        if not self.ci_repository:
            raise StackConfigError(
                key="ciRepository",
                problem="is not set, and the CI deploy role must trust one repository only",
                fix="Run `pulumi config set mlops:ciRepository OWNER/REPO` (GitLab: GROUP/PROJECT).",
            )
        return self.ci_repository

    def to_config(self) -> dict[str, Any]:
        """The ``mlops:*`` keys for a stack file, leaving out values that equal the defaults."""
        defaults = {f.name: f.default for f in fields(self)}
        result: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if name in ("project", "env", "level") or value != defaults[name]:
                if name == "package_name" and value == self.project.lower().replace("-", "_"):
                    continue
                result[f"{NAMESPACE}:{_camel(name)}"] = list(value) if isinstance(value, tuple) else value
        return result

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> StackConfig:
        """Build from config keys, with or without the ``mlops:`` prefix (``gpuInstanceTypes`` or
        ``gpu_instance_types``); values may be the strings Pulumi config holds."""
        known = {f.name: f for f in fields(cls)}
        by_key = {_camel(name): name for name in known}
        kwargs: dict[str, Any] = {}
        for raw_key, raw_value in values.items():
            key = raw_key.split(":", 1)[1] if raw_key.startswith(f"{NAMESPACE}:") else raw_key
            name = by_key.get(key) or (key if key in known else None)
            if name is None:
                raise StackConfigError(
                    key=key,
                    problem="is not a setting of the mlops stacks",
                    fix=f"Remove it or use one of: {', '.join(sorted(by_key))} (see docs/infrastructure.md).",
                )
            if raw_value is not None:
                kwargs[name] = _parse(name, key, raw_value)
        for required in ("project", "env", "level"):
            if required not in kwargs:
                raise StackConfigError(
                    key=required,
                    problem="is not set",
                    fix="Write the stack file with `mlops-scaffold infra-config PROJECT_PATH`.",
                )
        return cls(**kwargs)


def read_stack_values() -> dict[str, Any]:
    """The ``mlops:*`` values of the running Pulumi stack (inside a Pulumi program only)."""
    from pulumi.runtime import config as runtime_config

    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return {key: value for key, value in values.items() if key.startswith(f"{NAMESPACE}:")}


_INT_FIELDS = {"level", "az_count", "max_vcpus"}
_BOOL_FIELDS = {"spot", "force_destroy"}
_TUPLE_FIELDS = {"gpu_instance_types", "interface_endpoints", "only_components"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


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
