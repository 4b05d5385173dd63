"""Infrastructure commands' core: the offline ``plan`` and ``infra-config`` (returns data, never prints).

``plan`` runs the Pulumi stack program in-process under Pulumi mocks and evaluates the security
rules on what it would create; ``write_stack_config`` turns a generated project's answers into
the ``Pulumi.<project>-<env>.yaml`` stack file. Pulumi is imported only inside ``plan``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mlops_core.errors import InfraDependencyError, InvalidInputError, StackDirectoryError
from mlops_core.errors import PolicyViolationError as PolicyViolationError  # the CLI's `plan` uses it
from mlops_core.levels import get_level
from mlops_scaffold.project import ANSWERS_FILE, read_project

if TYPE_CHECKING:
    from mlops_stacks.config import StackConfig

PULUMI_PROJECT = "mlops-platform"
PLACEHOLDER_OWNER = "example-org"
PLACEHOLDER_TAG = "0000000"  # the training image tag of plans that have none (a commit SHA in real stacks)


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
        "blockDeviceMappings[0].ebs.kmsKeyId",
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
    "aws:batch/jobDefinition:JobDefinition": ("type", "platformCapabilities"),
    "aws:ec2/placementGroup:PlacementGroup": ("strategy",),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (
        "ipProtocol",
        "referencedSecurityGroupId",
        "cidrIpv4",
    ),
    "aws:ssm/parameter:Parameter": ("name", "insecureValue"),
    "aws:sagemaker/endpoint:Endpoint": ("name",),
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": ("trackingServerName", "trackingServerSize"),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": ("modelPackageGroupName",),
    "aws:sns/topic:Topic": ("kmsMasterKeyId",),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("namespace", "metricName", "threshold"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("url",),
    "aws:iam/role:Role": ("tags.mlops:principal",),
    "aws:sagemaker/mlflowApp:MlflowApp": ("name",),
    "aws:sagemaker/model:Model": ("enableNetworkIsolation",),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": (
        "productionVariants[0].instanceType",
        "productionVariants[0].initialInstanceCount",
        "productionVariants[0].serverlessConfig.memorySizeInMb",
    ),
    "aws:ec2/flowLog:FlowLog": ("logDestination",),
    "aws:s3/bucketLogging:BucketLogging": ("targetPrefix",),
    "aws:sfn/stateMachine:StateMachine": ("name", "loggingConfiguration.level"),
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


# Input properties that hold JSON documents (policies, definitions): --json shows them parsed.
JSON_DOCUMENTS = (
    "policy",
    "assumeRolePolicy",
    "definition",
    "eventPattern",
    "containerProperties",
    "dashboardBody",
)
# Input properties that hold IAM, key or bucket policies (what --show-policies prints).
POLICY_DOCUMENTS = ("policy", "assumeRolePolicy")


def parsed_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``inputs`` with the JSON documents among them parsed into objects."""
    result = dict(inputs)
    for key in JSON_DOCUMENTS:
        value = result.get(key)
        if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
            with contextlib.suppress(ValueError):  # not JSON after all: show the string
                result[key] = json.loads(value)
    return result


@dataclass(frozen=True)
class PlannedResource:
    component: str
    type: str
    name: str
    properties: dict[str, Any]  # the security-relevant ones (KEY_PROPERTIES), for the human view
    inputs: dict[str, Any] = field(default_factory=dict)  # everything `pulumi up` would send
    monthly_idle_usd: float = 0.0
    ignore_changes: tuple[str, ...] = ()  # properties `pulumi up` leaves alone once created

    @property
    def policies(self) -> dict[str, Any]:
        """The IAM, key and bucket policy documents among the inputs."""
        return {key: self.inputs[key] for key in POLICY_DOCUMENTS if isinstance(self.inputs.get(key), dict)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "type": self.type,
            "name": self.name,
            "properties": self.properties,
            "inputs": self.inputs,
            "ignore_changes": list(self.ignore_changes),
            "monthly_idle_usd": round(self.monthly_idle_usd, 2),
        }


@dataclass(frozen=True)
class ServingPlan:
    """What the plan's endpoint will serve, or why it is not created yet (for people: ``lines``)."""

    endpoint: str
    created: bool
    mode: str  # serverless | provisioned
    image: str | None
    model_data_url: str | None
    size: str  # e.g. "2 x ml.m5.large, autoscaling up to 4" or "serverless, 2048 MB, 5 concurrent"
    reason: str  # why the endpoint is skipped, or who moves it from here

    def lines(self) -> list[str]:
        if not self.created:
            return [f"{self.endpoint}: not created yet. {self.reason}"]
        return [
            f"{self.endpoint} ({self.size}) starts on",
            f"  image  {self.image}",
            f"  model  {self.model_data_url}",
            self.reason,
        ]


def serving_plan(config: StackConfig) -> ServingPlan:
    """The endpoint a project stack from level 3 creates, and what it serves first."""
    from mlops_platform.naming import endpoint_name

    mode = config.effective_serving_mode
    count = config.effective_instance_count
    size = (
        f"{count} x {config.serving_instance_type}, autoscaling up to "
        f"{config.serving_max_instances or 2 * count}"
        if mode == "provisioned"
        else f"serverless, {config.serverless_memory_mb} MB, {config.serverless_max_concurrency} concurrent"
    )
    created = bool(config.serving_image and config.serving_model_data_url)
    reason = (
        "Pulumi creates it and its first model once; each CI deploy (deploy.py) then moves it to a "
        "new model. Changing these settings later changes nothing that runs: deploys do."
        if created
        else "mlops:servingImage and mlops:servingModelDataUrl are not set (the serving image embeds no "
        "model). Set both once the first model is registered and its image pushed; the project's deploy "
        "job prints them while there is no endpoint. The serving role, the CI deploy rights and the "
        "endpoint's name in SSM are created now."
    )
    return ServingPlan(
        endpoint=endpoint_name(config.project, config.env),
        created=created,
        mode=mode,
        image=config.serving_image,
        model_data_url=config.serving_model_data_url,
        size=size,
        reason=reason,
    )


@dataclass(frozen=True)
class PlanResult:
    stack: str
    tier: str  # "platform" or "project"
    project: str
    env: str
    level: int | None
    components: list[str]
    resources: list[PlannedResource]
    violations: list[Any]  # mlops_platform.policy.rules.Violation
    cost: Any  # mlops_platform.cost.CostEstimate
    exceptions: list[Any] = field(default_factory=list)  # mlops_platform.policy.rules.PolicyException
    notes: list[str] = field(default_factory=list)
    serving: ServingPlan | None = None  # from level 3: the endpoint and what it will serve

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
            "stack": self.stack,
            "tier": self.tier,
            "project": self.project,
            "env": self.env,
            "level": self.level,
            "count": self.count,
            "components": {name: [r.to_dict() for r in items] for name, items in self.by_component().items()},
            "cost": self.cost.to_dict(),
            "violations": [v.to_dict() for v in self.violations],
            "policy_exceptions": [e.to_dict() for e in self.exceptions],
            "notes": self.notes,
            "serving": asdict(self.serving) if self.serving else None,
        }


def _import_stacks() -> None:
    try:
        import pulumi  # noqa: F401
        import pulumi_aws  # noqa: F401
    except ImportError as error:
        raise InfraDependencyError(missing=f"the Pulumi SDKs ({error.name})") from None


def example_settings(level: int, env: str) -> dict[str, Any]:
    """The stack config of the example project `plan --level N` plans (placeholders where a real
    project has values of its own)."""
    return {
        "project": "example",
        "env": env,
        "level": level,
        "ciRepository": f"{PLACEHOLDER_OWNER}/example",
        "trainingImageTag": PLACEHOLDER_TAG,
        "framework": "sklearn",  # the template's default (`--set framework=pytorch`: GPU hosts)
    }


def plan(
    *,
    level: int | str | None = None,
    project_path: Path | None = None,
    env: str = "dev",
    settings: Mapping[str, Any] | None = None,
    platform: bool = False,
) -> PlanResult:
    """What ``pulumi up`` would create for a level, a generated project or (``platform=True``)
    the environment's platform stack, computed offline, with its policy check and its cost.

    ``settings`` are extra ``mlops:*`` stack config values (e.g. ``{"servingImage": ...}``).
    """
    if sum((level is not None, project_path is not None, platform)) != 1:
        raise InvalidInputError(
            "Give one of a level, a project path or --platform to plan.",
            fix="Use `mlops-scaffold plan --level 2`, `mlops-scaffold plan PROJECT_PATH` or "
            "`mlops-scaffold plan --platform`.",
        )
    _import_stacks()
    from mlops_platform.cost import estimate
    from mlops_platform.policy.rules import Resource, evaluate, exceptions
    from mlops_stacks.config import PlatformConfig, StackConfig
    from mlops_stacks.offline import run_offline

    notes: list[str] = []
    config: StackConfig | PlatformConfig
    if platform:
        config = PlatformConfig.from_mapping({"env": env} | dict(settings or {}))
    elif project_path is not None:
        config, notes = stack_config_from_project(project_path, env=env, settings=settings)
    else:
        number = get_level(level).number  # InvalidLevelError (exit 4), as for `new`
        config = StackConfig.from_mapping(example_settings(number, env) | dict(settings or {}))
    run = run_offline(config)
    costs = estimate(run.resources)
    if project_path is not None:
        notes += _tuning_note(project_path, costs)
    idle = {(c.type, c.name): c.monthly_usd for c in costs.by_resource}
    order = {name: index for index, name in enumerate(run.components)}
    resources = sorted(
        (
            PlannedResource(
                r.component or "stack",
                r.type,
                r.name,
                key_properties(r.type, r.inputs),
                parsed_inputs(r.inputs),
                idle.get((r.type, r.name), 0.0),
                r.ignore_changes,
            )
            for r in run.resources
        ),
        key=lambda r: (order.get(r.component, len(order)), r.type, r.name),  # stable, whatever the RPC order
    )
    planned = [Resource(r.type, r.name, r.inputs, r.urn, r.refs) for r in run.resources]
    notes += _plan_notes(config, run, costs)
    found: dict[str, Any] = {
        "components": run.components,
        "resources": resources,
        "violations": evaluate(planned),
        "cost": costs,
        "exceptions": exceptions(planned),
        "notes": notes,
    }
    if isinstance(config, PlatformConfig):
        return PlanResult(
            stack=config.stack_name, tier="platform", project="platform", env=config.env, level=None, **found
        )
    return PlanResult(
        stack=config.stack_name,
        tier="project",
        project=config.project,
        env=config.env,
        level=config.level,
        serving=serving_plan(config) if "serving" in config.components else None,
        **found,
    )


def _plan_notes(config: Any, run: Any, costs: Any) -> list[str]:
    from mlops_stacks.config import StackConfig

    notes = []
    if costs.unpriced:
        notes.append(
            "The price table has no price for "
            + ", ".join(costs.unpriced)
            + ": the idle total leaves it out."
        )
    if not isinstance(config, StackConfig):
        notes.append(
            f"The platform stack {config.stack_name} is created once per account and environment, before "
            "any project stack of that environment (`pulumi up --stack " + config.stack_name + "`)."
        )
        return notes
    if not config.components:
        notes.append(f"Level {config.level} needs no cloud infrastructure: the stack creates nothing.")
        return notes
    platform = run.result.platform
    if platform is not None and platform.source.startswith("stack:"):
        notes.append(
            f"Reads the platform stack {platform.source.removeprefix('stack:')} (network, OIDC provider, log "
            "bucket): `pulumi up` it first; the plan uses made-up IDs for its outputs."
        )
    return notes


def _tuning_note(project_path: Path, costs: Any) -> list[str]:
    """What a tuning run of the project's configs/tune.yaml costs an hour: one AWS Batch array
    child per configuration, each the price of a CPU training job."""
    path = Path(project_path) / "configs" / "tune.yaml"
    job = next((u for u in costs.usage if u.item.startswith("Training job on CPUs")), None)
    if job is None or not path.is_file():
        return []
    raw = _load_yaml_file(path, fix="Fix configs/tune.yaml (the project's `make tune` reads it too).")
    configurations = raw.get("configurations") if isinstance(raw, dict) else None
    count = len(configurations) if isinstance(configurations, list) else 0
    if not count:
        return []
    return [
        f"A tuning run of the {count} configurations in configs/tune.yaml (`make tune ENV=...`, an AWS Batch "
        f"array job) costs {count} x ${job.usd:.4f} = ${count * job.usd:.2f} per hour while its children run."
    ]


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


def serving_settings(project_path: Path, *, env: str) -> dict[str, Any]:
    """The endpoint size of ``env`` from the project's configs/pipeline.yaml (``environments.<env>.
    endpoint``), as stack config: the project's deploy.py creates endpoint configurations of that
    size, and an endpoint with autoscaling refuses an update to another instance type."""
    pipeline = Path(project_path) / "configs" / "pipeline.yaml"
    # A broken config is refused rather than read as "no sizes": the stack would otherwise size
    # the endpoint by its defaults while the project's deploy.py fails on the same file.
    fix = "Fix configs/pipeline.yaml (the project's own deploy.py reads it too), then run this again."
    raw = _load_yaml_file(pipeline, fix=fix) if pipeline.is_file() else None
    environments = raw.get("environments") if isinstance(raw, dict) else None
    endpoint = (environments or {}).get(env) or {}
    endpoint = endpoint.get("endpoint") if isinstance(endpoint, dict) else None
    if not isinstance(endpoint, dict):
        return {}
    found = {
        "servingInstanceType": endpoint.get("instance_type"),
        "servingInstanceCount": endpoint.get("instance_count"),
    }
    return {key: value for key, value in found.items() if value is not None}


def stack_config_from_project(
    project_path: Path,
    *,
    env: str,
    settings: Mapping[str, Any] | None = None,
    ci_repository: str | None = None,
) -> tuple[StackConfig, list[str]]:
    """The stack config a generated project needs, and notes for the person running it (for
    `plan`: values only a real stack has get placeholders, each with a note)."""
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
        "framework": answers.get("framework", "sklearn"),
    }
    if repository:
        values["ciRepository"] = repository
    if int(answers["level"]) >= 3:
        values |= serving_settings(project_path, env=env)
    values |= dict(settings or {})
    config = StackConfig.from_mapping(values)
    if "ci_identity" in config.components and not config.ci_repository:
        notes.append(
            f"No {vendor} remote 'origin' found: set mlops:ciRepository (OWNER/REPO) before "
            "`pulumi up`; the plan uses a placeholder."
        )
        values["ciRepository"] = f"{PLACEHOLDER_OWNER}/{config.project}"
    if "training" in config.components and not config.training_image_tag:
        notes.append(
            "Set mlops:trainingImageTag to the tag CI pushed (the commit SHA) before `pulumi up`; the plan "
            f"uses {PLACEHOLDER_TAG}."
        )
        values["trainingImageTag"] = PLACEHOLDER_TAG
    return StackConfig.from_mapping(values), notes


@dataclass(frozen=True)
class InfraConfigResult:
    path: Path
    stack: str
    created: bool
    previous_level: int | None
    level: int
    config: dict[str, Any]
    platform_path: Path
    platform_stack: str
    platform_created: bool
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "stack": self.stack,
            "created": self.created,
            "previous_level": self.previous_level,
            "level": self.level,
            "config": self.config,
            "platform": {
                "path": str(self.platform_path),
                "stack": self.platform_stack,
                "created": self.platform_created,
            },
            "notes": self.notes,
        }


def _load_yaml_file(path: Path, *, fix: str) -> Any:
    """The content of a YAML file (Pulumi files, the project's configs/pipeline.yaml); bad input
    naming the file when it cannot be read."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        reason = "it is not UTF-8 text"
    except yaml.YAMLError as error:  # incl. tags such as !!python/object, which safe_load refuses
        problem = getattr(error, "problem", None) or type(error).__name__
        mark = getattr(error, "problem_mark", None)
        reason = f"it is not valid YAML ({problem}{f', line {mark.line + 1}' if mark else ''})"
    except OSError as error:
        reason = error.strerror or str(error)
    raise InvalidInputError(f"Cannot read {path}: {reason}.", fix=fix)


def find_stack_directory(start: Path) -> Path:
    """The directory of the mlops-platform Pulumi.yaml at or above ``start``."""
    for directory in (start, *start.parents):
        candidate = directory / "Pulumi.yaml"
        if candidate.is_file():
            data = _load_yaml_file(
                candidate, fix="Fix or move that Pulumi.yaml, or pass --output DIR to write the stack files."
            )
            if isinstance(data, dict) and data.get("name") == PULUMI_PROJECT:
                return directory
    raise StackDirectoryError(start=start)


def _read_stack_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    existing = _load_yaml_file(path, fix="Fix or move the file, then run infra-config again.") or {}
    if not isinstance(existing, dict) or not isinstance(existing.get("config", {}), dict):
        raise InvalidInputError(
            f"{path} is not a Pulumi stack file (no 'config' mapping).",
            fix="Fix or move the file, then run infra-config again.",
        )
    return existing


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it: a killed process
    leaves the old file or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_stack_config(
    project_path: Path,
    *,
    env: str = "dev",
    output_dir: Path | None = None,
    ci_repository: str | None = None,
    region: str = "us-east-1",
) -> InfraConfigResult:
    """Write (or update) ``Pulumi.<project>-<env>.yaml`` so the stack matches the project's level,
    and ``Pulumi.platform-<env>.yaml`` for the environment's platform stack if there is none yet.

    Keys already in the files that this function does not own are kept; ``mlops:level`` follows
    the project's answers, so re-running after `mlops-scaffold upgrade` raises the stack's level,
    and the endpoint size follows the project's configs/pipeline.yaml. Both files are checked
    before either is written.
    """
    from mlops_stacks.config import PlatformConfig, StackConfig

    project_path = Path(project_path)
    answers = read_answers(project_path)
    directory = Path(output_dir) if output_dir is not None else find_stack_directory(Path.cwd())
    if directory.exists() and not directory.is_dir():
        raise InvalidInputError(
            f"--output '{directory}' is a file, not a directory.",
            fix="Pass a directory for the stack files (one that does not exist yet is created).",
        )
    stack = f"{answers['project_name']}-{env}"
    path = directory / f"Pulumi.{stack}.yaml"
    existing = _read_stack_file(path)
    config: dict[str, Any] = dict(existing.get("config") or {})
    previous_level = config.get("mlops:level")

    vendor = str(answers.get("ci", "github"))
    owned: dict[str, Any] = {
        "mlops:project": answers["project_name"],
        "mlops:env": env,
        "mlops:level": answers["level"],
        "mlops:ciVendor": vendor,
        "mlops:framework": answers.get("framework", "sklearn"),
    }
    if answers.get("package_name"):
        owned["mlops:packageName"] = answers["package_name"]
    repository = (
        ci_repository or config.get("mlops:ciRepository") or detect_repository(project_path, vendor=vendor)
    )
    if repository:
        owned["mlops:ciRepository"] = repository
    if int(answers["level"]) >= 3:
        owned |= {f"mlops:{key}": value for key, value in serving_settings(project_path, env=env).items()}
    config.setdefault("aws:region", region)
    config.update(owned)
    # Validate the result the way the stack program will read it (unknown mlops keys, bad values).
    parsed = StackConfig.from_mapping({k: v for k, v in config.items() if k.startswith("mlops:")})
    if "ci_identity" in parsed.components and parsed.ci_repository:
        check_ci_repository(parsed.ci_repository, vendor=parsed.ci_vendor)  # as `plan` would

    platform_stack = f"platform-{env}"
    platform_path = directory / f"Pulumi.{platform_stack}.yaml"
    platform_existing = _read_stack_file(platform_path)
    platform_config = dict(platform_existing.get("config") or {})
    platform_config.setdefault("aws:region", config["aws:region"])
    platform_config |= {"mlops:tier": "platform", "mlops:env": env}
    PlatformConfig.from_mapping({k: v for k, v in platform_config.items() if k.startswith("mlops:")})

    notes = []
    if "ci_identity" in parsed.components and not parsed.ci_repository:
        notes.append(
            f"Set the repository whose CI may deploy: `pulumi config set mlops:ciRepository OWNER/REPO "
            f"--stack {stack}` (no {vendor} remote 'origin' was found in {project_path})."
        )
    if "training" in parsed.components and not parsed.training_image_tag:
        notes.append(
            f"Set the training image: `pulumi config set mlops:trainingImageTag <commit SHA CI pushed> "
            f"--stack {stack}` (the image repository's tags are immutable)."
        )
    if "ci_identity" in parsed.components and parsed.ci_vendor == "gitlab" and parsed.is_prod:
        notes.append(
            f"{stack}'s deploy role trusts only protected release tags v* of the GitLab project, not "
            "its default branch: protect the tags v* (Settings -> Repository -> Protected tags) and "
            "release to prod by pushing such a tag."
        )
    if previous_level is not None and int(previous_level) > parsed.level:
        notes.append(
            f"The stack was at level {previous_level} and now follows the project at level "
            f"{parsed.level}: `pulumi up` will remove the higher level's resources."
        )
    if parsed.components:
        notes.append(
            f"Deploy {platform_stack} before {stack}: `pulumi up --stack {platform_stack}` once per account "
            "and environment, then each project's stack."
        )
    header = (
        f"# Stack {stack}: written by `mlops-scaffold infra-config` from {ANSWERS_FILE} of the project.\n"
        "# Re-run it after `mlops-scaffold upgrade`; keys you add are kept (comments are not).\n"
    )
    platform_header = (
        f"# Stack {platform_stack}: the platform every project of environment {env} shares (network,\n"
        "# OIDC providers, log bucket). Written by `mlops-scaffold infra-config`; keys you add are kept.\n"
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)  # as uv and copier create their output directory
    except OSError as error:
        raise InvalidInputError(
            f"Cannot create the output directory '{directory}': {error.strerror or error}.",
            fix="Pass a directory you can write to with --output DIR.",
        ) from None
    _write_atomically(
        platform_path,
        platform_header
        + yaml.safe_dump(dict(platform_existing) | {"config": platform_config}, sort_keys=False),
    )
    _write_atomically(path, header + yaml.safe_dump(dict(existing) | {"config": config}, sort_keys=False))
    return InfraConfigResult(
        path=path,
        stack=stack,
        created=not existing,
        level=parsed.level,
        previous_level=int(previous_level) if previous_level is not None else None,
        config=config,
        platform_path=platform_path,
        platform_stack=platform_stack,
        platform_created=not platform_existing,
        notes=notes,
    )
