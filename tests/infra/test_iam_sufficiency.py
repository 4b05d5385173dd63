"""IAM sufficiency: every runtime principal may make exactly the AWS calls the generated project
makes, at every level, as a maintained IAM evaluator (@cloud-copilot/iam-simulate, on AWS's own
service reference) decides from the policies the stack writes.

The calls come from tests/infra/iam/calls.yaml (recorded from generated projects, or named with
the code or AWS page that makes them); the decisions come from the simulator, which evaluates
identity policies, bucket and key policies and their conditions. A mutation test proves the tier
fails when a permission is missing. Needs Node.js and `make iam-sim` (npm ci in tests/infra/iam).
"""

from __future__ import annotations

from typing import Any

import pytest

from mlops_platform.policy.rules import policy_statements

from .iam.calls import principals
from .iam.evaluate import Decision, node_ready, policy_actions, requests_for, simulate
from .iam.principals import roles
from .offline_runs import LEVELS, SERVING_IMAGE, offline, platform

pytestmark = pytest.mark.skipif(node_ready() is not None, reason=node_ready() or "")

# (settings of the stack, MLflow mode, endpoint type): dev (serverless endpoint, MLflow App),
# prod (endpoint on instances), and the MLflow tracking server.
VARIANTS = {
    "dev": ({"servingImage": SERVING_IMAGE}, "app", "serverless"),
    "prod": ({"servingImage": SERVING_IMAGE, "env": "prod"}, "app", "provisioned"),
    "mlflow-server": ({"servingImage": SERVING_IMAGE, "mlflow": "server"}, "server", "serverless"),
}


def _failures(decisions: list[Decision]) -> list[str]:
    return [
        f"{d.request.what}: {d.result} (expected {d.request.expect})" + (f" {d.errors}" if d.errors else "")
        for d in decisions
        if not d.as_expected
    ]


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("level", LEVELS)
def test_every_principal_may_make_every_call_and_nothing_is_denied(level: int, variant: str) -> None:
    settings, mlflow, serving = VARIANTS[variant]
    run = offline(level, **settings)
    requests = requests_for(run, level, mlflow=mlflow, serving=serving)
    decisions, unknown = simulate(requests, policy_actions(run))
    assert unknown == [], f"actions AWS does not know: {unknown}"
    assert _failures(decisions) == []
    expected_principals = {c.principal for c in principals().values() for c in c.calls if c.level <= level}
    evaluated = {d.request.what.split(":")[0] for d in decisions}
    assert {p for p in expected_principals if principals()[p].evaluated} <= evaluated


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_no_role_may_do_more_than_its_calls(variant: str) -> None:
    """Least privilege: every action a role's policies allow is one of its evaluated calls
    (including the KMS calls S3 makes for it), at level 4 where every role exists."""
    settings, mlflow, serving = VARIANTS[variant]
    run = offline(4, **settings)
    used: dict[str, set[str]] = {}
    for request in requests_for(run, 4, mlflow=mlflow, serving=serving):
        used.setdefault(request.what.split(":")[0], set()).add(request.action)
    for name, role in roles(run).items():
        granted = {
            action
            for document in role.identity
            for statement in policy_statements(document["policy"]) or []
            if statement["Effect"] == "Allow"
            for action in (
                [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            )
        }
        if mlflow == "app":  # granted on the app as AWS's setup page asks; evaluated as CallMlflowAppApi
            granted = {a for a in granted if not a.startswith("sagemaker-mlflow:")}
        assert granted <= used.get(name, set()), f"{name} may also {sorted(granted - used.get(name, set()))}"


def test_the_platform_names_only_actions_aws_knows() -> None:
    _, unknown = simulate([], policy_actions(platform()))
    assert unknown == []


def test_every_role_of_a_stack_is_a_principal_of_the_call_list() -> None:
    """A new role without calls in calls.yaml would go unchecked."""
    built = set(roles(offline(4, servingImage=SERVING_IMAGE)))
    assert built <= set(principals()), f"roles without a call list: {built - set(principals())}"


def _without(action: str, principal: str) -> Any:
    def edit(name: str, identity: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if name != principal:
            return identity
        for document in identity:
            for statement in policy_statements(document["policy"]) or []:
                actions = statement["Action"]
                statement["Action"] = [
                    a for a in ([actions] if isinstance(actions, str) else actions) if a != action
                ]
        return identity

    return edit


@pytest.mark.parametrize(
    ("principal", "action", "denied"),
    [
        ("ci-deploy", "iam:PassRole", "iam:PassRole"),
        ("ci-deploy", "sagemaker:UpdateEndpoint", "sagemaker:UpdateEndpoint"),
        ("ci-deploy", "ecr:DescribeImages", "ecr:DescribeImages"),  # CI's push-if-absent check
        ("training-job", "s3:PutObject", "s3:PutObject"),
        ("drift-job", "cloudwatch:PutMetricData", "cloudwatch:PutMetricData"),
        ("training-job", "kms:GenerateDataKey", "kms:GenerateDataKey"),
        ("pipeline", "batch:SubmitJob", "batch:SubmitJob"),
    ],
)
def test_the_tier_fails_when_a_permission_is_removed(principal: str, action: str, denied: str) -> None:
    run = offline(4, servingImage=SERVING_IMAGE)
    decisions, _ = simulate(requests_for(run, 4, edit=_without(action, principal)))
    failures = _failures(decisions)
    assert failures, f"removing {action} from {principal} went unnoticed"
    assert all(f.startswith(f"{principal}:") and denied in f for f in failures), failures


def test_service_roles_refuse_to_act_for_another_account() -> None:
    run = offline(4, servingImage=SERVING_IMAGE)
    decisions, _ = simulate(requests_for(run, 4))
    refusals = [d for d in decisions if d.request.expect == "Denied"]
    assert len(refusals) >= 8 and all(d.as_expected for d in refusals)
