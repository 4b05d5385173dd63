"""Evaluate the calls of calls.yaml against a stack's policies with @cloud-copilot/iam-simulate.

``requests_for(run, level)`` turns every call of the principals the stack builds into simulator
requests (principal, action, resource, identity policies, the bucket or key policy, the request
context), adds the KMS calls S3 makes for the caller on SSE-KMS buckets, and the AssumeRole of
each service role by its service (for this account: allowed; for another one: refused).
``simulate`` runs them all in one Node process and answers each request's decision.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_stacks.offline import ACCOUNT_ID, OfflineRun

from .calls import Call, calls_at, fill, principals
from .principals import RolePolicies, kms_key_of_bucket, resource_policy, roles, stack_values

HERE = Path(__file__).parent
OTHER_ACCOUNT = "999999999999"


@dataclass(frozen=True)
class Request:
    id: str
    what: str  # for messages: principal, call and resource
    principal: str
    action: str
    resource: str
    identity: list[dict[str, Any]]
    resource_policy: dict[str, Any] | None = None
    context: dict[str, Any] = field(default_factory=dict)
    expect: str = "Allowed"  # "Allowed", or "Denied" for requests that must be refused

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "principal": self.principal,
            "action": self.action,
            "resource": self.resource,
            "account": ACCOUNT_ID,
            "identityPolicies": self.identity,
            "resourcePolicy": self.resource_policy,
            "context": self.context,
        }


PolicyEdit = Callable[[str, list[dict[str, Any]]], list[dict[str, Any]]]


def _iam_action(call: Call, mlflow: str) -> str:
    if call.action.startswith("sagemaker-mlflow:") and mlflow == "app":
        return "sagemaker:CallMlflowAppApi"  # an MLflow App authorises its data plane with this action
    return call.action


def requests_for(
    run: OfflineRun,
    level: int,
    *,
    mlflow: str = "app",
    serving: str = "serverless",
    edit: PolicyEdit | None = None,
) -> list[Request]:
    """Every request the principals of ``run`` make at ``level``; ``edit`` may change a
    principal's identity policies first (the mutation test removes a permission)."""
    built = roles(run)
    values = stack_values(run)
    found: list[Request] = []
    framework = getattr(run.config, "framework", None)
    for call in calls_at(level, mlflow=mlflow, serving=serving, framework=framework):
        if not principals()[call.principal].evaluated:
            continue
        role: RolePolicies | None = built.get(call.principal)
        if role is None:
            raise AssertionError(
                f"the stack has no role for {call.principal}, which makes {call.action} at level {level}"
            )
        identity = edit(call.principal, copy.deepcopy(role.identity)) if edit else role.identity
        context = {"aws:SecureTransport": "true"} | {k: fill(str(v), values) for k, v in call.context.items()}
        for template in call.resources:
            resource = fill(template, values)
            action = _iam_action(call, mlflow)
            what = f"{call.principal}: {action} on {resource} ({call.where})"
            found.append(
                Request(
                    f"r{len(found)}",
                    what,
                    role.role_arn,
                    action,
                    resource,
                    identity,
                    resource_policy(run, resource),
                    context,
                )
            )
            found += _kms_for_s3(run, found, role.role_arn, action, resource, identity, what)
    for name, role in built.items():
        found += _assume(run, name, role, values)
    return found


def _kms_for_s3(
    run: OfflineRun,
    found: list[Request],
    principal: str,
    action: str,
    resource: str,
    identity: list[Any],
    what: str,
) -> list[Request]:
    """S3 calls the KMS key of an SSE-KMS bucket for the caller: GenerateDataKey to write,
    Decrypt to read (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html)."""
    kms_action = {"s3:PutObject": "kms:GenerateDataKey", "s3:GetObject": "kms:Decrypt"}.get(action)
    if kms_action is None:
        return []
    key = kms_key_of_bucket(run, resource.removeprefix("arn:aws:s3:::").split("/", 1)[0])
    if key is None:
        return []
    context = {"kms:ViaService": "s3.us-east-1.amazonaws.com", "aws:SecureTransport": "true"}
    return [
        Request(
            f"r{len(found)}",
            f"{what} -> {kms_action} on its bucket key",
            principal,
            kms_action,
            key,
            identity,
            resource_policy(run, key),
            context,
        )
    ]


def _assume(run: OfflineRun, name: str, role: RolePolicies, values: dict[str, str]) -> list[Request]:
    """The role's service may assume it for this account's resources, and not for another account's."""
    spec = principals()[name].assumed_by if name in principals() else {}
    service = spec.get("service")
    if not service:
        return []
    source_arn = fill(spec["source_arn"], values)
    own = {"aws:SourceAccount": ACCOUNT_ID, "aws:SourceArn": source_arn}
    other = {
        "aws:SourceAccount": OTHER_ACCOUNT,
        "aws:SourceArn": source_arn.replace(ACCOUNT_ID, OTHER_ACCOUNT),
    }
    return [
        Request(
            f"trust-{name}",
            f"{service} assumes the {name} role",
            service,
            "sts:AssumeRole",
            role.role_arn,
            [],
            role.trust,
            own,
        ),
        Request(
            f"trust-{name}-other-account",
            f"{service} acting for account {OTHER_ACCOUNT} assumes the {name} role",
            service,
            "sts:AssumeRole",
            role.role_arn,
            [],
            role.trust,
            other,
            expect="Denied",
        ),
    ]


def policy_actions(run: OfflineRun) -> set[str]:
    """Every action named in an Allow statement of an IAM, key or bucket policy of the stack."""
    found: set[str] = set()
    for resource in run.resources:
        for key in ("policy", "assumeRolePolicy"):
            document = resource.inputs.get(key)
            if not isinstance(document, str) or not document.startswith("{"):
                continue
            try:
                statements = json.loads(document).get("Statement", [])
            except ValueError:
                continue
            for statement in statements if isinstance(statements, list) else [statements]:
                actions = statement.get("Action", [])
                found.update([actions] if isinstance(actions, str) else actions)
    return found


@dataclass(frozen=True)
class Decision:
    request: Request
    result: str  # Allowed | ExplicitlyDenied | ImplicitlyDenied | Error
    errors: Any = None

    @property
    def as_expected(self) -> bool:
        if self.request.expect == "Allowed":
            return self.result == "Allowed"
        return self.result in ("ImplicitlyDenied", "ExplicitlyDenied")


def node_ready() -> str | None:
    """Why the simulator cannot run here (None when it can)."""
    if shutil.which("node") is None:
        return "Node.js is not installed (the IAM simulator is an npm package)"
    if not (HERE / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        return "the simulator is not installed: run `make iam-sim` (npm ci --prefix tests/infra/iam)"
    return None


def _node(payload: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(HERE / "simulate.mjs")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the IAM simulator failed:\n{done.stderr}")
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def simulate(requests: list[Request], actions: set[str] = frozenset()) -> tuple[list[Decision], list[str]]:  # type: ignore[assignment]
    """Decisions for ``requests``, and which of ``actions`` AWS does not know."""
    answer = _node({"requests": [r.to_json() for r in requests], "actions": sorted(actions)})
    by_id = {r.id: r for r in requests}
    decisions = [
        Decision(by_id[item["id"]], item["result"], item.get("errors")) for item in answer["results"]
    ]
    return decisions, list(answer["unknownActions"])


def resource_types(actions: set[str]) -> dict[str, dict[str, bool]]:
    """Each known action's resource types in AWS's Service Authorization Reference (the data the
    simulator decides with), as {type: required}; an empty mapping: the action has none, so a
    policy can grant it on "*" only. Unknown actions are left out."""
    answer = _node({"resourceTypesOf": sorted(actions)})
    return {
        action: {t["name"]: bool(t["required"]) for t in types}
        for action, types in answer["resourceTypes"].items()
    }
