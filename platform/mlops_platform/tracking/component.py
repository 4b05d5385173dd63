"""Experiment tracking and registry: SageMaker managed MLflow and a SageMaker model package group."""

from __future__ import annotations

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
from mlops_platform.naming import physical_name

SERVER_SIZES = ("Small", "Medium", "Large")


@dataclass(frozen=True)
class TrackingArgs:
    scope: Scope
    artifact_bucket_name: pulumi.Input[str]
    artifact_bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    server_size: str = "Small"
    mlflow_version: str | None = None  # None: SageMaker's current default
    artifact_prefix: str = "mlflow"

    def __post_init__(self) -> None:
        require(
            self.server_size in SERVER_SIZES,
            component="TrackingArgs",
            field="server_size",
            value=self.server_size,
            reason=f"choose one of {', '.join(SERVER_SIZES)}",
        )
        require(
            bool(self.artifact_prefix) and not self.artifact_prefix.startswith("/"),
            component="TrackingArgs",
            field="artifact_prefix",
            value=self.artifact_prefix,
            reason="give a relative S3 prefix",
        )


class Tracking(pulumi.ComponentResource):
    tracking_server_arn: pulumi.Output[str]
    model_package_group_name: pulumi.Output[str]
    model_package_group_arn: pulumi.Output[str]
    access_policy_arn: pulumi.Output[str]

    def __init__(self, name: str, args: TrackingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Tracking", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        scope = args.scope
        group_name = physical_name(scope.project, scope.env)
        artifacts = pulumi.Output.concat(args.artifact_bucket_arn, "/", args.artifact_prefix, "/*")
        group_arn = scope.arn("sagemaker", f"model-package-group/{group_name}")
        packages_arn = scope.arn("sagemaker", f"model-package/{group_name}/*")

        group = aws.sagemaker.ModelPackageGroup(
            f"{name}-models",
            model_package_group_name=group_name,
            model_package_group_description=f"Registered models of {scope.project} ({scope.env})",
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-mlflow-role",
            assume_role_policy=service_trust_policy("sagemaker.amazonaws.com"),
            description="SageMaker managed MLflow: artifact store and model registration",
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-mlflow-policy",
            role=role.id,
            policy=policy_document(
                statement(["s3:GetBucketLocation", "s3:ListBucket"], [args.artifact_bucket_arn]),
                statement(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [artifacts]),
                kms_use_statement(args.kms_key_arn),
                # Automatic model registration copies MLflow registered models into the group.
                statement(
                    [
                        "sagemaker:AddTags",
                        "sagemaker:CreateModelPackage",
                        "sagemaker:CreateModelPackageGroup",
                        "sagemaker:DescribeModelPackageGroup",
                        "sagemaker:UpdateModelPackage",
                    ],
                    [group_arn, packages_arn],
                ),
            ),
            opts=child,
        )
        server = aws.sagemaker.MlflowTrackingServer(
            f"{name}-mlflow",
            tracking_server_name=physical_name(scope.project, scope.env),
            artifact_store_uri=pulumi.Output.concat(
                "s3://", args.artifact_bucket_name, "/", args.artifact_prefix
            ),
            role_arn=role.arn,
            tracking_server_size=args.server_size,
            mlflow_version=args.mlflow_version,
            automatic_model_registration=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        # What the project's training code needs to log runs and register models.
        access = aws.iam.Policy(
            f"{name}-access",
            description=f"Use the MLflow tracking server of {scope.project} ({scope.env})",
            policy=policy_document(
                statement(["sagemaker-mlflow:*"], [server.arn], sid="UseTrackingServer"),
                statement(
                    [
                        "sagemaker:CreatePresignedMlflowTrackingServerUrl",
                        "sagemaker:DescribeMlflowTrackingServer",
                    ],
                    [server.arn],
                ),
                statement(["s3:GetBucketLocation", "s3:ListBucket"], [args.artifact_bucket_arn]),
                statement(["s3:GetObject", "s3:PutObject"], [artifacts], sid="MlflowArtifacts"),
                kms_use_statement(args.kms_key_arn),
            ),
            opts=child,
        )

        self.tracking_server_arn = server.arn
        self.model_package_group_name = group.model_package_group_name
        self.model_package_group_arn = group.arn
        self.access_policy_arn = access.arn
        publish_parameters(
            self,
            component="tracking",
            name=name,
            scope=scope,
            values={
                "mlflow-tracking-uri": server.arn,
            },
        )
        self.register_outputs(
            {
                "tracking_server_arn": self.tracking_server_arn,
                "model_package_group_name": self.model_package_group_name,
                "access_policy_arn": self.access_policy_arn,
            }
        )
