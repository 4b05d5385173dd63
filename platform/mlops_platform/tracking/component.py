"""Experiment tracking and registry: SageMaker managed MLflow and a SageMaker model package group.

By default MLflow is a serverless MLflow App (``aws.sagemaker.MlflowApp``), which AWS offers
"at no additional cost": it scales to zero and has no idle charge
(https://aws.amazon.com/blogs/aws/accelerate-ai-development-using-amazon-sagemaker-ai-with-serverless-mlflow/).
``mode="server"`` creates a tracking server instead, billed per hour while it exists.

Clients authorise MLflow calls with ``sagemaker-mlflow:*`` actions on the tracking server
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemakerwithmlflow.html);
an MLflow App is called through ``sagemaker:CallMlflowAppApi`` on the app
(https://docs.aws.amazon.com/sagemaker/latest/dg/mlflow-app-setup-prerequisites-iam.html), and the
page asks for the sagemaker-mlflow actions too, which are therefore granted on the app as well.
Models are registered in the model package group by the training state machine, so automatic
model registration stays off and the MLflow service role needs no SageMaker rights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform.common import (
    TYPE_PREFIX,
    Scope,
    check_fields,
    kms_use_statement,
    policy_document,
    publish_parameters,
    service_role,
    statement,
)
from mlops_platform.naming import physical_name

MODES = ("app", "server")
SERVER_SIZES = ("Small", "Medium", "Large")

# The MLflow calls of the generated project (tests/infra/iam/calls.yaml has each call and where
# the code makes it): the training pipeline tracks runs and registers versions ...
MLFLOW_WRITE_ACTIONS = (
    "CreateExperiment",
    "CreateModelVersion",
    "CreateRegisteredModel",
    "CreateRun",
    "FinalizeLoggedModel",
    "GetExperiment",
    "GetExperimentByName",
    "GetLoggedModel",
    "GetMetricHistory",
    "GetModelVersion",
    "GetRegisteredModel",
    "GetRun",
    "LogBatch",
    "LogModel",
    "LogOutputs",
    "SetLoggedModelTags",
    "SetModelVersionTag",
    "UpdateModelVersion",
    "UpdateRun",
)
# ... and deploys and the drift job only read the champion.
MLFLOW_READ_ACTIONS = ("GetExperiment", "GetModelVersion", "GetModelVersionByAlias")


@dataclass(frozen=True)
class TrackingArgs:
    scope: Scope
    artifact_bucket_name: pulumi.Input[str]
    artifact_bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    mode: str = "app"  # "app": serverless MLflow App; "server": MLflow tracking server
    server_size: str = "Small"
    mlflow_version: str | None = None  # None: SageMaker's current default
    artifact_prefix: str = "mlflow"

    def __post_init__(self) -> None:
        check_fields(
            self,
            {
                "mode": (lambda v: v in MODES, f"choose one of {', '.join(MODES)}"),
                "server_size": (lambda v: v in SERVER_SIZES, f"choose one of {', '.join(SERVER_SIZES)}"),
                "artifact_prefix": (lambda v: bool(v) and not v.startswith("/"), "give a relative S3 prefix"),
            },
        )


class Tracking(pulumi.ComponentResource):
    tracking_arn: pulumi.Output[str]
    model_package_group_name: pulumi.Output[str]
    model_package_group_arn: pulumi.Output[str]
    write_policy_arn: pulumi.Output[str]

    def __init__(self, name: str, args: TrackingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Tracking", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        scope = args.scope
        self._args = args
        group_name = physical_name(scope.project, scope.env)
        artifacts = pulumi.Output.concat(args.artifact_bucket_arn, "/", args.artifact_prefix, "/*")

        group = aws.sagemaker.ModelPackageGroup(
            f"{name}-models",
            model_package_group_name=group_name,
            model_package_group_description=f"Registered models of {scope.project} ({scope.env})",
            opts=child,
        )
        # The role SageMaker's MLflow assumes to reach the artifact store.
        # https://docs.aws.amazon.com/sagemaker/latest/dg/security-confused-deputy-prevention.html
        mlflow_role = service_role(
            self,
            f"{name}-mlflow",
            scope=scope,
            service="sagemaker.amazonaws.com",
            principal="mlflow",
            description="SageMaker managed MLflow: the artifact store",
            source_arn=scope.arn("sagemaker", "*"),
            statements=[
                statement(
                    ["s3:GetBucketLocation", "s3:ListBucket"], [args.artifact_bucket_arn], sid="ListArtifacts"
                ),
                statement(
                    ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [artifacts], sid="MlflowArtifacts"
                ),
                kms_use_statement(args.kms_key_arn),
            ],
        )
        store = pulumi.Output.concat("s3://", args.artifact_bucket_name, "/", args.artifact_prefix)
        after_role = pulumi.ResourceOptions(parent=self, depends_on=[mlflow_role.policy])
        if args.mode == "app":
            tracking: aws.sagemaker.MlflowApp | aws.sagemaker.MlflowTrackingServer = aws.sagemaker.MlflowApp(
                f"{name}-mlflow",
                name=physical_name(scope.project, scope.env),
                artifact_store_uri=store,
                role_arn=mlflow_role.role.arn,
                model_registration_mode="AutoModelRegistrationDisabled",
                opts=after_role,
            )
        else:
            tracking = aws.sagemaker.MlflowTrackingServer(
                f"{name}-mlflow",
                tracking_server_name=physical_name(scope.project, scope.env),
                artifact_store_uri=store,
                role_arn=mlflow_role.role.arn,
                tracking_server_size=args.server_size,
                mlflow_version=args.mlflow_version,
                automatic_model_registration=False,
                opts=after_role,
            )
        self.tracking_arn = tracking.arn
        write = aws.iam.Policy(
            f"{name}-access",
            description=f"Track runs and register models in MLflow of {scope.project} ({scope.env})",
            policy=policy_document(
                *self.client_statements(MLFLOW_WRITE_ACTIONS),
                statement(
                    ["s3:GetBucketLocation", "s3:ListBucket"], [args.artifact_bucket_arn], sid="ListArtifacts"
                ),
                statement(["s3:GetObject", "s3:PutObject"], [artifacts], sid="MlflowArtifacts"),
                kms_use_statement(args.kms_key_arn),
            ),
            opts=child,
        )

        self.model_package_group_name = group.model_package_group_name
        self.model_package_group_arn = group.arn
        self.write_policy_arn = write.arn
        publish_parameters(
            self, component="tracking", name=name, scope=scope, values={"mlflow-tracking-uri": tracking.arn}
        )
        self.register_outputs(
            {
                "tracking_arn": self.tracking_arn,
                "model_package_group_name": self.model_package_group_name,
                "write_policy_arn": self.write_policy_arn,
            }
        )

    def client_statements(self, actions: Sequence[str]) -> list[dict[str, object]]:
        """Statements letting a client make ``actions`` (sagemaker-mlflow action names) on this MLflow."""
        found = [
            statement(
                [f"sagemaker-mlflow:{action}" for action in actions], [self.tracking_arn], sid="UseMlflow"
            )
        ]
        if self._args.mode == "app":
            found.append(statement(["sagemaker:CallMlflowAppApi"], [self.tracking_arn], sid="CallMlflowApp"))
        return found

    def read_statements(self) -> list[dict[str, object]]:
        """What a client that only reads registered versions (deploy, drift job) needs."""
        return self.client_statements(MLFLOW_READ_ACTIONS)
