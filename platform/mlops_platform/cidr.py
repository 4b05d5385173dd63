"""Subnet planning for the VPC (pure, like pulumi-awsx's subnet planner)."""

from __future__ import annotations

import ipaddress

from mlops_platform.errors import InvalidArgsError


def plan_subnets(vpc_cidr: str, *, az_count: int, subnet_prefix: int = 20) -> list[str]:
    """One private subnet CIDR per availability zone, carved from the start of ``vpc_cidr``."""
    try:
        network = ipaddress.IPv4Network(vpc_cidr, strict=True)
    except ValueError as error:
        raise InvalidArgsError(
            component="NetworkArgs",
            field="vpc_cidr",
            value=vpc_cidr,
            reason=str(error),
            fix="Give an IPv4 network such as 10.42.0.0/16.",
        ) from None
    if not 16 <= network.prefixlen <= 24:
        raise InvalidArgsError(
            component="NetworkArgs",
            field="vpc_cidr",
            value=vpc_cidr,
            reason="AWS accepts VPC sizes from /16 to /28 and we need room for one subnet per zone",
            fix="Use a /16 to /24 network.",
        )
    if not 1 <= az_count <= 6:
        raise InvalidArgsError(
            component="NetworkArgs", field="az_count", value=az_count, reason="use 1 to 6 availability zones"
        )
    if not network.prefixlen < subnet_prefix <= 28:
        raise InvalidArgsError(
            component="NetworkArgs",
            field="subnet_prefix",
            value=subnet_prefix,
            reason=f"a subnet must be smaller than the VPC (/{network.prefixlen}) and at least a /28",
        )
    available = 2 ** (subnet_prefix - network.prefixlen)
    if az_count > available:
        raise InvalidArgsError(
            component="NetworkArgs",
            field="az_count",
            value=az_count,
            reason=f"{vpc_cidr} holds only {available} subnets of /{subnet_prefix}",
            fix="Use a larger VPC or a smaller subnet_prefix.",
        )
    subnets = network.subnets(new_prefix=subnet_prefix)
    return [str(next(subnets)) for _ in range(az_count)]
