"""What a project stack reads from its environment's platform: a StackReference to
``platform-<env>``, or plain IDs from the stack config for teams whose platform Pulumi does not
manage (``mlops:vpcId``, ``mlops:subnetIds``, ``mlops:securityGroupId``, ``mlops:oidcProviderArn``,
``mlops:accessLogBucket``).

Only the outputs the project's components need are read (``components.platform_needs``); a
stack without components (levels 0 and 1) reads no platform at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from mlops_platform.components import platform_needs
from mlops_stacks.config import StackConfig


@dataclass(frozen=True)
class PlatformOutputs:
    source: str  # "stack:<name>" or "config"
    vpc_id: Any = None
    subnet_ids: Any = None
    security_group_id: Any = None
    oidc_provider_arn: Any = None
    access_log_bucket: Any = None
    egress: Any = None  # the platform VPC's egress ("endpoints" | "nat"); None when not known


def stack_reference_name(config: StackConfig) -> str:
    """``<organization>/<pulumi project>/<platform stack>`` (a name with '/' is taken as given)."""
    name = config.platform_reference
    if "/" in name:
        return name
    # DIY state backends (files, S3) call every organization "organization".
    return f"{pulumi.get_organization() or 'organization'}/{pulumi.get_project()}/{name}"


def platform_outputs(config: StackConfig) -> PlatformOutputs:
    needs = platform_needs(config.components)
    if config.uses_platform_ids:
        ids = config.required_platform_ids()
        return PlatformOutputs(
            source="config",
            vpc_id=ids.get("vpcId"),
            subnet_ids=list(ids["subnetIds"]) if "subnetIds" in ids else None,
            security_group_id=ids.get("securityGroupId"),
            oidc_provider_arn=ids.get("oidcProviderArn"),
            access_log_bucket=ids.get("accessLogBucket"),
        )
    if not needs:
        return PlatformOutputs(source="none")
    name = stack_reference_name(config)
    ref = pulumi.StackReference(f"platform-{config.env}", stack_name=name)
    values: dict[str, Any] = {}
    if "network" in needs:
        values |= {
            "vpc_id": ref.require_output("vpc_id"),
            "subnet_ids": ref.require_output("private_subnet_ids"),
            "security_group_id": ref.require_output("workload_security_group_id"),
            "egress": ref.get_output("egress"),
        }
    if "oidc" in needs:
        values["oidc_provider_arn"] = ref.require_output(f"{config.ci_vendor}_oidc_provider_arn")
    if "access_logs" in needs:
        values["access_log_bucket"] = ref.require_output("access_log_bucket")
    return PlatformOutputs(source=f"stack:{name}", **values)
