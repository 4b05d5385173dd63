"""Network (platform tier): one VPC per account and environment, shared by every project.

Private subnets only by default: training hosts, drift jobs and endpoints reach S3 and DynamoDB
through (free) gateway endpoints and the other AWS APIs they call through interface endpoints,
placed in ``endpoint_az_count`` zones (one by default: an interface endpoint serves the whole VPC
through its private DNS name, and each zone costs another $0.01 an hour). ``egress="nat"``
swaps the interface endpoints for one NAT gateway (internet access, about half the idle cost of
the endpoints, plus a per-GB charge).

An account holds 5 VPCs per region by default
(https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html): that is why projects
share this one instead of creating their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform.cidr import plan_subnets
from mlops_platform.common import TYPE_PREFIX, Scope, check_fields

# The AWS APIs the runtime calls from inside the VPC, and who calls them. A plain suffix means
# com.amazonaws.{region}.{suffix}; a name with "{region}" in it is used as given.
RUNTIME_ENDPOINTS: dict[str, str] = {
    # Image pulls of Batch GPU hosts and Fargate drift jobs (layers come through the S3 gateway).
    # https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html
    "ecr.api": "image pulls (Batch hosts, drift job)",
    "ecr.dkr": "image pulls (Batch hosts, drift job)",
    # The ECS agent on AWS Batch GPU hosts (container instances in a private subnet).
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html
    "ecs": "ECS agent on Batch hosts",
    "ecs-agent": "ECS agent on Batch hosts",
    "ecs-telemetry": "ECS agent on Batch hosts",
    # awslogs log driver of the training and drift jobs.
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch-logs-and-interface-VPC.html
    "logs": "job logs",
    # The SSM contract (settings.resolve) read by the training and drift jobs.
    "ssm": "SSM contract reads",
    # An MLflow tracking server (project stacks with mlops:mlflow: server): the sagemaker-mlflow
    # plugin calls https://{region}.experiments.sagemaker.aws, which this endpoint serves
    # (https://docs.aws.amazon.com/sagemaker/latest/dg/mlflow-interface-endpoint.html).
    # An MLflow App (mlops:mlflow: app, the default) is called at MLFLOW_APP_HOST instead, which
    # this endpoint does not serve: see MLFLOW_APP_HOST.
    "aws.sagemaker.{region}.experiments": "MLflow tracking server (mlflow: server)",
    # The drift job's cloudwatch:PutMetricData (DriftScore): the CloudWatch "monitoring" endpoint.
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-interface-VPC.html
    "monitoring": "drift metrics (PutMetricData)",
    # The retraining check's states:StartExecution.
    # https://docs.aws.amazon.com/step-functions/latest/dg/vpc-endpoints.html
    "states": "retraining (StartExecution)",
}
EGRESS_MODES = ("endpoints", "nat")

# Where the sagemaker-mlflow plugin (0.5) sends the calls for an MLflow App ARN
# (mlflow_sagemaker_helpers.Arn._get_endpoint), signed for service "sagemaker". AWS documents an
# interface endpoint for MLflow tracking servers only
# (https://docs.aws.amazon.com/sagemaker/latest/dg/mlflow-interface-endpoint.html) and lists no
# PrivateLink service for this host (https://docs.aws.amazon.com/vpc/latest/privatelink/aws-services-privatelink-support.html),
# so jobs in the VPC reach an MLflow App only through the NAT gateway (egress "nat"). Project stacks
# refuse mlops:mlflow: app on a platform with egress "endpoints" (mlops_stacks.config.check_mlflow_egress).
MLFLOW_APP_HOST = "mlflow.sagemaker.{region}.app.aws"


def endpoint_service_name(service: str, region: str) -> str:
    """The VPC endpoint service name for an entry of ``interface_endpoints``."""
    return service.format(region=region) if "{region}" in service else f"com.amazonaws.{region}.{service}"


def _zone_picker(index: int) -> Callable[[list[str]], str]:
    return lambda names: names[index % len(names)]


def _service_namer(service: str) -> Callable[[str], str]:
    return lambda region: endpoint_service_name(service, region)


def _valid_endpoints(services: Sequence[str] | None) -> bool:
    return services is None or all(re.fullmatch(r"[a-z0-9{}.-]+", s) for s in services)


@dataclass(frozen=True)
class NetworkArgs:
    scope: Scope
    flow_log_bucket_arn: pulumi.Input[str]  # VPC flow logs go to the platform's log bucket
    vpc_cidr: str = "10.42.0.0/16"
    az_count: int = 2
    subnet_prefix: int = 20
    egress: str = "endpoints"  # "endpoints": no internet path; "nat": one NAT gateway
    interface_endpoints: Sequence[str] | None = None  # None: RUNTIME_ENDPOINTS ("endpoints"), none ("nat")
    endpoint_az_count: int = 1

    def __post_init__(self) -> None:
        # plan_subnets validates vpc_cidr, az_count and subnet_prefix and names the bad field
        # (one more subnet for the NAT gateway's public subnet).
        plan_subnets(self.vpc_cidr, az_count=self.az_count + 1, subnet_prefix=self.subnet_prefix)
        check_fields(
            self,
            {
                "egress": (lambda v: v in EGRESS_MODES, f"choose one of {', '.join(EGRESS_MODES)}"),
                "interface_endpoints": (
                    _valid_endpoints,
                    "not a list of VPC endpoint service names",
                    "Use suffixes such as 'ecr.api' or 'logs', or a full name with '{region}' in it.",
                ),
                "endpoint_az_count": (
                    lambda v: 1 <= v <= self.az_count,
                    f"use 1 to az_count ({self.az_count}) zones for the interface endpoints",
                ),
            },
        )

    @property
    def endpoints(self) -> tuple[str, ...]:
        if self.interface_endpoints is not None:
            return tuple(self.interface_endpoints)
        return tuple(RUNTIME_ENDPOINTS) if self.egress == "endpoints" else ()


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    workload_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        region = pulumi.Output.from_input(args.scope.region)
        cidrs = plan_subnets(args.vpc_cidr, az_count=args.az_count + 1, subnet_prefix=args.subnet_prefix)

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_hostnames=True,  # interface endpoints' private DNS names need both
            enable_dns_support=True,
            opts=child,
        )
        # AWS FSBP EC2.2: the default security group allows no traffic; this resource adopts it
        # and removes its rules (https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-2).
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], opts=child)
        # AWS FSBP EC2.6: VPC flow logs, delivered to the platform's log bucket (no IAM role needed).
        # https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3.html
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="s3",
            log_destination=pulumi.Output.concat(args.flow_log_bucket_arn, "/vpc-flow-logs/"),
            max_aggregation_interval=600,
            opts=child,
        )
        zones = aws.get_availability_zones_output(
            state="available", opts=pulumi.InvokeOutputOptions(parent=self)
        )
        route_table = aws.ec2.RouteTable(f"{name}-private-rt", vpc_id=vpc.id, opts=child)
        subnets = []
        for index, cidr in enumerate(cidrs[: args.az_count]):
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
        if args.egress == "nat":
            self._nat(name, vpc, route_table, cidrs[-1], zones.names.apply(_zone_picker(0)))

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
        https_out = [
            aws.ec2.SecurityGroupEgressArgs(
                protocol="tcp",
                from_port=443,
                to_port=443,
                prefix_list_ids=[gateway.prefix_list_id for gateway in gateways.values()],
                description="S3 and DynamoDB gateway endpoints",
            )
        ]
        if args.egress == "nat":
            https_out.append(
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=["0.0.0.0/0"],
                    description="HTTPS out",
                )
            )
        else:
            https_out.append(
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=[args.vpc_cidr],
                    description="Interface endpoints",
                )
            )
        workload_sg = aws.ec2.SecurityGroup(
            f"{name}-workload-sg",
            vpc_id=vpc.id,
            description="Training hosts, drift jobs and endpoints: no ingress, HTTPS out",
            egress=https_out,
            opts=child,
        )
        if args.endpoints:
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
            for service in args.endpoints:
                aws.ec2.VpcEndpoint(
                    f"{name}-{service.replace('{region}.', '').replace('.', '-')}-endpoint",
                    vpc_id=vpc.id,
                    service_name=region.apply(_service_namer(service)),
                    vpc_endpoint_type="Interface",
                    private_dns_enabled=True,
                    subnet_ids=[subnet.id for subnet in subnets[: args.endpoint_az_count]],
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

    def _nat(
        self,
        name: str,
        vpc: aws.ec2.Vpc,
        private_routes: aws.ec2.RouteTable,
        cidr: str,
        zone: pulumi.Input[str],
    ) -> None:
        """One NAT gateway in a public subnet; the private subnets route 0.0.0.0/0 to it."""
        child = pulumi.ResourceOptions(parent=self)
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)
        public = aws.ec2.Subnet(
            f"{name}-public",
            vpc_id=vpc.id,
            cidr_block=cidr,
            availability_zone=zone,
            map_public_ip_on_launch=False,  # only the NAT gateway's Elastic IP is public
            opts=child,
        )
        public_routes = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
            opts=child,
        )
        aws.ec2.RouteTableAssociation(
            f"{name}-public-rta", subnet_id=public.id, route_table_id=public_routes.id, opts=child
        )
        address = aws.ec2.Eip(f"{name}-nat-ip", domain="vpc", opts=child)
        nat = aws.ec2.NatGateway(
            f"{name}-nat",
            subnet_id=public.id,
            allocation_id=address.id,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
        )
        aws.ec2.Route(
            f"{name}-private-default-route",
            route_table_id=private_routes.id,
            destination_cidr_block="0.0.0.0/0",
            nat_gateway_id=nat.id,
            opts=child,
        )
