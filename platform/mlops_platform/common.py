"""What every component shares: the deployment scope, argument checks, IAM documents, service
roles and SSM publishing."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_core.contract import parameter_path
from mlops_platform.components import published_by
from mlops_platform.errors import InvalidArgsError
from mlops_platform.naming import check_identifier

TYPE_PREFIX = "mlops:platform"
# Tag naming the runtime principal a role stands for (the IAM sufficiency tests look roles up by it).
PRINCIPAL_TAG = "mlops:principal"
# Tag recording a documented exception to a policy rule: key + rule name, value = the reason.
EXCEPTION_TAG = "mlops:policy-exception:"


@dataclass(frozen=True)
class Scope:
    """Where a component is deployed: the project (or "platform"), environment, account and region."""

    project: str
    env: str
    account_id: pulumi.Input[str]
    region: pulumi.Input[str]
    partition: str = "aws"

    def __post_init__(self) -> None:
        check_identifier(self.project, component="Scope", field="project")
        check_identifier(self.env, component="Scope", field="env")

    def arn(
        self, service: str, resource: str, *, region: bool = True, account: bool = True
    ) -> pulumi.Output[str]:
        """``arn:{partition}:{service}:{region}:{account}:{resource}``."""
        return pulumi.Output.concat(
            "arn:",
            self.partition,
            ":",
            service,
            ":",
            self.region if region else "",
            ":",
            self.account_id if account else "",
            ":",
            resource,
        )

    @property
    def parameter_prefix(self) -> str:
        """The SSM path every parameter of this project and environment lives under."""
        return parameter_path(project=self.project, env=self.env, name="data-bucket").rsplit("/", 1)[0]

    def contract_read_statement(self) -> dict[str, Any]:
        """Read the project's SSM contract, as the project's settings.resolve does: one
        GetParametersByPath, authorised on the path (``parameter/mlops/p/e``, or with the trailing
        slash the project passes)."""
        return statement(
            ["ssm:GetParametersByPath"],
            [
                self.arn("ssm", f"parameter{self.parameter_prefix}"),
                self.arn("ssm", f"parameter{self.parameter_prefix}/*"),
            ],
            sid="ReadContract",
        )


# ---- argument checks ----------------------------------------------------------------------------

Check = tuple[Callable[[Any], bool], str] | tuple[Callable[[Any], bool], str, str]


def check_fields(args: object, checks: Mapping[str, Check]) -> None:
    """Validate ``args`` (a component's Args dataclass) field by field.

    ``checks`` maps a field name to ``(predicate, reason)`` or ``(predicate, reason, fix)``; the
    first field whose value fails its predicate raises InvalidArgsError naming the field.
    """
    for field, (predicate, reason, *fix) in checks.items():
        value = getattr(args, field)
        if not predicate(value):
            raise InvalidArgsError(
                component=type(args).__name__,
                field=field,
                value=value,
                reason=reason,
                fix=fix[0] if fix else "",
            )


def require(
    condition: bool, *, component: str, field: str, value: object, reason: str, fix: str = ""
) -> None:
    """One ad-hoc check (for checks that involve several fields)."""
    if not condition:
        raise InvalidArgsError(component=component, field=field, value=value, reason=reason, fix=fix)


def exception_tag(rule: str, reason: str) -> dict[str, str]:
    """Tags recording a documented exception to policy rule ``rule`` (listed in docs/infrastructure.md).

    Tag values allow letters, digits, spaces and ``_ . : / = + - @`` only.
    """
    return {f"{EXCEPTION_TAG}{rule}": reason}


# ---- IAM documents ------------------------------------------------------------------------------


def statement(
    actions: Sequence[str],
    resources: Sequence[Any] | pulumi.Output[Any],
    *,
    effect: str = "Allow",
    condition: Mapping[str, Any] | None = None,
    sid: str | None = None,
) -> dict[str, Any]:
    """One IAM statement; resources may be Outputs (or one Output of the whole list)."""
    listed = resources if isinstance(resources, pulumi.Output) else list(resources)
    result: dict[str, Any] = {"Effect": effect, "Action": list(actions), "Resource": listed}
    if sid:
        result["Sid"] = sid
    if condition:
        result["Condition"] = dict(condition)
    return result


def policy_document(*statements: dict[str, Any]) -> pulumi.Output[str]:
    """An IAM policy document as JSON; Outputs inside the statements are resolved first."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def source_conditions(account_id: pulumi.Input[str], source_arn: pulumi.Input[str] | None) -> dict[str, Any]:
    """``aws:SourceAccount`` (and ``aws:SourceArn``) conditions against the confused-deputy problem.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
    """
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account_id}}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    return condition


def service_trust_policy(
    service: str, *, account_id: pulumi.Input[str] | None, source_arn: pulumi.Input[str] | None = None
) -> pulumi.Output[str]:
    """Trust policy letting one AWS service assume a role, for this account (and source) only.

    ``account_id=None`` leaves the conditions out: only for services that do not set
    aws:SourceAccount when they assume a role (EC2 instance profiles), a documented exception.
    """
    trust: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if account_id is not None:
        trust["Condition"] = source_conditions(account_id, source_arn)
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [trust]})


def kms_use_statement(key_arn: pulumi.Input[str], *, write: bool = True) -> dict[str, Any]:
    """What S3 calls the project key for on the caller's behalf (SSE-KMS): GenerateDataKey to
    write, Decrypt to read (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html);
    ``write=False`` for a caller that only reads."""
    actions = ["kms:Decrypt", "kms:GenerateDataKey"] if write else ["kms:Decrypt"]
    return statement(actions, [key_arn], sid="UseProjectKey")


@dataclass(frozen=True)
class ServiceRole:
    role: aws.iam.Role
    policy: aws.iam.RolePolicy  # depend on it, not only on the role, before the service uses the role


def service_role(
    parent: pulumi.ComponentResource,
    name: str,
    *,
    scope: Scope,
    service: str,
    principal: str,
    description: str,
    statements: Sequence[dict[str, Any]],
    source_arn: pulumi.Input[str] | None = None,
    confused_deputy_conditions: bool = True,
    tags: Mapping[str, str] | None = None,
) -> ServiceRole:
    """A role that ``service`` assumes for this account only, with one inline policy.

    ``principal`` names the runtime principal (tag ``mlops:principal``) so the IAM sufficiency
    tests can evaluate the calls that principal makes against exactly this role's policies.
    """
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        f"{name}-role",
        assume_role_policy=service_trust_policy(
            service,
            account_id=scope.account_id if confused_deputy_conditions else None,
            source_arn=source_arn,
        ),
        description=description,
        max_session_duration=3600,
        tags={PRINCIPAL_TAG: principal, **(tags or {})},
        opts=child,
    )
    policy = aws.iam.RolePolicy(
        f"{name}-policy", role=role.id, policy=policy_document(*statements), opts=child
    )
    return ServiceRole(role, policy)


def publish_parameters(
    parent: pulumi.ComponentResource,
    *,
    component: str,
    name: str,
    scope: Scope,
    values: Mapping[str, pulumi.Input[str]],
    framework: str | None = None,
) -> dict[str, aws.ssm.Parameter]:
    """Publish ``values`` as SSM String parameters under /mlops/{project}/{env}/.

    The names must be exactly those the component spec says it publishes for a project of
    ``framework``, which are names of the SSM contract (templates/project/contract.yml): a mismatch
    is a programming error.
    """
    expected = set(published_by(component, framework))
    if set(values) != expected:
        raise RuntimeError(f"{component} must publish {sorted(expected)}, not {sorted(values)}")
    return {
        key: aws.ssm.Parameter(
            f"{name}-param-{key}",
            name=parameter_path(project=scope.project, env=scope.env, name=key),
            type="String",
            insecure_value=value,  # names and ARNs, not secrets: keep them readable in diffs
            description=f"mlops-scaffold {component}: {key}",
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for key, value in values.items()
    }
