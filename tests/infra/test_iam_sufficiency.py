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

from .iam.calls import calls_at, principals
from .iam.evaluate import Decision, node_ready, policy_actions, requests_for, simulate
from .iam.principals import roles
from .offline_runs import LEVELS, SERVING_IMAGE, offline, platform

pytestmark = pytest.mark.skipif(node_ready() is not None, reason=node_ready() or "")

# (settings of the stack, MLflow mode, endpoint type): dev (PyTorch, serverless endpoint, MLflow
# App), scikit-learn, prod (endpoint on instances), and the MLflow tracking server.
VARIANTS = {
    "dev": ({"servingImage": SERVING_IMAGE}, "app", "serverless"),
    # scikit-learn: training on Fargate CPUs (its execution role), tuning array jobs
    "sklearn": ({"servingImage": SERVING_IMAGE, "framework": "sklearn"}, "app", "serverless"),
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
    framework = getattr(run.config, "framework", None)
    expected_principals = {
        c.principal for c in calls_at(level, mlflow=mlflow, serving=serving, framework=framework)
    }
    evaluated = {d.request.what.split(":")[0] for d in decisions}
    assert {p for p in expected_principals if principals()[p].evaluated} <= evaluated


def _used(run: Any, level: int, mlflow: str = "app", serving: str = "serverless") -> dict[str, set[str]]:
    """The actions each principal's evaluated calls at ``level`` make (with the KMS calls S3 makes for it)."""
    used: dict[str, set[str]] = {}
    for request in requests_for(run, level, mlflow=mlflow, serving=serving):
        used.setdefault(request.what.split(":")[0], set()).add(request.action)
    return used


def _granted(role: Any) -> set[str]:
    """Every action an Allow statement of the role's identity policies names."""
    return {
        action
        for document in role.identity
        for statement in policy_statements(document["policy"]) or []
        if statement["Effect"] == "Allow"
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("level", LEVELS)
def test_no_role_may_do_more_than_its_calls(level: int, variant: str) -> None:
    """Least privilege at every level: a level's stack builds a role only for a principal that makes
    calls at that level, and every action the role's policies allow is one of those calls. A stack
    that grants a right before the level whose generated code or CI uses it fails here (the
    level-1 deploy role could push to a training repository that only level 2's CI fills)."""
    settings, mlflow, serving = VARIANTS[variant]
    run = offline(level, **settings)
    used = _used(run, level, mlflow, serving)
    for name, role in roles(run).items():
        assert used.get(name), f"level {level} builds the {name} role, but no call of that level uses it"
        granted = _granted(role)
        if mlflow == "app":  # granted on the app as AWS's setup page asks; evaluated as CallMlflowAppApi
            granted = {a for a in granted if not a.startswith("sagemaker-mlflow:")}
        assert granted <= used[name], f"level {level}: {name} may also {sorted(granted - used[name])}"


@pytest.mark.parametrize("level", LEVELS)
def test_every_image_repository_is_filled_at_its_level(level: int) -> None:
    """A repository is built at the level whose listed calls push to it (the generated CI's
    image jobs), not before: an empty repository is a name and a grant that nothing uses."""
    run = offline(level, servingImage=SERVING_IMAGE)
    pushed = {r.resource for r in requests_for(run, level) if r.action == "ecr:PutImage"}
    repositories = {r.outputs["arn"] for r in run.of_type("aws:ecr/repository:Repository")}
    assert repositories <= pushed, f"level {level}: nothing pushes to {sorted(repositories - pushed)}"


def test_the_platform_names_only_actions_aws_knows() -> None:
    _, unknown = simulate([], policy_actions(platform()))
    assert unknown == []


def test_every_role_of_a_stack_is_a_principal_of_the_call_list() -> None:
    """A new role without calls in calls.yaml would go unchecked."""
    built = set(roles(offline(4, servingImage=SERVING_IMAGE)))
    built |= set(roles(offline(4, servingImage=SERVING_IMAGE, framework="sklearn")))
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
