"""Run the stack program in-process under Pulumi mocks and record every resource it creates.

No credentials, no network and no Pulumi CLI: the mocks answer each resource registration with
made-up IDs and ARNs and the few provider functions the program calls. ``mlops-scaffold plan``
and the tests use this; each call resets Pulumi's process-wide runtime settings first, so it can
run any number of times in one process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from mlops_platform.common import TYPE_PREFIX
from mlops_stacks.config import AnyConfig
from mlops_stacks.program import StackResult, build_stack, make_provider

PULUMI_PROJECT = "mlops-platform"
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
STACK_REFERENCE = "pulumi:pulumi:StackReference"

# What the mocks answer for the platform stack a project stack references (made-up IDs).
PLATFORM_OUTPUTS = {
    "vpc_id": "vpc-0platform0000000",
    "private_subnet_ids": ["subnet-0platform000000a", "subnet-0platform000000b"],
    "workload_security_group_id": "sg-0platformworkload0",
    "access_log_bucket": "platform-dev-logs-bucket",
    "github_oidc_provider_arn": (
        f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com"
    ),
    "gitlab_oidc_provider_arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/gitlab.com",
    "egress": "nat",  # the platform's default
}

# Resource ARNs in the form AWS gives them (the IAM sufficiency tests match policies against them).
_ARN_FORMATS = {
    "aws:iam/role:Role": "arn:aws:iam::{account}:role/{name}",
    "aws:iam/policy:Policy": "arn:aws:iam::{account}:policy/{name}",
    "aws:iam/instanceProfile:InstanceProfile": "arn:aws:iam::{account}:instance-profile/{name}",
    "aws:s3/bucket:Bucket": "arn:aws:s3:::{name}",
    "aws:kms/key:Key": "arn:aws:kms:{region}:{account}:key/{name}-key-id",
    "aws:sfn/stateMachine:StateMachine": "arn:aws:states:{region}:{account}:stateMachine:{name}",
    "aws:batch/jobQueue:JobQueue": "arn:aws:batch:{region}:{account}:job-queue/{name}",
    "aws:batch/jobDefinition:JobDefinition": "arn:aws:batch:{region}:{account}:job-definition/{name}:1",
    "aws:batch/computeEnvironment:ComputeEnvironment": (
        "arn:aws:batch:{region}:{account}:compute-environment/{name}"
    ),
    "aws:sagemaker/mlflowApp:MlflowApp": "arn:aws:sagemaker:{region}:{account}:mlflow-app/app-{name}",
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": (
        "arn:aws:sagemaker:{region}:{account}:mlflow-tracking-server/{name}"
    ),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": (
        "arn:aws:sagemaker:{region}:{account}:model-package-group/{name}"
    ),
    "aws:sagemaker/model:Model": "arn:aws:sagemaker:{region}:{account}:model/{name}",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": (
        "arn:aws:sagemaker:{region}:{account}:endpoint-config/{name}"
    ),
    "aws:sagemaker/endpoint:Endpoint": "arn:aws:sagemaker:{region}:{account}:endpoint/{name}",
    "aws:ecr/repository:Repository": "arn:aws:ecr:{region}:{account}:repository/{name}",
    "aws:sns/topic:Topic": "arn:aws:sns:{region}:{account}:{name}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
    "aws:cloudwatch/eventRule:EventRule": "arn:aws:events:{region}:{account}:rule/{name}",
    "aws:cloudwatch/logGroup:LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}",
    "aws:ssm/parameter:Parameter": "arn:aws:ssm:{region}:{account}:parameter{name}",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "arn:aws:iam::{account}:oidc-provider/{name}",
}


@dataclass(frozen=True)
class RecordedResource:
    type: str
    name: str
    urn: str
    id: str
    component: str | None  # e.g. "Storage"; None for resources outside any component
    inputs: dict[str, Any]
    refs: dict[str, frozenset[str]] = field(default_factory=dict)  # input -> URNs of resources it points at
    ignore_changes: tuple[str, ...] = ()  # properties `pulumi up` leaves as they are once created
    outputs: dict[str, Any] = field(default_factory=dict)  # what the mocks answered (made-up IDs, ARNs)
    retain_on_delete: bool = False  # `pulumi destroy` leaves it in the account

    @property
    def is_component(self) -> bool:
        return self.type.startswith(f"{TYPE_PREFIX}:")


@dataclass(frozen=True)
class OfflineRun:
    config: AnyConfig
    resources: list[RecordedResource]  # custom resources in creation order (no components, no provider)
    components: list[str]  # component type names, e.g. ["CiIdentity", "Storage"]
    result: StackResult

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]

    def types(self) -> set[str]:
        return {r.type for r in self.resources}


def _service(type_token: str) -> str:
    module = type_token.split(":")[1].split("/")[0]
    return {"cloudwatch": "events" if "Event" in type_token else "cloudwatch", "sfn": "states"}.get(
        module, module
    )


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers like AWS would, with stable fake values, and remembers every registration."""

    def __init__(self) -> None:
        self.registrations: list[tuple[str, str, dict[str, Any], str]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:
            self.registrations.append((args.typ, args.name, _reveal(dict(args.inputs)), args.name))
            return args.name, {
                "name": args.inputs.get("name"),
                "outputs": PLATFORM_OUTPUTS,
                "secretOutputNames": [],
            }
        name = args.inputs.get("name") or args.name
        if args.typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            name = str(args.inputs.get("url", name)).removeprefix("https://")
        physical_id = f"{args.name}-id"
        outputs = dict(args.inputs)
        outputs.setdefault("name", name)
        arn_format = _ARN_FORMATS.get(
            args.typ,
            f"arn:aws:{_service(args.typ)}:{{region}}:{{account}}:{args.typ.split(':')[-1].lower()}/{{name}}",
        )
        outputs.setdefault("arn", arn_format.format(region=REGION, account=ACCOUNT_ID, name=name))
        by_type: dict[str, dict[str, Any]] = {
            "aws:s3/bucket:Bucket": {"bucket": args.name},
            "aws:ecr/repository:Repository": {
                "repository_url": f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/{name}",
                "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/{name}",
            },
            "aws:ec2/launchTemplate:LaunchTemplate": {"latestVersion": 1},
            "aws:ec2/vpcEndpoint:VpcEndpoint": {"prefixListId": f"pl-{args.name}"},
            "aws:kms/key:Key": {"keyId": f"{args.name}-key-id"},
        }
        extra = by_type.get(args.typ, {})
        outputs.update({k: v for k, v in extra.items() if k not in args.inputs})
        self.registrations.append((args.typ, args.name, _reveal(dict(args.inputs)), physical_id))
        return physical_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        answers: dict[str, dict[str, Any]] = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/plan",
                "userId": "plan",
                "id": ACCOUNT_ID,
            },
            "aws:index/getRegion:getRegion": {
                "region": REGION,
                "name": REGION,
                "id": REGION,
                "endpoint": f"ec2.{REGION}.amazonaws.com",
                "description": "",
            },
            "aws:index/getAvailabilityZones:getAvailabilityZones": {
                "names": [f"{REGION}a", f"{REGION}b", f"{REGION}c"],
                "zoneIds": ["use1-az1", "use1-az2", "use1-az4"],
                "id": REGION,
            },
            "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider": {
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{str(args.args.get('url', '')).removeprefix('https://')}",
                "url": args.args.get("url"),
                "id": "existing-provider",
            },
        }
        return answers.get(args.token, {})


def _reveal(value: Any) -> Any:
    """Inputs the provider marks secret arrive wrapped; the plan shows what would be sent."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return _reveal(value.get("value"))
        return {key: _reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_reveal(item) for item in value]
    return value


def _component_of(urn: str) -> str | None:
    """The innermost platform component in the URN's type chain (``...::Parent$Child::name``)."""
    chain = urn.split("::")[2].split("$")[:-1]
    components = [t.removeprefix(f"{TYPE_PREFIX}:") for t in chain if t.startswith(f"{TYPE_PREFIX}:")]
    return components[-1] if components else None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also remembering the resource options the engine would see."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.ignore_changes: dict[str, tuple[str, ...]] = {}
        self.retained: set[str] = set()

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.ignoreChanges:
            self.ignore_changes[response.urn] = tuple(request.ignoreChanges)
        if request.retainOnDelete:
            self.retained.add(response.urn)
        return response


def use_mocks(*, stack: str = "plan") -> tuple[RecordingMocks, RecordingMonitor]:
    """Reset Pulumi's process-wide runtime settings and install fresh recording mocks."""
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi_settings.reset_options(project=PULUMI_PROJECT, stack=stack, preview=False)
    pulumi.runtime.set_mocks(mocks, project=PULUMI_PROJECT, stack=stack, preview=False, monitor=monitor)
    return mocks, monitor


def run_program(
    program: Callable[[], Any], *, stack: str = "plan"
) -> tuple[Any, RecordingMocks, RecordingMonitor]:
    """Run ``program`` to completion under fresh mocks; returns its result, the mocks and the monitor."""
    mocks, monitor = use_mocks(stack=stack)
    outcome: dict[str, Any] = {}

    def body() -> None:
        outcome["result"] = program()

    _sync_await(run_pulumi_func(body))
    return outcome.get("result"), mocks, monitor


def run_offline(config: AnyConfig, *, aws_config: dict[str, Any] | None = None) -> OfflineRun:
    """Build ``config``'s stack under mocks (with the same provider the real program creates)."""

    def program() -> StackResult:
        provider = make_provider(config, aws_config or {"region": REGION})
        return build_stack(config, provider)

    result, mocks, monitor = run_program(program, stack=config.stack_name)
    urns = {}
    for urn in monitor.get_registered_resources():
        type_token = urn.split("::")[2].split("$")[-1]
        urns[(type_token, urn.split("::")[-1])] = urn

    recorded: list[RecordedResource] = []
    by_value: dict[str, str] = {}  # physical ID or ARN -> URN
    for type_token, name, inputs, physical_id in mocks.registrations:
        urn = urns[(type_token, name)]
        state = monitor.resources[urn].state
        own_arn = None if "arn" in inputs else state.get("arn")  # an EventTarget's "arn" is its target's
        for value in (physical_id, own_arn):
            if isinstance(value, str):
                by_value[value] = urn
        recorded.append(
            RecordedResource(
                type_token,
                name,
                urn,
                physical_id,
                _component_of(urn),
                inputs,
                ignore_changes=monitor.ignore_changes.get(urn, ()),
                retain_on_delete=urn in monitor.retained,
                outputs=dict(state),
            )
        )

    def strings(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [s for item in value.values() for s in strings(item)]
        if isinstance(value, list):
            return [s for item in value for s in strings(item)]
        return [value] if isinstance(value, str) else []

    def refs(inputs: dict[str, Any]) -> dict[str, frozenset[str]]:
        """Which resources each input points at (IDs or ARNs anywhere inside it), like the
        property dependencies the engine hands the policy pack."""
        found = {}
        for prop, value in inputs.items():
            hits = frozenset(by_value[v] for v in strings(value) if v in by_value)
            if hits:
                found[prop] = hits
        return found

    resources = [
        RecordedResource(
            r.type,
            r.name,
            r.urn,
            r.id,
            r.component,
            r.inputs,
            refs(r.inputs),
            r.ignore_changes,
            r.outputs,
            r.retain_on_delete,
        )
        for r in recorded
        if not r.is_component and not r.type.startswith("pulumi:")
    ]
    built = {r.type.removeprefix(f"{TYPE_PREFIX}:") for r in recorded if r.is_component}
    # Registration order depends on RPC timing; report components in build order instead.
    in_order = ["".join(part.capitalize() for part in name.split("_")) for name in config.components]
    components = [name for name in in_order if name in built] + sorted(built - set(in_order))
    return OfflineRun(config=config, resources=resources, components=components, result=result)
