"""Serving: a SageMaker endpoint for the project's serving image, with autoscaling and data capture.

A first deploy usually has no model yet. Then the component creates no endpoint resources but
still publishes the endpoint's name, so the project's contract holds; setting ``image`` (and
``model_data_url``) later and running ``pulumi up`` again creates the endpoint under that name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform.common import (
    TYPE_PREFIX,
    Scope,
    kms_use_statement,
    policy_document,
    publish_parameters,
    require,
    service_trust_policy,
    statement,
)
from mlops_platform.naming import endpoint_name

VARIANT = "AllTraffic"


@dataclass(frozen=True)
class ServingArgs:
    scope: Scope
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    artifact_bucket_name: pulumi.Input[str]
    artifact_bucket_arn: pulumi.Input[str]
    image: str | None = None  # the serving image URI; None: no model yet, no endpoint
    model_data_url: str | None = None  # s3://.../model.tar.gz, when the image does not embed the model
    instance_type: str = "ml.m5.large"
    min_instances: int = 1
    max_instances: int = 2
    invocations_per_instance: int = 100  # autoscaling target, per instance and minute
    capture_percentage: int = 100

    def __post_init__(self) -> None:
        require(
            self.image is None or ("/" in self.image and " " not in self.image),
            component="ServingArgs",
            field="image",
            value=self.image,
            reason="not a container image URI",
            fix="Use e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-dev:3f2a1c0.",
        )
        require(
            self.model_data_url is None or self.model_data_url.startswith("s3://"),
            component="ServingArgs",
            field="model_data_url",
            value=self.model_data_url,
            reason="must be an s3:// URL",
        )
        require(
            self.model_data_url is None or self.image is not None,
            component="ServingArgs",
            field="image",
            value=self.image,
            reason="a model_data_url needs an image to serve it",
            fix="Set mlops:servingImage as well.",
        )
        require(
            self.instance_type.startswith("ml."),
            component="ServingArgs",
            field="instance_type",
            value=self.instance_type,
            reason="SageMaker instance types start with 'ml.'",
        )
        require(
            1 <= self.min_instances <= self.max_instances,
            component="ServingArgs",
            field="max_instances",
            value=self.max_instances,
            reason=f"must be at least min_instances ({self.min_instances}) >= 1",
        )
        require(
            self.invocations_per_instance >= 1,
            component="ServingArgs",
            field="invocations_per_instance",
            value=self.invocations_per_instance,
            reason="must be positive",
        )
        require(
            0 < self.capture_percentage <= 100,
            component="ServingArgs",
            field="capture_percentage",
            value=self.capture_percentage,
            reason="use 1 to 100",
        )

    @property
    def has_model(self) -> bool:
        return self.image is not None


class Serving(pulumi.ComponentResource):
    endpoint_name: str
    endpoint_created: bool

    def __init__(self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Serving", name, None, opts)
        scope = args.scope
        self.endpoint_name = endpoint_name(scope.project, scope.env)
        self.endpoint_created = args.has_model
        if args.has_model:
            self._endpoint(name, args)
        publish_parameters(
            self,
            component="serving",
            name=name,
            scope=scope,
            values={
                "serving-endpoint-name": self.endpoint_name,
            },
        )
        self.register_outputs(
            {"endpoint_name": self.endpoint_name, "endpoint_created": self.endpoint_created}
        )

    def _endpoint(self, name: str, args: ServingArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        scope = args.scope
        capture_prefix = "data-capture"
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=service_trust_policy("sagemaker.amazonaws.com"),
            description="SageMaker endpoint of the project's serving image",
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=policy_document(
                statement(["ecr:GetAuthorizationToken"], ["*"], sid="EcrLogin"),
                statement(
                    ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    [scope.arn("ecr", "repository/*")],
                    sid="PullImages",
                ),
                statement(
                    ["s3:GetObject"],
                    [pulumi.Output.concat(args.artifact_bucket_arn, "/models/*")],
                    sid="ReadModels",
                ),
                statement(
                    ["s3:PutObject"],
                    [pulumi.Output.concat(args.artifact_bucket_arn, f"/{capture_prefix}/*")],
                    sid="WriteDataCapture",
                ),
                kms_use_statement(args.kms_key_arn),
                statement(
                    [
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:DescribeLogStreams",
                        "logs:PutLogEvents",
                    ],
                    [scope.arn("logs", "log-group:/aws/sagemaker/*")],
                    sid="Logs",
                ),
                # Endpoints in a VPC attach network interfaces; these actions have no resource-level scope.
                statement(
                    [
                        "ec2:CreateNetworkInterface",
                        "ec2:CreateNetworkInterfacePermission",
                        "ec2:DeleteNetworkInterface",
                        "ec2:DeleteNetworkInterfacePermission",
                        "ec2:DescribeDhcpOptions",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeSecurityGroups",
                        "ec2:DescribeSubnets",
                        "ec2:DescribeVpcs",
                        "cloudwatch:PutMetricData",
                    ],
                    ["*"],
                    sid="VpcAndMetrics",
                ),
            ),
            opts=child,
        )
        model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=role.arn,
            primary_container=aws.sagemaker.ModelPrimaryContainerArgs(
                image=args.image,
                model_data_url=args.model_data_url,
                environment={"MLOPS_PROJECT": scope.project, "MLOPS_ENV": scope.env},
            ),
            vpc_config=aws.sagemaker.ModelVpcConfigArgs(
                subnets=args.subnet_ids, security_group_ids=[args.security_group_id]
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            kms_key_arn=args.kms_key_arn,
            production_variants=[
                aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                    variant_name=VARIANT,
                    model_name=model.name,
                    instance_type=args.instance_type,
                    initial_instance_count=args.min_instances,
                )
            ],
            data_capture_config=aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs(
                enable_capture=True,
                initial_sampling_percentage=args.capture_percentage,
                destination_s3_uri=pulumi.Output.concat(
                    "s3://", args.artifact_bucket_name, f"/{capture_prefix}"
                ),
                kms_key_id=args.kms_key_arn,
                capture_options=[
                    aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(
                        capture_mode="Input"
                    ),
                    aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(
                        capture_mode="Output"
                    ),
                ],
                capture_content_type_header=aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureContentTypeHeaderArgs(
                    json_content_types=["application/json"],
                ),
            ),
            opts=child,
        )
        endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint", name=self.endpoint_name, endpoint_config_name=config.name, opts=child
        )
        target = aws.appautoscaling.Target(
            f"{name}-scaling-target",
            service_namespace="sagemaker",
            resource_id=endpoint.name.apply(lambda n: f"endpoint/{n}/variant/{VARIANT}"),
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=args.min_instances,
            max_capacity=args.max_instances,
            opts=child,
        )
        aws.appautoscaling.Policy(
            f"{name}-scaling-policy",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            resource_id=target.resource_id,
            scalable_dimension=target.scalable_dimension,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=float(args.invocations_per_instance),
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="SageMakerVariantInvocationsPerInstance",
                ),
                scale_in_cooldown=300,
                scale_out_cooldown=60,
            ),
            opts=child,
        )
