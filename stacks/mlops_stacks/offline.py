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
from mlops_stacks.config import StackConfig
from mlops_stacks.program import StackResult, build_stack, make_provider

PULUMI_PROJECT = "mlops-platform"
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


@dataclass(frozen=True)
class RecordedResource:
    type: str
    name: str
    urn: str
    id: str
    component: str | None  # e.g. "Storage"; None for resources outside any component
    inputs: dict[str, Any]
    refs: dict[str, frozenset[str]] = field(default_factory=dict)  # input -> URNs of resources it points at

    @property
    def is_component(self) -> bool:
        return self.type.startswith(f"{TYPE_PREFIX}:")


@dataclass(frozen=True)
class OfflineRun:
    config: StackConfig
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
        name = args.inputs.get("name") or args.name
        physical_id = f"{args.name}-id"
        outputs = dict(args.inputs)
        outputs.setdefault("name", name)
        outputs.setdefault(
            "arn",
            f"arn:aws:{_service(args.typ)}:{REGION}:{ACCOUNT_ID}:{args.typ.split(':')[-1].lower()}/{name}",
        )
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


def use_mocks(*, stack: str = "plan") -> tuple[RecordingMocks, pulumi_mocks.MockMonitor]:
    """Reset Pulumi's process-wide runtime settings and install fresh recording mocks."""
    mocks = RecordingMocks()
    monitor = pulumi_mocks.MockMonitor(mocks)
    pulumi_settings.reset_options(project=PULUMI_PROJECT, stack=stack, preview=False)
    pulumi.runtime.set_mocks(mocks, project=PULUMI_PROJECT, stack=stack, preview=False, monitor=monitor)
    return mocks, monitor


def run_program(
    program: Callable[[], Any], *, stack: str = "plan"
) -> tuple[Any, RecordingMocks, pulumi_mocks.MockMonitor]:
    """Run ``program`` to completion under fresh mocks; returns its result, the mocks and the monitor."""
    mocks, monitor = use_mocks(stack=stack)
    outcome: dict[str, Any] = {}

    def body() -> None:
        outcome["result"] = program()

    _sync_await(run_pulumi_func(body))
    return outcome.get("result"), mocks, monitor


def run_offline(config: StackConfig, *, aws_config: dict[str, Any] | None = None) -> OfflineRun:
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
        recorded.append(RecordedResource(type_token, name, urn, physical_id, _component_of(urn), inputs))

    def refs(inputs: dict[str, Any]) -> dict[str, frozenset[str]]:
        found = {}
        for prop, value in inputs.items():
            values = value if isinstance(value, list) else [value]
            hits = frozenset(by_value[v] for v in values if isinstance(v, str) and v in by_value)
            if hits:
                found[prop] = hits
        return found

    resources = [
        RecordedResource(r.type, r.name, r.urn, r.id, r.component, r.inputs, refs(r.inputs))
        for r in recorded
        if not r.is_component and not r.type.startswith("pulumi:providers:")
    ]
    built = {r.type.removeprefix(f"{TYPE_PREFIX}:") for r in recorded if r.is_component}
    # Registration order depends on RPC timing; report components in build order instead.
    in_order = ["".join(part.capitalize() for part in name.split("_")) for name in config.components]
    components = [name for name in in_order if name in built] + sorted(built - set(in_order))
    return OfflineRun(config=config, resources=resources, components=components, result=result)
