"""Network: a VPC with private subnets only, gateway and interface endpoints, no public ingress.

Nothing here has a route to the internet: training hosts and endpoints reach S3 and DynamoDB
through gateway endpoints and the other AWS APIs they need through interface endpoints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform.cidr import plan_subnets
from mlops_platform.common import TYPE_PREFIX, Scope, require

# What AWS Batch GPU hosts (ECS agent, image pulls, logs) and the training code (SSM parameters,
# SageMaker MLflow) call. A plain suffix means com.amazonaws.{region}.{suffix}; a name with
# "{region}" in it is used as given. Each costs about $0.01 an hour per zone.
DEFAULT_INTERFACE_ENDPOINTS = (
    "ecr.api",
    "ecr.dkr",
    "ecs",
    "ecs-agent",
    "ecs-telemetry",
    "logs",
    "ssm",
    "sagemaker.api",
    "aws.sagemaker.{region}.experiments",  # SageMaker managed MLflow
)


def endpoint_service_name(service: str, region: str) -> str:
    """The VPC endpoint service name for an entry of ``interface_endpoints``."""
    return service.format(region=region) if "{region}" in service else f"com.amazonaws.{region}.{service}"


def _zone_picker(index: int) -> Callable[[list[str]], str]:
    return lambda names: names[index % len(names)]


def _service_namer(service: str) -> Callable[[str], str]:
    return lambda region: endpoint_service_name(service, region)


@dataclass(frozen=True)
class NetworkArgs:
    scope: Scope
    vpc_cidr: str = "10.42.0.0/16"
    az_count: int = 2
    subnet_prefix: int = 20
    interface_endpoints: Sequence[str] = DEFAULT_INTERFACE_ENDPOINTS

    def __post_init__(self) -> None:
        # plan_subnets validates vpc_cidr, az_count and subnet_prefix and names the bad field.
        plan_subnets(self.vpc_cidr, az_count=self.az_count, subnet_prefix=self.subnet_prefix)
        for service in self.interface_endpoints:
            require(
                bool(re.fullmatch(r"[a-z0-9{}.-]+", service)),
                component="NetworkArgs",
                field="interface_endpoints",
                value=service,
                reason="not a VPC endpoint service name",
                fix="Use suffixes such as 'ecr.api' or 'logs', or a full name with '{region}' in it.",
            )


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    workload_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        region = pulumi.Output.from_input(args.scope.region)

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            opts=child,
        )
        zones = aws.get_availability_zones_output(
            state="available", opts=pulumi.InvokeOutputOptions(parent=self)
        )
        route_table = aws.ec2.RouteTable(f"{name}-private-rt", vpc_id=vpc.id, opts=child)
        subnets = []
        for index, cidr in enumerate(
            plan_subnets(args.vpc_cidr, az_count=args.az_count, subnet_prefix=args.subnet_prefix)
        ):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zones.names.apply(_zone_picker(index)),
                map_public_ip_on_launch=False,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{index}-rta", subnet_id=subnet.id, route_table_id=route_table.id, opts=child
            )
            subnets.append(subnet)

        gateways = {
            service: aws.ec2.VpcEndpoint(
                f"{name}-{service}-gateway",
                vpc_id=vpc.id,
                service_name=pulumi.Output.concat("com.amazonaws.", region, ".", service),
                vpc_endpoint_type="Gateway",
                route_table_ids=[route_table.id],
                opts=child,
            )
            for service in ("s3", "dynamodb")
        }

        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            vpc_id=vpc.id,
            description="HTTPS from inside the VPC to the AWS interface endpoints",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=[args.vpc_cidr],
                    description="HTTPS from the VPC",
                )
            ],
            opts=child,
        )
        workload_sg = aws.ec2.SecurityGroup(
            f"{name}-workload-sg",
            vpc_id=vpc.id,
            description="Training hosts and endpoints: no ingress, HTTPS out to the VPC and AWS endpoints",
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=[args.vpc_cidr],
                    description="Interface endpoints",
                ),
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    prefix_list_ids=[gateway.prefix_list_id for gateway in gateways.values()],
                    description="S3 and DynamoDB gateway endpoints",
                ),
            ],
            opts=child,
        )
        for service in args.interface_endpoints:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('{region}.', '').replace('.', '-')}-endpoint",
                vpc_id=vpc.id,
                service_name=region.apply(_service_namer(service)),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[subnet.id for subnet in subnets],
                security_group_ids=[endpoint_sg.id],
                opts=child,
            )

        self.vpc_id = vpc.id
        self.private_subnet_ids = pulumi.Output.all(*[subnet.id for subnet in subnets])
        self.workload_security_group_id = workload_sg.id
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "private_subnet_ids": self.private_subnet_ids,
                "workload_security_group_id": self.workload_security_group_id,
            }
        )
