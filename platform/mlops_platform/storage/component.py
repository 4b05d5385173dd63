"""Storage: a KMS key and the project's data and artifact buckets, private and encrypted."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform.buckets import BucketSpec, private_bucket
from mlops_platform.common import TYPE_PREFIX, Scope, check_fields, publish_parameters
from mlops_platform.naming import physical_name


def key_policy(scope: Scope, *extra_statements: dict[str, object]) -> pulumi.Output[str]:
    """An explicit key policy: the account administers the key and IAM policies grant its use
    (what AWS's default key policy says, written out), plus ``extra_statements``.

    https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam
    """
    root = pulumi.Output.concat("arn:", scope.partition, ":iam::", scope.account_id, ":root")
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EnableIamPolicies",
                    "Effect": "Allow",
                    "Principal": {"AWS": root},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                *extra_statements,
            ],
        }
    )


CHECKPOINTS = "checkpoints/"  # where training jobs keep their checkpoints (the template's pipeline)


@dataclass(frozen=True)
class StorageArgs:
    scope: Scope
    access_log_bucket: pulumi.Input[str]  # the platform's log bucket (server access logs)
    force_destroy: bool = False  # True lets `pulumi destroy` delete buckets that still hold objects
    noncurrent_version_days: int = 90
    abort_incomplete_upload_days: int = 7
    key_deletion_window_days: int = 30
    # Training checkpoints (artifacts bucket, checkpoints/<run id>/) only matter while a run may be
    # resumed; the model a run writes is kept elsewhere. Older ones expire (the job role cannot delete).
    checkpoint_days: int = 30

    def __post_init__(self) -> None:
        check_fields(
            self,
            {
                "noncurrent_version_days": (lambda v: v >= 1, "must be at least 1 day"),
                "abort_incomplete_upload_days": (lambda v: v >= 1, "must be at least 1 day"),
                "key_deletion_window_days": (lambda v: 7 <= v <= 30, "AWS accepts 7 to 30 days"),
                "checkpoint_days": (lambda v: v >= 1, "must be at least 1 day"),
            },
        )


class Storage(pulumi.ComponentResource):
    kms_key_arn: pulumi.Output[str]
    data_bucket_name: pulumi.Output[str]
    data_bucket_arn: pulumi.Output[str]
    artifact_bucket_name: pulumi.Output[str]
    artifact_bucket_arn: pulumi.Output[str]

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        scope = args.scope

        key = aws.kms.Key(
            f"{name}-key",
            description=f"mlops-scaffold data and artifacts of {scope.project} ({scope.env})",
            enable_key_rotation=True,
            deletion_window_in_days=args.key_deletion_window_days,
            policy=key_policy(scope),
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/mlops/{physical_name(scope.project, scope.env)}",
            target_key_id=key.key_id,
            opts=child,
        )

        def bucket(kind: str) -> aws.s3.Bucket:
            return private_bucket(
                self,
                f"{name}-{kind}",
                BucketSpec(
                    kms_key_arn=key.arn,
                    access_log_bucket=args.access_log_bucket,
                    access_log_prefix=f"s3-access/{scope.project}/{scope.env}/{kind}/",
                    force_destroy=args.force_destroy,
                    noncurrent_version_days=args.noncurrent_version_days,
                    abort_incomplete_upload_days=args.abort_incomplete_upload_days,
                    expire_prefixes={CHECKPOINTS: args.checkpoint_days} if kind == "artifacts" else {},
                ),
            )

        data, artifacts = bucket("data"), bucket("artifacts")

        self.kms_key_arn = key.arn
        self.data_bucket_name = data.bucket
        self.data_bucket_arn = data.arn
        self.artifact_bucket_name = artifacts.bucket
        self.artifact_bucket_arn = artifacts.arn
        publish_parameters(
            self,
            component="storage",
            name=name,
            scope=scope,
            values={"data-bucket": data.bucket, "artifact-bucket": artifacts.bucket},
        )
        self.register_outputs(
            {
                "kms_key_arn": self.kms_key_arn,
                "data_bucket_name": self.data_bucket_name,
                "artifact_bucket_name": self.artifact_bucket_name,
            }
        )
