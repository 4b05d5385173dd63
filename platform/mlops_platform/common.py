"""What every component shares: the deployment scope, IAM documents and SSM publishing."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_platform.components import get_component
from mlops_platform.errors import InvalidArgsError
from mlops_platform.naming import check_identifier
from mlops_scaffold.contract import parameter_path

TYPE_PREFIX = "mlops:platform"


@dataclass(frozen=True)
class Scope:
    """Where a component is deployed: the project, environment and AWS account and region."""

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


def require(
    condition: bool, *, component: str, field: str, value: object, reason: str, fix: str = ""
) -> None:
    if not condition:
        raise InvalidArgsError(component=component, field=field, value=value, reason=reason, fix=fix)


def statement(
    actions: Sequence[str],
    resources: Sequence[Any],
    *,
    effect: str = "Allow",
    condition: Mapping[str, Any] | None = None,
    sid: str | None = None,
) -> dict[str, Any]:
    """One IAM statement; resources may be Outputs."""
    result: dict[str, Any] = {"Effect": effect, "Action": list(actions), "Resource": list(resources)}
    if sid:
        result["Sid"] = sid
    if condition:
        result["Condition"] = dict(condition)
    return result


def policy_document(*statements: dict[str, Any]) -> pulumi.Output[str]:
    """An IAM policy document as JSON; Outputs inside the statements are resolved first."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def service_trust_policy(service: str) -> str:
    """Trust policy letting one AWS service (e.g. 'sagemaker.amazonaws.com') assume a role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def kms_use_statement(key_arn: pulumi.Input[str]) -> dict[str, Any]:
    return statement(["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], [key_arn])


def publish_parameters(
    parent: pulumi.ComponentResource,
    *,
    component: str,
    name: str,
    scope: Scope,
    values: Mapping[str, pulumi.Input[str]],
) -> dict[str, aws.ssm.Parameter]:
    """Publish ``values`` as SSM String parameters under /mlops/{project}/{env}/.

    The names must be exactly those the component spec says it publishes, which are names of the
    SSM contract (templates/project/contract.yml): a mismatch is a programming error.
    """
    expected = set(get_component(component).publishes)
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
