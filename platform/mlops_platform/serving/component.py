"""Serving: the serving image repository, a SageMaker endpoint, and the CI deploy rights.

One owner per resource (docs/infrastructure.md, "Who owns the endpoint"):

- Pulumi owns the image repository, the endpoint's execution role, the CI deploy rights and the
  endpoint itself (its existence, name, network, encryption, capture and scaling). It creates the
  endpoint only from a registered model package: ``mlops:servingImage`` needs
  ``mlops:servingModelDataUrl`` (the image embeds no model; the stack config refuses one without
  the other), with a first model and endpoint configuration that it creates once and never
  changes or deletes afterwards (``ignore_changes`` on all their inputs, ``retain_on_delete``).
- CI owns what the endpoint serves: each deploy (the project's ``deploy.py``) creates a new model
  and endpoint configuration, moves the endpoint to them with UpdateEndpoint, and then deletes
  the models and configurations named after the endpoint that it no longer uses, keeping the
  newest few for rollback, Pulumi's first ones included. The endpoint therefore ignores changes
  of ``endpointConfigName``: the next ``pulumi up`` does not move it back.
- So no ``pulumi up`` replaces or deletes a model or configuration the endpoint may run on (AWS:
  "You must not delete an EndpointConfig that is in use by an endpoint that is live",
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeleteEndpointConfig.html and
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpoint.html), and a
  changed image, model or size in the stack changes nothing that runs: a CI deploy does.
  ``pulumi destroy`` deletes the endpoint and leaves the models and configurations, which cost
  nothing, to ``deploy.py clean-up``.

The running container loads its model from what SageMaker unpacks into /opt/ml/model
(``ModelDataUrl``, read with the execution role; ``MLOPS_MODEL_DIR`` tells the app to read only
that), never from SSM or MLflow, which its role may not call and which a model with network
isolation could not reach.

Endpoint types. Dev and staging default to SageMaker Serverless Inference: no instance runs
between requests, so it costs nothing idle. Serverless endpoints support no VPC configuration,
network isolation, data capture or KMS volume key, and cannot later become serverless again
once moved to instances (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html);
a level-4 project's serving app captures requests to S3 itself, which the drift job reads.
Prod defaults to instances in the platform VPC, at least two (the policy pack checks it), with
autoscaling. A first deploy usually has no model yet: then no endpoint resources are created,
but the endpoint's name is published already, so the project's contract holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_platform.ci_identity import image_repository
from mlops_platform.ci_identity.component import KEEP_IMAGES, pull_statements, push_statements
from mlops_platform.common import (
    TYPE_PREFIX,
    Scope,
    check_fields,
    exception_tag,
    kms_use_statement,
    policy_document,
    publish_parameters,
    require,
    service_role,
    statement,
)
from mlops_platform.naming import endpoint_name, is_model_package_url, is_pinned_image, physical_name

VARIANT = "AllTraffic"
MODES = ("serverless", "provisioned")
CAPTURE_PREFIX = "data-capture"
SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)
# Where SageMaker unpacks the model's ModelDataUrl in the container
# (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html#your-algorithms-inference-code-load-artifacts);
# MLOPS_MODEL_DIR tells the serving app to load only from there.
MODEL_DIR = "/opt/ml/model"


@dataclass(frozen=True)
class ServingArgs:
    scope: Scope
    kms_key_arn: pulumi.Input[str]
    artifact_bucket_name: pulumi.Input[str]
    artifact_bucket_arn: pulumi.Input[str]
    deploy_role: pulumi.Input[str]  # the CI deploy role of this environment (ci_identity): its ID (= name)
    registry_read_statements: Sequence[dict[str, Any]] = ()  # MLflow reads of the deploy (tracking)
    subnet_ids: pulumi.Input[Sequence[str]] | None = None  # the platform VPC (provisioned endpoints)
    security_group_id: pulumi.Input[str] | None = None
    image: str | None = None  # the serving image URI; None: no model yet, no endpoint
    model_data_url: str | None = None  # s3://<artifact bucket>/models/.../model.tar.gz (with an image)
    mode: str = "serverless"
    instance_type: str = "ml.m5.large"
    min_instances: int = 1
    max_instances: int = 2
    invocations_per_instance: int = 100  # autoscaling target, per instance and minute
    capture_percentage: int = 100
    serverless_memory_mb: int = 2048
    serverless_max_concurrency: int = 5
    app_capture: bool = False  # the serving app writes captured requests to S3 (level 4)
    keep_images: int = KEEP_IMAGES

    def __post_init__(self) -> None:
        check_fields(
            self,
            {
                "image": (
                    lambda v: v is None or is_pinned_image(v),
                    "not a container image URI with an explicit tag or digest (the repository's tags are "
                    "immutable; no tag means 'latest')",
                    "Use e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-dev:3f2a1c0.",
                ),
                "model_data_url": (
                    lambda v: v is None or is_model_package_url(v),
                    "not a model package in the artifact bucket's models/ prefix, which is all the "
                    "endpoint's role may read",
                    "Use the champion's package, s3://<artifact bucket>/models/<run>/model.tar.gz.",
                ),
                "mode": (lambda v: v in MODES, f"choose one of {', '.join(MODES)}"),
                "instance_type": (lambda v: v.startswith("ml."), "SageMaker instance types start with 'ml.'"),
                "max_instances": (
                    lambda v: 1 <= self.min_instances <= v,
                    f"must be at least min_instances ({self.min_instances}) >= 1",
                ),
                "invocations_per_instance": (lambda v: v >= 1, "must be positive"),
                "capture_percentage": (lambda v: 0 < v <= 100, "use 1 to 100"),
                "serverless_memory_mb": (
                    lambda v: v in SERVERLESS_MEMORY_MB,
                    f"choose one of {', '.join(map(str, SERVERLESS_MEMORY_MB))}",
                ),
                "serverless_max_concurrency": (lambda v: 1 <= v <= 200, "use 1 to 200"),
            },
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
            self.image is None or self.model_data_url is not None,
            component="ServingArgs",
            field="model_data_url",
            value=self.model_data_url,
            reason="the serving image embeds no model: an endpoint without a model package fails "
            "its /ping health check",
            fix="Set mlops:servingModelDataUrl to the champion's model.tar.gz as well.",
        )
        require(
            self.mode == "serverless" or (self.subnet_ids is not None and self.security_group_id is not None),
            component="ServingArgs",
            field="subnet_ids",
            value=self.subnet_ids,
            reason="an endpoint on instances runs in the platform VPC: give its subnets and security group",
        )

    @property
    def has_model(self) -> bool:
        return self.image is not None


class Serving(pulumi.ComponentResource):
    endpoint_name: str
    endpoint_created: bool
    repository_url: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Serving", name, None, opts)
        scope = args.scope
        self.endpoint_name = endpoint_name(scope.project, scope.env)
        self.endpoint_created = args.has_model

        repository = image_repository(
            self,
            f"{name}-images",
            repository_name=physical_name(scope.project, scope.env),
            keep_images=args.keep_images,
        )
        role = self._role(name, args, repository.arn)
        self._deploy_rights(name, args, repository.arn, role.role.arn)
        if args.has_model:
            self._endpoint(name, args, role)

        self.repository_url = repository.repository_url
        self.role_arn = role.role.arn
        publish_parameters(
            self,
            component="serving",
            name=name,
            scope=scope,
            values={"serving-endpoint-name": self.endpoint_name},
        )
        self.register_outputs(
            {
                "endpoint_name": self.endpoint_name,
                "endpoint_created": self.endpoint_created,
                "repository_url": self.repository_url,
            }
        )

    def _role(self, name: str, args: ServingArgs, repository_arn: pulumi.Input[str]) -> Any:
        """The endpoint's execution role: pull the image, read models, write captures and logs."""
        scope = args.scope
        # Captured requests are written by SageMaker data capture (instances only) or by a level-4
        # serving app; a serverless endpoint of level 3 only reads its model.
        captures = args.mode == "provisioned" or args.app_capture
        statements = [
            # https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createmodel-perms
            *pull_statements(repository_arn),
            statement(
                ["s3:GetObject"],
                [pulumi.Output.concat(args.artifact_bucket_arn, "/models/*")],
                sid="ReadModels",
            ),
            *(
                [
                    statement(
                        ["s3:PutObject"],
                        [pulumi.Output.concat(args.artifact_bucket_arn, f"/{CAPTURE_PREFIX}/*")],
                        sid="WriteDataCapture",
                    )
                ]
                if captures
                else []
            ),
            kms_use_statement(args.kms_key_arn, write=captures),
            statement(
                [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                ],
                [
                    scope.arn("logs", f"log-group:/aws/sagemaker/Endpoints/{self.endpoint_name}"),
                    scope.arn("logs", f"log-group:/aws/sagemaker/Endpoints/{self.endpoint_name}:*"),
                ],
                sid="Logs",
            ),
            # The endpoint's own metrics. PutMetricData's one resource type (a CloudWatch dataset) is
            # optional and the endpoint names none, so the call is authorised on "*"; the namespace
            # condition scopes it instead.
            # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
            statement(
                ["cloudwatch:PutMetricData"],
                ["*"],
                condition={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints*"}},
                sid="EndpointMetrics",
            ),
        ]
        if args.mode == "provisioned":
            statements += _network_interface_statements(args)
        return service_role(
            self,
            f"{name}",
            scope=scope,
            service="sagemaker.amazonaws.com",
            principal="serving",
            description="SageMaker endpoint of the project's serving image",
            # "arn:aws:sagemaker:REGION:ACCOUNT:*" is the source ARN AWS documents for inference.
            # https://docs.aws.amazon.com/sagemaker/latest/dg/security-confused-deputy-prevention.html
            source_arn=scope.arn("sagemaker", "*"),
            statements=statements,
        )

    def _deploy_rights(
        self, name: str, args: ServingArgs, repository_arn: pulumi.Input[str], role_arn: pulumi.Input[str]
    ) -> None:
        """What the project's CI deploy job calls (deploy.py `endpoint` and `smoke`), on this
        environment's endpoint and on the models and configurations named after it only.

        CI moves an endpoint that Pulumi created; it never creates one (no CreateEndpoint): before
        the endpoint exists, deploy.py stops and prints the stack settings that create it. After
        each deploy it deletes the models and configurations named after the endpoint that the
        endpoint no longer uses, keeping the newest few (Pulumi retains its own, see the module
        docstring), so it may list them and delete those."""
        scope = args.scope
        endpoint = scope.arn("sagemaker", f"endpoint/{self.endpoint_name}")
        configs = scope.arn("sagemaker", f"endpoint-config/{self.endpoint_name}-*")
        models = scope.arn("sagemaker", f"model/{self.endpoint_name}-*")
        aws.iam.RolePolicy(
            f"{name}-deploy-policy",
            role=args.deploy_role,
            policy=policy_document(
                *push_statements(repository_arn),
                args.scope.contract_read_statement(),
                *args.registry_read_statements,
                statement(
                    ["sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:InvokeEndpoint"],
                    [endpoint],
                    sid="Endpoint",
                ),
                # UpdateEndpoint is authorised on the endpoint and on the new configuration.
                statement(
                    [
                        "sagemaker:CreateEndpointConfig",
                        "sagemaker:DescribeEndpointConfig",
                        "sagemaker:UpdateEndpoint",
                    ],
                    [configs],
                    sid="EndpointConfigs",
                ),
                statement(["sagemaker:CreateModel", "sagemaker:DescribeModel"], [models], sid="Models"),
                # The cleanup after a deploy. DeleteModel and DeleteEndpointConfig are authorised on
                # the model or configuration; the List actions have no resource types, so they are
                # granted on "*" (they return names and dates only).
                # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html
                statement(["sagemaker:DeleteEndpointConfig"], [configs], sid="CleanUpEndpointConfigs"),
                statement(["sagemaker:DeleteModel"], [models], sid="CleanUpModels"),
                statement(
                    ["sagemaker:ListEndpointConfigs", "sagemaker:ListModels"], ["*"], sid="ListDeployments"
                ),
                # CreateModel passes the endpoint's execution role to SageMaker.
                # https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-pass-role
                statement(
                    ["iam:PassRole"],
                    [role_arn],
                    condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                    sid="PassServingRole",
                ),
                # An endpoint configuration with a KMS key: SageMaker creates grants on it for the
                # endpoint's volumes and captures with the caller's rights.
                # https://docs.aws.amazon.com/sagemaker/latest/dg/api-permissions-reference.html
                statement(
                    ["kms:CreateGrant"],
                    [args.kms_key_arn],
                    condition={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                    sid="EndpointKeyGrants",
                ),
                statement(["kms:DescribeKey"], [args.kms_key_arn], sid="EndpointKey"),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _endpoint(self, name: str, args: ServingArgs, role: Any) -> None:
        scope = args.scope
        provisioned = args.mode == "provisioned"
        # Named after the endpoint, like the models and configurations CI creates, so the deploy
        # role's rights (endpoint name + "-*") cover the first ones too; the digest of what they
        # first held keeps the name apart from CI's.
        digest = hashlib.sha256(
            repr(
                (args.image, args.model_data_url, args.mode, args.instance_type, args.min_instances)
            ).encode()
        ).hexdigest()[:8]
        first = f"{self.endpoint_name}-pulumi-{digest}"

        # Created once, then CI's: SageMaker has no UpdateModel or UpdateEndpointConfig, so any
        # change would replace them, and Pulumi would delete the old ones while the endpoint may
        # run on them (it ignores endpointConfigName). "You must not delete an EndpointConfig that
        # is in use by an endpoint that is live"
        # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeleteEndpointConfig.html).
        # So Pulumi never changes them (ignore_changes, tags included: CI may have deleted them
        # once unused) and never deletes them (retain_on_delete, also on destroy); deploy.py
        # deletes them once the endpoint no longer uses them.
        # https://www.pulumi.com/docs/iac/concepts/resources/options/ignorechanges/
        # https://www.pulumi.com/docs/iac/concepts/resources/options/retainondelete/
        def created_once(*inputs: str) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(
                parent=self, retain_on_delete=True, ignore_changes=[*inputs, "tags", "tagsAll"]
            )

        isolation_exception = (
            "serverless endpoints do not support network isolation"
            if not provisioned
            else "the serving app writes captured requests to S3 for the drift job"
            if args.app_capture
            else None
        )
        model = aws.sagemaker.Model(
            f"{name}-model",
            name=first,
            execution_role_arn=role.role.arn,
            primary_container=aws.sagemaker.ModelPrimaryContainerArgs(
                image=args.image,
                model_data_url=args.model_data_url,
                environment=self._container_environment(args),
            ),
            vpc_config=self._vpc(args) if provisioned else None,
            enable_network_isolation=isolation_exception is None,
            tags=exception_tag("sagemaker-model-network-isolation", isolation_exception)
            if isolation_exception
            else None,
            opts=pulumi.ResourceOptions.merge(
                created_once(
                    "name", "executionRoleArn", "primaryContainer", "vpcConfig", "enableNetworkIsolation"
                ),
                pulumi.ResourceOptions(depends_on=[role.policy]),
            ),
        )
        variant = aws.sagemaker.EndpointConfigurationProductionVariantArgs(
            variant_name=VARIANT,
            model_name=model.name,
            instance_type=args.instance_type if provisioned else None,
            initial_instance_count=args.min_instances if provisioned else None,
            serverless_config=None
            if provisioned
            else aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs(
                memory_size_in_mb=args.serverless_memory_mb, max_concurrency=args.serverless_max_concurrency
            ),
        )
        config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            name=first,
            kms_key_arn=args.kms_key_arn if provisioned else None,
            production_variants=[variant],
            data_capture_config=self._capture(args) if provisioned else None,
            tags={"mlops:env": scope.env}
            | (
                {}
                if provisioned
                else exception_tag(
                    "sagemaker-endpoint-config-kms", "serverless endpoints have no storage volume"
                )
            ),
            opts=created_once("name", "kmsKeyArn", "productionVariants", "dataCaptureConfig"),
        )
        endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=self.endpoint_name,
            endpoint_config_name=config.name,
            # CI moves the endpoint to new configurations (deploy.py); Pulumi must not move it back.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["endpointConfigName"]),
        )
        if provisioned:
            self._autoscaling(name, args, endpoint)

    def _container_environment(self, args: ServingArgs) -> dict[str, pulumi.Input[str]]:
        """What the serving app reads in the container, without SSM (its role may not read the
        contract): where its model package is unpacked, and where a level-4 app captures requests.
        deploy.py keeps these and adds the model's registry name and version."""
        return {
            "MLOPS_PROJECT": args.scope.project,
            "MLOPS_ENV": args.scope.env,
            "MLOPS_MODEL_DIR": MODEL_DIR,
            "MLOPS_ARTIFACT_BUCKET": args.artifact_bucket_name,
        }

    def _vpc(self, args: ServingArgs) -> aws.sagemaker.ModelVpcConfigArgs:
        assert args.subnet_ids is not None and args.security_group_id is not None  # checked by ServingArgs
        return aws.sagemaker.ModelVpcConfigArgs(
            subnets=args.subnet_ids,
            security_group_ids=[args.security_group_id],
        )

    def _capture(self, args: ServingArgs) -> aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs:
        return aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs(
            enable_capture=True,
            initial_sampling_percentage=args.capture_percentage,
            destination_s3_uri=pulumi.Output.concat("s3://", args.artifact_bucket_name, f"/{CAPTURE_PREFIX}"),
            kms_key_id=args.kms_key_arn,
            capture_options=[
                aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(capture_mode="Input"),
                aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(capture_mode="Output"),
            ],
            capture_content_type_header=aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureContentTypeHeaderArgs(
                json_content_types=["application/json"],
            ),
        )

    def _autoscaling(self, name: str, args: ServingArgs, endpoint: aws.sagemaker.Endpoint) -> None:
        child = pulumi.ResourceOptions(parent=self)
        target = aws.appautoscaling.Target(
            f"{name}-scaling-target",
            service_namespace="sagemaker",
            resource_id=endpoint.name.apply(lambda n: f"endpoint/{n}/variant/{VARIANT}"),
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=args.min_instances,
            max_capacity=args.max_instances,
            tags={"mlops:env": args.scope.env},
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


def _network_interface_statements(args: ServingArgs) -> list[dict[str, Any]]:
    """What SageMaker does with the serving role to attach an endpoint on instances to the platform
    VPC: create network interfaces in the model's subnets with its security group, let its service
    account attach them, and delete them again
    (https://docs.aws.amazon.com/sagemaker/latest/dg/host-vpc.html,
    https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createmodel-perms).

    The EC2 actions that have resource types are scoped to them
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html):
    CreateNetworkInterface is authorised on the new interface, the subnet and the security group,
    so it is granted on this region's interfaces and the platform subnets and security group only;
    CreateNetworkInterfacePermission and DeleteNetworkInterface on an interface, granted on
    interfaces in the platform subnets only (condition key ec2:Subnet); DeleteNetworkInterfacePermission
    on an interface (an optional resource type: the request names the permission). The Describe
    actions have no resource types and stay on "*".
    """
    scope = args.scope

    def subnet_arns(ids: Sequence[str]) -> pulumi.Output[list[str]]:
        return pulumi.Output.all(*[scope.arn("ec2", f"subnet/{i}") for i in ids])

    subnets: pulumi.Output[list[str]] = pulumi.Output.from_input(args.subnet_ids or []).apply(subnet_arns)
    interfaces = scope.arn("ec2", "network-interface/*")
    security_group = pulumi.Output.concat(scope.arn("ec2", "security-group/"), args.security_group_id or "")
    in_platform_subnets = {"ArnEquals": {"ec2:Subnet": subnets}}
    return [
        statement(
            ["ec2:CreateNetworkInterface"],
            pulumi.Output.all(interfaces, security_group, subnets).apply(lambda v: [v[0], v[1], *v[2]]),
            sid="CreateNetworkInterfaces",
        ),
        statement(
            ["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface"],
            [interfaces],
            condition=in_platform_subnets,
            sid="ManageNetworkInterfaces",
        ),
        statement(["ec2:DeleteNetworkInterfacePermission"], [interfaces], sid="DetachNetworkInterfaces"),
        statement(
            [
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ],
            ["*"],
            sid="DescribeNetwork",
        ),
    ]
