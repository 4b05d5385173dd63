"""Infrastructure commands' core: the offline ``plan`` and ``infra-config`` (returns data, never prints).

``plan`` runs the Pulumi stack program in-process under Pulumi mocks and evaluates the security
rules on what it would create; ``write_stack_config`` turns a generated project's answers into
the ``Pulumi.<project>-<env>.yaml`` stack file. Pulumi is imported only inside ``plan``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mlops_scaffold.errors import (
    InfraDependencyError,
    InvalidInputError,
    PolicyViolationError,
    StackDirectoryError,
)
from mlops_scaffold.levels import get_level
from mlops_scaffold.project import ANSWERS_FILE, read_project

if TYPE_CHECKING:
    from mlops_stacks.config import StackConfig

__all__ = ["InfraDependencyError", "PolicyViolationError", "StackDirectoryError"]  # and the functions below

PULUMI_PROJECT = "mlops-platform"
PLACEHOLDER_OWNER = "example-org"


# ---- plan ---------------------------------------------------------------------------------------

# Security-relevant input properties shown for each type (dotted paths, [i] picks a list item).
KEY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "aws:kms/key:Key": ("enableKeyRotation",),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "rules[0].applyServerSideEncryptionByDefault.sseAlgorithm",
    ),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    ),
    "aws:s3/bucketVersioning:BucketVersioning": ("versioningConfiguration.status",),
    "aws:ec2/launchTemplate:LaunchTemplate": (
        "metadataOptions.httpTokens",
        "blockDeviceMappings[0].ebs.encrypted",
    ),
    "aws:ec2/subnet:Subnet": ("cidrBlock", "mapPublicIpOnLaunch"),
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("serviceName", "vpcEndpointType"),
    "aws:ecr/repository:Repository": ("name", "imageTagMutability", "imageScanningConfiguration.scanOnPush"),
    "aws:batch/computeEnvironment:ComputeEnvironment": (
        "computeResources.type",
        "computeResources.instanceTypes",
        "computeResources.minVcpus",
        "computeResources.maxVcpus",
    ),
    "aws:ssm/parameter:Parameter": ("name", "insecureValue"),
    "aws:sagemaker/endpoint:Endpoint": ("name",),
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": ("trackingServerName", "trackingServerSize"),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": ("modelPackageGroupName",),
    "aws:sns/topic:Topic": ("kmsMasterKeyId",),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("namespace", "metricName", "threshold"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("url",),
}


def _lookup(value: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            index = int(part[1:-1])
            value = value[index] if isinstance(value, list) and len(value) > index else None
        else:
            value = value.get(part) if isinstance(value, Mapping) else None
    return value


def key_properties(type_token: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    shown = {path: _lookup(inputs, path) for path in KEY_PROPERTIES.get(type_token, ())}
    return {path: value for path, value in shown.items() if value is not None}


@dataclass(frozen=True)
class PlannedResource:
    component: str
    type: str
    name: str
    properties: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "type": self.type,
            "name": self.name,
            "properties": self.properties,
        }


@dataclass(frozen=True)
class PlanResult:
    project: str
    env: str
    level: int
    components: list[str]
    resources: list[PlannedResource]
    violations: list[Any]  # mlops_platform.policy.rules.Violation
    notes: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.resources)

    def by_component(self) -> dict[str, list[PlannedResource]]:
        groups: dict[str, list[PlannedResource]] = {name: [] for name in self.components}
        for resource in self.resources:
            groups.setdefault(resource.component, []).append(resource)
        return groups

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "env": self.env,
            "level": self.level,
            "count": self.count,
            "components": {name: [r.to_dict() for r in items] for name, items in self.by_component().items()},
            "violations": [v.to_dict() for v in self.violations],
            "notes": self.notes,
        }


def _import_stacks() -> None:
    try:
        import pulumi  # noqa: F401
        import pulumi_aws  # noqa: F401
    except ImportError as error:
        raise InfraDependencyError(missing=f"the Pulumi SDKs ({error.name})") from None


def plan(
    *,
    level: int | str | None = None,
    project_path: Path | None = None,
    env: str = "dev",
    settings: Mapping[str, Any] | None = None,
) -> PlanResult:
    """What ``pulumi up`` would create for a level (or a generated project), computed offline.

    ``settings`` are extra ``mlops:*`` stack config values (e.g. ``{"servingImage": ...}``).
    """
    if (level is None) == (project_path is None):
        raise InvalidInputError(
            "Give either a level or a project path to plan.",
            fix="Use `mlops-scaffold plan --level 2` or `mlops-scaffold plan PROJECT_PATH`.",
        )
    _import_stacks()
    from mlops_platform.policy.rules import Resource, evaluate
    from mlops_stacks.offline import run_offline

    notes: list[str] = []
    if project_path is not None:
        config, notes = stack_config_from_project(project_path, env=env, settings=settings)
    else:
        from mlops_stacks.config import StackConfig

        values = {
            "project": "example",
            "env": env,
            "level": get_level(level).number,  # InvalidLevelError (exit 4), as for `new`
            "ciRepository": f"{PLACEHOLDER_OWNER}/example",
        } | dict(settings or {})
        config = StackConfig.from_mapping(values)
    run = run_offline(config)
    order = {name: index for index, name in enumerate(run.components)}
    resources = sorted(
        (
            PlannedResource(r.component or "stack", r.type, r.name, key_properties(r.type, r.inputs))
            for r in run.resources
        ),
        key=lambda r: (order.get(r.component, len(order)), r.type, r.name),  # stable, whatever the RPC order
    )
    violations = evaluate(Resource(r.type, r.name, r.inputs, r.urn, r.refs) for r in run.resources)
    if not config.components:
        notes.append(f"Level {config.level} needs no cloud infrastructure: the stack creates nothing.")
    if "serving" in config.components and not config.serving_image:
        notes.append(
            "No model is configured yet (mlops:servingImage), so the endpoint is not created; "
            "its name is published to SSM already."
        )
    return PlanResult(config.project, config.env, config.level, run.components, resources, violations, notes)


# ---- infra-config -------------------------------------------------------------------------------


def read_answers(project_path: Path) -> dict[str, Any]:
    """The project's answers, read and checked by ``project.read_project`` as for every command."""
    return read_project(project_path, any_template=True).answers


def check_ci_repository(repository: str, *, vendor: str) -> str:
    """The check the CI identity component makes at `pulumi up` (and `plan`), made here too."""
    _import_stacks()
    from mlops_platform.ci_identity.oidc import check_repository

    return check_repository(repository, vendor=vendor)


_REMOTE = re.compile(
    r"^\s*url\s*=\s*(?:https://|ssh://git@|git@)(?P<host>[^/:]+)[/:](?P<path>.+?)(?:\.git)?/?\s*$",
    re.MULTILINE,
)


def detect_repository(project_path: Path, *, vendor: str) -> str | None:
    """``owner/repo`` from the project's git remote 'origin' when it is on the vendor's public host."""
    git_config = Path(project_path) / ".git" / "config"
    if not git_config.is_file():
        return None
    text = git_config.read_text(encoding="utf-8", errors="replace")
    section = re.search(r'\[remote "origin"\](?P<body>[^\[]*)', text)
    match = _REMOTE.search(section.group("body")) if section else None
    if match and match.group("host") == {"github": "github.com", "gitlab": "gitlab.com"}.get(vendor):
        return match.group("path")
    return None


def stack_config_from_project(
    project_path: Path,
    *,
    env: str,
    settings: Mapping[str, Any] | None = None,
    ci_repository: str | None = None,
) -> tuple[StackConfig, list[str]]:
    """The stack config a generated project needs, and notes for the person running it."""
    from mlops_stacks.config import StackConfig

    answers = read_answers(project_path)
    vendor = str(answers.get("ci", "github"))
    notes = []
    repository = ci_repository or detect_repository(project_path, vendor=vendor)
    values: dict[str, Any] = {
        "project": answers["project_name"],
        "env": env,
        "level": answers["level"],
        "ciVendor": vendor,
        "packageName": answers.get("package_name") or "",
    }
    if repository:
        values["ciRepository"] = repository
    values |= dict(settings or {})
    config = StackConfig.from_mapping(values)
    if "ci_identity" in config.components and not config.ci_repository:
        notes.append(
            f"No {vendor} remote 'origin' found: set mlops:ciRepository (OWNER/REPO) before "
            "`pulumi up`; the plan uses a placeholder."
        )
        config = StackConfig.from_mapping(values | {"ciRepository": f"{PLACEHOLDER_OWNER}/{config.project}"})
    return config, notes


@dataclass(frozen=True)
class InfraConfigResult:
    path: Path
    stack: str
    created: bool
    previous_level: int | None
    level: int
    config: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "stack": self.stack,
            "created": self.created,
            "previous_level": self.previous_level,
            "level": self.level,
            "config": self.config,
            "notes": self.notes,
        }


def find_stack_directory(start: Path) -> Path:
    """The directory of the mlops-platform Pulumi.yaml at or above ``start``."""
    for directory in (start, *start.parents):
        candidate = directory / "Pulumi.yaml"
        if candidate.is_file():
            data = yaml.safe_load(candidate.read_text(encoding="utf-8")) or {}
            if isinstance(data, dict) and data.get("name") == PULUMI_PROJECT:
                return directory
    raise StackDirectoryError(start=start)


def write_stack_config(
    project_path: Path,
    *,
    env: str = "dev",
    output_dir: Path | None = None,
    ci_repository: str | None = None,
    region: str = "us-east-1",
) -> InfraConfigResult:
    """Write (or update) ``Pulumi.<project>-<env>.yaml`` so the stack matches the project's level.

    Keys already in the file that this function does not own are kept; ``mlops:level`` follows
    the project's answers, so re-running after `mlops-scaffold upgrade` raises the stack's level.
    """
    from mlops_stacks.config import StackConfig

    project_path = Path(project_path)
    answers = read_answers(project_path)
    directory = Path(output_dir) if output_dir is not None else find_stack_directory(Path.cwd())
    if not directory.is_dir():
        raise InvalidInputError(
            f"Output directory '{directory}' does not exist.", fix="Create it or pick another."
        )
    stack = f"{answers['project_name']}-{env}"
    path = directory / f"Pulumi.{stack}.yaml"
    existing: dict[str, Any] = {}
    if path.is_file():
        existing = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(existing, dict) or not isinstance(existing.get("config", {}), dict):
            raise InvalidInputError(
                f"{path} is not a Pulumi stack file (no 'config' mapping).",
                fix="Fix or move the file, then run infra-config again.",
            )
    config: dict[str, Any] = dict(existing.get("config") or {})
    previous_level = config.get("mlops:level")

    vendor = str(answers.get("ci", "github"))
    owned: dict[str, Any] = {
        "mlops:project": answers["project_name"],
        "mlops:env": env,
        "mlops:level": answers["level"],
        "mlops:ciVendor": vendor,
    }
    if answers.get("package_name"):
        owned["mlops:packageName"] = answers["package_name"]
    repository = (
        ci_repository or config.get("mlops:ciRepository") or detect_repository(project_path, vendor=vendor)
    )
    if repository:
        owned["mlops:ciRepository"] = repository
    config.setdefault("aws:region", region)
    config.update(owned)
    # Validate the result the way the stack program will read it (unknown mlops keys, bad values).
    parsed = StackConfig.from_mapping({k: v for k, v in config.items() if k.startswith("mlops:")})
    if "ci_identity" in parsed.components and parsed.ci_repository:
        check_ci_repository(parsed.ci_repository, vendor=parsed.ci_vendor)  # as `plan` would

    notes = []
    if "ci_identity" in parsed.components and not parsed.ci_repository:
        notes.append(
            f"Set the repository whose CI may deploy: `pulumi config set mlops:ciRepository OWNER/REPO "
            f"--stack {stack}` (no {vendor} remote 'origin' was found in {project_path})."
        )
    if previous_level is not None and int(previous_level) > parsed.level:
        notes.append(
            f"The stack was at level {previous_level} and now follows the project at level "
            f"{parsed.level}: `pulumi up` will remove the higher level's resources."
        )
    document = dict(existing) | {"config": config}
    header = (
        f"# Stack {stack}: written by `mlops-scaffold infra-config` from {ANSWERS_FILE} of the project.\n"
        "# Re-run it after `mlops-scaffold upgrade`; keys you add are kept (comments are not).\n"
    )
    path.write_text(header + yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return InfraConfigResult(
        path=path,
        stack=stack,
        created=not existing,
        level=parsed.level,
        previous_level=int(previous_level) if previous_level is not None else None,
        config=config,
        notes=notes,
    )
